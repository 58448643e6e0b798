"""A run's papers and pages: the printed manifest with its handover records, and the run sheets (reads only).

The run pages (routes/runs_pages.py) show a day's runs as a list, one run as a courier reads it on a phone,
and the runs a scan may name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlmodel import Session

from models import (
    Action,
    CustodyEvent,
    Dossier,
    Parcel,
    ParcelState,
    Role,
    Run,
    RunState,
    RunStop,
    Site,
    User,
)
from models.enums import OVERSEERS  # may act on any run for its courier
from postal import db, documents, labels, scope
from postal.accounts import ROLE_TITLES, paper_name
from postal.clock import as_utc
from postal.config import Settings
from postal.documents.layout import BLANK
from postal.runs.common import ENTRIES, MAX_ID, PARCELS, reload, run_code
from postal.runs.scanning import current_run


def manifest_document(session: Session, run_id: int, *, label_key: str, viewer: User | None = None) -> documents.Manifest:
    """The run's manifest with, per stop, its handover record filled from the scans made there; a viewer who
    sees only some stops (a clerk of a site it stops at) reads only the parcels picked or dropped there."""
    run = reload(session, run_id)
    view = scope.check_run(session, viewer, run) if viewer is not None else scope.WHOLE
    stops = session.execute(select(RunStop).where(RunStop.run_id == run.id).order_by(RunStop.seq)
                            .execution_options(populate_existing=True)).scalars().all()
    sites, users = db.ById(session, Site), db.ById(session, User)  # those the manifest names, not the network
    courier = users.get(run.courier_id)
    parcels: dict[int, tuple[str, str, str, int | None]] = {}
    lines = session.execute(
        select(ENTRIES.c.parcel_id, ENTRIES.c.pick_stop_id, ENTRIES.c.drop_stop_id, Parcel.code, Dossier.code,
               Dossier.procedure, Parcel.destination_id)
        .join(Parcel, Parcel.id == ENTRIES.c.parcel_id).join(Dossier, Dossier.id == Parcel.dossier_id)
        .where(ENTRIES.c.run_id == run.id).order_by(Parcel.code)
    ).all()
    stop_site = {s.id: s.site_id for s in stops}
    picks: dict[int, list[documents.ManifestParcel]] = defaultdict(list)
    drops: dict[int, list[documents.ManifestParcel]] = defaultdict(list)
    for parcel_id, pick_id, drop_id, code, dossier_code, procedure, destination_id in lines:
        if not (view.shows(stop_site[pick_id]) or view.shows(stop_site[drop_id])):
            continue  # another site's parcel: its dossier and procedure are not this reader's
        parcels[parcel_id] = (code, dossier_code, procedure, destination_id)
        picks[pick_id].append(documents.ManifestParcel(code, dossier_code, procedure, sites[stop_site[drop_id]].name))
        final = sites[destination_id].name if destination_id in sites else ""
        drops[drop_id].append(documents.ManifestParcel(code, dossier_code, procedure, final))
    dropped, picked = handover_lines(session, run, stops, sites, users)
    for lines_at in (dropped, picked):
        for stop_id in list(lines_at):
            if not view.shows(stop_site[stop_id]):
                lines_at[stop_id] = []
    return documents.Manifest(
        run_name=run.name, run_ref=run_code(run.id), run_date=run.day, departs_at=as_utc(run.departs_at),
        courier=(paper_name(courier) or BLANK) if courier else None, distance_km=run.distance_km,
        qr_payload=labels.qr_payload(label_key, run_code(run.id)),
        stops=[documents.ManifestStop(
            seq=s.seq, site_name=sites[s.site_id].name, planned_at=as_utc(s.planned_at), drop=drops[s.id], pick=picks[s.id],
            dropped=dropped[s.id], picked=picked[s.id], site_address=sites[s.site_id].address or None,
            arrived_at=as_utc(s.arrived_at) if s.arrived_at else None,
            departed_at=as_utc(s.departed_at) if s.departed_at else None,
        ) for s in stops],
        vehicle=run.vehicle, post_office=sites[run.post_office_id].name,
    )


def name_of(user: User | None) -> str | None:
    return (user.full_name or user.username) if user else None


def paper_person(user: User | None, sites: dict[int, Site], site_id: int | None) -> documents.Person:
    """A member of staff as a handover record names them: full name, role and the unit they act for."""
    site = sites[site_id].name if site_id in sites else None
    if user is None:
        return documents.Person(None, None, site)
    return documents.Person(paper_name(user), str(ROLE_TITLES.get(user.role, user.role)), site)


HandoverLines = dict[int, list[documents.HandoverLine]]


def handover_lines(session: Session, run: Run, stops: Sequence[RunStop], sites: dict[int, Site],
                   users: dict[int, User]) -> tuple[HandoverLines, HandoverLines]:
    """The handoffs scanned with this run, per stop, in two groups: what the courier dropped there (he gave,
    the clerk who confirmed it took) and what he picked up (the clerk who held it there gave, he took)."""
    events = session.execute(
        select(CustodyEvent, Parcel.code, Dossier.code).join(Parcel, Parcel.id == CustodyEvent.parcel_id)
        .join(Dossier, Dossier.id == Parcel.dossier_id)
        .where(CustodyEvent.run_id == run.id, CustodyEvent.action.in_([Action.PICKUP, Action.HANDOVER]))
        .order_by(CustodyEvent.seq)
    ).all()
    # Who took each parcel into a site's custody (accept, receive, found), in ledger order.
    custody: dict[tuple[int, int], list[CustodyEvent]] = defaultdict(list)
    if events:
        for e in session.execute(select(CustodyEvent).where(
                CustodyEvent.parcel_id.in_(sorted({e.parcel_id for e, _, _ in events})),
                CustodyEvent.action.in_([Action.ACCEPT, Action.RECEIVE, Action.FOUND])).order_by(CustodyEvent.seq)).scalars():
            custody[(e.parcel_id, e.site_id)].append(e)
    visits: dict[int, list[RunStop]] = defaultdict(list)
    for s in stops:
        visits[s.site_id].append(s)
    dropped: HandoverLines = defaultdict(list)
    picked: HandoverLines = defaultdict(list)
    for e, code, dossier_code in events:
        at_site = visits.get(e.site_id)
        if not at_site:
            continue
        user = users.get(e.actor_id)
        courier = paper_person(user, sites, user.site_id if user else None)
        held = custody[(e.parcel_id, e.site_id)]
        if e.action == Action.PICKUP:
            keeper = next((r for r in reversed(held) if r.seq < e.seq), None)
            giver = paper_person(users.get(keeper.actor_id) if keeper else None, sites, e.site_id)
            picked[at_site[0].id].append(documents.HandoverLine(code, dossier_code, as_utc(e.device_at), giver, courier))
        else:
            receipt = next((r for r in held if r.seq > e.seq and r.action == Action.RECEIVE), None)
            taker = paper_person(users.get(receipt.actor_id) if receipt else None, sites, e.site_id)
            dropped[at_site[-1].id].append(documents.HandoverLine(code, dossier_code, as_utc(e.device_at), courier, taker))
    return dropped, picked


def render_manifest(session: Session, run_id: int, *, settings: Settings, viewer: User | None = None) -> bytes:
    """The run's manifest as a PDF, as far as the viewer may read it."""
    return documents.render_manifest(manifest_document(session, run_id, label_key=settings.label_key, viewer=viewer),
                                     font_dir=settings.font_dir)


