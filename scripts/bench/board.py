"""Benchmark: the supervisor's board with 100,000 parcels in flight (target: /board under 150 ms server time).

    python scripts/bench/board.py [--database-url URL] [--in-flight 100000] [--history 60000] [--repeat 15]

Uses a fresh SQLite file unless a database URL is given (its tables are dropped and made again). Rows are
bulk-inserted with driver-level executemany (set-up, not measured): the demo province's sites, 20 couriers,
today's 32 runs, the parcels in flight with their events (accept, pickup, handover), a month of returned
dossiers (five events each), 500 unresolved and 5,000 resolved alerts. Then it times, median of --repeat:
the board's live data (reports.board.board with the charts given), the charts alone (reports.charts.board_charts, what
the page keeps for a few minutes), GET /board/data and GET /board through the app, with the charts kept and
with them recomputed, and prints each query of one board() call.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import event  # noqa: E402

from postal import accounts, db, demo_data, sites  # noqa: E402
from postal.clock import LOCAL_TZ, local, utcnow  # noqa: E402
from postal.db import sqlite_time  # noqa: E402
from postal.reports.board import board  # noqa: E402
from postal.reports.charts import board_charts  # noqa: E402
from routes import create_app  # noqa: E402

STATES = [("at_site", 0.38), ("in_transit", 0.30), ("awaiting_receipt", 0.20), ("created", 0.05),
          ("out_for_delivery", 0.05), ("missing", 0.02)]
COURIERS = 20
EVENT_COLUMNS = ("id", "seq", "parcel_id", "action", "device_at", "server_at", "site_id", "actor_id", "from_holder",
                 "to_holder", "run_id", "lat", "lon", "note", "evidence", "parcel_prev_hash", "prev_hash", "hash")


class Loader:
    """Driver-level executemany in each engine's storage form (UTC text and hex UUIDs on SQLite)."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"

    def t(self, value: datetime | None):
        return sqlite_time(value) if self.sqlite and value is not None else value

    def u(self, value: uuid.UUID):
        return value.hex if self.sqlite else value

    def insert(self, table: str, columns: tuple[str, ...], rows: list[tuple], chunk: int = 20_000) -> None:
        mark = "?" if self.sqlite else "%s"
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
        with self.engine.begin() as conn:
            for i in range(0, len(rows), chunk):
                conn.exec_driver_sql(sql, rows[i:i + chunk])

    def scalar(self, sql: str):
        with self.engine.connect() as conn:
            return conn.exec_driver_sql(sql).scalar()


