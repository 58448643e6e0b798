"""Manifests (bảng kê): parcels placed on the earliest open run to their next site, and frozen at the cutoff.

Placing parcels runs at the end of every scan batch, so it speaks to the driver directly (db.raw):
building SQLAlchemy statements would cost a single-scan request more than the queries themselves.
"""

from __future__ import annotations

import time as time_module
import weakref
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, select, update
from sqlmodel import Session

from models import (
    Run,
    RunKind,
    RunState,
    RunStop,
    Site,
)
from postal import db
from postal.runs.common import ENTRIES, RESEQ, STOPS, chunks, manifest_write, reload
from postal.runs.planning import optimise, timing

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


def forget_network(session: Session) -> None:
    """Drop this process's copy of the links (a template was saved): the next batch reads them afresh."""
    _networks.pop(session.get_bind(), None)


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
    with manifest_write(session):
        placed = manifest_parcels(session, None, now)
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


def freeze(session: Session, run: Run, now: datetime) -> None:
    """Freeze one run's manifest and order its stops; the caller holds the lock and commits."""
    apply_freeze(session, run, plan_freeze(session, run), now)


def freeze_due(session: Session, now: datetime) -> int:
    """Freeze the runs whose cutoff has passed (the scheduler's minute job); how many were frozen."""
    # Each stop order is found before taking the lock (past its cutoff a run's entries no longer
    # change), so scan batches wait only for the writing.
    with manifest_write(session):
        manifest_parcels(session, None, now)
    due = session.execute(select(Run.id).where(Run.frozen_at.is_(None), Run.cutoff_at <= now, Run.state != RunState.CLOSED,
                                               Run.kind == RunKind.SHUTTLE).order_by(Run.cutoff_at, Run.id)).scalars().all()
    frozen = 0
    for run_id in due:
        plan = plan_freeze(session, reload(session, run_id))
        with manifest_write(session):
            run = reload(session, run_id)
            if run.frozen_at is None:
                fresh = plan_freeze(session, run) if active_stops(session, run) != plan.active else plan
                apply_freeze(session, run, fresh, now)
                frozen += 1
    return frozen


def active_stops(session: Session, run: Run) -> frozenset[int]:
    used = set()
    for pick_id, drop_id in session.execute(select(ENTRIES.c.pick_stop_id, ENTRIES.c.drop_stop_id).where(ENTRIES.c.run_id == run.id)):
        used.update((pick_id, drop_id))
    reached = session.execute(select(STOPS.c.id).where(STOPS.c.run_id == run.id, STOPS.c.arrived_at.is_not(None))).scalars()
    return frozenset(used | set(reached))
