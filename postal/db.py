"""Sessions and their units of work, the schema's database-side guards, and driver-level SQL, alike on SQLite
and PostgreSQL (the engines and their write lock: postal/engines.py)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Engine, event, text
from sqlmodel import Session, SQLModel

import models  # noqa: F401  (registers every table on the metadata)
from models import ChainHead
from postal.clock import as_utc, naive_utc
from postal.config import Settings
from postal.engines import (
    WRITE,
    WRITE_WAIT_S,
    is_busy,
    make_engine,
    retry_after,
    upgrades,
    write_wait,
)
from postal.errors import WriteBusy

__all__ = ["make_engine"]  # also the engines' face for the callers that only need an engine


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
    try:
        if not session.in_transaction():
            session.connection(execution_options=WRITE)
        else:
            connection = session.connection()
            upgrade = upgrades.get(connection.engine)
            if upgrade is not None:
                upgrade(connection)
    except BaseException:
        # The lock did not come (busy): the session must not believe in a transaction the driver no longer
        # has, or the next use case in this request would try to commit it ("no transaction is active").
        session.rollback()
        raise
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

    def scalar(self):
        """The first column of the first row, or None when there is no row."""
        row = self.cursor.fetchone()
        return None if row is None else row[0]

    @property
    def rowcount(self) -> int:
        return self.cursor.rowcount


class ById(dict):
    """Rows of one table by id, each read when first asked for (through the session's identity map): what a
    page or paper names, not the whole table, however large the network grows."""

    def __init__(self, session: Session, model: type) -> None:
        super().__init__()
        self.session, self.model = session, model

    def __missing__(self, key):
        row = self.session.get(self.model, key) if key is not None else None
        if row is None:
            raise KeyError(key)
        self[key] = row
        return row

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key) -> bool:
        return self.get(key) is not None


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
        raise WriteBusy(seconds=retry_after(write_wait.get(session.get_bind(), WRITE_WAIT_S))) from error


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
