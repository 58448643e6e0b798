"""The ledger exported as EPCIS 2.0 JSON-LD, validated against GS1's own JSON Schema (tests/data/epcis): parcel
scans as ObjectEvents, bags as AggregationEvents, loss and redirects visible, CBV where CBV has the meaning."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pytest
from jsonschema import Draft7Validator
from sqlalchemy import select

from models import CustodyEvent
from postal import epcis
from postal.clock import utcnow
from tests.test_delivery import deliver, otp_sent, result_for_home

SCHEMA = json.loads((Path(__file__).parent / "data" / "epcis" / "EPCIS-JSON-Schema.json").read_text())
CBV_STEPS = set(SCHEMA["definitions"]["bizStep"]["anyOf"][1]["enum"])
CBV_DISPOSITIONS = set(SCHEMA["definitions"]["disposition"]["anyOf"][1]["enum"])


def export(make, **kw) -> dict:
    make.fresh()
    out = io.StringIO()
    epcis.write_document(make.session, out, since=kw.get("since"), until=kw.get("until"), now=utcnow())
    return json.loads(out.getvalue())


def valid(document: dict) -> dict:
    """The document, once GS1's schema (formats included: URIs, date-times) finds nothing wrong with it."""
    validator = Draft7Validator(SCHEMA, format_checker=Draft7Validator.FORMAT_CHECKER)
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
    assert problems == []
    return document


def test_the_ledger_exports_as_an_epcis_document(make):
    code = make.parcel(held_by="nva")
    make.scan_as("nva", code, "handover", site="STP")
    make.scan_as("stp.linh", code, "receive")
    doc = valid(export(make))
    assert doc["type"] == "EPCISDocument" and doc["schemaVersion"] == "2.0"
    events = doc["epcisBody"]["eventList"]
    assert [e["bizStep"] for e in events] == ["accepting", "departing", "arriving", "receiving"]
    assert [e["disposition"] for e in events] == ["in_progress", "in_transit", "urn:hoso-buudien:disp:awaiting_receipt",
                                                  "in_progress"]
    assert all(e["epcList"] == [f"urn:upu:s10:{code}"] for e in events)
    assert events[0]["action"] == "ADD" and events[1]["action"] == "OBSERVE"
    assert events[-1]["readPoint"] == {"id": "urn:hoso-buudien:site:STP"} and events[-1]["eventTimeZoneOffset"] == "+07:00"
    assert events[2]["sourceList"] == [{"type": "possessing_party", "source": "urn:hoso-buudien:party:courier:nva"}]
    assert events[2]["destinationList"] == [{"type": "possessing_party", "destination": "urn:hoso-buudien:party:site:STP"}]
    ids = [e["eventID"] for e in events]
    assert len(set(ids)) == 4 and all(uuid.UUID(i.removeprefix("urn:uuid:")) for i in ids)
    assert [e["hsbd:seq"] for e in events] == [1, 2, 3, 4] and all(len(e["hsbd:chainHash"]) == 64 for e in events)


