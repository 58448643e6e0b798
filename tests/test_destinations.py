"""A parcel goes only where it is addressed: a handover, receipt or delivery elsewhere is refused with nothing
written and a `misrouted` alert on the board; a redirect is the one way to send it elsewhere."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import func, select

from models import Alert, CustodyEvent
from models.dossiers import ParcelIn
from models.runs import RunTemplateIn
from postal import dossiers, runs
from postal.clock import LOCAL_TZ, utcnow
from tests.test_pages import csrf_of, login

WEDNESDAY = date(2026, 12, 2)


def events(make) -> int:
    make.fresh()
    return make.session.execute(select(func.count()).select_from(CustodyEvent)).scalar_one()


def scan(client, make, username, code, action, **kw) -> dict:
    r = client.post("/api/v1/scans", json={"scans": [make.scan(code, action, **kw)]}, headers=make.token(username))
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()["results"][0]


def result_at_stp(client, make, direction: str) -> str:
    """A dossier carried to Sở Tư pháp and received there, and its result's parcel made by the agency's clerk."""
    code = make.parcel(held_by="nva")
    scan(client, make, "nva", code, "handover", site="STP")
    scan(client, make, "stp.linh", code, "receive")
    dossier = client.get(f"/api/v1/parcels/{code}", headers=make.token("gs.lan")).get_json()["dossier"]
    return dossiers.add_parcel(make.session, dossier, ParcelIn(direction=direction, origin="STP"),
                               actor=make.staff("stp.linh"), settings=make.settings, now=utcnow()).code


def misrouted(make, code: str) -> Alert | None:
    make.fresh()
    return make.session.execute(select(Alert).where(Alert.kind == "misrouted", Alert.subject_code == code)
                                .order_by(Alert.id.desc())).scalars().first()


def refused_as_misrouted(client, make, username, code, action, *, where: str, **kw) -> dict:
    """The scan is refused naming the right destination, writes nothing, and leaves the parcel where it was."""
    before, holder = events(make), make.holder_of(code)
    res = scan(client, make, username, code, action, **kw)
    assert res["status"] == "rejected" and res["error"]["code"] == "misrouted", res
    assert "gửi Sở Tư pháp" in res["error"]["message"] and where in res["error"]["message"]
    assert "không kèm chuyến" not in res["error"]["message"]  # no rejection suggests a way around the rule
    assert events(make) == before and make.holder_of(code) == holder
    return res


def test_a_handover_at_another_agency_is_refused_and_flagged(client, make):
    code = make.parcel(held_by="nva")  # addressed to Sở Tư pháp
    refused_as_misrouted(client, make, "nva", code, "handover", site="SXD", where="Sở Xây dựng")
    alert = misrouted(make, code)
    assert alert.state == "open" and alert.severity == "critical"
    assert "nva" in alert.note and "Sở Xây dựng" in alert.note and "SXD" in alert.note
    board = client.get("/api/v1/alerts?kind=misrouted", headers=make.token("gs.lan")).get_json()["alerts"]
    assert [a["subject"]["code"] for a in board] == [code]


def test_the_other_agency_cannot_confirm_it_either(client, make):
    code = make.parcel(held_by="nva")
    refused_as_misrouted(client, make, "sxd.hanh", code, "receive", where="Sở Xây dựng")  # receiver only
    assert "sxd.hanh" in misrouted(make, code).note


def test_a_second_attempt_updates_the_one_alert_naming_who_tried_where(client, make):
    code = make.parcel(held_by="nva")
    refused_as_misrouted(client, make, "nva", code, "handover", site="SXD", where="Sở Xây dựng")
    refused_as_misrouted(client, make, "nva", code, "handover", site="PH-HONGGAI", where="phường Hồng Gai")
    make.fresh()
    alerts = make.session.execute(select(Alert).where(Alert.kind == "misrouted")).scalars().all()
    assert len(alerts) == 1 and "PH-HONGGAI" in alerts[0].note  # a commune center is not its destination either


def test_a_courier_cannot_deliver_a_counter_result_at_the_door(client, make):
    code = make.parcel(held_by="nva")  # a dossier going to its agency, not to the citizen
    before = events(make)
    res = scan(client, make, "nva", code, "deliver", evidence={"otp": "123456", "recipient_name": "Nguyễn Văn An"})
    assert res["status"] == "rejected" and res["error"]["code"] == "misrouted"
    assert "Sở Tư pháp" in res["error"]["message"] and "nhà người dân" in res["error"]["message"]
    assert events(make) == before
    alert = misrouted(make, code)
    assert alert.state == "open" and make.holder_of(code) == "nva"
    assert alert.note.startswith("nva thử giao tại nhà người dân lúc ")  # no "(—)", no "người dân" twice
    assert "(—)" not in alert.note and alert.note.endswith("; bì gửi Sở Tư pháp.")


def at(hh: int, mm: int) -> datetime:
    return datetime.combine(WEDNESDAY, time(hh, mm), tzinfo=LOCAL_TZ)


def picked_up_on_a_run(make, stops: list[str]):
    """A parcel for Sở Tư pháp taken at the center onto Wednesday's 10:30 run stopping at `stops`; (code, run)."""
    make.network()
    runs.create_template(make.session, RunTemplateIn(name="Tuyến 1", departs="10:30", stops=stops,
                                                     post_office="BD-TINH"), actor=make.staff("admin"), now=at(6, 0))
    runs.generate(make.session, WEDNESDAY, 1, at(6, 0))
    code = make.parcel(accepted=False)
    make.record("ntha", code, "accept", at(9, 0), site="TTHCC")
    run = next(r for r in runs.runs_of_day(make.session, WEDNESDAY).runs if r.departs_at.astimezone(LOCAL_TZ).hour == 10)
    make.record("nva", code, "pickup", at(10, 35), site="TTHCC", run=run.id)
    return code, run


