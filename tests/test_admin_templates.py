"""An admin edits and stops a run template: from the first day not yet generated; the runs already made are
listed, kept as they were, and made anew on request only where nothing has happened on them yet."""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy import select

from models import AdminChange, Run, RunStop, Site
from models.runs import AssignIn
from postal import runs
from postal.clock import local, utcnow

LINE = {"name": "Tuyến 1", "departs": "08:00", "stops": ["TTHCC", "STP"], "kind": "shuttle", "post_office": "BD-TINH"}


def line_with_runs(client, make) -> tuple[int, list[Run]]:
    """A line and its runs of the next ten days; the first one carries a parcel its courier picked up."""
    make.network()
    r = client.post("/api/v1/run-templates", json=LINE, headers=make.token("admin"))
    assert r.status_code == 201
    template_id = r.get_json()["run_template"]["id"]
    tomorrow = local(utcnow()).date() + timedelta(days=1)
    assert runs.generate(make.session, tomorrow, 10, utcnow()) >= 6
    made = day_runs(make, template_id)
    runs.assign(make.session, made[0].id, AssignIn(courier="nva"), actor=make.staff("gs.lan"), now=utcnow())
    code = make.parcel()  # at the center, for Sở Tư pháp: on the first run's manifest
    make.record("nva", code, "pickup", utcnow(), site="TTHCC", run=made[0].id)
    return template_id, made


def day_runs(make, template_id: int) -> list[Run]:
    make.fresh()
    return list(make.session.execute(select(Run).where(Run.template_id == template_id).order_by(Run.day)).scalars())


def stops_of(make, run_id: int) -> list[str]:
    return list(make.session.execute(select(Site.code).join(RunStop, RunStop.site_id == Site.id)
                                     .where(RunStop.run_id == run_id).order_by(RunStop.seq)).scalars())


def test_an_edit_applies_from_the_first_day_not_generated_and_regenerates_only_what_has_no_scans(client, make):
    template_id, made = line_with_runs(client, make)
    edited = {**LINE, "departs": "09:00", "stops": ["TTHCC", "SXD"], "weekdays": [1, 3, 5]}
    r = client.put(f"/api/v1/run-templates/{template_id}", json=edited, headers=make.token("admin"))
    assert r.status_code == 200, r.get_json()
    change = r.get_json()
    assert change["run_template"]["departs"] == "09:00" and change["run_template"]["weekdays"] == [1, 3, 5]
    assert change["effective_from"] == (made[-1].day + timedelta(days=1)).isoformat()
    affected = change["affected"]
    assert [a["date"] for a in affected] == [run.day.isoformat() for run in made]
    assert affected[0] | {"departs_at": None} == {"id": made[0].id, "date": made[0].day.isoformat(), "departs_at": None,
                                                  "state": "planned", "scans": 1, "regenerable": False,
                                                  "kept_because": "scanned"}
    assert all(a["regenerable"] for a in affected[1:])
    # nothing already made has changed by the edit itself
    assert [(local(r.departs_at).time(), stops_of(make, r.id)) for r in day_runs(make, template_id)] == \
        [(time(8, 0), ["TTHCC", "STP", "TTHCC"])] * len(made)

    r = client.post(f"/api/v1/run-templates/{template_id}/regenerate", headers=make.token("admin"))
    assert r.status_code == 200, r.get_json()
    result = r.get_json()
    assert [k["id"] for k in result["kept"]] == [made[0].id] and result["kept"][0]["kept_because"] == "scanned"
    on_days = {run.id for run in made[1:] if run.day.isoweekday() in (1, 3, 5)}
    assert {m["id"] for m in result["regenerated"]} == on_days
    assert {m["id"] for m in result["removed"]} == {run.id for run in made[1:]} - on_days
    now_made = day_runs(make, template_id)
    assert [r.id for r in now_made] == [made[0].id, *sorted(on_days)]
    assert (local(now_made[0].departs_at).time(), stops_of(make, made[0].id)) == (time(8, 0), ["TTHCC", "STP", "TTHCC"])
    for run in now_made[1:]:
        assert (local(run.departs_at).time(), stops_of(make, run.id)) == (time(9, 0), ["TTHCC", "SXD", "TTHCC"])

    log = make.session.execute(select(AdminChange).where(AdminChange.object_type == "run_template")
                               .order_by(AdminChange.id)).scalars().all()
    assert [(c.action, c.actor) for c in log] == [("created", "admin"), ("edited", "admin"), ("regenerated", "admin")]
    assert log[1].before == {"departs": "08:00", "stops": ["TTHCC", "STP"], "weekdays": [1, 2, 3, 4, 5]}
    assert log[1].after == {"departs": "09:00", "stops": ["TTHCC", "SXD"], "weekdays": [1, 3, 5]}


