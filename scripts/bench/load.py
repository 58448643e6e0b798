"""Many devices posting scan batches for distinct parcels against gunicorn on PostgreSQL, for a fixed time:
accepted events/s, p50/p99 latency, errors, the floor (the same rows by COPY), events/s per busy core, then
`postal verify-ledger`. Usage: load.py --url postgresql+psycopg://… [--devices 50] [--batch 1] [--seconds 60]."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, bulk_parcels, fresh_settings, network, scan, token  # noqa: E402, I001
from single import accept_all, serve  # noqa: E402

import requests  # noqa: E402

from postal import db, ledger  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children still running (gunicorn's workers), from /proc."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    pids = [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    for p in pids:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def device(port: int, bearer: str, codes: list[str], size: int, until: float, out: dict) -> None:
    """One device: batches of `size` pickups of its own parcels, one after the other, until time is up."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {bearer}"
    for i in range(0, len(codes) - size + 1, size):
        if time.monotonic() >= until:
            return
        started = time.monotonic()
        try:
            r = session.post(f"http://127.0.0.1:{port}/api/v1/scans", timeout=30,
                             json={"scans": [scan(c, "pickup") for c in codes[i:i + size]]})
            accepted = sum(x["status"] == "accepted" for x in r.json()["results"]) if r.ok else 0
        except (requests.RequestException, ValueError):
            accepted = -1
        out["latency"].append(time.monotonic() - started)
        out["accepted"] += max(accepted, 0)
        out["errors"] += accepted != size


def floor(settings, n: int) -> float:
    """Events/s of inserting n custody rows by COPY into a scratch copy of the table (psycopg's copy)."""
    engine = db.engine_for(settings)
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            cur.execute("CREATE TEMP TABLE floor_event (LIKE custody_event)")
            cur.execute("SELECT * FROM custody_event LIMIT 1")
            names = [d.name for d in cur.description]
            row = cur.fetchone()
            if row is None:
                cur.execute("DROP TABLE floor_event")
                return 0.0
            started = time.monotonic()
            with cur.copy(f"COPY floor_event ({', '.join(names)}) FROM STDIN") as copy:
                for i in range(n):
                    copy.write_row((*row[:names.index("seq")], i, *row[names.index("seq") + 1:]))
            raw.commit()
            rate = n / (time.monotonic() - started)
            cur.execute("DROP TABLE floor_event")
            raw.commit()
            return rate


def run(args, settings, env: dict, size: int, codes: list[str], bearer: str) -> None:
    proc, port = serve("routes:create_app()", env, args.workers, args.worker_class)
    try:
        cpu0, out = cpu_seconds(proc.pid), {"latency": [], "accepted": 0, "errors": 0}
        per = len(codes) // args.devices
        until = time.monotonic() + args.seconds
        started = time.monotonic()
        threads = [threading.Thread(target=device, args=(port, bearer, codes[d * per:(d + 1) * per], size, until, out))
                   for d in range(args.devices)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed, cpu = time.monotonic() - started, cpu_seconds(proc.pid) - cpu0
    finally:
        proc.terminate()
        proc.wait()
    lat = sorted(out["latency"]) or [0.0]
    rate = out["accepted"] / elapsed
    print(f"{args.worker_class} ×{args.workers} batch {size:>3}: {rate:8.0f} events/s  p50 {lat[len(lat) // 2] * 1000:6.0f} ms  "
          f"p99 {lat[int(len(lat) * 0.99)] * 1000:6.0f} ms  errors {out['errors']}  "
          f"per busy core {out['accepted'] / cpu if cpu else 0:8.0f} events/s (server CPU {cpu:.1f} s)  "
          f"floor (COPY) {floor(settings, max(out['accepted'], 1000)):8.0f} events/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="a PostgreSQL database the bench may empty")
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--batch", type=int, choices=(1, 10, 50), help="one batch size (default: 1, 10, 50 in turn)")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", choices=("gthread", "sync"), default="gthread")
    parser.add_argument("--parcels", type=int, default=100_000, help="parcels made per batch size (bounds each run)")
    args = parser.parse_args()
    settings = fresh_settings(args.url)
    env = {"DATABASE_URL": args.url, "POSTAL_LABEL_KEY": settings.label_key, "POSTAL_WORKERS": str(args.workers)}
    network(settings)
    sizes = [args.batch] if args.batch else [1, 10, 50]
    codes = bulk_parcels(settings, args.parcels * len(sizes))
    accept_all(settings, codes)  # at the center, ready to be picked up (set-up, not measured)
    db.engine_for(settings).dispose()
    for n, size in enumerate(sizes):
        run(args, settings, env, size, codes[n * args.parcels:(n + 1) * args.parcels], token(settings, "nva"))
    with db.session_for(settings) as session:
        print(f"events in the chain: {ledger.count_events(session)}")
    done = subprocess.run([str(Path(sys.executable).with_name("postal")), "verify-ledger"],
                          env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True)
    print(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:])


if __name__ == "__main__":
    main()
