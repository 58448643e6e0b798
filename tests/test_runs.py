"""Shuttle runs: working days, idempotent generation, manifests at the cutoff, stop order, driving a run."""

from __future__ import annotations

import io
import random
from datetime import date, datetime, time, timedelta

import pytest
from click.testing import CliRunner
from pypdf import PdfReader
from sqlalchemy import func, select

from models import Dossier, ManifestEntry, Run, Site, User
from models.dossiers import DossierIn, ParcelIn
from models.runs import AssignIn, RunTemplateIn
from postal import custody, dossiers, runs
from postal.clock import LOCAL_TZ, as_utc, local, utcnow
from postal.errors import OutsideWorkingHours, TooEarlyToStart
from postal.reports.board import board
from postal.cli import cli
from postal.workdays import DEFAULT_CALENDAR, Calendar

WEDNESDAY = date(2026, 12, 2)
TET_2027 = date(2027, 2, 4)  # 29 Tết (Thu) … Mùng năm (Wed 10 Feb): the whole week off
SUBSTITUTE_2027 = date(2027, 5, 3)  # Mon: 1 May fell on a Saturday



@pytest.fixture
def settings_overrides():
    """The runs here leave 90 minutes from now, whatever the hour: the courier may start them at once."""
    return {"POSTAL_RUN_START_WINDOW_MIN": "120"}

def at(day: date, hh: int, mm: int) -> datetime:
    """A wall-clock time in Vietnam, as the server keeps it (UTC)."""
    return as_utc(datetime.combine(day, time(hh, mm), tzinfo=LOCAL_TZ))


def user(make, username: str) -> User:
    return make.staff(username)


def line(make, stops, departs="08:00", name="Tuyến 1", post_office="BD-TINH"):
    make.network()
    out, _ = runs.create_template(make.session, RunTemplateIn(name=name, departs=departs, stops=stops, post_office=post_office),
                                  actor=user(make, "admin"), now=utcnow())
    return out


def scan(make, username: str, code: str, action: str, now: datetime, **extra):
    """One scan through the domain at a chosen moment; its outcome."""
    return make.record(username, code, action, now, expect=None, **extra)


def run_of(make, day: date, departs: str, name="Tuyến 1"):
    hh, mm = map(int, departs.split(":"))
    return next(r for r in runs.runs_of_day(make.session, day).runs if r.name == name and local(r.departs_at).time() == time(hh, mm))


def parcel_for(make, agency: str) -> str:
    """A created (not yet accepted) parcel of a new dossier for this agency, at the center."""
    make.network()
    answer, _ = dossiers.register(make.session, DossierIn.model_validate(make.dossier_body(agency=agency, origin="TTHCC")),
                                  actor=user(make, "ntha"), settings=make.settings, now=utcnow())
    return answer.parcel.code


def result_parcel(make, code: str, agency: str, now: datetime) -> str:
    """The agency's result for the dossier of a parcel, accepted at the agency for the way back."""
    dossier = make.session.get(Dossier, make.parcel_row(code).dossier_id)
    clerk = {"STP": "stp.linh", "SXD": "sxd.hanh"}[agency]
    out = dossiers.add_parcel(make.session, dossier.code, ParcelIn(direction="to_center", origin=agency),
                              actor=user(make, clerk), settings=make.settings, now=now)
    assert scan(make, clerk, out.code, "accept", now, site=agency).status == "accepted"
    return out.code


def stop(run, site):
    return next(s for s in run.stops if s.site == site)


# -- working days and generation ---------------------------------------------------------------------


def test_a_tet_week_has_no_runs(make):
    line(make, ["TTHCC", "STP", "SXD"])
    assert all(DEFAULT_CALENDAR.holiday_name(TET_2027 + timedelta(days=i)) or (TET_2027 + timedelta(days=i)).weekday() >= 5
               for i in range(7))
    assert runs.generate(make.session, TET_2027, 7, utcnow()) == 0
    assert runs.runs_of_day(make.session, TET_2027 + timedelta(days=4)).runs == []
    assert runs.generate(make.session, TET_2027, 8, utcnow()) == 1  # Thu 11 Feb: back at work


