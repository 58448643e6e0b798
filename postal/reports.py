"""Figures for supervisors (báo cáo, bảng theo dõi): per-agency reports over a period, and the live board.

Each figure is one SQL aggregate over the period; only the median transit time is finished in Python,
over one query's per-parcel (left origin, received at destination) pairs. The board's live part reads
indexed rows only (today's runs and their events, parcel states, unresolved alerts); its two charts
aggregate a month of rows, so callers cache them for a few minutes (`board_charts`).
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from pydantic import BaseModel, Field
from sqlalchemy import and_, bindparam, case, func, literal_column, or_, select, type_coerce, union
from sqlmodel import Session

from models import (
    Action,
    Alert,
    AlertKind,
    AlertState,
    CustodyEvent,
    Dossier,
    Parcel,
    ParcelState,
    Role,
    Run,
    RunKind,
    RunState,
    RunStop,
    Site,
    SiteKind,
    User,
)
from models.alerts import AlertOut, AlertSubjectOut
from models.columns import UTCDateTime
from postal.clock import LOCAL_TZ, as_utc, local
from postal.errors import N_, Phrase, Unprocessable

DOSSIERS = Dossier.__table__
PARCELS = Parcel.__table__
EVENTS = CustodyEvent.__table__
ALERTS = Alert.__table__
RUNS = Run.__table__
STOPS = RunStop.__table__
SITES = Site.__table__
USERS = User.__table__

# A handoff between sites, counted once: the courier's handover, or a receive with no handover before it
# (a receive after a handover starts from the site, "site:…", and is the same transfer confirmed). The
# IN term, with literal values, lets a partial index on those two actions serve it (see scripts/bench/board.py).
TRANSFER = and_(
    EVENTS.c.action.in_(bindparam("transfer_actions", [Action.HANDOVER.value, Action.RECEIVE.value], expanding=True,
                                  literal_execute=True)),
    or_(EVENTS.c.action == Action.HANDOVER, and_(EVENTS.c.action == Action.RECEIVE, EVENTS.c.from_holder.like("courier:%"))),
)
UNRESOLVED = (AlertState.OPEN, AlertState.ACKNOWLEDGED)
SEVERITY_ORDER = ("critical", "warning", "info")
# Parcel states shown on the board, in the order a parcel goes through them; delivered ones are history.
BOARD_STATES = (ParcelState.CREATED, ParcelState.AT_SITE, ParcelState.IN_TRANSIT, ParcelState.AWAITING_RECEIPT,
                ParcelState.OUT_FOR_DELIVERY, ParcelState.MISSING)
LATE_GRACE = timedelta(minutes=15)  # a run is late once its next stop's planned time is this far behind
BOARD_ALERTS = 50  # unresolved alerts listed on the board (all are counted; the rest are on /alerts)
ON_TIME_DAYS = 30
TRANSFER_DAYS = 14


# -- periods -------------------------------------------------------------------------------------------


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


# -- the agency report -------------------------------------------------------------------------------------


class AgencyFigures(BaseModel):
    """One agency's figures over a period."""

    agency: str  # the agency's site code
    agency_name: str
    received: int = 0  # dossiers received in the period
    returned: int = 0  # results returned to the citizen in the period
    on_time: int = 0  # of those, returned by the due date
    late: int = 0  # of those, returned after it
    on_time_pct: float | None = None  # on_time / returned, in percent; none when nothing was returned
    transfers: int = 0  # handoffs between sites of the agency's parcels
    lost: int = 0  # parcels reported or suspected lost in the period and not found since
    median_transit_min: float | None = None  # origin (accept or pickup) → receive at destination, per parcel


class AgencyReportOut(BaseModel):
    """Per-agency figures of a period (local dates, both included); `total` adds them up."""

    period_from: date = Field(serialization_alias="from")
    period_to: date = Field(serialization_alias="to")
    agencies: list[AgencyFigures]
    total: AgencyFigures


def received_by_agency(session: Session, p: Period) -> dict[int, int]:
    q = (select(DOSSIERS.c.agency_id, func.count()).where(between(DOSSIERS.c.received_at, p))
         .group_by(DOSSIERS.c.agency_id))
    return dict(session.execute(q).all())


