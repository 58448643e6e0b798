"""The courier at the door in a real browser, on a 390 px phone: opens the doors of a delivery run, starts one,
reads the OTP from the SMS the local gateway on 127.0.0.1 received, delivers with cash, opens the receipt, and
the day's reconciliation shows it collected with no difference. The doors page has no serious or critical axe
finding and no sideways scroll."""

from __future__ import annotations

import io
import json
import re

import pytest
from pypdf import PdfReader

from postal import notifications
from postal.clock import utcnow
from tests.conftest import TEST_SETTINGS
from tests.test_browser import PHONE, log_in, shot
from tests.test_browser_a11y import overflow_of, violations_of
from tests.test_doors import door_run
from tests.test_notifications import gateway  # noqa: F401 - the SMS gateway on 127.0.0.1

pytestmark = pytest.mark.browser


@pytest.fixture
def settings_overrides(gateway):  # noqa: F811
    return {**TEST_SETTINGS, "POSTAL_SMS_URL": gateway.url("/sms")}


def otp_texted(gateway) -> str:  # noqa: F811
    texts = [json.loads(a.body)["text"] for a in gateway.on("/sms")]
    codes = [m.group(1) for t in texts if (m := re.search(r"\(OTP\): (\d{6})\.", t))]
    assert codes, texts
    return codes[-1]


def test_a_courier_delivers_at_the_door_on_a_phone(live_server, client, make, context_for, gateway):  # noqa: F811
    from playwright.sync_api import expect

    run_id, parcel = door_run(client, make)
    page = context_for(viewport=PHONE, bypass_csp=True).new_page()  # CSP bypassed to inject axe only
    log_in(page, live_server, "nva", next_path=f"/runs/{run_id}/doors")
    door = page.locator(f"#door-{parcel}")
    expect(door.locator("a[href^='tel:']")).to_have_text("0912345678")
    expect(door).to_contain_text("70.000 đ")
    assert violations_of(page) + overflow_of(page) == []
    shot(page, "doors-1-waiting-phone")

    door.get_by_role("button", name="Bắt đầu giao").click()
    expect(page.locator(".flash-ok")).to_contain_text("09******78")
    notifications.send_due(make.session, make.settings, now=utcnow())
    otp = otp_texted(gateway)

    form = page.locator(f"#door-{parcel} form.deliver-form")
    expect(form.locator("input[name=amount]")).to_have_value("70000")
    form.locator("input[name=otp]").fill(otp)
    form.locator("input[name=recipient]").fill("Nguyễn Văn An")
    form.locator("select[name=method]").select_option("cash")
    form.locator("button[type=submit]").click()
    expect(page.locator(".flash-ok")).to_contain_text("Nguyễn Văn An")
    expect(page.locator(f"#door-{parcel} .door-state")).to_have_text("Đã giao")
    assert overflow_of(page) == []
    shot(page, "doors-2-delivered-phone")

    href = page.locator(f"#door-{parcel}").get_by_role("link", name="Biên nhận (PDF)").get_attribute("href")
    receipt = page.request.get(f"{live_server}{href}")
    assert receipt.ok and receipt.headers["content-type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(receipt.body())).pages)
    assert "Nguyễn Văn An" in text and "70.000 đ" in text and "Tiền mặt" in text

    page.get_by_role("link", name="Đối soát thu tiền").click()
    expect(page.locator("table.collections")).to_contain_text("70.000 đ")
    expect(page.locator("table.collections")).to_contain_text("Khớp")
    expect(page.locator("table.collections")).not_to_contain_text("Lệch")
    assert violations_of(page) + overflow_of(page) == []
    shot(page, "doors-3-collections-phone")
