"""The scan engine's hooks: custody checks a scan naming a run, and tells runs what its batch moved."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlmodel import Session

from models import (
    Action,
    ParcelState,
    Role,
    RunState,
)
from models.moved import Moved, SiteRef
from postal import db
from postal.clock import local
from postal.errors import (
    NotAStop,
    NotYourRun,
    RunClosed,
    UnknownRun,
)
from postal.runs.common import MAX_ID, chunks
from postal.runs.manifests import place, withdraw


class RunRow(NamedTuple):
    id: int
    name: str
    state: str
    courier_id: int | None
    departs_at: object


class StopRow(NamedTuple):
    id: int
    run_id: int
    site_id: int
    arrived_at: object
    departed_at: object


@dataclass(frozen=True)
class RunView:
    """What a batch needs to judge scans naming a run, read once per batch."""

    label: str
    state: str
    courier_id: int | None
    site_ids: frozenset[int]





def run_view(session: Session, run_id: int) -> RunView | None:
    if not 0 < run_id <= MAX_ID:
        return None
    row = db.raw(session, "SELECT id, name, state, courier_id, departs_at FROM run WHERE id = ?", (run_id,)).first_into(RunRow)
    if row is None:
        return None
    sites = frozenset(site_id for (site_id,) in db.raw(session, "SELECT site_id FROM run_stop WHERE run_id = ?", (run_id,)))
    label = f"{row.id} ({row.name}, {local(db.time_read(row.departs_at)):%H:%M %d/%m})"
    return RunView(label, row.state, row.courier_id, sites)


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
        courier = db.raw(session, "SELECT username FROM user_account WHERE id = ?", (run.courier_id,)).scalar()
        raise NotYourRun(run=run.label, courier=courier or "?")
    where = site()
    if where is not None and where.id not in run.site_ids:
        raise NotAStop(run=run.label, site=where.name)


def still_open(session: Session, views: dict) -> None:
    """Under the chain head, which closing a run takes too: the runs a batch judged open are open still (a run
    closed while the batch was judging, outside that lock, refuses the batch; the device sends it again)."""
    judged_open = sorted(i for i, v in views.items() if v is not None and v.state != RunState.CLOSED)
    if not judged_open:
        return
    match, param = db.any_of(session, judged_open)
    closed = db.raw(session, f"SELECT id FROM run WHERE state = ? AND id {match}", (RunState.CLOSED, param)).scalar()
    if closed is not None:
        raise RunClosed(run=views[closed].label)


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
    visits: dict[tuple[int, int], list[StopRow]] = defaultdict(list)
    match, param = db.any_of(session, sorted({r for r, _, _ in arrivals}))
    for stop in db.raw(session, f"SELECT id, run_id, site_id, arrived_at, departed_at FROM run_stop WHERE run_id {match} ORDER BY seq",
                       (param,)).into(StopRow):
        visits[(stop.run_id, stop.site_id)].append(stop)
    first: dict[int, datetime] = {}
    for (run_id, site_id, action), at in arrivals.items():
        stops = visits.get((run_id, site_id))
        if not stops:
            continue
        pool = [s for s in stops if s.departed_at is None] or stops
        stop = pool[0] if action == Action.PICKUP else pool[-1]
        if stop.arrived_at is None:
            first[stop.id] = min(at, first.get(stop.id, at))
    if first:
        db.executemany(session, "UPDATE run_stop SET arrived_at = ? WHERE id = ? AND arrived_at IS NULL",
                    [(db.time_param(session, at), stop_id) for stop_id, at in first.items()])
