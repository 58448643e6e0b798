"""One dossier end to end: registered for home return, shuttled to the agency and back, delivery asked for by
the citizen, a delivery run, the OTP by SMS through a real local gateway, a wrong code refused, the right one
delivering; the citizen's tracking shows every step."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import pytest
from sqlalchemy import select

from models import DeliveryRequest, Run, Site
from postal import delivery, notifications
from postal.clock import local, utcnow
from postal.workdays import DEFAULT_CALENDAR
from tests.conftest import local_http


@dataclass
class SmsGateway:
    """An HTTP SMS gateway on 127.0.0.1: POST {"to", "text"}, kept as it arrived."""

    messages: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def to(self, phone: str) -> list[str]:
        with self.lock:
            return [m["text"] for m in self.messages if m["to"] == phone]


@pytest.fixture
def sms_gateway():
    gateway = SmsGateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with gateway.lock:
                gateway.messages.append(json.loads(body.decode("utf-8")))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            pass

    with local_http(Handler) as base:
        gateway.url = f"{base}/sms"
        yield gateway


@pytest.fixture
def settings_overrides(sms_gateway):
    """SMS go to the local gateway; the next working day's delivery run is driven today, so it may start early."""
    return {"POSTAL_SMS_URL": sms_gateway.url, "POSTAL_RUN_START_WINDOW_MIN": str(5 * 24 * 60)}


CODE = "000.00.22.H47-261201-0001"
PHONE = "0912345678"


