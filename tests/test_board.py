"""The supervisor's board: its data on a known day, the page, the JSON it refreshes from, and who may see it."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest

from models import AlertKind, User
from models.runs import RunTemplateIn
from postal import alerts, runs
from postal.clock import LOCAL_TZ, as_utc, utcnow
from postal.reports.board import board as live_board
from tests.test_pages import csrf_of, login

D = date(2026, 10, 7)  # a Wednesday


def at(day: date, hh: int, mm: int) -> datetime:
    return as_utc(datetime.combine(day, time(hh, mm), tzinfo=LOCAL_TZ))


def user(make, username: str) -> User:
    return make.staff(username)


def scan(make, username: str, code: str, action: str, when: datetime, **extra) -> None:
    make.record(username, code, action, when, heard_at=when + timedelta(minutes=1), **extra)


def open_loss(make, code: str, when: datetime) -> int:
    parcel = make.parcel_row(code)
    alert = alerts.open_alert(make.session, AlertKind.SUSPECTED_LOSS, subject_type="parcel", subject_id=parcel.id,
                              subject_code=parcel.code, at=when, note="Không thấy bì")
    make.session.commit()
    return alert.id


@pytest.fixture
def day(make):
    """Two runs on D (08:00 driven, 14:00 planned), a parcel picked up with a GPS fix and handed over, an alert."""
    make.network()
    admin = user(make, "admin")
    for departs in ("08:00", "14:00"):
        runs.create_template(make.session, RunTemplateIn(name="Tuyến 1", departs=departs, stops=["TTHCC", "STP"],
                                                         post_office="BD-TINH"), actor=admin, now=at(D, 6, 0))
    assert runs.generate(make.session, D, 1, at(D, 6, 0)) == 2
    code = make.parcel(accepted=False)
    scan(make, "ntha", code, "accept", at(D, 7, 0), site="TTHCC")
    morning = min(runs.runs_of_day(make.session, D).runs, key=lambda r: r.departs_at)
    runs.start(make.session, morning.id, actor=user(make, "nva"), now=at(D, 8, 0))
    scan(make, "nva", code, "pickup", at(D, 8, 5), site="TTHCC", run=morning.id, lat=20.9512, lon=107.0801)
    scan(make, "nva", code, "handover", at(D, 8, 40), site="STP", run=morning.id)
    other = make.parcel(held_by="ttb")  # ad hoc, today: not on a run
    alert_id = open_loss(make, other, at(D, 9, 0))
    make.fresh()
    return {"make": make, "morning": morning.id, "code": code, "alert": alert_id, "other": other}


def test_the_board_of_a_day(day):
    make = day["make"]
    board = live_board(make.session, at(D, 12, 0))
    assert board.day == D
    morning, afternoon = board.runs
    assert (morning.id, morning.state, morning.courier) == (day["morning"], "started", "nva")
    assert morning.next_stop is not None and morning.late and morning.late_min >= 60
    assert (afternoon.state, afternoon.late, afternoon.courier) == ("planned", False, None)
    assert afternoon.next_stop.site == "TTHCC"
    assert board.parcels["awaiting_receipt"] == 1 and board.parcels["in_transit"] == 1
    assert board.alerts_by_severity["critical"] == 1 and board.alerts_total == 1
    [alert] = board.alerts
    assert (alert.id, alert.kind, alert.subject.code, alert.state) == (day["alert"], "suspected_loss", day["other"], "open")
    [courier] = board.couriers  # ttb's scans were on no run today
    assert (courier.courier, courier.source, courier.run) == ("nva", "site", day["morning"])  # the handover, at STP
    assert courier.site == "STP"
    assert {s.code for s in board.sites} == {"TTHCC", "STP", "SXD", "PH-HONGGAI", "BD-TINH"}
    transfers = board.charts.transfers
    assert len(transfers) == 14 and transfers[-1].day == D and transfers[-1].transfers == 1
    assert sum(t.transfers for t in transfers) == 1


def test_a_courier_seen_last_with_a_gps_fix_is_placed_there(day):
    make = day["make"]
    code = make.parcel(accepted=False)
    scan(make, "ntha", code, "accept", at(D, 8, 50), site="TTHCC")
    scan(make, "nva", code, "pickup", at(D, 9, 10), site="TTHCC", run=day["morning"], lat=20.9601, lon=107.0702)
    [courier] = live_board(make.session, at(D, 12, 0)).couriers
    assert (courier.source, courier.lat, courier.lon, courier.site) == ("gps", 20.9601, 107.0702, "TTHCC")


def test_a_run_closed_long_after_its_planned_end_is_late_and_has_no_next_stop(day):
    make = day["make"]
    run = runs.run_detail(make.session, day["morning"])
    runs.close(make.session, run.id, actor=user(make, "nva"), now=run.ends_at + timedelta(minutes=50))
    closed = next(r for r in live_board(make.session, at(D, 12, 0)).runs if r.id == run.id)
    assert closed.state == "closed" and closed.next_stop is None and closed.late and closed.late_min == 50


def test_the_page_renders_for_a_supervisor(client, make):
    make.network()
    code = make.parcel(held_by="nva")
    open_loss(make, code, utcnow())
    r = login(client, "gs.lan")
    assert client.get("/").headers["Location"] == "/board"  # a supervisor's home is the board
    r = client.get("/board")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "Bảng theo dõi" in page and "Nghi thất lạc" in page and code in page
    assert 'id="board-map"' in page and 'id="chart-ontime"' in page and 'id="chart-transfers"' in page
    assert "/vendor/leaflet/dist/leaflet.js" in page and "/vendor/chart.js/dist/chart.umd.min.js" in page
    assert "<script>" not in page  # no inline script: the content policy would block it
    assert "Bưu tá đang giữ" in page and "Nhận xử lý" in page
    policy = r.headers["Content-Security-Policy"]
    assert "img-src 'self' data: blob:;" in policy and "script-src" not in policy
    assert client.get("/vendor/leaflet/dist/leaflet.css").status_code == 200
    assert client.get("/vendor/chart.js/dist/chart.umd.min.js").status_code == 200


def test_the_page_speaks_english_when_asked(client, make):
    make.network()
    login(client, "gs.lan")
    client.post("/lang", data={"lang": "en", "next": "/board", "csrf_token": csrf_of(client.get("/board").get_data(as_text=True))})
    page = client.get("/board").get_data(as_text=True)
    assert "Today&#39;s runs" in page or "Today's runs" in page


def test_a_courier_and_a_clerk_are_refused(client, make):
    make.network()
    login(client, "nva")
    assert client.get("/board").status_code == 403
    assert client.get("/board/data", headers={"Accept": "application/json"}).status_code == 403
    assert client.get("/board/data", headers=make.token("ntha")).status_code == 403
    anonymous = make.app.test_client()
    assert anonymous.get("/board").headers["Location"].startswith("/login")
    assert anonymous.get("/board/data", headers={"Accept": "application/json"}).status_code == 401


def test_board_data_is_json_of_the_whole_board(client, make):
    make.network()
    code = make.parcel(held_by="nva")
    alert_id = open_loss(make, code, utcnow())
    r = client.get("/board/data", headers=make.token("gs.lan"))
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    data = r.get_json()
    assert set(data) == {"at", "day", "runs", "parcels", "alerts_by_severity", "alerts_total", "alerts", "couriers",
                         "sites", "charts"}
    assert list(data["parcels"]) == ["created", "at_site", "in_transit", "awaiting_receipt", "out_for_delivery", "missing"]
    assert data["parcels"]["in_transit"] == 1
    assert data["alerts_by_severity"] == {"critical": 1, "warning": 0, "info": 0}
    [alert] = data["alerts"]
    assert alert == {"id": alert_id, "kind": "suspected_loss", "severity": "critical",
                     "subject": {"type": "parcel", "code": code}, "opened_at": alert["opened_at"], "state": "open",
                     "owner": None, "note": "Không thấy bì", "resolved_at": None}
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", alert["opened_at"])
    site = next(s for s in data["sites"] if s["code"] == "STP")
    assert set(site) == {"code", "name", "kind", "lat", "lon"} and site["name"] == "Sở Tư pháp"
    assert set(data["charts"]) == {"computed_at", "on_time", "transfers"} and len(data["charts"]["transfers"]) == 14
    assert data["runs"] == [] and data["couriers"] == []


def test_acknowledging_through_the_alerts_api_shows_on_the_board(client, make):
    """What the board's buttons do: the alerts API with the login cookie and the CSRF header."""
    make.network()
    alert_id = open_loss(make, make.parcel(held_by="nva"), utcnow())
    login(client, "gs.lan")
    token = csrf_of(client.get("/board").get_data(as_text=True))
    r = client.post(f"/api/v1/alerts/{alert_id}/ack", json={}, headers={"X-CSRFToken": token})
    assert r.status_code == 200, r.get_data(as_text=True)
    [alert] = client.get("/board/data").get_json()["alerts"]
    assert (alert["state"], alert["owner"]) == ("acknowledged", "gs.lan")
    assert "Người xử lý: gs.lan" in client.get("/board").get_data(as_text=True)
    r = client.post(f"/api/v1/alerts/{alert_id}/resolve", json={"note": "Đã tìm thấy ở bưu cục"}, headers={"X-CSRFToken": token})
    assert r.status_code == 200, r.get_data(as_text=True)
    data = client.get("/board/data").get_json()
    assert data["alerts"] == [] and data["alerts_total"] == 0


