"""Settings that hold: POSTAL_ENV is one of the documented values, production refuses weak settings, and
every response carries the content policy (HSTS too in production)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from postal import ratelimits
from postal.config import DEFAULT_ONESTOP_STATUS_MAP, ConfigError, Settings
from routes import create_app
from routes.cli import cli
from tests.conftest import ROOT

STRONG = {
    "POSTAL_ENV": "production", "POSTAL_METRICS_TOKEN": "m" * 32, "POSTAL_SECRET_KEY": "s" * 32, "POSTAL_LABEL_KEY": "l" * 32,
    "POSTAL_ARGON2_PROFILE": "RFC_9106_LOW_MEMORY", "POSTAL_LEDGER_KEY": "eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXk=",
}


@pytest.mark.parametrize("value", ["prod", "Production", "staging", ""])
def test_postal_env_takes_only_the_documented_values(database_url, value):
    with pytest.raises(ConfigError) as refused:
        create_app({"DATABASE_URL": database_url, "POSTAL_ENV": value})
    assert "POSTAL_ENV" in str(refused.value) and "development, production" in str(refused.value)


def test_a_refused_setting_stops_the_command_with_one_line(database_url):
    result = CliRunner().invoke(cli, ["db", "upgrade"], env={"DATABASE_URL": database_url, "POSTAL_ENV": "prod"})
    assert result.exit_code == 1
    assert result.output.startswith("Error: POSTAL_ENV must be one of development, production")


@pytest.mark.parametrize("weak, named", [
    ({"POSTAL_SECRET_KEY": "s" * 31}, "POSTAL_SECRET_KEY"),
    ({"POSTAL_LABEL_KEY": "l" * 20}, "POSTAL_LABEL_KEY"),
    ({"POSTAL_SECRET_KEY": "development-only-key"}, "POSTAL_SECRET_KEY"),
    ({"POSTAL_LABEL_KEY": "s" * 32}, "POSTAL_LABEL_KEY must differ from POSTAL_SECRET_KEY"),
    ({"POSTAL_WEBHOOK_URL": "https://mot-cua.example/hook"}, "POSTAL_WEBHOOK_SECRET must differ from POSTAL_SECRET_KEY"),
    ({"POSTAL_WEBHOOK_URL": "https://mot-cua.example/hook", "POSTAL_WEBHOOK_SECRET": "w" * 12}, "POSTAL_WEBHOOK_SECRET"),
    ({"POSTAL_ARGON2_PROFILE": "CHEAPEST"}, "too cheap for production"),
    ({"POSTAL_ARGON2_PROFILE": "PRE_21_2"}, "too cheap for production"),
    ({"POSTAL_WORKERS": "3", "POSTAL_RATELIMIT_STORAGE_URI": "memory://"}, "3 workers"),
    ({"POSTAL_METRICS_TOKEN": ""}, "POSTAL_METRICS_TOKEN must be set"),
    ({"POSTAL_METRICS_TOKEN": "m" * 12}, "POSTAL_METRICS_TOKEN must be set"),
])
def test_production_refuses_weak_settings(database_url, weak, named):
    with pytest.raises(ConfigError, match=named):
        create_app({"DATABASE_URL": database_url, **STRONG, **weak})


def test_a_sound_production_config_starts_with_hsts(database_url):
    app = create_app({"DATABASE_URL": database_url, **STRONG, "POSTAL_WEBHOOK_URL": "https://mot-cua.example/hook",
                      "POSTAL_WEBHOOK_SECRET": "w" * 40})
    try:
        r = app.test_client().get("/login")
        assert r.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    finally:
        app.extensions["postal.engine"].dispose()


def test_development_sends_no_hsts(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers  # plain http://127.0.0.1


def test_several_workers_count_in_redis_unless_told_and_never_in_memory():
    assert Settings.from_env({"POSTAL_WORKERS": "2"}).ratelimit_storage_uri == "redis://127.0.0.1:6379"
    assert Settings.from_env({"POSTAL_WORKERS": "1"}).ratelimit_storage_uri == "memory://"
    with pytest.raises(ConfigError, match="memory:// but 2 workers"):
        Settings.from_env({"POSTAL_WORKERS": "2", "POSTAL_RATELIMIT_STORAGE_URI": "memory://"})
    for bad in ("0", "two"):
        with pytest.raises(ConfigError, match="POSTAL_WORKERS"):
            Settings.from_env({"POSTAL_WORKERS": bad})


def test_an_unknown_password_hash_profile_is_refused_even_in_development():
    with pytest.raises(ConfigError, match="POSTAL_ARGON2_PROFILE must be one of"):
        Settings.from_env({"POSTAL_ARGON2_PROFILE": "FAST"})


def postal_up(*args: str, **env: str) -> subprocess.CompletedProcess:
    """`postal up` in a process of its own; it must refuse before it serves anything."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([sys.executable, "-c", "from routes.cli import main; main()", "up", *args],
                          env=environment, capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_postal_up_with_several_workers_refuses_memory_rate_limits(database_url):
    result = postal_up("--workers", "2", "--port", "1", DATABASE_URL=database_url,
                       POSTAL_RATELIMIT_STORAGE_URI="memory://")
    assert result.returncode == 1 and "memory:// but 2 workers" in result.stderr


