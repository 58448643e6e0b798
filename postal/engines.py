"""Engines alike on SQLite and PostgreSQL, and the write lock every writer waits for within its budget.

SQLite has one write lock per database file: a writer takes it before it reads (BEGIN IMMEDIATE), threads of
one process queue for it on a Python lock, a write that cannot get it within the budget is refused as busy
(503 with Retry-After, nothing written), and a thread of its own copies the write-ahead log back. PostgreSQL
writers lock what they change; a row's lock that does not come within the budget is refused the same way.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url

from postal.config import Settings
from postal.errors import WriteBusy

WRITE = {"postal_write": True}
CONNECT_TIMEOUT_S = 5  # a server that does not answer is an error this soon (/healthz says down), never a hang
LONG_HOLD_S = 0.25  # no background job holds SQLite's write lock longer at a time; a longer hold is logged
log = logging.getLogger("postal.db")
WRITE_WAIT_S = Settings.model_fields["write_wait_s"].default  # how long a writer waits for the write lock, unless the settings say


# Per engine: how a read transaction becomes the writer (SQLite), and the write budget it was made with.
upgrades: weakref.WeakKeyDictionary[Engine, Callable] = weakref.WeakKeyDictionary()
write_wait: weakref.WeakKeyDictionary[Engine, float] = weakref.WeakKeyDictionary()


def set_pragmas(dbapi_connection, path: Path | None) -> None:
    """A new SQLite connection: WAL, foreign keys on, and BEGIN left to make_engine's listeners."""
    dbapi_connection.isolation_level = None  # make_engine emits BEGIN itself
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        dbapi_connection.execute(f"PRAGMA {pragma}")
    if path is not None:  # checkpoints are the checkpointer's; this is a net should it fall behind
        dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_NET_PAGES}")


