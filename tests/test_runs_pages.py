"""Run pages through the test client: the day's list, a run driven through its forms, the scan page's run, templates."""

from __future__ import annotations

import io
import re
from dataclasses import asdict
from datetime import date, datetime, time, timedelta

import pytest
from pypdf import PdfReader

from models import Run
from models.runs import AssignIn
from postal import labels, runs
from postal.clock import local, utcnow
from postal.errors import NotYourRun
from postal.workdays import DEFAULT_CALENDAR, Calendar
from routes import runs_pages
from tests.test_pages import csrf_of, login



@pytest.fixture
def settings_overrides():
    """The runs here leave 90 minutes from now, whatever the hour: the courier may start them at once."""
    return {"POSTAL_RUN_START_WINDOW_MIN": "120"}

def todays_run(client, make, name: str = "Tuyến thử", minutes: int = 90, stops=("TTHCC", "STP")):
    """A template leaving `minutes` from now and its run, generated whatever day today is."""
    make.network()
    departs = local(utcnow() + timedelta(minutes=minutes))
    body = {"name": name, "departs": departs.strftime("%H:%M"), "stops": list(stops), "kind": "shuttle",
            "post_office": "BD-TINH"}
    r = client.post("/api/v1/run-templates", json=body, headers=make.token("admin"))
    assert r.status_code == 201, r.get_data(as_text=True)
    day = departs.date()
    calendar = DEFAULT_CALENDAR if DEFAULT_CALENDAR.is_working_day(day) else Calendar(extra_working_days={day})
    assert runs.generate(make.session, day, 1, utcnow(), calendar=calendar) >= 1  # with an earlier test line's
    make.fresh()
    return next(r for r in runs.runs_of_day(make.session, day).runs if r.name == name)


def one_day(*minutes: int) -> list[int]:
    """Departures this many minutes from now, moved on together past midnight when they would straddle it, so
    that the runs fall on one day at any hour the suite runs."""
    now = local(utcnow())
    if len({(now + timedelta(minutes=m)).date() for m in minutes}) == 1:
        return list(minutes)
    to_midnight = (datetime.combine(now.date() + timedelta(days=1), time(0), now.tzinfo) - now).total_seconds() // 60
    return [int(to_midnight) + 5 + m - min(minutes) for m in minutes]


@pytest.fixture
def run_day(monkeypatch):
    """Pin the pages' "today" to a run's day (a run 90 minutes ahead may fall on tomorrow near midnight)."""
    def pin(day: date) -> None:
        monkeypatch.setattr(runs_pages, "today", lambda: day)
    return pin


def page(client, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code)
    return r.get_data(as_text=True)


def state_of(make, run_id: int) -> str:
    make.fresh()
    return make.session.get(Run, run_id).state


def test_the_days_list_puts_a_couriers_runs_first_and_shows_dates_dd_mm_yyyy(client, make):
    soon, later = one_day(60, 120)
    early = todays_run(client, make, "Tuyến sớm", minutes=soon)
    late = todays_run(client, make, "Tuyến muộn", minutes=later)
    make.parcel()  # accepted at the center: on the earliest run to Sở Tư pháp
    client.post(f"/api/v1/runs/{late.id}/assign", json={"courier": "nva"}, headers=make.token("gs.lan"))
    day = early.date

    login(client, "nva")
    html = page(client, f"/runs?date={day.isoformat()}")
    assert re.search(rf'<h1>Chuyến ngày <span class="nowrap">{day.strftime("%d/%m/%Y")}</span>', html)
    assert html.index("Tuyến muộn") < html.index("Tuyến sớm")  # his run first, though it leaves later
    assert "Chuyến của tôi" in html and "chưa phân công" in html
    assert html.count('class="run-card') == 2
    assert f'href="/runs/{early.id}"' in html
    # the same day written as people write it, and a date that is not one
    assert "Tuyến sớm" in page(client, f"/runs?date={day.strftime('%d/%m/%Y')}")
    r = client.get("/runs?date=2026-13-01")  # today's runs, and what was wrong with the day asked for
    assert r.status_code == 422 and "Trường date không hợp lệ: ngày phải có dạng dd/mm/yyyy, ví dụ 07/12/2026" in r.get_data(as_text=True)
    assert "Ngày nghỉ" in page(client, "/runs?date=2027-02-08")  # Tết: no runs

    client.post("/logout", data={"csrf_token": csrf_of(html)})
    login(client, "gs.lan")
    html = page(client, f"/runs?date={day.isoformat()}")
    assert html.index("Tuyến sớm") < html.index("Tuyến muộn")  # a supervisor: by departure
    client.post("/logout", data={"csrf_token": csrf_of(html)})
    login(client, "ntha")
    assert "Tuyến sớm" in page(client, f"/runs?date={day.isoformat()}")  # postal clerks see all
    html = page(client, f"/runs/{early.id}")
    assert 'id="start-run"' not in html and "Phân công bưu tá" not in html  # but drive none