def test_a_substitute_day_off_has_no_runs(make):
    line(make, ["TTHCC", "STP"], "08:00")
    line(make, ["TTHCC", "STP"], "14:00")
    assert "nghỉ bù" in DEFAULT_CALENDAR.holiday_name(SUBSTITUTE_2027)
    assert runs.generate(make.session, SUBSTITUTE_2027, 1, utcnow()) == 0
    assert runs.generate(make.session, SUBSTITUTE_2027, 2, utcnow()) == 2


def test_generation_is_idempotent_and_stamps_the_template(make):
    line(make, ["TTHCC", "STP", "SXD"], "08:00")
    line(make, ["TTHCC", "SXD"], "10:30", name="Tuyến 2")
    first = runs.generate(make.session, WEDNESDAY, 7, utcnow())
    assert first == 2 * 5  # Wed 2 Dec … Tue 8 Dec 2026: five working days
    assert runs.generate(make.session, WEDNESDAY, 7, utcnow()) == 0
    assert make.session.execute(select(func.count()).select_from(Run)).scalar_one() == first
    run = run_of(make, WEDNESDAY, "08:00")
    assert run.state == "planned" and run.courier is None
    assert run.cutoff_at == at(WEDNESDAY, 7, 45) and run.departs_at == at(WEDNESDAY, 8, 0)
    assert [s.site for s in run.stops] == ["TTHCC", "STP", "SXD", "TTHCC"]  # center → agencies → center
    assert [s.planned_at for s in run.stops] == sorted(s.planned_at for s in run.stops)
    assert run.ends_at > run.stops[-1].planned_at


