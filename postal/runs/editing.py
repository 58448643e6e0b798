"""Editing a template: it applies from the first day not yet generated; the runs already made are never changed
by the edit itself. The admin sees them, and may have those not yet under way made anew (or removed, when the
template no longer runs that day); a run with scans, started, closed or frozen at its cutoff is kept as it is."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models import CustodyEvent, Run, RunState, RunTemplate, RunTemplateStop, User
from models.runs import AffectedRunOut, RegeneratedOut, RunTemplateChangeOut, RunTemplateIn
from postal import changes, db, scope
from postal.accounts import Actor
from postal.clock import local
from postal.errors import N_, NotFound, Phrase, RunTemplateExists, Unprocessable
from postal.runs.common import ENTRIES, MAX_ID, RUNS, STOPS, manifest_write
from postal.runs.generation import lines
from postal.runs.manifests import forget_network, manifest_parcels
from postal.runs.templates import body_hash, checked_route, template_fields, template_out, weekday_text


def template_named(session: Session, template_id: int) -> RunTemplate:
    template = session.get(RunTemplate, template_id) if 0 < template_id <= MAX_ID else None
    if template is None:
        raise NotFound(what=Phrase(N_("mẫu chuyến")), code=template_id)
    return template


def only_admins(actor: User | Actor) -> None:
    scope.check_admin(actor)


def edit_template(session: Session, template_id: int, data: RunTemplateIn, *, actor: User | Actor,
                  now: datetime) -> RunTemplateChangeOut:
    """Change a template's name, departure, stops, post office or weekdays (not its kind)."""
    only_admins(actor)
    name, departs = data.name.strip(), time.fromisoformat(data.departs)
    try:
        with db.writing(session):
            template = template_named(session, template_id)
            if data.kind != template.kind:
                raise Unprocessable(field="kind", detail=Phrase(N_("không đổi được loại chuyến của một mẫu đã có")))
            clash = session.execute(select(RunTemplate.id).where(RunTemplate.name == name, RunTemplate.departs == departs,
                                                                 RunTemplate.id != template.id)).first()
            if clash:
                raise RunTemplateExists(name=name, departs=data.departs)
            before = template_fields(template_out(session, template))
            codes, sites, post_office = checked_route(session, data, departs)
            template.name, template.departs, template.post_office_id = name, departs, post_office.id
            template.weekdays, template.request_hash = weekday_text(data.weekdays), body_hash(data)
            session.add(template)
            session.execute(delete(RunTemplateStop).where(RunTemplateStop.template_id == template.id))
            session.add_all([RunTemplateStop(template_id=template.id, seq=i, site_id=sites[c].id)
                             for i, c in enumerate(codes, 1)])
            session.flush()
            old, new = changes.differences(before, template_fields(template_out(session, template)))
            if new:
                changes.record(session, actor, "run_template", template.id, "edited", before=old, after=new, at=now)
    except IntegrityError:  # another template took that name and time a moment ago
        raise RunTemplateExists(name=name, departs=data.departs) from None
    forget_network(session)
    return template_change(session, template_id, now, viewer=actor)


def set_active(session: Session, template_id: int, active: bool, *, actor: User | Actor,
               now: datetime) -> RunTemplateChangeOut:
    """Stop generating a template's runs from the first day not yet generated (or start again)."""
    only_admins(actor)
    with db.writing(session):
        template = template_named(session, template_id)
        if template.active != active:
            template.active = active
            session.add(template)
            changes.record(session, actor, "run_template", template.id, "reactivated" if active else "deactivated",
                           before={"active": not active}, after={"active": active}, at=now)
    forget_network(session)
    return template_change(session, template_id, now, viewer=actor)