def returns_by_agency(session: Session, p: Period) -> dict[int, tuple[int, int, int]]:
    """Per agency: (returned, on time, late) of the dossiers returned in the period."""
    on_time = func.sum(case((DOSSIERS.c.returned_at <= DOSSIERS.c.due_at, 1), else_=0))
    late = func.sum(case((DOSSIERS.c.returned_at > DOSSIERS.c.due_at, 1), else_=0))
    q = (select(DOSSIERS.c.agency_id, func.count(), on_time, late).where(between(DOSSIERS.c.returned_at, p))
         .group_by(DOSSIERS.c.agency_id))
    return {agency: (n, int(ok or 0), int(bad or 0)) for agency, n, ok, bad in session.execute(q)}


def transfers_by_agency(session: Session, p: Period) -> dict[int, int]:
    q = (select(DOSSIERS.c.agency_id, func.count())
         .select_from(EVENTS.join(PARCELS, PARCELS.c.id == EVENTS.c.parcel_id)
                      .join(DOSSIERS, DOSSIERS.c.id == PARCELS.c.dossier_id))
         .where(between(EVENTS.c.device_at, p), TRANSFER).group_by(DOSSIERS.c.agency_id))
    return dict(session.execute(q).all())


def lost_by_agency(session: Session, p: Period) -> dict[int, int]:
    """Parcels with a suspected-loss alert opened in the period and not resolved, or gone missing in it and
    still missing (a bag opened short, a courier's report): found ones are not lost."""
    suspected = select(ALERTS.c.subject_id.label("parcel_id")).where(
        ALERTS.c.kind == AlertKind.SUSPECTED_LOSS, ALERTS.c.subject_type == "parcel",
        ALERTS.c.state.in_(UNRESOLVED), between(ALERTS.c.opened_at, p))
    missing = select(PARCELS.c.id.label("parcel_id")).where(
        PARCELS.c.state == ParcelState.MISSING, between(PARCELS.c.last_event_at, p))
    lost = union(suspected, missing).subquery()
    q = (select(DOSSIERS.c.agency_id, func.count())
         .select_from(lost.join(PARCELS, PARCELS.c.id == lost.c.parcel_id)
                      .join(DOSSIERS, DOSSIERS.c.id == PARCELS.c.dossier_id))
         .group_by(DOSSIERS.c.agency_id))
    return dict(session.execute(q).all())


def transit_minutes(session: Session, p: Period) -> dict[int, list[float]]:
    """Per agency, the transit time of each parcel received at its destination in the period, in minutes."""
    arrived_in_period = select(EVENTS.c.parcel_id).where(EVENTS.c.action == Action.RECEIVE, between(EVENTS.c.device_at, p))
    left = func.min(case((and_(EVENTS.c.action.in_((Action.ACCEPT, Action.PICKUP)),
                               EVENTS.c.site_id == PARCELS.c.origin_id), EVENTS.c.device_at)))
    arrived = func.min(case((and_(EVENTS.c.action == Action.RECEIVE,
                                  EVENTS.c.site_id == PARCELS.c.destination_id), EVENTS.c.device_at)))
    q = (select(DOSSIERS.c.agency_id, type_coerce(left, UTCDateTime()), type_coerce(arrived, UTCDateTime()))
         .select_from(PARCELS.join(DOSSIERS, DOSSIERS.c.id == PARCELS.c.dossier_id)
                      .join(EVENTS, EVENTS.c.parcel_id == PARCELS.c.id))
         .where(PARCELS.c.id.in_(arrived_in_period),
                EVENTS.c.action.in_((Action.ACCEPT, Action.PICKUP, Action.RECEIVE)))
         .group_by(DOSSIERS.c.agency_id, PARCELS.c.id))
    minutes: dict[int, list[float]] = defaultdict(list)
    for agency, left_at, arrived_at in session.execute(q):
        if left_at is None or arrived_at is None or not p.start <= arrived_at < p.end or arrived_at < left_at:
            continue
        minutes[agency].append((arrived_at - left_at).total_seconds() / 60)
    return minutes


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def agency_report(session: Session, p: Period) -> AgencyReportOut:
    """Received, returned, on time, late, transfers, lost and median transit per agency over the period."""
    received = received_by_agency(session, p)
    returns = returns_by_agency(session, p)
    transfers = transfers_by_agency(session, p)
    lost = lost_by_agency(session, p)
    transit = transit_minutes(session, p)
    sites = {row.id: row for row in session.execute(select(SITES.c.id, SITES.c.code, SITES.c.name, SITES.c.kind))}
    ids = {i for i, s in sites.items() if s.kind == SiteKind.AGENCY}
    ids |= set(received) | set(returns) | set(transfers) | set(lost) | set(transit)
    agencies = []
    for agency_id in ids:
        returned, on_time, late = returns.get(agency_id, (0, 0, 0))
        site = sites[agency_id]
        agencies.append(AgencyFigures(
            agency=site.code, agency_name=site.name, received=received.get(agency_id, 0), returned=returned,
            on_time=on_time, late=late, on_time_pct=percent(on_time, returned), transfers=transfers.get(agency_id, 0),
            lost=lost.get(agency_id, 0), median_transit_min=median(transit.get(agency_id, [])),
        ))
    agencies.sort(key=lambda a: (a.agency_name, a.agency))
    returned, on_time = sum(a.returned for a in agencies), sum(a.on_time for a in agencies)
    total = AgencyFigures(
        agency="", agency_name="", received=sum(a.received for a in agencies), returned=returned, on_time=on_time,
        late=sum(a.late for a in agencies), on_time_pct=percent(on_time, returned),
        transfers=sum(a.transfers for a in agencies), lost=sum(a.lost for a in agencies),
        median_transit_min=median([m for values in transit.values() for m in values]),
    )
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