def test_the_run_page_for_a_courier_and_for_a_supervisor(client, make):
    run = todays_run(client, make)
    codes = sorted([make.parcel(), make.parcel()])
    login(client, "nva")
    html = page(client, f"/runs/{run.id}")
    assert labels.spaced(codes[0]) in html and labels.spaced(codes[1]) in html  # codes spaced for reading
    assert "Sở Tư pháp" in html and "000.00.22.H47-" in html  # destination, dossier
    assert "Giao tại đây (2)" in html and "Nhận tại đây (2)" in html
    assert run.date.strftime("%d/%m/%Y") in html
    assert 'id="start-run"' in html and "Nhận chuyến này" in html  # unassigned: he may take it
    assert f'href="/scan?run={run.id}"' in html
    assert f'href="/api/v1/runs/{run.id}/manifest.pdf"' in html
    assert "Phân công bưu tá" not in html
    assert "<script>" not in html and "onclick" not in html  # no inline script under the content policy

    client.post("/logout", data={"csrf_token": csrf_of(html)})
    login(client, "gs.lan")
    html = page(client, f"/runs/{run.id}")
    assert "Phân công bưu tá" in html and '<option value="nva">' in html and '<option value="ttb">' in html
    assert 'id="start-run"' not in html  # nobody to drive it yet
    r = client.post(f"/runs/{run.id}/assign", data={"courier": "ttb", "vehicle": "14-B1 235.17", "csrf_token": csrf_of(html)})
    assert r.status_code == 302 and r.headers["Location"] == f"/runs/{run.id}"
    html = page(client, f"/runs/{run.id}")
    assert "bưu tá ttb" in html and "14-B1 235.17" in html and 'id="start-run"' in html
    assert re.search(r'<option selected value="ttb">|<option value="ttb" selected>', html)


def test_an_agency_clerk_is_refused_the_run_pages_and_assigning(client, make):
    run = todays_run(client, make)
    login(client, "stp.linh")
    token = csrf_of(page(client, "/scan"))
    r = client.post(f"/runs/{run.id}/assign", data={"courier": "nva", "csrf_token": token})
    assert r.status_code == 403
    assert client.get(f"/runs/{run.id}").status_code == 403 and client.get("/runs").status_code == 403
    assert state_of(make, run.id) == "planned"
    make.fresh()
    assert make.session.get(Run, run.id).courier_id is None


