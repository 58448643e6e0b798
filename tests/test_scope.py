"""Scope on every object: a user outside an object's site or role is refused (403/404), over the API and the pages,
and what they asked to write is not written. The six cases found answering 2xx, then the rules around them."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from models import Alert, AlertKind, DeliveryRequest, Dossier, Parcel, Run
from postal import alerts, delivery, runs
from postal.clock import local, utcnow
from postal.workdays import DEFAULT_CALENDAR, Calendar

PASSWORD = "mat-khau-1"


@pytest.fixture
def settings_overrides():
    return {"POSTAL_RUN_START_WINDOW_MIN": "240"}


@pytest.fixture
def two(make):
    """The factory's network and a second post office with its own clerk and courier, a clerk at the first
    post office and one at the commune center."""
    make.network(full_names=True)
    make.site("BD-CAMPHA", "post_office", "Bưu điện Cẩm Phả", lat=21.01, lon=107.29)
    make.user("bd2.clerk", "postal_clerk", "BD-CAMPHA")
    make.user("bd2.courier", "courier", "BD-CAMPHA")
    make.user("bd1.clerk", "postal_clerk", "BD-TINH")
    make.user("hg.clerk", "postal_clerk", "PH-HONGGAI")
    return make


def count(make, table) -> int:
    make.fresh()
    return make.session.execute(select(func.count()).select_from(table)).scalar_one()


def login(app, username: str):
    """A test client logged in on the pages as this user (CSRF off: these tests are about scope)."""
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    r = client.post("/login", data={"username": username, "password": PASSWORD})
    assert r.status_code == 302, r.get_data(as_text=True)
    return client


def dossier_of(make, parcel_code: str) -> str:
    return make.session.get(Dossier, make.parcel_row(parcel_code).dossier_id).code


def upcoming_line(client, make, stops, name="Tuyến thử") -> dict:
    """A line leaving 3 hours from now and its run today (a working day made so if need be)."""
    departs = local(utcnow() + timedelta(minutes=180))
    body = {"name": name, "departs": departs.strftime("%H:%M"), "stops": list(stops), "kind": "shuttle",
            "post_office": "BD-TINH"}
    r = client.post("/api/v1/run-templates", json=body, headers=make.token("admin"))
    assert r.status_code == 201, r.get_data(as_text=True)
    day = departs.date()
    calendar = DEFAULT_CALENDAR if DEFAULT_CALENDAR.is_working_day(day) else Calendar(extra_working_days={day})
    runs.generate(make.session, day, 1, utcnow(), calendar=calendar)
    make.fresh()
    run = make.session.execute(select(Run).where(Run.name == name)).scalars().one()
    return {"id": run.id, "day": day}


# -- 1. an agency clerk making a result parcel for another agency's dossier (and reading it) ------------------


def test_an_agency_clerk_cannot_make_a_result_for_another_agencys_dossier(client, two):
    make = two
    code = dossier_of(make, make.parcel())  # decided by Sở Tư pháp
    before = count(make, Parcel)
    r = client.post(f"/api/v1/dossiers/{code}/parcels", json={"direction": "to_center", "origin": "SXD"},
                    headers=make.token("sxd.hanh"))
    assert r.status_code == 403, r.get_data(as_text=True)
    assert count(make, Parcel) == before
    assert client.get(f"/api/v1/dossiers/{code}", headers=make.token("sxd.hanh")).status_code == 403
    # nor from another origin than their own agency, for their own agency's dossier
    r = client.post(f"/api/v1/dossiers/{code}/parcels", json={"direction": "to_center", "origin": "SXD"},
                    headers=make.token("stp.linh"))
    assert r.status_code == 403 and count(make, Parcel) == before
    r = client.post(f"/api/v1/dossiers/{code}/parcels", json={"direction": "to_center", "origin": "STP"},
                    headers=make.token("stp.linh"))
    assert r.status_code == 201, r.get_data(as_text=True)


def test_pages_refuse_another_agencys_dossier(app, two):
    make = two
    parcel = make.parcel()
    code = dossier_of(make, parcel)
    other = login(app, "sxd.hanh")
    assert other.get(f"/dossiers/{code}").status_code == 403
    assert other.get(f"/parcels/{parcel}").status_code == 403
    before = count(make, Parcel)
    assert other.post(f"/desk/dossiers/{code}/result").status_code == 403
    assert count(make, Parcel) == before
    assert login(app, "stp.linh").get(f"/dossiers/{code}").status_code == 200


# -- 2. an agency clerk reading a run's manifest PDF -----------------------------------------------------


def manifested(client, make) -> tuple[dict, str, str]:
    """A run from the center to both agencies with a dossier for each on its manifest."""
    run = upcoming_line(client, make, ["TTHCC", "STP", "SXD"])
    for_stp = make.parcel()
    r = client.post("/api/v1/dossiers", json=make.dossier_body(agency="SXD", procedure="Cấp giấy phép xây dựng"),
                    headers=make.token("ntha"))
    for_sxd = r.get_json()["parcel"]["code"]
    make.scan_as("ntha", for_sxd, "accept", site="TTHCC")
    return run, for_stp, for_sxd


def pdf_text(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)


def test_an_agency_clerk_reads_only_their_own_parcels_on_a_runs_manifest(client, two):
    make = two
    run, for_stp, for_sxd = manifested(client, make)
    stp_dossier, sxd_dossier = dossier_of(make, for_stp), dossier_of(make, for_sxd)
    everything = pdf_text(client.get(f"/api/v1/runs/{run['id']}/manifest.pdf", headers=make.token("gs.lan")))
    assert for_stp in everything and for_sxd in everything and "Cấp giấy phép xây dựng" in everything
    text = pdf_text(client.get(f"/api/v1/runs/{run['id']}/manifest.pdf", headers=make.token("stp.linh")))
    assert for_stp in text and stp_dossier in text
    assert for_sxd not in text and sxd_dossier not in text and "Cấp giấy phép xây dựng" not in text
    detail = client.get(f"/api/v1/runs/{run['id']}", headers=make.token("stp.linh")).get_json()
    assert for_sxd not in json.dumps(detail) and for_stp in json.dumps(detail)
    listed = client.get(f"/api/v1/runs?date={run['day'].isoformat()}", headers=make.token("stp.linh")).get_json()
    assert for_sxd not in json.dumps(listed)
    # an agency that is no stop of the run reads nothing of it
    make.site("SYT", "agency", "Sở Y tế")
    make.user("syt.mai", "agency_clerk", "SYT")
    assert client.get(f"/api/v1/runs/{run['id']}/manifest.pdf", headers=make.token("syt.mai")).status_code in (403, 404)
    assert client.get(f"/api/v1/runs/{run['id']}", headers=make.token("syt.mai")).status_code in (403, 404)


def test_the_run_pages_and_the_manifest_with_the_login_keep_the_same_scope(app, client, two):
    make = two
    run, for_stp, for_sxd = manifested(client, make)
    agency = login(app, "stp.linh")
    assert agency.get(f"/runs/{run['id']}").status_code == 403  # run pages are for the post office's people
    text = pdf_text(agency.get(f"/api/v1/runs/{run['id']}/manifest.pdf"))
    assert for_stp in text and for_sxd not in text
    assert login(app, "bd2.courier").get(f"/runs/{run['id']}").status_code in (403, 404)


# -- 3. a postal clerk reading alerts about dossiers of sites they cannot see ------------------------------


def test_a_postal_clerk_reads_only_alerts_about_what_they_may_see(app, client, two):
    make = two
    parcel = make.parcel()
    row = make.parcel_row(parcel)
    alerts.open_alert(make.session, AlertKind.AWAITING_RECEIPT, subject_type="parcel", subject_id=row.id,
                      subject_code=parcel, at=utcnow())
    make.session.commit()
    alerts.open_alert(make.session, AlertKind.OVERDUE, subject_type="dossier", subject_id=row.dossier_id,
                      subject_code=dossier_of(make, parcel), at=utcnow())
    make.session.commit()
    assert count(make, Alert) == 2

    def seen(client, headers=None) -> list[str]:
        r = client.get("/api/v1/alerts", headers=headers or {})
        assert r.status_code == 200, r.get_data(as_text=True)
        return [a["subject"]["code"] for a in r.get_json()["alerts"]]

    assert len(seen(client, make.token("ntha"))) == 2  # the center that received it
    assert len(seen(client, make.token("gs.lan"))) == 2
    assert seen(client, make.token("bd2.clerk")) == []
    assert seen(client, make.token("hg.clerk")) == []
    page = login(app, "bd2.clerk")
    assert seen(page) == []
    assert page.get("/board").status_code == 403


# -- 4. a courier of one post office taking another office's delivery run ----------------------------------


def delivery_run(client, make) -> Run:
    body = make.dossier_body(return_method="home")
    assert client.post("/api/v1/dossiers", json=body, headers=make.token("ntha")).status_code == 201
    day = DEFAULT_CALENDAR.add_working_days(local(utcnow()).date(), 1)
    r = client.post("/api/v1/delivery-requests", json={
        "dossier": body["code"], "phone_last4": "5678", "kind": "deliver_result", "phone": "0987 654 321",
        "address": {"street": "Số 15 đường Nguyễn Văn Cừ", "ward_code": "06688"},
        "slot": {"date": day.isoformat(), "period": "morning"}})
    assert r.status_code == 201, r.get_data(as_text=True)
    delivery.generate_day(make.session, day, utcnow())
    make.fresh()
    run = make.session.execute(select(Run)).scalars().one()
    assert make.session.get(DeliveryRequest, r.get_json()["id"]).post_office_id == run.post_office_id
    return run


def test_a_courier_cannot_take_another_offices_delivery_run_nor_read_its_doors(app, client, two):
    make = two
    run = delivery_run(client, make)
    url = f"/api/v1/runs/{run.id}"
    r = client.post(f"{url}/assign", json={"courier": "bd2.courier"}, headers=make.token("bd2.courier"))
    assert r.status_code in (403, 404), r.get_data(as_text=True)
    r = client.post(f"{url}/start", headers=make.token("bd2.courier"))
    assert r.status_code in (403, 404), r.get_data(as_text=True)
    make.fresh()
    assert make.session.get(Run, run.id).courier_id is None and make.session.get(Run, run.id).state == "planned"
    r = client.get(f"{url}/deliveries", headers=make.token("bd2.courier"))
    assert r.status_code in (403, 404) and "0987654321" not in r.get_data(as_text=True)
    # an overseer may not give it to a courier of another office either
    r = client.post(f"{url}/assign", json={"courier": "bd2.courier"}, headers=make.token("gs.lan"))
    assert r.status_code == 422 and "courier" in r.get_json()["error"]["message"]
    # the office's own courier takes it and reads the doors in full
    assert client.post(f"{url}/assign", json={"courier": "nva"}, headers=make.token("nva")).status_code == 200
    assert client.get(f"{url}/deliveries", headers=make.token("nva")).get_json()["stops"][0]["phone"] == "0987654321"


def test_the_run_page_refuses_another_offices_courier(app, client, two):
    make = two
    run = delivery_run(client, make)
    page = login(app, "bd2.courier")
    assert page.get(f"/runs/{run.id}").status_code in (403, 404)
    assert page.post(f"/runs/{run.id}/start").status_code in (403, 404)
    assert page.post(f"/runs/{run.id}/assign", data={"courier": "bd2.courier"}).status_code in (302, 403, 404)
    assert str(run.id) not in page.get("/runs").get_data(as_text=True).split("/runs/")[-1][:10]
    make.fresh()
    assert make.session.get(Run, run.id).courier_id is None and make.session.get(Run, run.id).state == "planned"
    assert login(app, "nva").get(f"/runs/{run.id}").status_code == 200
    offered = login(app, "gs.lan").get(f"/runs/{run.id}").get_data(as_text=True)
    assert 'value="nva"' in offered and "bd2.courier" not in offered  # the form offers the office's couriers only


# -- 5. a clerk of one post office granting a fee exemption on another office's request --------------------


def test_a_clerk_of_another_post_office_cannot_exempt_a_request(app, client, two):
    make = two
    run = delivery_run(client, make)
    make.fresh()
    request = make.session.execute(select(DeliveryRequest)).scalars().one()
    url = f"/api/v1/delivery-requests/{request.id}/exemption"
    assert client.post(url, json={"reason": "ho_ngheo"}, headers=make.token("bd2.clerk")).status_code in (403, 404)
    page = login(app, "bd2.clerk")
    assert page.post(url, json={"reason": "ho_ngheo"}).status_code in (403, 404)
    make.fresh()
    assert make.session.get(DeliveryRequest, request.id).fee_exempt_reason is None
    assert make.session.get(DeliveryRequest, request.id).fee_vnd > 0
    assert run.post_office_id == request.post_office_id
    r = client.post(url, json={"reason": "ho_ngheo"}, headers=make.token("bd1.clerk"))
    assert r.status_code == 200 and r.get_json()["fee_vnd"] == 0


# -- 6. a clerk registering a dossier with another site as origin, or for another agency -------------------


def test_a_clerk_registers_only_at_their_own_site_and_for_an_agency_it_leads_to(app, client, two):
    make = two
    before = count(make, Dossier)
    r = client.post("/api/v1/dossiers", json=make.dossier_body(origin="PH-HONGGAI"), headers=make.token("ntha"))
    assert r.status_code == 403, r.get_data(as_text=True)
    r = client.post("/api/v1/dossiers", json=make.dossier_body(agency="SXD", origin="TTHCC"), headers=make.token("stp.linh"))
    assert r.status_code == 403, r.get_data(as_text=True)
    page = login(app, "ntha")
    assert page.post("/api/v1/dossiers", json=make.dossier_body(origin="BD-TINH")).status_code == 403
    assert count(make, Dossier) == before
    # with lines in the network, a site registers only for the agencies its lines lead to
    upcoming_line(client, make, ["TTHCC", "STP"])
    upcoming_line(client, make, ["PH-HONGGAI", "SXD"], name="Tuyến xã")
    r = client.post("/api/v1/dossiers", json=make.dossier_body(agency="STP"), headers=make.token("hg.clerk"))
    assert r.status_code == 403, r.get_data(as_text=True)
    assert count(make, Dossier) == before
    r = client.post("/api/v1/dossiers", json=make.dossier_body(agency="SXD"), headers=make.token("hg.clerk"))
    assert r.status_code == 201, r.get_data(as_text=True)
    r = client.post("/api/v1/dossiers", json=make.dossier_body(agency="STP"), headers=make.token("ntha"))
    assert r.status_code == 201, r.get_data(as_text=True)
    r = client.post("/api/v1/dossiers", json=make.dossier_body(agency="SXD", origin="PH-HONGGAI"),
                    headers=make.token("gs.lan"))
    assert r.status_code == 201, r.get_data(as_text=True)  # an overseer registers anywhere


# -- couriers see a dossier while they hold it or it is on their run ---------------------------------------


def test_a_courier_sees_a_parcel_only_while_holding_it_or_carrying_it_on_a_run(client, two):
    make = two
    held = make.parcel(held_by="nva")
    idle = make.parcel()
    assert client.get(f"/api/v1/parcels/{held}", headers=make.token("nva")).status_code == 200
    assert client.get(f"/api/v1/parcels/{held}", headers=make.token("bd2.courier")).status_code == 403
    assert client.get(f"/api/v1/parcels/{idle}", headers=make.token("bd2.courier")).status_code == 403


def test_the_network_is_written_by_admins_alone_whoever_calls_the_domain(two):
    """A site or a run template saved through the domain by a supervisor is refused there too (not only by the
    route's gate), and nothing is written; the admin may."""
    from models import RunTemplate, Site
    from models.runs import RunTemplateIn
    from postal import sites
    from postal.errors import Forbidden

    boss, admin, now = two.staff("gs.lan"), two.staff("admin"), utcnow()
    before = count(two, Site)
    with pytest.raises(Forbidden):
        sites.save_site(two.session, code="SNV", kind="agency", name="Sở Nội vụ", by=boss, at=now)
    with pytest.raises(Forbidden):
        sites.set_active(two.session, "BD-CAMPHA", False, at=now, by=boss)
    assert count(two, Site) == before
    assert two.session.execute(select(Site.active).where(Site.code == "BD-CAMPHA")).scalar_one() is True
    line = RunTemplateIn(name="Tuyến thử", departs="10:00", stops=["TTHCC", "STP"], post_office="BD-TINH")
    with pytest.raises(Forbidden):
        runs.create_template(two.session, line, actor=boss, now=now)
    assert count(two, RunTemplate) == 0
    runs.create_template(two.session, line, actor=admin, now=now)
    sites.save_site(two.session, code="SNV", kind="agency", name="Sở Nội vụ", by=admin, at=now)
    assert count(two, RunTemplate) == 1 and count(two, Site) == before + 1
