"""The scope table: every operation of the OpenAPI document, called with a token of every role at two sites of
each kind, answers as the table below says. Allowed: 2xx, or a 4xx other than 403/404 (the object's state, a bad
field); refused: 403 or 404, never 2xx, and nothing written. A list answers everyone, but names an object only to
those who may see it. An operation missing from the table fails the test, so a new endpoint cannot forget."""

from __future__ import annotations

import io
import hashlib
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlmodel import SQLModel

from models import Alert, AlertKind, ApologySlip, DeliveryRequest, Dossier, Run, RunTemplate
from models.dossiers import ApologyIn
from models.runs import AssignIn, RunTemplateIn
from postal import alerts, apologies, counter, delivery, runs
from postal.clock import local, utcnow
from postal.workdays import DEFAULT_CALENDAR

# Two sites of each kind, and a user of every role at each of them (an admin has no site).
SITES = [("TTHCC", "center"), ("TT2", "center"), ("PH-HONGGAI", "commune_center"), ("PH-CAMPHA", "commune_center"),
         ("STP", "agency"), ("SXD", "agency"), ("BD-TINH", "post_office"), ("BD-CAMPHA", "post_office")]
USERS = {"pc.tthcc": ("postal_clerk", "TTHCC"), "pc.tt2": ("postal_clerk", "TT2"), "pc.hg": ("postal_clerk", "PH-HONGGAI"),
         "pc.cp": ("postal_clerk", "PH-CAMPHA"), "pc.bdt": ("postal_clerk", "BD-TINH"), "pc.bdc": ("postal_clerk", "BD-CAMPHA"),
         "ac.stp": ("agency_clerk", "STP"), "ac.sxd": ("agency_clerk", "SXD"), "cr.bdt": ("courier", "BD-TINH"),
         "cr.bdc": ("courier", "BD-CAMPHA"), "sv": ("supervisor", "TTHCC"), "sv2": ("supervisor", "TT2"),
         "admin": ("admin", None)}
EVERYONE = frozenset(USERS)
OVER = frozenset({"sv", "sv2", "admin"})
POSTAL_CLERKS = frozenset(u for u, (role, _) in USERS.items() if role == "postal_clerk")
AGENCY_CLERKS = frozenset({"ac.stp", "ac.sxd"})
COURIERS = frozenset(u for u, (role, _) in USERS.items() if role == "courier")
# Who may see the objects the table is about.
D1 = OVER | {"pc.tthcc", "ac.stp", "cr.bdt"}  # received at TTHCC for STP, on the run cr.bdt drives
R1 = OVER | {"cr.bdt", "pc.bdt", "pc.tthcc", "ac.stp", "ac.sxd"}  # BD-TINH's run TTHCC → STP → SXD
P1_ON_R1 = R1 - {"ac.sxd"}  # on it, P1 goes from TTHCC to STP: nothing of SXD's
DR1 = OVER | {"pc.bdt", "cr.bdt", "pc.tthcc"}  # BD-TINH's delivery run, to the door of a dossier received at TTHCC
# A counter: a postal clerk (or a supervisor) at their own center, commune center or post office.
COUNTERS = POSTAL_CLERKS | {"sv", "sv2"}
D1_DESK = OVER | {"pc.tthcc"}  # D1's receipt: the postal desk staff who may see D1
REQ = OVER | {"pc.tthcc", "pc.bdt"}  # D3's home delivery: the counter of its center and of the serving post office


@dataclass
class Case:
    """What an operation does with which user: `allowed` may, the rest are refused. `markers`: strings the
    answer names only for those who may see them (list operations and partial views)."""

    allowed: frozenset[str] = EVERYONE
    path: dict[str, str] = field(default_factory=dict)
    body: Callable[[str], dict] | None = None
    query: str = ""
    markers: dict[str, frozenset[str]] = field(default_factory=dict)
    public: bool = False
    pdf: bool = False
    citizen: Callable[[], dict] | None = None  # also public: the citizen's body (refused with `stranger`'s)
    stranger: Callable[[], dict] | None = None


