"""What the scan page shows of the runs a courier is scanning for: the one to preselect (his current run) and
each run's next stop, kept in view while he scans."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from models import Run, RunState, RunStop, Site, User
from postal.clock import as_utc


@dataclass(frozen=True)
class NextStop:
    """Where a run goes next: the first stop it has not left yet, and when it is planned there."""

    site: str  # the site's name
    planned_at: datetime
    seq: int
    stops: int  # how many stops the run has


def current_run(found: Sequence[Run], actor: User) -> int | None:
    """The run a courier is on: the one he started last; else his own next planned run; else none (an
    overseer or a run of his office's that nobody was given is chosen by hand)."""
    mine = [r for r in found if r.courier_id == actor.id]
    started = [r for r in mine if r.state == RunState.STARTED]
    if started:
        return max(started, key=lambda r: (as_utc(r.started_at or r.departs_at), r.id)).id
    planned = [r for r in mine if r.state == RunState.PLANNED]
    return min(planned, key=lambda r: (as_utc(r.departs_at), r.id)).id if planned else None


def next_stops(session: Session, run_ids: Sequence[int]) -> dict[int, NextStop]:
    """Each run's next stop (none for a run that has left its last one), in one query."""
    if not run_ids:
        return {}
    rows = session.execute(select(RunStop.run_id, RunStop.seq, RunStop.planned_at, RunStop.departed_at, Site.name)
                           .join(Site, Site.id == RunStop.site_id).where(RunStop.run_id.in_(list(run_ids)))
                           .order_by(RunStop.run_id, RunStop.seq)).all()
    counts: dict[int, int] = {}
    for run_id, *_ in rows:
        counts[run_id] = counts.get(run_id, 0) + 1
    out: dict[int, NextStop] = {}
    for run_id, seq, planned_at, departed_at, name in rows:
        if run_id not in out and departed_at is None:
            out[run_id] = NextStop(site=name, planned_at=as_utc(planned_at), seq=seq, stops=counts[run_id])
    return out
