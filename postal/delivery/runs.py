"""Delivery runs: one per post office and slot, its doors in the shortest order found; and how one reads.

Privacy: contact details in full only for those who handle the delivery.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, func, insert, or_, select, update
from sqlmodel import Session

from models import (
    DeliveryKind,
    DeliveryRequest,
    DeliveryState,
    DeliveryStop,
    Direction,
    Dossier,
    Parcel,
    ParcelState,
    Role,
    Run,
    RunKind,
    RunState,
    RunStop,
    RunTemplate,
    Site,
    SlotPeriod,
    User,
)
from models.delivery import (
    DeliveryRunOut,
    DeliveryStopOut,
    ToCollectOut,
)
from models.enums import POSTAL_DESK, RUN_READERS
from postal import db, dossiers, fees, routing, scope
from postal.clock import LOCAL_TZ, as_utc, local
from postal.delivery.requests import OPEN, REQUESTS, settle
from postal.delivery.wards import ward_of
from postal.errors import N_, Forbidden, NotFound, Phrase
from postal.runs.common import CUTOFF, manifest_write, reload
from postal.runs.planning import DISTANCES, SPEED_KMH, solver_seconds

# When each slot's run leaves its post office, unless a delivery template of that post office says otherwise.
DEPARTS = {SlotPeriod.MORNING: time(8, 0), SlotPeriod.AFTERNOON: time(13, 30)}
NOON = time(12, 0)  # a delivery template leaving before noon serves the morning slot
DWELL_MIN = 10.0  # minutes at a door: the citizen checks the result, reads the OTP, signs
UNLOCATED_STEP = timedelta(minutes=15)  # a door with no coordinates: a quarter hour after the one before
MASK = "***"
STOPS = DeliveryStop.__table__


def period_of(run: Run) -> str:
    """The slot a delivery run serves, from its local departure time."""
    return SlotPeriod.MORNING if local(run.departs_at).time() < NOON else SlotPeriod.AFTERNOON


def slot_line(session: Session, post_office: Site, period: str) -> tuple[RunTemplate | None, time, str]:
    """The delivery template of this post office for the slot (if any), its departure and the run's name."""
    templates = session.execute(select(RunTemplate).where(
        RunTemplate.kind == RunKind.DELIVERY, RunTemplate.active.is_(True), RunTemplate.post_office_id == post_office.id,
    ).order_by(RunTemplate.departs, RunTemplate.id)).scalars().all()
    for template in templates:
        if (template.departs < NOON) == (period == SlotPeriod.MORNING):
            return template, template.departs, template.name
    label = "sáng" if period == SlotPeriod.MORNING else "chiều"
    return None, DEPARTS[SlotPeriod(period)], f"Phát tận nhà – {post_office.name} – {label}"


def find_run(session: Session, post_office: Site, day: date, period: str) -> Run | None:
    candidates = session.execute(select(Run).where(
        Run.kind == RunKind.DELIVERY, Run.post_office_id == post_office.id, Run.day == day,
    ).order_by(Run.id).execution_options(populate_existing=True)).scalars().all()
    return next((r for r in candidates if period_of(r) == period), None)


@dataclass(frozen=True)
class Route:
    """Doors in visiting order with their planned arrivals, the return and the distance."""

    order: tuple[int, ...]  # request ids
    arrivals: tuple[datetime, ...]
    back_at: datetime
    distance_km: float | None


def plan_route(depot: Site, doors: Sequence[DeliveryRequest], depart_at: datetime) -> Route:
    """The shortest tour found from the post office through the located doors, then the others."""
    located = [d for d in doors if d.lat is not None and d.lon is not None]
    unlocated = [d for d in doors if d.lat is None or d.lon is None]
    if depot.lat is None or depot.lon is None:
        located, unlocated = [], list(doors)
    arrivals: list[datetime] = []
    order: list[DeliveryRequest] = []
    clock, distance = depart_at, None
    if located:
        matrix = DISTANCES.matrix([(depot.lat, depot.lon), *((d.lat, d.lon) for d in located)])
        given = list(range(1, len(located) + 1))  # as requested
        best = routing.best_order(matrix, given, time_limit_s=solver_seconds(len(located)))
        plan = routing.plan_arrivals(matrix, best, depart_at, speed_kmh=SPEED_KMH, dwell_min=DWELL_MIN)
        order += [located[i - 1] for i in best]
        arrivals += plan.arrivals
        distance = round(routing.tour_length(matrix, best), 3)
        clock = plan.back_at
        if unlocated:  # they are visited before going back: the return leg is not known
            clock = plan.arrivals[-1] + timedelta(minutes=DWELL_MIN)
            distance = None
    for door in unlocated:
        clock += UNLOCATED_STEP
        order.append(door)
        arrivals.append(clock)
    back = clock + UNLOCATED_STEP if unlocated else clock
    return Route(tuple(d.id for d in order), tuple(arrivals), back, distance)


