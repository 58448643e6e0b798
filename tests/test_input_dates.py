"""Days outside the years the service works in (2000 to the end of the year five years on), in a body or a
query: a 4xx naming the field, nothing written. Year 1 and 9999 (with an offset that overflows) were taken
at registration and answered 500 later, or at once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from models import CustodyEvent, Dossier
from models.shapes import FIRST_DAY, last_day
from postal.clock import utcnow
from tests.test_pages import login

EDGES = ["0001-01-01T00:00:00+00:00", "0001-01-01T00:00:00+07:00", "9999-12-31T23:59:59-23:59",
         "9999-12-31T00:00:00+00:00", "1999-12-31T23:00:00+07:00"]


def dossiers(make) -> int:
    make.fresh()
    return make.session.execute(select(func.count()).select_from(Dossier)).scalar_one()


@pytest.mark.parametrize("field", ["received_at", "due_at"])
@pytest.mark.parametrize("at", EDGES)
def test_a_dossier_dated_outside_the_service_years_is_refused_naming_the_field(client, make, field, at):
    make.network()
    r = client.post("/api/v1/dossiers", json=make.dossier_body(**{field: at}), headers=make.token("ntha"))
    assert r.status_code == 400, r.get_data(as_text=True)
    message = r.get_json()["error"]["message"]
    assert f"trường {field}: ngày" in message and "nằm ngoài khoảng 01/01/2000–" in message, message
    assert dossiers(make) == 0


def test_the_bounds_are_the_service_years_and_the_edges_are_taken(client, make):
    make.network()
    assert FIRST_DAY == date(2000, 1, 1) and last_day() == date(utcnow().year + 5, 12, 31)
    first = make.dossier_body(received_at="2000-01-01T00:00:00+07:00", due_at=f"{last_day().isoformat()}T23:59:59+07:00")
    assert client.post("/api/v1/dossiers", json=first, headers=make.token("ntha")).status_code == 201
    late = make.dossier_body(due_at=f"{(last_day() + timedelta(days=1)).isoformat()}T00:00:00+07:00")
    r = client.post("/api/v1/dossiers", json=late, headers={**make.token("ntha"), "Accept-Language": "en"})
    assert r.status_code == 400
    assert f"field due_at: the day {(last_day() + timedelta(days=1)):%d/%m/%Y} is outside 01/01/2000–" in \
        r.get_json()["error"]["message"]


@pytest.mark.parametrize("at", EDGES)
def test_a_scan_dated_outside_them_is_refused_alone(client, make, at):
    codes = [make.parcel(accepted=False) for _ in range(2)]
    scans = [{**make.scan(codes[0], "accept", site="TTHCC"), "at": at}, make.scan(codes[1], "accept", site="TTHCC")]
    r = client.post("/api/v1/scans", json={"scans": scans}, headers=make.token("ntha"))
    assert r.status_code == 200
    bad, good = r.get_json()["results"]
    assert bad["status"] == "rejected" and good["status"] == "accepted"
    assert any(words in bad["error"]["message"] for words in ("trường at: ngày", "thời điểm at nằm ngoài")), bad
    make.fresh()
    assert make.session.execute(select(func.count()).select_from(CustodyEvent)).scalar_one() == 1


QUERIES = [  # (url, field)
    ("/api/v1/reports/agencies?from=0001-01-01", "from"),
    ("/api/v1/reports/agencies?from=2026-01-01&to=9999-12-31", "to"),
    ("/api/v1/reports/agencies?from=1999-12-31&to=2026-01-01&format=csv", "from"),
    ("/api/v1/runs?date=9999-12-31", "date"),
    ("/api/v1/runs?date=0001-01-01", "date"),
]


@pytest.mark.parametrize(("url", "field"), QUERIES, ids=[q[0] for q in QUERIES])
def test_a_query_day_outside_them_is_a_422_naming_the_field(client, make, url, field):
    make.network()
    r = client.get(url, headers=make.token("gs.lan"))
    assert r.status_code == 422, r.get_data(as_text=True)
    error = r.get_json()["error"]
    assert error["code"] == "invalid_field"
    assert error["message"].startswith(f"Trường {field} không hợp lệ: ngày ") and "01/01/2000–" in error["message"]


def test_a_delivery_slot_outside_them_names_the_field(client, make):
    make.network()
    body = {"dossier": "X", "phone_last4": "5678", "kind": "deliver_result",
            "address": {"street": "12 Lê Lợi", "ward_code": "06688"}, "slot": {"date": "9999-12-31", "period": "morning"}}
    r = client.post("/api/v1/delivery-requests", json=body)
    assert r.status_code == 422 and "Ngày hẹn: ngày 31/12/9999" in r.get_json()["error"]["message"]


def test_pages_say_what_is_wrong_with_the_day_and_answer_422(client, make):
    make.network()
    login(client, "gs.lan")
    for url, field in (("/runs?date=9999-12-31", "date"), ("/runs?date=01/01/0001", "date"),
                       ("/reports?from=0001-01-01", "from"), ("/reports?to=9999-12-31", "to"),
                       ("/reports?month=9999-12", "month"), ("/reports?month=0001-01", "month")):
        r = client.get(url)
        html = r.get_data(as_text=True)
        assert r.status_code == 422 and f"Trường {field} không hợp lệ: ngày" in html, url
    assert client.get(f"/runs?date={date.today():%d/%m/%Y}").status_code == 200
