"""What citizens see: tracking with code + phone digits, and the apology slip of a late dossier."""

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader

from postal.clock import utcnow


def registered(client, make, **overrides) -> tuple[str, str]:
    """A dossier registered at the center and its first parcel's code."""
    make.network()
    body = make.dossier_body(**overrides)
    answer = client.post("/api/v1/dossiers", json=body, headers=make.token("ntha")).get_json()
    return body["code"], answer["parcel"]["code"]


def test_tracking_shows_each_step_in_plain_words_without_staff_names(client, make):
    code, parcel = registered(client, make)
    make.scan_as("ntha", parcel, "accept", site="TTHCC")
    make.scan_as("nva", parcel, "pickup")
    make.scan_as("nva", parcel, "handover", site="STP")
    make.scan_as("stp.linh", parcel, "receive")
    r = client.post("/api/v1/track", json={"code": code, "phone_last4": "5678"})
    assert r.status_code == 200
    answer = r.get_json()
    assert answer["status"] == "at_agency" and answer["late"] is False
    steps = [(s["what"], s["where"]) for s in answer["timeline"]]
    assert steps == [("Đã nộp hồ sơ", None), ("Đã tiếp nhận hồ sơ", "Trung tâm Phục vụ hành chính công tỉnh"),
                     ("Bưu điện đã nhận chuyển", "Trung tâm Phục vụ hành chính công tỉnh"),
                     ("Đã chuyển đến cơ quan giải quyết", "Sở Tư pháp")]  # each place said once, beside its step
    text = r.get_data(as_text=True)
    for secret in ("nva", "stp.linh", "ntha", "0912345678", "Nguyễn Văn An"):
        assert secret not in text


def test_unknown_code_and_wrong_phone_answer_the_same_404(client, make):
    code, _ = registered(client, make)
    wrong_phone = client.post("/api/v1/track", json={"code": code, "phone_last4": "0000"})
    unknown = client.post("/api/v1/track", json={"code": "000.00.22.H47-000000-9999", "phone_last4": "5678"})
    assert wrong_phone.status_code == unknown.status_code == 404
    assert wrong_phone.get_json()["error"]["code"] == unknown.get_json()["error"]["code"] == "not_found"
    assert client.post("/api/v1/track", json={"code": code, "phone_last4": "56"}).status_code == 400


def test_tracking_is_rate_limited_per_address(client, make):
    code, _ = registered(client, make)
    answers = [client.post("/api/v1/track", json={"code": code, "phone_last4": "0000"}).status_code for _ in range(11)]
    assert answers[:10] == [404] * 10 and answers[10] == 429


def test_tracking_page_in_vietnamese_and_english(client, make):
    code, parcel = registered(client, make)
    make.scan_as("ntha", parcel, "accept", site="TTHCC")
    page = client.get("/track")
    assert page.status_code == 200 and "Tra cứu hồ sơ" in page.get_data(as_text=True)
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/track", data={"code": code, "phone_last4": "5678", "csrf_token": token})
    assert r.status_code == 200 and "Đã tiếp nhận hồ sơ" in r.get_data(as_text=True)
    r = client.post("/track", data={"code": code, "phone_last4": "5678", "csrf_token": token},
                    headers={"Accept-Language": "en"})
    assert "The dossier has been received" in r.get_data(as_text=True)


def late_dossier(client, make) -> str:
    received = utcnow() - timedelta(days=20)
    code, _ = registered(client, make, received_at=received.isoformat(), due_at=(received + timedelta(days=10)).isoformat())
    return code


def track(client, code: str, lang: str | None = None) -> dict:
    headers = {"Accept-Language": lang} if lang else {}
    r = client.post("/api/v1/track", json={"code": code, "phone_last4": "5678"}, headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()


def test_the_code_is_found_as_people_type_it(client, make):
    code, _ = registered(client, make)  # 000.00.22.H47-…
    for typed in (code.lower(), f"  {code}  ", code.replace("-", " - ").replace(".", ". ").lower()):
        assert track(client, typed)["code"] == code, typed
    assert client.post("/api/v1/track", json={"code": code, "phone_last4": "0000"}).status_code == 404  # phone as before


def test_what_the_citizen_reads_is_what_custody_recorded(client, make):
    code, parcel = registered(client, make)
    answer = track(client, code)
    assert answer["status"] == "registered" and "chưa ghi nhận nộp hồ sơ giấy" in answer["status_text"]
    assert [s["what"] for s in answer["timeline"]] == ["Đã nộp hồ sơ"]  # a printed label is no step
    make.scan_as("ntha", parcel, "accept", site="TTHCC")
    make.scan_as("nva", parcel, "pickup")
    make.scan_as("nva", parcel, "handover", site="STP")
    make.scan_as("stp.linh", parcel, "receive")
    r = client.post(f"/api/v1/dossiers/{code}/parcels", json={"direction": "to_center", "origin": "STP"},
                    headers=make.token("stp.linh"))
    result = r.get_json()["parcel"]["code"]
    answer = track(client, code)  # the result's label is printed, nothing has moved it yet
    assert answer["status"] == "at_agency" and "đang được chuyển về" not in answer["status_text"]
    make.scan_as("stp.linh", result, "accept", site="STP")
    answer = track(client, code)
    assert answer["status"] == "result_ready" and answer["status_text"] == "Đã có kết quả, chờ chuyển về nơi trả"
    make.scan_as("nva", result, "pickup", site="STP")
    assert track(client, code)["status_text"] == "Kết quả đang được chuyển về"
    make.scan_as("nva", result, "handover", site="TTHCC")
    make.scan_as("ntha", result, "receive")
    answer = track(client, code)
    assert answer["status"] == "ready_for_return" and "mang giấy tiếp nhận" in answer["next_step"]
    assert answer["timeline"][-1] == {**answer["timeline"][-1], "what": "Kết quả đã về nơi trả",
                                      "where": "Trung tâm Phục vụ hành chính công tỉnh"}
    english = track(client, code, lang="en")
    assert english["status_text"] == "The result is ready to be collected" and "receipt" in english["next_step"]


def test_the_citizen_is_told_whom_to_call(client, make):
    code, _ = registered(client, make)
    assert track(client, code)["contact"] == ("Cần hỗ trợ, xin liên hệ Trung tâm Phục vụ hành chính công tỉnh, "
                                              "nơi Ông/Bà nộp hồ sơ.")


@pytest.mark.parametrize("settings_overrides", [{"POSTAL_HOTLINE": "0203 3 123 456"}])
def test_the_hotline_from_settings_when_there_is_one(client, make):
    code, _ = registered(client, make)
    assert track(client, code)["contact"] == "Cần hỗ trợ, xin gọi đường dây nóng 0203 3 123 456."
    assert "0203 3 123 456" in track(client, code, lang="en")["contact"]