def generate_delivery_runs(session: Session, post_office: Site, day: date, period: str, now: datetime) -> Run | None:
    """The delivery run of one post office and slot, its doors ordered; idempotent. While the run has not
    started, requests taken since are added and the order found again; None when nothing is to be done."""
    period = SlotPeriod(period)
    with manifest_write(session):
        settle(session, now)
        run = find_run(session, post_office, day, period)
        if run is not None and run.state != RunState.PLANNED:
            return run
        wanted = [REQUESTS.c.state.in_(OPEN)]
        if run is not None:
            wanted.append((REQUESTS.c.run_id == run.id) & (REQUESTS.c.state == DeliveryState.DONE))
        doors = session.execute(select(DeliveryRequest).where(
            DeliveryRequest.post_office_id == post_office.id, DeliveryRequest.slot_date == day,
            DeliveryRequest.slot_period == period, or_(*wanted),
        ).order_by(DeliveryRequest.id).execution_options(populate_existing=True)).scalars().all()
        if not doors and run is None:
            return None
        template, departs, name = slot_line(session, post_office, period)
        departs_at = as_utc(datetime.combine(day, departs, tzinfo=LOCAL_TZ))
        route = plan_route(post_office, doors, departs_at)
        if run is None:
            run = Run(template_id=template.id if template else None, day=day, name=name, kind=RunKind.DELIVERY,
                      state=RunState.PLANNED, post_office_id=post_office.id, departs_at=departs_at,
                      cutoff_at=departs_at - CUTOFF, ends_at=route.back_at, created_at=now)
            session.add(run)
            session.flush()
            session.execute(insert(RunStop.__table__), [
                {"run_id": run.id, "seq": 1, "site_id": post_office.id, "hub": True, "planned_at": departs_at},
                {"run_id": run.id, "seq": 2, "site_id": post_office.id, "hub": True, "planned_at": route.back_at},
            ])
        else:
            session.execute(update(RunStop.__table__).where(RunStop.run_id == run.id, RunStop.seq == 2)
                            .values(planned_at=route.back_at))
        # The order is fixed here, as a shuttle's is at its cutoff: runs.start must not re-plan the hub stops away.
        run.ends_at, run.distance_km, run.frozen_at = route.back_at, route.distance_km, now
        session.add(run)
        session.execute(delete(STOPS).where(STOPS.c.run_id == run.id))
        if route.order:
            session.execute(insert(STOPS), [{"run_id": run.id, "seq": seq, "request_id": rid, "planned_at": at}
                                            for seq, (rid, at) in enumerate(zip(route.order, route.arrivals), 1)])
            session.execute(update(REQUESTS).where(REQUESTS.c.id.in_(route.order), REQUESTS.c.state.in_(OPEN))
                            .values(state=DeliveryState.SCHEDULED, run_id=run.id, updated_at=now))
    return run


@dataclass(frozen=True)
class DayReport:
    """What generating a day's delivery runs did."""

    runs: int
    stops: int


def generate_day(session: Session, day: date, now: datetime) -> DayReport:
    """The delivery runs of every post office and slot of a day that has requests; idempotent."""
    slots = session.execute(select(DeliveryRequest.post_office_id, DeliveryRequest.slot_period).where(
        DeliveryRequest.slot_date == day, DeliveryRequest.state.in_(OPEN)).distinct()).all()
    made: list[int] = []
    for office_id, period in sorted(slots):
        run = generate_delivery_runs(session, session.get(Site, office_id), day, period, now)
        if run is not None:
            made.append(run.id)
    stops = session.execute(select(func.count()).select_from(STOPS).where(STOPS.c.run_id.in_(made or [-1]))).scalar_one()
    db.end_reading(session)
    return DayReport(len(made), stops)