def refused_on_the_run(make, code: str, action: str, **kw):
    """A scan on the run is refused as misrouted, writes nothing, and the alert is open on the board."""
    before = events(make)
    outcome = make.record("nva", code, action, at(10, 50), expect="rejected", **kw)
    assert outcome.error.code == "misrouted" and outcome.error.params["destination"] == "Sở Tư pháp"
    said = outcome.error.message % {k: str(v) for k, v in outcome.error.params.items()}
    assert said.startswith(f"Bì {code} gửi Sở Tư pháp, không phải ")  # the message the courier reads
    assert events(make) == before and make.holder_of(code) == "nva"
    assert misrouted(make, code).state == "open"
    return outcome


def test_with_a_run_that_stops_there_too_a_misroute_is_refused(make):
    code, run = picked_up_on_a_run(make, ["TTHCC", "SXD", "STP"])
    refused_on_the_run(make, code, "handover", site="SXD", run=run.id)
    make.record("nva", code, "handover", at(11, 5), site="STP", run=run.id)  # where it is addressed: accepted


def test_with_a_run_a_commune_center_on_the_way_is_not_its_destination(make):
    code, run = picked_up_on_a_run(make, ["TTHCC", "PH-HONGGAI", "STP"])
    outcome = refused_on_the_run(make, code, "handover", site="PH-HONGGAI", run=run.id)
    assert str(outcome.error.params["site"]) == "Trung tâm PVHCC phường Hồng Gai"


def test_with_a_run_a_counter_dossier_is_not_delivered_at_the_door(make):
    code, run = picked_up_on_a_run(make, ["TTHCC", "STP"])
    outcome = refused_on_the_run(make, code, "deliver", run=run.id,
                                 evidence={"otp": "123456", "recipient_name": "Nguyễn Văn An"})
    assert str(outcome.error.params["site"]) == "nhà người dân"


def test_the_alert_resolves_when_the_parcel_reaches_its_own_destination(client, make):
    code = make.parcel(held_by="nva")
    refused_as_misrouted(client, make, "nva", code, "handover", site="SXD", where="Sở Xây dựng")
    assert misrouted(make, code).state == "open"
    assert scan(client, make, "nva", code, "handover", site="STP")["status"] == "accepted"  # no redirect: where it goes
    assert scan(client, make, "stp.linh", code, "receive")["status"] == "accepted"
    alert = misrouted(make, code)
    assert alert.state == "resolved" and "đúng nơi nhận" in alert.note


def test_a_result_for_the_citizens_door_is_not_handed_over_at_an_agency(client, make):
    result = result_at_stp(client, make, "to_citizen")
    scan(client, make, "stp.linh", result, "accept", site="STP")
    scan(client, make, "nva", result, "pickup", site="STP")
    before = events(make)
    res = scan(client, make, "nva", result, "handover", site="SXD")
    assert res["status"] == "rejected" and res["error"]["code"] == "misrouted"
    assert "gửi người dân tại nhà" in res["error"]["message"] and "Sở Xây dựng" in res["error"]["message"]
    assert events(make) == before and make.holder_of(result) == "nva"
    assert misrouted(make, result).state == "open"


def test_a_redirect_is_a_correction_event_and_the_new_destination_takes_it(client, make):
    code = make.parcel(held_by="nva")
    refused_as_misrouted(client, make, "nva", code, "handover", site="SXD", where="Sở Xây dựng")
    r = client.post(f"/api/v1/parcels/{code}/redirect", json={"destination": "SXD", "reason": "Sai cơ quan thụ lý"},
                    headers=make.token("gs.lan"))
    assert r.status_code == 200, r.get_data(as_text=True)
    parcel = r.get_json()
    assert parcel["destination"] == {"code": "SXD", "name": "Sở Xây dựng"} and parcel["holder"]["code"] == "nva"
    redirect = parcel["timeline"][-1]
    assert redirect["action"] == "redirect" and redirect["note"] == "Sai cơ quan thụ lý"
    assert redirect["evidence"] == {"from": "STP", "to": "SXD"} and redirect["actor"] == "gs.lan"
    assert scan(client, make, "nva", code, "handover", site="SXD")["status"] == "accepted"
    assert scan(client, make, "sxd.hanh", code, "receive")["status"] == "accepted"
    alert = misrouted(make, code)
    assert alert.state == "resolved" and "đúng nơi nhận" in alert.note


