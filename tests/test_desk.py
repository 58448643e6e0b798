"""The agency desk: an agency clerk sees the agency's dossiers by what they need (awaiting receipt, late, due
soon, in progress), receives a handed-over parcel from the list, and sends the result back in one action."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import CustodyEvent, Parcel
from postal.clock import utcnow
from tests.test_pages import csrf_of, login


def dossier_at_agency(client, make, *, due_in: timedelta, stage: str = "received", agency: str = "STP") -> tuple[str, str]:
    """A dossier for `agency` handed over there (stage "handed") or received there too; its code and parcel's."""
    received = utcnow() - timedelta(days=10)
    body = make.dossier_body(agency=agency, received_at=received.isoformat(), due_at=(utcnow() + due_in).isoformat())
    answer = client.post("/api/v1/dossiers", json=body, headers=make.token("ntha")).get_json()
    code, parcel = answer["dossier"]["code"], answer["parcel"]["code"]
    make.scan_as("ntha", parcel, "accept", site="TTHCC")
    make.scan_as("nva", parcel, "pickup", site="TTHCC")
    make.scan_as("nva", parcel, "handover", site=agency)
    if stage == "received":
        clerk = {"STP": "stp.linh"}.get(agency)
        make.scan_as(clerk, parcel, "receive")
    return code, parcel


def test_the_desk_groups_the_agency_dossiers_by_what_they_need(client, make):
    make.network()
    handed = dossier_at_agency(client, make, due_in=timedelta(days=10), stage="handed")
    working = dossier_at_agency(client, make, due_in=timedelta(days=20))
    soon = dossier_at_agency(client, make, due_in=timedelta(hours=20))
    late = dossier_at_agency(client, make, due_in=timedelta(hours=-3))
    elsewhere = client.post("/api/v1/dossiers", json=make.dossier_body(agency="SXD"), headers=make.token("ntha")).get_json()

    answer = client.get("/api/v1/desk", headers=make.token("stp.linh"))
    assert answer.status_code == 200
    desk = answer.get_json()
    groups = {row["code"]: row["group"] for row in desk["dossiers"]}
    assert groups == {handed[0]: "awaiting_receipt", working[0]: "in_progress", soon[0]: "due_soon", late[0]: "late"}
    assert elsewhere["dossier"]["code"] not in groups  # another agency's dossier is not on this desk
    assert desk["counts"] == {"awaiting_receipt": 1, "in_progress": 1, "due_soon": 1, "late": 1, "coming": 0,
                              "result_sent": 0}
    assert client.get("/api/v1/desk", headers=make.token("ntha")).status_code == 403  # a desk is an agency's


def test_a_clerk_receives_from_the_desk_and_sends_the_result_back_in_one_action(client, make):
    make.network()
    code, parcel = dossier_at_agency(client, make, due_in=timedelta(days=5), stage="handed")
    login(client, "stp.linh")
    assert client.get("/").headers["Location"] == "/desk"  # an agency clerk starts at the agency's worklist
    page = client.get("/desk").get_data(as_text=True)
    assert code in page and "Chờ xác nhận nhận" in page and "Xác nhận nhận" in page
    token = csrf_of(page)

    r = client.post(f"/desk/parcels/{parcel}/receive", data={"csrf_token": token}, follow_redirects=True)
    assert r.status_code == 200 and f"Đã xác nhận nhận bì {parcel}" in r.get_data(as_text=True)
    assert make.holder_of(parcel) == "STP"

    r = client.post(f"/desk/dossiers/{code}/result", data={"csrf_token": token}, follow_redirects=True)
    text = r.get_data(as_text=True)
    assert r.status_code == 200 and "Đã tạo bì kết quả" in text and "Nhãn QR" in text  # the label, to print
    make.fresh()
    result = make.session.execute(select(Parcel).where(Parcel.direction == "to_center")).scalars().one()
    assert (result.state, make.holder_of(result.code)) == ("at_site", "STP")
    [accept] = make.session.execute(select(CustodyEvent).where(CustodyEvent.parcel_id == result.id)).scalars().all()
    assert accept.action == "accept" and make.staff("stp.linh").id == accept.actor_id  # the agency's clerk gives

    desk = client.get("/api/v1/desk", headers=make.token("stp.linh")).get_json()
    assert [(row["group"], row["parcel"]) for row in desk["dossiers"]] == [("result_sent", result.code)]
    again = client.post(f"/api/v1/dossiers/{code}/result", headers=make.token("stp.linh"))
    assert again.status_code == 409 and "đã được gửi trả" in again.get_json()["error"]["message"]


def test_a_result_cannot_go_back_before_the_dossier_is_received_nor_for_another_agency(client, make):
    make.network()
    code, _ = dossier_at_agency(client, make, due_in=timedelta(days=5), stage="handed")
    r = client.post(f"/api/v1/dossiers/{code}/result", headers=make.token("stp.linh"))
    assert r.status_code == 409 and "chưa được xác nhận nhận" in r.get_json()["error"]["message"]
    other = client.post("/api/v1/dossiers", json=make.dossier_body(agency="SXD"), headers=make.token("ntha")).get_json()
    r = client.post(f"/api/v1/dossiers/{other['dossier']['code']}/result", headers=make.token("stp.linh"))
    assert r.status_code == 403
    make.fresh()
    assert make.session.execute(select(Parcel).where(Parcel.direction == "to_center")).first() is None