def mask_street(street: str) -> str:
    return MASK if street else ""


def sees_contact(viewer: User, run: Run) -> bool:
    """Postal clerks, supervisors and admins, and the courier the run is assigned to."""
    return viewer.role in POSTAL_DESK or (viewer.role == Role.COURIER and run.courier_id == viewer.id)


def effective_state(row: DeliveryRequest, dossier: Dossier, parcel_state: str | None) -> str:
    """The request's state as custody has it now (settle writes the same at the next generation)."""
    if row.state in OPEN:
        if row.kind == DeliveryKind.DELIVER_RESULT and dossier.returned_at is not None:
            return DeliveryState.DONE
        if row.kind == DeliveryKind.PICKUP_DOSSIER and parcel_state not in (None, ParcelState.CREATED):
            return DeliveryState.DONE
    return row.state


def delivery_run(session: Session, run_id: int, *, viewer: User) -> DeliveryRunOut:
    """A delivery run's doors in order, with phone and street masked unless the viewer handles it."""
    if viewer.role not in RUN_READERS:  # among them, contacts in full only for the desk and the run's courier
        raise Forbidden(role=viewer.role)
    run = reload(session, run_id)
    if run.kind != RunKind.DELIVERY:
        raise NotFound(what=Phrase(N_("chuyến phát tận nhà")), code=run_id)
    view = scope.door_sites(viewer, run, scope.run_view(session, viewer, run))  # a center's clerk: its own doors
    if view is None:
        raise scope.forbidden(session, viewer, run.post_office_id)
    full = sees_contact(viewer, run)
    rows = session.execute(
        select(DeliveryStop, DeliveryRequest, Dossier)
        .join(DeliveryRequest, DeliveryRequest.id == DeliveryStop.request_id)
        .join(Dossier, Dossier.id == DeliveryRequest.dossier_id)
        .where(DeliveryStop.run_id == run.id).order_by(DeliveryStop.seq)
        .execution_options(populate_existing=True)
    ).all()
    rows = [row for row in rows if view.shows(row[2].center_id)]
    if not rows and not view.whole:
        raise scope.forbidden(session, viewer, run.post_office_id)
    results: dict[int, int] = defaultdict(int)  # dossier → its latest parcel to the citizen
    dossier_ids = [d.id for _, _, d in rows]
    if dossier_ids:
        for dossier_id, parcel_id in session.execute(
                select(Parcel.dossier_id, func.max(Parcel.id)).where(Parcel.dossier_id.in_(dossier_ids),
                                                                     Parcel.direction == Direction.TO_CITIZEN)
                .group_by(Parcel.dossier_id)):
            results[dossier_id] = parcel_id
    parcel_ids = {r.parcel_id for _, r, _ in rows if r.parcel_id} | set(results.values())
    parcels = {p.id: p for p in session.execute(select(Parcel).where(Parcel.id.in_(parcel_ids or [-1]))).scalars()}
    office = session.get(Site, run.post_office_id)
    stops = []
    due = fees.due_for(session, [(request, dossier) for _, request, dossier in rows])
    for stop, request, dossier in rows:
        parcel_id = results.get(dossier.id) if request.kind == DeliveryKind.DELIVER_RESULT else request.parcel_id
        parcel = parcels.get(parcel_id or request.parcel_id)
        stops.append(DeliveryStopOut(
            seq=stop.seq, request=request.id, kind=request.kind, dossier=dossier.code,
            parcel=parcel.code if parcel else None, recipient=dossier.applicant_name,
            phone=request.phone if full else dossiers.mask_phone(request.phone),
            street=request.street if full else mask_street(request.street), ward=ward_of(request.ward_code).out(),
            lat=request.lat if full else None, lon=request.lon if full else None,
            slot=f"{request.slot_date.isoformat()} {request.slot_period}", fee_vnd=request.fee_vnd,
            fee_exempt_reason=request.fee_exempt_reason, planned_at=as_utc(stop.planned_at),
            state=effective_state(request, dossier, parcel.state if parcel else None),
            to_collect=ToCollectOut(delivery_fee_vnd=due[request.id].delivery_fee_vnd,
                                    procedure_fee_vnd=due[request.id].procedure_fee_vnd, total_vnd=due[request.id].total_vnd),
        ))
    return DeliveryRunOut(run=run.id, post_office=office.code, date=run.day, period=period_of(run), stops=stops)
