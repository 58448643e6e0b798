"""Home delivery and pick-up requests: the 2025 units, a real local Nominatim-protocol geocoder, fees,
422s that write nothing, delivery runs in the shortest order found, and contact details kept private."""

from __future__ import annotations

import itertools
import json
import socket
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from geopy.distance import geodesic
from sqlalchemy import func, select

from models import DeliveryRequest, DeliveryStop, GeocodeCache, Parcel, Run, RunStop, Site
from models.delivery import DeliveryRequestIn
from postal import delivery
from postal.cli import cli
from postal.clock import LOCAL_TZ, as_utc, local, utcnow
from postal.errors import PostalError
from postal.workdays import DEFAULT_CALENDAR
from tests.conftest import TEST_SETTINGS, local_http

HA_LONG, HONG_GAI, CAM_PHA = "06688", "06685", "06793"  # Quảng Ninh (22), 2025 codes
HOAN_KIEM = "00070"  # Thành phố Hà Nội: another province
STREETS = {  # what the local geocoder knows, and where
    "Số 15 đường Nguyễn Văn Cừ": (20.9562, 107.0741),
    "Số 42 phố Trần Quốc Nghiễn": (20.9527, 107.0838),
    "Số 8 phố Bến Đoan": (20.9496, 107.0873),
    "Số 120 đường Lê Thánh Tông": (20.9491, 107.0911),
    "Số 27 đường 25/4": (20.9530, 107.0800),
    "Số 210 đường Trần Phú": (21.0105, 107.2920),
}
_codes = itertools.count(1)


# -- a Nominatim-protocol geocoder on 127.0.0.1 ------------------------------------------------------------


@dataclass
class Geocoder:
    """Answers GET /search like Nominatim (format=json), from STREETS; counts what it was asked."""

    queries: list[dict[str, list[str]]] = field(default_factory=list)
    status: int = 200
    base: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str) -> tuple[int, bytes]:
        parts = urlsplit(path)
        params = parse_qs(parts.query)
        with self.lock:
            self.queries.append(params)
        if parts.path != "/search":
            return 404, b"[]"
        if self.status != 200:
            return self.status, b"<html>error</html>"
        q = params.get("q", [""])[0]
        found = [{"place_id": 1, "lat": f"{lat}", "lon": f"{lon}", "display_name": q, "class": "place", "type": "house"}
                 for street, (lat, lon) in STREETS.items() if q.startswith(street + ",")]
        return 200, json.dumps(found).encode()


@pytest.fixture
def geocoder():
    geo = Geocoder()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = geo.answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    with local_http(Handler) as base:
        geo.base = base
        yield geo


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: a geocoder that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def settings_overrides(geocoder):
    """The app wired to the local geocoder, so `app`, `make` and `client` use it."""
    return {"POSTAL_GEOCODER_URL": geocoder.base}


@pytest.fixture
def settings(app):
    return app.extensions["postal.settings"]


# -- helpers -------------------------------------------------------------------------------------------------


def next_working_day(after: date | None = None) -> date:
    return DEFAULT_CALENDAR.add_working_days(after or local(utcnow()).date(), 1)


def registered(client, make, **overrides) -> str:
    """A dossier registered at the center (phone ending 5678); its code."""
    make.network()
    body = make.dossier_body(code=f"000.00.22.H47-261201-{next(_codes):04d}", **overrides)
    r = client.post("/api/v1/dossiers", json=body, headers=make.token("ntha"))
    assert r.status_code == 201, r.get_data(as_text=True)
    return body["code"]


def body(dossier: str, *, street="Số 15 đường Nguyễn Văn Cừ", ward=HA_LONG, day: date | None = None,
         period="morning", kind="deliver_result", **extra) -> dict:
    return {"dossier": dossier, "phone_last4": "5678", "kind": kind, "address": {"street": street, "ward_code": ward},
            "slot": {"date": (day or next_working_day()).isoformat(), "period": period}, **extra}


