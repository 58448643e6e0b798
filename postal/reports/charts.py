"""The board's two charts: on-time % per agency and transfers per day.

They aggregate a month of rows, so callers cache them for a few minutes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import func, literal_column, select
from sqlmodel import Session

from postal.clock import LOCAL_TZ, as_utc, local
from postal.reports.figures import percent
from postal.reports.periods import Period, between
from postal.reports.queries import EVENTS, SITES, TRANSFER, returns_by_agency

ON_TIME_DAYS = 30
TRANSFER_DAYS = 14


class AgencyOnTime(BaseModel):
    agency: str
    name: str
    on_time: int
    late: int
    on_time_pct: float | None


class DayTransfers(BaseModel):
    day: date
    transfers: int


class BoardCharts(BaseModel):
    """On-time % per agency (last 30 days) and transfers per day (last 14 days), as of `computed_at`."""

    computed_at: datetime
    on_time: list[AgencyOnTime]
    transfers: list[DayTransfers]


def local_day(session: Session, column):
    """The local calendar date of a stored UTC time, computed by the database."""
    # Literals, not parameters: PostgreSQL must see the same expression in SELECT and GROUP BY.
    if session.get_bind().dialect.name == "sqlite":
        hours = int(datetime.now(LOCAL_TZ).utcoffset().total_seconds() // 3600)  # Vietnam keeps no summer time
        return func.date(column, literal_column(f"'{hours:+d} hours'"))
    return func.date(func.timezone(literal_column(f"'{LOCAL_TZ.key}'"), column))


def board_charts(session: Session, now: datetime) -> BoardCharts:
    """On-time % per agency over the last 30 days, transfers per day over the last 14: two aggregates."""
    today = local(now).date()
    month = Period(today - timedelta(days=ON_TIME_DAYS - 1), today)
    returns = returns_by_agency(session, month)
    sites = {row.id: row for row in session.execute(select(SITES.c.id, SITES.c.code, SITES.c.name)
                                                    .where(SITES.c.id.in_(list(returns))))} if returns else {}
    on_time = sorted((AgencyOnTime(agency=sites[i].code, name=sites[i].name, on_time=ok, late=bad,
                                   on_time_pct=percent(ok, n)) for i, (n, ok, bad) in returns.items()),
                     key=lambda a: (a.name, a.agency))
    fortnight = Period(today - timedelta(days=TRANSFER_DAYS - 1), today)
    day = local_day(session, EVENTS.c.device_at)
    per_day = {str(d): n for d, n in session.execute(
        select(day, func.count()).where(between(EVENTS.c.device_at, fortnight), TRANSFER,
                                        EVENTS.c.parcel_id.is_not(None)).group_by(day))}
    transfers = [DayTransfers(day=fortnight.first + timedelta(days=i),
                              transfers=per_day.get(str(fortnight.first + timedelta(days=i)), 0))
                 for i in range(TRANSFER_DAYS)]
    return BoardCharts(computed_at=as_utc(now), on_time=on_time, transfers=transfers)
