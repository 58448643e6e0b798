"""Run templates (lines): saved by admins, each a loop from its post office that keeps the sites' working hours."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models import (
    RunKind,
    RunTemplate,
    RunTemplateStop,
    Site,
    SiteKind,
    User,
)
from models.runs import (
    EVERY_WORKING_DAY,
    RunTemplateIn,
    RunTemplateOut,
    RunTemplatesOut,
)
from postal import changes, db, scope
from postal.accounts import Actor
from postal.clock import LOCAL_TZ
from postal.errors import (
    N_,
    OutsideWorkingHours,
    Phrase,
    RunTemplateExists,
    Unprocessable,
)
from postal.replays import fingerprint
from postal.runs.common import HUB_KINDS
from postal.runs.manifests import forget_network
from postal.runs.planning import HOURS_REFERENCE_DAY, hours_breach, timing


def create_template(session: Session, data: RunTemplateIn, *, actor: User | Actor, now: datetime) -> tuple[RunTemplateOut, bool]:
    """Create a run template (admins only); the same body again answers the same template."""
    scope.check_admin(actor)
    name, departs = data.name.strip(), time.fromisoformat(data.departs)
    request_hash = body_hash(data)
    try:
        with db.writing(session):
            existing = session.execute(select(RunTemplate).where(RunTemplate.name == name, RunTemplate.departs == departs)).scalars().first()
            if existing is not None:
                if existing.request_hash != request_hash:
                    raise RunTemplateExists(name=name, departs=data.departs)
                return template_out(session, existing), False
            codes, sites, post_office = checked_route(session, data, departs)
            template = RunTemplate(name=name, kind=data.kind, departs=departs, post_office_id=post_office.id,
                                   weekdays=weekday_text(data.weekdays), request_hash=request_hash,
                                   created_by_id=actor.id, created_at=now)
            session.add(template)
            session.flush()
            session.add_all([RunTemplateStop(template_id=template.id, seq=i, site_id=sites[c].id) for i, c in enumerate(codes, 1)])
            created = template_out(session, template)
            changes.record(session, actor, "run_template", template.id, "created", after=template_fields(created), at=now)
    except IntegrityError:  # created a moment ago by another request: its answer, in a unit of work of its own
        return create_template(session, data, actor=actor, now=now)
    forget_network(session)  # this process places parcels on the new links at once
    return created, True


def body_hash(data: RunTemplateIn) -> str:
    """The fingerprint of a template's body; one naming every working day hashes as before weekdays existed,
    so that a client replaying its first request still gets its template back."""
    every_day = tuple(sorted(set(data.weekdays))) == EVERY_WORKING_DAY
    return fingerprint(data.model_dump(mode="json", exclude={"weekdays"} if every_day else None))


def weekday_text(weekdays: Sequence[int]) -> str:
    return "".join(str(d) for d in sorted(set(weekdays)))


def template_fields(out: RunTemplateOut) -> dict:
    """A template as the audit log keeps it."""
    return {"name": out.name, "departs": out.departs, "kind": out.kind, "post_office": out.post_office,
            "stops": out.stops, "weekdays": out.weekdays, "active": out.active}


def checked_route(session: Session, data: RunTemplateIn, departs: time) -> tuple[list[str], dict[str, Site], Site]:
    """A template's stops and post office as sites, refused when one is unknown or out of use, when the line
    does not start at a center, or when its times fall outside the sites' working hours."""
    codes = [c.strip().upper() for c in data.stops]
    if len(set(codes)) != len(codes):
        raise Unprocessable(field="stops", detail=Phrase(N_("mỗi điểm chỉ nêu một lần")))
    sites = {s.code: s for s in session.execute(select(Site).where(Site.code.in_([*codes, data.post_office.strip().upper()]))).scalars()}
    for code in codes:
        if code not in sites:
            raise Unprocessable(field="stops", detail=Phrase(N_("không có điểm mã %(code)s"), code=code))
        if not sites[code].active:
            raise Unprocessable(field="stops", detail=Phrase(N_("điểm %(code)s đã ngừng dùng"), code=code))
    post_office = sites.get(data.post_office.strip().upper())
    if post_office is None or post_office.kind != SiteKind.POST_OFFICE:
        raise Unprocessable(field="post_office", detail=Phrase(N_("%(code)s không phải bưu điện"), code=data.post_office))
    if data.kind == RunKind.SHUTTLE and sites[codes[0]].kind not in HUB_KINDS:
        raise Unprocessable(field="stops", detail=Phrase(N_("điểm đầu tiên phải là trung tâm phục vụ hành chính công")))
    if data.kind == RunKind.SHUTTLE:
        route = [sites[c] for c in codes]
        check_hours(departs, (*route, route[0]), post_office)
    return codes, sites, post_office


def check_hours(departs: time, route: Sequence[Site], depot: Site) -> None:
    """A line keeps the sites' working hours: every planned arrival within its stop's hours, and the courier
    back at the post office before it closes (a run planned to return at 22:08 is refused when saved)."""
    start = datetime.combine(HOURS_REFERENCE_DAY, departs, tzinfo=LOCAL_TZ)
    plan = timing(depot, route, start)
    breach = hours_breach(departs, [(site, at - start) for site, at in zip(route, plan.arrivals)], depot, plan.back_at - start)
    if breach is not None:
        site = breach.site
        raise OutsideWorkingHours(departs=f"{departs:%H:%M}", what=Phrase(N_("về") if breach.returning else N_("đến")),
                                  at=f"{breach.at:%H:%M}", site=site.name,
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
                       post_office=codes[t.post_office_id], stops=stops[t.id], weekdays=[int(d) for d in t.weekdays],
                       active=t.active)
        for t in templates
    ])


def list_templates(session: Session) -> RunTemplatesOut:
    """Every run template, by line and departure."""
    templates = session.execute(select(RunTemplate).order_by(RunTemplate.name, RunTemplate.departs)).scalars().all()
    return templates_out(session, templates)