def ask(make, data: dict, *, settings=None, now: datetime | None = None):
    """A request through the domain (no rate limit), as of `now`."""
    make.fresh()
    return delivery.request_delivery(make.session, DeliveryRequestIn.model_validate(data),
                                     settings=settings or make.settings, now=now or utcnow())


def counts(make) -> tuple[int, int, int]:
    make.fresh()
    return tuple(make.session.execute(select(func.count()).select_from(t)).scalar_one()
                 for t in (DeliveryRequest, Parcel, GeocodeCache))


def request_row(make, request_id: int) -> DeliveryRequest:
    make.fresh()
    return make.session.get(DeliveryRequest, request_id)


def error_of(response) -> dict:
    return response.get_json()["error"]


# -- the request -----------------------------------------------------------------------------------------


def test_a_request_is_geocoded_on_the_2025_units_and_answered(client, make, geocoder):
    code = registered(client, make)
    r = client.post("/api/v1/delivery-requests", json=body(code))
    assert r.status_code == 201, r.get_data(as_text=True)
    answer = r.get_json()
    assert set(answer) == {"id", "state", "fee_vnd", "fee_status", "ward", "lat", "lon"}
    assert answer["state"] == "requested" and answer["fee_vnd"] == 26_000 and answer["fee_status"] == "due"
    assert answer["ward"] == {"code": HA_LONG, "name": "Phường Hạ Long", "province": "Quảng Ninh"}
    assert (answer["lat"], answer["lon"]) == STREETS["Số 15 đường Nguyễn Văn Cừ"]
    [asked] = geocoder.queries
    assert asked["q"] == ["Số 15 đường Nguyễn Văn Cừ, Phường Hạ Long, Quảng Ninh, Việt Nam"]
    assert asked["format"] == ["json"] and asked["countrycodes"] == ["vn"]
    row = request_row(make, answer["id"])
    assert row.geocode_source == "address" and row.phone == "0912345678" and row.slot_period == "morning"


def test_the_second_lookup_of_an_address_is_answered_from_the_cache(client, make, geocoder):
    first, second = registered(client, make), registered(client, make)
    a = client.post("/api/v1/delivery-requests", json=body(first)).get_json()
    b = client.post("/api/v1/delivery-requests", json=body(second, street="  Số 15   đường Nguyễn Văn Cừ ")).get_json()
    assert len(geocoder.queries) == 1  # the same address, written with other spaces: one lookup
    assert (a["lat"], a["lon"]) == (b["lat"], b["lon"]) == STREETS["Số 15 đường Nguyễn Văn Cừ"]
    make.fresh()
    [cached] = make.session.execute(select(GeocodeCache)).scalars().all()
    assert cached.query.startswith("Số 15 đường Nguyễn Văn Cừ, Phường Hạ Long") and cached.lat == a["lat"]


def test_an_address_the_geocoder_does_not_know_is_routed_by_its_ward(client, make, geocoder):
    code = registered(client, make)
    make.site("PH-HALONG-1", "commune_center", lat=20.9500, lon=107.0900)
    make.session.execute(Site.__table__.update().where(Site.code == "PH-HALONG-1").values(ward_code=HA_LONG))
    make.site("PH-HALONG-2", "agency", lat=20.9540, lon=107.0960)
    make.session.execute(Site.__table__.update().where(Site.code == "PH-HALONG-2").values(ward_code=HA_LONG))
    make.session.commit()
    answer = client.post("/api/v1/delivery-requests", json=body(code, street="Tổ 5, khu 3")).get_json()
    assert (answer["lat"], answer["lon"]) == pytest.approx((20.9520, 107.0930))  # the mean of the ward's sites
    assert request_row(make, answer["id"]).geocode_source == "ward"
    again = registered(client, make)
    client.post("/api/v1/delivery-requests", json=body(again, street="Tổ 5, khu 3"))
    assert len(geocoder.queries) == 1  # a miss is remembered too


