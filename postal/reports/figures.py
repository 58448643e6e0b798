"""The agency report (báo cáo theo cơ quan) over a period, and the month's line for the center's own report."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import date, datetime

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlmodel import Session

from models import RunKind, SiteKind
from postal.reports.periods import Period, between, month_period
from postal.reports.queries import (
    EVENTS,
    RUNS,
    SITES,
    TRANSFER,
    early_by_agency,
    late_again_by_agency,
    lost_by_agency,
    pending_by_agency,
    received_by_agency,
    returns_by_agency,
    transfers_by_agency,
    transit_minutes,
)


class AgencyFigures(BaseModel):
    """One agency's figures over a period."""

    agency: str  # the agency's site code
    agency_name: str
    received: int = 0  # dossiers received in the period
    returned: int = 0  # results returned to the citizen in the period
    on_time: int = 0  # of those, returned by the due date: early + on_due_day
    early: int = 0  # of those, returned before the appointment's day (trước hạn)
    on_due_day: int = 0  # of those, returned on the appointment's day, in time (đúng hạn)
    late: int = 0  # of those, returned after it (quá hạn)
    late_again: int = 0  # of the late, re-appointed by an apology and returned after its new day as well
    on_time_pct: float | None = None  # on_time / returned, in percent; none when nothing was returned
    pending_in_time: int = 0  # still being decided at the period's end, appointment not yet passed
    pending_late: int = 0  # still being decided at the period's end, appointment passed (đang giải quyết quá hạn)
    transfers: int = 0  # handoffs between sites of the agency's parcels
    lost: int = 0  # parcels reported or suspected lost in the period and not found since
    median_transit_min: float | None = None  # origin (accept or pickup) → receive at destination, per parcel


class AgencyReportOut(BaseModel):
    """Per-agency figures of a period (local dates, both included); `total` adds them up."""

    period_from: date = Field(serialization_alias="from")
    period_to: date = Field(serialization_alias="to")
    agencies: list[AgencyFigures]
    total: AgencyFigures


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


COUNTS = ("received", "returned", "on_time", "early", "on_due_day", "late", "late_again", "pending_in_time",
          "pending_late", "transfers", "lost")


def agency_report(session: Session, p: Period, *, now: datetime) -> AgencyReportOut:
    """Per agency over the period, as the circular's report lays it out: received; returned before, on and after
    the appointment; still being decided in time or late; transfers, losses and the median transit."""
    received = received_by_agency(session, p)
    returns = returns_by_agency(session, p)
    early = early_by_agency(session, p)
    pending = pending_by_agency(session, p, now)
    transfers = transfers_by_agency(session, p)
    lost = lost_by_agency(session, p)
    transit = transit_minutes(session, p)
    again = late_again_by_agency(session, p)
    sites = {row.id: row for row in session.execute(select(SITES.c.id, SITES.c.code, SITES.c.name, SITES.c.kind))}
    ids = {i for i, s in sites.items() if s.kind == SiteKind.AGENCY}
    ids |= set(received) | set(returns) | set(transfers) | set(lost) | set(transit) | set(pending)
    agencies = []
    for agency_id in ids:
        returned, on_time, late = returns.get(agency_id, (0, 0, 0))
        in_time, overdue = pending.get(agency_id, (0, 0))
        site = sites[agency_id]
        agencies.append(AgencyFigures(
            agency=site.code, agency_name=site.name, received=received.get(agency_id, 0), returned=returned,
            on_time=on_time, early=early.get(agency_id, 0), on_due_day=on_time - early.get(agency_id, 0), late=late,
            on_time_pct=percent(on_time, returned), pending_in_time=in_time, pending_late=overdue,
            transfers=transfers.get(agency_id, 0), lost=lost.get(agency_id, 0),
            median_transit_min=median(transit.get(agency_id, [])), late_again=again.get(agency_id, 0),
        ))
    agencies.sort(key=lambda a: (a.agency_name, a.agency))
    sums = {name: sum(getattr(a, name) for a in agencies) for name in COUNTS}
    total = AgencyFigures(agency="", agency_name="", **sums, on_time_pct=percent(sums["on_time"], sums["returned"]),
                          median_transit_min=median([m for values in transit.values() for m in values]))
    return AgencyReportOut(period_from=p.first, period_to=p.last, agencies=agencies, total=total)


class MonthFigure(BaseModel):
    """The month's line for the center's own report: transfers, runs driven, parcels lost."""

    year: int
    month: int
    transfers: int
    runs: int
    lost: int


def month_figure(session: Session, year: int, month: int) -> MonthFigure:
    p = month_period(year, month)
    transfers = session.execute(select(func.count()).select_from(EVENTS)
                                .where(between(EVENTS.c.device_at, p), TRANSFER, EVENTS.c.parcel_id.is_not(None))).scalar_one()
    runs = session.execute(select(func.count()).select_from(RUNS).where(
        RUNS.c.day >= p.first, RUNS.c.day <= p.last, RUNS.c.kind == RunKind.SHUTTLE,
        RUNS.c.started_at.is_not(None))).scalar_one()
    lost = sum(lost_by_agency(session, p).values())
    return MonthFigure(year=year, month=month, transfers=transfers, runs=runs, lost=lost)
