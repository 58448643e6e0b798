"""The EPCIS export streams: its peak memory does not grow with the ledger, and its time per event stays near the
floor of reading the same rows (needs nothing but the database).

For each size (default 100,000 and 1,000,000 events) the ledger is filled in bulk (set-up, not measured), then, in
fresh processes, (a) the floor reads the same rows with the same joins and throws them away, and (b) `postal
export-epcis -o /dev/null` writes the document. Each prints its wall time and peak RSS; the ratios come from the
same run: export time / floor time, and peak RSS at the largest size / at the smallest.

    python scripts/bench/epcis.py [--sizes 100000 1000000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta

from _common import ROOT, bulk_parcels, fresh_settings, network  # noqa: I001

from postal import db
from postal.clock import utcnow

ACTIONS = ("accept", "pickup", "handover", "receive")  # four events a parcel, as a day's shuttle makes them

FLOOR = """
import sys
from postal import db, epcis
from postal.config import Settings
settings = Settings.from_env({"DATABASE_URL": sys.argv[1]})
engine = db.engine_for(settings)
sql = str(epcis.ledger_rows().compile(engine))  # the export's own query, its rows read raw and thrown away
with engine.connect().execution_options(stream_results=True, yield_per=2000) as conn:
    n = sum(1 for _ in conn.exec_driver_sql(sql))
print(n)
"""


def fill(settings, events: int) -> None:
    """`events` custody events over events/4 parcels, written raw in chunks (a chain of made-up hashes: the export
    does not verify, and `postal verify-ledger` is measured elsewhere)."""
    codes = bulk_parcels(settings, events // len(ACTIONS))
    engine = db.engine_for(settings)
    start = utcnow() - timedelta(days=1)
    sql = ("INSERT INTO custody_event (id, seq, parcel_id, action, device_at, server_at, site_id, actor_id, from_holder, "
           "to_holder, note, evidence, parcel_prev_hash, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', '', ?, ?)")
    pg = engine.dialect.name == "postgresql"
    if pg:
        sql = sql.replace("?", "%s")
    prev, seq, rows = "0" * 64, 0, []
    with engine.begin() as conn:
        first = conn.exec_driver_sql("SELECT min(id) FROM parcel").scalar_one()
        cursor = conn.connection.cursor()
        for i, _code in enumerate(codes):
            for k, action in enumerate(ACTIONS):
                seq += 1
                at = start + timedelta(seconds=seq)
                digest = hashlib.sha256(f"{seq}".encode()).hexdigest()
                stamp = at if pg else at.replace(tzinfo=None).isoformat(sep=" ")
                site = 2 if action in ("handover", "receive") else 1
                rows.append((str(uuid.uuid4()) if pg else uuid.uuid4().hex, seq, first + i, action, stamp, stamp, site,
                             2 if k in (1, 2) else 1, "site:TTHCC", "courier:nva", prev, digest))
                prev = digest
            if len(rows) >= 20_000:
                cursor.executemany(sql, rows)
                rows.clear()
        if rows:
            cursor.executemany(sql, rows)
        conn.exec_driver_sql(f"UPDATE chain_head SET seq = {seq}, hash = '{prev}'")


def measured(argv: list[str], url: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one fresh process, from its own resource usage (os.wait4)."""
    t0 = time.perf_counter()
    child = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL,
                             env={**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url})
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{argv[0]} failed with {child.returncode}")
    return time.perf_counter() - t0, usage.ru_maxrss / 1024


def one_size(url: str | None, events: int) -> dict:
    settings = fresh_settings(url)
    network(settings)
    fill(settings, events)
    postal = str(ROOT / ".venv" / "bin" / "postal")
    # Each side's start-up alone (the same imports, no rows), the least of three, is taken off its time.
    floor_start = min(measured([sys.executable, "-c", FLOOR.split("with engine")[0], settings.database_url],
                               settings.database_url)[0]
                      for _ in range(3))
    export_start = min(measured([postal, "--help"], settings.database_url)[0] for _ in range(3))
    floor_s, floor_mb = measured([sys.executable, "-c", FLOOR, settings.database_url], settings.database_url)
    export_s, export_mb = measured([postal, "export-epcis", "-o", os.devnull], settings.database_url)
    return {"events": events, "floor_s": max(floor_s - floor_start, 1e-3), "floor_mb": floor_mb,
            "export_s": max(export_s - export_start, 1e-3), "export_mb": export_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--database-url", default=None, help="PostgreSQL (a database of its own: it is emptied)")
    args = parser.parse_args()
    results = []
    for n in sorted(args.sizes):
        # Each size in a process of its own, on a database of its own.
        out = subprocess.run([sys.executable, __file__, "--one", str(n), *(["--database-url", args.database_url]
                                                                          if args.database_url else [])],
                             check=True, capture_output=True, text=True, cwd=ROOT).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
        r = results[-1]
        print(f"{r['events']:>9,} events: export {r['export_s']:6.1f} s, {r['events'] / r['export_s']:8,.0f} ev/s, "
              f"peak {r['export_mb']:5.0f} MiB | floor (read the rows) {r['floor_s']:5.1f} s, peak {r['floor_mb']:4.0f} MiB "
              f"| export/floor time {r['export_s'] / r['floor_s']:.1f}×", flush=True)
    small, large = results[0], results[-1]
    print(f"peak memory at {large['events']:,} / at {small['events']:,} events: export "
          f"{large['export_mb'] / small['export_mb']:.2f}×, floor {large['floor_mb'] / small['floor_mb']:.2f}× "
          f"(events ×{large['events'] / small['events']:.0f})")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        rest = sys.argv[3:]
        url = rest[1] if rest[:1] == ["--database-url"] else None
        print(json.dumps(one_size(url, int(sys.argv[2]))))
    else:
        main()