def test_a_geocoder_that_is_down_does_not_stop_the_request(client, make, settings):
    code = registered(client, make)
    down = settings.replace(geocoder_url=closed_port_url())
    answer, created = ask(make, body(code), settings=down)
    assert created and answer.state == "requested" and (answer.lat, answer.lon) == (None, None)
    assert request_row(make, answer.id).geocode_source == "none"
    assert counts(make)[2] == 0  # a failure is not cached: the geocoder may know it next time


def test_a_geocoder_answering_500_does_not_stop_the_request(client, make, geocoder):
    geocoder.status = 500
    code = registered(client, make)
    r = client.post("/api/v1/delivery-requests", json=body(code))
    assert r.status_code == 201 and r.get_json()["lat"] is None
    geocoder.status = 200
    again = registered(client, make)
    assert client.post("/api/v1/delivery-requests", json=body(again)).get_json()["lat"] is not None


def test_without_a_geocoder_the_request_is_still_taken(client, make, settings, geocoder):
    code = registered(client, make)
    answer, created = ask(make, body(code), settings=settings.replace(geocoder_url=None))
    assert created and answer.lat is None and geocoder.queries == []


def test_bad_input_is_422_naming_the_field_and_writes_nothing(client, make, geocoder):
    code = registered(client, make)
    before = counts(make)
    today = local(utcnow()).date()
    sunday = today + timedelta(days=(6 - today.weekday()) % 7 or 7)
    cases = [
        (body(code, ward="99999"), "address.ward_code"),
        (body(code, ward="khong-co"), "address.ward_code"),
        (body(code, day=today - timedelta(days=1)), "slot.date"),
        (body(code, day=sunday), "slot.date"),
        (body(code, day=today + timedelta(days=90)), "slot.date"),
        (body(code, phone="12345"), "phone"),
        (body(code, street="   "), "address.street"),
        ({**body(code), "slot": {"date": "2026-02-30", "period": "morning"}}, "slot.date"),
        ({**body(code), "slot": {"date": next_working_day().isoformat(), "period": "evening"}}, "slot.period"),
    ]
    for payload, field_name in cases:
        r = client.post("/api/v1/delivery-requests", json=payload)
        assert r.status_code == 422, (field_name, r.get_data(as_text=True))
        message = error_of(r)["message"]  # the field as the page names it, never its path
        assert error_of(r)["code"] == "invalid_field" and message.startswith(delivery.FIELD_NAMES[field_name] + ": ")
        assert field_name not in message, message
    assert counts(make) == before and geocoder.queries == []


def test_a_tet_holiday_is_not_a_slot(client, make):
    code = registered(client, make)
    start = local(utcnow()).date()
    tet = next(start + timedelta(days=n) for n in range(1, 500)
               if (start + timedelta(days=n)).weekday() < 5 and not DEFAULT_CALENDAR.is_working_day(start + timedelta(days=n))
               and "Tết" in (DEFAULT_CALENDAR.holiday_name(start + timedelta(days=n)) or ""))
    before = counts(make)
    with pytest.raises(PostalError) as refused:
        ask(make, body(code, day=tet), now=as_utc(datetime.combine(tet - timedelta(days=5), time(9), tzinfo=LOCAL_TZ)))
    assert refused.value.status == 422 and refused.value.params["field"] == "slot.date"
    assert "Tết" in str(refused.value.params["detail"])
    assert counts(make) == before


def test_a_slot_that_ended_today_is_refused(client, make):
    code = registered(client, make)
    day = next_working_day()
    with pytest.raises(PostalError) as refused:
        ask(make, body(code, day=day, period="morning"), now=as_utc(datetime.combine(day, time(12, 30), tzinfo=LOCAL_TZ)))
    assert refused.value.params["field"] == "slot.period"
    answer, _ = ask(make, body(code, day=day, period="afternoon"), now=as_utc(datetime.combine(day, time(12, 30), tzinfo=LOCAL_TZ)))
    assert answer.state == "requested"


