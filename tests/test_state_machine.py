"""Random sequences of scans keep the invariants: one holder at a time, replays change nothing, chain intact."""

import os
import tempfile
import uuid

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import func, select

from models import CustodyEvent, Parcel
from postal import audit, db, ledger
from postal.clock import utcnow
from routes import create_app
from tests.conftest import TEST_SETTINGS
from tests.factories import Factory

USERS = ["ntha", "nva", "ttb", "stp.linh", "sxd.hanh", "gs.lan"]
ACTIONS = ["accept", "pickup", "handover", "receive", "report_missing", "found"]
SITES = [None, "TTHCC", "STP", "SXD"]
# Who usually does what, so random walks get deep; any user at any site is still drawn now and then.
LIKELY = {
    "accept": (["ntha"], [None]), "pickup": (["nva", "ttb"], [None]), "handover": (["nva", "ttb"], ["STP", "SXD", "TTHCC"]),
    "receive": (["stp.linh", "sxd.hanh", "ntha"], [None]), "report_missing": (["nva", "ttb", "gs.lan"], [None]),
    "found": (["gs.lan"], ["TTHCC", "STP"]),
}


@st.composite
def scans(draw):
    action = draw(st.sampled_from(ACTIONS))
    users, sites = LIKELY[action]
    if draw(st.integers(0, 4)) == 0:
        users, sites = USERS, SITES
    return action, draw(st.sampled_from(users)), draw(st.sampled_from(sites))


class ScanMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{self.tmp.name}/p.db"
        self.app = create_app({"DATABASE_URL": url, **TEST_SETTINGS})
        self.engine = self.app.extensions["postal.engine"]
        db.drop_schema(self.engine)
        db.create_schema(self.engine)
        self.make = Factory(self.app)
        self.parcels = [self.make.parcel(accepted=False) for _ in range(3)]
        self.client = self.app.test_client()
        self.accepted: list[tuple[str, dict]] = []
        self.last_step: dict[int, tuple[str, str]] = {}  # per parcel, its last accepted (action, user)

    def teardown(self) -> None:
        self.make.close()
        db.drop_schema(self.engine)
        self.tmp.cleanup()

    def events(self) -> int:
        with db.new_session(self.engine) as s:
            return s.execute(select(func.count()).select_from(CustodyEvent)).scalar_one()

    def post(self, user: str, scan: dict) -> dict:
        r = self.client.post("/api/v1/scans", json={"scans": [scan]}, headers=self.make.token(user))
        assert r.status_code == 200, r.get_data(as_text=True)
        return r.get_json()["results"][0]

    @rule(parcel=st.integers(0, 2), what=scans())
    def scan(self, parcel: int, what: tuple[str, str, str | None]) -> None:
        action, user, site = what
        code = self.parcels[parcel]
        scan = self.make.scan(code, action, site=site)
        before = self.events()
        result = self.post(user, scan)
        after = self.events()
        event(f"{action} {result['status']}")  # shows, with --hypothesis-show-statistics, which paths were reached
        if result["status"] == "accepted":
            assert after == before + 1
            self.accepted.append((user, scan))
            self.last_step[parcel] = (action, user)
            if action == "pickup":
                assert result["parcel"]["holder"] == {"type": "courier", "code": user, "name": user}
        elif result["status"] == "duplicate":  # the label scanned again: the parcel's last step, by the same person
            assert self.last_step.get(parcel) == (action, user) and result["first_at"]
            assert after == before
        else:
            assert result["status"] == "rejected" and result["error"]["message"]
            assert after == before  # a refused scan writes nothing

    @precondition(lambda self: self.accepted)
    @rule(data=st.data())
    def replay(self, data) -> None:
        user, scan = data.draw(st.sampled_from(self.accepted))
        with db.new_session(self.engine) as s:
            before = [tuple(r) for r in s.execute(select(Parcel.code, Parcel.state, Parcel.holder_site_id, Parcel.holder_user_id).order_by(Parcel.id))]
        count = self.events()
        result = self.post(user, scan)
        assert result["status"] == "duplicate" and self.events() == count
        with db.new_session(self.engine) as s:
            after = [tuple(r) for r in s.execute(select(Parcel.code, Parcel.state, Parcel.holder_site_id, Parcel.holder_user_id).order_by(Parcel.id))]
        assert before == after

    @rule(user=st.sampled_from(USERS))
    def unknown_id_is_new(self, user: str) -> None:
        scan = {"id": str(uuid.uuid4()), "label": "HC000000000VN", "action": "pickup", "at": utcnow().isoformat()}
        assert self.post(user, scan)["status"] == "rejected"

    @invariant()
    def one_holder_at_a_time(self) -> None:
        with db.new_session(self.engine) as s:
            for p in s.execute(select(Parcel)).scalars():
                if p.state == "created":
                    assert p.holder_site_id is None and p.holder_user_id is None
                elif p.state == "in_transit":
                    assert p.holder_user_id is not None and p.holder_site_id is None
                elif p.state == "at_site":
                    assert p.holder_site_id is not None and p.holder_user_id is None
                elif p.state == "awaiting_receipt":
                    assert p.holder_site_id is not None and p.holder_user_id is not None
                else:
                    assert p.state == "missing"

    @invariant()
    def chain_intact(self) -> None:
        with db.new_session(self.engine) as s:
            report = ledger.verify(s)
            state = audit.check_parcels(s, report.parcels)
        assert report.first_bad is None and not report.reason and report.count == self.events()
        assert state.code is None and state.count == len(self.parcels), state  # each row as its last event says


ScanMachine.TestCase.settings = settings(max_examples=30, stateful_step_count=40, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
TestScanMachine = ScanMachine.TestCase
