"""Engines, sessions and the schema's database-side guards, alike on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import ExceptionContext, make_url
from sqlmodel import Session, SQLModel

import models  # noqa: F401  (registers every table on the metadata)
from models import ChainHead
from postal.clock import as_utc, naive_utc
from postal.config import Settings
from postal.errors import WriteBusy

WRITE = {"postal_write": True}
LONG_HOLD_S = 0.25  # no background job holds SQLite's write lock longer at a time; a longer hold is logged
log = logging.getLogger("postal.db")
WRITE_WAIT_S = Settings.model_fields["write_wait_s"].default  # how long a writer waits for the write lock, unless the settings say


def append_only_ddl(table: str) -> dict[str, list[str]]:
    """Triggers by which the database itself refuses to change or remove a row of `table`, per engine."""
    refuse, run = f"'{table} is append-only'", f"EXECUTE FUNCTION {table}_append_only()"
    return {
        "sqlite": [f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
                   f"BEGIN SELECT RAISE(ABORT, {refuse}); END" for op in ("UPDATE", "DELETE")],
        "postgresql": [
            f"CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION {refuse}; END $$",
            *drop_append_only_ddl(table)["postgresql"],
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW {run}",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT {run}",
        ],
    }


def drop_append_only_ddl(table: str) -> dict[str, list[str]]:
    return {"sqlite": [f"DROP TRIGGER IF EXISTS {table}_no_update", f"DROP TRIGGER IF EXISTS {table}_no_delete"],
            "postgresql": [f"DROP TRIGGER IF EXISTS {table}_no_{t} ON {table}" for t in ("change", "truncate")]}


# Custody events are append-only: the database itself refuses to change or remove one. So are the
# checkpoints of their chain (made by a later migration, hence guards of their own).
APPEND_ONLY_DDL, DROP_APPEND_ONLY_DDL = append_only_ddl("custody_event"), drop_append_only_ddl("custody_event")
CHECKPOINT_APPEND_ONLY_DDL = append_only_ddl("ledger_checkpoint")


_upgrades: weakref.WeakKeyDictionary[Engine, Callable] = weakref.WeakKeyDictionary()
_write_wait: weakref.WeakKeyDictionary[Engine, float] = weakref.WeakKeyDictionary()


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
    _write_wait[engine] = write_wait_s

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        if path is not None:  # checkpoints are the checkpointer's; this is a net should it fall behind
            cursor.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_NET_PAGES}")
        cursor.close()

    # Writer threads of this process queue here and wake at once; SQLite's own busy handler
    # sleeps in steps of up to 100 ms, which under load costs more than the writes.
    writers = threading.Lock()
    if path is not None:
        _writer_locks[engine] = writers

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

    _upgrades[engine] = upgrade_to_write

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
    """PostgreSQL: a statement that waits for a row's lock longer than the budget is refused (lock_timeout)."""
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                           connect_args={"options": f"-c lock_timeout={int(write_wait_s * 1000)}"})
    event.listen(engine, "handle_error", lambda context: refuse_when_busy(context, write_wait_s))
    _write_wait[engine] = write_wait_s
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
        self.busy = threading.Lock()  # held while its connection is open: a fork waits for it (see _before_fork)

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
                path = self.pending.pop()
                with self.busy:
                    self.checkpoint(path)

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

# SQLite must not see a fork while this process has connections open: the child inherits the
# bookkeeping of their locks, which it can never release, and its own writes then end in "database is
# locked" (gunicorn's master forks workers while the scheduler and the checkpointer work in it). So a
# fork waits until no checkpoint runs and no writer is inside its transaction, then closes the pooled
# connections; the parent opens new ones as it needs them.
_writer_locks: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_held_at_fork: list[threading.Lock] = []


def _before_fork() -> None:
    for lock in [checkpointer.busy, *_writer_locks.values()]:
        if lock.acquire(timeout=WRITE_WAIT_S):
            _held_at_fork.append(lock)
    for engine in list(_writer_locks):
        engine.dispose()


def _after_fork() -> None:
    while _held_at_fork:
        _held_at_fork.pop().release()


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork, after_in_child=_after_fork)


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


