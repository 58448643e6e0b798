"""Benchmark: the watch's full sweep over many open parcels, few of them due, against the bare queries.

    python scripts/bench/sweep.py [--database-url URL] [--parcels 1000000] [--due-pct 1] [--repeat 5] [--plans]

Fills a fresh database (a temporary SQLite file unless a URL is given; its tables are dropped and made
again) with synthetic rows through driver-level executemany: a center, ten agencies, a post office, a few
runs, and --parcels open parcels with their dossiers and manifest lines, of which --due-pct percent are
due, spread over the six rules that open alerts (missed run, late in transit, suspected loss, awaiting
receipt, overdue, due date at risk). The rest wait at the center for the next run, ride a run that has
not ended, were handed over minutes ago, or sit at their agency, all due in ten days.

Then it times, median of --repeat:
  bare    the rules' candidate SELECTs alone (postal.watch.bare): reading what is due, writing nothing;
  first   the full sweep when nothing is flagged yet: every due subject gets its alert;
  steady  the full sweep again (what the scheduler runs every minute): everything flagged, nothing new;
and again after adding as many open parcels that are not due (the table doubled): the sweep should stay
near flat, since every rule starts from an index holding only what can be due.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import Engine  # noqa: E402

from models import AlertKind  # noqa: E402
from postal import db, watch  # noqa: E402
from postal.clock import utcnow  # noqa: E402
from postal.config import Settings  # noqa: E402
from postal.db import sqlite_time  # noqa: E402

CHUNK = 50_000
AGENCIES = 10
CENTER, POST_OFFICE, FIRST_AGENCY = 1, 2, 3
COURIER = 1
DUE_KINDS = ("missed_run", "late_in_transit", "suspected_loss", "awaiting_receipt", "overdue", "due_at_risk")


class Loader:
    """Synthetic rows straight to the driver, in chunks."""

    def __init__(self, engine: Engine, now: datetime) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.now = now
        self.next_id = {"dossier": 1, "parcel": 1, "manifest_entry": 1}

    def t(self, delta: timedelta | None = None) -> object:
        """now + delta as the driver takes it."""
        value = self.now + (delta or timedelta(0))
        return sqlite_time(value) if self.sqlite else value

    def many(self, sql: str, rows: list[tuple]) -> None:
        if not rows:
            return
        with self.engine.begin() as conn:
            conn.exec_driver_sql(sql if self.sqlite else sql.replace("?", "%s"), rows)

    def network(self) -> dict[str, tuple[int, dict[int, int]]]:
        """Sites, a courier and the runs: name → (run id, {site id: stop id})."""
        sites = [(CENTER, "TTHCC", "center", "Trung tâm PVHCC"), (POST_OFFICE, "BD-TINH", "post_office", "Bưu điện tỉnh")]
        sites += [(FIRST_AGENCY + i, f"AG{i:02d}", "agency", f"Cơ quan {i}") for i in range(AGENCIES)]
        self.many("INSERT INTO site (id, code, kind, name, address, opens_at, closes_at) VALUES (?, ?, ?, ?, '', ?, ?)",
                  [(*s, "07:30:00" if self.sqlite else datetime.min.time().replace(hour=7, minute=30),
                    "17:00:00" if self.sqlite else datetime.min.time().replace(hour=17)) for s in sites])
        self.many("INSERT INTO user_account (id, username, full_name, role, site_id, active, created_at) VALUES (?, ?, '', ?, ?, ?, ?)",
                  [(COURIER, "nva", "courier", POST_OFFICE, True, self.t())])
        h = timedelta(hours=1)
        # name: (departs, ends, state, closed_at, hub departed at)
        plans = {
            "missed": (-2 * h, -h, "started", None, -1.9 * h),  # left the center without some parcels
            "late": (-3 * h, -2 * h, "started", None, -2.9 * h),  # ended two hours ago, never closed
            "closed": (-4 * h, -3 * h, "closed", -2.8 * h, -3.9 * h),  # closed with parcels on board
            "live": (-0.5 * h, h, "started", None, -0.4 * h),  # on the road now
            "next": (h, 2 * h, "planned", None, None),  # the next departure: what waits at the center
            "old": (-30 * 24 * h, -30 * 24 * h + h, "closed", -30 * 24 * h + h, -30 * 24 * h),  # a month ago
        }
        out = {}
        for run_id, (name, (departs, ends, state, closed, hub_left)) in enumerate(plans.items(), 1):
            frozen = None if state == "planned" else self.t(departs - timedelta(minutes=15))
            self.many("""INSERT INTO run (id, day, name, kind, state, post_office_id, courier_id, departs_at, cutoff_at, ends_at,
                frozen_at, started_at, closed_at, created_at) VALUES (?, ?, ?, 'shuttle', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                      [(run_id, (self.now + departs).date().isoformat() if self.sqlite else (self.now + departs).date(),
                        f"Tuyến {name}", state, POST_OFFICE, COURIER, self.t(departs), self.t(departs - timedelta(minutes=15)),
                        self.t(ends), frozen, None if state == "planned" else self.t(departs),
                        self.t(closed) if closed is not None else None, self.t(-40 * 24 * h))])
            stops = [CENTER, *(FIRST_AGENCY + i for i in range(AGENCIES)), CENTER]
            rows = []
            for seq, site in enumerate(stops, 1):
                departed = self.t(hub_left) if seq == 1 and hub_left is not None else None
                rows.append((run_id * 100 + seq, run_id, seq, site, seq in (1, len(stops)),
                             self.t(departs + timedelta(minutes=5 * seq)), departed, departed))
            self.many("""INSERT INTO run_stop (id, run_id, seq, site_id, hub, planned_at, arrived_at, departed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)""", rows)
            out[name] = (run_id, {site: run_id * 100 + seq for seq, site in enumerate(stops[:-1], 1)})
        return out

    def parcels(self, runs: dict[str, tuple[int, dict[int, int]]], kinds: Iterator[str], count: int) -> None:
        """`count` open parcels, each with its dossier (and a manifest line where its kind has one)."""
        h = timedelta(hours=1)
        while count > 0:
            n = min(CHUNK, count)
            count -= n
            dossier_rows, parcel_rows, entry_rows = [], [], []
            for _ in range(n):
                kind = next(kinds)
                d, p = self.next_id["dossier"], self.next_id["parcel"]
                self.next_id["dossier"] += 1
                self.next_id["parcel"] += 1
                agency = FIRST_AGENCY + p % AGENCIES
                due = {"overdue": -24 * h, "due_at_risk": 2 * h}.get(kind, 10 * 24 * h)
                dossier_rows.append((d, f"BENCH-{d:08d}", agency, self.t(-5 * 24 * h), self.t(due)))
                state, site, courier, last, entry = {
                    "waiting": ("at_site", CENTER, None, -h, ("next", None, None)),
                    "riding": ("in_transit", None, COURIER, -0.4 * h, ("live", -0.4 * h, None)),
                    "handed": ("awaiting_receipt", agency, COURIER, -0.1 * h, None),
                    "arrived": ("at_site", agency, None, -30 * 24 * h, ("old", -30 * 24 * h, -30 * 24 * h + 0.5 * h)),
                    "missed_run": ("at_site", CENTER, None, -3 * h, ("missed", None, None)),
                    "late_in_transit": ("in_transit", None, COURIER, -2.9 * h, ("late", -2.9 * h, None)),
                    "suspected_loss": ("in_transit", None, COURIER, -3.9 * h, ("closed", -3.9 * h, None)),
                    "awaiting_receipt": ("awaiting_receipt", agency, COURIER, -2 * h, None),
                    "overdue": ("at_site", agency, None, -2 * 24 * h, None),
                    "due_at_risk": ("at_site", agency, None, -24 * h, None),
                }[kind]
                parcel_rows.append((p, f"HC{p:09d}VN", d, CENTER, agency, state, site, courier, self.t(last), self.t(-5 * 24 * h)))
                if entry is not None:
                    run_name, picked, dropped = entry
                    run_id, stops = runs[run_name]
                    entry_rows.append((self.next_id["manifest_entry"], run_id, p, stops[CENTER], stops[agency],
                                       self.t(-5 * h), self.t(picked) if picked is not None else None,
                                       self.t(dropped) if dropped is not None else None))
                    self.next_id["manifest_entry"] += 1
            self.many("""INSERT INTO dossier (id, code, procedure, agency_id, center_id, applicant_name, applicant_phone,
                received_at, due_at, return_method, request_hash, created_at)
                VALUES (?, ?, 'Cấp Phiếu lý lịch tư pháp', ?, 1, 'Nguyễn Văn An', '0912345678', ?, ?, 'counter', 'x', ?)""",
                      [(*r, r[3]) for r in dossier_rows])
            self.many("""INSERT INTO parcel (id, code, dossier_id, direction, origin_id, destination_id, state, holder_site_id,
                holder_user_id, last_event_at, created_at) VALUES (?, ?, ?, 'to_agency', ?, ?, ?, ?, ?, ?, ?)""", parcel_rows)
            self.many("""INSERT INTO manifest_entry (id, run_id, parcel_id, pick_stop_id, drop_stop_id, manifested_at, picked_at,
                dropped_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""", entry_rows)


