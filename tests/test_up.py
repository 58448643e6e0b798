"""`postal up` as an operator runs it: the web workers are forked by a process that never opened the
database, the scheduler is a process of its own, no worker is ever wedged, and SIGTERM stops everything
within 10 s, even while a job waits on a gateway that never answers."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import psycopg
import pytest
import requests
from sqlalchemy.engine import make_url

from tests.conftest import ROOT, local_http
from tests.test_scheduler import wait_for

STARTS = 10
WORKERS = 3
CENTER_CLERK = "ntha"
PG = os.environ.get("DATABASE_URL", "").startswith("postgresql")


def postal(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "routes", *args], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Databases:
    """A seeded demo database made once, and fresh copies of it: a file on SQLite, a TEMPLATE on PostgreSQL."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made: list[str] = []
        self.template = self.fresh_url("template")

    def fresh_url(self, name: str) -> str:
        if not PG:
            return f"sqlite:///{self.folder / (name + '.db')}"
        url = make_url(os.environ["DATABASE_URL"])
        return url.set(database=f"{url.database}_up_{name}").render_as_string(hide_password=False)

    def admin(self):
        url = make_url(os.environ["DATABASE_URL"])
        return psycopg.connect(host=url.host, port=url.port, user=url.username, dbname="postgres", autocommit=True)

    def copy(self, name: str) -> str:
        url = self.fresh_url(name)
        if PG:
            with self.admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}"')
                conn.execute(f'CREATE DATABASE "{make_url(url).database}" TEMPLATE "{make_url(self.template).database}"')
            self.made.append(url)
        else:
            with sqlite3.connect(make_url(self.template).database) as source, \
                    sqlite3.connect(make_url(url).database) as target:
                source.backup(target)  # what the write-ahead log holds too
        return url

    def create_template(self, env: dict[str, str]) -> None:
        if PG:
            with self.admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{make_url(self.template).database}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{make_url(self.template).database}"')
            self.made.append(self.template)
        env = {**env, "DATABASE_URL": self.template}
        for args in (("db", "upgrade"), ("seed-demo",)):
            subprocess.run([sys.executable, "-m", "routes", *args], env=env, cwd=ROOT, check=True, capture_output=True)
        issued = subprocess.run([sys.executable, "-m", "routes", "tokens", "issue", CENTER_CLERK], env=env, cwd=ROOT,
                                check=True, capture_output=True, text=True).stdout
        self.token = issued.split()[-1]  # the last word printed

    def drop_all(self) -> None:
        if PG:
            with self.admin() as conn:
                for url in self.made:
                    conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


