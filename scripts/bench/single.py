"""Single-scan requests/s through gunicorn against a bare Flask JSON endpoint on the same stack (needs wrk)."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, bulk_parcels, fresh_settings, network, scan, token  # noqa: I001

from sqlalchemy import func, select

from models import CustodyEvent
from postal import custody, db, labels
from postal.clock import utcnow
from postal.config import Settings

LUA = """
local n = 0
function setup(thread) n = n + 1; thread:set("tid", n) end
function init(args)
  labels = {}
  for line in io.lines("%(labels)s") do labels[#labels + 1] = line end
  i = tid; counter = 0
end
function request()
  local label = labels[i]; i = i + %(threads)d
  if i > #labels then i = tid end
  counter = counter + 1
  local id = string.format("%%08x-0000-4000-8000-%%012x", tid, counter)
  local body = '{"scans":[{"id":"' .. id .. '","label":"' .. label .. '","action":"pickup","at":"%(at)s"}]}'
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json",
                    ["Authorization"] = "Bearer %(token)s"}, body)
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(target: str, env: dict, workers: int, worker_class: str = "gthread") -> tuple[subprocess.Popen, int]:
    """gunicorn as `postal up` runs it: gthread workers with 4 threads each (or sync workers, one request at a time)."""
    port = free_port()
    threads = ["--threads", "4"] if worker_class == "gthread" else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-k", worker_class, "-w", str(workers), *threads, "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", target],
        env={**os.environ, **env}, cwd=ROOT / "scripts" / "bench" if target.startswith("bare_app") else ROOT)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{target} did not start")


def load(port: int, script: Path, seconds: int, threads: int, connections: int) -> float:
    """Requests/s that wrk measured; every answer must be a 2xx."""
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "-s", str(script),
                          f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if "Non-2xx" in out:
        raise RuntimeError(out)
    return float(match.group(1))


def accept_all(settings: Settings, codes: list[str]) -> None:
    """Put the parcels at the center through the domain (set-up, not measured)."""
    with db.session_for(settings) as session:
        from models import User
        clerk = session.execute(select(User).where(User.username == "ntha")).scalars().one()
        for i in range(0, len(codes), 5000):
            custody.record_scans(session, [scan(c, "accept", site="TTHCC") for c in codes[i:i + 5000]],
                                 actor=clerk, settings=settings, now=utcnow())


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy, write-ahead log included (copying the file alone may miss committed rows)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--parcels", type=int, default=40_000)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    workers = min(4, multiprocessing.cpu_count() + 1)
    tmp = Path(tempfile.mkdtemp(prefix="postal-single-"))
    settings = fresh_settings(f"sqlite:///{tmp / 'bench.db'}")
    network(settings)
    codes = bulk_parcels(settings, args.parcels)
    accept_all(settings, codes)
    (tmp / "labels.txt").write_text("\n".join(labels.qr_payload(settings.label_key, c) for c in codes) + "\n")
    bearer = token(settings, "nva")
    scripts = {}
    for path in ("/api/v1/scans", "/floor/scans"):
        scripts[path] = tmp / f"single{path.replace('/', '-')}.lua"
        scripts[path].write_text(LUA % {"labels": tmp / "labels.txt", "threads": 2, "at": utcnow().isoformat(),
                                        "token": bearer, "path": path})
    db.engine_for(settings).dispose()
    copy_database(tmp / "bench.db", tmp / "floor.db")  # the floor's pickups must not use up the app's parcels
    env = {"DATABASE_URL": settings.database_url, "POSTAL_LABEL_KEY": settings.label_key}
    runs = (("bare Flask JSON endpoint", "bare_app:app", "/api/v1/scans", {}),
            ("floor: the pickup's SQL alone", "bare_app:app", "/floor/scans", {"DATABASE_URL": f"sqlite:///{tmp / 'floor.db'}"}),
            ("POST /api/v1/scans (1 scan)", "routes:create_app()", "/api/v1/scans", {}))
    results = {}
    for name, target, path, extra in runs:
        proc, port = serve(target, {**env, **extra}, workers)
        try:
            load(port, scripts[path], 2, 2, args.connections)  # warm-up: imports, caches, connections
            results[name] = load(port, scripts[path], args.seconds, 2, args.connections)
        finally:
            proc.terminate()
            proc.wait()
    with db.session_for(settings) as session:
        pickups = session.execute(select(func.count()).select_from(CustodyEvent).where(CustodyEvent.action == "pickup")).scalar_one()
    bare, floor, scans = results.values()
    for name, rps in results.items():
        print(f"{name:<32} {rps:8.0f} req/s")
    print(f"accepted pickups written by the app: {pickups} (each request a real custody event)")
    print(f"ratio floor/bare: {floor / bare:.0%} (the most any scan endpoint on this stack could reach)")
    print(f"ratio scan/bare: {scans / bare:.0%} (target ≥ 50%): {'MET' if scans / bare >= 0.5 else 'NOT MET'}")


if __name__ == "__main__":
    main()
