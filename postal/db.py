"""Engines, sessions and the schema's database-side guards, alike on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

import models  # noqa: F401  (registers every table on the metadata)
from models import ChainHead
from postal.config import Settings

WRITE = {"postal_write": True}
WRITE_WAIT_S = 30  # how long a writer waits for SQLite's write lock before giving up


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


def set_pragmas(dbapi_connection, path: Path | None) -> None:
    """A new SQLite connection: WAL, foreign keys on, and BEGIN left to make_engine's listeners."""
    dbapi_connection.isolation_level = None  # make_engine emits BEGIN itself
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        dbapi_connection.execute(f"PRAGMA {pragma}")
    if path is not None:  # checkpoints are the checkpointer's; this is a net should it fall behind
        dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_NET_PAGES}")


def make_engine(url: str) -> Engine:
    """An engine whose SQLite connections enforce the same rules as PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    path = None
    if parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
    event.listen(engine, "connect", lambda dbapi_connection, _record: set_pragmas(dbapi_connection, path))

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
        conn.info["postal_writer"] = writers.acquire(timeout=WRITE_WAIT_S)
        try:
            begin_immediate(conn.connection.dbapi_connection)
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
        if conn.info.pop("postal_writer", False):
            writers.release()
            if path is not None:
                checkpointer.poke(path)

    return engine


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


def begin_immediate(dbapi_connection) -> None:
    """BEGIN IMMEDIATE, retried every fraction of a millisecond while another process writes."""
    deadline = time.monotonic() + WRITE_WAIT_S
    delay = 0.0002
    dbapi_connection.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) and "busy" not in str(err) or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 1.5, 0.002)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout = {WRITE_WAIT_S * 1000}")


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


class Rows:
    """A driver cursor's answer, read the way the callers of raw() read it."""

    __slots__ = ("cursor",)

    def __init__(self, cursor) -> None:
        self.cursor = cursor

    def __iter__(self):
        return iter(self.cursor)

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
    cursor.execute(sql, params)
    return Rows(cursor)


def executemany(session: Session, sql: str, rows: list[tuple]) -> None:
    """raw() for many rows of parameters in one call (PostgreSQL's %(name)s placeholders pass unchanged)."""
    connection = driver(session)
    if not isinstance(connection, sqlite3.Connection):
        sql = sql.replace("?", "%s")
    connection.cursor().executemany(sql, rows)


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
        _engines[settings.database_url] = make_engine(settings.database_url)
    return _engines[settings.database_url]


@contextmanager
def session_for(settings: Settings) -> Iterator[Session]:
    """A session for command-line work."""
    session = new_session(engine_for(settings))
    try:
        yield session
    finally:
        session.close()
