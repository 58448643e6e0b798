"""The ledger exported as EPCIS 2.0 JSON-LD: one ObjectEvent per custody event, in chain order."""

import io
import json

from postal import epcis
from postal.clock import utcnow


def test_the_ledger_exports_as_an_epcis_document(make):
    code = make.parcel(held_by="nva")
    make.scan_as("nva", code, "handover", site="STP")
    make.scan_as("stp.linh", code, "receive")
    make.fresh()
    out = io.StringIO()
    count = epcis.write_document(make.session, out, since=None, now=utcnow())
    doc = json.loads(out.getvalue())
    assert count == 4 and doc["type"] == "EPCISDocument" and doc["schemaVersion"] == "2.0"
    events = doc["epcisBody"]["eventList"]
    assert [e["bizStep"] for e in events] == ["accepting", "departing", "arriving", "receiving"]
    assert all(e["epcList"] == [f"urn:upu:s10:{code}"] for e in events)
    assert events[0]["action"] == "ADD" and events[1]["action"] == "OBSERVE"
    assert events[-1]["readPoint"] == {"id": "urn:postal:site:STP"} and events[-1]["eventTimeZoneOffset"] == "+07:00"
    assert len({e["eventID"] for e in events}) == 4


def test_since_limits_the_export(make):
    make.parcel(held_by="nva")
    make.fresh()
    later = utcnow()
    out = io.StringIO()
    assert epcis.write_document(make.session, out, since=later, now=later) == 0
    assert json.loads(out.getvalue())["epcisBody"]["eventList"] == []


def test_export_command_writes_a_file_and_checks_its_date(app, make, tmp_path):
    from click.testing import CliRunner

    from postal.cli import cli

    make.parcel(held_by="nva")
    env = {"DATABASE_URL": app.extensions["postal.settings"].database_url}
    target = tmp_path / "ledger.jsonld"
    result = CliRunner().invoke(cli, ["export-epcis", "-o", str(target)], env=env)
    assert result.exit_code == 0 and "2 events written" in result.output, result.output
    assert len(json.loads(target.read_text(encoding="utf-8"))["epcisBody"]["eventList"]) == 2
    bad = CliRunner().invoke(cli, ["export-epcis", "--since", "yesterday"], env=env)
    assert bad.exit_code == 2 and "--since" in bad.output
