"""POST /api/v1/scans: every handoff lands once; a refused scan writes nothing."""

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from models import Alert, CustodyEvent
from postal import custody, labels
from postal.clock import utcnow


def events(make) -> int:
    make.fresh()
    return make.session.execute(select(func.count()).select_from(CustodyEvent)).scalar_one()


def post(client, make, username, *scans, lang=None):
    headers = dict(make.token(username))
    if lang:
        headers["Accept-Language"] = lang
    r = client.post("/api/v1/scans", json={"scans": list(scans)}, headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()["results"]


def test_a_parcel_travels_center_to_agency_with_two_party_handover(client, make):
    code = make.parcel()
    assert make.holder_of(code) == "TTHCC"
    [res] = post(client, make, "nva", make.scan(code, "pickup", site="TTHCC"))
    assert res["status"] == "accepted" and res["parcel"]["holder"] == {"type": "courier", "code": "nva", "name": "nva"}
    [res] = post(client, make, "nva", make.scan(code, "handover", site="STP"))
    assert res["parcel"]["state"] == "awaiting_receipt" and res["parcel"]["holder"]["code"] == "STP"
    [res] = post(client, make, "stp.linh", make.scan(code, "receive"))
    assert res["parcel"]["state"] == "at_site" and make.holder_of(code) == "STP"
    timeline = client.get(f"/api/v1/parcels/{code}", headers=make.token("gs.lan")).get_json()["timeline"]
    assert [e["action"] for e in timeline] == ["accept", "pickup", "handover", "receive"]
    assert timeline[2]["from_holder"] == "courier:nva" and timeline[3]["to_holder"] == "site:STP"
    assert timeline[3]["actor"] == "stp.linh"


def test_receive_without_handover_is_recorded_as_confirmed_by_the_receiver_only(client, make):
    code = make.parcel(held_by="nva")
    [res] = post(client, make, "stp.linh", make.scan(code, "receive"))
    assert res["status"] == "accepted"
    timeline = client.get(f"/api/v1/parcels/{code}", headers=make.token("gs.lan")).get_json()["timeline"]
    assert timeline[-1]["evidence"] == {"receiver_only": True}


def test_wrong_courier_cannot_hand_over_and_nothing_is_written(client, make):
    code = make.parcel(held_by="nva")
    before = events(make)
    [res] = post(client, make, "ttb", make.scan(code, "handover", site="STP"))
    assert res["status"] == "rejected"
    assert res["error"]["code"] == "wrong_holder"
    assert "nva" in res["error"]["message"] and code in res["error"]["message"]
    assert make.holder_of(code) == "nva" and events(make) == before


def test_pickup_at_the_wrong_site_names_where_the_parcel_is(client, make):
    code = make.parcel()
    [res] = post(client, make, "nva", make.scan(code, "pickup", site="SXD"))
    assert res["status"] == "rejected" and "Trung tâm Phục vụ hành chính công tỉnh" in res["error"]["message"]


def test_refusals_are_in_english_when_asked(client, make):
    code = make.parcel(held_by="nva")
    [res] = post(client, make, "ttb", make.scan(code, "handover", site="STP"), lang="en")
    assert res["error"]["message"] == f"Parcel {code} is with courier nva, not with courier ttb."


def test_replaying_a_scan_answers_duplicate_and_writes_nothing(client, make):
    code = make.parcel()
    scan = make.scan(code, "pickup", site="TTHCC")
    [first] = post(client, make, "nva", scan)
    before = events(make)
    [again] = post(client, make, "nva", scan)
    assert first["status"] == "accepted" and again["status"] == "duplicate"
    assert again["parcel"] == first["parcel"] and events(make) == before


def test_a_batch_resent_after_a_lost_answer_changes_nothing(client, make):
    codes = [make.parcel() for _ in range(3)]
    batch = [make.scan(c, "pickup", site="TTHCC") for c in codes]
    first = post(client, make, "nva", *batch)
    before = events(make)
    again = post(client, make, "nva", *batch)
    assert [r["status"] for r in first] == ["accepted"] * 3
    assert [r["status"] for r in again] == ["duplicate"] * 3 and events(make) == before


def test_each_scan_in_a_batch_is_judged_on_its_own(client, make):
    good, held = make.parcel(), make.parcel(held_by="ttb")
    results = post(client, make, "nva", make.scan(good, "pickup"), make.scan(held, "pickup"),
                   make.scan(good, "handover", site="STP"))
    assert [r["status"] for r in results] == ["accepted", "rejected", "accepted"]
    assert make.holder_of(good) == "STP" and make.holder_of(held) == "ttb"


def test_a_rejected_scan_is_judged_again_when_resent(client, make):
    code = make.parcel(accepted=False)
    scan = make.scan(code, "pickup", site="TTHCC")
    [res] = post(client, make, "nva", scan)
    assert res["status"] == "rejected" and "chưa được tiếp nhận" in res["error"]["message"]
    make.scan_as("ntha", code, "accept", site="TTHCC")
    [res] = post(client, make, "nva", scan)
    assert res["status"] == "accepted"


def test_the_same_id_twice_in_one_batch_is_stored_once(client, make):
    code = make.parcel()
    scan = make.scan(code, "pickup")
    before = events(make)
    results = post(client, make, "nva", scan, scan)
    assert [r["status"] for r in results] == ["accepted", "duplicate"] and events(make) == before + 1


def test_forged_and_foreign_labels_are_refused(client, make):
    code = make.parcel()
    forged = make.scan(code, "pickup")
    forged["label"] = code + ":AAAAAAAAAAAAAAAA"
    typo = make.scan(code, "pickup")
    # One digit mistyped. S10's check digit misses a few such slips (two remainders both give 5), so the
    # slip is one it catches: the test must not depend on the random serial the parcel drew.
    typo["label"] = next(t for d in "0123456789" if not labels.is_valid_code(t := code[:4] + d + code[5:]))
    before = events(make)
    results = post(client, make, "nva", forged, typo)
    assert [r["error"]["code"] for r in results] == ["forged_label", "forged_label"]
    assert events(make) == before and make.holder_of(code) == "TTHCC"


def test_a_typed_human_code_is_accepted_and_marked(client, make):
    code = make.parcel()
    scan = make.scan(code, "pickup")
    scan["label"] = f"{code[:2]} {code[2:6]} {code[6:10]} {code[10:]}"
    [res] = post(client, make, "nva", scan)
    assert res["status"] == "accepted"
    timeline = client.get(f"/api/v1/parcels/{code}", headers=make.token("gs.lan")).get_json()["timeline"]
    assert timeline[-1]["evidence"] == {"typed": True}


def test_scan_times_far_in_the_future_or_past_are_refused(client, make):
    code = make.parcel()
    future = make.scan(code, "pickup", at=utcnow() + timedelta(minutes=6))
    old = make.scan(code, "pickup", at=utcnow() - timedelta(days=31))
    slightly_ahead = make.scan(code, "pickup", at=utcnow() + timedelta(minutes=4))
    results = post(client, make, "nva", future, old, slightly_ahead)
    assert [r["status"] for r in results] == ["rejected", "rejected", "accepted"]
    assert results[0]["error"]["code"] == "scan_in_future" and results[1]["error"]["code"] == "scan_too_old"


def test_a_clerk_cannot_act_for_another_site(client, make):
    code = make.parcel(held_by="nva")
    post(client, make, "nva", make.scan(code, "handover", site="STP"))
    [res] = post(client, make, "sxd.hanh", make.scan(code, "receive", site="STP"))
    assert res["status"] == "rejected" and res["error"]["code"] == "site_forbidden"
    [res] = post(client, make, "sxd.hanh", make.scan(code, "receive"))
    assert res["error"]["code"] == "wrong_site" and "Sở Tư pháp" in res["error"]["message"]


def test_a_courier_may_not_accept_and_a_clerk_may_not_pick_up(client, make):
    code = make.parcel(accepted=False)
    [res] = post(client, make, "nva", make.scan(code, "accept", site="TTHCC"))
    assert res["error"]["code"] == "forbidden"
    make.scan_as("ntha", code, "accept", site="TTHCC")
    [res] = post(client, make, "ntha", make.scan(code, "pickup"))
    assert res["error"]["code"] == "forbidden"


def test_handover_needs_a_site(client, make):
    code = make.parcel(held_by="nva")
    [res] = post(client, make, "nva", make.scan(code, "handover"))
    assert res["status"] == "rejected" and res["error"]["code"] == "site_required"


def test_a_malformed_scan_is_refused_alone(client, make):
    code = make.parcel()
    bad = make.scan(code, "teleport")
    results = post(client, make, "nva", bad, make.scan(code, "pickup"))
    assert results[0]["status"] == "rejected" and results[0]["error"]["code"] == "invalid_scan"
    assert results[0]["id"] == bad["id"] and results[1]["status"] == "accepted"


def test_malformed_envelopes_are_400_and_tokens_are_checked(client, make):
    make.network()
    headers = make.token("nva")
    assert client.post("/api/v1/scans", data="not json", headers={**headers, "Content-Type": "application/json"}).status_code == 400
    assert client.post("/api/v1/scans", json={"scans": []}, headers=headers).status_code == 400
    assert client.post("/api/v1/scans", json={"items": []}, headers=headers).status_code == 400
    r = client.post("/api/v1/scans", json={"scans": [{}]})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"
    assert client.post("/api/v1/scans", json={"scans": [{}]}, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_report_missing_opens_an_alert_and_found_closes_it(client, make):
    code = make.parcel(held_by="nva")
    [res] = post(client, make, "nva", make.scan(code, "report_missing", note="rơi trên xe"))
    assert res["parcel"]["state"] == "missing"
    alert = make.session.execute(select(Alert).where(Alert.subject_code == code)).scalars().one()
    assert alert.kind == "suspected_loss" and alert.severity == "critical" and alert.state == "open"
    [res] = post(client, make, "gs.lan", make.scan(code, "found", site="TTHCC"))
    assert res["parcel"]["state"] == "at_site"
    make.fresh()
    alert = make.session.get(Alert, alert.id)
    assert alert.state == "resolved" and "báo tìm thấy" in alert.note


def bag_of(client, make, codes, site="TTHCC", username="ntha", **extra):
    body = {"seal": "NP-000123", "parcels": [make.payload(c) for c in codes], "site": site, **extra}
    return client.post("/api/v1/bags", json=body, headers=make.token(username))


def test_a_bag_moves_every_parcel_in_it(client, make):
    codes = [make.parcel() for _ in range(3)]
    r = bag_of(client, make, codes)
    assert r.status_code == 201
    bag = r.get_json()["bag"]
    assert bag["parcels"] == codes and bag["qr_payload"].startswith(bag["code"] + ":")
    scan = make.scan(bag["code"], "pickup")
    scan["label"] = bag["qr_payload"]
    [res] = post(client, make, "nva", scan)
    assert res["status"] == "accepted" and res["bag"]["holder"]["code"] == "nva"
    assert {make.holder_of(c) for c in codes} == {"nva"}
    single = make.scan(codes[0], "handover", site="STP")
    [res] = post(client, make, "nva", single)
    assert res["error"]["code"] == "in_bag"  # a sealed bag's parcels move with the bag only


def test_a_bag_request_sent_twice_makes_one_bag(client, make):
    codes = [make.parcel() for _ in range(2)]
    first = bag_of(client, make, codes, code="BG123456785VN")
    again = bag_of(client, make, codes, code="BG123456785VN")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json() == again.get_json()
    other = bag_of(client, make, codes[:1], code="BG123456785VN")
    assert other.status_code == 409


def test_a_bag_may_hold_only_parcels_at_its_site(client, make):
    away = make.parcel(held_by="nva")
    r = bag_of(client, make, [make.parcel(), away])
    assert r.status_code == 409 and "nva" in r.get_json()["error"]["message"]


def test_opening_a_bag_reconciles_and_flags_what_is_missing(client, make):
    codes = [make.parcel() for _ in range(3)]
    bag = bag_of(client, make, codes).get_json()["bag"]
    for action, user, site in [("pickup", "nva", None), ("handover", "nva", "STP"), ("receive", "stp.linh", None)]:
        scan = make.scan(bag["code"], action, site=site)
        scan["label"] = bag["qr_payload"]
        assert post(client, make, user, scan)[0]["status"] == "accepted"
    unbag = make.scan(bag["code"], "unbag", evidence={"scanned": [make.payload(c) for c in codes[:2]]})
    unbag["label"] = bag["qr_payload"]
    [res] = post(client, make, "stp.linh", unbag)
    assert res["status"] == "accepted"
    assert make.parcel_row(codes[0]).state == "at_site" and make.parcel_row(codes[0]).bag_id is None
    assert make.parcel_row(codes[2]).state == "missing"
    alert = make.session.execute(select(Alert).where(Alert.kind == "bag_mismatch")).scalars().one()
    assert alert.subject_code == bag["code"] and codes[2] in alert.note


def test_an_unknown_label_is_refused(client, make):
    make.network()
    from postal import labels
    code = labels.make_code("HC", 11111111)
    scan = make.scan(code, "pickup")
    [res] = post(client, make, "nva", scan)
    assert res["error"]["code"] == "unknown_label"


def test_scan_ids_must_be_uuids(client, make):
    code = make.parcel()
    scan = make.scan(code, "pickup")
    scan["id"] = "not-a-uuid"
    [res] = post(client, make, "nva", scan)
    assert res["status"] == "rejected" and res["id"] == "not-a-uuid"
    assert uuid.UUID(make.scan(code, "pickup")["id"])


def test_a_batch_of_handovers_is_a_handful_of_statements_not_one_per_parcel(make, statements):
    codes = [make.parcel(held_by="nva") for _ in range(40)]
    courier, now = make.staff("nva"), utcnow()
    batch = [make.scan(c, "handover", site="STP", at=now) for c in codes]
    statements.clear()
    outcomes = custody.record_scans(make.session, batch, actor=courier, settings=make.settings, now=now)
    assert [o.status for o in outcomes] == ["accepted"] * 40
    assert len(statements) < 25  # each handover may clear a loss alert: looked for once per batch, not per parcel
    assert all(make.holder_of(c) == "STP" for c in codes)


def test_a_device_cannot_claim_what_only_the_server_records(client, make):
    code = make.parcel(held_by="nva")
    before = events(make)
    for claim in ({"otp_verified": True}, {"at_counter": True}, {"receiver_only": False}, {"typed": False}):
        [res] = post(client, make, "nva", make.scan(code, "handover", site="STP", evidence=claim))
        assert res["status"] == "rejected" and res["error"]["code"] == "invalid_scan", res
        assert next(iter(claim)) in res["error"]["message"]
    assert events(make) == before and make.holder_of(code) == "nva"
    [res] = post(client, make, "nva", make.scan(code, "handover", site="STP", evidence={"photo": "ảnh-1.jpg"}))
    assert res["status"] == "accepted"  # evidence of its own is kept