def test_a_courier_drives_a_run_through_the_page_forms(client, make):
    run = todays_run(client, make)
    kept, lost = make.parcel(), make.parcel()
    login(client, "nva")
    html = page(client, f"/runs/{run.id}")
    token = csrf_of(html)

    assert client.post(f"/runs/{run.id}/start", data={}).status_code == 400  # no CSRF token
    assert state_of(make, run.id) == "planned"
    r = client.post(f"/runs/{run.id}/start", data={"csrf_token": token})
    assert r.status_code == 302 and state_of(make, run.id) == "started"
    html = page(client, f"/runs/{run.id}")
    assert "Đã bắt đầu chuyến" in html and "Đang chạy" in html and "Điểm tiếp theo" in html
    assert 'id="start-run"' not in html

    # the scan page carries the run: pick both up at the center with it
    scans = [make.scan(c, "pickup", site="TTHCC", run=run.id) for c in (kept, lost)]
    r = client.post("/api/v1/scans", json={"scans": scans}, headers={"X-CSRFToken": token})
    assert [x["status"] for x in r.get_json()["results"]] == ["accepted", "accepted"]
    html = page(client, f"/runs/{run.id}")
    arrived = re.search(r'class="stop-arrived">[^<]*<strong>(\d\d:\d\d)</strong>', html)
    assert arrived, "the first scan at the stop is its arrival"
    assert "✓ đã nhận" in html

    r = client.post(f"/runs/{run.id}/stops/1/depart", data={"csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == f"/runs/{run.id}#stop-2"
    html = page(client, f"/runs/{run.id}")
    assert "Đã rời Trung tâm Phục vụ hành chính công tỉnh lúc" in html
    assert re.search(r'class="stop-departed">[^<]*<strong>\d\d:\d\d</strong>', html)

    r = client.post("/api/v1/scans", json={"scans": [make.scan(kept, "handover", site="STP", run=run.id)]},
                    headers={"X-CSRFToken": token})
    assert r.get_json()["results"][0]["status"] == "accepted"
    assert client.post(f"/runs/{run.id}/stops/2/depart", data={"csrf_token": token}).status_code == 302

    html = page(client, f"/runs/{run.id}/close")  # the confirmation step lists what is still on board
    assert "Còn 1 bì trên xe" in html and labels.spaced(lost) in html and labels.spaced(kept) not in html
    assert state_of(make, run.id) == "started"
    r = client.post(f"/runs/{run.id}/close", data={"csrf_token": token})
    assert r.status_code == 302 and state_of(make, run.id) == "closed"
    html = page(client, f"/runs/{run.id}")
    assert "Đã kết thúc chuyến." in html and "sẽ được cảnh báo: " + labels.spaced(lost) in html
    assert 'id="close-run"' not in html and 'id="scan-run"' not in html
    r = client.post(f"/runs/{run.id}/start", data={"csrf_token": token})  # a closed run: said on the page
    assert r.status_code == 302 and "không thể bắt đầu" in page(client, f"/runs/{run.id}")
    r = client.post(f"/runs/{run.id}/stops/9/depart", data={"csrf_token": token})
    assert r.status_code == 302 and "không thể rời điểm dừng" in page(client, f"/runs/{run.id}")
    assert client.post(f"/runs/{run.id + 99}/start", data={"csrf_token": token}).status_code == 404
    assert client.get(f"/runs/{run.id + 99}").status_code == 404


def test_another_courier_cannot_start_a_run_given_to_someone_else(client, make):
    run = todays_run(client, make)
    client.post(f"/api/v1/runs/{run.id}/assign", json={"courier": "nva"}, headers=make.token("gs.lan"))
    login(client, "ttb")
    html = page(client, f"/runs/{run.id}")
    assert 'id="start-run"' not in html
    r = client.post(f"/runs/{run.id}/start", data={"csrf_token": csrf_of(html)})
    assert r.status_code == 403 and "nva" in r.get_data(as_text=True)
    assert state_of(make, run.id) == "planned"


def test_each_role_is_offered_what_the_domain_lets_it_do_to_a_run(client, make):
    run = todays_run(client, make)
    people = {name: make.staff(name) for name in ("nva", "ttb", "ntha", "stp.linh", "gs.lan", "admin")}

    def offered() -> dict[str, set[str]]:
        make.fresh()
        sheet = runs.run_sheet(make.session, run.id)
        return {name: {k for k, v in asdict(runs.abilities(sheet, who)).items() if v} for name, who in people.items()}

    nobody = {"ntha": set(), "stp.linh": set()}  # clerks read runs, never drive one
    assert offered() == {"nva": {"take", "start", "scan"}, "ttb": {"take", "start", "scan"},
                         "gs.lan": {"assign", "close", "scan"}, "admin": {"assign", "close", "scan"}, **nobody}
    runs.assign(make.session, run.id, AssignIn(courier="nva"), actor=people["gs.lan"], now=utcnow())
    assert offered() == {"nva": {"start", "scan"}, "ttb": set(), "gs.lan": {"assign", "start", "close", "scan"},
                         "admin": {"assign", "start", "close", "scan"}, **nobody}
    with pytest.raises(NotYourRun):  # what is not offered is refused
        runs.start(make.session, run.id, actor=people["ttb"], now=utcnow(), window=timedelta(hours=2))
    make.fresh()
    runs.start(make.session, run.id, actor=people["nva"], now=utcnow(), window=timedelta(hours=2))
    assert offered() == {"nva": {"depart", "close", "scan"}, "ttb": set(), "gs.lan": {"depart", "close", "scan"},
                         "admin": {"depart", "close", "scan"}, **nobody}
    runs.close(make.session, run.id, actor=people["admin"], now=utcnow())
    assert offered() == dict.fromkeys(people, set())


def test_the_manifest_pdf_link_works_with_the_login(client, make):
    run = todays_run(client, make)
    code = make.parcel()
    assert client.get(f"/api/v1/runs/{run.id}/manifest.pdf").status_code == 401
    login(client, "nva")
    html = page(client, f"/runs/{run.id}")
    link = re.search(r'id="manifest-pdf" href="([^"]+)"', html).group(1)
    r = client.get(link)
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(r.data)).pages)
    assert code in text and runs.run_code(run.id) in text


