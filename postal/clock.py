"""Time: the server stores UTC, people read Asia/Ho_Chi_Minh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ZERO = timedelta(0)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime; naive values come from SQLite and are UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def naive_utc(value: datetime) -> datetime:
    """The wall time in UTC without an offset; naive values are UTC already."""
    if value.tzinfo is None:
        return value
    if value.utcoffset() != ZERO:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None)


def stamp(value: datetime) -> str:
    """Fixed-width UTC text of a time, as hashed into the ledger: 2026-11-23T01:02:03.000000Z."""
    # The hashing hot path: scans arrive in UTC already, and a naive isoformat is the fast one.
    value = value.replace(tzinfo=None) if value.tzinfo is UTC else naive_utc(value)
    return value.isoformat(timespec="microseconds") + "Z"


def local(value: datetime) -> datetime:
    """The same instant in Vietnam's time zone."""
    return as_utc(value).astimezone(LOCAL_TZ)
