"""Runs as the API shows them: a day's runs, one run, the run carrying a parcel."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlmodel import Session

from models import (
    ManifestEntry,
    Run,
    RunStop,
    Site,
    User,
)
from models.runs import (
    RunOut,
    RunsOut,
    RunStopOut,
)
from postal import scope
from postal.clock import as_utc
from postal.runs.common import ENTRIES, PARCELS, reload
from postal.scope import WHOLE, RunView


def runs_out(session: Session, runs: Sequence[Run], views: dict[int, RunView] | None = None) -> list[RunOut]:
    """Runs as the API shows them, with each stop's drop and pick lists: a handful of queries in all. With
    `views`, each stop lists only what its run's view shows (a clerk: the parcels picked or dropped at their site)."""
    ids = [r.id for r in runs]
    if not ids:
        return []
    codes = dict(session.execute(select(Site.id, Site.code)).all())
    stops: dict[int, list[RunStop]] = defaultdict(list)
    for stop in session.execute(select(RunStop).where(RunStop.run_id.in_(ids)).order_by(RunStop.run_id, RunStop.seq)
                                .execution_options(populate_existing=True)).scalars():
        stops[stop.run_id].append(stop)
    stop_site = {s.id: (s.run_id, s.site_id) for found in stops.values() for s in found}
    picks: dict[int, list[str]] = defaultdict(list)
    drops: dict[int, list[str]] = defaultdict(list)
    for pick_id, drop_id, code in session.execute(
        select(ENTRIES.c.pick_stop_id, ENTRIES.c.drop_stop_id, PARCELS.c.code)
        .join(PARCELS, PARCELS.c.id == ENTRIES.c.parcel_id).where(ENTRIES.c.run_id.in_(ids)).order_by(PARCELS.c.code)
    ):
        run_id, pick_site = stop_site[pick_id]
        view = views.get(run_id, WHOLE) if views is not None else WHOLE
        if view.shows(pick_site) or view.shows(stop_site[drop_id][1]):  # a line concerns the two stops it joins
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


def runs_of_day(session: Session, day: date, *, viewer: User | None = None) -> RunsOut:
    """The runs of a local date, by departure: those the viewer may read, as far as they may (no viewer: the
    system's own reading, every run in full)."""
    runs = session.execute(select(Run).where(Run.day == day).order_by(Run.departs_at, Run.name, Run.id)
                           .execution_options(populate_existing=True)).scalars().all()
    if viewer is None:
        return RunsOut(runs=runs_out(session, runs))
    views = scope.run_views(session, viewer, runs)
    return RunsOut(runs=runs_out(session, [r for r in runs if r.id in views], views))


def run_detail(session: Session, run_id: int, *, viewer: User | None = None) -> RunOut:
    """One run, as far as the viewer may read it (403 when not at all; no viewer: the system's own reading)."""
    run = reload(session, run_id)
    if viewer is None:
        return runs_out(session, [run])[0]
    return runs_out(session, [run], {run.id: scope.check_run(session, viewer, run)})[0]


def run_of_parcel(session: Session, parcel_id: int) -> int | None:
    """The run carrying the parcel, or due to pick it up (for a parcel's `run` in the API)."""
    return session.execute(select(ManifestEntry.run_id).where(ManifestEntry.parcel_id == parcel_id, ManifestEntry.dropped_at.is_(None))
                           .order_by(ManifestEntry.id.desc()).limit(1)).scalar()