def test_the_scan_page_offers_the_couriers_runs_and_preselects_the_asked_one(client, make, run_day):
    first, second = one_day(90, 100)
    run = todays_run(client, make, minutes=first)
    other = todays_run(client, make, "Tuyến khác", minutes=second)
    run_day(run.date)
    login(client, "nva")
    html = page(client, f"/scan?run={run.id}")
    assert 'id="run"' in html and re.search(rf'<option value="{run.id}" selected\b', html)  # unassigned: he may take it
    html = page(client, "/scan")
    assert 'id="run"' not in html  # no run of his, none asked for

    client.post(f"/api/v1/runs/{run.id}/start", headers=make.token("nva"))
    client.post(f"/api/v1/runs/{other.id}/assign", json={"courier": "nva"}, headers=make.token("gs.lan"))
    html = page(client, "/scan")
    assert re.search(rf'<option value="{run.id}" selected\b', html)  # the one he started, his current run
    assert re.search(rf'<option value="{other.id}"\s+data-name', html) and "Đang chạy" in html and "Chưa bắt đầu" in html
    html = page(client, f"/scan?run={other.id}")
    assert re.search(rf'<option value="{other.id}" selected\b', html)

    client.post("/logout", data={"csrf_token": csrf_of(html)})
    login(client, "ttb")
    html = page(client, f"/scan?run={run.id}")
    assert 'id="run"' not in html  # nva's run is not offered to another courier
    client.post("/logout", data={"csrf_token": csrf_of(html)})
    login(client, "ntha")
    assert 'id="run"' not in page(client, "/scan")


def test_an_admin_adds_a_run_template_from_the_page(client, make):
    make.network()
    login(client, "admin")
    html = page(client, "/admin/")
    assert 'href="/admin/run-templates"' in html
    html = page(client, "/admin/run-templates")
    assert "Chưa có mẫu chuyến nào." in html and html.count('class="stop-slot"') == runs_pages.STOP_SLOTS
    token = csrf_of(html)
    form = {"name": "Tuyến 1", "departs": "08:00", "post_office": "BD-TINH", "kind": "shuttle",
            "stops-0": "TTHCC", "stops-1": "SXD", "stops-2": "", "stops-3": "STP", "csrf_token": token}
    r = client.post("/admin/run-templates", data=form)
    assert r.status_code == 302
    html = page(client, "/admin/run-templates")
    assert "Đã tạo mẫu chuyến Tuyến 1 lúc 08:00." in html
    assert "Trung tâm Phục vụ hành chính công tỉnh → Sở Xây dựng → Sở Tư pháp" in html  # in the order given
    make.fresh()
    [template] = runs.list_templates(make.session).run_templates
    assert template.stops == ["TTHCC", "SXD", "STP"] and template.departs == "08:00"

    r = client.post("/admin/run-templates", data={**form, "departs": "10:30", "stops-0": "STP", "stops-1": "TTHCC", "stops-3": ""})
    assert r.status_code == 200 and "trung tâm phục vụ hành chính công" in r.get_data(as_text=True)
    r = client.post("/admin/run-templates", data={**form, "departs": "10:30", "stops-1": "", "stops-3": ""})
    assert "Chọn ít nhất hai điểm dừng" in r.get_data(as_text=True)
    r = client.post("/admin/run-templates", data={**form, "stops-3": ""})  # same line and time, other stops
    assert r.status_code == 200 and "đã có với nội dung khác" in r.get_data(as_text=True)
    assert len(runs.list_templates(make.session).run_templates) == 1
    assert client.post("/admin/run-templates", data={**form, "departs": "10:30"}).status_code == 302

    client.post("/logout", data={"csrf_token": token})
    login(client, "gs.lan")
    assert client.get("/admin/run-templates").status_code == 403


def test_the_run_pages_in_english(client, make):
    run = todays_run(client, make)
    login(client, "nva")
    html = client.get(f"/runs/{run.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Start the run" in html and "Scan for this run" in html and "Stops" in html
    html = client.get(f"/runs?date={run.date.isoformat()}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Not started" in html and run.date.strftime("%d/%m/%Y") in html