@dataclass(frozen=True)
class RunSummary:
    """A run as the day's list shows it."""

    id: int
    name: str
    kind: str
    state: str
    courier: str | None  # username
    departs_at: datetime
    cutoff_at: datetime
    ends_at: datetime
    distance_km: float | None
    route: tuple[str, ...]  # site names in visiting order
    parcels: int  # manifest lines: each is picked at one stop and dropped at a later one
    picked: int
    dropped: int
    mine: bool  # the viewer drives it


@dataclass(frozen=True)
class ParcelLine:
    """A parcel on a run's page: its code, its dossier, where it ends up, and how far it got on this run."""

    code: str
    dossier: str
    destination: str
    picked_at: datetime | None
    dropped_at: datetime | None


@dataclass(frozen=True)
class StopSheet:
    """A stop as the run page lists it, with what to drop and pick there."""

    seq: int
    site: str
    site_name: str
    address: str
    hub: bool
    planned_at: datetime
    arrived_at: datetime | None
    departed_at: datetime | None
    drop: tuple[ParcelLine, ...]
    pick: tuple[ParcelLine, ...]


@dataclass(frozen=True)
class RunSheet:
    """One run as its courier reads it: stops in order, and the parcels still on board."""

    id: int
    ref: str
    day: date
    name: str
    kind: str
    state: str
    courier: str | None
    courier_name: str | None
    vehicle: str | None
    post_office: str
    departs_at: datetime
    cutoff_at: datetime
    ends_at: datetime
    distance_km: float | None
    frozen_at: datetime | None
    started_at: datetime | None
    closed_at: datetime | None
    stops: tuple[StopSheet, ...]
    on_board: tuple[ParcelLine, ...]  # picked up on this run, with the courier, not handed over
    parcels: int
    picked: int
    dropped: int
    post_office_id: int | None = None  # a courier of this post office may take the run while it has none