def test_who_may_redirect(client, make):
    code = make.parcel(held_by="nva")

    def redirect(username: str, destination: str = "SXD", reason: str = "Chuyển cơ quan khác"):
        return client.post(f"/api/v1/parcels/{code}/redirect", json={"destination": destination, "reason": reason},
                           headers=make.token(username))

    before = events(make)
    assert redirect("nva").status_code == 403  # a courier does not readdress what he carries
    assert redirect("sxd.hanh").status_code == 403  # nor another agency's clerk
    assert redirect("ntha").status_code == 403
    assert redirect("gs.lan", reason="   ").status_code == 422
    assert redirect("gs.lan", destination="TTHCC").status_code == 409  # a dossier goes to an agency
    assert redirect("gs.lan", destination="STP").status_code == 409  # where it goes already
    assert redirect("gs.lan", destination="NOWHERE").status_code == 422
    assert events(make) == before
    assert redirect("stp.linh").status_code == 200  # the agency it is addressed to passes it on to another
    assert events(make) == before + 1


def test_a_result_changes_runs_at_the_hub_on_its_way_to_a_commune_center(client, make):
    make.network()
    runs.create_template(make.session, RunTemplateIn(name="Tuyến xã", departs="14:00", stops=["TTHCC", "PH-HONGGAI"],
                                                     post_office="BD-TINH"), actor=make.staff("admin"), now=utcnow())
    result = result_at_stp(client, make, "to_center")
    assert client.post(f"/api/v1/parcels/{result}/redirect", json={"destination": "PH-HONGGAI", "reason": "Nhận ở phường"},
                       headers=make.token("gs.lan")).status_code == 200
    scan(client, make, "stp.linh", result, "accept", site="STP")
    scan(client, make, "nva", result, "pickup", site="STP")
    assert scan(client, make, "nva", result, "handover", site="TTHCC")["status"] == "accepted"  # the hub of its line
    assert scan(client, make, "ntha", result, "receive")["status"] == "accepted"
    scan(client, make, "nva", result, "pickup", site="TTHCC")
    res = scan(client, make, "nva", result, "handover", site="SXD")
    assert res["status"] == "rejected" and "phường Hồng Gai" in res["error"]["message"]


def test_a_bag_with_a_parcel_for_another_agency_is_refused_whole(client, make):
    ours, theirs = make.parcel(), make.parcel()
    r = client.post(f"/api/v1/parcels/{theirs}/redirect", json={"destination": "SXD", "reason": "Thuộc Sở Xây dựng"},
                    headers=make.token("gs.lan"))
    assert r.status_code == 200
    bag = client.post("/api/v1/bags", json={"seal": "N-1", "parcels": [make.payload(ours), make.payload(theirs)],
                                            "site": "TTHCC"}, headers=make.token("ntha")).get_json()["bag"]
    assert scan(client, make, "nva", bag["code"], "pickup", site="TTHCC")["status"] == "accepted"
    before = events(make)
    res = scan(client, make, "nva", bag["code"], "handover", site="STP")
    assert res["status"] == "rejected" and res["error"]["code"] == "misrouted" and theirs in res["error"]["message"]
    assert events(make) == before and make.holder_of(ours) == "nva"
    assert misrouted(make, theirs).state == "open"


def test_the_parcel_page_offers_the_redirect_to_a_supervisor_only(client, make):
    code = make.parcel(held_by="nva")

    def page_as(username: str) -> str:
        browser = make.app.test_client()
        assert login(browser, username).status_code == 302
        return browser.get(f"/parcels/{code}").get_data(as_text=True)

    supervisor = page_as("gs.lan")
    assert "Đổi nơi nhận" in supervisor and 'value="SXD"' in supervisor and 'value="STP"' not in supervisor
    assert "Đổi nơi nhận" not in page_as("nva")


def test_the_redirect_form_records_it_and_says_so(client, make):
    make.network(full_names=True)
    code = make.parcel()
    assert login(client, "gs.lan").status_code == 302
    page = client.get(f"/parcels/{code}").get_data(as_text=True)
    r = client.post(f"/parcels/{code}/redirect", data={"destination": "SXD", "reason": "Thuộc Sở Xây dựng",
                                                        "csrf_token": csrf_of(page)}, follow_redirects=True)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Đã đổi nơi nhận" in html and "Sở Xây dựng" in html
    dossier = client.get(f"/api/v1/parcels/{code}").get_json()["dossier"]
    sheet = client.get(f"/dossiers/{dossier}").get_data(as_text=True)  # the dossier's control sheet
    assert "đổi nơi nhận: Sở Tư pháp → Sở Xây dựng, do Phạm Thị Lan ghi" in sheet and "Thuộc Sở Xây dựng" in sheet
    r = client.post(f"/parcels/{code}/redirect", data={"destination": "SXD", "reason": "", "csrf_token": csrf_of(page)},
                    follow_redirects=True)
    assert "lý do" in r.get_data(as_text=True)  # refused, said on the page
