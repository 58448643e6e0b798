"""Every field and every batch is bounded, and so is every body: a scan's evidence once took 10 MB into the
append-only ledger. Past a bound the answer names the field (or the limit), in the error's shape; the bounds
are in the OpenAPI document."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from models import CustodyEvent, Dossier
from models.custody import MAX_SCANS
from models.shapes import MAX_DEPTH, MAX_JSON_VALUE, MAX_KEYS
from routes.inputs import BODY_BYTES, SCAN_BATCH_BYTES


def count(make, table) -> int:
    make.fresh()
    return make.session.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_scan_with_oversized_evidence_is_refused_alone(client, make):
    codes = [make.parcel(accepted=False) for _ in range(4)]
    deep: list = []
    for _ in range(MAX_DEPTH):
        deep = [deep]
    scans = [make.scan(codes[0], "accept", site="TTHCC", evidence={"photo": "x" * MAX_JSON_VALUE}),
             make.scan(codes[1], "accept", site="TTHCC", evidence={f"k{i}": i for i in range(MAX_KEYS + 1)}),
             make.scan(codes[2], "accept", site="TTHCC", evidence={"a": deep}),
             make.scan(codes[3], "accept", site="TTHCC", evidence={"photo": "x" * (MAX_JSON_VALUE - 20)})]
    results = client.post("/api/v1/scans", json={"scans": scans}, headers=make.token("ntha")).get_json()["results"]
    assert [r["status"] for r in results] == ["rejected", "rejected", "rejected", "accepted"]
    assert f"trường evidence dài quá {MAX_JSON_VALUE} ký tự khi ghi dạng JSON" in results[0]["error"]["message"]
    assert f"trường evidence có quá {MAX_KEYS} phần tử" in results[1]["error"]["message"]
    assert f"trường evidence lồng quá {MAX_DEPTH} tầng" in results[2]["error"]["message"]
    assert count(make, CustodyEvent) == 1


@pytest.mark.parametrize(("field", "value", "words"), [
    ("procedure", "a" * 301, "trường procedure dài quá 300 ký tự"),
    ("applicant", {"name": "A" * 121, "phone": "0912345678"}, "trường applicant.name dài quá 120 ký tự"),
    ("code", "A" * 41, "trường code dài quá 40 ký tự"),
])
def test_a_text_past_its_length_is_refused_naming_the_field(client, make, field, value, words):
    make.network()
    r = client.post("/api/v1/dossiers", json=make.dossier_body(**{field: value}), headers=make.token("ntha"))
    assert r.status_code == 400 and words in r.get_json()["error"]["message"], r.get_json()
    assert count(make, Dossier) == 0


def test_the_length_is_said_in_english_too(client, make):
    make.network()
    r = client.post("/api/v1/bags", json={"seal": "S" * 41, "parcels": ["HC"], "site": "TTHCC"},
                    headers={**make.token("ntha"), "Accept-Language": "en"})
    assert r.status_code == 400
    assert r.get_json()["error"]["message"] == "The data sent is not valid: field seal is longer than 40 characters"


def test_lists_are_bounded_item_by_item_and_in_length(client, make):
    make.network()
    r = client.post("/api/v1/bags", json={"seal": "S1", "parcels": ["H" * 41], "site": "TTHCC"},
                    headers=make.token("ntha"))
    assert r.status_code == 400 and "trường parcels.0 dài quá 40 ký tự" in r.get_json()["error"]["message"]
    r = client.post("/api/v1/bags", json={"seal": "S1", "parcels": ["HC"] * 501, "site": "TTHCC"},
                    headers=make.token("ntha"))
    assert r.status_code == 400 and "trường parcels có quá 500 phần tử" in r.get_json()["error"]["message"]
    r = client.post("/api/v1/scans", json={"scans": [{}] * (MAX_SCANS + 1)}, headers=make.token("ntha"))
    assert r.status_code == 400 and f"trường scans có quá {MAX_SCANS} phần tử" in r.get_json()["error"]["message"]


def test_a_body_past_the_limit_is_a_413_in_the_error_shape(client, make):
    make.network()
    body = make.dossier_body(procedure="Cấp phiếu")
    body["padding"] = "x" * BODY_BYTES
    r = client.post("/api/v1/dossiers", json=body, headers=make.token("ntha"))
    assert r.status_code == 413
    error = r.get_json()["error"]
    assert error["code"] == "body_too_large"
    assert error["message"].startswith("Dữ liệu gửi lên quá lớn: mỗi yêu cầu tối đa 256 KB.")
    assert count(make, Dossier) == 0
    r = client.post("/track", data={"code": "x" * BODY_BYTES, "phone_last4": "1234"})  # a page's form too
    assert r.status_code == 413 and "Dữ liệu gửi lên quá lớn" in r.get_data(as_text=True)


def test_a_batch_of_scans_has_its_own_larger_limit(client, make):
    code = make.parcel(accepted=False)
    scans = [make.scan(code, "accept", site="TTHCC", note="n" * 900) for _ in range(400)]  # ~450 KB: past the usual
    body = json.dumps({"scans": scans})
    assert BODY_BYTES < len(body.encode()) < SCAN_BATCH_BYTES
    r = client.post("/api/v1/scans", data=body, content_type="application/json", headers=make.token("ntha"))
    assert r.status_code == 200 and r.get_json()["results"][0]["status"] == "accepted"  # the others: at the site already
    huge = json.dumps({"scans": scans * 20})  # ~9 MB
    assert len(huge.encode()) > SCAN_BATCH_BYTES
    r = client.post("/api/v1/scans", data=huge, content_type="application/json",
                    headers={**make.token("ntha"), "Accept-Language": "en"})
    assert r.status_code == 413
    assert r.get_json()["error"]["message"] == ("The data sent is too large: at most 8 MB per request. Split it (for "
                                                "example, send the scans in several batches) and send again.")
    assert count(make, CustodyEvent) == 1


def bodies_of(doc: dict) -> list[tuple[str, str]]:
    return [(f"{method} {path}", op["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1])
            for path, ops in doc["paths"].items() for method, op in ops.items() if "requestBody" in op]


def unbounded(schema: dict, schemas: dict, where: str, seen: set) -> list[str]:
    """The places of a request body's schema that no bound limits."""
    if "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        if name in seen:
            return []
        return unbounded(schemas[name], schemas, name, seen | {name})
    found = [p for key in ("anyOf", "oneOf", "allOf") for sub in schema.get(key, [])
             for p in unbounded(sub, schemas, where, seen)]
    kind = schema.get("type")
    if kind == "string" and not {"maxLength", "enum", "const", "format"} & schema.keys():
        found.append(where)
    if kind == "array":
        found += [] if "maxItems" in schema else [f"{where} (items)"]
        found += unbounded(schema.get("items", {}), schemas, f"{where}[]", seen)
    if kind == "object":
        for name, sub in schema.get("properties", {}).items():
            found += unbounded(sub, schemas, f"{where}.{name}", seen)
        if schema.get("additionalProperties") and "maxProperties" not in schema:
            found.append(f"{where} (keys)")
    return found


def test_the_openapi_document_carries_every_bound(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    bodies = bodies_of(doc)
    assert len(bodies) >= 12
    for operation, body in bodies:
        assert unbounded({"$ref": f"#/components/schemas/{body}"}, schemas, body, set()) == [], operation
        method, path = operation.split(" ")
        assert doc["paths"][path][method]["responses"]["413"]["content"]["application/json"]["schema"]
    evidence = next(s for s in schemas["ScanIn"]["properties"]["evidence"]["anyOf"] if s.get("type") == "object")
    assert evidence["maxProperties"] == MAX_KEYS and str(MAX_JSON_VALUE) in evidence["description"]
    assert schemas["ScanBatchIn"]["properties"]["scans"]["maxItems"] == MAX_SCANS
