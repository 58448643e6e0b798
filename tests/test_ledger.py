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


def bagged_journey(client, make) -> list[str]:
    """Two parcels sealed in a bag, carried to an agency, received and opened there with one missing."""
    codes = [make.parcel() for _ in range(2)]
    bag = client.post("/api/v1/bags", json={"seal": "NP-1", "parcels": [make.payload(c) for c in codes], "site": "TTHCC"},
                      headers=make.token("ntha")).get_json()["bag"]
    for user, action, extra in [("nva", "pickup", {}), ("nva", "handover", {"site": "STP"}), ("stp.linh", "receive", {}),
                                ("stp.linh", "unbag", {"evidence": {"scanned": [make.payload(codes[0])]}})]:
        scan = {**make.scan(bag["code"], action, **extra), "label": bag["qr_payload"]}
        r = client.post("/api/v1/scans", json={"scans": [scan]}, headers=make.token(user))
        assert r.get_json()["results"][0]["status"] == "accepted", r.get_json()
    return codes


def test_every_parcel_row_agrees_with_its_last_event(app, client, make):
    journey(make)
    make.parcel(accepted=False)  # created: no event yet
    make.parcel(held_by="ttb")
    bagged_journey(client, make)
    result = run_cli(app, "verify-ledger", "--state")
    assert result.exit_code == 0, result.output
    assert "5 parcels match their last event" in result.output


@pytest.mark.parametrize("edit, says", [
    ("UPDATE parcel SET holder_site_id = (SELECT id FROM site WHERE code = 'SXD') WHERE code = :code",
     "held by site:SXD, its last event hands it to site:STP"),
    ("UPDATE parcel SET state = 'delivered', holder_site_id = NULL, holder_user_id = NULL WHERE code = :code",
     "it is delivered, but its last event (receive) leaves it at_site"),
    ("UPDATE parcel SET last_hash = NULL WHERE code = :code", "is not that of its last event"),
    ("UPDATE parcel SET holder_user_id = (SELECT id FROM user_account WHERE username = 'nva') WHERE code = :code",
     "a courier (nva) is named as its holder"),
])
def test_a_parcel_row_edited_behind_the_ledgers_back_is_named(app, make, edit, says):
    journey(make)
    code = journey(make)
    with app.extensions["postal.engine"].begin() as conn:
        conn.execute(text(edit), {"code": code})
    result = run_cli(app, "verify-ledger", "--state")
    assert result.exit_code == 1
    assert f"parcel {code} does not match the ledger" in result.output and says in result.output


def test_a_parcel_taken_out_of_its_bag_behind_the_ledgers_back_is_named(app, client, make):
    code = make.parcel()
    bag = client.post("/api/v1/bags", json={"seal": "NP-2", "parcels": [make.payload(code)], "site": "TTHCC"},
                      headers=make.token("ntha"))
    assert bag.status_code == 201
    with app.extensions["postal.engine"].begin() as conn:
        conn.execute(text("UPDATE parcel SET bag_id = NULL WHERE code = :code"), {"code": code})
    result = run_cli(app, "verify-ledger", "--state")
    assert result.exit_code == 1 and "its row puts it in bag none" in result.output


def test_a_parcel_moved_without_any_event_is_named(app, make):
    code = make.parcel(accepted=False)
    with app.extensions["postal.engine"].begin() as conn:
        conn.execute(text("UPDATE parcel SET state = 'at_site', holder_site_id = (SELECT id FROM site WHERE code = "
                          "'TTHCC') WHERE code = :code"), {"code": code})
    result = run_cli(app, "verify-ledger", "--state")
    assert result.exit_code == 1 and "the ledger has no event of it" in result.output


def test_parcels_delivered_sent_back_or_lost_agree_with_their_last_event(app, client, make):
    from tests.test_delivery import deliver, otp_sent, result_for_home

    _, back = result_for_home(client, make)
    make.scan_as("nva", back, "out_for_delivery")
    make.scan_as("nva", back, "attempt_failed", note="Không có ai ở nhà")
    make.scan_as("nva", back, "attempt_failed", note="Gọi không nghe máy")  # in transit, back to the post office
    _, home = result_for_home(client, make)
    make.scan_as("nva", home, "out_for_delivery")
    assert deliver(client, make, home, otp_sent(make))["status"] == "accepted"
    _, counter = result_for_home(client, make)
    make.scan_as("ntha", counter, "deliver", evidence={"recipient_name": "Nguyễn Văn An"})
    lost_on_the_way = make.parcel(held_by="ttb")
    make.scan_as("ttb", lost_on_the_way, "report_missing", note="Rơi trên đường")
    lost_and_found = make.parcel()
    make.scan_as("ntha", lost_and_found, "report_missing", note="Không thấy ở quầy")
    make.scan_as("gs.lan", lost_and_found, "found", site="TTHCC")
    result = run_cli(app, "verify-ledger", "--state")
    assert result.exit_code == 0, result.output
    assert make.parcel_row(back).state == "in_transit" and make.parcel_row(lost_on_the_way).state == "missing"
