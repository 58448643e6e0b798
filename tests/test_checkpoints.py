"""Signed checkpoints anchor the chain outside the database: a rewritten, shortened, emptied or rolled-back
chain no longer holds them, and verify-ledger says so with exit 1."""

from __future__ import annotations

import base64
import sqlite3
from hashlib import sha256

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from models import LedgerCheckpoint
from postal import checkpoints, db, ledger, scheduler
from postal.cli import cli
from postal.config import ConfigError, Settings
from tests.conftest import TEST_SETTINGS

PRODUCTION = {"POSTAL_ENV": "production", "POSTAL_METRICS_TOKEN": "m" * 32, "POSTAL_SECRET_KEY": "s" * 32, "POSTAL_LABEL_KEY": "l" * 32,
              "POSTAL_ARGON2_PROFILE": "RFC_9106_LOW_MEMORY",
              "POSTAL_WEBHOOK_SECRET": "w" * 32}


def run_cli(app, *args, **env):
    url = app.extensions["postal.settings"].database_url
    return CliRunner().invoke(cli, list(args), env={"DATABASE_URL": url, **TEST_SETTINGS, **env})


def journey(make) -> str:
    """Three events: accepted at the center, picked up, handed over at an agency."""
    code = make.parcel(held_by="nva")
    make.scan_as("nva", code, "handover", site="STP")
    return code


def checkpoint(app) -> str:
    result = run_cli(app, "ledger", "checkpoint")
    assert result.exit_code == 0, result.output
    return result.output


def verify(app, *args, **env):
    return run_cli(app, "verify-ledger", *args, **env)


def unguarded(app):
    """A connection with the append-only triggers of events and checkpoints dropped, as a rewriter would."""
    engine = app.extensions["postal.engine"]
    conn = engine.connect()
    for table in ("custody_event", "ledger_checkpoint"):
        for statement in db.drop_append_only_ddl(table)[engine.dialect.name]:
            conn.exec_driver_sql(statement)
    return conn


def cut_back_to(app, seq: int) -> None:
    """Remove the events after `seq` and their checkpoints, and point the head at event `seq`."""
    with unguarded(app) as conn:
        conn.execute(text("DELETE FROM custody_event WHERE seq > :seq"), {"seq": seq})
        conn.execute(text("DELETE FROM ledger_checkpoint WHERE seq > :seq"), {"seq": seq})
        last = conn.execute(text("SELECT hash FROM custody_event WHERE seq = :seq"), {"seq": seq}).scalar()
        conn.execute(text("UPDATE chain_head SET seq = :seq, hash = :hash"), {"seq": seq, "hash": last or ledger.GENESIS})
        conn.commit()


def rewrite_from(app, seq: int) -> None:
    """Edit event `seq`'s note and recompute its hash and every later one, head and parcels included:
    a chain consistent with itself from start to end."""
    with unguarded(app) as conn:
        rows = [dict(r) for r in conn.execute(select(ledger.EVENT_TABLE).order_by(ledger.EVENT_TABLE.c.seq)).mappings()]
        parcel_last: dict[int, str] = {}
        prev = ledger.GENESIS
        for row in rows:
            if row["seq"] >= seq:
                row["note"] = row["note"] + " (đã sửa)" if row["seq"] == seq else row["note"]
                row["prev_hash"], row["parcel_prev_hash"] = prev, parcel_last.get(row["parcel_id"], "")
                row["hash"] = ledger.event_hash(prev, row)
                conn.execute(text("UPDATE custody_event SET note = :note, prev_hash = :prev_hash, "
                                  "parcel_prev_hash = :parcel_prev_hash, hash = :hash WHERE seq = :seq"), row)
            prev = parcel_last[row["parcel_id"]] = row["hash"]
        conn.execute(text("UPDATE chain_head SET seq = :seq, hash = :hash"), {"seq": len(rows), "hash": prev})
        for parcel_id, last in parcel_last.items():
            conn.execute(text("UPDATE parcel SET last_hash = :h WHERE id = :id"), {"h": last, "id": parcel_id})
        conn.commit()


def test_a_checkpoint_is_a_signed_note_an_auditor_checks_with_the_public_key(app, make, checkpoint_file):
    journey(make)
    assert "checkpoint of 3 events signed" in checkpoint(app)
    note = checkpoint_file.read_text()
    body, signature_line = note.split("\n\n")
    origin, count, head_hash, made_at = body.split("\n")
    with make.session as s:
        assert (int(count), head_hash) == tuple(s.execute(text("SELECT seq, hash FROM chain_head")).one())
    assert origin == "hoso-buudien/22" and made_at.endswith("Z")
    dash, name, signature = signature_line.split()
    assert (dash, name) == ("\u2014", origin)
    public_key = run_cli(app, "ledger", "public-key").output.strip()
    key_name, key_id, key = public_key.split("+", 2)
    raw = base64.b64decode(key)
    assert key_name == origin and raw[0] == 1 and len(raw) == 33
    assert sha256(origin.encode() + b"\n\x01" + raw[1:]).digest()[:4].hex() == key_id
    signed = base64.b64decode(signature)
    assert signed[:4].hex() == key_id
    Ed25519PublicKey.from_public_bytes(raw[1:]).verify(signed[4:], (body + "\n").encode())  # raises if forged