@pytest.fixture
def world(make, app):
    """The network, the lines, runs, dossiers, a delivery run, alerts and an apology the table is about."""
    for code, kind in SITES:
        lat, lon = (21.01, 107.29) if code == "BD-CAMPHA" else (20.95, 107.08)
        make.site(code, kind, f"Điểm {code}", lat=lat, lon=lon)
    for username, (role, site) in USERS.items():
        make.user(username, role, site)
    admin, boss = make.staff("admin"), make.staff("sv")
    now = utcnow()
    day = DEFAULT_CALENDAR.add_working_days(local(now).date(), 1)
    for name, stops, office in (("Tuyến A", ["TTHCC", "STP", "SXD"], "BD-TINH"), ("Tuyến B", ["PH-CAMPHA", "SXD"], "BD-CAMPHA")):
        runs.create_template(make.session, RunTemplateIn(name=name, departs="09:00", stops=stops, post_office=office),
                             actor=admin, now=now)
    runs.generate(make.session, day, 1, now)
    w: dict[str, object] = {"day": day}
    received = now - timedelta(days=5)

    def register(clerk: str, origin: str, agency: str, **extra) -> tuple[str, str]:
        body = make.dossier_body(origin=origin, agency=agency, received_at=received.isoformat(),
                                 due_at=(now - timedelta(days=1)).isoformat(), **extra)
        r = make.app.test_client().post("/api/v1/dossiers", json=body, headers=make.token(clerk))
        assert r.status_code == 201, r.get_data(as_text=True)
        return body["code"], r.get_json()["parcel"]["code"]

    w["D1"], w["P1"] = register("pc.tthcc", "TTHCC", "STP")
    make.scan_as("pc.tthcc", w["P1"], "accept", site="TTHCC")
    w["D2"], w["P2"] = register("pc.cp", "PH-CAMPHA", "SXD")
    make.scan_as("pc.cp", w["P2"], "accept", site="PH-CAMPHA")
    w["D3"], _ = register("pc.tthcc", "TTHCC", "STP", return_method="home")
    w["D5"], w["P5"] = register("pc.tthcc", "TTHCC", "STP")  # labelled, not yet accepted
    make.fresh()
    r1 = make.session.execute(select(Run).where(Run.name == "Tuyến A")).scalars().one()
    runs.assign(make.session, r1.id, AssignIn(courier="cr.bdt"), actor=boss, now=now)
    w["R1"] = r1.id
    r = make.app.test_client().post("/api/v1/delivery-requests", json={
        "dossier": w["D3"], "phone_last4": "5678", "kind": "deliver_result",
        "address": {"street": "Số 15 đường Nguyễn Văn Cừ", "ward_code": "06688"},
        "slot": {"date": day.isoformat(), "period": "morning"}})
    assert r.status_code == 201, r.get_data(as_text=True)
    w["REQ"] = r.get_json()["id"]
    make.fresh()  # see the request the citizen just made
    delivery.generate_day(make.session, day, now)
    make.fresh()
    w["DR1"] = make.session.execute(select(Run.id).where(Run.kind == "delivery")).scalar_one()
    assert make.session.get(DeliveryRequest, w["REQ"]).post_office_id == make.session.get(Run, w["DR1"]).post_office_id
    p1 = make.parcel_row(w["P1"])
    alerts.open_alert(make.session, AlertKind.AWAITING_RECEIPT, subject_type="parcel", subject_id=p1.id,
                      subject_code=w["P1"], at=now)
    make.session.commit()
    d2 = make.session.execute(select(Dossier).where(Dossier.code == w["D2"])).scalars().one()
    alerts.open_alert(make.session, AlertKind.OVERDUE, subject_type="dossier", subject_id=d2.id, subject_code=w["D2"], at=now)
    make.session.commit()
    make.fresh()
    w["A1"] = make.session.execute(select(Alert.id).where(Alert.subject_code == w["P1"])).scalar_one()
    apologies.issue(make.session, w["D1"], ApologyIn(new_due=DEFAULT_CALENDAR.add_working_days(local(now).date(), 2),
                                                      reason="Cơ quan cần thêm thời gian"),
                    actor=boss, settings=make.settings, now=now)
    make.fresh()
    w["AP"] = make.session.execute(select(ApologySlip.id)).scalar_one()
    w["PROC"] = counter.save_procedure(make.session, name="Cấp Phiếu lý lịch tư pháp", agency="STP", processing_days=10).id
    r = make.app.test_client().post("/api/v1/counter/dossiers", headers=make.token("pc.tthcc"), json={
        "code": "TTHCC-TODAY-0001", "procedure": w["PROC"], "applicant_name": "Trần Văn Bình",
        "applicant_phone": "0987654321", "return_method": "counter"})
    assert r.status_code == 201, r.get_data(as_text=True)
    w["D6"] = "TTHCC-TODAY-0001"  # received at TTHCC's counter today
    make.fresh()
    w["T1"] = make.session.execute(select(RunTemplate.id).where(RunTemplate.name == "Tuyến A")).scalar_one()
    for username in USERS:
        make.token(username)
    return w


