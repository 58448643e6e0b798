"""Time: the server stores UTC, people read Asia/Ho_Chi_Minh."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime; naive values come from SQLite and are UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def stamp(value: datetime) -> str:
    """Fixed-width UTC text of a time, as hashed into the ledger."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def local(value: datetime) -> datetime:
    """The same instant in Vietnam's time zone."""
    return as_utc(value).astimezone(LOCAL_TZ)
