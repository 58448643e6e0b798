"""The run pages in a real browser: a courier drives a run from his phone, scanning from the scan page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import CustodyEvent
from postal import labels
from routes import runs_pages
from routes.formats import vn_time
from tests.test_browser import PHONE, SHOTS, calendars_ready, log_in, shot, wedge
from tests.test_runs_pages import todays_run

pytestmark = pytest.mark.browser



@pytest.fixture
def settings_overrides():
    """The runs here leave 90 minutes from now, whatever the hour: the courier may start them at once."""
    return {"POSTAL_RUN_START_WINDOW_MIN": "120"}

def test_a_courier_drives_his_run_from_a_phone(live_server, make, context_for, monkeypatch):
    from playwright.sync_api import expect

    run = todays_run(make.app.test_client(), make)
    monkeypatch.setattr(runs_pages, "today", lambda: run.date)  # a run 90 minutes ahead may be tomorrow near midnight
    code, _ = make.parcel(), make.parcel()  # one picked, one left at the center
    page = context_for(PHONE, is_mobile=True, has_touch=True).new_page()
    log_in(page, live_server, "nva", next_path="/runs")
    card = page.locator(".run-card", has_text="Tuyến thử")
    expect(card).to_contain_text("chưa phân công")
    expect(page.locator("h1")).to_contain_text(run.date.strftime("%d/%m/%Y"))
    expect(page.locator("input[name=date]")).to_have_value(run.date.strftime("%d/%m/%Y"))  # whatever the phone's format
    shot(page, "runs-list-phone")
    following = run.date + timedelta(days=1)
    calendars_ready(page)
    page.click("input[name=date]")  # opens the calendar
    calendar = page.locator(".flatpickr-calendar.open")
    expect(calendar).to_be_visible()
    shot(page, "runs-list-calendar-phone")
    if following.month != run.date.month:
        calendar.locator(".flatpickr-next-month").click()
    calendar.locator(".flatpickr-day:not(.prevMonthDay):not(.nextMonthDay)").get_by_text(str(following.day), exact=True).click()
    page.wait_for_url(f"{live_server}/runs?date={following.strftime('%d/%m/%Y').replace('/', '%2F')}")
    expect(page.locator("h1")).to_contain_text(following.strftime("%d/%m/%Y"))
    page.go_back()

    card.locator("a.run-link").click()
    page.wait_for_url(f"{live_server}/runs/{run.id}")
    expect(page.locator("#stop-1")).to_contain_text("Nhận tại đây (2)")
    shot(page, "run-planned-phone")
    page.click("#start-run")
    expect(page.locator(".flash-ok")).to_contain_text("Đã bắt đầu chuyến")
    expect(page.locator(".run-head")).to_contain_text("Đang chạy")
    expect(page.locator("#stop-1 .stop-arrived strong")).to_have_text("—")

    page.click("#scan-run")
    page.wait_for_url(f"{live_server}/scan?run={run.id}")
    expect(page.locator("#run")).to_have_value(str(run.id))  # preselected from the run page's link
    page.wait_for_function("document.activeElement.id === 'label-input'")
    wedge(page, make.payload(code))
    expect(page.locator("#banner")).to_have_attribute("data-status", "accepted")
    expect(page.locator("#banner")).to_contain_text("bưu tá nva đang giữ")
    shot(page, "scan-for-run-phone")
    make.fresh()
    event = make.session.execute(select(CustodyEvent).where(CustodyEvent.parcel_id == make.parcel_row(code).id,
                                                            CustodyEvent.action == "pickup")).scalars().one()
    assert event.run_id == run.id  # the scan carried the run

    page.click("nav.nav a[href='/runs']")
    page.locator(".run-card", has_text="Tuyến thử").locator("a.run-link").click()
    arrived = page.locator("#stop-1 .stop-arrived strong")
    expect(arrived).to_have_text(vn_time(event.device_at))  # the first scan at the stop is the arrival
    expect(page.locator("#stop-1")).to_contain_text("✓ đã nhận")
    page.locator("#stop-1 .stop-depart button").click()
    expect(page.locator(".flash-ok")).to_contain_text("Đã rời Trung tâm Phục vụ hành chính công tỉnh")
    expect(page.locator("#stop-1 .stop-departed strong")).not_to_have_text("—")
    expect(page.locator("#stop-1")).to_have_class("stop stop-done")
    expect(page.locator("#stop-2")).to_contain_text("Điểm tiếp theo")
    assert page.url.endswith("#stop-2")  # the phone opens at the next stop
    expect(page.locator("#stop-2 .tag-aboard")).to_have_count(1)  # the parcel picked up, to hand over here
    expect(page.locator("#stop-1 .tag-left")).to_have_count(1)  # the other parcel stayed at the center
    shot(page, "run-departed-phone")

    page.click("#close-run")  # a confirmation step first: what is still on board gets flagged
    expect(page.locator(".card-warn")).to_contain_text("Còn 1 bì trên xe")
    expect(page.locator(".card-warn")).to_contain_text(labels.spaced(code))
    shot(page, "run-close-confirm-phone")
    page.click("#confirm-close")
    expect(page.locator(".flash-ok")).to_contain_text("Đã kết thúc chuyến.")
    expect(page.locator(".flash-error")).to_contain_text(labels.spaced(code))
    expect(page.locator(".run-head")).to_contain_text("Đã kết thúc")
    shot(page, "run-closed-phone")
    page.goto(f"{live_server}/runs/{run.id}")

    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    page.emulate_media(media="print")
    expect(page.locator("header.topbar")).to_be_hidden()
    expect(page.locator(".run-actions")).to_be_hidden()
    shot(page, "run-print")
    page.pdf(path=str(SHOTS / "run-print.pdf"), format="A4")


def test_an_admin_adds_a_run_template_with_stops_in_order(live_server, make, context_for):
    from playwright.sync_api import expect

    make.network()
    page = context_for().new_page()
    log_in(page, live_server, "admin", next_path="/admin/run-templates")
    slots = page.locator(".stop-slot:visible")
    expect(slots).to_have_count(3)  # one more picker appears as each is chosen
    page.fill("#name", "Tuyến 2")
    page.fill("#departs", "10:30")
    page.select_option("#stops-0", "TTHCC")
    page.select_option("#stops-1", "SXD")
    page.select_option("#stops-2", "STP")
    expect(slots).to_have_count(4)
    page.click("form.template-form button[type=submit]")
    expect(page.locator(".flash-ok")).to_contain_text("Tuyến 2")
    expect(page.locator("table.list")).to_contain_text("Sở Xây dựng → Sở Tư pháp")
    shot(page, "admin-run-templates-desktop")