def test_a_day_with_bags_a_redirect_a_failed_attempt_a_delivery_and_a_loss_is_what_gs1_accepts(client, make):
    """Everything our ledger can say, in one export: every bizStep and disposition is CBV's or a URI of ours."""
    codes = [make.parcel() for _ in range(3)]
    bag = client.post("/api/v1/bags", json={"seal": "NP-7", "parcels": [make.payload(c) for c in codes], "site": "TTHCC"},
                      headers=make.token("ntha")).get_json()["bag"]
    for action, user, site in [("pickup", "nva", None), ("handover", "nva", "STP"), ("receive", "stp.linh", None)]:
        scan = make.scan(bag["code"], action, site=site)
        scan["label"] = bag["qr_payload"]
        client.post("/api/v1/scans", json={"scans": [scan]}, headers=make.token(user))
    unbag = make.scan(bag["code"], "unbag", evidence={"scanned": [make.payload(c) for c in codes[:2]]})
    unbag["label"] = bag["qr_payload"]
    client.post("/api/v1/scans", json={"scans": [unbag]}, headers=make.token("stp.linh"))
    moved = make.parcel()
    r = client.post(f"/api/v1/parcels/{moved}/redirect", json={"destination": "SXD", "reason": "Sai cơ quan"},
                    headers=make.token("gs.lan"))
    assert r.status_code == 200, r.get_data(as_text=True)
    _, home = result_for_home(client, make)
    make.scan_as("nva", home, "out_for_delivery")
    make.scan_as("nva", home, "attempt_failed", note="Không có ai ở nhà")
    assert deliver(client, make, home, otp_sent(make))["status"] == "accepted"

    events = valid(export(make))["epcisBody"]["eventList"]
    kinds = {(e["type"], e.get("action")) for e in events}
    assert ("AggregationEvent", "ADD") in kinds and ("AggregationEvent", "DELETE") in kinds
    sealed = next(e for e in events if e["type"] == "AggregationEvent" and e["action"] == "ADD")
    assert sealed["parentID"] == f"urn:upu:s10:{bag['code']}" and sealed["disposition"] == "container_closed"
    assert sorted(sealed["childEPCs"]) == sorted(f"urn:upu:s10:{c}" for c in codes)
    opened = next(e for e in events if e["type"] == "AggregationEvent" and e["action"] == "DELETE")
    assert opened["disposition"] == "container_open" and len(opened["childEPCs"]) == 2
    [lost] = [e for e in events if e["disposition"] == "urn:hoso-buudien:disp:missing"]
    assert lost["epcList"] == [f"urn:upu:s10:{codes[2]}"] and lost["hsbd:missingFrom"] == f"urn:upu:s10:{bag['code']}"
    [redirect] = [e for e in events if e["bizStep"] == "urn:hoso-buudien:bizstep:redirecting"]
    assert {"type": "location", "destination": "urn:hoso-buudien:site:SXD"} in redirect["destinationList"]
    steps = {e["epcList"][0]: [] for e in events if "epcList" in e}
    for e in events:
        if "epcList" in e:
            steps[e["epcList"][0]].append(e["bizStep"])
    assert steps[f"urn:upu:s10:{home}"][-2:] == ["urn:hoso-buudien:bizstep:delivery_attempt_failed",
                                                  "urn:hoso-buudien:bizstep:delivering"]
    for e in events:  # CBV's words, or a URI of ours: never a bare word GS1 does not define
        assert e["bizStep"] in CBV_STEPS or e["bizStep"].startswith("urn:hoso-buudien:")
        assert e["disposition"] in CBV_DISPOSITIONS or e["disposition"].startswith("urn:hoso-buudien:")
    assert len({e["eventID"] for e in events}) == len(events)


@pytest.mark.parametrize("field", ["since", "until"])
def test_since_and_until_limit_the_export(make, field):
    make.parcel(held_by="nva")
    later = utcnow()
    kept = valid(export(make, **{field: later}))["epcisBody"]["eventList"]
    assert len(kept) == (0 if field == "since" else 2)


def test_the_demo_province_exports_as_gs1_accepts(app, make):
    from postal import demo

    demo.seed(make.session, make.settings, utcnow())
    events = valid(export(make))["epcisBody"]["eventList"]
    ledger = make.session.execute(select(CustodyEvent.seq, CustodyEvent.parcel_id, CustodyEvent.action)).all()
    told = {seq for seq, parcel, action in ledger if parcel is None or action not in epcis.BAG_MAPPING}
    assert {e["hsbd:seq"] for e in events if "hsbd:seq" in e} == told  # every event of the week, bags by their own
    assert len(told) > 100


def test_export_command_writes_a_file_and_checks_its_dates(app, make, tmp_path):
    from click.testing import CliRunner

    from postal.cli import cli

    make.parcel(held_by="nva")
    env = {"DATABASE_URL": app.extensions["postal.settings"].database_url}
    target = tmp_path / "ledger.jsonld"
    result = CliRunner().invoke(cli, ["export-epcis", "-o", str(target), "--until", "2999-01-01T00:00:00+07:00"], env=env)
    assert result.exit_code == 0 and "2 events written" in result.output, result.output
    valid(json.loads(target.read_text(encoding="utf-8")))
    for option in ("--since", "--until"):
        bad = CliRunner().invoke(cli, ["export-epcis", option, "yesterday"], env=env)
        assert bad.exit_code == 2 and option in bad.output


# -- the query interface: GET /api/v1/epcis/events -----------------------------------------------------------


