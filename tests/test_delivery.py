"""Home delivery with proof: an OTP by SMS, five wrong tries lock it, failed attempts send it back."""

import re

from sqlalchemy import select

from models import CustodyEvent, Dossier, OutboxMessage
from postal import vault


def result_for_home(client, make) -> tuple[str, str]:
    """A dossier decided at the agency whose result waits at the center for home delivery: (dossier, parcel)."""
    code = make.parcel(held_by="nva")
    make.scan_as("nva", code, "handover", site="STP")
    make.scan_as("stp.linh", code, "receive")
    dossier = client.get(f"/api/v1/parcels/{code}", headers=make.token("gs.lan")).get_json()["dossier"]
    r = client.post(f"/api/v1/dossiers/{dossier}/parcels", json={"direction": "to_citizen", "origin": "TTHCC"},
                    headers=make.token("ntha"))
    result = r.get_json()["parcel"]["code"]
    make.scan_as("ntha", result, "accept", site="TTHCC")
    return dossier, result


def otp_sent(make) -> str:
    """The last code sent to the citizen, opened as the sender opens it (the row itself shows it masked)."""
    make.fresh()
    body, sealed = make.session.execute(
        select(OutboxMessage.body, OutboxMessage.secret).where(OutboxMessage.dedupe_key.like("%:sms:out_for_delivery"))
        .order_by(OutboxMessage.id.desc()).limit(1)).one()
    assert "(OTP): ******." in body
    text, code = vault.reveal(make.settings, body, sealed)
    assert re.search(r"\(OTP\): (\d{6})\.", text).group(1) == code
    return code


def deliver(client, make, code, otp, name="Nguyễn Văn An"):
    scan = make.scan(code, "deliver", evidence={"otp": otp, "recipient_name": name})
    return client.post("/api/v1/scans", json={"scans": [scan]}, headers=make.token("nva")).get_json()["results"][0]


def test_the_right_otp_delivers_and_the_code_never_enters_the_ledger(client, make):
    dossier, code = result_for_home(client, make)
    make.scan_as("nva", code, "out_for_delivery")
    otp = otp_sent(make)
    wrong = f"{(int(otp) + 1) % 10**6:06d}"
    res = deliver(client, make, code, wrong)
    assert res["status"] == "rejected" and res["error"]["code"] == "wrong_otp" and "4" in res["error"]["message"]
    res = deliver(client, make, code, otp)
    assert res["status"] == "accepted" and res["parcel"]["state"] == "delivered"
    make.fresh()
    assert make.session.execute(select(Dossier.returned_at).where(Dossier.code == dossier)).scalar_one() is not None
    evidence = make.session.execute(select(CustodyEvent.evidence).where(CustodyEvent.action == "deliver")).scalar_one()
    assert otp not in evidence and '"otp_verified":true' in evidence and "Nguyễn Văn An" in evidence
    tracked = client.post("/api/v1/track", json={"code": dossier, "phone_last4": "5678"}).get_json()
    assert tracked["status"] == "returned" and tracked["timeline"][-1]["what"] == "Đã trả kết quả"


def test_five_wrong_codes_lock_until_a_new_code_is_sent(client, make):
    _, code = result_for_home(client, make)
    make.scan_as("nva", code, "out_for_delivery")
    first = otp_sent(make)
    wrong = f"{(int(first) + 7) % 10**6:06d}"
    answers = [deliver(client, make, code, wrong)["error"]["code"] for _ in range(5)]
    assert answers == ["wrong_otp"] * 4 + ["otp_locked"]
    assert deliver(client, make, code, first)["error"]["code"] == "otp_locked"  # even the right one, now
    make.scan_as("nva", code, "out_for_delivery")  # a new code for the citizen
    second = otp_sent(make)
    assert deliver(client, make, code, second)["status"] == "accepted"


def test_a_failed_attempt_needs_a_reason_and_two_send_it_back(client, make):
    _, code = result_for_home(client, make)
    make.scan_as("nva", code, "out_for_delivery")
    no_reason = client.post("/api/v1/scans", json={"scans": [make.scan(code, "attempt_failed")]},
                            headers=make.token("nva")).get_json()["results"][0]
    assert no_reason["error"]["code"] == "note_required"
    first = make.scan_as("nva", code, "attempt_failed", note="Không có ai ở nhà")
    assert first["parcel"]["state"] == "out_for_delivery"
    second = make.scan_as("nva", code, "attempt_failed", note="Gọi không nghe máy")
    assert second["parcel"]["state"] == "in_transit"  # due back at the post office
    make.scan_as("nva", code, "handover", site="BD-TINH")
    assert make.parcel_row(code).state == "awaiting_receipt"


def test_only_the_courier_holding_it_can_deliver_and_only_home_results(client, make):
    _, code = result_for_home(client, make)
    make.scan_as("nva", code, "out_for_delivery")
    scan = make.scan(code, "deliver", evidence={"otp": otp_sent(make), "recipient_name": "A"})
    res = client.post("/api/v1/scans", json={"scans": [scan]}, headers=make.token("ttb")).get_json()["results"][0]
    assert res["error"]["code"] == "wrong_holder"
    outbound = make.parcel()
    res = client.post("/api/v1/scans", json={"scans": [make.scan(outbound, "out_for_delivery")]},
                      headers=make.token("nva")).get_json()["results"][0]
    assert res["error"]["code"] == "not_for_delivery"


def test_a_clerk_hands_a_result_over_at_the_counter(client, make):
    dossier, code = result_for_home(client, make)
    res = client.post("/api/v1/scans", json={"scans": [make.scan(code, "deliver", evidence={"recipient_name": ""})]},
                      headers=make.token("ntha")).get_json()["results"][0]
    assert res["error"]["code"] == "otp_required"  # the recipient's name is required
    res = make.scan_as("ntha", code, "deliver", evidence={"recipient_name": "Nguyễn Văn An"})
    assert res["parcel"]["state"] == "delivered"
