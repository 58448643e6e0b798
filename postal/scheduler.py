"""The scheduler: runs generated ahead, manifests frozen at their cutoffs, by exactly one leader.

APScheduler 3 keeps its jobs in the app's database (table apscheduler_jobs, made by the migrations),
coalesces missed firings into one and forgives a firing late by up to MISFIRE_GRACE_S.

One leader among every process pointed at the same database: on PostgreSQL a session advisory lock
(pg_try_advisory_lock) held on a dedicated connection for the leader's life; on SQLite an OS file lock
(fcntl.flock) on `<database file>.scheduler.lock`, beside the database it guards. Either lock dies with
its process — no lease to renew, no stale row to clear after a crash. A process that is not the leader
tries again every POLL_S seconds, so when the leader goes another takes over.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from postal import checkpoints, db, delivery, health, metrics, notifications, runs, watch
from postal.clock import LOCAL_TZ, local, utcnow
from postal.config import Settings
from postal.errors import WriteBusy
from postal.workdays import DEFAULT_CALENDAR

LOCK_KEY = int.from_bytes(b"postal", "big")  # this service's advisory lock id on PostgreSQL
POLL_S = 5.0
STOP_GRACE_S = 5.0  # running jobs get this long to finish when the scheduler stops; one that hangs is left
MISFIRE_GRACE_S = 300
GENERATE_AHEAD_DAYS = 14  # covers Tết and its weekends, so the next working day always has its runs

log = logging.getLogger("postal.scheduler")
# Jobs are stored pickled in the database: they carry this key, never the settings and their secrets.
_settings: dict[str, Settings] = {}


def key_of(settings: Settings) -> str:
    return hashlib.sha256(settings.database_url.encode()).hexdigest()[:16]


# -- jobs ------------------------------------------------------------------------------------------------


def generate_ahead(key: str) -> int:
    """Create the runs of the coming working days (daily, and when a leader starts)."""
    settings, now = _settings[key], utcnow()
    with db.session_for(settings) as session:
        created = runs.generate(session, local(now).date(), GENERATE_AHEAD_DAYS, now)
    log.info("generated %d runs", created)
    return created


def freeze_due_runs(key: str) -> int:
    """Freeze the manifests of the runs whose cutoff has passed and order their stops (every minute)."""
    settings, now = _settings[key], utcnow()
    with db.session_for(settings) as session:
        frozen = runs.freeze_due(session, now)
    if frozen:
        log.info("froze %d runs", frozen)
    return frozen


def send_notifications(key: str) -> int:
    """Send what is due in the outbox: SMS, e-mail, webhooks (every minute; `postal notify` does the same)."""
    report = notifications.send_pending(_settings[key], now=utcnow())
    if report.sent or report.failed:
        log.info("notifications: %s", report)
    return report.sent


def plan_deliveries(key: str) -> int:
    """Bring delivery requests up to date from custody, and make the delivery runs of today and the next
    working day (every five minutes; idempotent)."""
    settings, now = _settings[key], utcnow()
    with db.session_for(settings) as session:
        with db.writing(session):
            delivery.settle(session, now)
        today = local(now).date()
        made = sum(delivery.generate_day(session, day, now).runs
                   for day in (today, DEFAULT_CALENDAR.add_working_days(today, 1)))
    return made


def sweep_alerts(key: str) -> int:
    """Run the watch's rules: open the alerts that are due, resolve the ones that cleared (every minute)."""
    settings, now = _settings[key], utcnow()
    with db.session_for(settings) as session, metrics.sweep_timer():
        counts = watch.sweep(session, now, settings=settings)
    opened, resolved = sum(o for o, _ in counts.values()), sum(r for _, r in counts.values())
    if opened or resolved:
        log.info("watch: opened %d alerts, resolved %d", opened, resolved)
    return opened


