"""The scheduler: one leader per database, jobs kept in the database, a follower takes over."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from models import Run, SchedulerJob
from postal import scheduler
from postal.clock import LOCAL_TZ
from postal.config import Settings


def note_run(path: str) -> None:
    """A job that leaves a line per firing: how many times it ran is the number of lines."""
    with open(path, "a") as f:
        f.write(f"{time.time()}\n")


def wait_for(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def once(path: Path, delay_s: float = 1.0) -> tuple[scheduler.JobSpec, ...]:
    run_date = datetime.now(LOCAL_TZ) + timedelta(seconds=delay_s)
    return (scheduler.JobSpec("test-once", "tests.test_scheduler:note_run", "date", {"run_date": run_date}, args=(str(path),)),)


def test_two_schedulers_run_a_job_once(app, database_url, tmp_path):
    settings = Settings.from_env({"DATABASE_URL": database_url})
    ran = tmp_path / "ran.txt"
    jobs = once(ran)
    first = scheduler.Runner(settings, jobs=jobs, poll_s=0.1, announce=lambda _: None)
    second = scheduler.Runner(settings, jobs=jobs, poll_s=0.1, announce=lambda _: None)
    assert first.engine is not second.engine  # each has its own engine, as two processes would
    first.start_background()
    second.start_background()
    try:
        assert wait_for(lambda: lines(ran) >= 1)
        time.sleep(1.0)  # time enough for a second firing, were there a second leader
        assert lines(ran) == 1
        assert first.leading.is_set() != second.leading.is_set()
    finally:
        follower, leader = (second, first) if first.leading.is_set() else (first, second)
        follower.stop()  # first, so it cannot take over and fire the one-off job again
        leader.stop()
    assert lines(ran) == 1


def test_a_follower_takes_over_when_the_leader_stops(app, database_url, tmp_path):
    settings = Settings.from_env({"DATABASE_URL": database_url})
    leader = scheduler.Runner(settings, jobs=(), poll_s=0.1, announce=lambda _: None)
    leader.start_background()
    assert wait_for(leader.leading.is_set)
    heard: list[str] = []
    follower = scheduler.Runner(settings, jobs=once(tmp_path / "ran.txt", 0.5), poll_s=0.1, announce=heard.append)
    follower.start_background()
    time.sleep(0.5)
    assert not follower.leading.is_set() and heard == ["another scheduler leads; waiting to take over"]
    leader.stop()
    assert wait_for(follower.leading.is_set)
    assert wait_for(lambda: lines(tmp_path / "ran.txt") == 1)
    follower.stop()
    assert not follower.leading.is_set()


def test_the_real_jobs_live_in_the_database_and_generate_runs(app, database_url, make):
    from models.runs import RunTemplateIn
    from postal import runs
    from postal.clock import utcnow

    make.network()
    admin = make.user("admin", "admin", None)
    runs.create_template(make.session, RunTemplateIn(name="Tuyến 1", departs="08:00", stops=["TTHCC", "STP"],
                                                     post_office="BD-TINH"), actor=admin, now=utcnow())
    settings = Settings.from_env({"DATABASE_URL": database_url})
    runner = scheduler.Runner(settings, poll_s=0.1, announce=lambda _: None)
    runner.start_background()
    try:
        assert wait_for(runner.leading.is_set)

        def count(model) -> int:
            with runner.engine.connect() as conn:  # a fresh snapshot each time
                return conn.execute(select(func.count()).select_from(model)).scalar_one()

        assert wait_for(lambda: count(SchedulerJob) == 6)
        with runner.engine.connect() as conn:
            assert set(conn.execute(select(SchedulerJob.id)).scalars()) == {"generate-runs", "freeze-manifests", "notify",
                                                                            "sweep", "deliveries", "ledger-checkpoint"}
        # at start the leader catches up: the coming fortnight's working days get their runs
        assert wait_for(lambda: count(Run) >= 5)
    finally:
        runner.stop()


def test_no_background_job_holds_the_write_lock_longer_than_250_ms(app, database_url):
    """Scans wait for SQLite's one write lock: every job of the scheduler, on a province with a week of
    history, writes in transactions short enough that a scan behind one never waits long."""
    from sqlalchemy import event

    from postal import db, demo
    from postal.clock import utcnow

    settings = Settings.from_env({"DATABASE_URL": database_url, "POSTAL_ARGON2_PROFILE": "CHEAPEST"})
    with db.session_for(settings) as session:
        demo.seed(session, settings, utcnow())
    engine, began, held = db.engine_for(settings), {}, {}
    current = {"job": ""}

    def begin(conn) -> None:
        if conn.get_execution_options().get("postal_write") or engine.dialect.name == "postgresql":
            began[id(conn)] = time.perf_counter()

    def end(conn) -> None:
        if (since := began.pop(id(conn), None)) is not None:
            held[current["job"]] = max(held.get(current["job"], 0.0), time.perf_counter() - since)

    event.listen(engine, "begin", begin)
    event.listen(engine, "commit", end)
    event.listen(engine, "rollback", end)
    runner = scheduler.Runner(settings, announce=lambda _: None)
    try:
        for job in scheduler.JOBS:
            current["job"] = job.id
            module, name = job.func.split(":")
            getattr(__import__(module, fromlist=[name]), name)(runner.key)
    finally:
        for name, listener in (("begin", begin), ("commit", end), ("rollback", end)):
            event.remove(engine, name, listener)
        runner.engine.dispose()
    assert set(held) == {job.id for job in scheduler.JOBS}  # every job wrote something
    assert max(held.values()) < 0.25, {job: f"{seconds * 1000:.0f} ms" for job, seconds in held.items()}
