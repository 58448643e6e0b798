"""The OpenAPI document and the server agree: the same operations, path parameters typed as the Flask converters
read them, the query parameters the views read under the names they read them, and the error statuses in the
error's shape."""

from __future__ import annotations

import re

import pytest
from flask import request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

PREFIX = "/api/v1"
IGNORED = {"HEAD", "OPTIONS"}
USERS = {"admin": "admin", "supervisor": "gs.lan", "postal_clerk": "ntha", "courier": "nva", "agency_clerk": "stp.linh"}


def document(client) -> dict:
    return client.get(f"{PREFIX}/openapi.json").get_json()


def rules(app) -> dict[tuple[str, str], object]:
    """Every API operation Flask serves, as (method, OpenAPI path) -> its rule."""
    found = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX + "/"):
            path = re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule.rule)
            for method in rule.methods - IGNORED:
                found[(method.lower(), path)] = rule
    return found


def operations(doc: dict) -> dict[tuple[str, str], dict]:
    return {(method, path): op for path, ops in doc["paths"].items() for method, op in ops.items()}


def test_every_api_rule_is_in_the_document_and_every_operation_is_served(app, client):
    served, documented = set(rules(app)), set(operations(document(client)))
    assert served - documented == set(), "served but not in the OpenAPI document"
    assert documented - served == set(), "in the OpenAPI document but not served"
    assert len(served) >= 36


def test_path_parameters_are_typed_as_the_converters_read_them(app, client):
    ops = operations(document(client))
    for key, rule in rules(app).items():
        params = {p["name"]: p for p in ops[key].get("parameters", []) if p["in"] == "path"}
        assert set(params) == set(rule.arguments), key
        for name, converter in rule._converters.items():
            expected = "integer" if isinstance(converter, IntegerConverter) else "string"
            assert params[name]["schema"]["type"] == expected, (key, name)
            assert params[name]["required"] is True


def test_every_operation_documents_its_error_statuses_in_the_error_shape(client):
    for (method, path), op in operations(document(client)).items():
        responses = op["responses"]
        assert any(s.startswith("2") for s in responses), (method, path)
        expected = {"400"} | ({"401", "403"} if "security" in op else set()) | ({"404"} if "{" in path else set())
        expected |= {"413"} if "requestBody" in op else set()
        expected |= {"422"} if any(p["in"] == "query" for p in op.get("parameters", [])) else set()
        assert expected <= set(responses), (method, path)
        for status, response in responses.items():
            if status[0] in "45":
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    ops = operations(document(client))
    for key in [("post", "/api/v1/scans"), ("post", "/api/v1/dossiers"), ("post", "/api/v1/runs/{run_id}/start")]:
        assert ops[key]["responses"]["503"]["headers"]["Retry-After"]["required"] is True
    assert "429" in ops[("post", "/api/v1/track")]["responses"] and "503" not in ops[("post", "/api/v1/track")]["responses"]
    assert "security" not in ops[("post", "/api/v1/track")] and "401" not in ops[("get", "/api/v1/provinces")]["responses"]
    assert ops[("post", "/api/v1/alerts/{alert_id}/ack")]["requestBody"]["required"] is False
    assert "8 MB" in ops[("post", "/api/v1/scans")]["responses"]["413"]["description"]


def test_the_document_names_the_roles_that_may_call(client):
    ops = operations(document(client))
    assert ops[("post", "/api/v1/run-templates")]["description"] == "Roles: admin"
    assert ops[("get", "/api/v1/reports/agencies")]["description"] == "Roles: admin, supervisor"


class Reading(ImmutableMultiDict):
    """The query, noting each name the view asks for."""

    read: set[str]

    def get(self, key, *args, **kwargs):
        self.read.add(key)
        return super().get(key, *args, **kwargs)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.read.add(key)
        return super().__contains__(key)

    def getlist(self, key, *args, **kwargs):
        self.read.add(key)
        return super().getlist(key, *args, **kwargs)


@pytest.fixture
def reads(app) -> dict[str, set[str]]:
    """The query names each view read, by path."""
    seen: dict[str, set[str]] = {}

    def record() -> None:
        args = Reading(request.args)
        args.read = seen.setdefault(request.path, set())
        request.__dict__["args"] = args

    app.before_request_funcs.setdefault(None, []).append(record)
    return seen


