"""The SQLite engine's writers: who holds the write lock when, and who copies the log back.

These build their own SQLite engine, so they hold in both runs of the suite.
"""

from __future__ import annotations

import sqlite3
import time

import pytest

from postal import db, engines


@pytest.fixture
def sqlite_file(tmp_path):
    path = tmp_path / "writers.db"
    engine = db.make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    yield engine, path
    engine.dispose()


def other_writer(path) -> sqlite3.Connection:
    """A second program writing to the same file, refused at once when the lock is taken."""
    return sqlite3.connect(path, timeout=0, isolation_level=None)


def test_a_reading_session_becomes_the_writer_and_holds_the_lock_until_it_commits(sqlite_file):
    engine, path = sqlite_file
    session = db.new_session(engine)
    assert db.raw(session, "SELECT count(*) FROM note").scalar_one() == 0  # a read transaction, as a token check
    db.begin_write(session)
    db.raw(session, "INSERT INTO note (body) VALUES (?)", ("first",))
    other = other_writer(path)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        other.execute("BEGIN IMMEDIATE")
    session.commit()
    other.execute("BEGIN IMMEDIATE")  # released with the commit
    assert other.execute("SELECT body FROM note").fetchall() == [("first",)]
    other.execute("ROLLBACK")
    other.close()
    session.close()


def test_a_second_use_case_on_a_session_commits_the_first(sqlite_file):
    engine, path = sqlite_file
    session = db.new_session(engine)
    db.begin_write(session)
    db.raw(session, "INSERT INTO note (body) VALUES (?)", ("one",))
    db.begin_write(session)  # the next use case: the first one's writes are committed, not lost or joined
    reader = sqlite3.connect(path)
    assert reader.execute("SELECT body FROM note").fetchall() == [("one",)]
    db.raw(session, "INSERT INTO note (body) VALUES (?)", ("two",))
    session.rollback()
    assert reader.execute("SELECT body FROM note").fetchall() == [("one",)]
    reader.close()
    session.close()


def test_the_write_ahead_log_is_copied_back_by_a_thread_not_by_the_committing_writer(sqlite_file):
    engine, path = sqlite_file
    with engine.connect() as conn:  # SQLite's own checkpoint (every 1,000 pages) is only a distant net
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == engines.AUTOCHECKPOINT_NET_PAGES
    session = db.new_session(engine)
    db.begin_write(session)
    db.executemany(session, "INSERT INTO note (body) VALUES (?)", [("x" * 1000,) for _ in range(6000)])  # ~6 MB
    session.commit()
    session.close()
    assert path.stat().st_size < 1_000_000  # committed to the log only: the commit did not copy it back
    deadline = time.monotonic() + 10
    while path.stat().st_size < 6_000_000 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert path.stat().st_size >= 6_000_000  # the checkpointer thread did, soon after, with nobody asking