def test_a_deactivated_template_makes_no_new_runs_and_its_unscanned_runs_can_go(client, make):
    template_id, made = line_with_runs(client, make)
    r = client.post(f"/api/v1/run-templates/{template_id}/deactivate", headers=make.token("admin"))
    assert r.status_code == 200 and r.get_json()["run_template"]["active"] is False
    assert len(day_runs(make, template_id)) == len(made)  # the runs already made stay until asked
    assert runs.generate(make.session, made[-1].day + timedelta(days=1), 7, utcnow()) == 0
    result = client.post(f"/api/v1/run-templates/{template_id}/regenerate", headers=make.token("admin")).get_json()
    assert result["regenerated"] == [] and len(result["removed"]) == len(made) - 1
    assert [r.id for r in day_runs(make, template_id)] == [made[0].id]
    r = client.get(f"/api/v1/run-templates/{template_id}", headers=make.token("nva"))
    assert r.status_code == 200 and [a["kept_because"] for a in r.get_json()["affected"]] == ["scanned"]


def test_template_edits_are_refused_clearly_and_write_nothing(client, make):
    make.network()
    template_id = client.post("/api/v1/run-templates", json=LINE, headers=make.token("admin")).get_json()["run_template"]["id"]
    client.post("/api/v1/run-templates", json={**LINE, "departs": "10:30"}, headers=make.token("admin"))
    url = f"/api/v1/run-templates/{template_id}"
    assert client.put(url, json={**LINE, "departs": "09:00"}, headers=make.token("gs.lan")).status_code == 403
    assert client.put("/api/v1/run-templates/9999", json=LINE, headers=make.token("admin")).status_code == 404
    r = client.put(url, json={**LINE, "departs": "10:30"}, headers=make.token("admin"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "run_template_exists"
    r = client.put(url, json={**LINE, "kind": "delivery"}, headers=make.token("admin"))
    assert r.status_code == 422 and "kind" in r.get_json()["error"]["message"]
    r = client.put(url, json={**LINE, "weekdays": [0]}, headers=make.token("admin"))
    assert r.status_code == 400
    r = client.put(url, json={**LINE, "stops": ["TTHCC", "NOWHERE"]}, headers=make.token("admin"))
    assert r.status_code == 422 and "NOWHERE" in r.get_json()["error"]["message"]
    assert client.get(url, headers=make.token("admin")).get_json()["run_template"]["stops"] == ["TTHCC", "STP"]
    assert client.post(f"{url}/deactivate", headers=make.token("ntha")).status_code == 403


def test_a_line_of_every_weekday_runs_on_a_saturday_worked_in_place_of_one_and_a_line_of_some_days_does_not(client, make):
    from datetime import date

    from postal.workdays import Calendar

    make.network()
    every = client.post("/api/v1/run-templates", json=LINE, headers=make.token("admin")).get_json()["run_template"]["id"]
    some = client.post("/api/v1/run-templates", json={**LINE, "departs": "14:00", "weekdays": [1, 3]},
                       headers=make.token("admin")).get_json()["run_template"]["id"]
    saturday, monday, tuesday = date(2027, 3, 6), date(2027, 3, 8), date(2027, 3, 9)
    calendar = Calendar(extra_working_days={saturday})
    runs.generate(make.session, saturday, 4, utcnow(), calendar=calendar)
    made = {(r.template_id, r.day) for r in day_runs(make, every) + day_runs(make, some)}
    assert made == {(every, saturday), (every, monday), (every, tuesday), (some, monday)}
