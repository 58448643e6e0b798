"""Dossiers, parcels, sites, labels and the OpenAPI document over the API."""

from datetime import timedelta

from postal.clock import utcnow


def test_registering_a_dossier_gives_its_first_parcel_label(client, make):
    make.network()
    body = make.dossier_body()
    r = client.post("/api/v1/dossiers", json=body, headers=make.token("ntha"))
    assert r.status_code == 201
    answer = r.get_json()
    assert answer["dossier"]["code"] == body["code"] and answer["dossier"]["status"] == "registered"
    assert answer["dossier"]["agency"] == {"code": "STP", "name": "Sở Tư pháp"}
    parcel = answer["parcel"]
    assert parcel["qr_payload"].startswith(parcel["code"] + ":") and parcel["label_url"].endswith("/label.png")
    png = client.get(parcel["label_url"].replace("http://localhost", ""), headers=make.token("ntha"))
    assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    svg = client.get(f"/api/v1/parcels/{parcel['code']}/label.svg", headers=make.token("ntha"))
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"


def test_the_same_body_again_is_200_and_another_body_is_409(client, make):
    make.network()
    body = make.dossier_body()
    first = client.post("/api/v1/dossiers", json=body, headers=make.token("ntha"))
    again = client.post("/api/v1/dossiers", json=body, headers=make.token("ntha"))
    assert (first.status_code, again.status_code) == (201, 200) and first.get_json() == again.get_json()
    other = client.post("/api/v1/dossiers", json={**body, "procedure": "Khác"}, headers=make.token("ntha"))
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "dossier_exists"


def test_bad_dossiers_are_refused_naming_the_field_and_nothing_is_written(client, make):
    make.network()
    headers = make.token("ntha")
    cases = {
        "agency": make.dossier_body(agency="NOWHERE"),
        "applicant.phone": make.dossier_body(applicant={"name": "A", "phone": "12345678"}),
        "due_at": make.dossier_body(due_at=(utcnow() - timedelta(days=3)).isoformat()),
    }
    for field, body in cases.items():
        r = client.post("/api/v1/dossiers", json=body, headers=headers)
        assert r.status_code == 422 and field in r.get_json()["error"]["message"], (field, r.get_json())
        assert client.get(f"/api/v1/dossiers/{body['code']}", headers=headers).status_code == 404
    r = client.post("/api/v1/dossiers", json={**make.dossier_body(), "return_method": "pigeon"}, headers=headers)
    assert r.status_code == 400 and "return_method" in r.get_json()["error"]["message"]
    r = client.post("/api/v1/dossiers", json={**make.dossier_body(), "received_at": "2026-11-23T08:00:00"}, headers=headers)
    assert r.status_code == 400 and "received_at" in r.get_json()["error"]["message"]  # no offset


def test_a_courier_may_not_register_dossiers(client, make):
    make.network()
    r = client.post("/api/v1/dossiers", json=make.dossier_body(), headers=make.token("nva"))
    assert r.status_code == 403


def test_dossier_status_follows_its_parcels_and_masks_the_phone_for_couriers(client, make):
    code = make.parcel(held_by="nva")
    dossier_code = client.get(f"/api/v1/parcels/{code}", headers=make.token("nva")).get_json()["dossier"]
    seen_by_courier = client.get(f"/api/v1/dossiers/{dossier_code}", headers=make.token("nva")).get_json()
    assert seen_by_courier["dossier"]["status"] == "to_agency"
    assert seen_by_courier["dossier"]["applicant"]["phone"] == "09******78"
    assert seen_by_courier["dossier"]["late"] is False
    seen_by_clerk = client.get(f"/api/v1/dossiers/{dossier_code}", headers=make.token("ntha")).get_json()
    assert seen_by_clerk["dossier"]["applicant"]["phone"] == "0912345678"
    make.scan_as("nva", code, "handover", site="STP")
    make.scan_as("stp.linh", code, "receive")
    r = client.post(f"/api/v1/dossiers/{dossier_code}/parcels", json={"direction": "to_center", "origin": "STP"},
                    headers=make.token("stp.linh"))
    assert r.status_code == 201
    result = r.get_json()["parcel"]
    assert result["destination"]["code"] == "TTHCC" and result["state"] == "created"
    detail = client.get(f"/api/v1/dossiers/{dossier_code}", headers=make.token("gs.lan")).get_json()
    assert detail["dossier"]["status"] == "result_ready" and len(detail["parcels"]) == 2


def test_a_dossier_past_its_due_date_is_late(client, make):
    make.network()
    received = utcnow() - timedelta(days=12)
    body = make.dossier_body(received_at=received.isoformat(), due_at=(received + timedelta(days=10)).isoformat())
    client.post("/api/v1/dossiers", json=body, headers=make.token("ntha"))
    assert client.get(f"/api/v1/dossiers/{body['code']}", headers=make.token("ntha")).get_json()["dossier"]["late"] is True


