"""The supervisor's board in a real browser: Debian's Chromium through Playwright against the live app."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

import pytest

from models import Alert, AlertKind, User
from models.dossiers import DossierIn, ParcelIn
from models.runs import RunTemplateIn
from postal import alerts, demo_data, dossiers, runs, sites
from postal.clock import LOCAL_TZ, as_utc, local, utcnow
from postal.workdays import DEFAULT_CALENDAR, Calendar
from tests.test_browser import DESKTOP, PHONE, log_in, shot

pytestmark = pytest.mark.browser


def user(make, username: str) -> User:
    return make.staff(username)


def scan(make, username: str, code: str, action: str, when: datetime, **extra) -> None:
    make.record(username, code, action, when, heard_at=min(when + timedelta(minutes=1), utcnow()), **extra)


def province(make) -> None:
    """The test network's staff on the demo province's sites (real names and coordinates)."""
    make.network()
    for site in demo_data.SITES:
        sites.save_site(make.session, **{k: site[k] for k in ("code", "kind", "name", "address", "lat", "lon")})


def past_fortnight(make) -> None:
    """Ten days of dossiers to the agencies and back, some returned late: what the charts draw."""
    rng = random.Random(6)
    today = local(utcnow()).date()
    agencies = ["STP", "SXD", "STC", "SYT", "CA"]
    for back in range(10, 0, -1):
        day = today - timedelta(days=back)
        for _ in range(rng.randint(1, 3)):
            agency = rng.choice(agencies)
            received = as_utc(datetime.combine(day, time(8, rng.randint(0, 50)), tzinfo=LOCAL_TZ))
            due = received + timedelta(days=rng.choice([1, 2, 3, 3, 5]))
            body = make.dossier_body(agency=agency, origin="TTHCC", received_at=received.isoformat(), due_at=due.isoformat())
            answer, _ = dossiers.register(make.session, DossierIn.model_validate(body), actor=user(make, "ntha"),
                                          settings=make.settings, now=received)
            code = answer.parcel.code
            scan(make, "ntha", code, "accept", received + timedelta(minutes=3), site="TTHCC")
            scan(make, "nva", code, "pickup", received + timedelta(minutes=60), site="TTHCC")
            scan(make, "nva", code, "handover", received + timedelta(minutes=80), site=agency)
            scan(make, "gs.lan", code, "receive", received + timedelta(minutes=95), site=agency)
            back_at = received + timedelta(days=rng.choice([1, 2, 3, 4]), hours=1)
            if back_at > utcnow() - timedelta(hours=2):
                continue
            dossier_code = body["code"]
            result = dossiers.add_parcel(make.session, dossier_code, ParcelIn(direction="to_center", origin=agency),
                                         actor=user(make, "gs.lan"), settings=make.settings, now=back_at)
            scan(make, "gs.lan", result.code, "accept", back_at, site=agency)
            scan(make, "ttb", result.code, "pickup", back_at + timedelta(minutes=30), site=agency)
            scan(make, "ttb", result.code, "handover", back_at + timedelta(minutes=50), site="TTHCC")
            scan(make, "ntha", result.code, "receive", back_at + timedelta(minutes=55), site="TTHCC")
            scan(make, "ntha", result.code, "deliver", back_at + timedelta(minutes=70), site="TTHCC",
                 evidence={"recipient_name": "Nguyễn Văn An"})


def today_on_the_road(make) -> dict:
    """Two runs today (one under way, late; one for tonight), both couriers seen with a GPS fix, three alerts."""
    today = local(utcnow()).date()
    calendar = DEFAULT_CALENDAR if DEFAULT_CALENDAR.is_working_day(today) else Calendar(extra_working_days={today})
    for departs in ("00:05", "23:55"):
        runs.create_template(make.session, RunTemplateIn(name="Tuyến Hạ Long", departs=departs,
                                                         stops=["TTHCC", "STP", "SXD"], post_office="BD-TINH"),
                             actor=user(make, "admin"), now=utcnow())
    assert runs.generate(make.session, today, 1, utcnow(), calendar=calendar) == 2
    early, late = sorted(runs.runs_of_day(make.session, today).runs, key=lambda r: r.departs_at)
    codes = [make.parcel() for _ in range(4)]
    now = utcnow() - timedelta(minutes=5)
    for code in codes[:3]:
        scan(make, "nva", code, "pickup", now, site="TTHCC", run=early.id, lat=20.9533, lon=107.0889)
    runs.start(make.session, early.id, actor=user(make, "nva"), now=utcnow())
    scan(make, "ttb", codes[3], "pickup", now, site="TTHCC", run=late.id, lat=20.9561, lon=107.0811)
    opened = {}
    for kind, code in ((AlertKind.SUSPECTED_LOSS, codes[0]), (AlertKind.AWAITING_RECEIPT, codes[1]),
                       (AlertKind.LATE_IN_TRANSIT, codes[2])):
        parcel = make.parcel_row(code)
        opened[kind] = alerts.open_alert(make.session, kind, subject_type="parcel", subject_id=parcel.id,
                                         subject_code=code, at=utcnow() - timedelta(minutes=20), note="").id
        make.session.commit()  # before the next parcel_row(), which starts a new transaction
    return {"codes": codes, "alerts": opened}


def alert_row(make, alert_id: int) -> Alert:
    make.fresh()
    return make.session.get(Alert, alert_id)


def test_a_supervisor_watches_the_board_and_acknowledges_an_alert_in_place(live_server, make, context_for):  # noqa: F811
    from playwright.sync_api import expect

    province(make)
    past_fortnight(make)
    state = today_on_the_road(make)
    loss = state["alerts"][AlertKind.SUSPECTED_LOSS]

    page = context_for(DESKTOP).new_page()
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    log_in(page, live_server, "gs.lan", next_path="/board")
    page.evaluate("window.notReloaded = true")

    # the map: every site with coordinates a marker, both couriers a labelled pin, a scale, no tile server
    expect(page.locator("#board-map .site-marker")).to_have_count(len(demo_data.SITES))
    expect(page.locator("#board-map .courier-pin")).to_have_count(2)
    expect(page.locator("#board-map .leaflet-control-scale")).to_be_visible()
    assert page.locator("#board-map img.leaflet-tile").count() == 0
    expect(page.locator("#courier-list")).to_contain_text("nva")
    # the charts: Chart.js drew both canvases
    page.wait_for_function("window.Chart && Chart.getChart('chart-ontime') && Chart.getChart('chart-transfers')")
    assert page.evaluate("Chart.getChart('chart-ontime').data.labels.length") >= 3
    assert page.evaluate("Chart.getChart('chart-transfers').data.datasets[0].data.reduce((a, b) => a + b, 0)") > 0
    # today's runs: the one under way since 00:05 is late
    expect(page.locator("#run-rows .run-row")).to_have_count(2)
    expect(page.locator("#run-rows .run-row.is-late").first).to_contain_text("Trễ")
    expect(page.locator("#severity-tiles [data-severity=critical] strong")).to_have_text("1")
    page.wait_for_timeout(300)  # let the charts settle before the picture
    shot(page, "board-desktop")

    # acknowledge in place: the item says who owns it, and the page was not reloaded
    item = page.locator(f'#alert-list [data-id="{loss}"]')
    item.get_by_role("button", name="Nhận xử lý").click()
    expect(page.locator("#alert-status")).to_have_text("Đã nhận xử lý cảnh báo.")
    item = page.locator(f'#alert-list [data-id="{loss}"]')
    expect(item.locator(".alert-state")).to_have_text("Người xử lý: gs.lan")
    expect(item.get_by_role("button", name="Nhận xử lý")).to_have_count(0)
    row = alert_row(make, loss)
    assert row.state == "acknowledged" and row.owner_id == user(make, "gs.lan").id
    assert page.evaluate("window.notReloaded === true")

    # resolving needs a note; with one, the alert leaves the board
    item.get_by_role("button", name="Đóng cảnh báo").click()
    expect(item.locator(".alert-msg")).to_have_text("Hãy ghi chú cách đã xử lý trước khi đóng cảnh báo.")
    item.locator("input[name=note]").fill("Bì nằm dưới ghế xe, đã bàn giao lại")
    item.get_by_role("button", name="Đóng cảnh báo").click()
    expect(page.locator(f'#alert-list [data-id="{loss}"]')).to_have_count(0)
    expect(page.locator("#alerts-total")).to_have_text("2")
    assert alert_row(make, loss).state == "resolved"

    # a new alert shows up on the next refresh, with no reload (the page refreshes when it is shown again)
    code = state["codes"][3]
    parcel = make.parcel_row(code)
    fresh = alerts.open_alert(make.session, AlertKind.MISSED_RUN, subject_type="parcel", subject_id=parcel.id,
                              subject_code=code, at=utcnow(), note="")
    make.session.commit()
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(page.locator(f'#alert-list [data-id="{fresh.id}"]')).to_contain_text("Lỡ chuyến")
    assert page.evaluate("window.notReloaded === true")
    shot(page, "board-after-ack-desktop")
    assert not errors, errors


def test_the_board_on_a_phone(live_server, make, context_for):  # noqa: F811
    from playwright.sync_api import expect

    province(make)
    today_on_the_road(make)
    page = context_for(PHONE, is_mobile=True, has_touch=True).new_page()
    log_in(page, live_server, "gs.lan", next_path="/board")
    expect(page.locator("#board-map .courier-pin")).to_have_count(2)
    page.wait_for_function("window.Chart && Chart.getChart('chart-transfers')")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways scrolling
    page.wait_for_timeout(300)
    shot(page, "board-phone")


def test_the_reports_page_in_a_browser(live_server, make, context_for):  # noqa: F811
    from playwright.sync_api import expect

    province(make)
    past_fortnight(make)
    page = context_for(DESKTOP).new_page()
    log_in(page, live_server, "gs.lan", next_path="/reports")
    page.get_by_role("link", name="30 ngày qua").click()
    expect(page.locator("#report-table tbody tr")).not_to_have_count(0)
    expect(page.locator("#month-figure")).to_contain_text("lượt chuyển hồ sơ")
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải Excel (XLSX)").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    shot(page, "reports-desktop")
