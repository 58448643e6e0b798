"""Days are typed and picked as dd/mm/yyyy on every page, whatever the browser's own date input would show."""

from __future__ import annotations

import pytest

from tests.test_browser import PHONE, calendars_ready, log_in, shot

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("locale", ["vi-VN", "en-US"])
def test_a_supervisor_types_and_picks_the_reports_days_as_dd_mm_yyyy(live_server, make, context_for, locale):
    from playwright.sync_api import expect

    make.network()
    context = context_for(viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_extra_http_headers({"Accept-Language": locale})
    page = context.new_page()
    log_in(page, live_server, "gs.lan", next_path="/reports")
    first = page.locator(".period-form input[name=from]")
    expect(first).to_have_attribute("placeholder", "dd/mm/yyyy")
    assert first.get_attribute("type") == "text"  # not the browser's own date input, whose format is the phone's
    first.fill("05/10/2026")
    last = page.locator(".period-form input[name=to]")
    calendars_ready(page)
    last.click()
    calendar = page.locator(".flatpickr-calendar.open")
    expect(calendar).to_be_visible()
    calendar.locator(".flatpickr-day:not(.prevMonthDay):not(.nextMonthDay)").get_by_text("20", exact=True).click()
    value = last.input_value()
    assert value.startswith("20/") and len(value) == 10  # picked: dd/mm/yyyy in the field itself
    page.fill(".period-form input[name=to]", "07/10/2026")
    shot(page, f"reports-dates-{locale}")
    page.click(".period-form button[type=submit]")
    page.wait_for_load_state()
    expect(page.locator(".report-head h2")).to_contain_text("05/10/2026")
    expect(page.locator(".report-head h2")).to_contain_text("07/10/2026")
    expect(page.locator(".period-form input[name=from]")).to_have_value("05/10/2026")

    month = page.locator(".month-form input[name=month]")
    assert len(month.input_value()) == 7 and month.input_value()[2] == "/"  # mm/yyyy
    month.fill("09/2026")
    page.click(".month-form button[type=submit]")
    page.wait_for_load_state()
    expect(page.locator(".month-form input[name=month]")).to_have_value("09/2026")
    expect(page.locator("#month-figure")).to_contain_text("09/2026")

    page.fill(".period-form input[name=from]", "31/02/2026")  # no such day: the page says so and how to write one
    page.click(".period-form button[type=submit]")
    page.wait_for_load_state()
    expect(page.locator(".flash-error")).to_contain_text("dd/mm/yyyy")