def test_unknown_dossier_and_wrong_phone_are_the_same_404_and_write_nothing(client, make):
    code = registered(client, make)
    before = counts(make)
    wrong = client.post("/api/v1/delivery-requests", json={**body(code), "phone_last4": "0000"})
    unknown = client.post("/api/v1/delivery-requests", json=body("000.00.22.H47-000000-9999"))
    assert wrong.status_code == unknown.status_code == 404
    assert error_of(wrong)["code"] == error_of(unknown)["code"] == "not_found"
    for text in (wrong.get_data(as_text=True), unknown.get_data(as_text=True)):
        assert "Nguyễn Văn An" not in text and "0912345678" not in text
    assert counts(make) == before


def test_the_fee_within_and_between_provinces_and_its_table_is_configurable(client, make, settings):
    inside = client.post("/api/v1/delivery-requests", json=body(registered(client, make))).get_json()
    outside = client.post("/api/v1/delivery-requests",
                          json=body(registered(client, make), street="Số 1 phố Tràng Tiền", ward=HOAN_KIEM)).get_json()
    assert inside["fee_vnd"] == 26_000 and outside["fee_vnd"] == 31_000
    assert outside["ward"] == {"code": HOAN_KIEM, "name": "Phường Hoàn Kiếm", "province": "Thành phố Hà Nội"}
    cheaper = settings.replace(delivery_fee_in_province_vnd=20_000, delivery_fee_other_province_vnd=35_000)
    assert ask(make, body(registered(client, make)), settings=cheaper)[0].fee_vnd == 20_000
    from postal.config import Settings

    env = Settings.from_env({"POSTAL_DELIVERY_FEE_IN_PROVINCE": "24000", "POSTAL_DELIVERY_FEE_EXEMPT": "ho_ngheo, nguoi_co_cong"})
    assert env.delivery_fee_in_province_vnd == 24_000 and env.delivery_fee_exempt == ("ho_ngheo", "nguoi_co_cong")


def test_the_counter_records_an_exemption(client, make):
    answer = client.post("/api/v1/delivery-requests", json=body(registered(client, make))).get_json()
    url = f"/api/v1/delivery-requests/{answer['id']}/exemption"
    assert client.post(url, json={"reason": "ho_ngheo"}, headers=make.token("nva")).status_code == 403
    r = client.post(url, json={"reason": "khach-quen"}, headers=make.token("ntha"))
    assert r.status_code == 422 and "reason" in error_of(r)["message"]
    r = client.post(url, json={"reason": "ho_ngheo"}, headers=make.token("ntha"))
    assert r.status_code == 200 and r.get_json()["fee_vnd"] == 0
    assert request_row(make, answer["id"]).fee_exempt_reason == "ho_ngheo"
    assert client.post(url, json={"reason": "ho_ngheo"}).status_code == 401


def test_the_same_request_twice_answers_the_first(client, make, geocoder):
    code = registered(client, make)
    first = client.post("/api/v1/delivery-requests", json=body(code))
    again = client.post("/api/v1/delivery-requests", json=body(code))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json() == again.get_json()
    assert counts(make)[0] == 1 and len(geocoder.queries) == 1
    other_slot = client.post("/api/v1/delivery-requests", json=body(code, period="afternoon"))
    assert other_slot.status_code == 409 and error_of(other_slot)["code"] == "booking_exists"
    assert f"yêu cầu số {first.get_json()['id']}" in error_of(other_slot)["message"]  # named, to be changed instead
    assert counts(make)[0] == 1


def test_deliver_result_sets_the_dossier_to_home_delivery(client, make):
    code = registered(client, make, return_method="counter")
    client.post("/api/v1/delivery-requests", json=body(code))
    dossier = client.get(f"/api/v1/dossiers/{code}", headers=make.token("ntha")).get_json()["dossier"]
    assert dossier["return_method"] == "home"


