"""Text no table can keep (NUL, other control characters, lone surrogates), wherever a request carries it: a 4xx
naming the field, in the reader's language, and nothing written; in a scan batch only that scan is refused.
PostgreSQL refuses NUL outright, so these answered 500 there."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import uuid

import pytest
from pydantic import BaseModel
from sqlalchemy import func, select

import models
import routes
from models import Bag, CustodyEvent, Dossier, RunTemplate
from models.shapes import InShape
from tests.test_pages import csrf_of, login

NUL = "hồ\x00sơ"


def count(make, table) -> int:
    make.fresh()
    return make.session.execute(select(func.count()).select_from(table)).scalar_one()


def written(make) -> tuple[int, ...]:
    return tuple(count(make, t) for t in (Dossier, Bag, RunTemplate, CustodyEvent))


def refused(response, field: str, status: int = 400) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    message = response.get_json()["error"]["message"]
    assert f"trường {field} có ký tự u+00".lower() in message.lower(), message
    return message


BODIES = [  # (where, whom, field named, body)
    ("/api/v1/dossiers", "ntha", "procedure", lambda make: make.dossier_body(procedure=NUL)),
    ("/api/v1/dossiers", "ntha", "agency", lambda make: make.dossier_body(agency="STP\x00")),
    ("/api/v1/dossiers", "ntha", "applicant.name",
     lambda make: make.dossier_body(applicant={"name": NUL, "phone": "0912345678"})),
    ("/api/v1/dossiers", "ntha", "applicant.address",
     lambda make: make.dossier_body(applicant={"name": "An", "phone": "0912345678", "address": NUL})),
    ("/api/v1/bags", "ntha", "seal", lambda make: {"seal": NUL, "parcels": [make.parcel()], "site": "TTHCC"}),
    ("/api/v1/bags", "ntha", "parcels.0", lambda make: {"seal": "S1", "parcels": [NUL], "site": "TTHCC"}),
    ("/api/v1/run-templates", "admin", "name", lambda make: {"name": NUL, "departs": "08:00",
                                                              "stops": ["TTHCC", "STP"], "post_office": "BD-TINH"}),
    ("/api/v1/run-templates", "admin", "stops.1", lambda make: {"name": "Chuyến 8h", "departs": "08:00",
                                                                  "stops": ["TTHCC", NUL], "post_office": "BD-TINH"}),
    ("/api/v1/track", None, "code", lambda make: {"code": NUL, "phone_last4": "5678"}),
]


@pytest.mark.parametrize(("path", "user", "field", "body"), BODIES, ids=[f"{b[0]} {b[2]}" for b in BODIES])
def test_a_body_field_with_a_control_character_is_refused_naming_it(client, make, path, user, field, body):
    make.network()
    payload = body(make)
    before = written(make)
    response = client.post(path, json=payload, headers=make.token(user) if user else {})
    refused(response, field)
    assert written(make) == before


def test_the_parcel_and_redirect_bodies_too(client, make):
    code = make.parcel()
    dossier = make.parcel_row(code).dossier_id
    dossier_code = make.session.get(Dossier, dossier).code
    r = client.post(f"/api/v1/dossiers/{dossier_code}/parcels", json={"direction": "to_center", "origin": "STP\x01"},
                    headers=make.token("stp.linh"))
    assert r.status_code == 400 and "trường origin có ký tự U+0001" in r.get_json()["error"]["message"]
    r = client.post(f"/api/v1/parcels/{code}/redirect", json={"destination": "SXD", "reason": "nhầm\x00"},
                    headers=make.token("gs.lan"))
    refused(r, "reason")
    assert make.holder_of(code) == "TTHCC" and count(make, CustodyEvent) == 1


def test_a_delivery_request_names_the_field_as_the_citizen_sent_it(client, make):
    make.network()
    body = {"dossier": "X", "phone_last4": "5678", "kind": "deliver_result",
            "address": {"street": "12\x00 Lê Lợi", "ward_code": "06688"}, "slot": {"date": "2026-12-21", "period": "morning"}}
    refused(client.post("/api/v1/delivery-requests", json=body), "address.street", status=422)


def test_the_message_is_in_english_when_asked(client, make):
    make.network()
    r = client.post("/api/v1/dossiers", json=make.dossier_body(procedure=NUL),
                    headers={**make.token("ntha"), "Accept-Language": "en"})
    assert r.status_code == 400
    assert r.get_json()["error"]["message"] == ("The data sent is not valid: field procedure holds the character "
                                                "U+0000 (a control character or an invalid code), which cannot be stored")
    r = client.get("/api/v1/parcels/HC%00", headers={**make.token("ntha"), "Accept-Language": "en"})
    assert r.status_code == 400
    assert r.get_json()["error"]["message"] == ("Field code holds the character U+0000 (a control character or an "
                                                "invalid code): remove it and send again.")


PATHS = [  # (url, field named); each a 400 before the view looks anything up
    ("/api/v1/dossiers/AB%00C", "code"),
    ("/api/v1/dossiers/AB%00C/control-sheet.pdf", "code"),
    ("/api/v1/dossiers/AB%00C/apologies/1.pdf", "code"),
    ("/api/v1/parcels/HC%00", "code"),
    ("/api/v1/parcels/HC%1B/label.png", "code"),
    ("/api/v1/parcels/HC%7F/label.svg", "code"),
    ("/api/v1/provinces/2%002/wards", "code"),
    ("/api/v1/alerts?kind=%00", "kind"),
    ("/api/v1/alerts?state=open%00", "state"),
    ("/api/v1/runs?date=2026-12-07%00", "date"),
    ("/api/v1/reports/agencies?from=%00", "from"),
    ("/api/v1/reports/agencies?to=2026-12-01&format=csv%00", "format"),
    ("/api/v1/dossiers/X/control-sheet.pdf?reason=tr%E1%BB%85%00", "reason"),
    ("/api/v1/sites?x%00y=1", "xU+0000y"),
]


@pytest.mark.parametrize(("url", "field"), PATHS, ids=[p[0] for p in PATHS])
def test_a_path_or_query_with_a_control_character_is_refused_naming_it(client, make, url, field):
    make.network()
    refused(client.get(url, headers=make.token("gs.lan")), field)


def test_a_post_path_is_refused_and_nothing_written(client, make):
    make.network()
    before = written(make)
    r = client.post("/api/v1/dossiers/AB%00/parcels", json={"direction": "to_center", "origin": "STP"},
                    headers=make.token("stp.linh"))
    refused(r, "code")
    assert written(make) == before


def test_pages_and_their_forms_refuse_it_too(client, make):
    make.network()
    code = make.parcel()
    r = client.post("/track", data={"code": NUL, "phone_last4": "5678"})
    assert r.status_code == 400 and "Trường code có ký tự U+0000" in r.get_data(as_text=True)
    r = client.get("/track?code=%00")
    assert r.status_code == 400
    token = csrf_of(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"username": "ntha\x00", "password": "x", "csrf_token": token})
    assert r.status_code == 400 and "Trường username có ký tự U+0000" in r.get_data(as_text=True)
    assert login(client, "gs.lan").status_code == 302
    for url, field in ((f"/parcels/{code}%00", "code"), ("/dossiers/A%00B", "code"), ("/find?q=HC%00", "q"),
                       ("/runs?date=%00", "date"), ("/reports?from=%00", "from"), ("/board/data?x=%00", "x")):
        r = client.get(url)
        assert r.status_code == 400 and f"Trường {field} có ký tự U+0000" in r.get_data(as_text=True), url
    token = csrf_of(client.get(f"/parcels/{code}").get_data(as_text=True))
    r = client.post(f"/parcels/{code}/redirect", data={"destination": "SXD", "reason": NUL, "csrf_token": token})
    assert r.status_code == 400 and "Trường reason có ký tự U+0000" in r.get_data(as_text=True)
    assert make.holder_of(code) == "TTHCC" and count(make, CustodyEvent) == 1


def test_in_a_scan_batch_only_the_bad_scans_are_refused(client, make):
    codes = [make.parcel(accepted=False) for _ in range(5)]
    scans = [
        {**make.scan(codes[0], "accept", site="TTHCC"), "label": make.payload(codes[0]) + "\x00"},
        make.scan(codes[1], "accept", site="TTHC\x00"),
        make.scan(codes[2], "accept", site="TTHCC", evidence={"người\x00nhận": "An"}),
        make.scan(codes[3], "accept", site="TTHCC", evidence={"ảnh": ["a", "b\x1f"]}),
        make.scan(codes[4], "accept", site="TTHCC", note="đủ hồ sơ"),
    ]
    r = client.post("/api/v1/scans", json={"scans": scans}, headers=make.token("ntha"))
    assert r.status_code == 200, r.get_data(as_text=True)
    results = r.get_json()["results"]
    assert [x["status"] for x in results] == ["rejected"] * 4 + ["accepted"]
    assert [x["id"] for x in results] == [s["id"] for s in scans]
    messages = [x["error"]["message"] for x in results[:4]]
    for message, field in zip(messages, ("label", "site", "evidence", "evidence.ảnh.1"), strict=True):
        assert f"trường {field} có ký tự U+00" in message, message
    assert [make.parcel_row(c).state for c in codes] == ["created"] * 4 + ["at_site"]


def test_text_that_is_fine_stays_fine(client, make):
    """Tab and newline are text; Vietnamese, emoji and right-to-left script are too."""
    make.network()
    body = make.dossier_body(procedure="Cấp phiếu\tlý lịch 🇻🇳 שלום", applicant={"name": "Nguyễn\nVăn An",
                                                                                 "phone": "0912345678"})
    assert client.post("/api/v1/dossiers", json=body, headers=make.token("ntha")).status_code == 201
    assert client.get("/api/v1/alerts?kind=overdue&note=d%C3%B2ng%0A2", headers=make.token("gs.lan")).status_code == 200


def in_shapes(package) -> list[type[BaseModel]]:
    found = []
    for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        module = importlib.import_module(info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseModel) and value.__module__ == module.__name__ and value.__name__.endswith("In"):
                found.append(value)
    return found


def test_every_in_shape_lives_in_models_and_checks_its_text():
    """So a new request body cannot forget the check: it is a model's, not an endpoint's."""
    shapes = in_shapes(models)
    assert len(shapes) >= 15
    forgot = [s.__name__ for s in shapes if not issubclass(s, InShape) and s.__name__ != "ScanEnvelopeIn"]
    assert forgot == []
    assert [s.__name__ for s in in_shapes(routes)] == []


def test_an_unknown_scan_id_with_a_control_character_is_refused_alone(client, make):
    code = make.parcel(accepted=False)
    scans = [{"id": "\x00", "label": "x", "action": "accept", "at": "2026-01-01T00:00:00Z"},
             make.scan(code, "accept", site="TTHCC")]
    results = client.post("/api/v1/scans", json={"scans": scans}, headers=make.token("ntha")).get_json()["results"]
    assert [x["status"] for x in results] == ["rejected", "accepted"]
    assert uuid.UUID(results[1]["id"])


def test_what_a_device_made_up_is_answered_safely(client, make):
    """A scan's id or field name holding a lone surrogate was put back in the answer, which then could not be
    written (500): the id and the name come back with such characters as their code points."""
    code = make.parcel(accepted=False)
    body = ('{"scans": [{"id": "\\ud800", "label": "x", "action": "accept", "at": "2026-01-01T00:00:00Z"}, '
            '%s, {"id": "%s", "label": "x", "action": "accept", "at": "2026-01-01T00:00:00Z", "x\\u0000y": 1}, '
            '{"id": "%s", "label": "x", "action": "accept", "at": "2026-01-01T00:00:00Z", "\\udfff": 1}]}')
    good = make.scan(code, "accept", site="TTHCC")
    other = str(uuid.uuid4())
    r = client.post("/api/v1/scans", data=body % (json.dumps(good), other, other), content_type="application/json",
                    headers=make.token("ntha"))
    assert r.status_code == 200, r.get_data(as_text=True)
    first, second, third, fourth = r.get_json()["results"]
    assert (first["status"], first["id"]) == ("rejected", "U+D800")
    assert second["status"] == "accepted"
    assert third["id"] == other and "xU+0000y" in third["error"]["message"]
    assert fourth["status"] == "rejected" and "mã lẻ của một cặp UTF-16" in fourth["error"]["message"]


def test_digits_are_ascii_digits(client, make):
    """\\d takes ٥ and ５ too: the last four digits of a phone are ASCII, as the phone is stored."""
    make.network()
    r = client.post("/api/v1/track", json={"code": "X", "phone_last4": "٥٦٧٨"})
    assert r.status_code == 400 and "phone_last4" in r.get_json()["error"]["message"]
    r = client.post("/api/v1/run-templates", json={"name": "Chuyến", "departs": "０８:００", "stops": ["TTHCC", "STP"],
                                                   "post_office": "BD-TINH"}, headers=make.token("admin"))
    assert r.status_code == 400 and "departs" in r.get_json()["error"]["message"]
