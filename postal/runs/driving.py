"""Driving a run: giving it to a courier, starting, leaving stops, closing; and what an actor may do to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from models import (
    ParcelState,
    Role,
    Run,
    RunState,
    RunStop,
    Site,
    User,
)
from models.enums import OVERSEERS  # may act on any run for its courier
from models.runs import (
    AssignIn,
    RunClosedOut,
    RunOut,
)
from postal import db, scope
from postal.clock import as_utc, local
from postal.errors import (
    N_,
    Forbidden,
    NoCourier,
    NotYourRun,
    Phrase,
    RunStateConflict,
    TooEarlyToStart,
    UnknownStop,
    Unprocessable,
)
from postal.runs.common import (
    ENTRIES,
    PARCELS,
    START_WINDOW,
    STATE_NAMES,
    manifest_write,
    reload,
    run_label,
)
from postal.runs.manifests import freeze, manifest_parcels
from postal.runs.papers import RunSheet
from postal.runs.reading import run_detail


def check_driver(session: Session, run: Run, actor: User) -> None:
    """The run's courier, or a supervisor or admin on their behalf."""
    if actor.role in OVERSEERS:
        return
    if actor.role != Role.COURIER:
        raise Forbidden(role=actor.role)
    scope.check_driver_of_office(session, actor, run)
    if run.courier_id not in (None, actor.id):
        raise NotYourRun(run=run_label(run), courier=session.get(User, run.courier_id).username)


@dataclass(frozen=True)
class RunAbilities:
    """What an actor may do to a run now, as check_driver, assign, start, depart and close judge it."""

    assign: bool  # give it to a courier (overseers)
    take: bool  # a courier takes an unassigned run for himself
    start: bool
    depart: bool
    close: bool
    scan: bool  # scan for this run


def abilities(sheet: RunSheet, actor: User) -> RunAbilities:
    """Which of a run's actions to offer the actor (the buttons of its page); each request is still judged."""
    overseer, courier = actor.role in OVERSEERS, actor.role == Role.COURIER
    ours = sheet.post_office_id is None or actor.site_id == sheet.post_office_id
    driver = courier and (sheet.courier == actor.username or (sheet.courier is None and ours))  # check_driver passes him
    planned, started = sheet.state == RunState.PLANNED, sheet.state == RunState.STARTED
    open_run = sheet.state != RunState.CLOSED
    return RunAbilities(
        assign=planned and overseer,
        take=planned and courier and sheet.courier is None and ours,
        start=planned and (driver or (overseer and sheet.courier is not None)),  # an overseer starts it for its courier
        depart=started and (driver or overseer),
        close=open_run and ((driver and started) or overseer),
        scan=open_run and (driver or overseer),
    )


def office_name(session: Session, run: Run) -> str:
    office = session.get(Site, run.post_office_id)
    return office.name if office else "—"


def refuse(run: Run, action: str) -> RunStateConflict:
    return RunStateConflict(run=run_label(run), state=Phrase(STATE_NAMES[RunState(run.state)]), action=Phrase(action))


def assign(session: Session, run_id: int, data: AssignIn, *, actor: User, now: datetime) -> RunOut:
    """Give a planned run to a courier (a courier may take an unassigned run for himself)."""
    with db.writing(session):
        run = reload(session, run_id)
        courier = session.execute(select(User).where(User.username == data.courier.strip().lower())).scalars().first()
        if courier is None or courier.role != Role.COURIER or not courier.active:
            raise Unprocessable(field="courier", detail=Phrase(N_("%(user)s không phải bưu tá"), user=data.courier))
        if actor.role in OVERSEERS and not scope.serves(run, courier):
            raise Unprocessable(field="courier", detail=Phrase(N_("%(user)s không làm việc cho %(office)s"),
                                                               user=courier.username, office=office_name(session, run)))
        if actor.role not in OVERSEERS:
            if actor.role != Role.COURIER or courier.id != actor.id:
                raise Forbidden(role=actor.role)
            check_driver(session, run, actor)
        if run.state != RunState.PLANNED:
            raise refuse(run, N_("phân công"))
        run.courier_id = courier.id
        if data.vehicle is not None:
            run.vehicle = data.vehicle.strip() or None
        session.add(run)
    return run_detail(session, run_id)