def mix(total: int, due: int, *, with_due: bool = True) -> Iterator[str]:
    """The kinds of `total` parcels: `due` of them spread over the due kinds, the rest over the four open ones."""
    quiet = (["waiting"] * 10) + (["riding"] * 5) + ["handed"] + (["arrived"] * 4)
    every = max(1, total // due) if with_due and due else 0
    i = 0
    for n in range(total):
        if every and n % every == 0 and n // every < due:
            yield DUE_KINDS[(n // every) % len(DUE_KINDS)]
        else:
            yield quiet[i % len(quiet)]
            i += 1


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """The median wall time of `fn` in ms, and its last answer."""
    times, answer = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        answer = fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), answer


def measure(settings: Settings, now: datetime, repeat: int, plans: bool) -> dict[str, float]:
    engine = db.engine_for(settings)
    with db.session_for(settings) as session:
        if plans:
            show_plans(session, now)

        def bare() -> dict:
            return watch.bare(session, now)

        def first() -> tuple[float, dict]:
            with engine.begin() as conn:  # nothing flagged yet (not timed)
                conn.exec_driver_sql("DELETE FROM alert")
            return timed(lambda: watch.sweep(session, now), 1)

        bare(), first()  # warm the caches: every figure below is of a warm database
        bare_ms, due = timed(bare, repeat)
        firsts = [first() for _ in range(max(1, repeat // 2))]
        first_ms, opened = statistics.median(ms for ms, _ in firsts), firsts[-1][1]
        vacuum(engine, "alert")  # the deletes above left dead rows that production, never deleting alerts, has not
        steady_ms, again = timed(lambda: watch.sweep(session, now), repeat)
    assert all(o == 0 for o, _ in again.values()), again  # idempotent: nothing opened twice
    assert all(opened[AlertKind(k)][0] == due[AlertKind(k)] for k in DUE_KINDS), (opened, due)
    print("    due per kind: " + ", ".join(f"{k} {due[AlertKind(k)]}" for k in DUE_KINDS))
    print(f"    bare candidate queries {bare_ms:8.1f} ms | full sweep, first {first_ms:8.1f} ms "
          f"({first_ms / bare_ms:.1f}x) | full sweep, steady {steady_ms:8.1f} ms ({steady_ms / bare_ms:.1f}x)")
    return {"bare": bare_ms, "first": first_ms, "steady": steady_ms}


def show_plans(session, now: datetime) -> None:
    """How the engine runs each rule's two statements (EXPLAIN; nothing is written)."""
    m = watch.moments(session, now, watch.Thresholds())
    dialect = session.get_bind().dialect.name
    explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    watch.follow_written_order(session)
    for rule in watch.RULES:
        statements = [("resolve", watch.resolve_sql(rule, dialect), (m.now, "\n", *watch.resolve_params(rule.kind, m)))]
        if rule.candidates is not None:
            statements.append(("open", watch.open_sql(rule, dialect), (m.now, *watch.open_params(rule.kind, m))))
        for what, sql, params in statements:
            print(f"  {rule.kind} ({what}):")
            for row in db.raw(session, explain + sql, params).all():
                print("      " + str(row[-1] if dialect == "sqlite" else row[0]))
    session.commit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--parcels", type=int, default=1_000_000)
    parser.add_argument("--due-pct", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--plans", action="store_true", help="print each rule's query plan")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="postal-bench-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        settings = Settings.from_env({"DATABASE_URL": url})
        engine = db.engine_for(settings)
        db.drop_schema(engine)
        db.create_schema(engine)
        now = utcnow()
        loader = Loader(engine, now)
        runs = loader.network()
        due = round(args.parcels * args.due_pct / 100)
        backend = engine.dialect.name
        began = time.perf_counter()
        loader.parcels(runs, mix(args.parcels, due), args.parcels)
        analyze(engine)
        print(f"{backend}: {args.parcels:,} open parcels, {due:,} due ({args.due_pct}%), loaded in "
              f"{time.perf_counter() - began:.0f} s")
        one = measure(settings, now, args.repeat, args.plans)

        began = time.perf_counter()
        loader.parcels(runs, mix(args.parcels, 0, with_due=False), args.parcels)
        analyze(engine)
        print(f"{backend}: doubled to {2 * args.parcels:,} open parcels, still {due:,} due, loaded in "
              f"{time.perf_counter() - began:.0f} s")
        two = measure(settings, now, args.repeat, args.plans)
        print(f"{backend}: table doubled → bare x{two['bare'] / one['bare']:.2f}, steady sweep x{two['steady'] / one['steady']:.2f}, "
              f"first sweep x{two['first'] / one['first']:.2f}")
        db.drop_schema(engine)
    return 0


def analyze(engine: Engine) -> None:
    """PostgreSQL's autovacuum would have vacuumed and analysed after such a load; SQLite gets no statistics, as in production."""
    vacuum(engine)


def vacuum(engine: Engine, table: str = "") -> None:
    """VACUUM ANALYZE on PostgreSQL (outside a transaction); nothing on SQLite."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"VACUUM ANALYZE {table}".strip())


if __name__ == "__main__":
    sys.exit(main())
