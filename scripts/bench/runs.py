"""Benchmark: generating a month of shuttle runs from the demo province's templates.

    python scripts/bench/runs.py [--database-url URL] [--days 31]

Uses a fresh SQLite file unless a database URL is given (its tables are dropped and made again).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import func, select  # noqa: E402

from models import Run, RunStop  # noqa: E402
from postal import accounts, db, demo, demo_data, runs, sites  # noqa: E402
from postal.clock import utcnow  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        timings = []
        for _ in range(args.repeat):
            engine = db.make_engine(url)
            db.drop_schema(engine)
            db.create_schema(engine)
            session = db.new_session(engine)
            now = utcnow()
            for s in demo_data.SITES:
                sites.save_site(session, **s)
            session.commit()
            admin = accounts.add_user(session, "admin", role="admin", site_code=None, password=None, at=now)
            templates = demo.seed_templates(session, admin, now)
            start = date(2026, 12, 1)
            began = time.perf_counter()
            created = runs.generate(session, start, args.days, now)
            timings.append(time.perf_counter() - began)
            began = time.perf_counter()
            again = runs.generate(session, start, args.days, now)
            idle = time.perf_counter() - began
            stops = session.execute(select(func.count()).select_from(RunStop)).scalar_one()
            assert session.execute(select(func.count()).select_from(Run)).scalar_one() == created and again == 0
            session.close()
            db.drop_schema(engine)
        backend = url.split(":", 1)[0]
        print(f"{backend}: {templates} templates, {args.days} days from {start}: {created} runs, {stops} stops")
        print(f"generate a month: median {statistics.median(timings) * 1000:.0f} ms "
              f"(min {min(timings) * 1000:.0f}, max {max(timings) * 1000:.0f}, {args.repeat} runs); "
              f"again (nothing to create): {idle * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
