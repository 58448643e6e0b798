"""A write that cannot get its lock within the budget (POSTAL_WRITE_WAIT_S) is refused as busy: 503 with
Retry-After and nothing written, never a 500 "database is locked" after half a minute."""

import time

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from models import CustodyEvent


def events(make) -> int:
    make.fresh()
    return make.session.execute(select(func.count()).select_from(CustodyEvent)).scalar_one()


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"POSTAL_WRITE_WAIT_S": "0.5"}


def test_a_write_that_cannot_get_the_lock_in_time_is_a_503_with_retry_after_and_writes_nothing(client, make, database_url):
    """Another process holds the write lock (SQLite) or the chain's head (PostgreSQL) past the budget."""
    code = make.parcel()
    headers = make.token("nva")
    before = events(make)
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.connect() as other:
        if engine.dialect.name == "sqlite":
            other.connection.dbapi_connection.isolation_level = None
            other.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            other.exec_driver_sql("SELECT seq FROM chain_head FOR UPDATE")
        started = time.monotonic()
        r = client.post("/api/v1/scans", json={"scans": [make.scan(code, "pickup", site="TTHCC")]}, headers=headers)
        waited = time.monotonic() - started
        other.rollback()
    engine.dispose()
    assert r.status_code == 503, r.get_data(as_text=True)
    assert r.headers["Retry-After"].isdigit() and 1 <= int(r.headers["Retry-After"]) <= 5
    error = r.get_json()["error"]
    assert error["code"] == "busy" and "không có gì được ghi" in error["message"]
    assert waited < 3  # the budget, not SQLite's old 30 s
    assert events(make) == before and make.holder_of(code) == "TTHCC"
    r = client.post("/api/v1/scans", json={"scans": [make.scan(code, "pickup", site="TTHCC")]}, headers=headers)
    assert r.status_code == 200 and r.get_json()["results"][0]["status"] == "accepted"  # once the lock is free