def test_the_query_pages_through_the_callers_events_as_gs1_accepts(client, make):
    codes = [make.parcel(held_by="nva") for _ in range(3)]
    for code in codes:
        make.scan_as("nva", code, "handover", site="STP")
        make.scan_as("stp.linh", code, "receive")
    seen, url, pages = [], "/api/v1/epcis/events?perPage=5", 0
    while url:
        r = client.get(url, headers=make.token("gs.lan"))
        assert r.status_code == 200, r.get_data(as_text=True)
        doc = valid(r.get_json())
        assert doc["type"] == "EPCISQueryDocument"
        seen += doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        link = r.headers.get("Link")
        url = link[link.index("<") + 1:link.index(">")].replace("http://localhost", "") if link else None
        pages += 1
    assert pages == 3 and [e["hsbd:seq"] for e in seen] == list(range(1, 13))  # 12 events, 5 a page, none twice


def test_the_query_filters_as_the_rest_binding_names_them(client, make):
    first, second = make.parcel(held_by="nva"), make.parcel(held_by="nva")
    make.scan_as("nva", first, "handover", site="STP")
    make.scan_as("stp.linh", first, "receive")
    headers = make.token("gs.lan")

    def found(query: str) -> list[dict]:
        r = client.get(f"/api/v1/epcis/events?{query}", headers=headers)
        assert r.status_code == 200, r.get_data(as_text=True)
        return valid(r.get_json())["epcisBody"]["queryResults"]["resultsBody"]["eventList"]

    assert {e["epcList"][0] for e in found(f"MATCH_epc=urn:upu:s10:{second}")} == {f"urn:upu:s10:{second}"}
    assert [e["bizStep"] for e in found("EQ_bizStep=receiving")] == ["receiving"]
    assert {e["bizLocation"]["id"] for e in found("EQ_bizLocation=urn:hoso-buudien:site:STP")} == {
        "urn:hoso-buudien:site:STP"}
    assert found("LT_eventTime=2001-01-01T00:00:00%2B07:00") == []
    assert len(found("GE_eventTime=2001-01-01T00:00:00Z")) == 6
    for bad, field in [("perPage=0", "perPage"), ("EQ_bizStep=sold", "EQ_bizStep"), ("MATCH_epc=HC1", "MATCH_epc"),
                       ("GE_eventTime=today", "GE_eventTime"), ("nextPageToken=xyz", "nextPageToken")]:
        r = client.get(f"/api/v1/epcis/events?{bad}", headers=headers)
        assert r.status_code == 422 and field in r.get_json()["error"]["message"], bad


def test_a_clerk_reads_only_the_events_at_their_own_site_and_a_courier_none(client, make):
    code = make.parcel(held_by="nva")
    make.scan_as("nva", code, "handover", site="STP")
    make.scan_as("stp.linh", code, "receive")
    r = client.get("/api/v1/epcis/events", headers=make.token("stp.linh"))
    events = valid(r.get_json())["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert [e["bizStep"] for e in events] == ["arriving", "receiving"]  # at Sở Tư pháp; not the center's accept
    assert client.get("/api/v1/epcis/events", headers=make.token("nva")).status_code == 403
    assert client.get("/api/v1/epcis/events").status_code == 401


def test_a_generated_day_of_10000_events_exports_as_gs1_accepts(make):
    """A busy day: 2,500 dossiers accepted, picked up, handed over and received (10,000 scans in four batches)."""
    from datetime import timedelta

    from models import User
    from postal import custody

    make.network()
    staff = {u.username: u for u in make.session.execute(select(User)).scalars()}
    n, start = 2_500, utcnow() - timedelta(hours=8)
    codes = make.bulk_parcels(n, at=start, prefix="DAY", serial=60_000_000)
    for hour, (action, who, site) in enumerate([("accept", "ntha", "TTHCC"), ("pickup", "nva", "TTHCC"),
                                                ("handover", "nva", "STP"), ("receive", "stp.linh", "STP")]):
        at = start + timedelta(hours=hour + 1)
        batch = [make.scan(c, action, site=site, at=at) for c in codes]
        outcomes = custody.record_scans(make.session, batch, actor=staff[who], settings=make.settings, now=at)
        assert {o.status for o in outcomes} == {"accepted"}
    events = valid(export(make))["epcisBody"]["eventList"]
    assert len(events) == 4 * n
    assert [e["hsbd:seq"] for e in events] == list(range(1, 4 * n + 1))  # every event, in chain order
    assert {e["bizStep"] for e in events} == {"accepting", "departing", "arriving", "receiving"}