def test_postal_up_refuses_a_rate_limit_store_that_does_not_answer(database_url):
    result = postal_up("--port", "1", DATABASE_URL=database_url, POSTAL_WORKERS="2", **STRONG,
                       POSTAL_RATELIMIT_STORAGE_URI="redis://127.0.0.1:1")
    assert result.returncode == 1 and "redis://127.0.0.1:1 (POSTAL_RATELIMIT_STORAGE_URI) does not answer" in result.stderr


def test_development_without_redis_serves_with_one_worker(monkeypatch):
    monkeypatch.setattr("postal.config.REDIS_DEFAULT", "redis://127.0.0.1:1")  # nothing listens there
    monkeypatch.delenv("POSTAL_RATELIMIT_STORAGE_URI", raising=False)
    settings, note = ratelimits.settings_for_workers(3)
    assert settings.workers == 1 and settings.ratelimit_storage_uri == "memory://"
    assert "serving with 1 worker instead of 3" in note
    monkeypatch.setenv("POSTAL_ENV", "production")
    for name, value in STRONG.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="does not answer"):
        ratelimits.settings_for_workers(3)  # production never serves with less than it was told


@pytest.fixture
def failing_app(app):
    """The app with one view that breaks, answering 500 as in production (not raising into the test)."""
    def broken():
        raise RuntimeError("a bug")

    app.add_url_rule("/broken-for-test", "broken_for_test", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def test_every_response_carries_the_content_policy(failing_app, make):
    client = failing_app.test_client()
    answers = {
        "unknown page (404)": client.get("/khong-co-trang-nay"),
        "unknown API path (404)": client.get("/api/v1/khong-co"),
        "static file": client.get("/static/js/scan.js"),
        "npm file": client.get("/vendor/jsqr/dist/jsQR.js"),
        "service worker": client.get("/sw.js"),
        "API without a token (401)": client.get("/api/v1/sites"),
        "wrong method (405)": client.put("/login"),
        "form without CSRF (400)": client.post("/lang", data={"lang": "en"}),
        "server error (500)": client.get("/broken-for-test"),
        "public page": client.get("/track"),
    }
    for what, r in answers.items():
        policy = r.headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in policy and "object-src 'none'" in policy, f"{what}: {r.status_code} {policy!r}"
        assert r.headers["X-Content-Type-Options"] == "nosniff", what
    assert answers["server error (500)"].status_code == 500


def test_the_readme_configuration_table_is_made_from_the_settings_declared():
    """Every key is declared once in postal/config.py with its type, default and doc; the README shows exactly
    that (`python scripts/settings_table.py` rewrites it)."""
    from postal import config

    readme = (ROOT / "README.md").read_text()
    begin, end = "<!-- settings: made by scripts/settings_table.py -->\n", "<!-- /settings -->\n"
    assert readme.count(begin) == readme.count(end) == 1
    assert readme.split(begin)[1].split(end)[0] == config.table()  # nothing more between the markers, nothing less
    for name in Settings.model_fields:
        assert f"| `{config.variable(name)}` |" in readme


def test_nothing_but_the_settings_reads_the_environment():
    import re

    readers = []
    for path in [*(ROOT / "postal").rglob("*.py"), *(ROOT / "routes").rglob("*.py")]:
        if path.name == "config.py" and path.parent.name == "postal" or "migrations" in path.parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"os\.environ(?!\[[^]]+\]\s*=)|os\.getenv|getenv\(", line):
                readers.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
            # Settings are read once where a program starts, and handed down; no room reads them behind it.
            entry_points = {"postal/cli.py", "postal/ratelimits.py", "routes/__init__.py"}
            if "Settings.from_env(" in line and str(path.relative_to(ROOT)) not in entry_points:
                readers.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert readers == []


def test_an_unknown_or_malformed_value_names_its_variable():
    with pytest.raises(ConfigError, match="POSTAL_WRITE_WAIT_S"):
        Settings.from_env({"POSTAL_WRITE_WAIT_S": "soon"})
    with pytest.raises(ConfigError, match="POSTAL_SMTP_PORT"):
        Settings.from_env({"POSTAL_SMTP_PORT": "twenty-five"})
    assert Settings.from_env({"POSTAL_DELIVERY_FEE_EXEMPT": "ho_ngheo, nguoi_cao_tuoi"}).delivery_fee_exempt == (
        "ho_ngheo", "nguoi_cao_tuoi")


@pytest.mark.parametrize("mapping, named", [
    ('{"received": "Đã tiếp nhận"}', "lacks the status 'registered'"),
    ("not json", "POSTAL_ONESTOP_STATUS_MAP is not JSON"),
    ('{"registered": ""}', "non-empty name"),
])
def test_a_one_stop_status_map_missing_a_status_refuses_to_start(database_url, mapping, named):
    with pytest.raises(ConfigError, match=named):
        create_app({"DATABASE_URL": database_url, "POSTAL_ONESTOP_STATUS_MAP": mapping})


def test_a_one_stop_status_map_renames_their_statuses(database_url):
    mapping = {key: f"ST-{key}" for key in DEFAULT_ONESTOP_STATUS_MAP}
    app = create_app({"DATABASE_URL": database_url, "POSTAL_ONESTOP_STATUS_MAP": json.dumps(mapping)})
    assert app.extensions["postal.settings"].onestop_status_map["returned"] == "ST-returned"