def table(w: dict, settings) -> dict[str, Case]:
    """The scope table: every operation of the document, what it is called on and who may."""
    d1, p1, r1 = {"code": w["D1"]}, {"code": w["P1"]}, {"run_id": str(w["R1"])}
    t1 = {"template_id": str(w["T1"])}
    bodies = {
        "dossier": lambda u: {"code": f"000.00.22.H47-991231-{list(USERS).index(u) if u in USERS else 99:04d}", "procedure": "Cấp Phiếu lý lịch tư pháp",
                              "agency": "STP", "origin": "TTHCC", "return_method": "counter",
                              "applicant": {"name": "Lê Thị Hoa", "phone": "0912345678"},
                              "received_at": (utcnow() - timedelta(hours=1)).isoformat(),
                              "due_at": (utcnow() + timedelta(days=5)).isoformat()},
        "scan": lambda u: {"scans": [{"id": str(uuid.uuid4()), "label": w["P5"], "action": "accept", "site": "TTHCC",
                                      "at": utcnow().isoformat()}]},
    }
    return {
        "get /openapi.json": Case(public=True),
        "get /sites": Case(),
        "post /dossiers": Case(OVER | {"pc.tthcc"}, body=bodies["dossier"]),
        "get /dossiers/{code}": Case(D1, d1),
        "get /dossiers/{code}/control-sheet.pdf": Case(D1, d1),
        "post /dossiers/{code}/parcels": Case(OVER | {"ac.stp"}, d1, body=lambda u: {"direction": "to_center", "origin": "STP"}),
        "get /parcels/{code}": Case(D1, p1),
        "post /parcels/{code}/redirect": Case(OVER | {"ac.stp"}, p1, body=lambda u: {"destination": "SXD", "reason": "Sai cơ quan"}),
        "get /parcels/{code}/label.png": Case(D1, p1),
        "get /parcels/{code}/label.svg": Case(D1, p1),
        "post /scans": Case(OVER | {"pc.tthcc"}, body=bodies["scan"]),
        "post /bags": Case(OVER | {"pc.tthcc"}, body=lambda u: {"seal": "NP-0001", "parcels": [w["P1"]], "site": "TTHCC"}),
        "post /track": Case(public=True, body=lambda u: {"code": w["D1"], "phone_last4": "5678"}),
        "post /delivery-requests": Case(public=True, body=lambda u: {
            "dossier": w["D1"], "phone_last4": "5678", "kind": "deliver_result",
            "address": {"street": "Số 1 Lê Lợi", "ward_code": "06688"},
            "slot": {"date": w["day"].isoformat(), "period": "afternoon"}}),
        "get /provinces": Case(public=True),
        "get /provinces/{code}/wards": Case(public=True, path={"code": settings.province_code}),
        "get /runs/{run_id}/deliveries": Case(DR1, {"run_id": str(w["DR1"])}),
        "get /collections": Case(OVER | {"cr.bdt", "pc.bdt"}, query=f"?courier=cr.bdt&day={w['day'].isoformat()}"),
        "post /delivery-requests/{request_id}/exemption": Case(OVER | {"pc.bdt", "pc.tthcc"}, {"request_id": str(w["REQ"])},
                                                               body=lambda u: {"reason": settings.delivery_fee_exempt[0]}),
        "get /run-templates": Case(),
        "post /run-templates": Case(frozenset({"admin"}), body=lambda u: {
            "name": "Tuyến C", "departs": "10:00", "stops": ["TTHCC", "SXD"], "kind": "shuttle", "post_office": "BD-TINH"}),
        "get /runs": Case(query=f"?date={w['day'].isoformat()}", markers={"Tuyến A": R1, w["P1"]: P1_ON_R1}),
        "get /runs/{run_id}": Case(R1, r1, markers={w["P1"]: P1_ON_R1}),
        "get /runs/{run_id}/manifest.pdf": Case(R1, r1, markers={w["P1"]: P1_ON_R1, w["D1"]: P1_ON_R1}, pdf=True),
        "post /runs/{run_id}/assign": Case(OVER | {"cr.bdt"}, r1, body=lambda u: {"courier": u if u.startswith("cr.") else "cr.bdt"}),
        "post /runs/{run_id}/start": Case(OVER | {"cr.bdt"}, r1),
        "post /runs/{run_id}/stops/{seq}/depart": Case(OVER | {"cr.bdt"}, {**r1, "seq": "1"}),
        "post /runs/{run_id}/close": Case(OVER | {"cr.bdt"}, r1),
        "get /alerts": Case(OVER | POSTAL_CLERKS, markers={w["P1"]: OVER | {"pc.tthcc"}, w["D2"]: OVER | {"pc.cp"}}),
        "post /alerts/{alert_id}/ack": Case(OVER, {"alert_id": str(w["A1"])}, body=lambda u: {"note": "Đang xem"}),
        "post /alerts/{alert_id}/resolve": Case(OVER, {"alert_id": str(w["A1"])}, body=lambda u: {"note": "Đã nhận"}),
        "post /dossiers/{code}/apologies": Case(OVER | {"pc.tthcc", "ac.stp"}, d1, body=lambda u: {
            "new_due": DEFAULT_CALENDAR.add_working_days(local(utcnow()).date(), 3).isoformat(), "reason": "Chậm"}),
        "get /dossiers/{code}/apologies/{apology_id}.pdf": Case(D1, {**d1, "apology_id": str(w["AP"])}),
        "get /desk": Case(AGENCY_CLERKS, markers={w["D1"]: frozenset({"ac.stp"})}),
        "post /dossiers/{code}/result": Case(frozenset({"ac.stp"}), d1),
        "get /epcis/events": Case(OVER | POSTAL_CLERKS | AGENCY_CLERKS, markers={w["P1"]: OVER | {"pc.tthcc"}}),
        "get /reports/agencies": Case(OVER),
        "get /reports/fees": Case(OVER | AGENCY_CLERKS, markers={"\"STP\"": OVER | {"ac.stp"}, "\"SXD\"": OVER | {"ac.sxd"}}),
        "get /counter/procedures": Case(COUNTERS, markers={"Cấp Phiếu lý lịch tư pháp": COUNTERS}),
        "get /counter/due": Case(COUNTERS, query=f"?procedure={w['PROC']}"),
        "get /counter/today": Case(COUNTERS, markers={w["D6"]: frozenset({"pc.tthcc", "sv"})}),
        "post /counter/dossiers": Case(COUNTERS, body=lambda u: {
            "code": f"COUNTER-{list(USERS).index(u) if u in USERS else 99:04d}", "procedure": w["PROC"],
            "applicant_name": "Lê Thị Hoa", "applicant_phone": "0912345678", "return_method": "counter"}),
        "get /dossiers/{code}/receipt.pdf": Case(D1_DESK, d1),
        "get /dossiers/{code}/papers.pdf": Case(D1_DESK, d1),
        "get /parcels/{code}/label.pdf": Case(D1, p1),
        "get /parcels/{code}/label-prints": Case(D1, p1),
        "post /parcels/{code}/label-prints": Case(D1 - {"cr.bdt"}, p1, body=lambda u: {"format": "a4"}),
        "get /run-templates/{template_id}": Case(path=t1, markers={'"regenerable"': R1}),
        "put /run-templates/{template_id}": Case(frozenset({"admin"}), t1, body=lambda u: {
            "name": "Tuyến A", "departs": "09:30", "stops": ["TTHCC", "STP", "SXD"], "kind": "shuttle",
            "post_office": "BD-TINH"}),
        "post /run-templates/{template_id}/deactivate": Case(frozenset({"admin"}), t1),
        "post /run-templates/{template_id}/activate": Case(frozenset({"admin"}), t1),
        "post /run-templates/{template_id}/regenerate": Case(frozenset({"admin"}), t1),
        "put /sites/{code}": Case(frozenset({"admin"}), {"code": "SXD"}, body=lambda u: {
            "kind": "agency", "name": "Sở Xây dựng tỉnh"}),
        "post /sites/{code}/deactivate": Case(frozenset({"admin"}), {"code": "PH-HONGGAI"}),
        "post /sites/{code}/activate": Case(frozenset({"admin"}), {"code": "PH-HONGGAI"}),
        "get /procedures": Case(markers={"Cấp Phiếu lý lịch tư pháp": EVERYONE}),
        "post /procedures": Case(frozenset({"admin"}), body=lambda u: {
            "name": f"Thủ tục mới {u}", "agency": "STP", "processing_days": 5}),
        "put /procedures/{procedure_id}": Case(frozenset({"admin"}), {"procedure_id": str(w["PROC"])}, body=lambda u: {
            "name": "Cấp Phiếu lý lịch tư pháp", "agency": "STP", "processing_days": 8}),
        "post /procedures/{procedure_id}/deactivate": Case(frozenset({"admin"}), {"procedure_id": str(w["PROC"])}),
        "post /procedures/{procedure_id}/activate": Case(frozenset({"admin"}), {"procedure_id": str(w["PROC"])}),
        # Every registrar may send a batch; each row is then judged as POST /dossiers would judge it: only those
        # who may register at TTHCC see it created, the others read why their row was refused.
        "post /dossiers/batch": Case(EVERYONE - COURIERS, body=lambda u: {"dossiers": [{  # a one-stop code of today's
            **bodies["dossier"](u), "code": f"000.00.22.H47-{local(utcnow() - timedelta(hours=1)):%y%m%d}-{list(USERS).index(u) + 1 if u in USERS else 99:04d}"}]},
                                     markers={'"status":"created"': OVER | {"pc.tthcc"}}),
        "post /delivery-requests/{request_id}/cancel": Case(
            REQ, {"request_id": str(w["REQ"])}, body=lambda u: {},
            citizen=lambda: {"dossier": w["D3"], "phone_last4": "5678"},
            stranger=lambda: {"dossier": w["D3"], "phone_last4": "0000"}),
        "post /delivery-requests/{request_id}/refund": Case(REQ, {"request_id": str(w["REQ"])}),
    }


