"""Generation: the runs of working days stamped from the active templates (idempotent)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, select
from sqlmodel import Session

from models import (
    Run,
    RunKind,
    RunState,
    RunTemplate,
    RunTemplateStop,
    Site,
)
from postal.clock import LOCAL_TZ, as_utc
from postal.runs.common import CUTOFF, STOPS, lock_manifests
from postal.runs.manifests import manifest_parcels
from postal.runs.planning import timing
from postal.workdays import DEFAULT_CALENDAR, Calendar


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