def checkpoint_ledger(key: str) -> int:
    """Sign the chain head and write it outside the database (every minute; `postal ledger checkpoint` does
    the same). A chain that no longer holds an earlier checkpoint is logged, and nothing is signed over it."""
    settings, now = _settings[key], utcnow()
    with db.session_for(settings) as session:
        try:
            taken = checkpoints.take(session, settings, now)
        except checkpoints.CheckpointError as err:
            log.error("ledger checkpoint refused: %s", err)
            return 0
    if taken.new:
        log.info("ledger checkpoint of %d events", taken.checkpoint.seq)
    return taken.checkpoint.seq


@dataclass(frozen=True)
class JobSpec:
    """A job as the leader registers it; `func` is a "module:function" reference, stored as text."""

    id: str
    func: str
    trigger: str
    options: dict = field(default_factory=dict)  # the trigger's fields, and per-job APScheduler options
    args: tuple | None = None  # None: the settings key
    at_start: bool = False  # also fire as soon as a leader takes over, to catch up after downtime


JOBS: tuple[JobSpec, ...] = (
    JobSpec("generate-runs", "postal.scheduler:generate_ahead", "cron",
            {"hour": 0, "minute": 5, "misfire_grace_time": 6 * 3600}, at_start=True),
    JobSpec("freeze-manifests", "postal.scheduler:freeze_due_runs", "interval", {"minutes": 1}, at_start=True),
    JobSpec("notify", "postal.scheduler:send_notifications", "interval", {"minutes": 1}, at_start=True),
    JobSpec("sweep", "postal.scheduler:sweep_alerts", "interval", {"minutes": 1}, at_start=True),
    JobSpec("deliveries", "postal.scheduler:plan_deliveries", "interval", {"minutes": 5}, at_start=True),
    JobSpec("ledger-checkpoint", "postal.scheduler:checkpoint_ledger", "interval", {"minutes": 1}, at_start=True),
)


# -- leadership ------------------------------------------------------------------------------------------


class Leadership(Protocol):
    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it."""
        ...

    def held(self) -> bool:
        """Whether the lock is still ours."""
        ...

    def release(self) -> None:
        ...


class AdvisoryLock:
    """PostgreSQL: a session advisory lock on a connection kept open while leading."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, poolclass=NullPool)
        self.conn: Connection | None = None

    def try_acquire(self) -> bool:
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar_one()
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self.conn = conn
        return True

    def held(self) -> bool:
        if self.conn is None:
            return False
        try:
            self.conn.execute(text("SELECT 1"))  # the session is alive, so its lock is too
            return True
        except DBAPIError:
            self.conn = None
            return False

    def release(self) -> None:
        if self.conn is None:
            return
        try:
            self.conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
        except DBAPIError:
            pass  # the session is gone, and its lock with it
        finally:
            self.conn.close()
            self.conn = None
            self.engine.dispose()