# -- downloads ---------------------------------------------------------------------------------------------


def figures_row(a: AgencyFigures) -> list:
    return [a.agency, a.agency_name, a.received, a.returned, a.on_time, a.late, a.on_time_pct, a.transfers, a.lost,
            a.median_transit_min]


def report_rows(report: AgencyReportOut, total_label: str) -> list[list]:
    total = figures_row(report.total)
    total[1] = total_label
    return [figures_row(a) for a in report.agencies] + [total]


def agencies_csv(report: AgencyReportOut, headers: Sequence[str], *, total_label: str) -> bytes:
    """CSV in UTF-8 with a byte-order mark, so that Excel shows the Vietnamese names."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    for row in report_rows(report, total_label):
        writer.writerow(["" if v is None else v for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def agencies_xlsx(report: AgencyReportOut, headers: Sequence[str], *, title: str, total_label: str) -> bytes:
    """One sheet: a bold header row, the agencies, a bold total; columns wide enough for their text."""
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]  # Excel's limit for a sheet name
    sheet.append(list(headers))
    rows = report_rows(report, total_label)
    for row in rows:
        sheet.append(row)
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for row in sheet.iter_rows(min_row=2, min_col=7, max_col=7):
        row[0].number_format = "0.00"
    for i, header in enumerate(headers, start=1):
        longest = max([len(str(r[i - 1])) for r in rows if r[i - 1] is not None] + [min(len(header), 18), 6])
        sheet.column_dimensions[get_column_letter(i)].width = min(longest + 2, 60)
    sheet.freeze_panes = "C2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- the board ---------------------------------------------------------------------------------------------


class StopRef(BaseModel):
    seq: int
    site: str
    name: str
    planned_at: datetime


class BoardRun(BaseModel):
    """A run of today as the board shows it: where it goes next and whether it keeps time."""

    id: int
    name: str
    kind: str
    state: str
    courier: str | None
    courier_name: str | None
    departs_at: datetime
    ends_at: datetime
    next_stop: StopRef | None
    stops_done: int
    stops_total: int
    late: bool
    late_min: int  # minutes behind plan (0 when on time)


class CourierPosition(BaseModel):
    """Where a courier was last seen today: the scan's own position, else the site it was made at."""

    courier: str
    name: str
    lat: float
    lon: float
    at: datetime
    site: str | None
    run: int | None
    source: Literal["gps", "site"]


class SitePoint(BaseModel):
    code: str
    name: str
    kind: str
    lat: float
    lon: float


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