def seed(url: str, in_flight: int, history: int) -> tuple[dict[str, int], datetime]:
    """The data; returns row counts and the moment the board is looked at."""
    rng = random.Random(6)
    engine = db.make_engine(url)
    db.drop_schema(engine)
    db.create_schema(engine)
    load = Loader(engine)
    now = utcnow()
    today = local(now).date()
    session = db.new_session(engine)
    for s in demo_data.SITES:
        sites.save_site(session, **{k: s[k] for k in ("code", "kind", "name", "address", "lat", "lon")})
    with engine.connect() as conn:
        site_ids = {code: i for i, code in conn.exec_driver_sql("SELECT id, code FROM site")}
    center, office = site_ids["TTHCC"], site_ids["BD-TINH"]
    agencies = [site_ids[s["code"]] for s in demo_data.SITES if s["kind"] == "agency"]
    couriers = [accounts.add_user(session, f"bt{i:02d}", role="courier", site_code="BD-TINH", password=None,
                                  full_name=f"Bưu tá {i:02d}", at=now).id for i in range(COURIERS)]
    clerk = accounts.add_user(session, "ntha", role="postal_clerk", site_code="TTHCC", password=None, at=now).id
    accounts.add_user(session, "gs.lan", role="supervisor", site_code="TTHCC", password="mat-khau-1", at=now)
    session.close()

    # today's runs: 8 lines x 4 departures, 6 stops each; what has left is under way or back
    run_rows, stop_rows, run_ids = [], [], []
    for n, (hh, mm) in enumerate([(8, 0), (10, 30), (14, 0), (16, 0)]):
        for line in range(8):
            run_id = n * 8 + line + 1
            departs = datetime.combine(today, datetime.min.time().replace(hour=hh, minute=mm), LOCAL_TZ).astimezone(UTC)
            ends = departs + timedelta(minutes=110)
            state = "closed" if ends < now else "started" if departs < now else "planned"
            run_rows.append((run_id, f"Tuyến {line + 1}", "shuttle", state, today.isoformat() if load.sqlite else today,
                             office, couriers[(n * 8 + line) % COURIERS], load.t(departs), load.t(departs - timedelta(minutes=15)),
                             load.t(ends), load.t(departs if state != "planned" else None), load.t(ends if state == "closed" else None),
                             load.t(now)))
            run_ids.append(run_id)
            stops = [center] + rng.sample(agencies, 4) + [center]
            for seq, site in enumerate(stops, 1):
                planned = departs + timedelta(minutes=18 * (seq - 1))
                gone = planned < now - timedelta(minutes=rng.randint(-10, 25))
                stop_rows.append((run_id, seq, site, seq in (1, len(stops)), load.t(planned),
                                  load.t(planned if gone else None), load.t(planned + timedelta(minutes=5) if gone else None)))
    load.insert("run", ("id", "name", "kind", "state", "day", "post_office_id", "courier_id", "departs_at", "cutoff_at",
                        "ends_at", "started_at", "closed_at", "created_at"), run_rows)
    load.insert("run_stop", ("run_id", "seq", "site_id", "hub", "planned_at", "arrived_at", "departed_at"), stop_rows)
    driving = [r[0] for r in run_rows if r[3] != "planned"] or run_ids[:1]

    dossiers, parcels, events = [], [], []
    seq = 0

    def add_event(parcel_id: int, action: str, at: datetime, site: int | None, actor: int, before: str, after: str,
                  run: int | None = None, lat: float | None = None, lon: float | None = None) -> None:
        nonlocal seq
        seq += 1
        digest = f"{seq:064x}"
        events.append((load.u(uuid.uuid4()), seq, parcel_id, action, load.t(at), load.t(at), site, actor, before,
                       after, run, lat, lon, "", "", "", f"{seq - 1:064x}", digest))

    # a month of dossiers returned: accept, pickup, handover, receive at the agency; the result delivered
    pid = 0
    for i in range(history):
        did = pid = i + 1
        received = now - timedelta(days=rng.uniform(2, 32))
        due = received + timedelta(days=rng.choice([3, 5, 7, 10]))
        returned = min(received + timedelta(days=rng.uniform(1, 11)), now - timedelta(hours=1))
        agency = rng.choice(agencies)
        dossiers.append((did, f"BENCH-H{i:07d}", "Cấp Phiếu lý lịch tư pháp", agency, center, "Nguyễn Văn An", "0912345678",
                         load.t(received), load.t(due), "counter", load.t(returned), "x", load.t(received)))
        parcels.append((pid, f"HC{10_000_000 + pid:08d}0VN"[:13], did, "to_agency", center, agency, "delivered", None,
                        None, load.t(returned), load.t(received)))
        courier = rng.choice(couriers)
        add_event(pid, "accept", received, center, clerk, "citizen", f"site:{center}")
        add_event(pid, "pickup", received + timedelta(hours=1), center, courier, f"site:{center}", f"courier:{courier}")
        add_event(pid, "handover", received + timedelta(hours=1, minutes=30), agency, courier, f"courier:{courier}", f"site:{agency}")
        add_event(pid, "receive", received + timedelta(hours=1, minutes=40), agency, clerk, f"site:{agency}", f"site:{agency}")
        add_event(pid, "deliver", returned, center, clerk, f"site:{center}", "citizen")

    # the parcels in flight; today's pickups on the runs under way carry a GPS fix
    states = rng.choices([s for s, _ in STATES], weights=[w for _, w in STATES], k=in_flight)
    for i, state in enumerate(states):
        did = history + i + 1
        pid = did
        received = now - timedelta(hours=rng.uniform(0.5, 24 * 6))
        agency = rng.choice(agencies)
        courier = rng.choice(couriers)
        dossiers.append((did, f"BENCH-F{i:07d}", "Cấp Phiếu lý lịch tư pháp", agency, center, "Trần Thị Bình", "0987654321",
                         load.t(received), load.t(received + timedelta(days=7)), "counter", None, "x", load.t(received)))
        holder_site = None if state in ("in_transit", "out_for_delivery", "created") else (agency if state == "awaiting_receipt" else center)
        holder_user = courier if state in ("in_transit", "out_for_delivery", "awaiting_receipt") else None
        parcels.append((pid, f"HC{20_000_000 + i:08d}0VN"[:13], did, "to_agency", center, agency, state, holder_site,
                        holder_user, load.t(received), load.t(received)))
        if state == "created":
            continue
        add_event(pid, "accept", received, center, clerk, "citizen", f"site:{center}")
        if state in ("in_transit", "awaiting_receipt", "out_for_delivery", "missing"):
            picked = min(received + timedelta(minutes=rng.randint(20, 180)), now)
            today_run = local(picked).date() == today and rng.random() < 0.5
            add_event(pid, "pickup", picked, center, courier, f"site:{center}", f"courier:{courier}",
                      run=rng.choice(driving) if today_run else None,
                      lat=20.95 + rng.uniform(-0.05, 0.05) if today_run else None,
                      lon=107.09 + rng.uniform(-0.1, 0.1) if today_run else None)
            if state == "awaiting_receipt":
                add_event(pid, "handover", min(picked + timedelta(minutes=25), now), agency, courier, f"courier:{courier}",
                          f"site:{agency}")
    load.insert("dossier", ("id", "code", "procedure", "agency_id", "center_id", "applicant_name", "applicant_phone",
                            "received_at", "due_at", "return_method", "returned_at", "request_hash", "created_at"), dossiers)
    load.insert("parcel", ("id", "code", "dossier_id", "direction", "origin_id", "destination_id", "state",
                           "holder_site_id", "holder_user_id", "last_event_at", "created_at"), parcels)
    load.insert("custody_event", EVENT_COLUMNS, events)

    alerts = []
    kinds = [("suspected_loss", "critical"), ("missed_run", "warning"), ("awaiting_receipt", "warning"),
             ("late_in_transit", "warning"), ("overdue", "critical")]
    for i in range(5_500):
        kind, severity = kinds[i % len(kinds)]
        parcel = history + 1 + i
        state = rng.choice(["open", "acknowledged"]) if i < 500 else "resolved"
        opened = now - timedelta(minutes=rng.randint(1, 60 * 24 * 20))
        alerts.append((kind, severity, "parcel", parcel, parcels[parcel - 1][1], load.t(opened), state,
                       None if state == "open" else couriers[0], "", load.t(opened + timedelta(hours=1)) if state == "resolved" else None))
    load.insert("alert", ("kind", "severity", "subject_type", "subject_id", "subject_code", "opened_at", "state",
                          "owner_id", "note", "resolved_at"), alerts)
    if not load.sqlite:  # sequences follow the ids given; VACUUM as autovacuum would (index-only scans need it)
        with engine.begin() as conn:
            for table in ("run", "run_stop", "dossier", "parcel", "alert"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    counts = {"dossiers": len(dossiers), "parcels": len(parcels), "in flight": in_flight, "events": len(events),
              "alerts": len(alerts), "runs today": len(run_rows)}
    engine.dispose()
    return counts, now


SUGGESTED = (  # would make the charts' two aggregates index-only range scans over their window
    "CREATE INDEX ix_custody_event_transfer_at ON custody_event (device_at, action, from_holder, parcel_id) "
    "WHERE action IN ('handover', 'receive')",
    "CREATE INDEX ix_dossier_returned_at ON dossier (returned_at, agency_id, due_at) WHERE returned_at IS NOT NULL",
)


def suggest_indexes(url: str) -> None:
    engine = db.make_engine(url)
    with engine.begin() as conn:
        for statement in SUGGESTED:
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    print("with the suggested indexes (this run only): " + "; ".join(s.split(" ON ")[0].split()[-1] for s in SUGGESTED))


def timed(fn, repeat: int) -> tuple[float, float, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), min(times), max(times)


def show(label: str, figures: tuple[float, float, float]) -> None:
    median, low, high = figures
    print(f"  {label:<52} median {median:7.1f} ms   (min {low:.1f}, max {high:.1f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--in-flight", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--suggested-indexes", action="store_true",
                        help="add, for this run only, the two indexes the charts would need (not in the schema)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        began = time.perf_counter()
        counts, _ = seed(url, args.in_flight, args.history)
        print(f"{url.split(':', 1)[0]}: " + ", ".join(f"{v:,} {k}" for k, v in counts.items())
              + f" (set up in {time.perf_counter() - began:.0f} s)")
        if args.suggested_indexes:
            suggest_indexes(url)

        app = create_app({"DATABASE_URL": url, "POSTAL_LABEL_KEY": "bench-label-key", "POSTAL_ARGON2_PROFILE": "CHEAPEST"})
        app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
        engine = app.extensions["postal.engine"]
        session = db.new_session(engine)
        now = utcnow()
        charts = board_charts(session, now)
        session.rollback()

        print("domain (postal/reports/), one session:")
        show("board live data: board(now, charts=kept)", timed(lambda: (board(session, utcnow(), charts=charts), session.rollback()), args.repeat))
        show("board charts: board_charts(now)", timed(lambda: (board_charts(session, utcnow()), session.rollback()), max(3, args.repeat // 3)))
        show("whole board: board(now)", timed(lambda: (board(session, utcnow()), session.rollback()), max(3, args.repeat // 3)))

        statements: list[tuple[float, str]] = []

        @event.listens_for(engine, "before_cursor_execute")
        def _start(conn, cursor, statement, parameters, context, executemany):
            conn.info["bench_started"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _stop(conn, cursor, statement, parameters, context, executemany):
            statements.append(((time.perf_counter() - conn.info.pop("bench_started")) * 1000, " ".join(statement.split())))

        board(session, utcnow(), charts=charts)
        session.rollback()
        print("queries of one board() call with the charts kept:")
        for ms, sql in statements:
            print(f"  {ms:7.2f} ms  {sql[:150]}")
        statements.clear()
        board_charts(session, utcnow())
        session.rollback()
        print("queries of board_charts():")
        for ms, sql in statements:
            print(f"  {ms:7.2f} ms  {sql[:150]}")
        event.remove(engine, "before_cursor_execute", _start)
        event.remove(engine, "after_cursor_execute", _stop)
        session.close()

        client = app.test_client()
        response = client.post("/login", data={"username": "gs.lan", "password": "mat-khau-1"})
        assert response.status_code == 302, response.status_code
        assert client.get("/board").status_code == 200  # warms the kept charts and Jinja's template cache
        print("through the app (Flask test client, server time):")
        show("GET /board/data, charts kept", timed(lambda: client.get("/board/data"), args.repeat))
        show("GET /board, charts kept", timed(lambda: client.get("/board"), args.repeat))

        def cold_page():
            app.extensions["postal.board_charts"].clear()
            assert client.get("/board").status_code == 200

        show("GET /board, charts recomputed (once per 5 min)", timed(cold_page, max(3, args.repeat // 3)))
        engine.dispose()
        if args.database_url is None:
            db.drop_schema(db.make_engine(url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