class FileLock:
    """SQLite: an exclusive flock on a file beside the database; the kernel drops it with the process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def try_acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # who leads, for a person looking
        self.fd = fd
        return True

    def held(self) -> bool:
        return self.fd is not None

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


class ProcessLock:
    """An in-memory SQLite database lives in one process: a lock in that process is enough."""

    _lock = threading.Lock()

    def __init__(self) -> None:
        self.mine = False

    def try_acquire(self) -> bool:
        self.mine = self._lock.acquire(blocking=False)
        return self.mine

    def held(self) -> bool:
        return self.mine

    def release(self) -> None:
        if self.mine:
            self._lock.release()
            self.mine = False


def leadership_for(settings: Settings) -> Leadership:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "postgresql":
        return AdvisoryLock(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return FileLock(Path(url.database).with_name(Path(url.database).name + ".scheduler.lock"))
    return ProcessLock()


# -- the runner ------------------------------------------------------------------------------------------


class Runner:
    """Waits to lead; while leading, runs the jobs; steps down when stopped or when the lock is lost."""

    def __init__(self, settings: Settings, *, jobs: Sequence[JobSpec] = JOBS, poll_s: float = POLL_S,
                 announce: Callable[[str], None] = log.info) -> None:
        self.settings = settings
        self.key = key_of(settings)
        _settings[self.key] = settings
        self.jobs = tuple(jobs)
        self.poll_s = poll_s
        self.announce = announce
        self.leadership = leadership_for(settings)
        self.engine = db.make_engine(settings.database_url, write_wait_s=settings.write_wait_s)  # the job store's own engine
        self.stopping = threading.Event()
        self.leading = threading.Event()
        self.thread: threading.Thread | None = None
        self.abandoned = False  # a job was still running when the scheduler stopped (see step_down)

    def run(self) -> None:
        """Block until stop(): lead whenever the lock can be had."""
        waiting_said = False
        while not self.stopping.is_set():
            if not self.leadership.try_acquire():
                if not waiting_said:
                    self.announce("another scheduler leads; waiting to take over")
                    waiting_said = True
                self.stopping.wait(self.poll_s)
                continue
            if self.stopping.is_set():
                self.leadership.release()
                break
            self.announce("leading: running the jobs")
            waiting_said = False
            scheduler = self.start_jobs()
            term_ended = threading.Event()
            threading.Thread(target=self.keep_beating, args=(term_ended,), name="postal-scheduler-beat",
                             daemon=True).start()
            try:
                while not self.stopping.wait(self.poll_s):
                    if not self.leadership.held():
                        self.announce("leadership lost; waiting")
                        break
            finally:
                term_ended.set()
                self.step_down(scheduler)
        self.engine.dispose()

    def keep_beating(self, term_ended: threading.Event) -> None:
        """Beat every poll while this term of leadership lasts, in a thread of its own: a beat waiting for the
        write lock never holds up stepping down (a beat in flight when the process ends is rolled back)."""
        while not term_ended.is_set() and not self.stopping.is_set():
            self.beat()
            term_ended.wait(self.poll_s)

    def beat(self) -> None:
        """Say that this process still leads, for /healthz. A beat the database refuses is logged and the lead
        kept: the jobs meet the same database and say so themselves, and the beat grows old."""
        session = db.new_session(self.engine)
        try:
            health.beat(session, f"{socket.gethostname()}:{os.getpid()}", utcnow())
        except (SQLAlchemyError, WriteBusy) as err:  # busy: the next beat comes in POLL_S
            log.warning("scheduler heartbeat not written: %s", err)
        finally:
            session.close()

    def step_down(self, scheduler: BackgroundScheduler) -> None:
        """Stop the jobs: running ones get STOP_GRACE_S to finish. One that hangs (a gateway that never
        answers) is left behind, `abandoned` says so, and the process that ends without it rolls its
        transaction back; an outbox message it held is sent again after its lease, with the same key."""
        waiter = threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, name="postal-scheduler-stop",
                                  daemon=True)
        waiter.start()
        waiter.join(STOP_GRACE_S if self.stopping.is_set() else None)
        self.abandoned = waiter.is_alive()
        self.leading.clear()
        self.leadership.release()

    def start_jobs(self) -> BackgroundScheduler:
        scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.engine)},
            job_defaults={"coalesce": True, "misfire_grace_time": MISFIRE_GRACE_S, "max_instances": 1},
            timezone=LOCAL_TZ,
        )
        now = datetime.now(LOCAL_TZ)
        for job in self.jobs:
            extra = {"next_run_time": now + timedelta(seconds=1)} if job.at_start else {}
            scheduler.add_job(job.func, job.trigger, id=job.id, args=list(job.args if job.args is not None else (self.key,)),
                              replace_existing=True, **job.options, **extra)
        scheduler.start()
        self.leading.set()
        return scheduler

    def start_background(self) -> threading.Thread:
        """Run in a daemon thread (for `postal up`)."""
        self.thread = threading.Thread(target=self.run, name="postal-scheduler", daemon=True)
        self.thread.start()
        return self.thread

    def stop(self, timeout: float | None = 30) -> None:
        self.stopping.set()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout)
