"""The counter: the site's procedures, the appointment computed before saving, a dossier received in one step
(registered once, its parcel accepted), its receipt (mẫu 01) and label, reprints, and today's dossiers."""

from __future__ import annotations

import io
import subprocess
from datetime import date, datetime, time, timedelta

import zxingcpp
from PIL import Image
from pypdf import PdfReader

from sqlalchemy import func, select

from models import DeliveryRequest, Dossier, Site
from postal import counter
from postal.clock import LOCAL_TZ, local, utcnow
from postal.workdays import Calendar
from tests.test_delivery_requests import next_working_day
from tests.test_pages import login

CENTER = Site(code="C", kind="center", name="Trung tâm", opens_at=time(7, 30), closes_at=time(17, 0))


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=LOCAL_TZ)


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())


def decoded(pdf: bytes, tmp_path, page: int = 1) -> set[tuple[str, str]]:
    """What a scanner reads off a printed page: the PDF rendered at 300 dpi, every barcode on it."""
    (tmp_path / "p.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "300", "-png", "-f", str(page), "-l", str(page), "-singlefile",
                    str(tmp_path / "p.pdf"), str(tmp_path / "p")], check=True)
    return {(r.format.name, r.text) for r in zxingcpp.read_barcodes(Image.open(tmp_path / "p.png"))}


def counter_body(procedure: int, code: str = "000.00.22.H47-261208-0001", **overrides) -> dict:
    body = {"code": code, "procedure": procedure, "applicant_name": "Trần Thị Bích", "applicant_phone": "0987 654 321",
            "applicant_address": "5 Trần Hưng Đạo", "items": 3, "received_at": (utcnow() - timedelta(minutes=5)).isoformat()}
    body.update(overrides)
    return body


# -- the appointment ---------------------------------------------------------------------------------------


def test_the_appointment_counts_working_days_past_holidays_from_the_first_working_moment():
    start, due, days_off = counter.due_for(2, at(date(2026, 4, 29), 9, 15), CENTER)  # a Wednesday, before 30/4
    assert local(start) == at(date(2026, 4, 29), 9, 15)
    assert local(due) == at(date(2026, 5, 5), 9, 15)  # Thu 30/4 and Fri 1/5 are holidays, then the weekend
    assert [(d.day, d.name) for d in days_off] == [(date(2026, 4, 30), "Ngày Chiến thắng"),
                                                  (date(2026, 5, 1), "Ngày Quốc tế Lao động")]
    start, due, _ = counter.due_for(2, at(date(2026, 4, 29), 17, 30), CENTER)  # after the counter closed
    assert local(start) == at(date(2026, 5, 4), 7, 30) and local(due) == at(date(2026, 5, 6), 7, 30)


def test_a_decided_day_off_and_a_make_up_saturday_move_the_appointment():
    calendar = Calendar(extra_days_off={date(2026, 6, 8)}, extra_working_days={date(2026, 6, 13)})
    _, due, days_off = counter.due_for(5, at(date(2026, 6, 5), 10), CENTER, calendar)  # a Friday
    # Mon 8/6 off by decision; Sat 13/6 worked instead: 9, 10, 11, 12, 13 June
    assert local(due) == at(date(2026, 6, 13), 10)
    assert [d.day for d in days_off] == [date(2026, 6, 8)]


def test_the_counter_lists_its_procedures_and_previews_the_appointment_without_writing(client, make):
    own = make.procedure(days=10)
    make.procedure("Cấp giấy phép xây dựng", "SXD", 20)
    make.procedure("Chứng thực bản sao", "STP", 1, site="PH-HONGGAI")  # another counter's own
    headers = make.token("ntha")
    found = client.get("/api/v1/counter/procedures", headers=headers).get_json()["procedures"]
    assert [(p["name"], p["agency_name"], p["processing_days"]) for p in found] == [
        ("Cấp giấy phép xây dựng", "Sở Xây dựng", 20), ("Cấp Phiếu lý lịch tư pháp", "Sở Tư pháp", 10)]
    searched = client.get("/api/v1/counter/procedures?q=ly lich", headers=headers).get_json()["procedures"]
    assert [p["id"] for p in searched] == [own]  # no diacritics needed
    due = client.get(f"/api/v1/counter/due?procedure={own}", headers=headers).get_json()
    assert due["processing_days"] == 10 and due["due_at"] > due["received_at"]
    bad = client.get("/api/v1/counter/due?procedure=abc", headers=headers)
    assert bad.status_code == 422 and "procedure" in bad.get_json()["error"]["message"]
    for other in ("nva", "stp.linh"):  # a courier, an agency's clerk: not a counter
        assert client.get("/api/v1/counter/procedures", headers=make.token(other)).status_code == 403


