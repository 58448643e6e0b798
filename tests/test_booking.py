"""A citizen's booking after it is taken: one active per dossier and kind (never charged twice), changed in place,
cancelled by the citizen (code + phone, then a code by SMS) or by the counter until a courier has it out; the
return goes back to the counter and the fee shows as not due, or to refund; every refusal names the field as
the page does and says how to fix it."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from models import DeliveryRequest, DeliveryStop, Dossier, OutboxMessage, Run
from models.delivery import CancelCode
from postal import delivery, ledger, vault
from postal.clock import LOCAL_TZ, as_utc, local, utcnow
from postal.errors import PostalError
from postal.workdays import DEFAULT_CALENDAR
from tests.test_delivery import result_for_home
from tests.test_delivery_requests import HA_LONG, HOAN_KIEM, body, next_working_day, registered

CANCEL = "/api/v1/delivery-requests/{}/cancel"


@pytest.fixture
def settings_overrides():
    return {}  # no geocoder: requests are routed by their ward


def book(client, make, **kw) -> tuple[str, dict]:
    code = registered(client, make)
    r = client.post("/api/v1/delivery-requests", json=body(code, **kw))
    assert r.status_code == 201, r.get_data(as_text=True)
    return code, r.get_json()


def row_of(make, request_id: int) -> DeliveryRequest:
    make.fresh()
    return make.session.get(DeliveryRequest, request_id)


def dossier_of(make, code: str) -> Dossier:
    make.fresh()
    return make.session.execute(select(Dossier).where(Dossier.code == code)).scalars().one()


def cancel_code_sent(make, request_id: int) -> str:
    """The last cancel code sent to the applicant, opened as the sender opens it (the row shows it masked)."""
    make.fresh()
    body_, sealed = make.session.execute(
        select(OutboxMessage.body, OutboxMessage.secret).where(
            OutboxMessage.dedupe_key.like(f"delivery-request:{request_id}:sms:cancel-code:%"))
        .order_by(OutboxMessage.id.desc()).limit(1)).one()
    text, code = vault.reveal(make.settings, body_, sealed)
    assert vault.MASK in body_ and code not in body_  # the stored text never holds the code
    assert re.search(rf"yêu cầu giao nhận số {request_id} của hồ sơ .*: (\d{{6}})\.", text).group(1) == code
    return code


def sms_to(make, phone: str) -> list[str]:
    make.fresh()
    return list(make.session.execute(select(OutboxMessage.body).where(OutboxMessage.recipient == phone)
                                     .order_by(OutboxMessage.id)).scalars())


def saturday_ahead() -> date:
    today = local(utcnow()).date()
    day = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    return day if day <= today + timedelta(days=delivery.SLOT_DAYS_AHEAD) else day - timedelta(days=7)


# -- the field as the citizen sees it ---------------------------------------------------------------------


def test_a_saturday_is_refused_naming_ngay_hen_and_offering_the_next_working_days(client, make):
    code = registered(client, make)
    saturday = saturday_ahead()
    r = client.post("/api/v1/delivery-requests", json=body(code, day=saturday))
    assert r.status_code == 422
    offered = [DEFAULT_CALENDAR.add_working_days(saturday, n) for n in range(3)]
    message = r.get_json()["error"]["message"]
    assert message == (f"Ngày hẹn: {saturday:%d/%m/%Y} là thứ Bảy, bưu điện không giao nhận: hãy chọn một ngày làm "
                       f"việc, gần nhất là {', '.join(d.strftime('%d/%m/%Y') for d in offered)}")
    english = client.post("/api/v1/delivery-requests", json=body(code, day=saturday), headers={"Accept-Language": "en"})
    assert english.get_json()["error"]["message"].startswith(f"Appointment day: {saturday:%d/%m/%Y} is a Saturday")


def test_the_page_offers_the_next_working_days_as_buttons(client, make):
    code = registered(client, make)
    page = client.get(f"/delivery?code={code}").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    saturday = saturday_ahead()
    form = {"csrf_token": token, "code": code, "phone_last4": "5678", "kind": "deliver_result", "province": "22",
            "ward_code": HA_LONG, "street": "Số 15 đường Nguyễn Văn Cừ", "slot_date": saturday.isoformat(),
            "slot_period": "morning"}
    r = client.post("/delivery", data=form)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "Ngày hẹn:" in html and "slot.date" not in html
    monday = DEFAULT_CALENDAR.add_working_days(saturday, 0)
    assert f'data-day="{monday.isoformat()}"' in html and f"Chọn {monday:%d/%m/%Y}" in html
    assert 'name="slot_date" id="slot_date"' in html and 'aria-invalid="true"' in html


@pytest.mark.parametrize(("change", "label", "fix"), [
    ({"phone_last4": "12"}, "4 số cuối điện thoại đã đăng ký", "hãy nhập đúng 4 chữ số"),
    ({"kind": "xe_om"}, "Ông/Bà cần", "hãy chọn"),
    ({"slot": {"date": "mai", "period": "morning"}}, "Ngày hẹn", "hãy chọn một ngày trên lịch"),
    ({"slot": {"period": "morning"}}, "Ngày hẹn", "chưa điền: hãy điền ô này"),
    ({"address": {"street": "", "ward_code": HA_LONG}}, "Số nhà, đường phố, thôn, tổ", "chưa điền"),
    ({"address": {"street": "Số 1", "ward_code": "99999"}}, "Xã, phường, đặc khu", "hãy chọn tỉnh rồi chọn xã"),
    ({"phone": "12345"}, "Số điện thoại liên hệ", "hãy ghi 10 chữ số"),
])
def test_every_refusal_names_the_field_as_the_page_does_and_how_to_fix_it(client, make, change, label, fix):
    code = registered(client, make)
    r = client.post("/api/v1/delivery-requests", json={**body(code), **change})
    message = r.get_json()["error"]["message"]
    assert r.status_code == 422 and message.startswith(label + ": ") and fix in message, message
    assert make.session.execute(select(func.count()).select_from(DeliveryRequest)).scalar_one() == 0


def test_a_morning_slot_past_noon_today_offers_the_afternoon(client, make):
    code = registered(client, make)
    day = next_working_day()
    noon = as_utc(datetime.combine(day, time(12, 30), tzinfo=LOCAL_TZ))
    with pytest.raises(delivery.InvalidField) as refused:
        delivery.request_delivery(make.session, delivery_in(body(code, day=day)), settings=make.settings, now=noon)
    assert refused.value.params["field"] == "slot.period" and "hãy chọn buổi chiều" in str(refused.value.params["detail"])


def delivery_in(data: dict):
    from models.delivery import DeliveryRequestIn

    return DeliveryRequestIn.model_validate(data)


# -- one active request per dossier and kind ---------------------------------------------------------------


def test_a_second_booking_is_409_naming_the_first_and_charges_nothing_twice(client, make):
    code, first = book(client, make)
    again = client.post("/api/v1/delivery-requests", json=body(code, period="afternoon", street="Số 8 phố Bến Đoan"))
    assert again.status_code == 409
    error = again.get_json()["error"]
    assert error["code"] == "booking_exists" and f"yêu cầu số {first['id']}" in error["message"]
    assert "đổi lịch hẹn hoặc địa chỉ" in error["message"]
    assert make.session.execute(select(func.count()).select_from(DeliveryRequest)).scalar_one() == 1
    pickup_is_another_kind = client.post("/api/v1/delivery-requests", json=body(code, kind="pickup_dossier"))
    assert pickup_is_another_kind.status_code != 409 or pickup_is_another_kind.get_json()["error"]["code"] != "booking_exists"


def test_the_page_offers_to_change_the_first_and_changing_keeps_one_request(client, make):
    code, first = book(client, make)
    page = client.get(f"/delivery?code={code}").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    day = DEFAULT_CALENDAR.add_working_days(next_working_day(), 1)
    form = {"csrf_token": token, "code": code, "phone_last4": "5678", "kind": "deliver_result", "province": "01",
            "ward_code": HOAN_KIEM, "street": "Số 1 phố Tràng Tiền", "slot_date": day.isoformat(),
            "slot_period": "afternoon"}
    offer = client.post("/delivery", data=form)
    html = offer.get_data(as_text=True)
    assert offer.status_code == 409 and f"/delivery/{first['id']}/change" in html
    assert f"Đổi yêu cầu số {first['id']}" in html and 'value="Số 1 phố Tràng Tiền"' in html  # what was typed stays
    changed = client.post(f"/delivery/{first['id']}/change", data=form)
    text = changed.get_data(as_text=True)
    assert changed.status_code == 200 and f"Đã đổi yêu cầu số {first['id']}" in text
    assert "31.000 đ" in text and "Phường Hoàn Kiếm" in text and "buổi chiều" in text  # another province's fee
    row = row_of(make, first["id"])
    assert (row.slot_date, row.slot_period, row.ward_code, row.fee_vnd) == (day, "afternoon", HOAN_KIEM, 31_000)
    assert make.session.execute(select(func.count()).select_from(DeliveryRequest)).scalar_one() == 1


def test_changing_takes_the_request_off_its_planned_run(client, make):
    day = next_working_day()
    code, first = book(client, make, day=day)
    delivery.generate_day(make.session, day, utcnow())
    assert row_of(make, first["id"]).state == "scheduled"
    later = DEFAULT_CALENDAR.add_working_days(day, 1)
    answer, changed = delivery.change_booking(make.session, first["id"], delivery_in(body(code, day=later)),
                                              settings=make.settings, now=utcnow())
    assert changed and answer.state == "requested"
    row = row_of(make, first["id"])
    assert row.run_id is None and row.slot_date == later
    assert make.session.execute(select(func.count()).select_from(DeliveryStop)).scalar_one() == 0
    same, changed = delivery.change_booking(make.session, first["id"], delivery_in(body(code, day=later)),
                                            settings=make.settings, now=utcnow())
    assert not changed and same.id == first["id"]


def test_a_request_of_another_dossier_cannot_be_changed(client, make):
    _, first = book(client, make)
    other = registered(client, make)
    with pytest.raises(PostalError) as refused:
        delivery.change_booking(make.session, first["id"], delivery_in(body(other)), settings=make.settings,
                                now=utcnow())
    assert refused.value.status == 404


# -- the citizen cancels -----------------------------------------------------------------------------------


def test_the_citizen_cancels_with_a_code_sent_by_sms(client, make):
    code, first = book(client, make)
    assert dossier_of(make, code).return_method == "home"
    url = CANCEL.format(first["id"])
    wrong_phone = client.post(url, json={"dossier": code, "phone_last4": "0000"})
    assert wrong_phone.status_code == 404 and make.session.execute(select(func.count()).select_from(CancelCode)).scalar_one() == 0
    sent = client.post(url, json={"dossier": code, "phone_last4": "5678"})
    assert sent.status_code == 202, sent.get_data(as_text=True)
    assert sent.get_json()["sent_to"] == "09******78" and sent.get_json()["state"] == "requested"
    otp = cancel_code_sent(make, first["id"])
    assert make.session.get(CancelCode, first["id"]).code_hash not in ("", otp)  # only its HMAC is kept
    wrong = f"{(int(otp) + 1) % 10**6:06d}"
    refused = client.post(url, json={"dossier": code, "phone_last4": "5678", "otp": wrong})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["message"].startswith("Mã xác nhận: không đúng") and "còn 4 lần" in \
        refused.get_json()["error"]["message"]
    assert row_of(make, first["id"]).state == "requested" and make.session.get(CancelCode, first["id"]).wrong_tries == 1
    done = client.post(url, json={"dossier": code, "phone_last4": "5678", "otp": otp})
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["state"] == "cancelled" and done.get_json()["fee_status"] == "not_due"
    row = row_of(make, first["id"])
    assert row.cancelled_at is not None and row.cancelled_by_id is None
    assert dossier_of(make, code).return_method == "counter"  # the result is returned at the counter again
    assert "đã được huỷ" in sms_to(make, "0912345678")[-1] and "không phải trả phí" in sms_to(make, "0912345678")[-1]
    again = client.post(url, json={"dossier": code, "phone_last4": "5678", "otp": otp})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "booking_closed"
    tracked = client.post("/api/v1/track", json={"code": code, "phone_last4": "5678"}).get_json()
    assert tracked["bookings"] == []
    rebooked = client.post("/api/v1/delivery-requests", json=body(code))  # the slot is free again
    assert rebooked.status_code == 201 and rebooked.get_json()["id"] != first["id"]


def test_wrong_codes_are_limited_and_so_are_codes_sent(client, make):
    code, first = book(client, make)
    url = CANCEL.format(first["id"])
    ask = {"dossier": code, "phone_last4": "5678"}
    assert client.post(url, json=ask).status_code == 202
    otp = cancel_code_sent(make, first["id"])
    wrong = f"{(int(otp) + 3) % 10**6:06d}"
    answers = [client.post(url, json={**ask, "otp": wrong}).get_json()["error"]["message"] for _ in range(5)]
    assert all(a.startswith("Mã xác nhận:") for a in answers) and "Gửi lại mã" in answers[-1]
    late = client.post(url, json={**ask, "otp": otp})  # even the right code, once spent
    assert late.status_code == 422 and "Gửi lại mã" in late.get_json()["error"]["message"]
    assert row_of(make, first["id"]).state == "requested"
    statuses = [client.post(url, json=ask).status_code for _ in range(3)]  # codes per hour: 3 (settings)
    assert statuses == [202, 202, 429]


def test_a_code_expires(client, make):
    code, first = book(client, make)
    now = utcnow()
    delivery.send_cancel_code(make.session, first["id"], code, "5678", settings=make.settings, now=now)
    otp = cancel_code_sent(make, first["id"])
    with pytest.raises(delivery.InvalidField):
        delivery.cancel_by_citizen(make.session, first["id"], code, "5678", otp, settings=make.settings,
                                   now=now + timedelta(minutes=11))
    assert row_of(make, first["id"]).state == "requested"


def test_no_cancelling_once_a_courier_has_it_out(client, make):
    dossier, parcel = result_for_home(client, make)
    r = client.post("/api/v1/delivery-requests", json=body(dossier))
    assert r.status_code == 201, r.get_data(as_text=True)
    request_id = r.get_json()["id"]
    make.scan_as("nva", parcel, "out_for_delivery")
    url = CANCEL.format(request_id)
    refused = client.post(url, json={"dossier": dossier, "phone_last4": "5678"})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "out_for_delivery"
    assert "bưu tá đã mang đi" in refused.get_json()["error"]["message"]
    by_clerk = client.post(url, json={}, headers=make.token("ntha"))
    assert by_clerk.status_code == 409 and row_of(make, request_id).state == "requested"
    assert dossier_of(make, dossier).return_method == "home"


def test_no_cancelling_once_its_delivery_run_has_started(client, make):
    day = next_working_day()
    code, first = book(client, make, day=day)
    delivery.generate_day(make.session, day, utcnow())
    make.fresh()
    run = make.session.execute(select(Run)).scalars().one()
    make.session.execute(Run.__table__.update().where(Run.id == run.id).values(state="started", started_at=utcnow()))
    make.session.commit()
    refused = client.post(CANCEL.format(first["id"]), json={}, headers=make.token("ntha"))
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "out_for_delivery"


# -- the counter cancels ---------------------------------------------------------------------------------------


def test_the_counter_cancels_and_a_fee_paid_ahead_shows_to_refund(client, make):
    day = next_working_day()
    code, first = book(client, make, day=day)
    delivery.generate_day(make.session, day, utcnow())
    url = CANCEL.format(first["id"])
    assert client.post(url, json={}, headers=make.token("stp.linh")).status_code == 403  # an agency clerk
    assert client.post(url, json={}, headers=make.token("nva")).status_code == 403  # a courier
    make.site("TTHCC-2", "center", "Trung tâm khác")
    make.user("other.clerk", "postal_clerk", "TTHCC-2")
    assert client.post(url, json={}, headers=make.token("other.clerk")).status_code == 403  # another site's counter
    clerk = make.staff("ntha")
    paid = delivery.record_fee_paid(make.session, first["id"], actor=clerk, now=utcnow())
    assert paid.fee_status == "paid"
    r = client.post(url, json={}, headers=make.token("ntha"))
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["state"] == "cancelled" and r.get_json()["fee_status"] == "to_refund"
    row = row_of(make, first["id"])
    assert row.cancelled_by_id == clerk.id and row.run_id is None
    assert make.session.execute(select(func.count()).select_from(DeliveryStop)).scalar_one() == 0  # off its run
    assert "hoàn lại" in sms_to(make, "0912345678")[-1]
    assert client.post(CANCEL.format(999_999), json={}, headers=make.token("ntha")).status_code == 404


def test_the_counter_page_lists_the_requests_and_cancels_one(client, make):
    code, first = book(client, make)
    page = client.post("/login", data={"username": "ntha", "password": "mat-khau-1",
                                       "csrf_token": login_token(client)})
    assert page.status_code in (302, 303)
    listing = client.get(f"/dossiers/{code}/bookings")
    html = listing.get_data(as_text=True)
    assert listing.status_code == 200 and f"Yêu cầu số {first['id']}" in html and "26.000 đ (trả khi bưu tá đến)" in html
    assert "Số 15 đường Nguyễn Văn Cừ" in html  # the counter sees the address in full
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    done = client.post(f"/bookings/{first['id']}/cancel", data={"csrf_token": token, "code": code},
                       follow_redirects=True)
    text = done.get_data(as_text=True)
    assert f"Đã huỷ yêu cầu số {first['id']}" in text and "(không phải trả)" in text
    assert row_of(make, first["id"]).state == "cancelled"
    assert f'/dossiers/{code}/bookings' in client.get(f"/dossiers/{code}").get_data(as_text=True)


def login_token(client) -> str:
    html = client.get("/login").get_data(as_text=True)
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def test_the_cancel_endpoint_is_in_the_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    op = doc["paths"]["/api/v1/delivery-requests/{request_id}/cancel"]["post"]
    assert {"200", "202", "403", "404", "409", "422", "429"} <= set(op["responses"])
    assert "otp" in str(doc["components"]["schemas"]["DeliveryCancelIn"])
    booking = doc["paths"]["/api/v1/delivery-requests"]["post"]
    assert "409" in booking["responses"] and "fee_status" in str(doc["components"]["schemas"]["DeliveryRequestOut"])


# -- the result labelled for the door when the home delivery is cancelled ----------------------------------------


def result_on_its_way_home(client, make) -> tuple[str, str, int]:
    """A dossier whose result, labelled for the citizen's door, a courier carries from the agency, with its home
    delivery booked: (dossier, result parcel, request id)."""
    first = make.parcel(held_by="nva")
    make.scan_as("nva", first, "handover", site="STP")
    make.scan_as("stp.linh", first, "receive")
    dossier = client.get(f"/api/v1/parcels/{first}", headers=make.token("gs.lan")).get_json()["dossier"]
    booked = client.post("/api/v1/delivery-requests", json=body(dossier))
    assert booked.status_code == 201, booked.get_data(as_text=True)
    made = client.post(f"/api/v1/dossiers/{dossier}/parcels", json={"direction": "to_citizen", "origin": "STP"},
                       headers=make.token("stp.linh"))
    assert made.status_code == 201, made.get_data(as_text=True)
    result = made.get_json()["parcel"]["code"]
    assert made.get_json()["parcel"]["destination"] is None  # labelled for the door
    make.scan_as("stp.linh", result, "accept", site="STP")
    make.scan_as("nva", result, "pickup", site="STP")
    return dossier, result, booked.get_json()["id"]


def redirects_of(client, make, parcel: str) -> tuple[dict, list[dict]]:
    seen = client.get(f"/api/v1/parcels/{parcel}", headers=make.token("gs.lan")).get_json()
    return seen, [e for e in seen["timeline"] if e["action"] == "redirect"]


def test_cancelling_readdresses_the_result_labelled_for_the_door_to_the_center(client, make):
    dossier, result, request_id = result_on_its_way_home(client, make)
    r = client.post(CANCEL.format(request_id), json={}, headers=make.token("ntha"))
    assert r.status_code == 200, r.get_data(as_text=True)
    seen, [redirect] = redirects_of(client, make, result)
    assert seen["destination"]["code"] == "TTHCC"
    assert redirect["note"] == "người dân huỷ giao tận nhà" and redirect["actor"] == "ntha"
    assert redirect["evidence"] == {"from": "", "to": "TTHCC", "request": request_id}
    handed = make.scan_as("nva", result, "handover", site="TTHCC")  # the courier brings it to the counter
    assert handed["status"] == "accepted"
    make.fresh()
    assert ledger.verify(make.session).first_bad is None
    again = client.post(CANCEL.format(request_id), json={}, headers=make.token("ntha"))
    assert again.status_code == 409 and len(redirects_of(client, make, result)[1]) == 1  # one correction


def test_the_citizens_own_cancel_readdresses_it_by_no_ones_account(client, make):
    dossier, result, request_id = result_on_its_way_home(client, make)
    ask = {"dossier": dossier, "phone_last4": "5678"}
    assert client.post(CANCEL.format(request_id), json=ask).status_code == 202
    done = client.post(CANCEL.format(request_id), json={**ask, "otp": cancel_code_sent(make, request_id)})
    assert done.status_code == 200, done.get_data(as_text=True)
    seen, [redirect] = redirects_of(client, make, result)
    assert seen["destination"]["code"] == "TTHCC" and redirect["actor"] is None
    make.scan_as("nva", result, "handover", site="TTHCC")
    make.fresh()
    assert ledger.verify(make.session).first_bad is None


# -- the refund ----------------------------------------------------------------------------------------------------

REFUND = "/api/v1/delivery-requests/{}/refund"


def test_the_counter_records_a_fee_given_back_once_and_only_when_it_is_to_refund(client, make):
    code, first = book(client, make)
    clerk = make.token("ntha")
    not_yet = client.post(REFUND.format(first["id"]), headers=clerk)  # still standing, nothing paid
    assert not_yet.status_code == 409 and not_yet.get_json()["error"]["code"] == "not_to_refund"
    assert f"Yêu cầu số {first['id']}" in not_yet.get_json()["error"]["message"]
    delivery.record_fee_paid(make.session, first["id"], actor=make.staff("ntha"), now=utcnow())
    assert client.post(REFUND.format(first["id"]), headers=clerk).status_code == 409  # paid, not cancelled
    assert client.post(CANCEL.format(first["id"]), json={}, headers=clerk).get_json()["fee_status"] == "to_refund"
    assert client.post(REFUND.format(first["id"]), headers=make.token("nva")).status_code == 403  # a courier
    assert row_of(make, first["id"]).fee_refunded_at is None
    done = client.post(REFUND.format(first["id"]), headers=clerk)
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["fee_status"] == "refunded"
    row = row_of(make, first["id"])
    assert row.fee_refunded_at is not None and row.fee_refunded_by_id == make.staff("ntha").id
    again = client.post(REFUND.format(first["id"]), headers=clerk)
    assert again.status_code == 200 and again.get_json() == done.get_json()
    assert row_of(make, first["id"]).fee_refunded_at == row.fee_refunded_at  # recorded once
    assert client.post(REFUND.format(999_999), headers=clerk).status_code == 404


def test_the_counter_page_offers_the_refund_of_a_fee_to_refund(client, make):
    code, first = book(client, make)
    delivery.record_fee_paid(make.session, first["id"], actor=make.staff("ntha"), now=utcnow())
    assert client.post(CANCEL.format(first["id"]), json={}, headers=make.token("ntha")).status_code == 200
    client.post("/login", data={"username": "ntha", "password": "mat-khau-1", "csrf_token": login_token(client)})
    html = client.get(f"/dossiers/{code}/bookings").get_data(as_text=True)
    assert "(sẽ được hoàn lại)" in html and "Ghi nhận đã hoàn phí" in html
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    without_token = client.post(f"/bookings/{first['id']}/refund", data={"code": code})
    assert without_token.status_code == 400 and row_of(make, first["id"]).fee_refunded_at is None
    done = client.post(f"/bookings/{first['id']}/refund", data={"csrf_token": token, "code": code},
                       follow_redirects=True)
    text = done.get_data(as_text=True)
    assert f"Đã ghi nhận đã hoàn phí của yêu cầu số {first['id']}" in text and "(đã hoàn phí)" in text
    assert "Ghi nhận đã hoàn phí</button>" not in text
