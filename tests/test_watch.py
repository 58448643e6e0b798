"""The watch: delay and loss rules driven through a day with `now`/`--at`, and the alerts API."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from click.testing import CliRunner
from sqlalchemy import select

from models import Alert, User
from models.dossiers import DossierIn, ParcelIn
from models.runs import RunTemplateIn
from postal import dossiers, runs, watch
from postal.clock import LOCAL_TZ, as_utc, local, utcnow
from postal.cli import cli

WEDNESDAY = date(2026, 12, 2)


def at(day: date, hh: int, mm: int) -> datetime:
    """A wall-clock time in Vietnam, as the server keeps it (UTC)."""
    return as_utc(datetime.combine(day, time(hh, mm), tzinfo=LOCAL_TZ))


def user(make, username: str) -> User:
    return make.staff(username)


def line(make, stops, departs: str, name: str = "Tuyến 1") -> None:
    make.network()
    runs.create_template(make.session, RunTemplateIn(name=name, departs=departs, stops=stops, post_office="BD-TINH"),
                         actor=user(make, "admin"), now=utcnow())


def scan(make, username: str, code: str, action: str, now: datetime, **extra):
    """One scan through the domain at a chosen moment; it must be accepted."""
    return make.record(username, code, action, now, **extra)


def run_of(make, day: date, departs: str):
    hh, mm = map(int, departs.split(":"))
    return next(r for r in runs.runs_of_day(make.session, day).runs if local(r.departs_at).time() == time(hh, mm))


def sweep(make, now: datetime) -> dict[str, tuple[int, int]]:
    return watch.sweep(make.session, now, settings=make.settings)


def alerts_of(make, code: str) -> dict[str, Alert]:
    """The alerts of a subject by kind (the latest of each kind)."""
    make.fresh()
    rows = make.session.execute(select(Alert).where(Alert.subject_code == code).order_by(Alert.id)).scalars()
    return {a.kind: a for a in rows}


def dossier_due(make, due_at: datetime, received_at: datetime | None = None) -> tuple[str, str]:
    """A dossier due at a given time and its first parcel, accepted at the center: (dossier code, parcel code)."""
    make.network()
    received = received_at or min(due_at, utcnow()) - timedelta(days=5)
    body = make.dossier_body(received_at=received.isoformat(), due_at=due_at.isoformat(), origin="TTHCC")
    answer, _ = dossiers.register(make.session, DossierIn.model_validate(body), actor=user(make, "ntha"),
                                  settings=make.settings, now=utcnow())
    scan(make, "ntha", answer.parcel.code, "accept", received, site="TTHCC")
    return answer.dossier.code, answer.parcel.code


PARCEL_KINDS = ("missed_run", "late_in_transit", "awaiting_receipt", "suspected_loss", "bag_mismatch")


def nothing_opened(counts, kinds=None) -> bool:
    return all(opened == 0 for kind, (opened, _) in counts.items() if kinds is None or kind in kinds)


# -- a shuttle day ---------------------------------------------------------------------------------------


def test_a_day_of_one_run_opens_and_clears_every_parcel_alert(make):
    line(make, ["TTHCC", "STP"], "10:30")
    line(make, ["TTHCC", "STP"], "14:00")
    runs.generate(make.session, WEDNESDAY, 1, at(WEDNESDAY, 6, 0))
    kept, lost, left = (make.parcel(accepted=False) for _ in range(3))
    for code in (kept, lost, left):
        scan(make, "ntha", code, "accept", at(WEDNESDAY, 9, 0), site="TTHCC")
    run = run_of(make, WEDNESDAY, "10:30")
    runs.start(make.session, run.id, actor=user(make, "nva"), now=at(WEDNESDAY, 10, 30))
    for code in (kept, lost):
        scan(make, "nva", code, "pickup", at(WEDNESDAY, 10, 36), site="TTHCC", run=run.id)
    assert nothing_opened(sweep(make, at(WEDNESDAY, 10, 37)), PARCEL_KINDS)  # nothing is due yet

    # the run leaves the center without `left`: a missed run, once however often the sweep runs
    runs.depart(make.session, run.id, 1, actor=user(make, "nva"), now=at(WEDNESDAY, 10, 40))
    counts = sweep(make, at(WEDNESDAY, 10, 41))
    assert counts["missed_run"] == (1, 0) and sum(counts[k][0] for k in PARCEL_KINDS) == 1
    missed = alerts_of(make, left)["missed_run"]
    assert (missed.state, missed.severity, missed.subject_type) == ("open", "warning", "parcel")
    assert f"Chuyến {run.id}" in missed.note
    assert nothing_opened(sweep(make, at(WEDNESDAY, 10, 42)), PARCEL_KINDS)

    # `kept` is handed over at the agency at 10:50; `lost` stays with the courier
    scan(make, "nva", kept, "handover", at(WEDNESDAY, 10, 50), site="STP", run=run.id)
    ends_at = run_of(make, WEDNESDAY, "10:30").ends_at
    assert ends_at == at(WEDNESDAY, 10, 40)  # frozen at the start: the empty return visit to the center is gone

    # past the run's planned end + 30 min, `lost` is late in transit
    assert sweep(make, ends_at + timedelta(minutes=29))["late_in_transit"] == (0, 0)
    assert sweep(make, ends_at + timedelta(minutes=31))["late_in_transit"] == (1, 0)
    assert alerts_of(make, lost)["late_in_transit"].state == "open"

    # the agency has not confirmed `kept` 30 minutes after the handover
    assert sweep(make, at(WEDNESDAY, 11, 19))["awaiting_receipt"] == (0, 0)
    assert sweep(make, at(WEDNESDAY, 11, 21))["awaiting_receipt"] == (1, 0)
    assert "Sở Tư pháp" in alerts_of(make, kept)["awaiting_receipt"].note

    # the run is closed with `lost` still on board: a suspected loss, critical
    closed_at = ends_at + timedelta(minutes=40)
    runs.close(make.session, run.id, actor=user(make, "nva"), now=closed_at)
    counts = sweep(make, closed_at + timedelta(minutes=1))
    assert counts["suspected_loss"] == (1, 0) and counts["late_in_transit"] == (0, 0)
    loss = alerts_of(make, lost)["suspected_loss"]
    assert loss.severity == "critical" and "chưa bàn giao" in loss.note
    assert nothing_opened(sweep(make, closed_at + timedelta(minutes=2)), PARCEL_KINDS)

    # handed over after all: its alerts resolve by themselves, saying why
    handed_at = closed_at + timedelta(minutes=10)
    scan(make, "nva", lost, "handover", handed_at, site="STP")
    loss = alerts_of(make, lost)["suspected_loss"]  # the handover scan itself clears a suspected loss
    assert loss.state == "resolved" and loss.resolved_at == handed_at and "bàn giao" in loss.note.splitlines()[-1]
    counts = sweep(make, handed_at + timedelta(minutes=1))
    assert counts["late_in_transit"] == (0, 1) and counts["suspected_loss"] == (0, 0)
    late = alerts_of(make, lost)["late_in_transit"]
    assert late.state == "resolved" and late.resolved_at == handed_at + timedelta(minutes=1)
    assert late.note.splitlines()[-1] == "Tự đóng: bì đã được bàn giao, chờ bên nhận xác nhận."

    # the agency confirms both: awaiting receipt resolves
    received_at = handed_at + timedelta(minutes=2)
    scan(make, "stp.linh", kept, "receive", received_at)
    scan(make, "stp.linh", lost, "receive", received_at)
    assert sweep(make, received_at + timedelta(minutes=1))["awaiting_receipt"] == (0, 1)
    assert "xác nhận nhận" in alerts_of(make, kept)["awaiting_receipt"].note

    # `left` rides the afternoon run: its missed run resolves when it is picked up
    afternoon = run_of(make, WEDNESDAY, "14:00")
    assert left in afternoon.stops[0].pick
    scan(make, "nva", left, "pickup", at(WEDNESDAY, 14, 5), site="TTHCC", run=afternoon.id)
    assert sweep(make, at(WEDNESDAY, 14, 6))["missed_run"] == (0, 1)
    missed = alerts_of(make, left)["missed_run"]
    assert missed.state == "resolved" and "nhận chuyển" in missed.note
    counts = sweep(make, at(WEDNESDAY, 14, 7))
    assert all(c == (0, 0) for c in counts.values())  # re-running opens and resolves nothing
    make.fresh()
    parcel_alerts = make.session.execute(select(Alert).where(Alert.subject_type == "parcel")).scalars().all()
    assert sorted(a.kind for a in parcel_alerts) == ["awaiting_receipt", "late_in_transit", "missed_run", "suspected_loss"]
    assert all(a.state == "resolved" for a in parcel_alerts)


def test_alerts_clear_when_the_parcel_moved_on_between_two_sweeps(make):
    line(make, ["TTHCC", "STP"], "10:30")
    runs.generate(make.session, WEDNESDAY, 1, at(WEDNESDAY, 6, 0))
    left, carried = make.parcel(accepted=False), make.parcel(accepted=False)
    for code in (left, carried):
        scan(make, "ntha", code, "accept", at(WEDNESDAY, 9, 0), site="TTHCC")
    run = run_of(make, WEDNESDAY, "10:30")
    runs.start(make.session, run.id, actor=user(make, "nva"), now=at(WEDNESDAY, 10, 30))
    scan(make, "nva", carried, "pickup", at(WEDNESDAY, 10, 35), site="TTHCC", run=run.id)
    runs.depart(make.session, run.id, 1, actor=user(make, "nva"), now=at(WEDNESDAY, 10, 36))
    counts = sweep(make, at(WEDNESDAY, 11, 20))
    assert counts["late_in_transit"] == (1, 0) and counts["missed_run"] == (1, 0)
    # before the next sweep: `left` goes ad hoc to the agency and is confirmed there; `carried` is handed
    # over and picked up again without a run
    moved = at(WEDNESDAY, 11, 30)
    scan(make, "ttb", left, "pickup", moved, site="TTHCC")
    scan(make, "ttb", left, "handover", moved, site="STP")
    scan(make, "stp.linh", left, "receive", moved)
    scan(make, "nva", carried, "handover", moved, site="STP")
    scan(make, "stp.linh", carried, "receive", moved)
    scan(make, "ttb", carried, "pickup", moved, site="STP")
    counts = sweep(make, moved + timedelta(minutes=1))
    assert counts["missed_run"] == (0, 1) and counts["late_in_transit"] == (0, 1)
    assert alerts_of(make, left)["missed_run"].note.endswith("xác nhận nhận.")
    assert alerts_of(make, carried)["late_in_transit"].state == "resolved"


def test_a_suspected_loss_reported_by_a_scan_resolves_when_the_parcel_is_found(make):
    code = make.parcel(held_by="nva")
    now = utcnow()
    scan(make, "nva", code, "report_missing", now, note="Rơi mất trên đường")
    assert alerts_of(make, code)["suspected_loss"].state == "open"
    assert sweep(make, now)["suspected_loss"] == (0, 0)  # still missing: it stays open
    scan(make, "ntha", code, "found", now + timedelta(minutes=5), site="TTHCC")
    alert = alerts_of(make, code)["suspected_loss"]
    assert alert.state == "resolved" and alert.note.startswith("Rơi mất trên đường")
    assert nothing_opened(sweep(make, now + timedelta(minutes=6)))


def test_a_bag_mismatch_resolves_when_the_missing_parcels_are_found(client, make):
    first, second = make.parcel(), make.parcel()
    r = client.post("/api/v1/bags", json={"seal": "S-001", "parcels": [first, second], "site": "TTHCC"},
                    headers=make.token("ntha"))
    assert r.status_code == 201
    bag = r.get_json()["bag"]["code"]
    now = utcnow()
    scan(make, "nva", bag, "pickup", now, site="TTHCC")
    scan(make, "nva", bag, "handover", now, site="STP")
    scan(make, "stp.linh", bag, "receive", now)
    scan(make, "stp.linh", bag, "unbag", now, evidence={"scanned": [make.payload(first)]})
    alert = alerts_of(make, bag)["bag_mismatch"]
    assert alert.state == "open" and second in alert.note
    assert sweep(make, now + timedelta(minutes=1))["bag_mismatch"] == (0, 0)
    scan(make, "stp.linh", second, "found", now + timedelta(minutes=2), site="STP")
    assert sweep(make, now + timedelta(minutes=3))["bag_mismatch"] == (0, 1)
    alert = alerts_of(make, bag)["bag_mismatch"]
    assert alert.state == "resolved" and "tìm thấy" in alert.note


# -- due dates -------------------------------------------------------------------------------------------


def test_an_overdue_dossier_is_flagged_once_and_resolves_when_returned(make):
    now = utcnow()
    code, parcel = dossier_due(make, now - timedelta(days=1))
    counts = sweep(make, now)
    assert counts["overdue"] == (1, 0) and counts["due_at_risk"] == (0, 0)
    alert = alerts_of(make, code)["overdue"]
    assert (alert.subject_type, alert.severity) == ("dossier", "critical") and "mẫu 04" in alert.note
    assert nothing_opened(sweep(make, now + timedelta(minutes=1)))
    result = dossiers.add_parcel(make.session, code, ParcelIn(direction="to_center", origin="TTHCC"),
                                 actor=user(make, "ntha"), settings=make.settings, now=now).code
    scan(make, "ntha", result, "accept", now + timedelta(minutes=1), site="TTHCC")
    scan(make, "ntha", result, "deliver", now + timedelta(minutes=2), site="TTHCC",
         evidence={"recipient_name": "Nguyễn Văn An"})  # the result handed back at the counter
    assert sweep(make, now + timedelta(minutes=3))["overdue"] == (0, 1)
    alert = alerts_of(make, code)["overdue"]
    assert alert.state == "resolved" and "đã trả kết quả" in alert.note


def test_a_dossier_due_by_the_next_working_day_is_at_risk_until_its_result_travels(make):
    friday_morning = at(date(2026, 12, 4), 9, 0)
    due_monday, _ = dossier_due(make, at(date(2026, 12, 7), 16, 0))  # the next working day after Friday
    due_tuesday, _ = dossier_due(make, at(date(2026, 12, 8), 16, 0))
    assert watch.risk_horizon(friday_morning, 1) == at(date(2026, 12, 8), 0, 0)
    assert sweep(make, friday_morning)["due_at_risk"] == (1, 0)
    assert "due_at_risk" in alerts_of(make, due_monday) and not alerts_of(make, due_tuesday)
    result = dossiers.add_parcel(make.session, due_monday, ParcelIn(direction="to_center", origin="STP"),
                                 actor=user(make, "stp.linh"), settings=make.settings, now=utcnow())
    scan(make, "stp.linh", result.code, "accept", friday_morning + timedelta(minutes=5), site="STP")
    assert sweep(make, friday_morning + timedelta(minutes=6))["due_at_risk"] == (0, 1)
    assert "trên đường về" in alerts_of(make, due_monday)["due_at_risk"].note


def test_each_rule_is_a_fixed_number_of_statements_whatever_is_due(make, statements):
    now = utcnow()
    for _ in range(6):
        dossier_due(make, now - timedelta(days=1))
    statements.clear()
    counts = sweep(make, now)
    assert counts["overdue"] == (6, 0)
    writes = [s for s in statements if s.lstrip().startswith(("INSERT INTO alert", "UPDATE alert"))]
    assert len(writes) == 2 * len(watch.RULES) - 1  # bag_mismatch is opened by scans, only resolved here


# -- the alerts API --------------------------------------------------------------------------------------


def test_alerts_api_lists_acknowledges_and_resolves(client, make):
    now = utcnow()
    code, _ = dossier_due(make, now - timedelta(days=1))
    sweep(make, now)
    r = client.get("/api/v1/alerts?state=open&kind=overdue", headers=make.token("ntha"))
    assert r.status_code == 200
    [alert] = r.get_json()["alerts"]
    assert set(alert) == {"id", "kind", "severity", "subject", "opened_at", "state", "owner", "note", "resolved_at"}
    assert alert["subject"] == {"type": "dossier", "code": code} and alert["owner"] is None
    assert alert["kind"] == "overdue" and alert["state"] == "open" and alert["resolved_at"] is None
    assert datetime.fromisoformat(alert["opened_at"].replace("Z", "+00:00")) == now  # ISO 8601 with an offset
    aid = alert["id"]
    assert client.get("/api/v1/alerts?state=open&kind=missed_run", headers=make.token("ntha")).get_json() == {"alerts": []}

    assert client.get("/api/v1/alerts", headers=make.token("nva")).status_code == 403
    assert client.post(f"/api/v1/alerts/{aid}/ack", json={}, headers=make.token("nva")).status_code == 403
    assert client.post(f"/api/v1/alerts/{aid}/resolve", json={"note": "x"}, headers=make.token("ntha")).status_code == 403
    assert client.get("/api/v1/alerts").status_code == 401

    r = client.post(f"/api/v1/alerts/{aid}/ack", headers=make.token("gs.lan"))  # the note is optional, the body too
    assert r.status_code == 200 and r.get_json()["state"] == "acknowledged" and r.get_json()["owner"] == "gs.lan"
    r = client.post(f"/api/v1/alerts/{aid}/ack", json={"note": "Đã gọi Sở Tư pháp"}, headers=make.token("admin"))
    assert r.get_json()["owner"] == "admin" and r.get_json()["note"].endswith("admin: Đã gọi Sở Tư pháp")
    r = client.get("/api/v1/alerts?state=open,acknowledged", headers=make.token("gs.lan"))
    assert [a["state"] for a in r.get_json()["alerts"]] == ["acknowledged"]

    for body in ({}, {"note": "  "}, None):
        r = client.post(f"/api/v1/alerts/{aid}/resolve", json=body, headers=make.token("gs.lan"))
        assert r.status_code == 422 and "note" in r.get_json()["error"]["message"]
    r = client.post(f"/api/v1/alerts/{aid}/resolve", json={"note": "Đã phát phiếu xin lỗi, hẹn lại"}, headers=make.token("gs.lan"))
    assert r.status_code == 200
    done = r.get_json()
    assert done["state"] == "resolved" and done["owner"] == "gs.lan" and done["resolved_at"]
    assert done["note"].endswith("gs.lan: Đã phát phiếu xin lỗi, hẹn lại")

    r = client.post(f"/api/v1/alerts/{aid}/resolve", json={"note": "lần nữa"}, headers=make.token("gs.lan"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "alert_resolved"
    resolved_at = local(datetime.fromisoformat(done["resolved_at"].replace("Z", "+00:00")))
    assert r.get_json()["error"]["message"] == f"Cảnh báo số {aid} đã được đóng lúc {resolved_at:%H:%M %d/%m/%Y}."
    r = client.post(f"/api/v1/alerts/{aid}/ack", json={}, headers={**make.token("gs.lan"), "Accept-Language": "en"})
    assert r.status_code == 409 and r.get_json()["error"]["message"].startswith(f"Alert {aid} was already resolved at")

    # resolved by a person while still overdue: the sweep does not open it again
    assert nothing_opened(sweep(make, now + timedelta(minutes=5)))
    assert client.get("/api/v1/alerts?state=open", headers=make.token("gs.lan")).get_json() == {"alerts": []}

    assert client.post("/api/v1/alerts/999999/ack", json={}, headers=make.token("gs.lan")).status_code == 404
    assert client.post(f"/api/v1/alerts/{10**12}/ack", json={}, headers=make.token("gs.lan")).status_code == 404
    r = client.get("/api/v1/alerts?state=closed", headers=make.token("gs.lan"))
    assert r.status_code == 422 and "state" in r.get_json()["error"]["message"]
    r = client.get("/api/v1/alerts?kind=lost", headers=make.token("gs.lan"))
    assert r.status_code == 422 and "kind" in r.get_json()["error"]["message"]
    r = client.post(f"/api/v1/alerts/{aid}/resolve", json={"note": "x", "extra": 1}, headers=make.token("gs.lan"))
    assert r.status_code == 400
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/alerts", "/api/v1/alerts/{alert_id}/ack", "/api/v1/alerts/{alert_id}/resolve"} <= set(paths)


# -- the command -----------------------------------------------------------------------------------------


def test_postal_sweep_at_prints_the_counts_per_kind(make, database_url):
    now = utcnow()
    dossier_due(make, now - timedelta(hours=2))
    cli_runner = CliRunner()
    env = {"DATABASE_URL": database_url}
    before = cli_runner.invoke(cli, ["sweep", "--at", (now - timedelta(hours=3)).isoformat()], env=env)
    assert before.exit_code == 0, before.output
    assert "overdue: opened 0, resolved 0" in before.output.splitlines()
    result = cli_runner.invoke(cli, ["sweep", "--at", local(now).strftime("%Y-%m-%dT%H:%M:%S")], env=env)  # local, no offset
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == len(watch.RULES) == 8 and "overdue: opened 1, resolved 0" in lines and "missed_run: opened 0, resolved 0" in lines
    again = cli_runner.invoke(cli, ["sweep", "--at", now.isoformat()], env=env)
    assert "overdue: opened 0, resolved 0" in again.output.splitlines()
    bad = cli_runner.invoke(cli, ["sweep", "--at", "yesterday"], env=env)
    assert bad.exit_code != 0 and "ISO 8601" in bad.output