class BoardOut(BaseModel):
    """Everything the supervisor's board shows."""

    at: datetime
    day: date
    runs: list[BoardRun]
    parcels: dict[str, int]
    alerts_by_severity: dict[str, int]
    alerts_total: int
    alerts: list[AlertOut]  # as GET /api/v1/alerts answers them
    couriers: list[CourierPosition]
    sites: list[SitePoint]
    charts: BoardCharts


def board(session: Session, now: datetime, *, charts: BoardCharts | None = None) -> BoardOut:
    """The live board: today's runs, parcels per state, unresolved alerts, positions; the charts unless given."""
    today = local(now).date()
    sites = {row.id: row for row in session.execute(
        select(SITES.c.id, SITES.c.code, SITES.c.name, SITES.c.kind, SITES.c.lat, SITES.c.lon))}
    runs = runs_today(session, today, now, sites)
    counts, alerts_by_severity, alerts = alerts_open(session)
    return BoardOut(
        at=as_utc(now), day=today, runs=runs, parcels=parcels_per_state(session),
        alerts_by_severity=alerts_by_severity, alerts_total=counts, alerts=alerts,
        couriers=courier_positions(session, [r.id for r in runs], sites),
        sites=[SitePoint(code=s.code, name=s.name, kind=s.kind, lat=s.lat, lon=s.lon)
               for s in sorted(sites.values(), key=lambda s: (s.kind, s.name)) if s.lat is not None and s.lon is not None],
        charts=charts if charts is not None else board_charts(session, now),
    )


def runs_today(session: Session, today: date, now: datetime, sites: dict) -> list[BoardRun]:
    """Today's runs (index on run.day) and their stops (index on run_stop.run_id): two queries. Under way first."""
    rows = session.execute(
        select(RUNS.c.id, RUNS.c.name, RUNS.c.kind, RUNS.c.state, RUNS.c.departs_at, RUNS.c.ends_at, RUNS.c.closed_at,
               USERS.c.username, USERS.c.full_name)
        .select_from(RUNS.outerjoin(USERS, USERS.c.id == RUNS.c.courier_id))
        .where(RUNS.c.day == today).order_by(RUNS.c.departs_at, RUNS.c.name, RUNS.c.id)).all()
    stops: dict[int, list] = defaultdict(list)
    if rows:
        for stop in session.execute(
                select(STOPS.c.run_id, STOPS.c.seq, STOPS.c.site_id, STOPS.c.planned_at, STOPS.c.departed_at)
                .where(STOPS.c.run_id.in_([r.id for r in rows])).order_by(STOPS.c.run_id, STOPS.c.seq)):
            stops[stop.run_id].append(stop)
    order = {RunState.STARTED: 0, RunState.PLANNED: 1, RunState.CLOSED: 2}  # under way first, then to come, then done
    return [board_run(r, stops[r.id], sites, now) for r in sorted(rows, key=lambda r: order.get(r.state, 1))]


