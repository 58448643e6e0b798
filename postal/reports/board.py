"""The supervisor's live board (bảng theo dõi): today's runs, parcels per state, unresolved alerts, positions.

Its live part reads indexed rows only (today's runs and their events, parcel states, unresolved alerts);
its charts come from `charts`, given by the caller when it keeps a fresh copy.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import case, func, select
from sqlmodel import Session

from models import ParcelState, Role, RunState
from models.alerts import AlertOut, AlertSubjectOut
from postal.clock import as_utc, local
from postal.reports.charts import BoardCharts, board_charts
from postal.reports.queries import ALERTS, EVENTS, PARCELS, RUNS, SITES, STOPS, UNRESOLVED, USERS

SEVERITY_ORDER = ("critical", "warning", "info")
# Parcel states shown on the board, in the order a parcel goes through them; delivered ones are history.
BOARD_STATES = (ParcelState.CREATED, ParcelState.AT_SITE, ParcelState.IN_TRANSIT, ParcelState.AWAITING_RECEIPT,
                ParcelState.OUT_FOR_DELIVERY, ParcelState.MISSING)
LATE_GRACE = timedelta(minutes=15)  # a run is late once its next stop's planned time is this far behind
BOARD_ALERTS = 50  # unresolved alerts listed on the board (all are counted; the rest are on /alerts)


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
               RUNS.c.started_at, USERS.c.username, USERS.c.full_name)
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
    if r.state != RunState.PLANNED and r.started_at is not None:  # a late start is late, whatever the stops say
        behind = max(behind, as_utc(r.started_at) - as_utc(r.departs_at))
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
