"""The production recipe of the README, started the way it says: PostgreSQL, Redis for the limits, `postal up
--workers 4` behind one TLS proxy, the keys production refuses to start without. PostgreSQL whatever the run's
own engine: that is what the recipe runs on."""

from __future__ import annotations

import base64
import os
import re
import secrets
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import requests
from sqlalchemy.engine import make_url

from tests.conftest import ROOT
from tests.test_up import Running

WORKERS = 4


def server_url() -> str:
    """The PostgreSQL server the suite uses (the one of DATABASE_URL when the run is on PostgreSQL)."""
    given = os.environ.get("DATABASE_URL", "")
    return given if given.startswith("postgresql") else "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def production_environment(url: str, folder: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("POSTAL_")}, "PYTHONPATH": str(ROOT),
        "DATABASE_URL": url, "POSTAL_ENV": "production",
        "POSTAL_SECRET_KEY": secrets.token_urlsafe(32), "POSTAL_LABEL_KEY": secrets.token_urlsafe(32),
        "POSTAL_LEDGER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "POSTAL_ARGON2_PROFILE": "RFC_9106_LOW_MEMORY", "POSTAL_METRICS_TOKEN": secrets.token_urlsafe(32),
        "POSTAL_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/3", "POSTAL_RATELIMIT_KEY_PREFIX": f"prod-{uuid.uuid4().hex[:8]}",
        "POSTAL_PROXY_HOPS": "1", "POSTAL_LEDGER_CHECKPOINT_FILE": str(folder / "ledger.checkpoint"),
    }


def postal(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "routes", *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_production_recipe_starts_four_workers_on_postgresql_and_stops_on_sigterm(tmp_path):
    base = make_url(server_url())
    name = f"postal_prod_{uuid.uuid4().hex[:10]}"
    admin = dict(host=base.host, port=base.port or 5432, user=base.username, dbname="postgres", autocommit=True)
    with psycopg.connect(**admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    env = production_environment(base.set(database=name).render_as_string(hide_password=False), tmp_path)
    up = None
    try:
        postal(env, "db", "upgrade")
        postal(env, "users", "add", "admin", "--role", "admin", "--password", "mat-khau-quan-tri", "--name", "Quản trị")
        token = postal(env, "tokens", "issue", "admin", "--name", "setup").split()[-1]

        up = Running(env["DATABASE_URL"], env, "--host", "127.0.0.1", workers=WORKERS)
        up.wait_ready(timeout=90)
        site = up.base
        proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hoso.example.vn", "X-Forwarded-For": "203.0.113.9"}
        page = requests.get(f"{site}/login", headers=proxied, timeout=10)
        assert page.status_code == 200 and "max-age" in page.headers["Strict-Transport-Security"]
        assert "Secure" in page.headers.get("Set-Cookie", "Secure")  # cookies only over TLS
        auth = {"Authorization": f"Bearer {token}", **proxied}
        answers = [requests.put(f"{site}/api/v1/sites/PROD{i:02d}", json={"kind": "agency", "name": f"Sở {i}"},
                                headers=auth, timeout=30).status_code for i in range(24)]
        assert answers == [200] * 24  # every worker writes to PostgreSQL
        listed = requests.get(f"{site}/api/v1/openapi.json", headers=proxied, timeout=10)
        assert listed.status_code == 200
        masters = [p for p in up.children() if "serve" in up.command_of(p)]
        assert len(masters) == 1 and len(up.children(masters[0])) == WORKERS
        assert any("scheduler" in up.command_of(p) for p in up.children())  # its own supervised process

        assert up.stop() < 10 and up.process.returncode == 0, "".join(up.lines)
        assert not any(re.search(r"did not stop|killed", line) for line in up.lines), "".join(up.lines)
    finally:
        if up is not None and up.process.poll() is None:
            up.process.kill()
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