def test_verify_says_how_far_the_chain_is_anchored(app, make):
    journey(make)
    checkpoint(app)
    journey(make)
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert "6 events intact; anchored by the checkpoint of " in result.output
    assert result.output.rstrip().endswith("(3 events); 3 events since")


def test_an_unmoved_head_adds_no_checkpoint_but_the_file_is_written_again(app, make, checkpoint_file):
    journey(make)
    checkpoint(app)
    first = checkpoint_file.read_text()
    checkpoint_file.unlink()
    assert "unchanged" in checkpoint(app)
    assert checkpoint_file.read_text() == first
    with make.session as s:
        assert s.execute(select(func.count()).select_from(LedgerCheckpoint)).scalar_one() == 1


def test_a_copy_for_an_auditor_is_written_with_o(app, make, tmp_path):
    journey(make)
    kept = tmp_path / "auditor" / "hoso.checkpoint"
    result = run_cli(app, "ledger", "checkpoint", "-o", str(kept))
    assert result.exit_code == 0 and str(kept) in result.output
    assert verify(app, "--checkpoint", str(kept)).exit_code == 0


def test_a_rewritten_chain_fails_against_every_checkpoint_kept(app, make):
    journey(make)
    checkpoint(app)  # 3 events
    journey(make)
    checkpoint(app)  # 6 events
    rewrite_from(app, 2)
    with make.session as s:
        assert ledger.verify(s).reason == ""  # consistent with itself: without checkpoints it looked intact
    result = verify(app)
    assert result.exit_code == 1
    assert "event 3's hash differs from the one the checkpoint of" in result.output and "rewritten" in result.output


def test_a_chain_rewritten_after_its_last_checkpoint_is_named_from_there(app, make):
    journey(make)
    checkpoint(app)
    journey(make)
    journey(make)
    checkpoint(app)
    rewrite_from(app, 5)
    result = verify(app)
    assert result.exit_code == 1
    assert "event 9's hash differs" in result.output and "after event 3" in result.output


def test_a_deleted_tail_fails(app, make):
    journey(make)
    journey(make)
    checkpoint(app)
    with unguarded(app) as conn:  # the checkpoints stay: only the events after the third go
        conn.execute(text("DELETE FROM custody_event WHERE seq > 3"))
        conn.execute(text("UPDATE chain_head SET seq = 3, hash = (SELECT hash FROM custody_event WHERE seq = 3)"))
        conn.commit()
    result = verify(app)
    assert result.exit_code == 1
    assert "the chain has 3 events, the checkpoint of" in result.output and "saw 6" in result.output
    assert "removed or the database was rolled back" in result.output


def test_an_emptied_ledger_fails_against_the_file_outside_the_database(app, make, checkpoint_file):
    journey(make)
    checkpoint(app)
    cut_back_to(app, 0)  # every event and every checkpoint kept in the database
    result = verify(app)
    assert result.exit_code == 1
    assert "the chain has 0 events, the checkpoint of" in result.output and str(checkpoint_file) in result.output


def test_a_database_restored_from_an_older_copy_fails_and_is_not_signed_over(app, make, checkpoint_file, tmp_path):
    journey(make)
    checkpoint(app)
    engine = app.extensions["postal.engine"]
    if engine.dialect.name == "sqlite":
        path, older = engine.url.database, str(tmp_path / "older.db")
        with sqlite3.connect(path) as live, sqlite3.connect(older) as copy:
            live.backup(copy)
    journey(make)
    checkpoint(app)
    newer = checkpoint_file.read_text()
    if engine.dialect.name == "sqlite":
        engine.dispose()
        with sqlite3.connect(older) as copy, sqlite3.connect(path) as live:
            copy.backup(live)
    else:
        cut_back_to(app, 3)
    result = verify(app)
    assert result.exit_code == 1
    assert "the chain has 3 events" in result.output and "saw 6" in result.output
    refused = run_cli(app, "ledger", "checkpoint")
    assert refused.exit_code == 1 and "no file overwritten" in refused.output
    settings = Settings.from_env({"DATABASE_URL": app.extensions["postal.settings"].database_url, **TEST_SETTINGS})
    runner = scheduler.Runner(settings, jobs=(), announce=lambda _: None)
    assert scheduler.checkpoint_ledger(runner.key) == 0
    runner.engine.dispose()
    assert checkpoint_file.read_text() == newer  # the evidence of the rollback is kept


