"""The admin keeps the procedure catalogue in a real browser, on a phone: added, edited, stopped, and logged."""

from __future__ import annotations

import pytest

from tests.test_browser import PHONE, log_in, shot

pytestmark = pytest.mark.browser


def test_the_admin_adds_edits_and_stops_a_procedure_on_a_phone(live_server, make, context_for):
    from playwright.sync_api import expect

    make.network()
    page = context_for(viewport=PHONE).new_page()
    log_in(page, live_server, "admin", next_path="/admin/")
    page.click("nav.tabs >> text=Thủ tục")
    page.fill("#name", "Cấp giấy phép xây dựng")
    page.select_option("#agency", "SXD")
    page.fill("#processing_days", "15")
    page.click("#add-procedure")
    expect(page.locator(".flash-ok")).to_contain_text("Đã thêm thủ tục “Cấp giấy phép xây dựng”")
    row = page.locator("#procedures tbody tr").first
    expect(row).to_contain_text("15 ngày làm việc")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing wider than the phone
    shot(page, "admin-procedures-phone")
    row.locator("a").click()
    page.fill("#processing_days", "20")
    page.select_option("#site", "TTHCC")
    page.click("#save-procedure")
    expect(page.locator(".flash-ok")).to_contain_text("Đã lưu thủ tục")
    page.click("#deactivate-procedure")
    expect(page.locator("#procedure-state")).to_contain_text("Đã ngừng dùng")
    page.click("text=Nhật ký thay đổi của thủ tục này")
    changes = page.locator("#changes")
    expect(changes).to_contain_text("processing_days: 15 → 20")
    expect(changes).to_contain_text("site: — → TTHCC")
    expect(changes.locator("tbody tr")).to_have_count(3)