def test_pickup_makes_a_from_citizen_parcel_that_joins_the_flow_at_the_post_office(client, make):
    make.network()
    make.site("BD-CAMPHA", "post_office", "Bưu điện Cẩm Phả", lat=21.0119, lon=107.2893)
    make.session.execute(Site.__table__.update().where(Site.code == "BD-CAMPHA").values(ward_code=CAM_PHA))
    make.session.commit()
    make.user("bdcp.clerk", "postal_clerk", "BD-CAMPHA")
    code = registered(client, make)
    r = client.post("/api/v1/delivery-requests", json=body(code, kind="pickup_dossier", street="Số 210 đường Trần Phú",
                                                            ward=CAM_PHA))
    assert r.status_code == 201, r.get_data(as_text=True)
    row = request_row(make, r.get_json()["id"])
    parcel = make.session.get(Parcel, row.parcel_id)
    origin, destination = make.session.get(Site, parcel.origin_id), make.session.get(Site, parcel.destination_id)
    assert (parcel.direction, parcel.state) == ("from_citizen", "created")
    assert (origin.code, destination.code) == ("BD-CAMPHA", "TTHCC")  # the post office in the ward, to the center
    assert make.session.get(Site, row.post_office_id).code == "BD-CAMPHA"
    again = client.post("/api/v1/delivery-requests", json=body(code, kind="pickup_dossier", street="Số 210 đường Trần Phú",
                                                                ward=CAM_PHA, period="afternoon"))
    assert again.status_code == 409 and counts(make)[:2] == (1, 2)  # one request, one parcel for the dossier
    make.scan_as("bdcp.clerk", parcel.code, "accept", site="BD-CAMPHA")  # the courier brought it back
    assert make.parcel_row(parcel.code).state == "at_site"
    delivery.generate_day(make.session, next_working_day(), utcnow())
    assert request_row(make, row.id).state == "done"


def test_a_dossier_handed_in_already_cannot_be_picked_up(client, make):
    code = registered(client, make)
    parcel = client.get(f"/api/v1/dossiers/{code}", headers=make.token("ntha")).get_json()["parcels"][0]["code"]
    make.scan_as("ntha", parcel, "accept", site="TTHCC")
    r = client.post("/api/v1/delivery-requests", json=body(code, kind="pickup_dossier"))
    assert r.status_code == 409 and error_of(r)["code"] == "already_handed_in"


def test_delivery_requests_are_rate_limited_per_address(client, make):
    answers = [client.post("/api/v1/delivery-requests", json=body("000.00.22.H47-000000-9999")).status_code
               for _ in range(11)]
    assert answers[:10] == [404] * 10 and answers[10] == 429


# -- delivery runs --------------------------------------------------------------------------------------------


def shortest(depot: tuple[float, float], points: dict[int, tuple[float, float]]) -> tuple[float, list[int]]:
    """Brute force: the shortest tour from the depot through every point and back."""
    best = None
    for order in itertools.permutations(points):
        nodes = [depot, *(points[i] for i in order), depot]
        km = sum(geodesic(a, b).km for a, b in zip(nodes, nodes[1:]))
        if best is None or km < best[0] - 1e-9:
            best = (km, list(order))
    return best


