"""Shuttle runs (chuyến): templates, runs on working days, manifests (bảng kê), stop order, driving.

A line (template) is a loop from its post office: the hub (the template's first stop, the center)
first to pick what leaves it, then the other stops, then the hub again to drop what comes back
("center → agencies → center", DESIGN §5). A parcel moves on a run only between the hub and another
stop, so no order of the other stops can put a drop before its pick: the optimiser is free to
reorder them. A parcel whose destination no line reaches from where it is goes through the hub.

Manifests are rows (ManifestEntry). Until a run's cutoff they follow the parcels: every scan batch
withdraws what it moved from the runs not yet frozen and places it again. At the cutoff the manifest
freezes, the stops with nothing to drop or pick go, and the rest are ordered by routing.best_order.
Every write to manifests takes the chain-head lock that scan batches take, so they are serialised.
"""

from __future__ import annotations

import time as time_module
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models import (
    Action,
    CustodyEvent,
    Dossier,
    ManifestEntry,
    Parcel,
    ParcelState,
    Role,
    Run,
    RunKind,
    RunState,
    RunStop,
    RunTemplate,
    RunTemplateStop,
    Site,
    SiteKind,
    User,
)
from models.enums import OVERSEERS  # may act on any run for its courier
from models.moved import Moved, SiteRef
from models.runs import (
    AssignIn,
    RunClosedOut,
    RunOut,
    RunsOut,
    RunStopOut,
    RunTemplateIn,
    RunTemplateOut,
    RunTemplatesOut,
)
from postal import db, documents, labels, ledger, routing
from postal.accounts import ROLE_TITLES, paper_name
from postal.clock import LOCAL_TZ, as_utc, local
from postal.documents.layout import BLANK
from postal.replays import fingerprint
from postal.errors import (
    N_,
    Forbidden,
    NoCourier,
    NotAStop,
    NotFound,
    NotYourRun,
    Phrase,
    RunClosed,
    RunStateConflict,
    OutsideWorkingHours,
    RunTemplateExists,
    TooEarlyToStart,
    UnknownRun,
    UnknownStop,
    Unprocessable,
)
from postal.workdays import DEFAULT_CALENDAR, Calendar

CUTOFF = timedelta(minutes=15)  # the manifest freezes this long before departure
START_WINDOW = timedelta(minutes=30)  # a run starts this long before its departure at the earliest (a setting)
SPEED_KMH = 25.0  # average speed between stops, town traffic included
DWELL_MIN = 5.0  # minutes at each stop to hand over and sign
RUN_PREFIX = "CH"  # chuyến: the run's reference is S10-shaped, so its QR is signed like a label
DISTANCES: routing.DistanceSource = routing.GeodesicDistances()  # a road-distance source can replace it
HUB_KINDS = {SiteKind.CENTER, SiteKind.COMMUNE_CENTER}
CHUNK = 5000  # bound on IN-list parameters per statement
RESEQ = 100_000  # stops are renumbered through this offset, so (run_id, seq) stays unique at every step
MAX_ID = 2**31 - 1  # a larger id from a device or a URL would break the query on PostgreSQL, not just miss

RUNS = Run.__table__
STOPS = RunStop.__table__
ENTRIES = ManifestEntry.__table__
PARCELS = Parcel.__table__
STATE_NAMES = {
    RunState.PLANNED: N_("chưa bắt đầu"),
    RunState.STARTED: N_("đang chạy"),
    RunState.CLOSED: N_("đã kết thúc"),
}