@pytest.fixture(scope="module")
def environment(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("up")
    return {**os.environ, "PYTHONPATH": str(ROOT), "POSTAL_ARGON2_PROFILE": "CHEAPEST",
            "POSTAL_LEDGER_CHECKPOINT_FILE": str(folder / "ledger.checkpoint"),
            "POSTAL_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/3", "POSTAL_RATELIMIT_KEY_PREFIX": "test-up"}


@pytest.fixture(scope="module")
def databases(tmp_path_factory, environment):
    made = Databases(tmp_path_factory.mktemp("databases"))
    made.create_template(environment)
    yield made
    made.drop_all()


class Running:
    """One `postal up`: its output read as it comes, its children found under it."""

    def __init__(self, url: str, env: dict[str, str], *args: str, workers: int = WORKERS) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.process = postal("up", "--workers", str(workers), "--port", str(self.port), *args,
                              env={**env, "DATABASE_URL": url})
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "".join(self.lines)
            booted = sum("Booting worker" in line for line in self.lines)
            if booted >= self.workers and any("leading: running the jobs" in line for line in self.lines):
                try:
                    requests.get(f"{self.base}/login", timeout=2)
                    return
                except requests.ConnectionError:
                    pass
            time.sleep(0.1)
        raise AssertionError("postal up did not come up:\n" + "".join(self.lines))

    def children(self, pid: int | None = None) -> list[int]:
        pid = pid or self.process.pid
        found = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
        return found

    def command_of(self, pid: int) -> str:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()

    def child(self, word: str) -> int:
        return next(pid for pid in self.children() if f" {word} " in self.command_of(pid) + " ")

    def schedulers(self) -> list[int]:
        """The scheduler children running now (a killed one not yet reaped has no command line)."""
        return [pid for pid in self.children() if " scheduler " in self.command_of(pid) + " "]

    def said(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    def stop(self) -> float:
        """SIGTERM to `postal up`; the seconds until it and every process under it are gone."""
        everyone = [self.process.pid, *self.children(), *[w for c in self.children() for w in self.children(c)]]
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        while any(Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()
                  for pid in everyone) and time.monotonic() - started < 20:
            time.sleep(0.05)
        seconds = time.monotonic() - started
        self.reader.join(5)  # every line written before the end
        return seconds


def database_handles(pid: int, url: str) -> list[str]:
    """What a process holds open of the database: SQLite's files (the file, its WAL, its shared memory), or
    TCP connections to PostgreSQL's port."""
    links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
    parsed = make_url(url)
    if not PG:
        return [link for link in links if Path(parsed.database).name in link]
    port = f":{parsed.port or 5432:04X}"
    to_server = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[2].endswith(port):  # rem_address
                to_server.add(f"socket:[{fields[9]}]")
    return [link for link in links if link in to_server]


def register(base: str, token: str) -> tuple[int, float]:
    received = datetime.now(timezone.utc) - timedelta(minutes=5)
    body = {"code": f"000.00.22.H47-{uuid.uuid4().hex[:12]}", "procedure": "Cấp Phiếu lý lịch tư pháp",
            "agency": "STP", "applicant": {"name": "Nguyễn Văn An", "phone": "0912345678", "address": "12 Lê Thánh Tông"},
            "received_at": received.isoformat(), "due_at": (received + timedelta(days=10)).isoformat(),
            "return_method": "counter"}
    started = time.monotonic()
    r = requests.post(f"{base}/api/v1/dossiers", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    return r.status_code, time.monotonic() - started


def test_the_process_that_forks_the_workers_never_opens_the_database(databases, environment):
    url = databases.copy("fork")
    up = Running(url, environment)
    try:
        up.wait_ready()
        register(up.base, databases.token)
        master, scheduler = up.child("serve"), up.child("scheduler")
        assert database_handles(master, url) == []  # gunicorn's master: it forks, it never connects
        assert database_handles(scheduler, url)  # the scheduler works in a process of its own
        assert database_handles(up.process.pid, url) == []  # `postal up` only migrated, then let go
        # The scheduler's sweep (at start) is counted in its own process; any worker's scrape adds it in.
        assert wait_for(lambda: "postal_sweep_seconds_count 1.0" in requests.get(f"{up.base}/metrics", timeout=5).text)
    finally:
        assert up.stop() < 10


def test_ten_starts_on_a_busy_scheduler_leave_no_worker_wedged(databases, environment):
    """Each start on a fresh copy of the demo, the scheduler catching up on everything at once: writes sent
    until every worker has answered some, none slower than 2 s, none failing."""
    for start in range(STARTS):
        up = Running(databases.copy(f"start{start}"), environment)
        try:
            up.wait_ready()
            answered: set[str] = set()
            results: list[tuple[int, float]] = []
            with ThreadPoolExecutor(8) as pool:
                for _ in range(10):
                    results += pool.map(lambda _: register(up.base, databases.token), range(16))
                    answered = {m.group(1) for line in up.lines
                                if (m := re.search(r" <(\d+)> \"POST /api/v1/dossiers", line))}
                    if len(answered) >= WORKERS:
                        break
            assert len(answered) == WORKERS, f"start {start}: only workers {answered} answered"
            assert {status for status, _ in results} == {201}, f"start {start}: {results}"
            assert max(seconds for _, seconds in results) < 2, f"start {start}: {max(results, key=lambda r: r[1])}"
        finally:
            assert up.stop() < 10


class NeverAnswers(BaseHTTPRequestHandler):
    """An SMS gateway that takes the request and then says nothing, ever."""

    calls = threading.Event()

    def do_POST(self):
        type(self).calls.set()
        time.sleep(120)

    def log_message(self, *args):
        pass


def never_answers() -> type[NeverAnswers]:
    """A gateway of its own for one test: its `calls` not yet set by another test's."""
    return type("NeverAnswers", (NeverAnswers,), {"calls": threading.Event()})


ABANDONED = "ending without it"  # postal/cli.py: the scheduler leaves a hanging job behind
KILLED = re.compile(r"did not stop within \d+ s: killed")  # routes/processes.py: a child had to be killed


def test_sigterm_stops_everything_within_10_s_while_a_job_waits_on_a_hanging_gateway(databases, environment):
    """Each process stops by itself: the scheduler ends without its hanging job, so `postal up` never has to
    kill one."""
    hangs = never_answers()
    with local_http(hangs) as gateway:
        up = Running(databases.copy("hang"), {**environment, "POSTAL_SMS_URL": f"{gateway}/sms"})
        try:
            up.wait_ready()
            assert hangs.calls.wait(30), "the scheduler never tried to send"  # the notify job now hangs
        finally:
            seconds = up.stop()
        output = "".join(up.lines)
        assert seconds < 10, output[-3000:]
        assert not KILLED.search(output), output[-3000:]
        assert ABANDONED in output, output[-3000:]


def test_the_scheduler_alone_stops_within_10_s_of_sigterm_while_a_send_hangs(databases, environment):
    hangs = never_answers()
    with local_http(hangs) as gateway:
        env = {**environment, "DATABASE_URL": databases.copy("alone"), "POSTAL_SMS_URL": f"{gateway}/sms"}
        process = postal("scheduler", env=env)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: [lines.append(line) for line in process.stdout], daemon=True)
        reader.start()
        try:
            assert hangs.calls.wait(30), "the scheduler never tried to send:\n" + "".join(lines)
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(10)
            except subprocess.TimeoutExpired:
                code = None
            seconds = time.monotonic() - started
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        reader.join(5)
    output = "".join(lines)
    assert code == 0 and seconds < 10, f"exit {code} after {seconds:.1f} s:\n{output[-3000:]}"
    assert ABANDONED in output, output[-3000:]  # the send was still in flight: left behind, not waited for


def until(condition, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_a_killed_scheduler_is_started_again_and_up_still_stops_by_itself(databases, environment):
    up = Running(databases.copy("restart"), environment)
    try:
        up.wait_ready()
        [first] = up.schedulers()
        os.kill(first, signal.SIGKILL)
        assert until(lambda: up.said("scheduler ended (exit -9): starting it again")), "".join(up.lines[-20:])
        assert until(lambda: up.schedulers() not in ([], [first])), "".join(up.lines[-20:])
        [second] = up.schedulers()
        assert second != first
        # the new one takes the lead the killed one held, and runs the jobs
        assert until(lambda: up.said("leading: running the jobs") == 2), "".join(up.lines[-20:])
        assert register(up.base, databases.token)[0] == 201  # the web server never noticed
    finally:
        seconds = up.stop()
    output = "".join(up.lines)
    assert seconds < 10, output[-3000:]
    assert not KILLED.search(output), output[-3000:]
    assert not Path(f"/proc/{second}").exists() or "zombie" in Path(f"/proc/{second}/status").read_text()


def test_up_with_the_demo_on_an_empty_database_seeds_it_and_serves(databases, environment):
    """What `make up` runs: the demo seeded by `postal up --demo` itself (its scans counted in the metrics'
    folder, which must be named before them), then the pages and a demo login."""
    url = databases.fresh_url("demo")
    if PG:
        with databases.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{make_url(url).database}"')
        databases.made.append(url)
    up = Running(url, environment, "--demo")
    try:
        up.wait_ready(timeout=240)
        assert "Demo logins (password demo1234):" in "".join(up.lines)
        client = requests.Session()
        page = client.get(f"{up.base}/login", timeout=10)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        r = client.post(f"{up.base}/login", data={"username": "gs.lan", "password": "demo1234", "csrf_token": token},
                        allow_redirects=False, timeout=30)
        assert r.status_code == 302, r.text[:500]
        assert client.get(f"{up.base}/board/data", timeout=30).status_code == 200
    finally:
        assert up.stop() < 10, "".join(up.lines)
