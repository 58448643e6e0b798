"""The per-agency aggregates of a period, one SQL query each over the Core tables the reports read.

Only the median transit time is finished in Python, over one query's per-parcel (left origin, received at
destination) pairs.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import and_, bindparam, case, func, or_, select, type_coerce, union
from sqlmodel import Session

from models import Action, Alert, AlertKind, AlertState, CustodyEvent, Dossier, Parcel, ParcelState, Run, RunStop, Site, User
from models.columns import UTCDateTime
from postal.reports.periods import Period, between

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


def early_by_agency(session: Session, p: Period) -> dict[int, int]:
    """Per agency: of the dossiers returned on time in the period, those returned before the local day of their
    appointment (trước hạn); the rest of the on-time ones were returned on that day (đúng hạn)."""
    from postal.clock import local

    q = (select(DOSSIERS.c.agency_id, DOSSIERS.c.returned_at, DOSSIERS.c.due_at)
         .where(between(DOSSIERS.c.returned_at, p), DOSSIERS.c.returned_at <= DOSSIERS.c.due_at))
    counts: dict[int, int] = defaultdict(int)
    for agency_id, returned_at, due_at in session.execute(q):
        if local(returned_at).date() < local(due_at).date():
            counts[agency_id] += 1
    return dict(counts)


def pending_by_agency(session: Session, p: Period, now: datetime) -> dict[int, tuple[int, int]]:
    """Per agency: (in time, late) of the dossiers still being decided at the end of the period (received before
    it ends, not returned by then): late when the appointment has passed by the period's end, or by now when the
    period runs on."""
    as_of = min(p.end, now)
    late = func.sum(case((DOSSIERS.c.due_at < as_of, 1), else_=0))
    q = (select(DOSSIERS.c.agency_id, func.count(), late)
         .where(DOSSIERS.c.received_at < p.end, or_(DOSSIERS.c.returned_at.is_(None), DOSSIERS.c.returned_at >= p.end))
         .group_by(DOSSIERS.c.agency_id))
    return {agency: (n - int(bad or 0), int(bad or 0)) for agency, n, bad in session.execute(q)}


def late_again_by_agency(session: Session, p: Period) -> dict[int, int]:
    """Per agency: of the dossiers returned late in the period and re-appointed by an apology, those returned
    after the new day of their latest apology too."""
    from models import ApologySlip
    from postal.clock import local

    latest = (select(ApologySlip.dossier_id, func.max(ApologySlip.new_due).label("new_due"))
              .group_by(ApologySlip.dossier_id).subquery())
    q = (select(DOSSIERS.c.agency_id, DOSSIERS.c.returned_at, latest.c.new_due)
         .join(latest, latest.c.dossier_id == DOSSIERS.c.id)
         .where(between(DOSSIERS.c.returned_at, p), DOSSIERS.c.returned_at > DOSSIERS.c.due_at))
    counts: dict[int, int] = defaultdict(int)
    for agency_id, returned_at, new_due in session.execute(q):
        if local(returned_at).date() > new_due:
            counts[agency_id] += 1
    return dict(counts)


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