def start(session: Session, run_id: int, *, actor: User, now: datetime, window: timedelta = START_WINDOW) -> RunOut:
    """The courier sets off: from `window` before the departure on (later is allowed, and shown as late). The
    manifest freezes at the cutoff, by the scheduler, never because a run started early."""
    with manifest_write(session):
        run = reload(session, run_id)
        check_driver(session, run, actor)
        if run.state == RunState.CLOSED:
            raise refuse(run, N_("bắt đầu"))
        if run.state == RunState.PLANNED:
            earliest = as_utc(run.departs_at) - window
            if now < earliest:
                raise TooEarlyToStart(run=run_label(run), departs=f"{local(run.departs_at):%H:%M}",
                                      earliest=f"{local(earliest):%H:%M}")
            if run.courier_id is None:
                if actor.role != Role.COURIER:
                    raise NoCourier(run=run_label(run))
                run.courier_id = actor.id
            if run.frozen_at is None and now >= as_utc(run.cutoff_at):
                freeze(session, run, now)  # past its cutoff, and the scheduler has not come to it yet
            run.state, run.started_at = RunState.STARTED, now
            session.add(run)
    return run_detail(session, run_id)


def depart(session: Session, run_id: int, seq: int, *, actor: User, now: datetime) -> RunOut:
    """The courier leaves a stop; what the manifest had to pick there and was not picked goes on the next run."""
    with manifest_write(session):
        run = reload(session, run_id)
        check_driver(session, run, actor)
        if run.state != RunState.STARTED:
            raise refuse(run, N_("rời điểm dừng"))
        stop = session.execute(select(RunStop).where(RunStop.run_id == run.id, RunStop.seq == seq)
                               .execution_options(populate_existing=True)).scalars().first()
        if stop is None:
            raise UnknownStop(run=run_label(run), seq=seq)
        if stop.departed_at is None:  # departing twice keeps the first time: a phone may resend
            stop.arrived_at = stop.arrived_at or now
            stop.departed_at = now
            session.add(stop)
            session.flush()
            left = session.execute(select(ENTRIES.c.parcel_id).where(ENTRIES.c.pick_stop_id == stop.id, ENTRIES.c.picked_at.is_(None))).scalars().all()
            if left:
                manifest_parcels(session, left, now)
    return run_detail(session, run_id)


def close(session: Session, run_id: int, *, actor: User, now: datetime) -> RunClosedOut:
    """End the run, even with manifested parcels still on board: they are listed for the watch."""
    with manifest_write(session):
        run = reload(session, run_id)
        check_driver(session, run, actor)
        if run.state != RunState.CLOSED:
            run.state, run.closed_at = RunState.CLOSED, now
            session.add(run)
            session.flush()
            left = session.execute(select(ENTRIES.c.parcel_id).where(ENTRIES.c.run_id == run.id, ENTRIES.c.picked_at.is_(None))).scalars().all()
            if left:
                manifest_parcels(session, left, now)
        on_board = on_board_codes(session, run.id)
    return RunClosedOut(**run_detail(session, run_id).model_dump(), on_board=on_board)


def on_board_codes(session: Session, run_id: int) -> list[str]:
    """Parcels picked up on the run and still with a courier, never handed over."""
    return list(session.execute(
        select(PARCELS.c.code).join(ENTRIES, ENTRIES.c.parcel_id == PARCELS.c.id)
        .where(ENTRIES.c.run_id == run_id, ENTRIES.c.picked_at.is_not(None), ENTRIES.c.dropped_at.is_(None),
               PARCELS.c.state == ParcelState.IN_TRANSIT)
        .order_by(PARCELS.c.code)
    ).scalars())