def test_a_configured_tile_server_is_allowed_as_an_image_source(client, make, app):
    make.network()
    settings = app.extensions["postal.settings"]
    app.extensions["postal.settings"] = settings.replace(tile_url="https://{s}.tile.example.vn/{z}/{x}/{y}.png")
    login(client, "gs.lan")
    r = client.get("/board")
    assert "img-src 'self' https://*.tile.example.vn data: blob:" in r.headers["Content-Security-Policy"]
    assert "https://{s}.tile.example.vn/{z}/{x}/{y}.png" in r.get_data(as_text=True)


def test_the_charts_are_kept_for_a_few_minutes(client, make, app):
    make.network()
    headers = make.token("gs.lan")
    first = client.get("/board/data", headers=headers).get_json()["charts"]["computed_at"]
    assert client.get("/board/data", headers=headers).get_json()["charts"]["computed_at"] == first
    settings = app.extensions["postal.settings"]
    app.extensions["postal.settings"] = settings.replace(board_charts_ttl_s=0)
    assert client.get("/board/data", headers=headers).get_json()["charts"]["computed_at"] > first


def board_config_of(client) -> dict:
    import json

    page = client.get("/board").get_data(as_text=True)
    return json.loads(re.search(r'<script type="application/json" id="board-config">(.*?)</script>', page, re.S).group(1))