def template_change(session: Session, template_id: int, now: datetime, *, viewer: User | Actor) -> RunTemplateChangeOut:
    """A template, the first day it applies to, and its runs already made from today on that the viewer may read
    (everyone reads the network's templates; a run only those its scope lets)."""
    db.end_reading(session)
    template = template_named(session, template_id)
    today = local(now).date()
    last = session.execute(select(func.max(Run.day)).where(Run.template_id == template.id)).scalar_one()
    effective = max(today, last + timedelta(days=1)) if last else today
    return RunTemplateChangeOut(run_template=template_out(session, template), effective_from=effective,
                                affected=affected_runs(session, template.id, today, now, viewer))


def affected_runs(session: Session, template_id: int, today: date, now: datetime,
                  viewer: User | Actor) -> list[AffectedRunOut]:
    """The template's runs from today on the viewer may read, each with whether it may be made anew and, if not,
    why."""
    scans = (select(func.count()).select_from(CustodyEvent).where(CustodyEvent.run_id == Run.id)
             .correlate(Run).scalar_subquery())
    found = session.execute(select(Run, scans).where(Run.template_id == template_id, Run.day >= today)
                            .order_by(Run.day, Run.departs_at)).all()
    readable = scope.run_views(session, viewer, [run for run, _ in found])
    return [affected(run, count, now) for run, count in found if run.id in readable]


def affected(run: Run, scans: int, now: datetime) -> AffectedRunOut:
    why = ("closed" if run.state == RunState.CLOSED else "started" if run.state != RunState.PLANNED
           else "scanned" if scans else "frozen" if run.frozen_at is not None or run.cutoff_at <= now else None)
    return AffectedRunOut(id=run.id, date=run.day, departs_at=run.departs_at, state=run.state, scans=scans,
                          regenerable=why is None, kept_because=why)


def regenerate(session: Session, template_id: int, *, actor: User | Actor, now: datetime) -> RegeneratedOut:
    """Make anew, from the template as it is now, its runs from today on that are not under way; remove those
    on days it no longer runs; keep the rest as they are. Parcels go back on the earliest open run."""
    only_admins(actor)
    change = template_change(session, template_id, now, viewer=actor)
    made, removed, kept = [], [], []
    with manifest_write(session):
        template = template_named(session, template_id)
        [line] = lines(session, template.id) or [None]
        for run_out in change.affected:
            run = session.get(Run, run_out.id, populate_existing=True, with_for_update=not db.is_sqlite(session))
            fresh = affected(run, run_out.scans, now)  # judged again under the lock: a scan may have come since
            if not fresh.regenerable:
                kept.append(fresh)
            elif line is not None and line.breach is None and line.runs_on(run.day):
                remake(session, run, line)
                made.append(affected(run, 0, now))
            else:
                drop(session, run)
                removed.append(fresh)
        manifest_parcels(session, None, now)
        changes.record(session, actor, "run_template", template.id, "regenerated", at=now, after={
            "regenerated": [f"{r.date:%d/%m/%Y}" for r in made], "removed": [f"{r.date:%d/%m/%Y}" for r in removed],
            "kept": [f"{r.date:%d/%m/%Y} ({r.kept_because})" for r in kept]})
    return RegeneratedOut(run_template=change.run_template, regenerated=made, removed=removed, kept=kept)


def remake(session: Session, run: Run, line) -> None:
    """A run's times and stops made again from its line, its manifest emptied (the parcels are placed again)."""
    session.execute(delete(ENTRIES).where(ENTRIES.c.run_id == run.id))
    session.execute(delete(STOPS).where(STOPS.c.run_id == run.id))
    values = {"name": line.template.name, "post_office_id": line.template.post_office_id, **line.timed(run.day)}
    session.execute(update(RUNS).where(RUNS.c.id == run.id).values(**values))
    for key, value in values.items():
        setattr(run, key, value)
    session.execute(STOPS.insert(), line.stop_rows(run))


def drop(session: Session, run: Run) -> None:
    session.execute(delete(ENTRIES).where(ENTRIES.c.run_id == run.id))
    session.execute(delete(STOPS).where(STOPS.c.run_id == run.id))
    session.execute(delete(RUNS).where(RUNS.c.id == run.id))
    session.expunge(run)