def test_sites_are_listed_under_a_plural_key(client, make):
    make.network()
    sites = client.get("/api/v1/sites", headers=make.token("nva")).get_json()["sites"]
    assert {s["code"] for s in sites} >= {"TTHCC", "STP", "BD-TINH"}
    assert set(sites[0]) == {"code", "kind", "name", "address", "ward_code", "lat", "lon", "active"}
    assert [s["code"] for s in sites] == ["STP", "SXD", "TTHCC", "PH-HONGGAI", "BD-TINH"]  # by kind, then code


def test_unknown_things_are_404_in_the_callers_language(client, make):
    make.network()
    r = client.get("/api/v1/parcels/HC000000000VN", headers={**make.token("nva"), "Accept-Language": "en"})
    assert r.status_code == 404 and r.get_json()["error"]["message"] == "No parcel HC000000000VN was found."
    r = client.get("/api/v1/dossiers/NOPE", headers=make.token("nva"))
    assert r.get_json()["error"]["message"] == "Không tìm thấy hồ sơ NOPE."


def test_openapi_is_generated_from_the_request_models(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    scan_body = doc["paths"]["/api/v1/scans"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert scan_body == {"$ref": "#/components/schemas/ScanBatchIn"}
    scan = doc["components"]["schemas"]["ScanIn"]
    assert set(scan["required"]) == {"id", "label", "action", "at"}
    assert "pickup" in scan["properties"]["action"]["enum"]
    for path in ["/api/v1/dossiers", "/api/v1/dossiers/{code}", "/api/v1/dossiers/{code}/parcels", "/api/v1/sites",
                 "/api/v1/parcels/{code}", "/api/v1/parcels/{code}/label.png", "/api/v1/bags"]:
        assert path in doc["paths"]


def test_status_follows_the_parcel_that_moved_last_not_a_booked_pickup():
    from types import SimpleNamespace as Row

    from postal.dossiers import status_of

    dossier = Row(returned_at=None)
    moved = Row(id=1, direction="to_agency", state="at_site", holder_site_id=2, origin_id=1, destination_id=2,
                last_event_at=utcnow())
    booked_pickup = Row(id=2, direction="from_citizen", state="created", holder_site_id=None, origin_id=9,
                        destination_id=1, last_event_at=None)
    result_label = Row(id=3, direction="to_center", state="created", holder_site_id=None, origin_id=2,
                       destination_id=1, last_event_at=None)
    assert status_of([booked_pickup], dossier) == "registered"  # the citizen has not handed it in yet
    assert status_of([moved, booked_pickup], dossier) == "at_agency"  # the booking decides nothing
    assert status_of([moved, booked_pickup, result_label], dossier) == "result_ready"  # the next leg began


def test_over_the_api_too_a_clerk_reads_only_dossiers_that_pass_through_their_site(client, make):
    code = make.parcel()  # received at the center, going to Sở Tư pháp
    dossier = client.get(f"/api/v1/parcels/{code}", headers=make.token("ntha")).get_json()["dossier"]
    for path in (f"/api/v1/dossiers/{dossier}", f"/api/v1/parcels/{code}"):
        refused = client.get(path, headers=make.token("sxd.hanh"))  # Sở Xây dựng: not theirs
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "site_forbidden"
        assert "Sở Tư pháp" in refused.get_json()["error"]["message"]
        assert client.get(path, headers=make.token("stp.linh")).status_code == 200  # its agency
        assert client.get(path, headers=make.token("nva")).status_code == 403  # a courier: only what he carries
    make.network()
    make.site("BD-HALONG", "post_office", "Bưu điện Hạ Long")
    make.user("bdhl.clerk", "postal_clerk", "BD-HALONG")
    make.scan_as("nva", code, "pickup", site="TTHCC")
    make.scan_as("nva", code, "handover", site="STP")
    make.scan_as("stp.linh", code, "receive", site="STP")
    r = client.post(f"/api/v1/dossiers/{dossier}/parcels", json={"direction": "to_citizen", "origin": "STP"},
                    headers=make.token("stp.linh"))
    code = r.get_json()["parcel"]["code"]  # the result, for home delivery: it passes through the post office
    assert client.get(f"/api/v1/parcels/{code}", headers=make.token("bdhl.clerk")).status_code == 403
    make.scan_as("stp.linh", code, "accept", site="STP")
    make.scan_as("nva", code, "pickup", site="STP")
    make.scan_as("nva", code, "handover", site="BD-HALONG")  # it passes through their counter on the way
    make.scan_as("bdhl.clerk", code, "receive", site="BD-HALONG")
    make.scan_as("nva", code, "out_for_delivery", site="BD-HALONG")
    assert client.get(f"/api/v1/parcels/{code}", headers=make.token("bdhl.clerk")).status_code == 200  # its history