def make_engine(url: str, *, write_wait_s: float = WRITE_WAIT_S) -> Engine:
    """An engine whose SQLite connections enforce the same rules as PostgreSQL, and whose writes wait at
    most `write_wait_s` for a lock before they are refused with WriteBusy (503, nothing written)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return postgres_engine(url, write_wait_s)
    path = None
    if parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": write_wait_s, "check_same_thread": False})
    event.listen(engine, "handle_error", lambda context: refuse_when_busy(context, write_wait_s))
    write_wait[engine] = write_wait_s
    event.listen(engine, "connect", lambda dbapi_connection, _record: set_pragmas(dbapi_connection, path))

    # Writer threads of this process queue here and wake at once; SQLite's own busy handler
    # sleeps in steps of up to 100 ms, which under load costs more than the writes.
    writers = threading.Lock()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        if not conn.get_execution_options().get("postal_write"):
            conn.exec_driver_sql("BEGIN")
            return
        start_write(conn)

    def start_write(conn) -> None:
        # A writer takes SQLite's write lock before it reads, so two writers never both
        # see the same state and then both act on it (BEGIN IMMEDIATE). The Python lock
        # only orders this process's threads; correctness rests on the database lock.
        if not writers.acquire(timeout=write_wait_s):
            raise WriteBusy(seconds=retry_after(write_wait_s))
        conn.info["postal_writer"] = time.monotonic()
        try:
            begin_immediate(conn.connection.dbapi_connection, write_wait_s)
        except BaseException:
            _release(conn)
            raise

    def upgrade_to_write(conn) -> None:
        """A read transaction becomes the writer on the same connection: its snapshot ends first."""
        conn.connection.dbapi_connection.execute("COMMIT")
        start_write(conn)

    upgrades[engine] = upgrade_to_write

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _release(conn) -> None:
        since = conn.info.pop("postal_writer", None)
        if since is not None:
            writers.release()
            held = time.monotonic() - since
            if held > LONG_HOLD_S:
                log.warning("the write lock was held %.0f ms (more than %.0f): every other writer waited",
                            held * 1000, LONG_HOLD_S * 1000)
            if path is not None:
                checkpointer.poke(path)

    return engine


def postgres_engine(url: str, write_wait_s: float) -> Engine:
    """PostgreSQL: a statement that waits for a row's lock longer than the budget is refused (lock_timeout), and a
    server that does not answer a connection within CONNECT_TIMEOUT_S is an error."""
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                           connect_args={"options": f"-c lock_timeout={int(write_wait_s * 1000)}",
                                         "connect_timeout": CONNECT_TIMEOUT_S})
    event.listen(engine, "handle_error", lambda context: refuse_when_busy(context, write_wait_s))
    write_wait[engine] = write_wait_s
    return engine


def retry_after(write_wait_s: float) -> int:
    """Seconds a refused writer is told to wait: the lock is busy now, not for long."""
    return max(1, min(5, round(write_wait_s / 2)))


def is_busy(error: BaseException) -> bool:
    """A lock that did not come in time: SQLite's "database is locked", PostgreSQL's lock_not_available."""
    if isinstance(error, sqlite3.OperationalError):
        return "locked" in str(error) or "busy" in str(error)
    return getattr(error, "sqlstate", None) == "55P03"


def refuse_when_busy(context: ExceptionContext, write_wait_s: float) -> None:
    """A lock that did not come in time is a busy database, answered 503: never a 500 "database is locked"."""
    if is_busy(context.original_exception):
        raise WriteBusy(seconds=retry_after(write_wait_s)) from context.original_exception


AUTOCHECKPOINT_NET_PAGES = 20_000  # ~80 MB of WAL: reached only if the checkpointer thread could not keep up
CHECKPOINT_EVERY_S = 0.5


class Checkpointer:
    """Copies SQLite's write-ahead log back into the database from a thread of its own.

    SQLite's default is to checkpoint inside the commit that crosses 1,000 pages of WAL: that
    commit then takes tens of milliseconds (copy and fsync) while every other writer waits for it.
    Here a daemon thread per process runs a PASSIVE checkpoint (it never blocks writers or readers)
    shortly after this process wrote. Several processes may each run one: SQLite serialises them.
    """

    def __init__(self) -> None:
        self.pending: set[Path] = set()
        self.pid: int | None = None
        self.lock = threading.Lock()  # starting the thread

    def poke(self, path: Path) -> None:
        """This process wrote to the database at path: checkpoint it soon."""
        self.pending.add(path)
        if self.pid != os.getpid():  # first write in this process (or in a forked child)
            with self.lock:
                if self.pid != os.getpid():
                    self.pid = os.getpid()
                    threading.Thread(target=self.run, name="sqlite-checkpointer", daemon=True).start()

    def run(self) -> None:
        while True:
            time.sleep(CHECKPOINT_EVERY_S)
            while self.pending:
                self.checkpoint(self.pending.pop())

    @staticmethod
    def checkpoint(path: Path) -> None:
        if not path.exists():  # a database removed since (tests, tools)
            return
        try:
            connection = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                connection.close()
        except sqlite3.Error:
            pass  # busy or gone: the next write asks again, and the autocheckpoint net remains


checkpointer = Checkpointer()

# No fork guard: a process that forks never holds a connection (gunicorn's master opens none, and `postal
# up` only starts programs of their own), so no child inherits SQLite's record of a parent's locks.


def begin_immediate(dbapi_connection, wait_s: float = WRITE_WAIT_S) -> None:
    """BEGIN IMMEDIATE, retried every fraction of a millisecond while another process writes; WriteBusy
    when the lock did not come within `wait_s`."""
    deadline = time.monotonic() + wait_s
    delay = 0.0002
    dbapi_connection.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) and "busy" not in str(err):
                    raise
                if time.monotonic() > deadline:
                    raise WriteBusy(seconds=retry_after(wait_s)) from err
            time.sleep(delay)
            delay = min(delay * 1.5, 0.002)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout = {int(wait_s * 1000)}")
