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


def test_upgrade_masks_the_delivery_codes_sent_before_they_were_sealed(empty_database):
    settings = Settings.from_env({"DATABASE_URL": empty_database})
    command.upgrade(db.alembic_config(settings), "0ec103812f21")  # before codes were sealed
    engine = db.engine_for(settings)
    sent = "Bưu điện: bưu tá đang mang kết quả hồ sơ HS-1 đến cho Ông/Bà. Mã nhận kết quả (OTP): 123456. Chỉ đọc mã."
    with engine.begin() as conn:
        for key, state in (("e1:sms:out_for_delivery", "sent"), ("e2:sms:out_for_delivery", "pending")):
            conn.execute(text("INSERT INTO outbox_message (channel, recipient, subject, body, dedupe_key, state, attempts, "
                              "next_attempt_at, created_at, last_error) VALUES ('sms', '0912345678', '', :body, :key, "
                              ":state, 1, :t, :t, '')"), {"body": sent, "key": key, "state": state,
                                                          "t": "2026-11-23 01:00:00"})
    db.upgrade(settings)
    with engine.connect() as conn:
        bodies = dict(conn.execute(text("SELECT state, body FROM outbox_message")).all())
    assert "123456" not in bodies["sent"] and "(OTP): ******." in bodies["sent"]
    assert "(OTP): 123456." in bodies["pending"]  # still to be sent: the citizen needs it


def test_tokens_in_use_keep_working_across_the_session_migration(empty_database):
    """Tokens issued before expiry existed get the default lifetime from the upgrade, not an instant 401."""
    from alembic.script import ScriptDirectory

    from postal import accounts
    from postal.clock import utcnow

    settings = Settings.from_env({"DATABASE_URL": empty_database})
    config = db.alembic_config(settings)
    before = ScriptDirectory.from_config(config).get_revision("b4939e26e1e4").down_revision
    command.upgrade(config, before)
    engine = db.engine_for(settings)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO user_account (username, full_name, role, active, created_at) "
                          "VALUES ('nva', '', 'courier', :yes, '2026-01-01 00:00:00')"), {"yes": True})
        conn.execute(text("INSERT INTO api_token (user_id, token_hash, name, created_at) "
                          "VALUES (1, :hash, '', '2026-01-01 00:00:00')"), {"hash": accounts.hash_token("old-token")})
    command.upgrade(config, "head")
    with db.session_for(settings) as session:
        assert accounts.user_for_token(session, "old-token", now=utcnow()).username == "nva"
        [token] = accounts.list_tokens(session)
        assert 89 <= (token.expires_at - utcnow()).days <= 90
    command.downgrade(config, before)  # and back, on both engines
    command.upgrade(config, "head")
    engine.dispose()