def board_run(r, stops: list, sites: dict, now: datetime) -> BoardRun:
    nxt = next((s for s in stops if s.departed_at is None), None) if r.state != RunState.CLOSED else None
    if r.state == RunState.CLOSED:
        due, done_at = as_utc(r.ends_at), as_utc(r.closed_at) if r.closed_at else as_utc(r.ends_at)
    else:
        due, done_at = (as_utc(nxt.planned_at) if nxt else as_utc(r.ends_at)), now
    behind = done_at - due
    late = behind > LATE_GRACE
    return BoardRun(
        id=r.id, name=r.name, kind=r.kind, state=r.state, courier=r.username, courier_name=r.full_name or r.username,
        departs_at=as_utc(r.departs_at), ends_at=as_utc(r.ends_at),
        next_stop=StopRef(seq=nxt.seq, site=sites[nxt.site_id].code, name=sites[nxt.site_id].name,
                          planned_at=as_utc(nxt.planned_at)) if nxt else None,
        stops_done=sum(1 for s in stops if s.departed_at is not None), stops_total=len(stops),
        late=late, late_min=int(behind.total_seconds() // 60) if late else 0,
    )


def parcels_per_state(session: Session) -> dict[str, int]:
    """Parcels not yet delivered, per state: one GROUP BY over the index on parcel.state."""
    q = (select(PARCELS.c.state, func.count()).where(PARCELS.c.state.in_(BOARD_STATES)).group_by(PARCELS.c.state))
    found = dict(session.execute(q).all())
    return {str(state): found.get(state, 0) for state in BOARD_STATES}


def alerts_open(session: Session) -> tuple[int, dict[str, int], list[AlertOut]]:
    """Unresolved alerts: counts per severity, and the most severe and newest of them (index on alert.state)."""
    counts = dict(session.execute(select(ALERTS.c.severity, func.count()).where(ALERTS.c.state.in_(UNRESOLVED))
                                  .group_by(ALERTS.c.severity)).all())
    rank = case({s: i for i, s in enumerate(SEVERITY_ORDER)}, value=ALERTS.c.severity, else_=len(SEVERITY_ORDER))
    rows = session.execute(
        select(ALERTS, USERS.c.username.label("owner"))
        .select_from(ALERTS.outerjoin(USERS, USERS.c.id == ALERTS.c.owner_id))
        .where(ALERTS.c.state.in_(UNRESOLVED)).order_by(rank, ALERTS.c.opened_at.desc(), ALERTS.c.id.desc())
        .limit(BOARD_ALERTS))
    alerts = [AlertOut(id=a.id, kind=a.kind, severity=a.severity, subject=AlertSubjectOut(type=a.subject_type, code=a.subject_code),
                         opened_at=as_utc(a.opened_at), state=a.state, owner=a.owner, note=a.note,
                         resolved_at=as_utc(a.resolved_at) if a.resolved_at else None) for a in rows]
    by_severity = {s: counts.get(s, 0) for s in SEVERITY_ORDER}
    by_severity.update({s: n for s, n in counts.items() if s not in by_severity})
    return sum(counts.values()), by_severity, alerts


def courier_positions(session: Session, run_ids: list[int], sites: dict) -> list[CourierPosition]:
    """Each courier's latest scan on today's runs (partial index on custody_event.run_id), then those rows by seq."""
    if not run_ids:
        return []
    latest = session.execute(
        select(EVENTS.c.actor_id, func.max(EVENTS.c.seq), func.max(case((EVENTS.c.lat.is_not(None), EVENTS.c.seq))))
        .select_from(EVENTS.join(USERS, USERS.c.id == EVENTS.c.actor_id))
        .where(EVENTS.c.run_id.in_(run_ids), USERS.c.role == Role.COURIER).group_by(EVENTS.c.actor_id)).all()
    seqs = {seq for _, last, gps in latest for seq in (last, gps) if seq is not None}
    if not seqs:
        return []
    events = {e.seq: e for e in session.execute(
        select(EVENTS.c.seq, EVENTS.c.device_at, EVENTS.c.lat, EVENTS.c.lon, EVENTS.c.site_id, EVENTS.c.run_id)
        .where(EVENTS.c.seq.in_(seqs)))}
    names = {u.id: u for u in session.execute(select(USERS.c.id, USERS.c.username, USERS.c.full_name)
                                               .where(USERS.c.id.in_([actor for actor, _, _ in latest])))}
    positions = []
    for actor, last_seq, gps_seq in latest:
        last, gps = events.get(last_seq), events.get(gps_seq)
        site = sites.get(last.site_id) if last is not None and last.site_id else None
        if last is not None and last.lat is not None:
            seen, lat, lon, source = last, last.lat, last.lon, "gps"
        elif site is not None and site.lat is not None and site.lon is not None:
            seen, lat, lon, source = last, site.lat, site.lon, "site"
        elif gps is not None:
            seen, lat, lon, source = gps, gps.lat, gps.lon, "gps"
            site = sites.get(gps.site_id) if gps.site_id else None
        else:
            continue
        user = names[actor]
        positions.append(CourierPosition(courier=user.username, name=user.full_name or user.username, lat=lat, lon=lon,
                                         at=as_utc(seen.device_at), site=site.code if site else None, run=seen.run_id,
                                         source=source))
    return sorted(positions, key=lambda c: c.courier)


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