def summaries(session: Session, found: Sequence[Run], viewer_id: int | None) -> list[RunSummary]:
    """Runs with their route and manifest counts: three queries, whatever the number of runs."""
    ids = [r.id for r in found]
    if not ids:
        return []
    names = dict(session.execute(select(Site.id, Site.name)).all())
    route: dict[int, list[str]] = defaultdict(list)
    for run_id, site_id in session.execute(select(RunStop.run_id, RunStop.site_id).where(RunStop.run_id.in_(ids))
                                           .order_by(RunStop.run_id, RunStop.seq)):
        route[run_id].append(names.get(site_id, "?"))
    counts = {run_id: (total, picked, dropped) for run_id, total, picked, dropped in session.execute(
        select(ENTRIES.c.run_id, func.count(), func.count(ENTRIES.c.picked_at), func.count(ENTRIES.c.dropped_at))
        .where(ENTRIES.c.run_id.in_(ids)).group_by(ENTRIES.c.run_id))}
    courier_ids = {r.courier_id for r in found if r.courier_id}
    usernames = dict(session.execute(select(User.id, User.username).where(User.id.in_(courier_ids))).all()) if courier_ids else {}
    out = [
        RunSummary(id=r.id, name=r.name, kind=r.kind, state=r.state, courier=usernames.get(r.courier_id),
                   departs_at=as_utc(r.departs_at), cutoff_at=as_utc(r.cutoff_at), ends_at=as_utc(r.ends_at),
                   distance_km=r.distance_km, route=tuple(route[r.id]), parcels=counts.get(r.id, (0, 0, 0))[0],
                   picked=counts.get(r.id, (0, 0, 0))[1], dropped=counts.get(r.id, (0, 0, 0))[2],
                   mine=viewer_id is not None and r.courier_id == viewer_id)
        for r in found
    ]
    return sorted(out, key=lambda s: not s.mine)  # stable: the viewer's runs first, each group by departure


def day_runs(session: Session, day: date, *, viewer: User | None = None) -> list[RunSummary]:
    """The runs of a local date by departure that the viewer may read, their own first (a courier finds his at
    the top)."""
    found = session.execute(select(Run).where(Run.day == day).order_by(Run.departs_at, Run.name, Run.id)
                            .execution_options(populate_existing=True)).scalars().all()
    if viewer is not None:
        views = scope.run_views(session, viewer, found)
        found = [r for r in found if r.id in views]
    return summaries(session, found, viewer.id if viewer else None)


def scan_runs(session: Session, day: date, *, actor: User, requested: int | None) -> tuple[list[RunSummary], int | None]:
    """The runs a scan page may name (the actor's planned or started runs of the day) and the one to preselect."""
    # The run asked for (the run page's "scan for this run" link) is offered too when the actor may drive it.
    mine = Run.courier_id == actor.id
    if requested is not None and 0 < requested <= MAX_ID:
        asked = Run.id == requested
        if actor.role not in OVERSEERS:  # a courier may take an unassigned run of his own post office
            asked = asked & Run.courier_id.is_(None) & (Run.post_office_id == actor.site_id)
        mine = mine | asked
    found = session.execute(select(Run).where(Run.day == day, Run.state.in_([RunState.PLANNED, RunState.STARTED]), mine)
                            .order_by(Run.departs_at, Run.name, Run.id).execution_options(populate_existing=True)).scalars().all()
    choices = summaries(session, found, actor.id)
    if requested in {r.id for r in choices}:
        return choices, requested
    return choices, current_run(found, actor)


