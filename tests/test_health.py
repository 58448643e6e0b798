"""/healthz as a monitor reads it: ok while the scheduler leads and nothing lags, degraded when the scheduler's beat
is old or a message waits too long in the outbox, 503 down (soon, never hanging) when the database does not
answer; no login, nothing personal in it."""

from __future__ import annotations

import os
import socket
import time
from datetime import timedelta

from models import OutboxMessage
from postal import db, health, scheduler
from postal.clock import utcnow
from routes import create_app
from tests.conftest import TEST_SETTINGS
from tests.test_scheduler import wait_for


def queue_message(make, *, waited_s: float, held: bool = False) -> None:
    at = utcnow() - timedelta(seconds=waited_s)
    with db.writing(make.session):
        make.session.add(OutboxMessage(channel="sms", recipient="+84912345678", body="Hồ sơ đã đến.",
                                       dedupe_key=f"test:{waited_s}:{held}", next_attempt_at=at, created_at=at,
                                       held_for_config="abcd" if held else None))


def test_ok_while_the_scheduler_leads_and_nothing_waits(app, client):
    runner = scheduler.Runner(app.extensions["postal.settings"], jobs=(), poll_s=0.1, announce=lambda _: None)
    runner.start_background()
    try:
        assert wait_for(runner.leading.is_set)
        assert wait_for(lambda: client.get("/healthz").get_json()["scheduler"]["leader"] is not None)
        r = client.get("/healthz")  # no login: a monitor has none
    finally:
        runner.stop()
    answer = r.get_json()
    assert r.status_code == 200 and answer["status"] == "ok", answer
    engine = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    assert answer["database"] == {"ok": True, "engine": engine}
    assert answer["scheduler"]["leader"] == f"{socket.gethostname()}:{os.getpid()}"
    assert answer["scheduler"]["ok"] and answer["scheduler"]["last_beat_s"] < 5
    assert answer["outbox"] == {"pending": 0, "oldest_pending_s": None, "held_for_config": 0, "ok": True}
    assert answer["ledger"] == {"events": 0, "last_checkpoint_s": None, "since_checkpoint": 0}
    assert "Content-Security-Policy" in r.headers


def test_degraded_when_no_scheduler_has_ever_led(client):
    answer = client.get("/healthz").get_json()
    assert answer["status"] == "degraded"
    assert answer["scheduler"] == {"leader": None, "last_beat_s": None, "ok": False}


def test_degraded_when_the_scheduler_beat_is_old(client, make):
    health.beat(make.session, "may-chu-1:4242", utcnow() - timedelta(seconds=120))  # over POSTAL_HEALTH_BEAT_MAX_S
    r = client.get("/healthz")
    answer = r.get_json()
    assert r.status_code == 200 and answer["status"] == "degraded"
    assert answer["scheduler"]["leader"] == "may-chu-1:4242" and not answer["scheduler"]["ok"]
    assert 119 <= answer["scheduler"]["last_beat_s"] < 130


def test_degraded_when_a_message_waits_in_the_outbox_too_long(client, make):
    health.beat(make.session, "may-chu-1:4242", utcnow())
    queue_message(make, waited_s=60)
    assert client.get("/healthz").get_json()["status"] == "ok"  # a minute in the outbox is normal
    queue_message(make, waited_s=3600)  # over POSTAL_HEALTH_OUTBOX_MAX_S
    queue_message(make, waited_s=7200, held=True)  # kept back for a configuration fault: counted apart
    answer = client.get("/healthz").get_json()
    assert answer["status"] == "degraded"
    assert answer["outbox"]["pending"] == 2 and answer["outbox"]["held_for_config"] == 1
    assert 3599 <= answer["outbox"]["oldest_pending_s"] < 3700
    assert "+84912345678" not in client.get("/healthz").get_data(as_text=True)


def test_the_thresholds_are_settings(database_url, make, app):
    health.beat(make.session, "may-chu-1:4242", utcnow() - timedelta(seconds=120))
    lenient = create_app({"DATABASE_URL": database_url, **TEST_SETTINGS, "POSTAL_HEALTH_BEAT_MAX_S": "300"})
    try:
        assert lenient.test_client().get("/healthz").get_json()["scheduler"]["ok"] is True
    finally:
        lenient.extensions["postal.engine"].dispose()


def down(url: str) -> tuple[int, dict, float]:
    app = create_app({"DATABASE_URL": url, **TEST_SETTINGS})
    started = time.monotonic()
    try:
        r = app.test_client().get("/healthz")
    finally:
        app.extensions["postal.engine"].dispose()
    return r.status_code, r.get_json(), time.monotonic() - started


def test_down_when_postgresql_does_not_answer():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: the connection is refused
    status, answer, _ = down(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postal")
    assert status == 503 and answer == {"status": "down", "database": {"ok": False, "engine": "postgresql"}}


def test_down_soon_when_postgresql_accepts_but_never_speaks():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel completes the handshake; nobody ever answers
        status, answer, took = down(f"postgresql+psycopg://postgres@127.0.0.1:{silent.getsockname()[1]}/postal")
    assert status == 503 and answer["status"] == "down"
    assert took < 15  # the connect timeout, not a hung monitor


def test_down_when_the_sqlite_file_cannot_be_opened(tmp_path):
    folder = tmp_path / "not-a-file.db"
    folder.mkdir()  # a folder where the database should be
    status, answer, _ = down(f"sqlite:///{folder}")
    assert status == 503 and answer == {"status": "down", "database": {"ok": False, "engine": "sqlite"}}