# -- receiving -----------------------------------------------------------------------------------------------


def test_a_dossier_received_at_the_counter_is_registered_once_and_its_parcel_accepted(client, make):
    procedure = make.procedure(days=10)
    headers = make.token("ntha")
    body = counter_body(procedure)
    first = client.post("/api/v1/counter/dossiers", json=body, headers=headers)
    assert first.status_code == 201, first.get_json()
    saved = first.get_json()
    preview = client.get(f"/api/v1/counter/due?procedure={procedure}&received_at={body['received_at']}",
                         headers=headers).get_json()
    assert saved["dossier"]["due_at"] == preview["due_at"] and saved["dossier"]["due_reason"] is None
    assert saved["dossier"]["agency"]["code"] == "STP" and saved["dossier"]["items"] == 3
    assert make.holder_of(saved["parcel"]) == "TTHCC"  # accepted at the counter at once
    again = client.post("/api/v1/counter/dossiers", json=body, headers=headers)
    assert again.status_code == 200 and again.get_json()["parcel"] == saved["parcel"]
    detail = client.get(f"/api/v1/dossiers/{body['code']}", headers=headers).get_json()
    assert len(detail["parcels"]) == 1 and len(detail["parcels"][0]["timeline"]) == 1  # no second parcel or accept
    other = client.post("/api/v1/counter/dossiers", json={**body, "applicant_phone": "0912000111"}, headers=headers)
    assert other.status_code == 409
    assert "số điện thoại (applicant.phone)" in other.get_json()["error"]["message"]