def run_sheet(session: Session, run_id: int, *, viewer: User | None = None) -> RunSheet:
    """One run with, per stop, the parcels to drop and pick (code, dossier, destination) and how far each got;
    as far as the viewer may read it (403 when not at all)."""
    run = reload(session, run_id)
    view = scope.check_run(session, viewer, run) if viewer is not None else scope.WHOLE
    stops = session.execute(select(RunStop).where(RunStop.run_id == run.id).order_by(RunStop.seq)
                            .execution_options(populate_existing=True)).scalars().all()
    picks: dict[int, list[ParcelLine]] = defaultdict(list)
    drops: dict[int, list[ParcelLine]] = defaultdict(list)
    on_board: list[ParcelLine] = []
    rows = session.execute(
        select(ENTRIES.c.pick_stop_id, ENTRIES.c.drop_stop_id, ENTRIES.c.picked_at, ENTRIES.c.dropped_at,
               PARCELS.c.code, PARCELS.c.state, PARCELS.c.destination_id, Dossier.code)
        .join(PARCELS, PARCELS.c.id == ENTRIES.c.parcel_id).join(Dossier, Dossier.id == PARCELS.c.dossier_id)
        .where(ENTRIES.c.run_id == run.id).order_by(PARCELS.c.code)
    ).all()
    stop_site = {s.id: s.site_id for s in stops}
    rows = [r for r in rows if view.shows(stop_site[r.pick_stop_id]) or view.shows(stop_site[r.drop_stop_id])]
    sites = db.ById(session, Site)  # those the sheet names, not the network
    for pick_id, drop_id, picked_at, dropped_at, code, state, destination_id, dossier_code in rows:
        destination = sites[destination_id].name if destination_id in sites else ""
        line = ParcelLine(code, dossier_code, destination, db.time_read(picked_at), db.time_read(dropped_at))
        picks[pick_id].append(line)
        drops[drop_id].append(line)
        if picked_at is not None and dropped_at is None and state == ParcelState.IN_TRANSIT:
            on_board.append(line)
    courier = session.get(User, run.courier_id) if run.courier_id else None
    return RunSheet(
        id=run.id, ref=run_code(run.id), day=run.day, name=run.name, kind=run.kind, state=run.state,
        courier=courier.username if courier else None, courier_name=name_of(courier), vehicle=run.vehicle,
        post_office=sites[run.post_office_id].name, departs_at=as_utc(run.departs_at), cutoff_at=as_utc(run.cutoff_at),
        ends_at=as_utc(run.ends_at), distance_km=run.distance_km, frozen_at=db.time_read(run.frozen_at),
        started_at=db.time_read(run.started_at), closed_at=db.time_read(run.closed_at),
        stops=tuple(StopSheet(
            seq=s.seq, site=sites[s.site_id].code, site_name=sites[s.site_id].name, address=sites[s.site_id].address or "",
            hub=s.hub, planned_at=as_utc(s.planned_at), arrived_at=db.time_read(s.arrived_at), departed_at=db.time_read(s.departed_at),
            drop=tuple(drops[s.id]), pick=tuple(picks[s.id]),
        ) for s in stops),
        on_board=tuple(on_board), parcels=len(rows), picked=sum(1 for r in rows if r.picked_at is not None),
        dropped=sum(1 for r in rows if r.dropped_at is not None), post_office_id=run.post_office_id,
    )


def drivers(session: Session, run_id: int | None = None) -> list[User]:
    """The active couriers a run can be given to (those of its post office), by username."""
    query = select(User).where(User.role == Role.COURIER, User.active.is_(True))
    if run_id is not None:
        query = query.where(User.site_id == reload(session, run_id).post_office_id)
    return list(session.execute(query.order_by(User.username)).scalars())