class Snapshots:
    """The database as the world left it, put back before each operation (SQLite: its online backup, page by
    page, under SQLite's own locks). PostgreSQL cannot be copied that cheaply: there no allowed write is made
    (they are checked on SQLite), so that every call meets the world as made; the refused ones write nothing."""

    def __init__(self, app, make, database_url: str) -> None:
        self.engine, self.make = app.extensions["postal.engine"], make
        self.copy = sqlite3.connect(":memory:") if database_url.startswith("sqlite") else None

    def _copy(self, restore: bool) -> bool:
        if self.copy is None:
            return False
        self.make.session.close()
        live = self.engine.raw_connection()
        try:
            source, target = (self.copy, live.driver_connection) if restore else (live.driver_connection, self.copy)
            source.backup(target)
        finally:
            live.close()
        return True

    def take(self) -> None:
        self._copy(restore=False)

    def restore(self) -> bool:
        """Put the world back; False when it cannot be (PostgreSQL)."""
        return self._copy(restore=True)


BOOKKEEPING = {("api_token", "last_used_at")}  # the gate notes when a token was used, whatever the answer


def digest(engine) -> str:
    """Every row of every table, in key order: equal digests, equal database (but for the gate's bookkeeping)."""
    h = hashlib.sha256()
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            columns = [c for c in table.columns if (table.name, c.name) not in BOOKKEEPING]
            for row in conn.execute(select(*columns).order_by(*order)):
                h.update(repr((table.name, tuple(row))).encode())
    return h.hexdigest()


