"""Generation: the runs of working days stamped from the active templates (idempotent)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic
from typing import Self

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
from postal import db
from postal.clock import LOCAL_TZ, as_utc
from postal.runs.common import CUTOFF, STOPS, manifest_write
from postal.runs.manifests import manifest_waiting
from postal.runs.planning import HoursBreach, hours_breach, timing
from postal.workdays import DEFAULT_CALENDAR, Calendar

log = logging.getLogger("postal.runs")
CHUNK_S = 0.1  # a generation commits after holding the write lock this long (whole days), and goes on


@dataclass(frozen=True)
class Line:
    """A template ready to stamp onto days: its route, arrival offsets from the departure, and where (if
    anywhere) those times fall outside the sites' working hours."""

    template: RunTemplate
    route: tuple[Site, ...]  # hub, other stops, hub again
    offsets: tuple[timedelta, ...]
    back: timedelta
    distance_km: float | None
    breach: HoursBreach | None = None

    def runs_on(self, day: date) -> bool:
        """Whether the line runs on this working day: its weekday is one of the line's, or it is a weekend day
        worked in place of a weekday (a substitute working day) and the line runs every weekday."""
        weekday = day.isoweekday()
        return str(weekday) in self.template.weekdays or (weekday >= 6 and set("12345") <= set(self.template.weekdays))

    def timed(self, day: date) -> dict:
        """A run's times on this day, from the line's departure and offsets."""
        departs_at = as_utc(datetime.combine(day, self.template.departs, tzinfo=LOCAL_TZ))
        return {"departs_at": departs_at, "cutoff_at": departs_at - CUTOFF, "ends_at": departs_at + self.back,
                "distance_km": self.distance_km}

    def stop_rows(self, run: Run) -> list[dict]:
        """The rows of a run's stops on this line, planned from the run's departure."""
        return [{"run_id": run.id, "seq": seq, "site_id": site.id, "hub": seq in (1, len(self.route)),
                 "planned_at": run.departs_at + offset, "arrived_at": None, "departed_at": None}
                for seq, (site, offset) in enumerate(zip(self.route, self.offsets), 1)]


@dataclass(frozen=True)
class Skipped:
    """A run generation did not create: its line's times fall outside the sites' working hours."""

    name: str
    departs: time
    day: date
    breach: HoursBreach


class Generated(int):
    """How many runs a generation created (it is that number), and the runs it skipped."""

    skipped: tuple[Skipped, ...]

    def __new__(cls, created: int, skipped: Sequence[Skipped] = ()) -> Self:
        value = super().__new__(cls, created)
        value.skipped = tuple(skipped)
        return value


def lines(session: Session, template_id: int | None = None) -> list[Line]:
    """The active shuttle templates with their routes timed once, not once per day, and checked against the
    sites' working hours as they are now (a site's hours may have changed since its lines were saved)."""
    sites = {s.id: s for s in session.execute(select(Site)).scalars()}
    query = select(RunTemplate).where(RunTemplate.active.is_(True), RunTemplate.kind == RunKind.SHUTTLE)
    if template_id is not None:
        query = query.where(RunTemplate.id == template_id)
    templates = session.execute(query.order_by(RunTemplate.departs, RunTemplate.id)).scalars().all()
    stops: dict[int, list[Site]] = defaultdict(list)
    for tid, site_id in session.execute(select(RunTemplateStop.template_id, RunTemplateStop.site_id).order_by(RunTemplateStop.seq)):
        stops[tid].append(sites[site_id])
    out = []
    reference = datetime(2000, 1, 3, tzinfo=UTC)
    for t in templates:
        if not stops[t.id]:
            continue
        route, depot = (*stops[t.id], stops[t.id][0]), sites[t.post_office_id]
        plan = timing(depot, route, reference)
        offsets, back = tuple(a - reference for a in plan.arrivals), plan.back_at - reference
        breach = hours_breach(t.departs, list(zip(route, offsets)), depot, back)
        out.append(Line(t, route, offsets, back, plan.distance_km, breach))
    return out


def generate(session: Session, start: date, days: int, now: datetime, *, calendar: Calendar = DEFAULT_CALENDAR) -> Generated:
    """Create the runs of the working days among `days` days from `start`; idempotent. How many were created,
    and which runs were skipped because they would end outside working hours (each logged as a warning).

    Each day is written and committed on its own, so a scan batch waits at most for one day's runs; the
    parcels waiting for a run are placed once at the end, in a write of their own."""
    db.end_reading(session)  # read from a fresh snapshot, not one the caller's session opened earlier
    dates = calendar.working_days(start, days)
    templates = lines(session) if dates else []
    kept = [line for line in templates if line.breach is None]
    existing = set(session.execute(select(Run.template_id, Run.day).where(Run.day >= dates[0], Run.day <= dates[-1]))
                   .all()) if kept else set()
    db.end_reading(session)  # the reads end here: no transaction is held across the days
    skipped = [Skipped(line.template.name, line.template.departs, day, line.breach)
               for line in templates if line.breach is not None for day in dates]
    for line in templates:
        if line.breach is not None:
            log.warning("run template %s %s not generated on %d days: %s", line.template.name,
                        f"{line.template.departs:%H:%M}", len(dates), line.breach.describe())
    created = 0
    pending = [(day, missing) for day in dates
               if (missing := [line for line in kept if (line.template.id, day) not in existing and line.runs_on(day)])]
    while pending:
        created += generate_days(session, pending, now)
    if created:
        manifest_waiting(session, now)  # parcels that waited for a run to exist, in a write of its own
    return Generated(created, skipped)


def generate_days(session: Session, pending: list[tuple[date, Sequence[Line]]], now: datetime) -> int:
    """Whole days from the front of `pending` (taken off it), in one write that commits once it has held the
    lock for CHUNK_S: a scan batch waits for one chunk at most, and a month is not thirty commits."""
    created = 0
    with manifest_write(session):
        started = monotonic()
        while pending:
            day, candidates = pending.pop(0)
            created += generate_day(session, day, candidates, now)
            if monotonic() - started >= CHUNK_S:
                break
    return created


def generate_day(session: Session, day: date, candidates: Sequence[Line], now: datetime) -> int:
    """One day's runs of these lines, those still missing once the lock is held (the caller's write)."""
    present = set(session.execute(select(Run.template_id).where(Run.day == day)).scalars())
    created: list[tuple[Run, Line]] = []
    for line in candidates:
        if line.template.id in present:
            continue  # made meanwhile by another process
        run = Run(template_id=line.template.id, day=day, name=line.template.name, kind=line.template.kind,
                  state=RunState.PLANNED, post_office_id=line.template.post_office_id, created_at=now,
                  **line.timed(day))
        created.append((run, line))
    session.add_all([run for run, _ in created])
    session.flush()
    rows = [row for run, line in created for row in line.stop_rows(run)]
    if rows:
        session.execute(insert(STOPS), rows)
    return len(created)
