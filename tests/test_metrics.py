"""/metrics as Prometheus scrapes it: scans counted by action, outcome and reason, each request timed, the
outbox's depth read from the database at scrape time, the sweep timed; a bearer token when one is set; and
under `postal serve` the counts of every worker added up, whichever worker answers the scrape."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from prometheus_client.parser import text_string_to_metric_families

from postal import scheduler
from routes import create_app
from tests.conftest import ROOT, TEST_SETTINGS
from tests.test_health import queue_message
from tests.test_up import free_port


def value(text: str, name: str, **labels: str) -> float:
    """The sample `name` with exactly these labels (a histogram's _count or _sum too); 0 when absent."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def scrape(client, **headers) -> str:
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 200 and r.content_type.startswith("text/plain"), r.status_code
    return r.get_data(as_text=True)


def test_scans_are_counted_by_action_outcome_and_reason(client, network):
    parcel = network.parcel(at="TTHCC", accepted=False)
    accepted = {"action": "accept", "outcome": "accepted", "reason": ""}
    before = scrape(client)
    network.scan_as("ntha", parcel, "accept", site="TTHCC")
    refused = client.post("/api/v1/scans", json={"scans": [network.scan(parcel, "deliver")]},
                          headers=network.token("ntha")).get_json()["results"][0]
    assert refused["status"] == "rejected"
    rejected = {"action": "deliver", "outcome": "rejected", "reason": refused["error"]["code"]}
    after = scrape(client)
    assert value(after, "postal_scans_total", **accepted) == value(before, "postal_scans_total", **accepted) + 1
    assert value(after, "postal_scans_total", **rejected) == value(before, "postal_scans_total", **rejected) + 1
    timed = {"endpoint": "api.post_scans", "method": "POST"}
    assert value(after, "postal_request_seconds_count", **timed) >= value(before, "postal_request_seconds_count", **timed) + 2
    assert value(after, "postal_request_seconds_sum", **timed) > 0


def test_the_outbox_depth_is_the_queued_rows(client, make):
    queue_message(make, waited_s=10)
    queue_message(make, waited_s=20)
    queue_message(make, waited_s=30, held=True)
    text = scrape(client)
    assert value(text, "postal_outbox_depth", channel="sms", state="pending") == 2
    assert value(text, "postal_outbox_depth", channel="sms", state="held") == 1
    assert value(text, "postal_outbox_depth", channel="webhook", state="pending") == 0


def test_the_sweep_is_timed(app, client):
    before = value(scrape(client), "postal_sweep_seconds_count")
    runner = scheduler.Runner(app.extensions["postal.settings"], jobs=(), announce=lambda _: None)
    try:
        scheduler.sweep_alerts(runner.key)  # as the leader's job runs it
    finally:
        runner.engine.dispose()
    assert value(scrape(client), "postal_sweep_seconds_count") == before + 1


def test_a_token_is_asked_for_when_one_is_set(database_url, app):
    guarded = create_app({"DATABASE_URL": database_url, **TEST_SETTINGS, "POSTAL_METRICS_TOKEN": "t" * 40})
    try:
        client = guarded.test_client()
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40}).status_code == 401
        assert "postal_outbox_depth" in scrape(client, Authorization="Bearer " + "t" * 40)
        assert client.get("/healthz").status_code == 200  # health stays open to monitors
    finally:
        guarded.extensions["postal.engine"].dispose()


def test_every_workers_counts_add_up_under_postal_serve(tmp_path):
    url = f"sqlite:///{tmp_path / 'postal.db'}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "POSTAL_ARGON2_PROFILE": "CHEAPEST",
           "POSTAL_LEDGER_CHECKPOINT_FILE": str(tmp_path / "ledger.checkpoint"),
           "POSTAL_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/3", "POSTAL_RATELIMIT_KEY_PREFIX": "test-metrics"}
    subprocess.run([sys.executable, "-m", "routes", "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    folders_before = set((ROOT / "instance").glob("metrics-*"))
    port = free_port()
    served = subprocess.Popen([sys.executable, "-m", "routes", "serve", "--workers", "2", "--port", str(port)],
                              env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base, lines = f"http://127.0.0.1:{port}", []
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(workers(lines)) < 2:
            try:
                with ThreadPoolExecutor(4) as pool:
                    assert set(pool.map(lambda _: requests.get(f"{base}/healthz", timeout=5).status_code, range(8))) == {200}
            except requests.ConnectionError:
                time.sleep(0.2)
            lines += read_ready(served)
        assert len(workers(lines)) == 2, "".join(lines)
        time.sleep(0.5)
        lines += read_ready(served)
        calls = sum(" /healthz " in line for line in lines)  # the access log: every request either worker answered
        counted, deadline = None, time.monotonic() + 3
        while counted != calls and time.monotonic() < deadline:  # a scrape a moment later sees the last ones
            text = requests.get(f"{base}/metrics", timeout=5).text  # answered by one worker, counting both
            counted = value(text, "postal_request_seconds_count", endpoint="ops.healthz", method="GET")
            time.sleep(0.2)
        assert counted == calls
    finally:
        served.send_signal(signal.SIGTERM)
        served.wait(15)
    assert set((ROOT / "instance").glob("metrics-*")) == folders_before  # the folder went with the server


def workers(lines: list[str]) -> set[str]:
    """The workers that answered /healthz, from the access log (`<pid>`)."""
    return {m.group(1) for line in lines if (m := re.search(r" <(\d+)> \"GET /healthz", line))}


def read_ready(process: subprocess.Popen) -> list[str]:
    """The log lines written so far, without waiting for more."""
    got: list[str] = []
    fd = process.stdout.fileno()
    os.set_blocking(fd, False)
    while select.select([fd], [], [], 0.3)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        got += chunk.decode(errors="replace").splitlines(keepends=True)
    return got