def outcome(response) -> int:
    """The status a user meets; a scan batch answers 200 with each scan's result, a refused scan counts as 403."""
    if response.status_code == 200 and response.request.path.endswith("/scans"):
        result = response.get_json()["results"][0]
        if result["status"] == "rejected":
            return 403 if result["error"]["code"] in ("forbidden", "site_forbidden") else 409
    return response.status_code


def text_of(response, pdf: bool) -> str:
    if pdf and response.status_code == 200:
        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    return response.get_data(as_text=True)


def test_every_operation_answers_as_the_scope_table_says(app, make, world, database_url):
    client = app.test_client()
    document = client.get("/api/v1/openapi.json").get_json()
    operations = {f"{method} {path.removeprefix('/api/v1')}": entry for path, methods in document["paths"].items()
                  for method, entry in methods.items()}
    cases = table(world, make.settings)
    assert sorted(set(operations) - set(cases)) == [], "operations missing from the scope table"
    assert sorted(set(cases) - set(operations)) == [], "the table names operations the document does not have"
    snapshots = Snapshots(app, make, database_url)
    snapshots.take()
    engine = app.extensions["postal.engine"]
    wrong: list[str] = []
    for name, case in cases.items():
        method, template = name.split(" ", 1)
        url = "/api/v1" + template.format(**case.path) + case.query
        call = getattr(client, method)

        def send(username: str | None):
            headers = make.token(username) if username else {}
            if case.body is not None:
                return call(url, json=case.body(username or "citizen"), headers=headers)
            return call(url, headers=headers)

        restored = snapshots.restore()  # every operation meets the world as made, whatever the one before wrote
        if case.public:
            if method != "get" and not restored:
                continue
            status = send(None).status_code
            if status >= 500 or status in (401, 403):
                wrong.append(f"{name} (public): {status}")
            continue
        before = digest(engine)
        if case.citizen is not None:  # public too: with the citizen's proof, not with a stranger's
            if (status := call(url, json=case.stranger()).status_code) not in (403, 404):
                wrong.append(f"{name} (a stranger): {status}")
            elif digest(engine) != before:
                wrong.append(f"{name} (a stranger): refused, yet something was written")
            if snapshots.restore() and ((status := call(url, json=case.citizen()).status_code) >= 500
                                        or status in (401, 403, 404)):
                wrong.append(f"{name} (the citizen): {status}")
        elif (status := send(None).status_code) != 401:
            wrong.append(f"{name} without a token: {status}")
        for username in USERS:
            allowed = username in case.allowed
            if method != "get" and not snapshots.restore() and allowed:
                continue  # PostgreSQL: no allowed write, so that every call meets the world as made
            response = send(username)
            status = outcome(response)
            if allowed:
                if status in (403, 404) or status >= 500:
                    wrong.append(f"{name} as {username} (allowed): {status} {response.get_data(as_text=True)[:200]}")
                    continue
            elif status not in (403, 404):
                wrong.append(f"{name} as {username} (refused): {status}")
                continue
            if not allowed and method != "get" and digest(engine) != before:
                wrong.append(f"{name} as {username}: refused, yet something was written")
                snapshots.restore()
            if status < 300 and case.markers:
                text = text_of(response, case.pdf)
                for marker, readers in case.markers.items():
                    if (marker in text) != (username in readers):
                        wrong.append(f"{name} as {username}: {marker!r} {'missing' if username in readers else 'shown'}")
    assert wrong == [], "\n".join(wrong)