def test_a_delivery_run_per_post_office_and_slot_in_the_shortest_order(client, make, settings):
    day = next_working_day()
    streets = ["Số 120 đường Lê Thánh Tông", "Số 15 đường Nguyễn Văn Cừ", "Số 8 phố Bến Đoan", "Số 42 phố Trần Quốc Nghiễn"]
    ids = [client.post("/api/v1/delivery-requests", json=body(registered(client, make), street=s, day=day)).get_json()["id"]
           for s in streets]
    nowhere = settings.replace(geocoder_url=None)
    unlocated = ask(make, body(registered(client, make), street="Tổ 9, khu 7", day=day), settings=nowhere)[0].id
    afternoon = client.post("/api/v1/delivery-requests",
                            json=body(registered(client, make), day=day, period="afternoon")).get_json()["id"]
    office = make.session.execute(select(Site).where(Site.code == "BD-TINH")).scalars().one()

    run = delivery.generate_delivery_runs(make.session, office, day, "morning", utcnow())

    make.fresh()
    assert (run.kind, run.state, run.day, run.post_office_id) == ("delivery", "planned", day, office.id)
    assert local(run.departs_at).time() == time(8, 0) and run.frozen_at is not None
    hubs = make.session.execute(select(RunStop).where(RunStop.run_id == run.id).order_by(RunStop.seq)).scalars().all()
    assert [(s.seq, s.site_id, s.hub) for s in hubs] == [(1, office.id, True), (2, office.id, True)]
    doors = make.session.execute(select(DeliveryStop).where(DeliveryStop.run_id == run.id)
                                 .order_by(DeliveryStop.seq)).scalars().all()
    order = [d.request_id for d in doors]
    assert sorted(order) == sorted([*ids, unlocated]) and order[-1] == unlocated  # no coordinates: last
    km, best = shortest((office.lat, office.lon), {i: STREETS[s] for i, s in zip(ids, streets)})
    nodes = [(office.lat, office.lon), *(STREETS[streets[ids.index(i)]] for i in order[:-1]), (office.lat, office.lon)]
    assert sum(geodesic(a, b).km for a, b in zip(nodes, nodes[1:])) == pytest.approx(km, abs=1e-6)
    assert [d.planned_at for d in doors] == sorted(d.planned_at for d in doors)
    assert all(request_row(make, i).state == "scheduled" and request_row(make, i).run_id == run.id for i in order)
    assert request_row(make, afternoon).state == "requested"

    again = delivery.generate_delivery_runs(make.session, office, day, "morning", utcnow())  # idempotent
    later = client.post("/api/v1/delivery-requests",
                        json=body(registered(client, make), street="Số 27 đường 25/4", day=day)).get_json()["id"]
    grown = delivery.generate_delivery_runs(make.session, office, day, "morning", utcnow())
    make.fresh()
    assert again.id == grown.id == run.id
    assert make.session.execute(select(func.count()).select_from(Run)).scalar_one() == 1
    stops = make.session.execute(select(DeliveryStop.request_id).where(DeliveryStop.run_id == run.id)
                                 .order_by(DeliveryStop.seq)).scalars().all()
    assert len(stops) == 6 and later in stops