def create_schema(engine: Engine) -> None:
    """Create every table, the append-only guards and the chain head (tests, fresh boxes)."""
    SQLModel.metadata.create_all(engine)
    with engine.begin() as conn:
        install_guards(conn)
        for statement in CHECKPOINT_APPEND_ONLY_DDL[conn.dialect.name]:
            conn.exec_driver_sql(statement)


def install_guards(conn) -> None:
    """Database-side rules that no ORM metadata describes; shared with the migrations."""
    for statement in APPEND_ONLY_DDL[conn.dialect.name]:
        conn.exec_driver_sql(statement)
    if conn.execute(text("SELECT count(*) FROM chain_head")).scalar_one() == 0:
        conn.execute(ChainHead.__table__.insert().values(id=1, seq=0, hash="0" * 64))


def drop_schema(engine: Engine) -> None:
    """Remove everything create_schema made (PostgreSQL databases outlive a test)."""
    engine.dispose()
    SQLModel.metadata.drop_all(engine)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP FUNCTION IF EXISTS custody_event_append_only() CASCADE")
            conn.exec_driver_sql("DROP FUNCTION IF EXISTS ledger_checkpoint_append_only() CASCADE")
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    engine.dispose()


def new_session(engine: Engine) -> Session:
    """A session whose objects stay readable after commit (no reload per attribute)."""
    return Session(engine, expire_on_commit=False)


@contextmanager
def writing(session: Session) -> Iterator[Session]:
    """One unit of work: `with db.writing(session): …` begins the writer's transaction and commits at its end,
    or rolls back when the block raises; the only place a use case's writes are committed. A use case
    called inside another's block joins it: the outer block commits both, once."""
    if session.info.get("postal_unit"):
        yield session
        return
    begin_write(session)
    session.info["postal_unit"] = True
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info["postal_unit"] = False


def end_reading(session: Session) -> None:
    """End a read-only transaction (its snapshot), writing nothing: what a long-running reader does between
    rounds so that it sees what others committed since."""
    session.rollback()


def begin_write(session: Session) -> None:
    """Make the session's transaction a writer's (SQLite: BEGIN IMMEDIATE) for the use case that starts.

    After another use case's writes, that transaction is committed and a new one begins. After reads
    only (the caller's token, say), the same connection becomes the writer without going back to the
    pool: on SQLite its read snapshot ends and BEGIN IMMEDIATE follows; on PostgreSQL nothing is needed,
    its writers lock what they change. Nothing is pending at a use case's start.
    """
    if session.info.get("postal_writing"):
        session.commit()
    if not session.in_transaction():
        session.connection(execution_options=WRITE)
    else:
        connection = session.connection()
        upgrade = _upgrades.get(connection.engine)
        if upgrade is not None:
            upgrade(connection)
    session.info["postal_writing"] = True


def alembic_config(settings: Settings):
    """Alembic's configuration for this installation's database."""
    from alembic.config import Config

    from postal.config import ROOT

    config = Config()
    config.set_main_option("script_location", str(ROOT / "postal" / "migrations"))
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    return config


def upgrade(settings: Settings) -> str | None:
    """Apply every migration; the revision the database is at afterwards."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    command.upgrade(alembic_config(settings), "head")
    with engine_for(settings).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


T = TypeVar("T", bound=tuple)


class Rows:
    """A driver cursor's answer, read the way the callers of raw() read it."""

    __slots__ = ("cursor",)

    def __init__(self, cursor) -> None:
        self.cursor = cursor

    def __iter__(self):
        return iter(self.cursor)

    def into(self, shape: type[T]) -> Iterator[T]:
        """Each row as a named tuple of its columns (`shape` lists them in the SELECT's order)."""
        return map(shape._make, self.cursor)

    def first_into(self, shape: type[T]) -> T | None:
        row = self.cursor.fetchone()
        return None if row is None else shape._make(row)

    def all(self) -> list[tuple]:
        return self.cursor.fetchall()

    def first(self) -> tuple | None:
        return self.cursor.fetchone()

    def one(self) -> tuple:
        rows = self.cursor.fetchall()
        if len(rows) != 1:
            raise LookupError(f"expected one row, got {len(rows)}")
        return rows[0]

    def scalar_one(self):
        return self.one()[0]

    @property
    def rowcount(self) -> int:
        return self.cursor.rowcount