def test_the_same_code_over_the_api_names_each_field_that_differs(client, make):
    make.network()
    body = make.dossier_body()
    assert client.post("/api/v1/dossiers", json=body, headers=make.token("ntha")).status_code == 201
    changed = {**body, "procedure": "Khác", "due_at": (utcnow() + timedelta(days=30)).isoformat()}
    r = client.post("/api/v1/dossiers", json=changed, headers={**make.token("ntha"), "Accept-Language": "en"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "dossier_exists"
    message = r.get_json()["error"]["message"]
    assert "procedure" in message and "due_at" in message and "applicant.phone" not in message
    spaced_phone = {**body, "applicant": {**body["applicant"], "phone": "0912 345 678"}}  # the same number
    assert client.post("/api/v1/dossiers", json=spaced_phone, headers=make.token("ntha")).status_code == 200


def test_an_appointment_other_than_the_computed_one_needs_a_reason_which_the_dossier_keeps(client, make):
    procedure = make.procedure(days=10)
    headers = make.token("ntha")
    later = local(utcnow()).date() + timedelta(days=40)
    while later.weekday() >= 5 or later in (date(2027, 1, 1),):
        later += timedelta(days=1)
    body = counter_body(procedure, due_on=later.isoformat())
    refused = client.post("/api/v1/counter/dossiers", json=body, headers=headers)
    assert refused.status_code == 422 and "ngày hẹn trả" in refused.get_json()["error"]["message"]
    assert client.get(f"/api/v1/dossiers/{body['code']}", headers=headers).status_code == 404  # nothing written
    body["due_reason"] = "Hồ sơ cần xác minh tại địa phương"
    saved = client.post("/api/v1/counter/dossiers", json=body, headers=headers).get_json()
    assert local(datetime.fromisoformat(saved["dossier"]["due_at"])).date() == later
    assert saved["dossier"]["due_reason"] == "Hồ sơ cần xác minh tại địa phương"
    text = pdf_text(client.get(saved["receipt_url"].replace("http://localhost", ""), headers=headers).data)
    assert "Ngày hẹn được điều chỉnh, lý do: Hồ sơ cần xác minh tại địa phương" in text
    assert later.strftime("%d/%m/%Y") in text


def test_a_home_return_needs_its_ward_and_half_day(client, make):
    procedure = make.procedure()
    headers = make.token("ntha")
    body = counter_body(procedure, return_method="home")
    r = client.post("/api/v1/counter/dossiers", json=body, headers=headers)
    assert r.status_code == 422 and "xã, phường" in r.get_json()["error"]["message"]
    r = client.post("/api/v1/counter/dossiers", json={**body, "ward_code": "06688"}, headers=headers)
    assert r.status_code == 422 and "buổi trả tại nhà" in r.get_json()["error"]["message"]
    saved = client.post("/api/v1/counter/dossiers", json={**body, "ward_code": "06688", "return_slot": "afternoon"},
                        headers=headers).get_json()
    assert saved["dossier"]["return_method"] == "home" and saved["dossier"]["return_slot"] == "afternoon"
    text = pdf_text(client.get(f"/api/v1/dossiers/{body['code']}/receipt.pdf", headers=headers).data)
    assert "Tại nhà qua bưu điện: 5 Trần Hưng Đạo" in text and "buổi chiều ngày hẹn trả" in text


def test_a_home_return_at_the_counter_is_a_booking_the_citizen_sees_changes_and_cancels(client, make):
    procedure = make.procedure()
    headers = make.token("ntha")
    body = counter_body(procedure, return_method="home", ward_code="06688", return_slot="afternoon",
                        applicant_address="  5  Trần Hưng Đạo ")
    saved = client.post("/api/v1/counter/dossiers", json=body, headers=headers)
    assert saved.status_code == 201, saved.get_data(as_text=True)
    due_day = local(datetime.fromisoformat(saved.get_json()["dossier"]["due_at"])).date()
    make.fresh()
    [row] = make.session.execute(select(DeliveryRequest)).scalars().all()
    post_office = make.session.execute(select(Site).where(Site.code == "BD-TINH")).scalars().one()
    assert (row.kind, row.state, row.slot_date, row.slot_period) == ("deliver_result", "requested", due_day, "afternoon")
    assert (row.street, row.ward_code, row.phone) == ("5 Trần Hưng Đạo", "06688", "0987654321")
    assert row.fee_vnd == 26_000 and row.post_office_id == post_office.id and row.geocode_source == "none"
    again = client.post("/api/v1/counter/dossiers", json=body, headers=headers)  # the same form sent twice
    assert again.status_code in (200, 201) and again.get_json()["created"] is False
    make.fresh()
    assert make.session.execute(select(func.count()).select_from(DeliveryRequest)).scalar_one() == 1
    tracked = client.post("/api/v1/track", json={"code": body["code"], "phone_last4": "4321"}).get_json()
    assert [b["id"] for b in tracked["bookings"]] == [row.id]
    second = {"dossier": body["code"], "phone_last4": "4321", "kind": "deliver_result",
              "address": {"street": "Số 8 phố Bến Đoan", "ward_code": "06688"},
              "slot": {"date": next_working_day().isoformat(), "period": "morning"}}
    refused = client.post("/api/v1/delivery-requests", json=second)
    assert refused.status_code == 409 and f"yêu cầu số {row.id}" in refused.get_json()["error"]["message"]
    login(client, "ntha")
    listing = client.get(f"/dossiers/{body['code']}/bookings")
    assert f"Yêu cầu số {row.id}" in listing.get_data(as_text=True)  # the counter's dossier page lists it
    cancelled = client.post(f"/api/v1/delivery-requests/{row.id}/cancel", json={}, headers=headers)
    assert cancelled.status_code == 200 and cancelled.get_json()["fee_status"] == "not_due"
    make.fresh()
    assert make.session.execute(select(Dossier.return_method).where(Dossier.code == body["code"])).scalar_one() == "counter"


def test_a_home_return_without_an_address_is_refused_naming_it_and_writes_nothing(client, make):
    procedure = make.procedure()
    body = counter_body(procedure, return_method="home", ward_code="06688", return_slot="morning", applicant_address=" ")
    r = client.post("/api/v1/counter/dossiers", json=body, headers=make.token("ntha"))
    assert r.status_code == 422 and "địa chỉ" in r.get_json()["error"]["message"]
    make.fresh()
    assert make.session.execute(select(func.count()).select_from(Dossier)).scalar_one() == 0
    assert make.session.execute(select(func.count()).select_from(DeliveryRequest)).scalar_one() == 0


# -- papers ----------------------------------------------------------------------------------------------------


def test_the_receipt_is_form_01_with_the_officer_by_full_name_and_a_qr_to_track(client, make, tmp_path):
    make.network(full_names=True)
    procedure = make.procedure(days=10)
    headers = make.token("ntha")
    body = counter_body(procedure, applicant_id_number="022190001234", notes="Bản sao có chứng thực")
    saved = client.post("/api/v1/counter/dossiers", json=body, headers=headers).get_json()
    r = client.get(f"/api/v1/dossiers/{body['code']}/receipt.pdf", headers=headers)
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = pdf_text(r.data)
    received = local(datetime.fromisoformat(body["received_at"]))
    due = local(datetime.fromisoformat(saved["dossier"]["due_at"]))
    for expected in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "Mẫu số 01",
                     "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG TỈNH",
                     f"Mã hồ sơ: {body['code']}", "Trần Thị Bích", "022190001234", "0987654321",
                     "Cấp Phiếu lý lịch tư pháp", "Sở Tư pháp", "số lượng: 03", "10 ngày làm việc",
                     f"{received:%H} giờ {received:%M} phút, ngày {received:%d/%m/%Y}",
                     f"{due:%H} giờ {due:%M} phút, ngày {due:%d/%m/%Y}",
                     "Tại Trung tâm Phục vụ hành chính công tỉnh", "Bản sao có chứng thực", "NGƯỜI TIẾP NHẬN HỒ SƠ",
                     "Nguyễn Thị Hà"):
        assert expected in text, expected
    assert "ntha" not in text  # people by full name, never the login
    assert ("QRCode", f"http://localhost/track?code={body['code']}") in decoded(r.data, tmp_path)
    assert client.get(f"/api/v1/dossiers/{body['code']}/receipt.pdf", headers=make.token("nva")).status_code == 403
    assert client.get(f"/api/v1/dossiers/{body['code']}/receipt.pdf", headers=make.token("stp.linh")).status_code == 403


def test_the_label_pdf_comes_in_label_printer_and_a4_sizes_and_its_barcode_reads_the_s10_code(client, make, tmp_path):
    procedure = make.procedure(days=10)
    headers = make.token("ntha")
    body = counter_body(procedure)
    parcel = client.post("/api/v1/counter/dossiers", json=body, headers=headers).get_json()["parcel"]
    small = client.get(f"/api/v1/parcels/{parcel}/label.pdf", headers=headers)
    assert small.status_code == 200 and small.mimetype == "application/pdf"
    box = PdfReader(io.BytesIO(small.data)).pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (100, 75)
    text = pdf_text(small.data)
    assert "Sở Tư pháp" in text and body["code"] in text and "Cấp Phiếu lý lịch tư pháp" in text
    read = decoded(small.data, tmp_path)
    assert ("Code128", parcel) in read and ("QRCode", make.payload(parcel)) in read
    sheet = client.get(f"/api/v1/parcels/{parcel}/label.pdf?format=a4&copies=3", headers=headers)
    box = PdfReader(io.BytesIO(sheet.data)).pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (210, 297)
    assert [t for f, t in decoded(sheet.data, tmp_path) if f == "Code128"] == [parcel]  # three copies, one code
    for bad in ("format=a5", "copies=9", "copies=x"):
        r = client.get(f"/api/v1/parcels/{parcel}/label.pdf?{bad}", headers=headers)
        assert r.status_code == 422 and bad.split("=")[0] in r.get_json()["error"]["message"]
    both = pdf_text(client.get(f"/api/v1/dossiers/{body['code']}/papers.pdf", headers=headers).data)
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in both and "NƠI NHẬN" in both


def test_reprinting_a_label_is_recorded_beside_the_parcel_not_in_the_ledger(client, make):
    make.network(full_names=True)
    parcel = make.parcel()
    headers = make.token("ntha")
    r = client.post(f"/api/v1/parcels/{parcel}/label-prints", json={"format": "a4"}, headers=headers)
    assert r.status_code == 201 and r.get_json()["printed_by"] == "Nguyễn Thị Hà"
    prints = client.get(f"/api/v1/parcels/{parcel}/label-prints", headers=headers).get_json()["prints"]
    assert [(p["format"], p["printed_by"]) for p in prints] == [("a4", "Nguyễn Thị Hà")]
    timeline = client.get(f"/api/v1/parcels/{parcel}", headers=headers).get_json()["timeline"]
    assert [e["action"] for e in timeline] == ["accept"]
    assert client.post(f"/api/v1/parcels/{parcel}/label-prints", json={}, headers=make.token("nva")).status_code == 403
    assert client.post(f"/api/v1/parcels/{parcel}/label-prints", json={"format": "a5"}, headers=headers).status_code == 400
    login(client, "ntha")
    page = client.get(f"/parcels/{parcel}").get_data(as_text=True)
    assert "Các lần in lại nhãn" in page and "Nguyễn Thị Hà (a4)" in page


# -- a laser scanner's bare code ------------------------------------------------------------------------------


def test_a_bare_code_from_a_laser_scanner_is_accepted_and_recorded_as_read_from_the_barcode(client, make):
    parcel = make.parcel()
    scan = {**make.scan(parcel, "pickup", site="TTHCC"), "label": parcel, "source": "barcode"}
    result = client.post("/api/v1/scans", json={"scans": [scan]}, headers=make.token("nva")).get_json()["results"][0]
    assert result["status"] == "accepted"
    event = client.get(f"/api/v1/parcels/{parcel}", headers=make.token("nva")).get_json()["timeline"][-1]
    assert event["evidence"] == {"barcode": True}
    from postal import labels

    unknown = labels.make_code("HC", 11111111)
    for label in (unknown, f"{parcel}:AAAAAAAAAAAAAAAA"):  # a parcel nobody labelled; a forged QR
        scan = {**make.scan(parcel, "handover", site="STP"), "label": label, "source": "barcode"}
        result = client.post("/api/v1/scans", json={"scans": [scan]}, headers=make.token("nva")).get_json()["results"][0]
        assert result["status"] == "rejected", label
    claimed = {**make.scan(parcel, "handover", site="STP"), "evidence": {"barcode": True}}
    result = client.post("/api/v1/scans", json={"scans": [claimed]}, headers=make.token("nva")).get_json()["results"][0]
    assert result["status"] == "rejected"  # a device may not claim what the server records


# -- today's dossiers -------------------------------------------------------------------------------------------


def test_todays_dossiers_at_the_counter_are_searchable_by_code_phone_or_name(client, make):
    procedure = make.procedure()
    headers = make.token("ntha")
    client.post("/api/v1/counter/dossiers", json=counter_body(procedure, "TODAY-1"), headers=headers)
    client.post("/api/v1/counter/dossiers", json=counter_body(procedure, "TODAY-2", applicant_name="Lê Văn Đức",
                                                              applicant_phone="0903111222"), headers=headers)
    make.user("hg.clerk", "postal_clerk", "PH-HONGGAI")
    elsewhere = make.procedure("Chứng thực bản sao", "STP", 1, site="PH-HONGGAI")
    client.post("/api/v1/counter/dossiers", json=counter_body(elsewhere, "ELSEWHERE-1"), headers=make.token("hg.clerk"))

    def codes(q: str = "") -> list[str]:
        return [d["code"] for d in client.get(f"/api/v1/counter/today?q={q}", headers=headers).get_json()["dossiers"]]

    assert codes() == ["TODAY-2", "TODAY-1"]  # newest first, only this counter's
    assert codes("today-1") == ["TODAY-1"] and codes("0903 111 222") == ["TODAY-2"] and codes("111222") == ["TODAY-2"]
    assert codes("0912") == []
    assert codes("le van duc") == ["TODAY-2"] and codes("Bích") == ["TODAY-1"]
    row = client.get("/api/v1/counter/today", headers=headers).get_json()["dossiers"][0]
    assert row["status"] == "received" and row["phone"] == "0903111222"
    login(client, "ntha")
    page = client.get("/counter/today?q=duc").get_data(as_text=True)
    assert "TODAY-2" in page and "TODAY-1" not in page


def test_a_centers_clerk_lands_on_the_counter_and_receives_from_the_form(client, make):
    procedure = make.procedure()
    login(client, "ntha")
    assert client.get("/").headers["Location"].endswith("/counter")
    page = client.get("/counter").get_data(as_text=True)
    assert "Cấp Phiếu lý lịch tư pháp" in page and 'name="received_at"' in page
    from tests.test_pages import token_of

    form = {"csrf_token": token_of(client, "/counter"), "code": "FORM-1", "procedure": str(procedure),
            "applicant_name": "Phạm Văn Hải", "applicant_phone": "0912 888 999", "return_method": "counter",
            "items": "2", "received_at": utcnow().isoformat()}
    refused = client.post("/counter", data={**form, "applicant_phone": "12"})
    assert refused.status_code == 422 and "FORM-1" in refused.get_data(as_text=True)  # what was typed stays
    saved = client.post("/counter", data=form)
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/counter/dossiers/FORM-1/print")
    shown = client.get("/counter/dossiers/FORM-1/print").get_data(as_text=True)
    assert "/api/v1/dossiers/FORM-1/papers.pdf" in shown and "Phạm Văn Hải" in shown
