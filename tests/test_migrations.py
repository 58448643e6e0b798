"""Migrations build the same schema as the models, with the ledger's guards."""

import uuid

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from postal import db
from postal.config import Settings


@pytest.fixture
def empty_database(database_url):
    engine = db.make_engine(database_url)
    db.drop_schema(engine)
    yield database_url
    db.drop_schema(engine)
    with engine.begin() as conn:  # tables only migrations made (none of the models' metadata)
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    engine.dispose()


def test_upgrade_head_then_check_finds_no_drift(empty_database):
    settings = Settings.from_env({"DATABASE_URL": empty_database})
    assert db.upgrade(settings)
    command.check(db.alembic_config(settings))  # raises when the models and the migrations differ
    engine = db.engine_for(settings)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT seq, hash FROM chain_head")).one() == (0, "0" * 64)
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(text("INSERT INTO custody_event (id, seq, action, device_at, server_at, from_holder, to_holder, "
                          "note, evidence, parcel_prev_hash, prev_hash, hash) VALUES (:id, 1, 'accept', :t, :t, '', '', "
                          "'', '', '', 'x', 'y')"), {"id": uuid.uuid4().hex, "t": "2026-11-23 01:00:00"})
        conn.execute(text("DELETE FROM custody_event"))
    engine.dispose()


def test_upgrade_is_idempotent(empty_database):
    settings = Settings.from_env({"DATABASE_URL": empty_database})
    first = db.upgrade(settings)
    assert db.upgrade(settings) == first
    db.engine_for(settings).dispose()