@pytest.mark.parametrize("line, edit", [(1, lambda v: str(int(v) - 1)), (2, lambda v: "0" * 64)])
def test_a_forged_checkpoint_file_fails_its_signature(app, make, checkpoint_file, line, edit):
    journey(make)
    checkpoint(app)
    lines = checkpoint_file.read_text().split("\n")
    lines[line] = edit(lines[line])
    forged = checkpoint_file.with_name("forged.checkpoint")
    forged.write_text("\n".join(lines))
    result = verify(app, "--checkpoint", str(forged))
    assert result.exit_code == 1 and "checkpoint signature does not verify" in result.output


def test_a_checkpoint_row_altered_in_the_database_fails(app, make):
    journey(make)
    checkpoint(app)
    with unguarded(app) as conn:
        conn.execute(text("UPDATE ledger_checkpoint SET note = replace(note, '\n3\n', '\n2\n')"))
        conn.commit()
    result = verify(app)
    assert result.exit_code == 1
    assert "kept in the database for 3 events" in result.output and "signature does not verify" in result.output


def test_checkpoints_are_append_only(app, make):
    journey(make)
    checkpoint(app)
    for statement in ("UPDATE ledger_checkpoint SET seq = 2", "DELETE FROM ledger_checkpoint"):
        with pytest.raises(DatabaseError, match="append-only"), app.extensions["postal.engine"].begin() as conn:
            conn.execute(text(statement))


def test_an_auditor_verifies_with_the_public_key_alone(app, make):
    journey(make)
    checkpoint(app)
    public_key = run_cli(app, "ledger", "public-key").output.strip()
    auditor = {**PRODUCTION, "POSTAL_LEDGER_VERIFIER_KEY": public_key}  # production, and no signing key
    result = verify(app, **auditor)
    assert result.exit_code == 0, result.output
    assert "anchored by the checkpoint of" in result.output
    assert run_cli(app, "ledger", "checkpoint", **auditor).exit_code == 1  # it cannot sign
    other = checkpoints.VerifierKey("hoso-buudien/22", Ed25519PrivateKey.generate().public_key()
                                    .public_bytes(Encoding.Raw, PublicFormat.Raw))
    result = verify(app, "--verifier-key", other.text())
    assert result.exit_code == 1 and "not signed by" in result.output


def test_production_refuses_to_start_without_a_real_ledger_key(tmp_path):
    with pytest.raises(ConfigError, match="POSTAL_LEDGER_KEY"):
        Settings.from_env(PRODUCTION)
    with pytest.raises(ConfigError, match="32-byte"):
        Settings.from_env({**PRODUCTION, "POSTAL_LEDGER_KEY": base64.b64encode(b"short").decode()})
    seed = base64.b64encode(bytes(range(32))).decode()
    assert Settings.from_env({**PRODUCTION, "POSTAL_LEDGER_KEY": seed}).ledger_key == bytes(range(32))
    with pytest.raises(ConfigError, match="POSTAL_LEDGER_ORIGIN"):
        Settings.from_env({"POSTAL_LEDGER_ORIGIN": "hồ sơ"})


def test_the_checkpoint_file_defaults_beside_the_database(monkeypatch, tmp_path):
    monkeypatch.delenv("POSTAL_LEDGER_CHECKPOINT_FILE")
    settings = Settings.from_env({"DATABASE_URL": f"sqlite:///{tmp_path / 'postal.db'}", "POSTAL_PROVINCE_CODE": "01"})
    assert settings.ledger_checkpoint_file == tmp_path / "postal.db.checkpoint"
    assert settings.ledger_origin == "hoso-buudien/01"
    server = Settings.from_env({"DATABASE_URL": "postgresql://postgres@127.0.0.1/x"})
    assert server.ledger_checkpoint_file.parts[-2:] == ("instance", "ledger.checkpoint")


def test_the_scheduler_takes_a_checkpoint_every_minute(app, make, database_url, checkpoint_file):
    [job] = [j for j in scheduler.JOBS if j.func == "postal.scheduler:checkpoint_ledger"]
    assert job.trigger == "interval" and job.options["minutes"] == 1 and job.at_start
    journey(make)
    settings = Settings.from_env({"DATABASE_URL": database_url, **TEST_SETTINGS})
    runner = scheduler.Runner(settings, jobs=(), announce=lambda _: None)
    try:
        assert scheduler.checkpoint_ledger(runner.key) == 3
    finally:
        runner.engine.dispose()
    with make.session as s:
        row = s.execute(select(LedgerCheckpoint)).scalars().one()
    assert row.seq == 3 and checkpoint_file.read_text() == row.note
    assert verify(app).exit_code == 0
