"""The procedure catalogue kept by the admin: on the pages, over the API, on the command line, in the audit log."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from models import AdminChange, Procedure
from models.counter import ProcedureIn
from postal import procedures
from postal.clock import utcnow
from postal.errors import ProcedureExists, ProcedureInUse
from tests.test_pages import csrf_of, login


def log_of(make, key: int | None = None) -> list[AdminChange]:
    make.fresh()
    query = select(AdminChange).where(AdminChange.object_type == "procedure").order_by(AdminChange.id)
    if key is not None:
        query = query.where(AdminChange.object_key == str(key))
    return list(make.session.execute(query).scalars())


def admin(make):
    return make.staff("admin")


def test_a_procedure_with_dossiers_keeps_its_name_and_agency_but_its_time_changes(network):
    s, at = network.session, utcnow()
    made = procedures.create(s, ProcedureIn(name="Cấp Phiếu lý lịch tư pháp", agency="stp", processing_days=10),
                             by=admin(network), at=at)
    assert (made.agency, made.processing_days, made.active, made.dossiers) == ("STP", 10, True, 0)
    with pytest.raises(ProcedureExists):
        procedures.create(s, ProcedureIn(name="Cấp  Phiếu lý lịch tư pháp ", agency="STP", processing_days=5),
                          by=admin(network), at=at)
    s.rollback()
    network.parcel()  # a dossier of "Cấp Phiếu lý lịch tư pháp" at STP
    with pytest.raises(ProcedureInUse) as refused:
        procedures.edit(s, made.id, ProcedureIn(name="Cấp Phiếu LLTP", agency="STP", processing_days=10),
                        by=admin(network), at=at)
    assert refused.value.params["count"] == 1
    s.rollback()
    edited = procedures.edit(s, made.id, ProcedureIn(name=made.name, agency="STP", processing_days=7, site="TTHCC"),
                             by=admin(network), at=at)
    assert (edited.processing_days, edited.site, edited.dossiers) == (7, "TTHCC", 1)
    stopped = procedures.set_active(s, made.id, False, by=admin(network), at=at)
    assert not stopped.active and network.session.get(Procedure, made.id) is not None  # stopped, never deleted
    assert [(c.action, c.before, c.after) for c in log_of(network, made.id)] == [
        ("created", None, {"name": "Cấp Phiếu lý lịch tư pháp", "agency": "STP", "processing_days": 10, "site": None,
                           "collect_fee_vnd": None, "active": True}),
        ("edited", {"processing_days": 10, "site": None}, {"processing_days": 7, "site": "TTHCC"}),
        ("deactivated", {"active": True}, {"active": False}),
    ]
    assert [p.id for p in procedures.catalogue(s, active=True).procedures] == []
    assert [p.id for p in procedures.catalogue(s, agency="STP").procedures] == [made.id]


def test_the_admin_keeps_the_catalogue_on_its_pages_and_the_counter_sees_it(client, network):
    clerk = network.app.test_client()
    login(clerk, "ntha")
    login(client, "admin")
    page = client.get("/admin/procedures").get_data(as_text=True)
    assert 'id="new-procedure"' in page and "Thủ tục" in page
    r = client.post("/admin/procedures", data={"name": "Cấp giấy phép xây dựng", "agency": "SXD", "processing_days": "15",
                                               "site": "", "csrf_token": csrf_of(page)})
    assert r.status_code == 302 and "agency=SXD" in r.headers["Location"]
    [row] = procedures.catalogue(network.session).procedures
    assert "Cấp giấy phép xây dựng" in [p["name"] for p in clerk.get("/api/v1/counter/procedures").get_json()["procedures"]]
    r = client.post("/admin/procedures", data={"name": "Cấp giấy phép xây dựng", "agency": "SXD", "processing_days": "3",
                                               "site": "", "csrf_token": csrf_of(page)})
    assert r.status_code == 200 and "đã có trong danh mục" in r.get_data(as_text=True)
    listed = client.get("/admin/procedures?agency=STP").get_data(as_text=True)
    assert "Cấp giấy phép xây dựng" not in listed
    assert "Cấp giấy phép xây dựng" in client.get("/admin/procedures?agency=SXD&state=active").get_data(as_text=True)
    own = client.get(f"/admin/procedures/{row.id}").get_data(as_text=True)
    client.post(f"/admin/procedures/{row.id}", data={"name": "Cấp giấy phép xây dựng", "agency": "SXD",
                                                      "processing_days": "20", "site": "TTHCC", "csrf_token": csrf_of(own)})
    client.post(f"/admin/procedures/{row.id}/active", data={"active": "0", "csrf_token": csrf_of(own)})
    own = client.get(f"/admin/procedures/{row.id}").get_data(as_text=True)
    assert 'id="reactivate-procedure"' in own and 'value="20"' in own
    assert clerk.get("/api/v1/counter/procedures").get_json()["procedures"] == []
    audit = client.get(f"/admin/audit?object=procedure&key={row.id}").get_data(as_text=True)
    assert re.search(r"processing_days</span>: 15 → 20", audit) and "Ngừng, khoá" in audit
    assert clerk.get("/admin/procedures").status_code == 403


def test_the_catalogue_over_the_api_written_by_admins_only(client, network):
    body = {"name": "Đăng ký khai sinh", "agency": "STP", "processing_days": 1}
    assert client.post("/api/v1/procedures", json=body, headers=network.token("gs.lan")).status_code == 403
    r = client.post("/api/v1/procedures", json=body, headers=network.token("admin"))
    assert r.status_code == 201
    made = r.get_json()["procedure"]
    assert made | {"id": 0} == {"id": 0, "name": "Đăng ký khai sinh", "agency": "STP", "agency_name": "Sở Tư pháp",
                                "processing_days": 1, "site": None, "active": True, "dossiers": 0, "collect_fee_vnd": None}
    assert client.post("/api/v1/procedures", json=body, headers=network.token("admin")).status_code == 409
    r = client.post("/api/v1/procedures", json={**body, "agency": "TTHCC"}, headers=network.token("admin"))
    assert r.status_code == 422 and "không phải cơ quan giải quyết" in r.get_json()["error"]["message"]
    assert client.post("/api/v1/procedures", json={**body, "processing_days": 400},
                       headers=network.token("admin")).status_code == 400
    r = client.put(f"/api/v1/procedures/{made['id']}", json={**body, "processing_days": 3, "site": "ph-honggai"},
                   headers=network.token("admin"))
    assert r.status_code == 200 and (r.get_json()["procedure"]["site"], r.get_json()["procedure"]["processing_days"]) == (
        "PH-HONGGAI", 3)
    r = client.post(f"/api/v1/procedures/{made['id']}/deactivate", headers=network.token("admin"))
    assert r.status_code == 200 and r.get_json()["procedure"]["active"] is False
    assert client.post("/api/v1/procedures/999/activate", headers=network.token("admin")).status_code == 404
    listed = client.get("/api/v1/procedures?active=false&agency=STP", headers=network.token("stp.linh")).get_json()
    assert [p["name"] for p in listed["procedures"]] == ["Đăng ký khai sinh"]
    assert client.get("/api/v1/procedures?active=maybe", headers=network.token("admin")).status_code == 422
    assert client.get("/api/v1/procedures?agency=NOWHERE", headers=network.token("admin")).status_code == 422
    assert client.get("/api/v1/procedures").status_code == 401
    assert [c.action for c in log_of(network)] == ["created", "edited", "deactivated"]
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"409", "403", "413"} <= set(paths["/api/v1/procedures/{procedure_id}"]["put"]["responses"])
    assert [p["name"] for p in paths["/api/v1/procedures"]["get"]["parameters"]] == ["agency", "active"]


def test_the_admin_asks_the_post_office_to_collect_an_agencys_fee_at_the_door(client, network):
    """The fee the agency asks the post office to collect when the result goes home: kept on the procedure (API
    and page), shown in the catalogue, audited; what a courier is then told to collect (postal/fees.py) adds it."""
    body = {"name": "Cấp giấy phép lái xe", "agency": "STP", "processing_days": 5}
    made = client.post("/api/v1/procedures", json={**body, "collect_fee_vnd": 135_000},
                       headers=network.token("admin")).get_json()["procedure"]
    assert made["collect_fee_vnd"] == 135_000
    r = client.put(f"/api/v1/procedures/{made['id']}", json={**body, "collect_fee_vnd": -1}, headers=network.token("admin"))
    assert r.status_code in (400, 422) and "collect_fee_vnd" in r.get_data(as_text=True)
    login(client, "admin")
    own = client.get(f"/admin/procedures/{made['id']}").get_data(as_text=True)
    assert 'value="135000"' in own
    client.post(f"/admin/procedures/{made['id']}", data={**{k: str(v) for k, v in body.items()}, "site": "",
                                                         "collect_fee_vnd": "", "csrf_token": csrf_of(own)})
    assert procedures.one(network.session, made["id"]).collect_fee_vnd is None  # left blank: no longer asked
    client.post(f"/admin/procedures/{made['id']}", data={**{k: str(v) for k, v in body.items()}, "site": "",
                                                         "collect_fee_vnd": "50000", "csrf_token": csrf_of(own)})
    listed = client.get("/admin/procedures?agency=STP").get_data(as_text=True)
    assert "50.000 đ" in listed
    audit = client.get(f"/admin/audit?object=procedure&key={made['id']}").get_data(as_text=True)
    assert re.search(r"collect_fee_vnd</span>: (None|—|) → 50000", audit), audit[-2000:]


def test_the_catalogue_from_the_command_line_listed_added_and_imported(network, postal, tmp_path):
    r = postal("procedures", "add", "Cấp giấy phép xây dựng", "--agency", "SXD", "--days", "15")
    assert r.exit_code == 0, r.output
    assert "Cấp giấy phép xây dựng" in postal("procedures", "list").output
    catalogue = tmp_path / "thu-tuc.csv"
    catalogue.write_text("name,agency,processing_days,site\n"
                         "Cấp giấy phép xây dựng,SXD,20,\n"
                         "Đăng ký khai sinh,STP,1,TTHCC\n"
                         "Chứng thực bản sao,NOWHERE,1,\n", encoding="utf-8")
    r = postal("procedures", "import", str(catalogue))
    assert r.exit_code == 1 and "line 4" in r.output and "NOWHERE" in r.output, r.output
    assert "1 created, 1 edited, 0 unchanged, 1 refused" in r.output
    again = tmp_path / "thu-tuc.json"
    again.write_text(json.dumps({"procedures": [{"name": "Đăng ký khai sinh", "agency": "STP", "processing_days": 1,
                                                 "site": "TTHCC"}]}), encoding="utf-8")
    assert "0 created, 0 edited, 1 unchanged, 0 refused" in postal("procedures", "import", str(again)).output
    listed = postal("procedures", "list", "--agency", "SXD").output
    assert "20" in listed and "Đăng ký khai sinh" not in listed
    made = [c for c in log_of(network) if c.action == "created"]
    assert len(made) == 2 and all(c.actor.startswith("postal CLI") for c in made)
