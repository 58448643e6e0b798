"""Report periods: local dates (Asia/Ho_Chi_Minh), both included, compared in UTC as [start, end)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_

from postal.clock import LOCAL_TZ
from postal.errors import N_, Phrase, Unprocessable


@dataclass(frozen=True)
class Period:
    """Local dates (Asia/Ho_Chi_Minh), both included; compared in UTC as [start, end)."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), LOCAL_TZ).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(0), LOCAL_TZ).astimezone(UTC)


def period(first: date, last: date) -> Period:
    """The period from `first` to `last`; 422 when it runs backwards."""
    if first > last:
        raise Unprocessable(field="from", detail=Phrase(N_("ngày bắt đầu phải trước hoặc bằng ngày kết thúc (to)")))
    return Period(first, last)


def month_period(year: int, month: int) -> Period:
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return Period(first, following - timedelta(days=1))


def between(column, p: Period):
    return and_(column >= p.start, column < p.end)
