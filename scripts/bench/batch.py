"""One POST /api/v1/scans of 10,000 scans (ledger included) against raw executemany of the same rows."""

from __future__ import annotations

import argparse
import sqlite3
import time

from _common import bulk_parcels, fresh_settings, network, scan, token  # noqa: I001

from postal import db
from routes import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scans", type=int, default=10_000)
    args = parser.parse_args()
    settings = fresh_settings()
    network(settings)
    codes = bulk_parcels(settings, args.scans)
    headers = {"Authorization": f"Bearer {token(settings, 'ntha')}"}
    app = create_app({"DATABASE_URL": settings.database_url, "POSTAL_LABEL_KEY": settings.label_key})
    client = app.test_client()
    body = {"scans": [scan(c, "accept") for c in codes]}
    path = settings.database_url.removeprefix("sqlite:///")
    db.engine_for(settings).dispose()
    with sqlite3.connect(path) as source, sqlite3.connect(path.replace("bench.db", "floor.db")) as copy:
        source.backup(copy)  # the database as the batch found it, write-ahead log included
    started = time.perf_counter()
    response = client.post("/api/v1/scans", json=body, headers=headers)
    api_s = time.perf_counter() - started
    results = response.get_json()["results"]
    accepted = sum(r["status"] == "accepted" for r in results)
    assert accepted == args.scans, f"only {accepted} accepted"

    floor_s, written = database_floor(path)
    source = sqlite3.connect(path)
    columns = [r[1] for r in source.execute("PRAGMA table_info(custody_event)")]
    rows = source.execute(f"SELECT {', '.join(columns)} FROM custody_event").fetchall()
    ddl = source.execute("SELECT sql FROM sqlite_master WHERE name = 'custody_event'").fetchone()[0]
    source.close()
    raw = sqlite3.connect(path.replace("bench.db", "raw.db"), isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute(_without_fks(ddl))
    started = time.perf_counter()
    raw.execute("BEGIN")
    raw.executemany(f"INSERT INTO custody_event ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)
    raw.execute("COMMIT")
    raw_s = time.perf_counter() - started
    db.engine_for(settings).dispose()
    print(f"batch of {args.scans} scans through POST /api/v1/scans: {api_s:.3f} s ({args.scans / api_s:,.0f} scans/s)")
    print(f"raw executemany of the same {len(rows)} rows into SQLite: {raw_s:.3f} s")
    print(f"the batch's own writes alone ({written}), replayed as raw executemany into the database as the "
          f"batch found it: {floor_s:.3f} s; best ratio any code could reach on this schema: {raw_s / floor_s:.0%}")
    ratio = raw_s / api_s
    print(f"ratio raw/API: {ratio:.0%} (target ≥ 25%): {'MET' if ratio >= 0.25 else 'NOT MET'}")


def database_floor(path: str) -> tuple[float, str]:
    """Every row the batch wrote (events, chain head, parcels, outbox, manifests), replayed with raw
    executemany into a copy of the database as it was before the batch: what the database alone costs."""
    source = sqlite3.connect(path)
    tables = {}
    for table in ("custody_event", "outbox_message", "manifest_entry"):
        columns = [r[1] for r in source.execute(f"PRAGMA table_info({table})")]
        tables[table] = (columns, source.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall())
    parcels = source.execute("SELECT state, holder_site_id, holder_user_id, bag_id, last_hash, last_event_at, id "
                             "FROM parcel WHERE last_event_at IS NOT NULL").fetchall()
    head = source.execute("SELECT seq, hash FROM chain_head").fetchone()
    source.close()
    floor = sqlite3.connect(path.replace("bench.db", "floor.db"), isolation_level=None)
    floor.execute("PRAGMA foreign_keys=ON")
    floor.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    floor.execute("BEGIN IMMEDIATE")
    for table, (columns, rows) in tables.items():
        if rows:
            floor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)
    floor.execute("UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1", head)
    floor.executemany("UPDATE parcel SET state = ?, holder_site_id = ?, holder_user_id = ?, bag_id = ?, last_hash = ?, "
                      "last_event_at = ? WHERE id = ?", parcels)
    floor.execute("COMMIT")
    elapsed = time.perf_counter() - started
    floor.close()
    counts = ", ".join(f"{len(rows)} {table}" for table, (_, rows) in tables.items()) + f", {len(parcels)} parcel updates"
    return elapsed, counts


def _without_fks(ddl: str) -> str:
    """The table without its foreign keys: raw rows go into an empty database."""
    import re

    return re.sub(r",\s*FOREIGN KEY\([^)]*\) REFERENCES \w+ \([^)]*\)", "", ddl)


if __name__ == "__main__":
    main()