def test_runs_generate_command_prints_how_many_it_created(make, database_url):
    line(make, ["TTHCC", "STP"])
    cli_runner = CliRunner()
    env = {"DATABASE_URL": database_url}
    result = cli_runner.invoke(cli, ["runs", "generate", "--date", WEDNESDAY.isoformat(), "--days", "3"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "created 3 runs"
    again = cli_runner.invoke(cli, ["runs", "generate", "--date", WEDNESDAY.isoformat(), "--days", "3"], env=env)
    assert again.output.strip() == "created 0 runs"


# -- manifests --------------------------------------------------------------------------------------


def test_a_parcel_accepted_one_minute_before_the_cutoff_rides_that_run_one_minute_after_the_next(make):
    line(make, ["TTHCC", "STP"], "10:30")
    line(make, ["TTHCC", "STP"], "14:00")
    runs.generate(make.session, WEDNESDAY, 1, at(WEDNESDAY, 6, 0))
    early, late = make.parcel(accepted=False), make.parcel(accepted=False)
    assert scan(make, "ntha", early, "accept", at(WEDNESDAY, 10, 14), site="TTHCC").status == "accepted"
    assert scan(make, "ntha", late, "accept", at(WEDNESDAY, 10, 16), site="TTHCC").status == "accepted"
    first, second = run_of(make, WEDNESDAY, "10:30"), run_of(make, WEDNESDAY, "14:00")
    assert stop(first, "STP").drop == [early] and stop(second, "STP").drop == [late]
    assert first.stops[0].pick == [early] and second.stops[0].pick == [late]


def test_manifests_follow_the_network_and_freeze_at_the_cutoff(make):
    line(make, ["TTHCC", "STP", "SXD"], "10:30")
    line(make, ["TTHCC", "PH-HONGGAI"], "10:30", name="Tuyến xã")
    runs.generate(make.session, WEDNESDAY, 1, at(WEDNESDAY, 6, 0))
    to_justice, to_building = make.parcel(accepted=False), parcel_for(make, "SXD")
    from_commune = make.parcel(at="PH-HONGGAI", accepted=False)
    make.user("lvm", "postal_clerk", "PH-HONGGAI")
    morning = at(WEDNESDAY, 9, 0)
    scan(make, "ntha", to_justice, "accept", morning, site="TTHCC")
    scan(make, "lvm", from_commune, "accept", morning, site="PH-HONGGAI")
    scan(make, "ntha", to_building, "accept", morning, site="TTHCC")
    result = result_parcel(make, to_building, "SXD", morning)  # the agency's result, back to the center
    runs.manifest_waiting(make.session, morning)

    shuttle, commune = run_of(make, WEDNESDAY, "10:30"), run_of(make, WEDNESDAY, "10:30", "Tuyến xã")
    assert shuttle.stops[0].pick == sorted([to_justice, to_building])
    assert stop(shuttle, "STP").drop == [to_justice] and stop(shuttle, "SXD").drop == [to_building]
    assert stop(shuttle, "SXD").pick == [result] and shuttle.stops[-1].drop == [result]  # back at the hub
    # a commune center's dossier for an agency goes to the hub first: no line links them
    assert stop(commune, "PH-HONGGAI").pick == [from_commune] and commune.stops[-1].drop == [from_commune]

    frozen_at = at(WEDNESDAY, 10, 15)
    assert runs.freeze_due(make.session, frozen_at) == 2
    later = make.parcel(accepted=False)
    scan(make, "ntha", later, "accept", frozen_at + timedelta(minutes=1), site="TTHCC")
    shuttle = run_of(make, WEDNESDAY, "10:30")
    assert later not in shuttle.stops[0].pick  # frozen: the next run (tomorrow) takes it
    commune = run_of(make, WEDNESDAY, "10:30", "Tuyến xã")
    assert [s.site for s in commune.stops] == ["PH-HONGGAI", "TTHCC"]  # nothing to pick at the hub: no first visit


def test_stops_with_nothing_to_drop_or_pick_are_dropped_at_the_cutoff(make):
    line(make, ["TTHCC", "STP", "SXD"], "10:30")
    runs.generate(make.session, WEDNESDAY, 1, at(WEDNESDAY, 6, 0))
    code = make.parcel(accepted=False)
    scan(make, "ntha", code, "accept", at(WEDNESDAY, 9, 0), site="TTHCC")
    runs.freeze_due(make.session, at(WEDNESDAY, 10, 15))
    run = run_of(make, WEDNESDAY, "10:30")
    assert [(s.seq, s.site, s.pick, s.drop) for s in run.stops] == [(1, "TTHCC", [code], []), (2, "STP", [], [code])]
    empty = runs.runs_of_day(make.session, WEDNESDAY).runs
    assert all(r.stops for r in empty)


def test_the_optimised_order_is_never_longer_than_the_template_order(make):
    rng = random.Random(5)
    make.network()
    codes = [f"AG{i}" for i in range(9)]
    make.site("TTHCC", "center", lat=20.95, lon=107.08)
    make.site("BD-TINH", "post_office", lat=20.955, lon=107.07)
    for code in codes:
        make.site(code, "agency", lat=20.95 + rng.uniform(-0.03, 0.03), lon=107.08 + rng.uniform(-0.05, 0.05))
    line(make, ["TTHCC", *codes], "10:30")
    runs.generate(make.session, WEDNESDAY, 1, at(WEDNESDAY, 6, 0))
    for agency in codes:
        scan(make, "ntha", parcel_for(make, agency), "accept", at(WEDNESDAY, 9, 0), site="TTHCC")
    planned = run_of(make, WEDNESDAY, "10:30")
    runs.freeze_due(make.session, at(WEDNESDAY, 10, 15))
    frozen = run_of(make, WEDNESDAY, "10:30")
    sites = {s.code: s for s in make.session.execute(select(Site)).scalars()}
    template_route = [sites[s.site] for s in planned.stops if s.site != "TTHCC"]
    as_given = runs.timing(sites["BD-TINH"], [sites["TTHCC"], *template_route], frozen.departs_at).distance_km
    assert frozen.distance_km <= as_given + 1e-9
    assert frozen.distance_km < planned.distance_km  # the template also went back to the hub for nothing
    assert [s.site for s in frozen.stops][0] == "TTHCC" and sorted(s.site for s in frozen.stops[1:]) == sorted(codes)
    assert [s.planned_at for s in frozen.stops] == sorted(s.planned_at for s in frozen.stops)


@pytest.mark.parametrize("seed", range(6))
def test_optimise_never_loses_to_the_given_order(seed):
    rng = random.Random(seed)

    def site(i):
        return Site(id=i, code=f"S{i}", kind="agency", name=f"S{i}", lat=20.9 + rng.random() / 10, lon=107 + rng.random() / 10)

    depot, hub = site(0), site(1)
    middle = [site(i) for i in range(2, 2 + rng.randint(2, 12))]
    order = runs.optimise(depot, hub, middle, hub)
    assert sorted(order) == list(range(len(middle)))
    given = runs.timing(depot, [hub, *middle, hub], datetime(2026, 1, 5, tzinfo=LOCAL_TZ)).distance_km
    chosen = runs.timing(depot, [hub, *(middle[i] for i in order), hub], datetime(2026, 1, 5, tzinfo=LOCAL_TZ)).distance_km
    assert chosen <= given + 1e-9


# -- scans naming a run -----------------------------------------------------------------------------


def test_a_pickup_with_a_run_at_a_site_it_does_not_stop_at_is_refused_by_name(make):
    line(make, ["TTHCC", "STP"], "10:30")
    runs.generate(make.session, WEDNESDAY, 1, at(WEDNESDAY, 6, 0))
    run = run_of(make, WEDNESDAY, "10:30")
    code = make.parcel(at="PH-HONGGAI", accepted=False)
    make.user("lvm", "postal_clerk", "PH-HONGGAI")
    scan(make, "lvm", code, "accept", at(WEDNESDAY, 9, 0), site="PH-HONGGAI")
    outcome = scan(make, "nva", code, "pickup", at(WEDNESDAY, 10, 40), site="PH-HONGGAI", run=run.id)
    assert outcome.status == "rejected" and outcome.error.code == "not_a_stop"
    message = str(outcome.error)
    assert f"Chuyến {run.id}" in message and "Trung tâm PVHCC phường Hồng Gai" in message and "không dừng" in message
    assert make.holder_of(code) == "PH-HONGGAI"
    unknown = scan(make, "nva", code, "pickup", at(WEDNESDAY, 10, 40), site="PH-HONGGAI", run=run.id + 1000)
    assert unknown.error.code == "unknown_run"
    huge = scan(make, "nva", code, "pickup", at(WEDNESDAY, 10, 40), site="PH-HONGGAI", run=10**12)
    assert huge.error.code == "unknown_run"


def nva_run_and_accepted_parcel(make):
    """Wednesday's 10:30 run from the center to Sở Tư pháp, assigned to nva, and a parcel accepted at the center."""
    line(make, ["TTHCC", "STP"], "10:30")
    runs.generate(make.session, WEDNESDAY, 1, at(WEDNESDAY, 6, 0))
    run = run_of(make, WEDNESDAY, "10:30")
    runs.assign(make.session, run.id, AssignIn(courier="nva"), actor=user(make, "gs.lan"), now=at(WEDNESDAY, 7, 0))
    code = make.parcel(accepted=False)
    scan(make, "ntha", code, "accept", at(WEDNESDAY, 9, 0), site="TTHCC")
    return run, code


def test_a_scan_with_another_couriers_run_or_a_closed_run_is_refused(make):
    run, code = nva_run_and_accepted_parcel(make)
    other = scan(make, "ttb", code, "pickup", at(WEDNESDAY, 10, 31), site="TTHCC", run=run.id)
    assert other.error.code == "not_your_run" and "nva" in str(other.error)
    runs.close(make.session, run.id, actor=user(make, "gs.lan"), now=at(WEDNESDAY, 10, 32))
    closed = scan(make, "nva", code, "pickup", at(WEDNESDAY, 10, 33), site="TTHCC", run=run.id)
    assert closed.error.code == "run_closed"


def test_departing_a_stop_leaves_the_unpicked_for_the_next_run(make):
    line(make, ["TTHCC", "STP"], "10:30")
    line(make, ["TTHCC", "STP"], "14:00")
    runs.generate(make.session, WEDNESDAY, 1, at(WEDNESDAY, 6, 0))
    taken, left = make.parcel(accepted=False), make.parcel(accepted=False)
    for code in (taken, left):
        scan(make, "ntha", code, "accept", at(WEDNESDAY, 9, 0), site="TTHCC")
    run = run_of(make, WEDNESDAY, "10:30")
    runs.start(make.session, run.id, actor=user(make, "nva"), now=at(WEDNESDAY, 10, 30))
    assert scan(make, "nva", taken, "pickup", at(WEDNESDAY, 10, 36), site="TTHCC", run=run.id).status == "accepted"
    run = run_of(make, WEDNESDAY, "10:30")
    assert run.stops[0].arrived_at == at(WEDNESDAY, 10, 36)  # the first scan at a stop is the arrival
    runs.depart(make.session, run.id, 1, actor=user(make, "nva"), now=at(WEDNESDAY, 10, 40))
    afternoon = run_of(make, WEDNESDAY, "14:00")
    assert left in afternoon.stops[0].pick
    assert runs.run_of_parcel(make.session, make.parcel_row(left).id) == afternoon.id
    assert runs.run_of_parcel(make.session, make.parcel_row(taken).id) == run.id  # on board
    entries = dict(make.session.execute(select(ManifestEntry.parcel_id, ManifestEntry.picked_at)
                                        .where(ManifestEntry.run_id == run.id)).all())
    assert entries[make.parcel_row(taken).id] == at(WEDNESDAY, 10, 36)
    assert entries[make.parcel_row(left).id] is None  # stays on the frozen manifest: the watch calls it a missed run


# -- driving a run through the API ------------------------------------------------------------------


def upcoming_run(client, make, stops=("TTHCC", "STP"), minutes=90, name="Tuyến thử"):
    """A template leaving `minutes` from now (to the minute below), and its run generated whatever day that is."""
    make.network()
    departs = local(utcnow() + timedelta(minutes=minutes))
    body = {"name": name, "departs": departs.strftime("%H:%M"), "stops": list(stops), "kind": "shuttle",
            "post_office": "BD-TINH"}
    r = client.post("/api/v1/run-templates", json=body, headers=make.token("admin"))
    assert r.status_code == 201, r.get_data(as_text=True)
    calendar = Calendar(extra_working_days={departs.date()}) if not DEFAULT_CALENDAR.is_working_day(departs.date()) else DEFAULT_CALENDAR
    assert runs.generate(make.session, departs.date(), 1, utcnow(), calendar=calendar) == 1
    r = client.get(f"/api/v1/runs?date={departs.date().isoformat()}", headers=make.token("nva"))
    [run] = [x for x in r.get_json()["runs"] if x["name"] == name]
    return run


@pytest.mark.parametrize("settings_overrides", [{"POSTAL_RUN_START_WINDOW_MIN": "45"}])
def test_the_start_window_is_the_one_configured(client, make):
    outside = upcoming_run(client, make, minutes=47, name="Tuyến ngoài")  # leaves 46-47 minutes from now
    inside = upcoming_run(client, make, minutes=44, name="Tuyến trong")  # leaves 43-44 minutes from now
    r = client.post(f"/api/v1/runs/{outside['id']}/start", headers=make.token("nva"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "too_early", r.get_data(as_text=True)
    earliest = local(datetime.fromisoformat(outside["departs_at"]) - timedelta(minutes=45))
    assert f"chỉ bắt đầu được từ {earliest:%H:%M}" in r.get_json()["error"]["message"]  # 45 minutes, not 30 or 120
    assert client.get(f"/api/v1/runs/{outside['id']}", headers=make.token("nva")).get_json()["state"] == "planned"
    r = client.post(f"/api/v1/runs/{inside['id']}/start", headers=make.token("nva"))
    assert r.status_code == 200 and r.get_json()["state"] == "started", r.get_data(as_text=True)


def post_scans(client, make, username, *scans):
    r = client.post("/api/v1/scans", json={"scans": list(scans)}, headers=make.token(username))
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()["results"]


def test_a_courier_drives_a_run_end_to_end_through_the_api(client, make):
    make.network(full_names=True)
    run = upcoming_run(client, make)
    assert set(run) == {"id", "date", "name", "kind", "state", "courier", "departs_at", "cutoff_at", "ends_at",
                        "distance_km", "late_start_min", "stops"}
    assert set(run["stops"][0]) == {"seq", "site", "planned_at", "arrived_at", "departed_at", "drop", "pick"}
    rid = run["id"]
    kept, lost = make.parcel(), make.parcel()  # accepted at the center: manifested on this run
    r = client.get(f"/api/v1/runs/{rid}", headers=make.token("nva")).get_json()
    assert r["stops"][0]["pick"] == sorted([kept, lost]) and r["stops"][1]["drop"] == sorted([kept, lost])

    r = client.post(f"/api/v1/runs/{rid}/assign", json={"courier": "nva", "vehicle": "14-B1 235.17"}, headers=make.token("nva"))
    assert r.status_code == 200 and r.get_json()["courier"] == "nva"
    r = client.post(f"/api/v1/runs/{rid}/start", headers=make.token("ttb"))
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "not_your_run"
    r = client.post(f"/api/v1/runs/{rid}/start", headers=make.token("nva"))
    assert r.status_code == 200 and r.get_json()["state"] == "started"
    stops = r.get_json()["stops"]
    assert [s["site"] for s in stops] == ["TTHCC", "STP", "TTHCC"]  # an early start freezes nothing: the cutoff does
    make.fresh()
    assert runs.freeze_due(make.session, datetime.fromisoformat(run["cutoff_at"])) == 1
    stops = client.get(f"/api/v1/runs/{rid}", headers=make.token("nva")).get_json()["stops"]
    assert [s["site"] for s in stops] == ["TTHCC", "STP"]  # frozen at the cutoff; the empty return visit is gone

    results = post_scans(client, make, "nva", *(make.scan(c, "pickup", site="TTHCC", run=rid) for c in (kept, lost)))
    assert [x["status"] for x in results] == ["accepted", "accepted"]
    r = client.post(f"/api/v1/runs/{rid}/stops/1/depart", headers=make.token("nva")).get_json()
    assert r["stops"][0]["arrived_at"] and r["stops"][0]["departed_at"]
    [res] = post_scans(client, make, "nva", make.scan(kept, "handover", site="STP", run=rid))
    assert res["status"] == "accepted"
    [res] = post_scans(client, make, "stp.linh", make.scan(kept, "receive"))
    assert res["status"] == "accepted"
    r = client.post(f"/api/v1/runs/{rid}/stops/2/depart", headers=make.token("nva"))
    assert r.status_code == 200 and r.get_json()["stops"][1]["arrived_at"]
    r = client.post(f"/api/v1/runs/{rid}/stops/9/depart", headers=make.token("nva"))
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "unknown_stop"

    r = client.post(f"/api/v1/runs/{rid}/close", headers=make.token("nva"))
    assert r.status_code == 200
    closed = r.get_json()
    assert closed["state"] == "closed" and closed["on_board"] == [lost]  # allowed; the watch flags it
    r = client.post(f"/api/v1/runs/{rid}/start", headers=make.token("nva"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "run_state"
    assert "đã kết thúc, không thể bắt đầu" in r.get_json()["error"]["message"]
    r = client.post(f"/api/v1/runs/{rid}/start", headers={**make.token("nva"), "Accept-Language": "en"})
    assert "is closed and cannot be started" in r.get_json()["error"]["message"]

    pdf = client.get(f"/api/v1/runs/{rid}/manifest.pdf", headers=make.token("gs.lan"))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert kept in text and lost in text and "BIÊN BẢN GIAO NHẬN" in text and runs.run_code(rid) in text
    assert "Số bì: 1/2" in text and "Vũ Thùy Linh" in text  # the handover record, filled from the scans
    assert "stp.linh" not in text  # by full name, never the login


def test_run_templates_api(client, make):
    make.network()
    body = {"name": "Tuyến 1", "departs": "08:00", "stops": ["TTHCC", "STP", "SXD"], "kind": "shuttle", "post_office": "BD-TINH"}
    r = client.post("/api/v1/run-templates", json=body, headers=make.token("admin"))
    assert r.status_code == 201
    assert r.get_json()["run_template"] | {"id": 0} == {"id": 0, "name": "Tuyến 1", "departs": "08:00", "kind": "shuttle",
                                                          "post_office": "BD-TINH", "stops": ["TTHCC", "STP", "SXD"],
                                                          "weekdays": [1, 2, 3, 4, 5], "active": True}
    assert client.post("/api/v1/run-templates", json=body, headers=make.token("admin")).status_code == 200
    r = client.post("/api/v1/run-templates", json={**body, "stops": ["TTHCC", "STP"]}, headers=make.token("admin"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "run_template_exists"
    r = client.post("/api/v1/run-templates", json={**body, "departs": "10:30", "stops": ["TTHCC", "NOWHERE"]}, headers=make.token("admin"))
    assert r.status_code == 422 and "NOWHERE" in r.get_json()["error"]["message"]
    r = client.post("/api/v1/run-templates", json={**body, "departs": "10:30", "post_office": "TTHCC"}, headers=make.token("admin"))
    assert r.status_code == 422
    assert client.post("/api/v1/run-templates", json=body, headers=make.token("gs.lan")).status_code == 403
    r = client.get("/api/v1/run-templates", headers=make.token("nva"))
    assert [t["departs"] for t in r.get_json()["run_templates"]] == ["08:00"]
    r = client.get("/api/v1/runs?date=2026-13-01", headers=make.token("nva"))
    assert r.status_code == 422
    for missing in (999, 10**12):
        r = client.get(f"/api/v1/runs/{missing}", headers=make.token("nva"))
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/api/v1/runs/{run_id}/stops/{seq}/depart" in paths and "post" in paths["/api/v1/run-templates"]


def test_a_10000_scan_batch_places_every_parcel_with_a_handful_of_statements(make, statements):
    line(make, ["TTHCC", "STP", "SXD"], "10:30")
    runs.generate(make.session, WEDNESDAY, 1, at(WEDNESDAY, 6, 0))
    now = at(WEDNESDAY, 9, 0)
    n = 10_000
    codes = make.bulk_parcels(n, agencies=("SXD", "STP"), at=now, prefix="BENCH")
    batch = [make.scan(c, "accept", site="TTHCC", at=now) for c in codes]
    statements.clear()
    outcomes = custody.record_scans(make.session, batch, actor=user(make, "ntha"), settings=make.settings, now=now)
    assert all(o.status == "accepted" for o in outcomes)
    assert 5 < len(statements) < 60  # per batch, not per scan
    run = run_of(make, WEDNESDAY, "10:30")
    assert len(run.stops[0].pick) == n


def test_a_run_starts_only_within_its_window_and_still_takes_parcels_until_its_cutoff(make):
    line(make, ["TTHCC", "STP"], departs="10:30")
    runs.generate(make.session, WEDNESDAY, 1, at(WEDNESDAY, 6, 0))
    run = run_of(make, WEDNESDAY, "10:30")
    nva = user(make, "nva")
    with pytest.raises(TooEarlyToStart) as refused:
        runs.start(make.session, run.id, actor=nva, now=at(WEDNESDAY, 3, 59))  # the 03:59 start of the report
    assert "10:30" in str(refused.value) and "10:00" in str(refused.value)
    make.fresh()
    assert runs.run_detail(make.session, run.id).state == "planned"  # nothing changed
    started = runs.start(make.session, run.id, actor=nva, now=at(WEDNESDAY, 10, 5))  # within 30 minutes: fine
    assert started.state == "started" and [s.site for s in started.stops] == ["TTHCC", "STP", "TTHCC"]  # not frozen
    code = make.parcel(accepted=False)
    make.record("ntha", code, "accept", at(WEDNESDAY, 10, 8), site="TTHCC")
    make.fresh()
    assert runs.run_detail(make.session, run.id).stops[0].pick == [code]  # before the cutoff it makes this run
    assert runs.freeze_due(make.session, at(WEDNESDAY, 10, 15)) == 1
    make.fresh()
    assert [s.site for s in runs.run_detail(make.session, run.id).stops] == ["TTHCC", "STP"]


def test_a_run_started_late_is_shown_late(make, client):
    line(make, ["TTHCC", "STP"], departs="10:30")
    runs.generate(make.session, WEDNESDAY, 1, at(WEDNESDAY, 6, 0))
    run = run_of(make, WEDNESDAY, "10:30")
    started = runs.start(make.session, run.id, actor=user(make, "nva"), now=at(WEDNESDAY, 11, 10))  # allowed
    assert started.state == "started" and started.late_start_min == 40
    [shown] = board(make.session, at(WEDNESDAY, 11, 12)).runs
    assert shown.late and shown.late_min >= 40  # the board does not say "on time"


def test_a_line_that_would_end_after_working_hours_is_refused_when_saved(make):
    make.network()
    for code in ("TTHCC", "STP", "BD-TINH"):  # the usual office hours
        make.site(code, {"TTHCC": "center", "STP": "agency", "BD-TINH": "post_office"}[code],
                  opens_at=time(7, 30), closes_at=time(17, 0))
    make.site("XA-XA", "commune_center", "Trung tâm PVHCC xã Đầm Hà", lat=21.35, lon=107.60,
              opens_at=time(7, 30), closes_at=time(17, 0))  # some 80 km away
    with pytest.raises(OutsideWorkingHours) as refused:
        line(make, ["TTHCC", "XA-XA"], departs="13:30", name="Tuyến xa")
    message = str(refused.value)
    assert "13:30" in message and "17:00" in message and ("về" in message or "đến" in message)
    assert not runs.list_templates(make.session).run_templates  # nothing saved
    with pytest.raises(OutsideWorkingHours):
        line(make, ["TTHCC", "STP"], departs="16:58", name="Tuyến muộn")  # back after the post office closes
    line(make, ["TTHCC", "XA-XA"], departs="07:30", name="Tuyến xa")  # the morning run is back in time


def test_a_run_closed_while_a_batch_is_judged_refuses_the_batch(make, app):
    """A scan batch judges its run outside the chain head and takes the head only to append; a supervisor
    closing the run meanwhile (closing takes the head too) is seen under the head: the batch is refused,
    nothing is written, and the device's retry is told the run is closed."""
    import threading

    from sqlalchemy import create_engine, text

    from postal import db as postal_db
    from postal.errors import RunClosed

    run, code = nva_run_and_accepted_parcel(make)
    item = make.scan(code, "pickup", at=at(WEDNESDAY, 10, 31), site="TTHCC", run=run.id)
    courier, url = make.staff("nva"), make.settings.database_url
    postgres = url.startswith("postgresql")
    outcome: dict = {}

    def pickup() -> None:
        with postal_db.session_for(make.settings) as session:
            try:
                outcome["scan"] = custody.record_scans(session, [item], actor=session.get(User, courier.id),
                                                       settings=make.settings, now=at(WEDNESDAY, 10, 31))[0]
            except RunClosed as err:
                outcome["refused"] = err

    engine = create_engine(url)
    try:
        with engine.connect() as supervisor:  # closing the run: the chain head first, then the run
            if postgres:
                supervisor.execute(text("SELECT seq FROM chain_head WHERE id = 1 FOR UPDATE"))
            else:
                supervisor.exec_driver_sql("BEGIN IMMEDIATE")
            supervisor.execute(text("UPDATE run SET state = 'closed' WHERE id = :r"), {"r": run.id})
            worker = threading.Thread(target=pickup)
            worker.start()
            if postgres:  # the batch has judged the run open and waits for the head
                for _ in range(100):
                    waiting = supervisor.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar()
                    if waiting:
                        break
                    worker.join(0.05)
                assert waiting, "the batch never waited for the chain head"
            supervisor.commit()
            worker.join(30)
    finally:
        engine.dispose()
    refused = outcome.get("refused") or outcome["scan"].error
    assert refused is not None and refused.code == "run_closed"
    assert make.holder_of(code) == "TTHCC"  # nothing moved
    again = scan(make, "nva", code, "pickup", at(WEDNESDAY, 10, 32), site="TTHCC", run=run.id)
    assert again.error.code == "run_closed"