def chunks(items: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def run_code(run_id: int) -> str:
    """The run's printed reference, e.g. CH00000123?VN (S10 shape, check digit included)."""
    return labels.make_code(RUN_PREFIX, run_id)


def run_label(run: Run) -> str:
    """How messages name a run: its number, line and departure."""
    return f"{run.id} ({run.name}, {local(run.departs_at):%H:%M %d/%m})"


def lock_manifests(session: Session) -> None:
    """Start a write that holds the chain-head lock every scan batch takes: manifests change one writer at a time."""
    db.begin_write(session)
    ledger.lock_head(session)


# -- templates ---------------------------------------------------------------------------------------


def create_template(session: Session, data: RunTemplateIn, *, actor: User, now: datetime) -> tuple[RunTemplateOut, bool]:
    """Create a run template (admins only); the same body again answers the same template."""
    if actor.role != Role.ADMIN:
        raise Forbidden(role=actor.role)
    name, departs = data.name.strip(), time.fromisoformat(data.departs)
    request_hash = fingerprint(data.model_dump(mode="json"))
    db.begin_write(session)
    existing = session.execute(select(RunTemplate).where(RunTemplate.name == name, RunTemplate.departs == departs)).scalars().first()
    if existing is not None:
        session.commit()
        if existing.request_hash != request_hash:
            raise RunTemplateExists(name=name, departs=data.departs)
        return template_out(session, existing), False
    codes = [c.strip().upper() for c in data.stops]
    if len(set(codes)) != len(codes):
        raise Unprocessable(field="stops", detail=Phrase(N_("mỗi điểm chỉ nêu một lần")))
    sites = {s.code: s for s in session.execute(select(Site).where(Site.code.in_([*codes, data.post_office.strip().upper()]))).scalars()}
    for code in codes:
        if code not in sites:
            raise Unprocessable(field="stops", detail=Phrase(N_("không có điểm mã %(code)s"), code=code))
    post_office = sites.get(data.post_office.strip().upper())
    if post_office is None or post_office.kind != SiteKind.POST_OFFICE:
        raise Unprocessable(field="post_office", detail=Phrase(N_("%(code)s không phải bưu điện"), code=data.post_office))
    if data.kind == RunKind.SHUTTLE and sites[codes[0]].kind not in HUB_KINDS:
        raise Unprocessable(field="stops", detail=Phrase(N_("điểm đầu tiên phải là trung tâm phục vụ hành chính công")))
    if data.kind == RunKind.SHUTTLE:
        route = [sites[c] for c in codes]
        check_hours(departs, (*route, route[0]), post_office)
    template = RunTemplate(name=name, kind=data.kind, departs=departs, post_office_id=post_office.id,
                           request_hash=request_hash, created_by_id=actor.id, created_at=now)
    session.add(template)
    try:
        session.flush()
    except IntegrityError:  # created a moment ago by another request
        session.rollback()
        return create_template(session, data, actor=actor, now=now)
    session.add_all([RunTemplateStop(template_id=template.id, seq=i, site_id=sites[c].id) for i, c in enumerate(codes, 1)])
    session.commit()
    _networks.pop(session.get_bind(), None)  # this process places parcels on the new links at once
    return template_out(session, template), True


HOURS_REFERENCE_DAY = date(2000, 1, 3)  # any working day: a line's times are the same every day


def check_hours(departs: time, route: Sequence[Site], depot: Site) -> None:
    """A line keeps the sites' working hours: every planned arrival within its stop's hours, and the courier
    back at the post office before it closes (a run planned to return at 22:08 is refused when saved)."""
    start = datetime.combine(HOURS_REFERENCE_DAY, departs, tzinfo=LOCAL_TZ)
    plan = timing(depot, route, start)
    stops = [(site, at, Phrase(N_("đến"))) for site, at in zip(route, plan.arrivals)]
    for site, at, what in [*stops, (depot, plan.back_at, Phrase(N_("về")))]:
        here = local(at)
        if not site.opens_at <= here.time() <= site.closes_at:
            raise OutsideWorkingHours(departs=f"{departs:%H:%M}", what=what, at=f"{here:%H:%M}", site=site.name,
                                      opens=f"{site.opens_at:%H:%M}", closes=f"{site.closes_at:%H:%M}")


def template_out(session: Session, template: RunTemplate) -> RunTemplateOut:
    return templates_out(session, [template]).run_templates[0]


def templates_out(session: Session, templates: Sequence[RunTemplate]) -> RunTemplatesOut:
    codes = dict(session.execute(select(Site.id, Site.code)).all())
    stops: dict[int, list[str]] = defaultdict(list)
    ids = [t.id for t in templates]
    for tid, site_id in session.execute(select(RunTemplateStop.template_id, RunTemplateStop.site_id)
                                        .where(RunTemplateStop.template_id.in_(ids)).order_by(RunTemplateStop.seq)):
        stops[tid].append(codes[site_id])
    return RunTemplatesOut(run_templates=[
        RunTemplateOut(id=t.id, name=t.name, departs=t.departs.strftime("%H:%M"), kind=t.kind,
                       post_office=codes[t.post_office_id], stops=stops[t.id], active=t.active)
        for t in templates
    ])


def list_templates(session: Session) -> RunTemplatesOut:
    """Every run template, by line and departure."""
    templates = session.execute(select(RunTemplate).order_by(RunTemplate.name, RunTemplate.departs)).scalars().all()
    return templates_out(session, templates)


# -- routes and times ------------------------------------------------------------------------------------


Point = tuple[float, float]


@dataclass(frozen=True)
class Timing:
    """Planned arrival at each stop of a route from the post office, and the return to it."""

    arrivals: tuple[datetime, ...]
    back_at: datetime
    distance_km: float | None


def timing(depot: Site, route: Sequence[Site], depart_at: datetime) -> Timing:
    """Arrivals along a route driven in the given order from the post office and back."""
    points = [point(s) for s in (depot, *route)]
    if any(p is None for p in points):  # no coordinates: a stop every quarter hour, distance unknown
        step = timedelta(minutes=15)
        return Timing(tuple(depart_at + step * (i + 1) for i in range(len(route))), depart_at + step * (len(route) + 1), None)
    matrix = DISTANCES.matrix(points)
    order = list(range(1, len(points)))
    plan = routing.plan_arrivals(matrix, order, depart_at, speed_kmh=SPEED_KMH, dwell_min=DWELL_MIN)
    return Timing(plan.arrivals, plan.back_at, round(routing.tour_length(matrix, order), 3))


def point(site: Site) -> Point | None:
    return (site.lat, site.lon) if site.lat is not None and site.lon is not None else None


def solver_seconds(stops: int) -> float:
    """OR-Tools' time for a run's stops: a town's dozen stops settle in a fraction of a second."""
    return min(0.8, max(0.05, 0.02 * stops))


def optimise(depot: Site, first: Site | None, middle: Sequence[Site], last: Site | None) -> list[int]:
    """The order of the middle stops (indexes) for a route depot → [first] → middle → [last] → depot."""
    # The fixed ends fold into one virtual node 0 (leaving `first`, arriving at `last`): the tour that
    # routing.best_order finds through node 0 is the route, and it is never longer than as given.
    given = list(range(len(middle)))
    start, end = point(first or depot), point(last or depot)
    points = [point(s) for s in middle]
    if len(middle) < 2 or start is None or end is None or any(p is None for p in points):
        return given
    inner = DISTANCES.matrix(points)
    from_start = DISTANCES.matrix([start, *points])[0][1:]
    to_end = [row[0] for row in DISTANCES.matrix([end, *points])[1:]]
    matrix = [[0.0, *from_start]] + [[to_end[i], *inner[i]] for i in range(len(middle))]
    order = routing.best_order(matrix, [i + 1 for i in given], time_limit_s=solver_seconds(len(middle)))
    return [i - 1 for i in order]


# -- generation ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """A template ready to stamp onto days: its route, and arrival offsets from the departure."""

    template: RunTemplate
    route: tuple[Site, ...]  # hub, other stops, hub again
    offsets: tuple[timedelta, ...]
    back: timedelta
    distance_km: float | None


def lines(session: Session) -> list[Line]:
    """The active shuttle templates with their routes timed once, not once per day."""
    sites = {s.id: s for s in session.execute(select(Site)).scalars()}
    templates = session.execute(select(RunTemplate).where(RunTemplate.active.is_(True), RunTemplate.kind == RunKind.SHUTTLE)
                                .order_by(RunTemplate.departs, RunTemplate.id)).scalars().all()
    stops: dict[int, list[Site]] = defaultdict(list)
    for tid, site_id in session.execute(select(RunTemplateStop.template_id, RunTemplateStop.site_id).order_by(RunTemplateStop.seq)):
        stops[tid].append(sites[site_id])
    out = []
    reference = datetime(2000, 1, 3, tzinfo=UTC)
    for t in templates:
        if not stops[t.id]:
            continue
        route = (*stops[t.id], stops[t.id][0])
        plan = timing(sites[t.post_office_id], route, reference)
        out.append(Line(t, route, tuple(a - reference for a in plan.arrivals), plan.back_at - reference, plan.distance_km))
    return out


def generate(session: Session, start: date, days: int, now: datetime, *, calendar: Calendar = DEFAULT_CALENDAR) -> int:
    """Create the runs of the working days among `days` days from `start`; idempotent. How many were created."""
    lock_manifests(session)
    dates = calendar.working_days(start, days)
    templates = lines(session) if dates else []
    created: list[tuple[Run, Line]] = []
    if templates:
        existing = set(session.execute(select(Run.template_id, Run.day).where(Run.day >= dates[0], Run.day <= dates[-1])).all())
        for day in dates:
            for line in templates:
                if (line.template.id, day) in existing:
                    continue
                departs_at = as_utc(datetime.combine(day, line.template.departs, tzinfo=LOCAL_TZ))
                run = Run(template_id=line.template.id, day=day, name=line.template.name, kind=line.template.kind,
                          state=RunState.PLANNED, post_office_id=line.template.post_office_id, departs_at=departs_at,
                          cutoff_at=departs_at - CUTOFF, ends_at=departs_at + line.back, distance_km=line.distance_km,
                          created_at=now)
                created.append((run, line))
        session.add_all([run for run, _ in created])
        session.flush()
        rows = [
            {"run_id": run.id, "seq": seq, "site_id": site.id, "hub": seq in (1, len(line.route)),
             "planned_at": run.departs_at + offset, "arrived_at": None, "departed_at": None}
            for run, line in created
            for seq, (site, offset) in enumerate(zip(line.route, line.offsets), 1)
        ]
        if rows:
            session.execute(insert(STOPS), rows)
        manifest_parcels(session, None, now)  # parcels that waited for a run to exist
    session.commit()
    return len(created)


# -- manifests -----------------------------------------------------------------------------------------
# Placing parcels runs at the end of every scan batch, so it speaks to the driver directly (db.raw):
# building SQLAlchemy statements would cost a single-scan request more than the queries themselves.

# Parcels at a site that is not their destination, that no run is still due to pick up there.
WAITING = """p.state = 'at_site' AND p.holder_site_id IS NOT NULL AND p.destination_id IS NOT NULL
    AND p.holder_site_id <> p.destination_id
    AND NOT EXISTS (SELECT 1 FROM manifest_entry e JOIN run_stop s ON s.id = e.pick_stop_id JOIN run r ON r.id = e.run_id
                    WHERE e.parcel_id = p.id AND e.picked_at IS NULL AND s.site_id = p.holder_site_id
                      AND s.departed_at IS NULL AND r.state <> 'closed')"""
# The earliest run still open (not frozen, before its cutoff) that stops at one site and later at the other,
# one of the two being its hub.
EARLIEST_SLOT = """SELECT r.id AS run_id, a.id AS pick_id, b.id AS drop_id FROM run r JOIN run_stop a ON a.run_id = r.id JOIN run_stop b ON b.run_id = r.id
    WHERE r.kind = 'shuttle' AND r.state IN ('planned', 'started') AND r.frozen_at IS NULL AND r.cutoff_at > ?
      AND a.site_id = ? AND b.site_id = ? AND a.seq < b.seq AND (a.hub OR b.hub)
    ORDER BY r.cutoff_at, r.id, a.seq, b.seq LIMIT 1"""  # cutoff order is departure order, on an index
NETWORK = """SELECT s.template_id, s.site_id FROM run_template_stop s JOIN run_template t ON t.id = s.template_id
    WHERE t.active AND t.kind = 'shuttle' ORDER BY s.template_id, s.seq"""




@dataclass(frozen=True)
class Network:
    """Which sites a single run links: a hub with each of its line's stops, both ways."""

    spokes: dict[int, frozenset[int]]  # hub → the other stops of its lines
    hubs: dict[int, frozenset[int]]  # stop → the hubs of its lines

    def next_site(self, here: int, destination: int) -> int | None:
        """Where a parcel goes next: straight there if a line links them, else to a hub that reaches it."""
        if destination in self.spokes.get(here, ()) or here in self.spokes.get(destination, ()):
            return destination
        hubs = sorted(self.hubs.get(here, ()))
        via = [h for h in hubs if destination in self.spokes.get(h, ())]
        return (via or hubs or [None])[0]


NETWORK_TTL_S = 30.0
_networks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # engine → (read at, Network)


def network(session: Session, *, cached: bool = False) -> Network:
    """The links of the active shuttle templates; a scan batch may take a copy up to NETWORK_TTL_S old."""
    # Templates change rarely, and the runs of a new one are placed with a fresh read when generated.
    engine = session.get_bind()
    if cached and (hit := _networks.get(engine)) and time_module.monotonic() - hit[0] < NETWORK_TTL_S:
        return hit[1]
    spokes: dict[int, set[int]] = defaultdict(set)
    hubs: dict[int, set[int]] = defaultdict(set)
    hub_of: dict[int, int] = {}
    for template_id, site_id in db.raw(session, NETWORK):
        hub = hub_of.setdefault(template_id, site_id)
        if site_id != hub:
            spokes[hub].add(site_id)
            hubs[site_id].add(hub)
    found = Network({k: frozenset(v) for k, v in spokes.items()}, {k: frozenset(v) for k, v in hubs.items()})
    _networks[engine] = (time_module.monotonic(), found)
    return found


# Insert parcels onto the earliest open slot from one site to another, chosen in the same statement.
PLACE = f"""INSERT INTO manifest_entry (run_id, parcel_id, pick_stop_id, drop_stop_id, manifested_at)
    SELECT slot.run_id, p.id, slot.pick_id, slot.drop_id, ? FROM parcel p
    CROSS JOIN ({EARLIEST_SLOT}) slot
    WHERE %s"""


def place(session: Session, parcel_ids: Sequence[int], now: datetime, *, cached: bool = False) -> int:
    """Manifest these parcels where they wait, on no open run (see withdraw): one read, one insert per hop."""
    net, at = network(session, cached=cached), db.time_param(session, now)
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for chunk in chunks(sorted(set(parcel_ids))):
        match, param = db.any_of(session, list(chunk))
        for parcel_id, here, destination in db.raw(
                session, f"SELECT p.id, p.holder_site_id, p.destination_id FROM parcel p WHERE p.id {match} AND {WAITING}", (param,)):
            if (there := net.next_site(here, destination)) is not None:
                groups[(here, there)].append(parcel_id)
    placed = 0
    for (here, there), ids in groups.items():
        match, param = db.any_of(session, ids)
        placed += max(db.raw(session, PLACE % f"p.id {match}", (at, at, here, there, param)).rowcount or 0, 0)
    return placed


def place_all(session: Session, now: datetime) -> int:
    """Manifest every waiting parcel in the database: one insert per (site, next site), no loop over parcels."""
    net, at = network(session), db.time_param(session, now)
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for here, destination in db.raw(session, f"SELECT DISTINCT p.holder_site_id, p.destination_id FROM parcel p WHERE {WAITING}"):
        if (there := net.next_site(here, destination)) is not None:
            groups[(here, there)].append(destination)
    placed = 0
    for (here, there), destinations in groups.items():
        match, param = db.any_of(session, destinations)
        where = f"{WAITING} AND p.holder_site_id = ? AND p.destination_id {match}"
        placed += max(db.raw(session, PLACE % where, (at, at, here, there, here, param)).rowcount or 0, 0)
    return placed


def withdraw(session: Session, parcel_ids: Sequence[int], now: datetime) -> None:
    """Take parcels off the manifests that have not frozen yet; they are placed again from where they are."""
    for chunk in chunks(sorted(set(parcel_ids))):
        match, param = db.any_of(session, list(chunk))
        db.raw(session, f"""DELETE FROM manifest_entry WHERE parcel_id {match} AND picked_at IS NULL
            AND run_id IN (SELECT id FROM run WHERE frozen_at IS NULL AND cutoff_at > ?)""", (param, db.time_param(session, now)))


def manifest_parcels(session: Session, parcel_ids: Sequence[int] | None, now: datetime) -> int:
    """Put waiting parcels on the earliest open run to their next site; the caller holds the lock and commits."""
    # parcel_ids: parcels that just moved, first withdrawn from the manifests not yet frozen; None: all waiting.
    if parcel_ids is None:
        return place_all(session, now)
    withdraw(session, parcel_ids, now)
    return place(session, parcel_ids, now)


def manifest_waiting(session: Session, now: datetime) -> int:
    """Place every waiting parcel on a run (after runs were generated, or a run left one behind)."""
    lock_manifests(session)
    placed = manifest_parcels(session, None, now)
    session.commit()
    return placed


# -- freezing at the cutoff --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Freeze:
    """A run's stops as they will be: kept stop ids in visiting order, their times, the distance."""

    active: frozenset[int]
    order: tuple[int, ...]
    planned: tuple[datetime, ...]
    ends_at: datetime
    distance_km: float | None


def plan_freeze(session: Session, run: Run) -> Freeze:
    """Keep the stops with something to drop or pick (or already reached), in the shortest order found."""
    stops = session.execute(select(RunStop).where(RunStop.run_id == run.id).order_by(RunStop.seq)
                            .execution_options(populate_existing=True)).scalars().all()
    used = set()
    for pick_id, drop_id in session.execute(select(ENTRIES.c.pick_stop_id, ENTRIES.c.drop_stop_id).where(ENTRIES.c.run_id == run.id)):
        used.update((pick_id, drop_id))
    kept = [s for s in stops if s.id in used or s.arrived_at is not None]
    if not kept:
        return Freeze(frozenset(), (), (), run.departs_at, 0.0)
    sites = {s.id: s for s in session.execute(select(Site).where(Site.id.in_([run.post_office_id, *(s.site_id for s in kept)]))).scalars()}
    first = kept[0] if kept[0].hub and kept[0].seq == stops[0].seq else None
    last = kept[-1] if kept[-1].hub and kept[-1].seq == stops[-1].seq and kept[-1] is not first else None
    middle = [s for s in kept if s is not first and s is not last]
    depot = sites[run.post_office_id]
    order = optimise(depot, sites[first.site_id] if first else None, [sites[s.site_id] for s in middle],
                     sites[last.site_id] if last else None)
    route = [*([first] if first else []), *(middle[i] for i in order), *([last] if last else [])]
    plan = timing(depot, [sites[s.site_id] for s in route], run.departs_at)
    return Freeze(frozenset(s.id for s in kept), tuple(s.id for s in route), plan.arrivals, plan.back_at, plan.distance_km)


def apply_freeze(session: Session, run: Run, plan: Freeze, now: datetime) -> None:
    """Write the frozen stops; the caller holds the lock and commits."""
    session.flush()
    session.execute(update(STOPS).where(STOPS.c.run_id == run.id).values(seq=STOPS.c.seq + RESEQ))
    session.execute(delete(STOPS).where(STOPS.c.run_id == run.id, STOPS.c.id.not_in(plan.order or [-1])))
    if plan.order:
        session.execute(update(STOPS).where(STOPS.c.id == bindparam("stop_id")).values(seq=bindparam("new_seq"), planned_at=bindparam("at")),
                        [{"stop_id": sid, "new_seq": i, "at": at} for i, (sid, at) in enumerate(zip(plan.order, plan.planned), 1)])
    run.ends_at, run.distance_km, run.frozen_at = plan.ends_at, plan.distance_km, now
    session.add(run)
    session.flush()


def reload(session: Session, run_id: int) -> Run:
    """The run as the database has it now (sessions here keep objects across commits)."""
    if not 0 < run_id <= MAX_ID:
        raise NotFound(what=Phrase(N_("chuyến")), code=run_id)
    run = session.execute(select(Run).where(Run.id == run_id).execution_options(populate_existing=True)).scalars().first()
    if run is None:
        raise NotFound(what=Phrase(N_("chuyến")), code=run_id)
    return run


def freeze(session: Session, run: Run, now: datetime) -> None:
    """Freeze one run's manifest and order its stops; the caller holds the lock and commits."""
    apply_freeze(session, run, plan_freeze(session, run), now)


def freeze_due(session: Session, now: datetime) -> int:
    """Freeze the runs whose cutoff has passed (the scheduler's minute job); how many were frozen."""
    # Each stop order is found before taking the lock (past its cutoff a run's entries no longer
    # change), so scan batches wait only for the writing.
    lock_manifests(session)
    manifest_parcels(session, None, now)
    session.commit()
    due = session.execute(select(Run.id).where(Run.frozen_at.is_(None), Run.cutoff_at <= now, Run.state != RunState.CLOSED,
                                               Run.kind == RunKind.SHUTTLE).order_by(Run.cutoff_at, Run.id)).scalars().all()
    frozen = 0
    for run_id in due:
        plan = plan_freeze(session, reload(session, run_id))
        lock_manifests(session)
        run = reload(session, run_id)
        if run.frozen_at is None:
            fresh = plan_freeze(session, run) if active_stops(session, run) != plan.active else plan
            apply_freeze(session, run, fresh, now)
            frozen += 1
        session.commit()
    return frozen


def active_stops(session: Session, run: Run) -> frozenset[int]:
    used = set()
    for pick_id, drop_id in session.execute(select(ENTRIES.c.pick_stop_id, ENTRIES.c.drop_stop_id).where(ENTRIES.c.run_id == run.id)):
        used.update((pick_id, drop_id))
    reached = session.execute(select(STOPS.c.id).where(STOPS.c.run_id == run.id, STOPS.c.arrived_at.is_not(None))).scalars()
    return frozenset(used | set(reached))


# -- reading ---------------------------------------------------------------------------------------------


def runs_out(session: Session, runs: Sequence[Run]) -> list[RunOut]:
    """Runs as the API shows them, with each stop's drop and pick lists: a handful of queries in all."""
    ids = [r.id for r in runs]
    if not ids:
        return []
    codes = dict(session.execute(select(Site.id, Site.code)).all())
    stops: dict[int, list[RunStop]] = defaultdict(list)
    for stop in session.execute(select(RunStop).where(RunStop.run_id.in_(ids)).order_by(RunStop.run_id, RunStop.seq)
                                .execution_options(populate_existing=True)).scalars():
        stops[stop.run_id].append(stop)
    picks: dict[int, list[str]] = defaultdict(list)
    drops: dict[int, list[str]] = defaultdict(list)
    for pick_id, drop_id, code in session.execute(
        select(ENTRIES.c.pick_stop_id, ENTRIES.c.drop_stop_id, PARCELS.c.code)
        .join(PARCELS, PARCELS.c.id == ENTRIES.c.parcel_id).where(ENTRIES.c.run_id.in_(ids)).order_by(PARCELS.c.code)
    ):
        picks[pick_id].append(code)
        drops[drop_id].append(code)
    courier_ids = {r.courier_id for r in runs if r.courier_id}
    couriers = dict(session.execute(select(User.id, User.username).where(User.id.in_(courier_ids))).all()) if courier_ids else {}
    return [
        RunOut(
            id=r.id, date=r.day, name=r.name, kind=r.kind, state=r.state, courier=couriers.get(r.courier_id),
            departs_at=as_utc(r.departs_at), cutoff_at=as_utc(r.cutoff_at), ends_at=as_utc(r.ends_at),
            distance_km=r.distance_km, late_start_min=late_start_min(r),
            stops=[RunStopOut(seq=s.seq, site=codes[s.site_id], planned_at=as_utc(s.planned_at),
                              arrived_at=as_utc(s.arrived_at) if s.arrived_at else None,
                              departed_at=as_utc(s.departed_at) if s.departed_at else None,
                              drop=drops[s.id], pick=picks[s.id]) for s in stops[r.id]],
        )
        for r in runs
    ]


def late_start_min(run: Run) -> int | None:
    """How many minutes after its departure a run started (0 when on time or early); None before it starts."""
    if run.started_at is None:
        return None
    return max(0, int((as_utc(run.started_at) - as_utc(run.departs_at)).total_seconds() // 60))


def runs_of_day(session: Session, day: date) -> RunsOut:
    """The runs of a local date, by departure."""
    runs = session.execute(select(Run).where(Run.day == day).order_by(Run.departs_at, Run.name, Run.id)
                           .execution_options(populate_existing=True)).scalars().all()
    return RunsOut(runs=runs_out(session, runs))


def run_detail(session: Session, run_id: int) -> RunOut:
    return runs_out(session, [reload(session, run_id)])[0]


def run_of_parcel(session: Session, parcel_id: int) -> int | None:
    """The run carrying the parcel, or due to pick it up (for a parcel's `run` in the API)."""
    return session.execute(select(ManifestEntry.run_id).where(ManifestEntry.parcel_id == parcel_id, ManifestEntry.dropped_at.is_(None))
                           .order_by(ManifestEntry.id.desc()).limit(1)).scalar()


# -- driving ---------------------------------------------------------------------------------------------


def check_driver(session: Session, run: Run, actor: User) -> None:
    """The run's courier, or a supervisor or admin on their behalf."""
    if actor.role in OVERSEERS:
        return
    if actor.role != Role.COURIER:
        raise Forbidden(role=actor.role)
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
    driver = courier and sheet.courier in (None, actor.username)  # check_driver passes him
    planned, started = sheet.state == RunState.PLANNED, sheet.state == RunState.STARTED
    open_run = sheet.state != RunState.CLOSED
    return RunAbilities(
        assign=planned and overseer,
        take=planned and courier and sheet.courier is None,
        start=planned and (driver or (overseer and sheet.courier is not None)),  # an overseer starts it for its courier
        depart=started and (driver or overseer),
        close=open_run and ((driver and started) or overseer),
        scan=open_run and (driver or overseer),
    )


def refuse(run: Run, action: str) -> RunStateConflict:
    return RunStateConflict(run=run_label(run), state=Phrase(STATE_NAMES[RunState(run.state)]), action=Phrase(action))


def assign(session: Session, run_id: int, data: AssignIn, *, actor: User, now: datetime) -> RunOut:
    """Give a planned run to a courier (a courier may take an unassigned run for himself)."""
    db.begin_write(session)
    run = reload(session, run_id)
    courier = session.execute(select(User).where(User.username == data.courier.strip().lower())).scalars().first()
    if courier is None or courier.role != Role.COURIER or not courier.active:
        raise Unprocessable(field="courier", detail=Phrase(N_("%(user)s không phải bưu tá"), user=data.courier))
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
    session.commit()
    return run_detail(session, run_id)


def start(session: Session, run_id: int, *, actor: User, now: datetime, window: timedelta = START_WINDOW) -> RunOut:
    """The courier sets off: from `window` before the departure on (later is allowed, and shown as late). The
    manifest freezes at the cutoff, by the scheduler, never because a run started early."""
    lock_manifests(session)
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
    session.commit()
    return run_detail(session, run_id)


def depart(session: Session, run_id: int, seq: int, *, actor: User, now: datetime) -> RunOut:
    """The courier leaves a stop; what the manifest had to pick there and was not picked goes on the next run."""
    lock_manifests(session)
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
    session.commit()
    return run_detail(session, run_id)


def close(session: Session, run_id: int, *, actor: User, now: datetime) -> RunClosedOut:
    """End the run, even with manifested parcels still on board: they are listed for the watch."""
    lock_manifests(session)
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
    session.commit()
    return RunClosedOut(**run_detail(session, run_id).model_dump(), on_board=on_board)


def on_board_codes(session: Session, run_id: int) -> list[str]:
    """Parcels picked up on the run and still with a courier, never handed over."""
    return list(session.execute(
        select(PARCELS.c.code).join(ENTRIES, ENTRIES.c.parcel_id == PARCELS.c.id)
        .where(ENTRIES.c.run_id == run_id, ENTRIES.c.picked_at.is_not(None), ENTRIES.c.dropped_at.is_(None),
               PARCELS.c.state == ParcelState.IN_TRANSIT)
        .order_by(PARCELS.c.code)
    ).scalars())


# -- the scan engine's hooks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RunView:
    """What a batch needs to judge scans naming a run, read once per batch."""

    label: str
    state: str
    courier_id: int | None
    site_ids: frozenset[int]




def from_db_time(value: datetime | str) -> datetime:
    """A time read through the driver: UTC text on SQLite, timestamptz on PostgreSQL."""
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


def run_view(session: Session, run_id: int) -> RunView | None:
    if not 0 < run_id <= MAX_ID:
        return None
    row = db.raw(session, "SELECT id, name, state, courier_id, departs_at FROM run WHERE id = ?", (run_id,)).first()
    if row is None:
        return None
    sites = frozenset(site_id for (site_id,) in db.raw(session, "SELECT site_id FROM run_stop WHERE run_id = ?", (run_id,)))
    label = f"{row[0]} ({row[1]}, {local(from_db_time(row[4])):%H:%M %d/%m})"
    return RunView(label, row[2], row[3], sites)


def check_scan(session: Session, views: dict, run_id: int, action: str, actor, *,
               site: Callable[[], SiteRef | None]) -> None:
    """Custody's check of a scan naming a run: the run exists and is not closed; a pickup or handover needs
    its courier and one of its stops (`site`: where the scan happens, asked only then). `views` keeps each
    run read once per batch. Nothing is written here."""
    # Planned runs are accepted as well as started ones: a courier may scan before pressing start.
    if run_id not in views:
        views[run_id] = run_view(session, run_id)
    run = views[run_id]
    if run is None:
        raise UnknownRun(run=run_id)
    if run.state == RunState.CLOSED:
        raise RunClosed(run=run.label)
    if action not in (Action.PICKUP, Action.HANDOVER):
        return
    if actor.role == Role.COURIER and run.courier_id not in (None, actor.id):
        courier = db.raw(session, "SELECT username FROM user_account WHERE id = ?", (run.courier_id,)).first()
        raise NotYourRun(run=run.label, courier=courier[0] if courier else "?")
    where = site()
    if where is not None and where.id not in run.site_ids:
        raise NotAStop(run=run.label, site=where.name)


def after_scans(session: Session, moved: Moved) -> None:
    """Custody's batch, written: stops reached, lines picked and dropped, moved parcels placed again."""
    record_progress(session, moved.events)
    if not moved.parcels:
        return
    fresh = moved.accepted_ids()  # first event: on no manifest yet
    stale = [p.id for p in moved.parcels if p.id not in fresh]
    if stale:
        withdraw(session, stale, moved.at)
    waiting_here = [p.id for p in moved.parcels if p.state == ParcelState.AT_SITE]
    if waiting_here:
        place(session, waiting_here, moved.at, cached=True)


def record_progress(session: Session, rows: Sequence[dict]) -> None:
    """From a batch's event rows: arrivals at stops, and picked/dropped times on manifest lines."""
    arrivals: dict[tuple[int, int, str], datetime] = {}
    picks: dict[tuple[int, int], datetime] = {}
    drops: dict[int, datetime] = {}
    for row in rows:
        action, at, parcel_id = row["action"], row["device_at"], row["parcel_id"]
        if row["run_id"] is not None and action in (Action.PICKUP, Action.HANDOVER) and row["site_id"] is not None:
            key = (row["run_id"], row["site_id"], action)
            arrivals[key] = min(at, arrivals.get(key, at))
            if action == Action.PICKUP and parcel_id is not None:
                picks[(row["run_id"], parcel_id)] = min(at, picks.get((row["run_id"], parcel_id), at))
        if action in (Action.HANDOVER, Action.RECEIVE) and parcel_id is not None:
            drops[parcel_id] = min(at, drops.get(parcel_id, at))
    if arrivals:
        mark_arrivals(session, arrivals)
    if picks:
        db.executemany(session, "UPDATE manifest_entry SET picked_at = ? WHERE run_id = ? AND parcel_id = ? AND picked_at IS NULL",
                    [(db.time_param(session, at), r, p) for (r, p), at in picks.items()])
    if drops:
        carried = []
        for chunk in chunks(list(drops)):
            match, param = db.any_of(session, list(chunk))
            carried += [p for (p,) in db.raw(session, f"""SELECT DISTINCT parcel_id FROM manifest_entry
                WHERE parcel_id {match} AND picked_at IS NOT NULL AND dropped_at IS NULL""", (param,))]
        if carried:
            db.executemany(session, """UPDATE manifest_entry SET dropped_at = ?
                WHERE parcel_id = ? AND picked_at IS NOT NULL AND dropped_at IS NULL AND picked_at <= ?""",
                        [(db.time_param(session, drops[p]), p, db.time_param(session, drops[p])) for p in carried])


def mark_arrivals(session: Session, arrivals: dict[tuple[int, int, str], datetime]) -> None:
    """The first scan at a stop is the arrival there."""
    # A pickup counts for the site's first open visit, a handover for its last: the hub is visited
    # first to pick and last to drop.
    visits: dict[tuple[int, int], list[tuple]] = defaultdict(list)
    match, param = db.any_of(session, sorted({r for r, _, _ in arrivals}))
    for stop in db.raw(session, f"SELECT id, run_id, site_id, arrived_at, departed_at FROM run_stop WHERE run_id {match} ORDER BY seq",
                       (param,)):
        visits[(stop[1], stop[2])].append(stop)
    first: dict[int, datetime] = {}
    for (run_id, site_id, action), at in arrivals.items():
        stops = visits.get((run_id, site_id))
        if not stops:
            continue
        pool = [s for s in stops if s[4] is None] or stops
        stop = pool[0] if action == Action.PICKUP else pool[-1]
        if stop[3] is None:
            first[stop[0]] = min(at, first.get(stop[0], at))
    if first:
        db.executemany(session, "UPDATE run_stop SET arrived_at = ? WHERE id = ? AND arrived_at IS NULL",
                    [(db.time_param(session, at), stop_id) for stop_id, at in first.items()])


# -- the printed manifest --------------------------------------------------------------------------------


def manifest_document(session: Session, run_id: int, *, label_key: str) -> documents.Manifest:
    """The run's manifest with, per stop, its handover record filled from the scans made there."""
    run = reload(session, run_id)
    stops = session.execute(select(RunStop).where(RunStop.run_id == run.id).order_by(RunStop.seq)
                            .execution_options(populate_existing=True)).scalars().all()
    sites = {s.id: s for s in session.execute(select(Site)).scalars()}
    users = {u.id: u for u in session.execute(select(User)).scalars()}
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
        parcels[parcel_id] = (code, dossier_code, procedure, destination_id)
        picks[pick_id].append(documents.ManifestParcel(code, dossier_code, procedure, sites[stop_site[drop_id]].name))
        final = sites[destination_id].name if destination_id in sites else ""
        drops[drop_id].append(documents.ManifestParcel(code, dossier_code, procedure, final))
    dropped, picked = handover_lines(session, run, stops, sites, users)
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


def render_manifest(session: Session, run_id: int, *, label_key: str) -> bytes:
    """The run's manifest as a PDF."""
    return documents.render_manifest(manifest_document(session, run_id, label_key=label_key))


# -- the run pages (routes/runs_pages.py): reads only ---------------------------------------------------
# A day's runs as a list, one run as a courier reads it on a phone, and the runs a scan may name.


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


def maybe_utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


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
    """The runs of a local date by departure, the viewer's own first (a courier finds his at the top)."""
    found = session.execute(select(Run).where(Run.day == day).order_by(Run.departs_at, Run.name, Run.id)
                            .execution_options(populate_existing=True)).scalars().all()
    return summaries(session, found, viewer.id if viewer else None)


def scan_runs(session: Session, day: date, *, actor: User, requested: int | None) -> tuple[list[RunSummary], int | None]:
    """The runs a scan page may name (the actor's planned or started runs of the day) and the one to preselect."""
    # The run asked for (the run page's "scan for this run" link) is offered too when the actor may drive it.
    mine = Run.courier_id == actor.id
    if requested is not None and 0 < requested <= MAX_ID:
        asked = Run.id == requested
        if actor.role not in OVERSEERS:
            asked = asked & Run.courier_id.is_(None)
        mine = mine | asked
    found = session.execute(select(Run).where(Run.day == day, Run.state.in_([RunState.PLANNED, RunState.STARTED]), mine)
                            .order_by(Run.departs_at, Run.name, Run.id).execution_options(populate_existing=True)).scalars().all()
    choices = summaries(session, found, actor.id)
    started = [r.id for r in choices if r.state == RunState.STARTED]
    if requested in {r.id for r in choices}:
        return choices, requested
    return choices, started[0] if len(started) == 1 else None


def run_sheet(session: Session, run_id: int) -> RunSheet:
    """One run with, per stop, the parcels to drop and pick (code, dossier, destination) and how far each got."""
    run = reload(session, run_id)
    stops = session.execute(select(RunStop).where(RunStop.run_id == run.id).order_by(RunStop.seq)
                            .execution_options(populate_existing=True)).scalars().all()
    sites = {s.id: s for s in session.execute(select(Site)).scalars()}
    picks: dict[int, list[ParcelLine]] = defaultdict(list)
    drops: dict[int, list[ParcelLine]] = defaultdict(list)
    on_board: list[ParcelLine] = []
    rows = session.execute(
        select(ENTRIES.c.pick_stop_id, ENTRIES.c.drop_stop_id, ENTRIES.c.picked_at, ENTRIES.c.dropped_at,
               PARCELS.c.code, PARCELS.c.state, PARCELS.c.destination_id, Dossier.code)
        .join(PARCELS, PARCELS.c.id == ENTRIES.c.parcel_id).join(Dossier, Dossier.id == PARCELS.c.dossier_id)
        .where(ENTRIES.c.run_id == run.id).order_by(PARCELS.c.code)
    ).all()
    for pick_id, drop_id, picked_at, dropped_at, code, state, destination_id, dossier_code in rows:
        destination = sites[destination_id].name if destination_id in sites else ""
        line = ParcelLine(code, dossier_code, destination, maybe_utc(picked_at), maybe_utc(dropped_at))
        picks[pick_id].append(line)
        drops[drop_id].append(line)
        if picked_at is not None and dropped_at is None and state == ParcelState.IN_TRANSIT:
            on_board.append(line)
    courier = session.get(User, run.courier_id) if run.courier_id else None
    return RunSheet(
        id=run.id, ref=run_code(run.id), day=run.day, name=run.name, kind=run.kind, state=run.state,
        courier=courier.username if courier else None, courier_name=name_of(courier), vehicle=run.vehicle,
        post_office=sites[run.post_office_id].name, departs_at=as_utc(run.departs_at), cutoff_at=as_utc(run.cutoff_at),
        ends_at=as_utc(run.ends_at), distance_km=run.distance_km, frozen_at=maybe_utc(run.frozen_at),
        started_at=maybe_utc(run.started_at), closed_at=maybe_utc(run.closed_at),
        stops=tuple(StopSheet(
            seq=s.seq, site=sites[s.site_id].code, site_name=sites[s.site_id].name, address=sites[s.site_id].address or "",
            hub=s.hub, planned_at=as_utc(s.planned_at), arrived_at=maybe_utc(s.arrived_at), departed_at=maybe_utc(s.departed_at),
            drop=tuple(drops[s.id]), pick=tuple(picks[s.id]),
        ) for s in stops),
        on_board=tuple(on_board), parcels=len(rows), picked=sum(1 for r in rows if r[2] is not None),
        dropped=sum(1 for r in rows if r[3] is not None),
    )


def drivers(session: Session) -> list[User]:
    """The active couriers a run can be given to, by username."""
    return list(session.execute(select(User).where(User.role == Role.COURIER, User.active.is_(True))
                                .order_by(User.username)).scalars())
