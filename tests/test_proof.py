"""Proof of delivery that cannot be guessed: a parcel's budget of wrong codes and of new codes holds across new
codes, in one batch as across batches; past it the parcel is locked for proof, a supervisor is alerted, and
only a person unlocks it (resolving the alert) or hands it over at a counter."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import func, select

from models import CustodyEvent, OutboxMessage
from postal.clock import utcnow
from tests.test_delivery import deliver, otp_sent, result_for_home

LUCKY = 424242  # every code is this one where a test rigs the draw: a guess that hits it must still fail


def post(client, make, scans: list[dict], user: str = "nva", lang: str | None = None) -> list[dict]:
    headers = {**make.token(user), **({"Accept-Language": lang} if lang else {})}
    r = client.post("/api/v1/scans", json={"scans": scans}, headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()["results"]


def guess(make, code: str, otp: str) -> dict:
    return make.scan(code, "deliver", evidence={"otp": otp, "recipient_name": "Nguyễn Văn An"})


def wrong_for(otp: str, k: int = 1) -> str:
    return f"{(int(otp) + k) % 10**6:06d}"


def codes_queued(make) -> int:
    make.fresh()
    return make.session.execute(select(func.count()).select_from(OutboxMessage)
                                .where(OutboxMessage.dedupe_key.like("%:sms:out_for_delivery"))).scalar_one()


def proof_alerts(client, make, state: str = "open") -> list[dict]:
    r = client.get(f"/api/v1/alerts?kind=proof_locked&state={state}", headers=make.token("gs.lan"))
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()["alerts"]


def state_of(client, make, code: str) -> str:
    return client.get(f"/api/v1/parcels/{code}", headers=make.token("gs.lan")).get_json()["state"]


def lock_by_guessing(client, make, code: str) -> list[dict]:
    """Ten wrong codes over two codes, in one batch: the parcel is locked."""
    scans = []
    for _ in range(2):
        scans.append(make.scan(code, "out_for_delivery"))
        scans += [guess(make, code, f"{n:06d}") for n in range(5)]
    return post(client, make, scans)


def test_one_batch_of_new_codes_and_guesses_cannot_deliver(client, make, monkeypatch):
    _, code = result_for_home(client, make)
    monkeypatch.setattr(secrets, "randbelow", lambda n: LUCKY)
    scans, guesses = [], iter([*range(100), LUCKY, *range(100, 2499)])  # the 101st guess is the citizen's code
    for _ in range(500):  # 3,000 scans: a new code, then five guesses, over and over
        scans.append(make.scan(code, "out_for_delivery"))
        scans += [guess(make, code, f"{next(guesses):06d}") for _ in range(5)]
    results = post(client, make, scans)

    assert [r["id"] for r in results if r["status"] == "accepted" and r["parcel"]["state"] == "delivered"] == []
    assert state_of(client, make, code) == "out_for_delivery"
    sent = [r for r, s in zip(results, scans) if s["action"] == "out_for_delivery" and r["status"] == "accepted"]
    answers = [r["error"]["code"] for r, s in zip(results, scans) if s["action"] == "deliver"]
    assert len(sent) == 2 and codes_queued(make) == 2  # ten wrong codes lock it on the second code, not 500 texts
    assert "accepted" not in {r["status"] for r in results[7:]}
    assert answers[:10] == ["wrong_otp"] * 4 + ["otp_locked"] + ["wrong_otp"] * 4 + ["proof_locked"]
    assert set(answers[10:]) == {"proof_locked"}  # the lucky guess among them: refused, never compared
    make.fresh()
    assert make.session.execute(select(func.count()).select_from(CustodyEvent)
                                .where(CustodyEvent.action == "deliver")).scalar_one() == 0
    [alert] = proof_alerts(client, make)
    assert (alert["subject"]["code"], alert["severity"]) == (code, "critical") and "nva" in alert["note"]
    # The counts the batch kept for its refused scans were committed with it: the next batch is refused too.
    [again] = post(client, make, [guess(make, code, f"{LUCKY:06d}")])
    assert again["error"]["code"] == "proof_locked"


def test_wrong_codes_count_per_parcel_across_new_codes(client, make):
    _, code = result_for_home(client, make)
    make.scan_as("nva", code, "out_for_delivery")
    first = otp_sent(make)
    answers = [deliver(client, make, code, wrong_for(first))["error"]["code"] for _ in range(5)]
    assert answers == ["wrong_otp"] * 4 + ["otp_locked"]
    make.scan_as("nva", code, "out_for_delivery")  # a new code gives the code's tries back, not the parcel's
    second = otp_sent(make)
    answers = [deliver(client, make, code, wrong_for(second, 3))["error"] for _ in range(5)]
    assert [a["code"] for a in answers] == ["wrong_otp"] * 4 + ["proof_locked"]
    assert "còn 4 lần thử" in answers[0]["message"] and "còn 1 lần thử" in answers[3]["message"]
    refused = deliver(client, make, code, second)  # even the right code, now
    assert refused["status"] == "rejected" and refused["error"]["code"] == "proof_locked"
    assert "giám sát viên" in refused["error"]["message"] and code in refused["error"]["message"]
    assert state_of(client, make, code) == "out_for_delivery"


def test_three_codes_an_hour_by_the_servers_clock(client, make):
    _, code = result_for_home(client, make)
    now = utcnow()
    # The device dates its scans hours apart; the hour is the server's, which heard them all at once.
    scans = [make.scan(code, "out_for_delivery", at=now - timedelta(hours=h)) for h in (3, 2, 1, 0)]
    results = post(client, make, scans)
    assert [r["status"] for r in results] == ["accepted"] * 3 + ["rejected"]
    assert results[3]["error"]["code"] == "proof_locked" and "3 mã trong một giờ" in results[3]["error"]["message"]
    assert codes_queued(make) == 3
    [alert] = proof_alerts(client, make)
    assert alert["subject"]["code"] == code and "3 mã trong một giờ" in alert["note"]
    english = post(client, make, [make.scan(code, "out_for_delivery")], lang="en")[0]["error"]["message"]
    assert "locked" in english and "supervisor" in english


def test_six_codes_in_all_and_the_hour_slides(client, make):
    _, code = result_for_home(client, make)
    start = utcnow()
    for minutes in (0, 10, 20, 70, 80, 90):  # never three within an hour before the next
        make.record("nva", code, "out_for_delivery", start + timedelta(minutes=minutes))
    seventh = make.record("nva", code, "out_for_delivery", start + timedelta(hours=5), expect="rejected")
    assert seventh.error.code == "proof_locked" and seventh.error.params["why"].params == {"count": 6}
    assert codes_queued(make) == 6
    assert [a["subject"]["code"] for a in proof_alerts(client, make)] == [code]


def test_a_supervisor_unlocks_by_resolving_the_alert(client, make):
    _, code = result_for_home(client, make)
    results = lock_by_guessing(client, make, code)
    assert results[-1]["error"]["code"] == "proof_locked"
    last = otp_sent(make)
    assert deliver(client, make, code, last)["error"]["code"] == "proof_locked"
    [alert] = proof_alerts(client, make)
    r = client.post(f"/api/v1/alerts/{alert['id']}/resolve", json={"note": "Đã gọi người dân, giao lại"},
                    headers=make.token("nva"))
    assert r.status_code == 403  # the courier cannot unlock it
    r = client.post(f"/api/v1/alerts/{alert['id']}/resolve", json={"note": "Đã gọi người dân, giao lại"},
                    headers=make.token("gs.lan"))
    assert r.status_code == 200 and r.get_json()["state"] == "resolved"
    assert deliver(client, make, code, last)["error"]["code"] == "otp_locked"  # the old code is void
    make.scan_as("nva", code, "out_for_delivery")  # a fresh budget: a new code is sent
    assert deliver(client, make, code, wrong_for(otp_sent(make)))["error"]["code"] == "wrong_otp"
    assert deliver(client, make, code, otp_sent(make))["status"] == "accepted"
    assert state_of(client, make, code) == "delivered"


def test_a_locked_parcel_is_handed_over_at_the_counter(client, make):
    _, code = result_for_home(client, make)
    lock_by_guessing(client, make, code)
    make.scan_as("nva", code, "handover", site="TTHCC")  # carrying it back is custody, not proof: allowed
    make.scan_as("ntha", code, "receive", site="TTHCC")
    [again] = post(client, make, [make.scan(code, "out_for_delivery")], user="ttb")
    assert again["error"]["code"] == "proof_locked"  # no courier takes it out for a code while it is locked
    make.scan_as("ntha", code, "deliver", site="TTHCC", evidence={"recipient_name": "Nguyễn Văn An"})
    assert state_of(client, make, code) == "delivered"
    assert proof_alerts(client, make) == []
    [closed] = proof_alerts(client, make, state="resolved")
    assert closed["subject"]["code"] == code and "tại quầy" in closed["note"]


def test_a_code_on_any_scan_stays_out_of_the_ledger(client, make):
    _, code = result_for_home(client, make)
    make.scan_as("nva", code, "out_for_delivery")
    otp = otp_sent(make)
    make.scan_as("nva", code, "attempt_failed", note="Không có ai ở nhà", evidence={"otp": otp, "OTP": otp, "tried": 1})
    timeline = client.get(f"/api/v1/parcels/{code}", headers=make.token("gs.lan")).get_data(as_text=True)
    make.fresh()
    evidence = make.session.execute(select(CustodyEvent.evidence).where(CustodyEvent.action == "attempt_failed")).scalar_one()
    assert otp not in evidence and '"tried":1' in evidence
    assert otp not in timeline
