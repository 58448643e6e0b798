"""The citizen's booking in a real browser, on a phone: tracks the dossier, books a home delivery (a Saturday is
refused naming "Ngày hẹn" and offering the next working days), sees a second booking offered as a change,
changes the slot and the address, and cancels with the code texted to the registered phone (a real SMS
gateway on 127.0.0.1)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import DeliveryRequest, Dossier
from postal import notifications
from postal.clock import local, utcnow
from postal.workdays import DEFAULT_CALENDAR
from tests.conftest import TEST_SETTINGS
from tests.test_browser import PHONE, shot
from tests.test_delivery_requests import HA_LONG, HONG_GAI, registered
from tests.test_notifications import gateway  # noqa: F401 - the SMS gateway on 127.0.0.1

pytestmark = pytest.mark.browser


@pytest.fixture
def settings_overrides(gateway):  # noqa: F811
    return {**TEST_SETTINGS, "POSTAL_SMS_URL": gateway.url("/sms")}


def texts_to(gateway, phone: str) -> list[str]:  # noqa: F811
    return [json.loads(a.body)["text"] for a in gateway.on("/sms") if json.loads(a.body)["to"] == phone]


def saturday_ahead():
    today = local(utcnow()).date()
    return today + timedelta(days=(5 - today.weekday()) % 7 or 7)


def test_the_citizen_tracks_books_changes_and_cancels_a_home_delivery(live_server, client, make, context_for,
                                                                      gateway):  # noqa: F811
    from playwright.sync_api import expect

    code = registered(client, make)
    parcel = client.get(f"/api/v1/dossiers/{code}", headers=make.token("ntha")).get_json()["parcels"][0]["code"]
    make.scan_as("ntha", parcel, "accept", site="TTHCC")  # handed in at the counter
    page = context_for(PHONE).new_page()

    # Track the dossier, then ask for home delivery from there.
    page.goto(f"{live_server}/track")
    page.fill("input[name=code]", code)
    page.fill("input[name=phone_last4]", "5678")
    page.get_by_role("button", name="Tra cứu").click()
    expect(page.locator(".status-big")).to_be_visible()
    shot(page, "booking-1-tracked-phone")
    page.get_by_role("link", name="Yêu cầu giao kết quả tận nhà").click()
    expect(page.locator("input[name=code]")).to_have_value(code)

    # A Saturday: refused naming the field as the page does, the next working days offered.
    saturday = saturday_ahead()
    page.fill("input[name=phone_last4]", "5678")
    page.select_option("#ward_code", HA_LONG)
    page.fill("input[name=street]", "Số 15 đường Nguyễn Văn Cừ")
    page.fill("input[name=slot_date]", saturday.strftime("%d/%m/%Y"))
    page.get_by_role("button", name="Gửi yêu cầu").click()
    monday = DEFAULT_CALENDAR.add_working_days(saturday, 0)
    expect(page.locator("#form-error")).to_contain_text(f"Ngày hẹn: {saturday:%d/%m/%Y} là thứ Bảy")
    expect(page.locator("#form-error")).to_contain_text(monday.strftime("%d/%m/%Y"))
    expect(page.locator("#slot_date")).to_have_attribute("aria-invalid", "true")
    shot(page, "booking-2-saturday-refused-phone")
    page.get_by_role("button", name=f"Chọn {monday:%d/%m/%Y}").click()
    expect(page.locator("#slot_date")).to_have_value(monday.strftime("%d/%m/%Y"))
    page.fill("input[name=phone_last4]", "5678")
    page.get_by_role("button", name="Gửi yêu cầu").click()
    expect(page.get_by_role("status")).to_contain_text("Bưu điện đã nhận yêu cầu số")
    expect(page.locator("dl.facts")).to_contain_text("26.000 đ (trả khi bưu tá đến)")
    shot(page, "booking-3-booked-phone")
    request_id = int(re.search(r"yêu cầu số (\d+)", page.get_by_role("status").inner_text()).group(1))

    # A second booking for the same dossier: offered as a change of the first, never a second fee.
    page.goto(f"{live_server}/delivery?code={code}")
    page.fill("input[name=phone_last4]", "5678")
    page.select_option("#ward_code", HA_LONG)
    page.fill("input[name=street]", "Số 15 đường Nguyễn Văn Cừ")
    page.fill("input[name=slot_date]", monday.strftime("%d/%m/%Y"))
    page.select_option("select[name=slot_period]", "afternoon")
    page.get_by_role("button", name="Gửi yêu cầu").click()
    expect(page.locator("#form-error")).to_contain_text(f"đã có yêu cầu số {request_id}")
    expect(page.get_by_role("button", name=f"Đổi yêu cầu số {request_id}")).to_be_visible()
    shot(page, "booking-4-second-offered-as-change-phone")

    # Change the slot and the address, from the tracking page.
    page.goto(f"{live_server}/track?code={code}")
    page.fill("input[name=phone_last4]", "5678")
    page.get_by_role("button", name="Tra cứu").click()
    booking = page.locator(f"#booking-{request_id}")
    expect(booking).to_contain_text(f"buổi sáng {monday:%d/%m/%Y}")
    booking.get_by_role("link", name="Đổi lịch hẹn, địa chỉ").click()
    later = DEFAULT_CALENDAR.add_working_days(monday, 1)
    page.fill("input[name=phone_last4]", "5678")
    page.select_option("#ward_code", HONG_GAI)
    page.fill("input[name=street]", "Số 42 phố Trần Quốc Nghiễn")
    page.fill("input[name=slot_date]", later.strftime("%d/%m/%Y"))
    page.select_option("select[name=slot_period]", "afternoon")
    page.get_by_role("button", name=f"Đổi yêu cầu số {request_id}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Đã đổi yêu cầu số {request_id}")
    expect(page.locator("dl.facts")).to_contain_text(f"{later:%d/%m/%Y}, buổi chiều")
    expect(page.locator("dl.facts")).to_contain_text("Phường Hồng Gai")
    shot(page, "booking-5-changed-phone")
    make.fresh()
    assert len(make.session.execute(select(DeliveryRequest)).scalars().all()) == 1

    # Cancel: code + phone, then the code texted to the registered phone.
    page.get_by_role("link", name="Huỷ yêu cầu").click()
    page.fill("input[name=phone_last4]", "5678")
    page.get_by_role("button", name="Gửi mã xác nhận qua tin nhắn").click()
    expect(page.locator("#code-sent")).to_contain_text("09******78")
    notifications.send_due(make.session, make.settings, now=utcnow())
    [sms] = [t for t in texts_to(gateway, "0912345678") if "mã xác nhận huỷ" in t]
    otp = re.search(r": (\d{6})\.", sms).group(1)
    page.fill("input[name=otp]", f"{(int(otp) + 1) % 10**6:06d}")
    page.get_by_role("button", name="Xác nhận huỷ").click()
    expect(page.locator("#form-error")).to_contain_text("Mã xác nhận: không đúng")
    shot(page, "booking-6-wrong-code-phone")
    page.fill("input[name=otp]", otp)
    page.get_by_role("button", name="Xác nhận huỷ").click()
    expect(page.locator("#cancelled")).to_contain_text(f"Đã huỷ yêu cầu số {request_id}")
    expect(page.locator("#fee-status")).to_contain_text("không phải trả")
    shot(page, "booking-7-cancelled-phone")
    make.fresh()
    assert make.session.get(DeliveryRequest, request_id).state == "cancelled"
    dossier = make.session.execute(select(Dossier).where(Dossier.code == code)).scalars().one()
    assert dossier.return_method == "counter"

    page.get_by_role("link", name="Tra cứu hồ sơ").click()
    page.fill("input[name=phone_last4]", "5678")
    page.get_by_role("button", name="Tra cứu").click()
    expect(page.locator(".status-big")).to_be_visible()
    expect(page.locator(".booking")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # usable on a 390 px phone
