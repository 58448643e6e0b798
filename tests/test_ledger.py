"""The ledger is append-only and hash-chained; verify-ledger names the first bad event."""

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from models import CustodyEvent
from postal import db, ledger
from postal.cli import cli
from postal.clock import utcnow


def journey(make) -> str:
    code = make.parcel(held_by="nva")
    make.scan_as("nva", code, "handover", site="STP")
    make.scan_as("stp.linh", code, "receive")
    return code


def run_cli(app, *args):
    url = app.extensions["postal.settings"].database_url
    return CliRunner().invoke(cli, list(args), env={"DATABASE_URL": url, "POSTAL_LABEL_KEY": "test-label-key"})


@pytest.mark.parametrize("statement", [
    "UPDATE custody_event SET note = 'sửa'",
    "DELETE FROM custody_event",
])
def test_the_database_refuses_to_change_or_remove_an_event(app, make, statement):
    journey(make)
    with pytest.raises(DatabaseError, match="append-only"):
        with app.extensions["postal.engine"].begin() as conn:
            conn.execute(text(statement))


def test_an_intact_chain_verifies_with_its_count(app, make):
    journey(make)
    journey(make)
    result = run_cli(app, "verify-ledger")
    assert result.exit_code == 0, result.output
    assert "8 events intact; not anchored" in result.output


def test_an_event_edited_behind_the_apps_back_is_named(app, make):
    journey(make)
    engine = app.extensions["postal.engine"]
    with make.session as s:
        victim = s.execute(select(CustodyEvent).order_by(CustodyEvent.seq).offset(2)).scalars().first()
    with engine.begin() as conn:
        for statement in db.DROP_APPEND_ONLY_DDL[engine.dialect.name]:
            conn.exec_driver_sql(statement)
        conn.execute(text("UPDATE custody_event SET note = 'đã sửa' WHERE seq = :seq"), {"seq": victim.seq})
    result = run_cli(app, "verify-ledger")
    assert result.exit_code == 1
    assert str(victim.id) in result.output and "edited" in result.output


def test_a_removed_event_breaks_the_chain(app, make):
    journey(make)
    engine = app.extensions["postal.engine"]
    with engine.begin() as conn:
        for statement in db.DROP_APPEND_ONLY_DDL[engine.dialect.name]:
            conn.exec_driver_sql(statement)
        conn.execute(text("DELETE FROM custody_event WHERE seq = 2"))
    result = run_cli(app, "verify-ledger")
    assert result.exit_code == 1 and "missing" in result.output


def test_each_event_links_to_the_previous_one_and_to_its_parcel(make):
    code = journey(make)
    with make.session as s:
        rows = s.execute(select(CustodyEvent).order_by(CustodyEvent.seq)).scalars().all()
    assert rows[0].prev_hash == ledger.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:]))
    parcel = make.parcel_row(code)
    mine = [r for r in rows if r.parcel_id == parcel.id]
    assert mine[0].parcel_prev_hash == "" and all(b.parcel_prev_hash == a.hash for a, b in zip(mine, mine[1:]))
    assert parcel.last_hash == mine[-1].hash


def test_canonical_text_cannot_be_shifted_between_fields():
    at = utcnow()
    base = ledger.new_row(seq=1, id="x", action="pickup", device_at=at, server_at=at, note="a|b", evidence="")
    shifted = ledger.new_row(seq=1, id="x", action="pickup", device_at=at, server_at=at, note="a", evidence="|b")
    assert ledger.canonical(base) != ledger.canonical(shifted)