def test_the_cli_makes_the_days_delivery_runs(client, make, database_url):
    day = next_working_day()
    for period in ("morning", "afternoon"):
        client.post("/api/v1/delivery-requests", json=body(registered(client, make), day=day, period=period))
    env = {"DATABASE_URL": database_url, **TEST_SETTINGS}
    result = CliRunner().invoke(cli, ["delivery-runs", "--date", day.isoformat()], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"2 delivery runs, 2 stops on {day.isoformat()}"
    result = CliRunner().invoke(cli, ["delivery-runs", "--date", day.isoformat()], env=env)
    assert result.output.strip() == f"2 delivery runs, 2 stops on {day.isoformat()}"
    make.fresh()
    runs = make.session.execute(select(Run).order_by(Run.departs_at)).scalars().all()
    assert [(r.kind, local(r.departs_at).time()) for r in runs] == [("delivery", time(8, 0)), ("delivery", time(13, 30))]


def test_a_delivery_template_sets_the_slots_departure(client, make):
    make.network()
    r = client.post("/api/v1/run-templates", json={"name": "Phát tận nhà BĐ tỉnh", "departs": "09:15", "stops": ["BD-TINH", "TTHCC"],
                                                    "kind": "delivery", "post_office": "BD-TINH"}, headers=make.token("admin"))
    assert r.status_code == 201, r.get_data(as_text=True)
    day = next_working_day()
    client.post("/api/v1/delivery-requests", json=body(registered(client, make), day=day))
    delivery.generate_day(make.session, day, utcnow())
    make.fresh()
    [run] = make.session.execute(select(Run)).scalars().all()
    assert run.name == "Phát tận nhà BĐ tỉnh" and local(run.departs_at).time() == time(9, 15)
    assert run.template_id == r.get_json()["run_template"]["id"]


# -- privacy --------------------------------------------------------------------------------------------------


def test_contact_details_only_for_those_who_handle_the_delivery(client, make):
    day = next_working_day()
    code = registered(client, make)
    client.post("/api/v1/delivery-requests", json=body(code, day=day, phone="0987 654 321"))
    delivery.generate_day(make.session, day, utcnow())
    make.fresh()
    run = make.session.execute(select(Run)).scalars().one()
    assign = client.post(f"/api/v1/runs/{run.id}/assign", json={"courier": "nva"}, headers=make.token("gs.lan"))
    assert assign.status_code == 200, assign.get_data(as_text=True)
    url = f"/api/v1/runs/{run.id}/deliveries"

    def stop_as(username: str) -> dict:
        r = client.get(url, headers=make.token(username))
        assert r.status_code == 200, r.get_data(as_text=True)
        return r.get_json()["stops"][0]

    for handler in ("nva", "ntha", "gs.lan"):  # the run's courier, a postal clerk, a supervisor
        stop = stop_as(handler)
        assert (stop["phone"], stop["street"]) == ("0987654321", "Số 15 đường Nguyễn Văn Cừ") and stop["lat"] is not None
        assert stop["dossier"] == code and stop["recipient"] == "Nguyễn Văn An"
    other = stop_as("ttb")  # a courier of another run
    assert other["phone"] == "09******21" and other["street"] == "***" and other["lat"] is None
    assert "0987654321" not in json.dumps(other) and "Nguyễn Văn Cừ" not in json.dumps(other)
    assert other["ward"]["name"] == "Phường Hạ Long"  # routing by ward is not personal
    assert client.get(url, headers=make.token("stp.linh")).status_code == 403  # an agency clerk
    assert client.get(url).status_code == 401


def test_the_public_answers_and_pages_leak_nothing_about_other_dossiers(client, make):
    mine, theirs = registered(client, make), registered(client, make)
    client.post("/api/v1/delivery-requests", json=body(theirs, street="Số 8 phố Bến Đoan", phone="0987654321"))
    r = client.post("/api/v1/delivery-requests", json=body(mine))
    text = r.get_data(as_text=True)
    for secret in ("Nguyễn Văn An", "0912345678", "0987654321", "Bến Đoan", theirs, "Nguyễn Văn Cừ"):
        assert secret not in text
    page = client.get(f"/delivery?code={theirs}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for secret in ("Nguyễn Văn An", "0987654321", "Bến Đoan", "Sở Tư pháp"):
        assert secret not in html
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"csrf_token": token, "code": theirs, "phone_last4": "0000", "kind": "deliver_result", "province": "22",
            "ward_code": HA_LONG, "street": "Số 1", "slot_date": next_working_day().isoformat(), "slot_period": "morning"}
    refused = client.post("/delivery", data=form)
    assert refused.status_code == 404
    for secret in ("Nguyễn Văn An", "0987654321", "Bến Đoan", "Số 8"):
        assert secret not in refused.get_data(as_text=True)


# -- the page and the ward picker ---------------------------------------------------------------------------


def test_the_ward_picker_lists_the_2025_units(client):
    provinces = client.get("/api/v1/provinces").get_json()["provinces"]
    assert len(provinces) == 34 and {"code": "22", "name": "Quảng Ninh"} in provinces
    r = client.get("/api/v1/provinces/22/wards")
    wards = r.get_json()["wards"]
    assert r.status_code == 200 and "max-age" in r.headers["Cache-Control"]
    assert {"code": HA_LONG, "name": "Phường Hạ Long"} in wards and all(len(w["code"]) == 5 for w in wards)
    assert len(wards) == 54
    assert client.get("/api/v1/provinces/99/wards").status_code == 404


def test_the_delivery_page_posts_a_request_in_vietnamese(client, make):
    code = registered(client, make)
    page = client.get(f"/delivery?code={code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Giao, nhận hồ sơ tại nhà" in html and f'value="{code}"' in html
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert "<script>" not in html and "js/delivery.js" in html  # no inline script under the CSP
    assert html.count("<option value=") >= 34 + 54 and 'value="06688"' in html  # Quảng Ninh's wards, server-rendered
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"code": code, "phone_last4": "5678", "kind": "deliver_result", "province": "22", "ward_code": HA_LONG,
            "street": "Số 15 đường Nguyễn Văn Cừ", "slot_date": next_working_day().isoformat(), "slot_period": "afternoon"}
    assert client.post("/delivery", data=form).status_code == 400  # no CSRF token
    done = client.post("/delivery", data={**form, "csrf_token": token})
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and "Bưu điện đã nhận yêu cầu số" in text and "26.000 đ" in text
    assert "Phường Hạ Long" in text and "buổi chiều" in text
    bad = client.post("/delivery", data={**form, "csrf_token": token, "slot_date": "2020-01-06"})
    assert bad.status_code == 422 and "Ngày hẹn: ngày 06/01/2020 đã qua" in bad.get_data(as_text=True)
    assert 'value="Số 15 đường Nguyễn Văn Cừ"' in bad.get_data(as_text=True)  # what was typed stays
    english = client.get("/delivery", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Delivery and pick-up at home" in english


def test_tracking_links_to_the_delivery_page(client, make):
    code = registered(client, make)
    page = client.get("/track").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    found = client.post("/track", data={"code": code, "phone_last4": "5678", "csrf_token": token}).get_data(as_text=True)
    assert "/delivery?code=" in found and "kind=pickup_dossier" in found


def test_tracking_shows_the_booked_slot_and_how_far_it_is(client, make):
    make.network()
    make.site("BD-CAMPHA", "post_office", "Bưu điện Cẩm Phả", lat=21.0119, lon=107.2893)
    make.session.execute(Site.__table__.update().where(Site.code == "BD-CAMPHA").values(ward_code=CAM_PHA))
    make.session.commit()
    code, day = registered(client, make), next_working_day()
    r = client.post("/api/v1/delivery-requests", json=body(code, kind="pickup_dossier", street="Số 210 đường Trần Phú",
                                                            ward=CAM_PHA, day=day, period="afternoon"))
    assert r.status_code == 201, r.get_data(as_text=True)
    question = {"code": code, "phone_last4": "5678"}
    [booking] = client.post("/api/v1/track", json=question).get_json()["bookings"]
    assert booking == {"id": r.get_json()["id"], "kind": "pickup_dossier", "slot_date": day.isoformat(), "slot_period": "afternoon",
                       "state": "requested", "text": f"Bưu điện đến nhà nhận hồ sơ: buổi chiều {day:%d/%m/%Y} "
                                                         "(đã đặt, chờ xếp chuyến)"}
    delivery.generate_day(make.session, day, utcnow())  # the post office's run for that afternoon
    [booking] = client.post("/api/v1/track", json=question, headers={"Accept-Language": "en"}).get_json()["bookings"]
    assert booking["state"] == "scheduled"
    assert booking["text"] == f"Pick-up of the dossier at home by the post office: afternoon {day:%d/%m/%Y} (on a delivery run)"
    form = client.get("/track").get_data(as_text=True)
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    page = client.post("/track", data={**question, "csrf_token": token}).get_data(as_text=True)
    assert f"Bưu điện đến nhà nhận hồ sơ: buổi chiều {day:%d/%m/%Y} (đã xếp chuyến)" in page
