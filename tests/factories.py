"""Rows and requests for tests, made through the domain functions like real ones."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, time, timedelta

from sqlalchemy import select

from models import Parcel, Site, User
from models.dossiers import DossierIn
from postal import accounts, counter, custody, dossiers, labels, sites
from postal.clock import utcnow
from postal.db import new_session

_numbers = itertools.count(1)
# The network's staff by full name, as papers name them (`network(full_names=True)`).
FULL_NAMES = {"ntha": "Nguyễn Thị Hà", "nva": "Ngô Văn Anh", "ttb": "Trần Thanh Bình", "stp.linh": "Vũ Thùy Linh",
              "sxd.hanh": "Phạm Thị Hạnh", "gs.lan": "Phạm Thị Lan", "admin": "Trần Quốc Toàn"}


class Factory:
    """Builds a small network and moves parcels through it for a test."""

    def __init__(self, app) -> None:
        self.app = app
        self.settings = app.extensions["postal.settings"]
        self.session = new_session(app.extensions["postal.engine"])
        self.tokens: dict[str, str] = {}

    def close(self) -> None:
        self.session.close()

    # -- network ---------------------------------------------------------------------------
    def site(self, code: str, kind: str = "agency", name: str | None = None, lat: float = 20.95, lon: float = 107.08,
             opens_at: time = time(0, 0), closes_at: time = time(23, 59, 59)) -> Site:
        """A site open round the clock unless told otherwise, so tests of runs planned from now run at any hour."""
        return sites.save_site(self.session, code=code, kind=kind, name=name or f"Điểm {code}", lat=lat, lon=lon,
                               opens_at=opens_at, closes_at=closes_at)

    def network(self, *, full_names: bool = False) -> None:
        """The center, two agencies, a commune center, a post office and their staff (by login only, unless
        `full_names`: then with the names papers print)."""
        if self.session.execute(select(Site).where(Site.code == "TTHCC")).first():
            return
        self.site("TTHCC", "center", "Trung tâm Phục vụ hành chính công tỉnh")
        self.site("STP", "agency", "Sở Tư pháp")
        self.site("SXD", "agency", "Sở Xây dựng")
        self.site("PH-HONGGAI", "commune_center", "Trung tâm PVHCC phường Hồng Gai")
        self.site("BD-TINH", "post_office", "Bưu điện tỉnh")
        for username, role, site in [
            ("ntha", "postal_clerk", "TTHCC"), ("nva", "courier", "BD-TINH"), ("ttb", "courier", "BD-TINH"),
            ("stp.linh", "agency_clerk", "STP"), ("sxd.hanh", "agency_clerk", "SXD"),
            ("gs.lan", "supervisor", "TTHCC"), ("admin", "admin", None),
        ]:
            self.user(username, role, site, full_name=FULL_NAMES[username] if full_names else "")

    def user(self, username: str, role: str, site: str | None, password: str = "mat-khau-1", full_name: str = "") -> User:
        existing = self.session.execute(select(User).where(User.username == username)).scalars().first()
        if existing:
            return existing
        return accounts.add_user(self.session, username, role=role, site_code=site, password=password,
                                 full_name=full_name, at=utcnow(), profile=self.settings.argon2_profile)

    def token(self, username: str) -> dict[str, str]:
        """Authorization headers for the user."""
        if username not in self.tokens:
            self.tokens[username] = accounts.issue_token(self.session, username, at=utcnow())
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def procedure(self, name: str = "Cấp Phiếu lý lịch tư pháp", agency: str = "STP", days: int = 10,
                  site: str | None = None) -> int:
        """A procedure of the counter's catalogue; its id."""
        self.network()
        return counter.save_procedure(self.session, name=name, agency=agency, processing_days=days, site=site).id

    # -- dossiers and parcels ----------------------------------------------------------------
    def dossier_body(self, code: str | None = None, **overrides) -> dict:
        received = utcnow() - timedelta(hours=1)
        body = {
            "code": code or f"000.00.22.H47-261123-{next(_numbers):04d}",
            "procedure": "Cấp Phiếu lý lịch tư pháp", "agency": "STP",
            "applicant": {"name": "Nguyễn Văn An", "phone": "0912345678", "address": "12 Lê Thánh Tông", "ward_code": "06688"},
            "received_at": received.isoformat(), "due_at": (received + timedelta(days=10)).isoformat(),
            "return_method": "counter",
        }
        body.update(overrides)
        return body

    def bulk_parcels(self, n: int, *, agencies: tuple[str, ...] = ("STP",), at: datetime, prefix: str = "BULK",
                     serial: int = 50_000_000) -> list[str]:
        """n dossiers received at the center, each with one created parcel for an agency in turn, inserted in bulk
        (what a busy day starts from, without n registrations); the parcels' codes."""
        from sqlalchemy import insert

        from models import Dossier

        ids_of = {s.code: s.id for s in self.session.execute(select(Site)).scalars()}
        agency = [ids_of[agencies[i % len(agencies)]] for i in range(n)]
        self.session.execute(insert(Dossier.__table__), [dict(
            code=f"{prefix}-{i}", procedure="Cấp Phiếu lý lịch tư pháp", agency_id=agency[i], center_id=ids_of["TTHCC"],
            applicant_name="Nguyễn Văn An", applicant_phone="0912345678", received_at=at, due_at=at + timedelta(days=5),
            return_method="counter", request_hash="x", created_at=at) for i in range(n)])
        ids = dict(self.session.execute(select(Dossier.code, Dossier.id).where(Dossier.code.like(f"{prefix}-%"))).all())
        codes = [labels.make_code("HC", serial + i) for i in range(n)]
        self.session.execute(insert(Parcel.__table__), [dict(
            code=codes[i], dossier_id=ids[f"{prefix}-{i}"], direction="to_agency", origin_id=ids_of["TTHCC"],
            destination_id=agency[i], state="created", created_at=at) for i in range(n)])
        self.session.commit()
        return codes

    def parcel(self, *, at: str = "TTHCC", accepted: bool = True, held_by: str | None = None) -> str:
        """A parcel of a new dossier: created, accepted at the center, optionally picked up."""
        self.network()
        registrar = "ntha" if at == "TTHCC" else "gs.lan"  # a clerk registers at their own site only
        clerk = self.session.execute(select(User).where(User.username == registrar)).scalars().one()
        answer, _ = dossiers.register(self.session, DossierIn.model_validate(self.dossier_body(origin=at)),
                                      actor=clerk, settings=self.settings, now=utcnow())
        code = answer.parcel.code
        if accepted or held_by:
            self.scan_as("ntha", code, "accept", site=at)
        if held_by:
            self.scan_as(held_by, code, "pickup", site=at)
        return code

    # -- scans -------------------------------------------------------------------------------
    def payload(self, code: str) -> str:
        return labels.qr_payload(self.settings.label_key, code)

    def scan(self, code: str, action: str, *, site: str | None = None, at: datetime | None = None, **extra) -> dict:
        """One scan as a device sends it, with the signed QR payload."""
        item = {"id": str(uuid.uuid4()), "label": self.payload(code), "action": action,
                "at": (at or utcnow()).isoformat()}
        if site is not None:
            item["site"] = site
        item.update(extra)
        return item

    def scan_as(self, username: str, code: str, action: str, **kw) -> dict:
        """Post one scan through the API as a user; its result."""
        response = self.app.test_client().post("/api/v1/scans", json={"scans": [self.scan(code, action, **kw)]},
                                               headers=self.token(username))
        assert response.status_code == 200, response.get_data(as_text=True)
        result = response.get_json()["results"][0]
        assert result["status"] == "accepted", result
        return result

    def fresh(self) -> None:
        """End the session's read snapshot, so the next query sees what requests committed since."""
        self.session.rollback()
        self.session.expire_all()  # rollback outside a transaction expires nothing

    def staff(self, username: str) -> User:
        """A member of staff as stored now."""
        self.fresh()
        return self.session.execute(select(User).where(User.username == username)).scalars().one()

    def record(self, username: str, code: str, action: str, at: datetime, *, heard_at: datetime | None = None,
               expect: str | None = "accepted", **extra):
        """One scan through the domain, made at `at` and heard by the server at `heard_at` (default: at once).
        It must get the `expect`ed status (None: any); its outcome."""
        [outcome] = custody.record_scans(self.session, [self.scan(code, action, at=at, **extra)],
                                            actor=self.staff(username), settings=self.settings, now=heard_at or at)
        if expect is not None:
            assert outcome.status == expect, outcome.error and outcome.error.params
        return outcome

    def parcel_row(self, code: str) -> Parcel:
        self.fresh()
        return self.session.execute(select(Parcel).where(Parcel.code == code)).scalars().one()

    def holder_of(self, code: str) -> str:
        """Who holds a parcel now: a site code or a courier's username."""
        parcel = self.parcel_row(code)
        if parcel.holder_user_id and parcel.state == "in_transit":
            return self.session.get(User, parcel.holder_user_id).username
        return self.session.get(Site, parcel.holder_site_id).code if parcel.holder_site_id else ""
