"""The agency desk in a real browser, on a phone: the clerk finds the dossier handed over, confirms receipt,
and sends the result back with one button; the result's label is on the next page, to print."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.test_browser import PHONE, log_in, shot
from tests.test_desk import dossier_at_agency

pytestmark = pytest.mark.browser


def test_an_agency_clerk_receives_and_sends_the_result_back_from_the_desk(live_server, client, make, context_for):
    from playwright.sync_api import expect

    make.network(full_names=True)
    code, parcel = dossier_at_agency(client, make, due_in=timedelta(days=1), stage="handed")
    page = context_for(PHONE).new_page()
    log_in(page, live_server, "stp.linh", next_path="/desk")
    expect(page.locator("[data-count=awaiting_receipt]")).to_have_text("1")
    row = page.locator(f"tr[data-dossier='{code}']")
    expect(row).to_contain_text("Chờ xác nhận")
    shot(page, "desk-awaiting-phone")

    row.get_by_role("button", name="Xác nhận nhận").click()
    expect(page.locator(".flash-ok")).to_contain_text(f"Đã xác nhận nhận bì {parcel}")
    expect(page.locator("[data-count=awaiting_receipt]")).to_have_text("0")
    expect(page.locator("[data-count=due_soon]")).to_have_text("1")  # due tomorrow: within 2 working days
    assert make.holder_of(parcel) == "STP"

    page.locator(f"tr[data-dossier='{code}']").get_by_role("button", name="Trả kết quả").click()
    expect(page.locator(".flash-ok")).to_contain_text("Đã tạo bì kết quả")
    expect(page.locator("img.label-img")).to_be_visible()
    shot(page, "desk-result-label-phone")
    page.get_by_role("link", name="Bàn làm việc").click()
    expect(page.locator("[data-count=result_sent]")).to_have_text("1")