def test_a_dossier_from_the_counter_to_the_citizens_door(client, make, sms_gateway):
    make.network()
    settings = make.settings
    timeline_seen: list[list[str]] = []

    def track(expected_status: str) -> list[str]:
        # Each look from another address: the citizen checks more often than the per-address limit allows a minute.
        address = f"192.0.2.{len(timeline_seen) + 1}"
        r = client.post("/api/v1/track", json={"code": CODE, "phone_last4": "5678"}, environ_base={"REMOTE_ADDR": address})
        assert r.status_code == 200, r.get_data(as_text=True)
        answer = r.get_json()
        assert answer["status"] == expected_status, answer
        steps = [s["what"] for s in answer["timeline"]]
        if timeline_seen:
            assert steps[:len(timeline_seen[-1])] == timeline_seen[-1]  # steps only ever add up
        timeline_seen.append(steps)
        for secret in ("nva", "ntha", "stp.linh", PHONE, "Nguyễn Văn An"):
            assert secret not in r.get_data(as_text=True)
        return steps

    def send_sms() -> None:
        report = notifications.send_due(make.session, settings, now=utcnow())
        assert report.failed == 0 and report.retrying == 0, report

    # 1. Registered at the provincial center, result to be returned at home.
    body = make.dossier_body(code=CODE, return_method="home")
    r = client.post("/api/v1/dossiers", json=body, headers=make.token("ntha"))
    assert r.status_code == 201, r.get_data(as_text=True)
    first = r.get_json()["parcel"]["code"]
    assert track("registered") == ["Đã nộp hồ sơ"]

    # 2. Accepted at the counter and shuttled to the agency.
    make.scan_as("ntha", first, "accept", site="TTHCC")
    assert track("received")[-1] == "Đã tiếp nhận hồ sơ"
    make.scan_as("nva", first, "pickup", site="TTHCC")
    assert track("to_agency")[-1] == "Bưu điện đã nhận chuyển"
    make.scan_as("nva", first, "handover", site="STP")
    make.scan_as("stp.linh", first, "receive", site="STP")
    assert track("at_agency")[-1] == "Đã chuyển đến cơ quan giải quyết"

    # 3. The agency's result comes back to the center by shuttle.
    r = client.post(f"/api/v1/dossiers/{CODE}/parcels", json={"direction": "to_center", "origin": "STP"},
                    headers=make.token("stp.linh"))
    assert r.status_code == 201, r.get_data(as_text=True)
    result = r.get_json()["parcel"]["code"]
    assert track("at_agency")  # a label printed is not yet a result on its way
    make.scan_as("stp.linh", result, "accept", site="STP")
    assert track("result_ready")[-1] == "Đã có kết quả"
    make.scan_as("nva", result, "pickup", site="STP")
    assert track("returning")[-1] == "Bưu điện đã nhận chuyển"
    make.scan_as("nva", result, "handover", site="TTHCC")
    make.scan_as("ntha", result, "receive", site="TTHCC")
    assert track("ready_for_return")[-1] == "Kết quả đã về nơi trả"

    # 4. The citizen asks for delivery at home, for the next working day's morning.
    day = DEFAULT_CALENDAR.add_working_days(local(utcnow()).date(), 1)
    ask = {"dossier": CODE, "phone_last4": "5678", "kind": "deliver_result",
           "address": {"street": "Số 15 đường Nguyễn Văn Cừ", "ward_code": "06688"},
           "slot": {"date": day.isoformat(), "period": "morning"}}
    r = client.post("/api/v1/delivery-requests", json=ask)
    assert r.status_code == 201, r.get_data(as_text=True)
    request_id = r.get_json()["id"]
    assert r.get_json()["fee_vnd"] == 26_000 and r.get_json()["ward"]["name"] == "Phường Hạ Long"
    assert client.post("/api/v1/delivery-requests", json=ask).get_json()["id"] == request_id  # asked twice: one

    # 5. At the center the result is labelled for the citizen's door; the day's delivery run is made.
    r = client.post(f"/api/v1/dossiers/{CODE}/parcels", json={"direction": "to_citizen", "origin": "TTHCC"},
                    headers=make.token("ntha"))
    home = r.get_json()["parcel"]["code"]
    make.scan_as("ntha", home, "accept", site="TTHCC")
    assert track("ready_for_delivery")
    make.fresh()
    report = delivery.generate_day(make.session, day, utcnow())
    assert (report.runs, report.stops) == (1, 1)
    make.fresh()
    run = make.session.execute(select(Run).where(Run.kind == "delivery")).scalars().one()
    office = make.session.get(Site, run.post_office_id)
    assert office.code == "BD-TINH" and run.day == day
    r = client.post(f"/api/v1/runs/{run.id}/assign", json={"courier": "nva"}, headers=make.token("gs.lan"))
    assert r.status_code == 200, r.get_data(as_text=True)
    [stop] = client.get(f"/api/v1/runs/{run.id}/deliveries", headers=make.token("nva")).get_json()["stops"]
    assert (stop["dossier"], stop["parcel"], stop["phone"], stop["state"]) == (CODE, home, PHONE, "scheduled")

    # 6. The courier sets off; out for delivery, the OTP reaches the citizen's phone through the SMS gateway.
    r = client.post(f"/api/v1/runs/{run.id}/start", headers=make.token("nva"))
    assert r.status_code == 200 and r.get_json()["state"] == "started", r.get_data(as_text=True)
    assert [s["site"] for s in r.get_json()["stops"]] == ["BD-TINH", "BD-TINH"]  # the doors are delivery stops
    send_sms()  # what was queued so far (receipt, on its way…)
    before = len(sms_gateway.to(PHONE))
    make.scan_as("nva", home, "out_for_delivery", run=run.id)
    assert track("out_for_delivery")[-1] == "Đang giao đến nhà"
    send_sms()
    arrived = sms_gateway.to(PHONE)[before:]
    [otp_text] = [t for t in arrived if "OTP" in t]
    otp = re.search(r"OTP\): (\d{6})", otp_text).group(1)
    assert CODE in otp_text

    # 7. A wrong code is refused and changes nothing; the right one delivers.
    wrong = f"{(int(otp) + 1) % 10**6:06d}"
    scan = make.scan(home, "deliver", evidence={"otp": wrong, "recipient_name": "Nguyễn Văn An"}, run=run.id)
    refused = client.post("/api/v1/scans", json={"scans": [scan]}, headers=make.token("nva")).get_json()["results"][0]
    assert refused["status"] == "rejected" and refused["error"]["code"] == "wrong_otp"
    assert make.parcel_row(home).state == "out_for_delivery"
    track("out_for_delivery")
    delivered = make.scan_as("nva", home, "deliver", evidence={"otp": otp, "recipient_name": "Nguyễn Văn An"}, run=run.id)
    assert delivered["parcel"]["state"] == "delivered"
    r = client.post(f"/api/v1/runs/{run.id}/close", headers=make.token("nva"))
    assert r.status_code == 200 and r.get_json()["on_board"] == [], r.get_data(as_text=True)

    # 8. The citizen sees every step, and the delivery is done.
    steps = track("returned")
    assert steps == [
        "Đã nộp hồ sơ",
        "Đã tiếp nhận hồ sơ",
        "Bưu điện đã nhận chuyển",
        "Đã chuyển đến cơ quan giải quyết",
        "Đã có kết quả",
        "Bưu điện đã nhận chuyển",
        "Kết quả đã về nơi trả",
        "Kết quả đã sẵn sàng để giao tận nhà",
        "Đang giao đến nhà",
        "Đã trả kết quả",
    ]
    send_sms()
    assert any("đã được giao" in t for t in sms_gateway.to(PHONE))
    [stop] = client.get(f"/api/v1/runs/{run.id}/deliveries", headers=make.token("nva")).get_json()["stops"]
    assert stop["state"] == "done"
    make.fresh()
    delivery.generate_day(make.session, day, utcnow())  # settles the request from custody
    make.fresh()
    assert make.session.get(DeliveryRequest, request_id).state == "done"