def test_the_map_is_given_the_shipped_outline_of_the_installation_s_province(client, make, app):
    make.network()
    login(client, "gs.lan")
    url = board_config_of(client)["outline_url"]
    assert url.startswith("/static/geo/22.geojson?v=")
    outline = client.get(url).get_json()
    kinds = [f["properties"]["kind"] for f in outline["features"]]
    assert kinds == ["province"] + ["commune"] * 54
    # a province with no outline shipped: a map with none
    settings = app.extensions["postal.settings"]
    app.extensions["postal.settings"] = settings.replace(province_code="01")
    assert board_config_of(client)["outline_url"] is None


def test_the_shipped_outline_holds_the_communes_of_the_official_list_and_is_light():
    import json
    from pathlib import Path

    from vietnam_provinces import Ward

    path = Path(__file__).resolve().parent.parent / "static" / "geo" / "22.geojson"
    assert path.stat().st_size < 300_000  # a light file, simplified at build time
    province, *communes = json.loads(path.read_text(encoding="utf-8"))["features"]
    assert province["properties"] == {"kind": "province", "code": "22", "name": "Tỉnh Quảng Ninh"}
    official = {f"{int(w.code):05d}": w.name for w in Ward.iter_by_province(22)}
    assert {f["properties"]["code"]: f["properties"]["name"] for f in communes} == official
    for feature in [province, *communes]:
        assert feature["geometry"]["type"] == "MultiPolygon" and feature["geometry"]["coordinates"]
        points = [p for polygon in feature["geometry"]["coordinates"] for ring in polygon for p in ring]
        # within Quảng Ninh, in longitude, latitude order (GeoJSON's)
        assert all(106.3 < lon < 108.2 and 20.6 < lat < 21.8 for lon, lat in points), feature["properties"]
