"""A fresh app and database per test; the same tests run on PostgreSQL when DATABASE_URL is set."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import event
from werkzeug.serving import make_server

from postal import db
from routes import create_app
from tests.factories import Factory

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"  # Debian's; `make test` installs it
DESKTOP = {"width": 1280, "height": 860}
os.environ.setdefault("POSTAL_ARGON2_PROFILE", "CHEAPEST")  # production strength is not under test here
TEST_SETTINGS = {"POSTAL_LABEL_KEY": "test-label-key", "POSTAL_SECRET_KEY": "test-secret-key"}


def pytest_report_header(config) -> str:
    url = os.environ.get("DATABASE_URL", "")
    return f"database: {'PostgreSQL' if url.startswith('postgres') else 'SQLite (a file per test)'}"


@pytest.fixture(scope="session", autouse=True)
def compiled_translations() -> None:
    """Compile the message catalogs once, as the set-up command does."""
    for domain in ("messages", "wtforms"):
        subprocess.run([sys.executable, "-m", "babel.messages.frontend", "compile", "-d", str(ROOT / "translations"),
                        "-D", domain], check=True, capture_output=True)


@pytest.fixture(autouse=True)
def checkpoint_file(tmp_path, monkeypatch) -> Path:
    """Each test's own checkpoint file (the default for PostgreSQL is one per checkout), in the environment
    so the CLI and the processes a test starts see it too."""
    path = tmp_path / "ledger.checkpoint"
    monkeypatch.setenv("POSTAL_LEDGER_CHECKPOINT_FILE", str(path))
    return path


@pytest.fixture
def database_url(tmp_path) -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path / 'postal.db'}"


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    """Extra settings for the app; a test module wiring local servers overrides this fixture."""
    return {}


@pytest.fixture
def app(database_url, settings_overrides):
    app = create_app({"DATABASE_URL": database_url, **TEST_SETTINGS, **settings_overrides})
    app.config["TESTING"] = True
    engine = app.extensions["postal.engine"]
    db.drop_schema(engine)  # a PostgreSQL test database may keep what an interrupted run left
    db.create_schema(engine)
    yield app
    db.drop_schema(engine)


@pytest.fixture
def statements(app, monkeypatch) -> Iterator[list[str]]:
    """Every SQL statement the app sends from here on: through SQLAlchemy and through db.raw/executemany,
    which go to the driver directly. Clear it before the part a test counts."""
    seen: list[str] = []
    engine = app.extensions["postal.engine"]

    def listen(_conn, _cursor, statement, *_rest) -> None:
        seen.append(statement)

    raw, executemany = db.raw, db.executemany

    def counted_raw(session, sql, params=()):
        seen.append(sql)
        return raw(session, sql, params)

    def counted_executemany(session, sql, rows):
        seen.append(sql)
        return executemany(session, sql, rows)

    monkeypatch.setattr(db, "raw", counted_raw)
    monkeypatch.setattr(db, "executemany", counted_executemany)
    event.listen(engine, "before_cursor_execute", listen)
    yield seen
    event.remove(engine, "before_cursor_execute", listen)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def network(make):
    """The small network of tests/factories.py, made; the factory."""
    make.network()
    return make


@pytest.fixture
def postal(database_url):
    """The `postal` command (click's runner) on the test's database; its result."""
    from click.testing import CliRunner

    from routes.cli import cli

    def run(*args: str):
        return CliRunner().invoke(cli, list(args), env={"DATABASE_URL": database_url})
    return run


@pytest.fixture
def make(app):
    factory = Factory(app)
    yield factory
    factory.close()


@contextmanager
def local_http(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 in a thread (an SMS gateway, a geocoder); its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def live_server(app):
    """The app served by a real threaded HTTP server on 127.0.0.1."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright, for the browser tests of one module."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        # A failure, not a skip: `make test` installs it, and a browser test not run is not passed.
        pytest.fail("Debian's chromium is not installed (apt-get install -y chromium, or run `make test`)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=10_000)  # as the contexts' own default: a loaded CI box is slower than 5 s at times
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


@pytest.fixture
def context_for(browser):
    """New browser contexts (one per person or device), closed after the test."""
    contexts = []

    def open_context(viewport=DESKTOP, **options):
        context = browser.new_context(viewport=viewport, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()