def test_the_query_parameters_are_those_the_views_read_under_their_names(app, client, make, reads):
    make.network()
    doc = document(client)
    checked = 0
    for (method, path), op in operations(doc).items():
        if method != "get" or "{" in path or any(p.get("required") for p in op.get("parameters", [])):
            continue
        role = op.get("description", "Roles: admin").removeprefix("Roles: ").split(", ")[0]
        r = client.get(path, headers=make.token(USERS[role]))
        assert r.status_code == 200, (path, r.get_data(as_text=True)[:300])
        documented = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        assert reads.get(path, set()) == documented, path
        checked += bool(documented)
    assert checked >= 4
    report = operations(doc)[("get", "/api/v1/reports/agencies")]
    assert {p["name"]: p["schema"].get("format") for p in report["parameters"]} == {"from": "date", "to": "date",
                                                                                     "format": None}


def test_a_refused_query_value_is_a_documented_422(client, make):
    make.network()
    r = client.get(f"{PREFIX}/reports/agencies?from=2026-13-01", headers=make.token("gs.lan"))
    assert r.status_code == 422 and "from" in r.get_json()["error"]["message"]
    r = client.get(f"{PREFIX}/epcis/events?perPage=0", headers=make.token("gs.lan"))
    assert r.status_code == 422 and "perPage" in r.get_json()["error"]["message"]
    per_page = next(p for p in operations(document(client))[("get", f"{PREFIX}/epcis/events")]["parameters"]
                    if p["name"] == "perPage")
    assert per_page["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000}


def test_a_method_the_api_does_not_take_is_405_with_allow(client, make):
    make.network()
    r = client.delete(f"{PREFIX}/sites", headers=make.token("admin"))
    assert r.status_code == 405
    assert set(r.headers["Allow"].replace(" ", "").split(",")) >= {"GET"}
    assert r.get_json()["error"]["code"] == "method_not_allowed"
    r = client.put(f"{PREFIX}/run-templates", headers=make.token("admin"))
    assert r.status_code == 405 and {"GET", "POST"} <= set(r.headers["Allow"].replace(" ", "").split(","))


def test_a_page_answers_405_with_allow_too(client):
    r = client.get("/logout")
    assert r.status_code == 405 and "POST" in r.headers["Allow"] and "<html" in r.get_data(as_text=True)


def test_answers_are_documented_as_the_server_writes_them(client, make):
    """An answer's schema is its model as dumped (aliases and all): the report says `from` and `to`."""
    make.network()
    schemas = document(client)["components"]["schemas"]
    report = client.get(f"{PREFIX}/reports/agencies", headers=make.token("gs.lan")).get_json()
    documented = schemas["AgencyReportOut"]
    assert set(documented["required"]) == set(report) == {"from", "to", "agencies", "total"}


def test_text_the_server_refuses_is_text_the_document_refuses(client, make):
    """The pattern of every text field and text parameter says what routes/inputs.py and models/shapes.py refuse."""
    make.network()
    doc = document(client)
    procedure = doc["components"]["schemas"]["DossierIn"]["properties"]["procedure"]
    pattern = re.compile(procedure["pattern"])
    assert pattern.match("Cấp Phiếu lý lịch tư pháp\tsố 1") and not pattern.match("Cấp\x07 Phiếu")
    r = client.post(f"{PREFIX}/dossiers", json=make.dossier_body(procedure="Cấp\x07 Phiếu"), headers=make.token("ntha"))
    assert r.status_code == 400 and "procedure" in r.get_json()["error"]["message"]
    [code] = [p for p in operations(doc)[("get", f"{PREFIX}/parcels/{{code}}")]["parameters"] if p["name"] == "code"]
    assert code["schema"]["pattern"] == procedure["pattern"] and code["schema"]["minLength"] == 1
    r = client.get(f"{PREFIX}/parcels/HC%7F1", headers=make.token("ntha"))
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "unstorable_text"
    due = doc["components"]["schemas"]["DossierIn"]["properties"]["due_at"]
    assert due["format"] == "date-time" and "2000-01-01" in due["description"]


def test_a_dossier_code_with_a_slash_is_served_by_every_dossier_operation(client, make):
    """The dossier code's pattern takes a slash (as some one-stop systems number them): each operation on a
    dossier takes the rest of the path as its code."""
    make.network()
    code = "12/2026/STP-0001"
    assert client.post(f"{PREFIX}/dossiers", json=make.dossier_body(code=code), headers=make.token("ntha")).status_code == 201
    r = client.get(f"{PREFIX}/dossiers/{code}", headers=make.token("ntha"))
    assert r.status_code == 200 and r.get_json()["dossier"]["code"] == code
    r = client.post(f"{PREFIX}/dossiers/{code}/parcels", json={"direction": "to_center", "origin": "STP"},
                    headers=make.token("stp.linh"))
    assert r.status_code == 201 and r.get_json()["parcel"]["dossier"] == code
    r = client.get(f"{PREFIX}/dossiers/{code}/control-sheet.pdf", headers=make.token("ntha"))
    assert r.status_code == 200 and r.mimetype == "application/pdf"
