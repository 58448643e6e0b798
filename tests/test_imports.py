"""Dossiers from the one-stop system: the code's format, the unit codes the admin maps to agencies, the batch API,
the import command, and what a crash or a second import leaves."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from models import AdminChange, Dossier, Parcel
from postal import imports, onestop
from postal.clock import local, utcnow
from postal.errors import Unprocessable
from tests.test_pages import csrf_of, login

UNIT = "000.00.22.H47"


def row(make, n: int, **overrides) -> dict:
    received = utcnow() - timedelta(hours=1)
    body = make.dossier_body(f"{UNIT}-{local(received):%y%m%d}-{n:04d}", origin="TTHCC",
                             received_at=received.isoformat(), due_at=(received + timedelta(days=10)).isoformat())
    body.update(overrides)
    return body


def counts(make) -> tuple[int, int]:
    make.fresh()
    return (make.session.execute(select(func.count()).select_from(Dossier)).scalar_one(),
            make.session.execute(select(func.count()).select_from(Parcel)).scalar_one())


def test_the_one_stop_code_is_unit_day_and_serial():
    code = onestop.read_code("000.00.22.h47-261207-0012")
    assert (code.unit, code.day, code.serial) == (UNIT, date(2026, 12, 7), 12)
    for bad, words in [("HS-2026-0001", "V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX"), ("000.00.22.H47-261345-0001", "261345"),
                       ("000.00.22.H47-261207-0000", "0001"), ("000.0.22.H47-261207-0001", "YYMMDD")]:
        with pytest.raises(Unprocessable) as refused:
            onestop.read_code(bad)
        assert refused.value.params["field"] == "code" and words in str(refused.value)


def test_a_batch_answers_each_row_and_a_refused_row_keeps_the_others(client, network):
    client_token = network.token("gs.lan")
    first = row(network, 1)
    r = client.post("/api/v1/dossiers/batch", json={"dossiers": [first]}, headers=client_token)
    assert r.status_code == 200 and r.get_json()["results"][0]["status"] == "created"
    unmapped = row(network, 3)
    del unmapped["agency"]
    batch = [first, {**first, "applicant": {**first["applicant"], "phone": "0987654321"}},
             row(network, 2, code="HS-0002"), unmapped, row(network, 4, agency="TTHCC"), "not an object",
             row(network, 5, code=f"{UNIT}-200101-0005"), row(network, 6)]
    r = client.post("/api/v1/dossiers/batch", json={"dossiers": batch}, headers=client_token)
    answer = r.get_json()
    assert r.status_code == 200 and [x["status"] for x in answer["results"]] == [
        "unchanged", "conflict", "invalid", "invalid", "invalid", "invalid", "invalid", "created"]
    assert (answer["created"], answer["unchanged"], answer["conflict"], answer["invalid"]) == (1, 1, 1, 5)
    conflict, bad_code, no_agency, not_agency, _, wrong_day, _ = answer["results"][1:]
    assert conflict["fields"] == ["applicant.phone"] and "số điện thoại" in conflict["error"]["message"]
    assert "code" in bad_code["error"]["message"] and "YYMMDD" in bad_code["error"]["message"]
    assert UNIT in no_agency["error"]["message"] and "agency" in no_agency["error"]["message"]
    assert "không phải cơ quan giải quyết" in not_agency["error"]["message"]
    assert "ngày tiếp nhận" in wrong_day["error"]["message"]
    assert counts(network) == (2, 2)
    r = client.post("/api/v1/dossiers/batch", json={"dossiers": [unmapped]}, headers={**client_token,
                                                                                      "Accept-Language": "en"})
    assert r.get_json()["results"][0]["error"]["message"].startswith("Field agency")
    onestop.save_unit(network.session, UNIT, "SXD", by=None, at=utcnow())
    r = client.post("/api/v1/dossiers/batch", json={"dossiers": [unmapped, row(network, 7, agency="STP")]},
                    headers=client_token)
    made, mismatch = r.get_json()["results"]
    assert made["status"] == "created" and network.session.execute(
        select(Dossier.agency_id).where(Dossier.code == unmapped["code"])).scalar_one() == \
        network.session.execute(select(Dossier.agency_id).where(Dossier.code == batch[-1]["code"])).scalar_one() + 1
    assert mismatch["status"] == "invalid" and "SXD" in mismatch["error"]["message"]


def test_a_batch_is_bounded_and_for_registrars_only(client, network):
    assert client.post("/api/v1/dossiers/batch", json={"dossiers": [row(network, 1)]},
                       headers=network.token("nva")).status_code == 403
    r = client.post("/api/v1/dossiers/batch", json={"dossiers": [{}] * 1001}, headers=network.token("gs.lan"))
    assert r.status_code == 400
    assert client.post("/api/v1/dossiers/batch", json={"dossiers": []}, headers=network.token("gs.lan")).status_code == 400
    big = {"dossiers": [row(network, 1, notes="x" * 1000)] * 1000}
    r = client.post("/api/v1/dossiers/batch", data=json.dumps(big), content_type="application/json",
                    headers=network.token("gs.lan"))
    assert r.status_code == 200 and r.get_json()["unchanged"] == 999
    huge = {"dossiers": [row(network, 1, notes="x" * 1000)] * 1000 + ["y" * 4_000_000]}
    r = client.post("/api/v1/dossiers/batch", data=json.dumps(huge), content_type="application/json",
                    headers=network.token("gs.lan"))
    assert r.status_code == 413
    spec = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/dossiers/batch"]["post"]
    assert {"200", "400", "401", "403", "413"} <= set(spec["responses"])


def test_a_crash_mid_import_leaves_whole_chunks_and_importing_again_finishes_it(network):
    rows = [row(network, n) for n in range(1, 9)]

    def crashing():
        for n, body in enumerate(rows, 1):
            if n == 6:
                raise KeyboardInterrupt  # the operator's Ctrl-C, or the machine going down, inside the second chunk
            yield n, body

    done: list[int] = []
    with pytest.raises(KeyboardInterrupt):
        imports.import_dossiers(network.session, crashing(), actor=network.staff("gs.lan"), settings=network.settings,
                                now=utcnow(), chunk=3, progress=done.append)
    assert done == [3] and counts(network) == (3, 3)  # the first chunk whole, nothing of the second
    results = imports.import_dossiers(network.session, enumerate(rows, 1), actor=network.staff("gs.lan"),
                                      settings=network.settings, now=utcnow(), chunk=3)
    assert [r.status for r in results] == ["unchanged"] * 3 + ["created"] * 5 and counts(network) == (8, 8)


def flat(body: dict) -> dict:
    applicant = body.pop("applicant")
    return {**body, **{f"applicant_{k}": v for k, v in applicant.items()}}


def test_the_import_command_reads_csv_and_json_and_a_second_import_changes_nothing(network, postal, tmp_path):
    originals = [row(network, n) for n in range(1, 6)]
    rows = [flat(json.loads(json.dumps(body))) for body in originals]
    rows[2]["applicant_phone"] = "12"
    del rows[3]["agency"]  # unit not mapped yet
    path = tmp_path / "mot-cua.csv"
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=sorted({k for r in rows for k in r}))
        writer.writeheader()
        writer.writerows(rows)
    r = postal("import-dossiers", str(path))
    assert r.exit_code == 1, r.output
    assert "3 created, 0 unchanged, 0 conflict, 2 invalid" in r.output
    assert f"line 4 {rows[2]['code']}: invalid" in r.output and f"line 5 {rows[3]['code']}: invalid" in r.output
    assert counts(network) == (3, 3)
    onestop.save_unit(network.session, UNIT, "STP", by=None, at=utcnow())
    rows[2]["applicant_phone"] = "0912345678"
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=sorted({k for r in rows for k in r}))
        writer.writeheader()
        writer.writerows(rows)
    r = postal("import-dossiers", str(path))
    assert r.exit_code == 0 and "2 created, 3 unchanged, 0 conflict, 0 invalid" in r.output, r.output
    again = tmp_path / "mot-cua.json"
    again.write_text(json.dumps({"dossiers": originals}), encoding="utf-8")
    before = counts(network)
    r = postal("import-dossiers", str(again), "--as", "ntha")
    assert r.exit_code == 0 and "0 created, 5 unchanged" in r.output and counts(network) == before
    assert postal("import-dossiers", str(again), "--as", "nva").exit_code == 1  # a courier registers nothing


def test_the_admin_maps_unit_codes_to_agencies_on_a_page_in_the_audit_log(client, network):
    login(client, "admin")
    page = client.get("/admin/onestop-units").get_data(as_text=True)
    r = client.post("/admin/onestop-units", data={"unit_code": "000.00.22.h47", "agency": "STP",
                                                  "csrf_token": csrf_of(page)})
    assert r.status_code == 302
    client.post("/admin/onestop-units", data={"unit_code": UNIT, "agency": "SXD", "csrf_token": csrf_of(page)})
    r = client.post("/admin/onestop-units", data={"unit_code": "H47", "agency": "SXD", "csrf_token": csrf_of(page)})
    assert r.status_code == 200 and "V1V2V3.Z1Z2.Y1Y2.MX1X2" in r.get_data(as_text=True)
    listed = client.get("/admin/onestop-units").get_data(as_text=True)
    assert UNIT in listed and "Sở Xây dựng" in listed
    client.post(f"/admin/onestop-units/{UNIT}/remove", data={"csrf_token": csrf_of(page)})
    assert "Chưa gắn mã đơn vị nào." in client.get("/admin/onestop-units").get_data(as_text=True)
    network.fresh()
    log = network.session.execute(select(AdminChange).where(AdminChange.object_type == "onestop_unit")
                                  .order_by(AdminChange.id)).scalars().all()
    assert [(c.action, c.before, c.after, c.actor) for c in log] == [
        ("created", None, {"agency": "STP"}, "admin"), ("edited", {"agency": "STP"}, {"agency": "SXD"}, "admin"),
        ("removed", {"agency": "SXD"}, None, "admin")]
    assert "Mã đơn vị một cửa" in client.get("/admin/audit?object=onestop_unit").get_data(as_text=True)
    staff = network.app.test_client()
    login(staff, "gs.lan")
    assert staff.get("/admin/onestop-units").status_code == 403