def is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


@event.listens_for(Session, "after_begin")
def _remember_driver(session: Session, _transaction, connection) -> None:
    session.info["postal_driver"] = connection.connection.dbapi_connection


@event.listens_for(Session, "after_transaction_end")
def _forget_driver(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction: its connection goes back to the pool
        session.info.pop("postal_driver", None)
        session.info.pop("postal_writing", None)


def driver(session: Session):
    """The session's DBAPI connection, inside its transaction (begun as the session begins it).
    Kept from the transaction's start: asking the session each time cost more than a small query."""
    connection = session.info.get("postal_driver")
    if connection is None:
        session.connection()  # begins the transaction; after_begin remembers its connection
        connection = session.info["postal_driver"]
    return connection


def raw(session: Session, sql: str, params: tuple = ()) -> Rows:
    """Driver-level SQL, written with ? placeholders, on either engine: for the hot paths only, where
    building a SQLAlchemy statement (or even its result object) per call costs more than the query."""
    connection = driver(session)
    if not isinstance(connection, sqlite3.Connection):
        sql = sql.replace("?", "%s")
    cursor = connection.cursor()
    try:
        cursor.execute(sql, params)
    except Exception as err:  # the driver's own, as SQLAlchemy is not in between
        refuse_if_busy(session, err)
        raise
    return Rows(cursor)


def refuse_if_busy(session: Session, error: Exception) -> None:
    if is_busy(error):
        raise WriteBusy(seconds=retry_after(_write_wait.get(session.get_bind(), WRITE_WAIT_S))) from error


def executemany(session: Session, sql: str, rows: list[tuple]) -> None:
    """raw() for many rows of parameters in one call (PostgreSQL's %(name)s placeholders pass unchanged)."""
    connection = driver(session)
    if not isinstance(connection, sqlite3.Connection):
        sql = sql.replace("?", "%s")
    try:
        connection.cursor().executemany(sql, rows)
    except Exception as err:
        refuse_if_busy(session, err)
        raise


# -- times at the driver: one pair of conversions ----------------------------------------------------------


def sqlite_time(value: datetime | None) -> str | None:
    """A time as SQLAlchemy stores it on SQLite (UTC, fixed width), so the ORM reads our rows back."""
    return None if value is None else naive_utc(value).isoformat(sep=" ", timespec="microseconds")


def time_param(session: Session, value: datetime | None) -> object:
    """A time as a driver-level parameter: SQLite compares the stored UTC text, PostgreSQL timestamptz."""
    return sqlite_time(value) if is_sqlite(session) else value


def time_read(value: datetime | str | None) -> datetime | None:
    """A time as the driver returns it (SQLite: UTC text; PostgreSQL: timestamptz), aware in UTC."""
    if value is None:
        return None
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


def any_of(session: Session, values: list) -> tuple[str, object]:
    """`column <this>` matching any of many values with one parameter (no 5,000-item IN list)."""
    if session.get_bind().dialect.name == "sqlite":
        return "IN (SELECT value FROM json_each(?))", json.dumps(values)
    return "= ANY(?)", values


def uuid_param(session: Session, value: uuid.UUID) -> object:
    """A UUID as the engine stores it: 32 hex digits on SQLite, native on PostgreSQL."""
    return value.hex if session.get_bind().dialect.name == "sqlite" else value


_engines: dict[str, Engine] = {}


def engine_for(settings: Settings) -> Engine:
    """One engine per database URL in this process."""
    if settings.database_url not in _engines:
        _engines[settings.database_url] = make_engine(settings.database_url, write_wait_s=settings.write_wait_s)
    return _engines[settings.database_url]


@contextmanager
def session_for(settings: Settings) -> Iterator[Session]:
    """A session for command-line work."""
    session = new_session(engine_for(settings))
    try:
        yield session
    finally:
        session.close()
