"""Who may read or write what: every object's scope by the actor's role and site, in one place.

- A dossier (and its parcels): overseers everything; postal clerks when it was received at, goes to, is at or
  passed through their site; agency clerks when their agency decides it or one of its parcels is addressed to
  or held at their agency; couriers while they hold one of its parcels or it is on a run of theirs not closed.
- Registering a dossier: from the clerk's own site, for an agency the site's shuttle lines lead to (when both are
  on lines); a new parcel of a dossier: from the clerk's own site, of a dossier they see.
- A run and its manifest: in full to overseers, its courier, the couriers and postal clerks of its post office;
  to a clerk of a site it stops at, only the parcels picked or dropped there; to no one else.
- Delivery runs and requests: the post office that serves them (and the center that received the dossier);
  the counter's acts on a request (cancel, fee paid, exemption): postal desk staff of those sites, overseers.
- The counter: a postal clerk (or supervisor) at their own center, commune center or post office; a dossier's
  receipt (it prints the applicant's contact) and its bookings: postal desk staff who may see the dossier; a
  label and its reprints: whoever sees the dossier; recording a reprint: those who register (not couriers).
- The network (run templates, sites): read by everyone; written by admins alone (and from the command line).
- Alerts: only those about a subject the reader may see (gateway faults: overseers).

Domain functions call these checks; routes only name the roles that may call at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, false, or_, select, union
from sqlmodel import Session

from models import (
    Alert,
    Bag,
    CustodyEvent,
    DeliveryRequest,
    DeliveryStop,
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
from models.enums import CLERKS, COUNTER_STAFF, OFFICE_STAFF, OVERSEERS, POSTAL_DESK, REGISTRARS
from postal.changes import Shell
from postal.errors import Forbidden, SiteForbidden

WITH_COURIER = (ParcelState.IN_TRANSIT, ParcelState.OUT_FOR_DELIVERY)
RECEIVING_KINDS = {SiteKind.CENTER, SiteKind.COMMUNE_CENTER, SiteKind.POST_OFFICE}  # sites with a counter


def forbidden(session: Session, actor, *site_ids: int | None) -> SiteForbidden:
    """403 naming where the object belongs (never what it holds)."""
    names = [s.name for i in site_ids if i is not None and (s := session.get(Site, i)) is not None]
    return SiteForbidden(user=actor.username, site=", ".join(dict.fromkeys(names)) or "—")


# -- dossiers and parcels ------------------------------------------------------------------------------------


def sees_dossier(session: Session, actor, dossier: Dossier, parcels: list[Parcel]) -> bool:
    """Whether the actor may read this dossier, its parcels, labels, papers and alerts."""
    if actor.role in OVERSEERS:
        return True
    site = actor.site_id
    if actor.role == Role.COURIER:
        if any(p.holder_user_id == actor.id and p.state in WITH_COURIER for p in parcels):
            return True
        return carried_on_their_run(session, actor, dossier, parcels)
    if site is None:
        return False
    if actor.role == Role.AGENCY_CLERK:
        return site == dossier.agency_id or any(site in (p.destination_id, p.holder_site_id) for p in parcels)
    if actor.role == Role.POSTAL_CLERK:
        if site == dossier.center_id or any(site in (p.origin_id, p.destination_id, p.holder_site_id) for p in parcels):
            return True
        ids = [p.id for p in parcels]
        return bool(ids) and session.execute(select(CustodyEvent.seq).where(
            CustodyEvent.parcel_id.in_(ids), CustodyEvent.site_id == site).limit(1)).first() is not None
    return False


def carried_on_their_run(session: Session, actor, dossier: Dossier, parcels: list[Parcel]) -> bool:
    """A parcel of the dossier on the manifest of an open run of this courier, or its door on their delivery run."""
    mine = select(Run.id).where(Run.courier_id == actor.id, Run.state != RunState.CLOSED)
    ids = [p.id for p in parcels]
    if ids and session.execute(select(ManifestEntry.id).where(ManifestEntry.parcel_id.in_(ids),
                                                              ManifestEntry.run_id.in_(mine)).limit(1)).first():
        return True
    return session.execute(select(DeliveryStop.id).join(DeliveryRequest, DeliveryRequest.id == DeliveryStop.request_id)
                           .where(DeliveryRequest.dossier_id == dossier.id, DeliveryStop.run_id.in_(mine))
                           .limit(1)).first() is not None


def check_dossier(session: Session, actor, dossier: Dossier, parcels: list[Parcel]) -> None:
    """403 naming the dossier's center and agency unless the actor may see it."""
    if not sees_dossier(session, actor, dossier, parcels):
        raise forbidden(session, actor, dossier.center_id, dossier.agency_id)


def check_own_site(session: Session, actor, site: Site) -> None:
    """Clerks write only for their own site; overseers for any."""
    if actor.role not in OVERSEERS and actor.site_id != site.id:
        raise forbidden(session, actor, site.id)


def check_new_parcel(session: Session, actor, dossier: Dossier, parcels: list[Parcel], origin: Site) -> None:
    """A new parcel of a dossier (a result, a return): of a dossier the actor sees, from their own site."""
    check_dossier(session, actor, dossier, parcels)
    check_own_site(session, actor, origin)


def check_register(session: Session, actor, origin: Site, agency: Site) -> None:
    """A dossier is registered at the clerk's own site, for an agency that site's lines lead to."""
    if actor.role in OVERSEERS:
        return
    check_own_site(session, actor, origin)
    links = line_links(session)
    if origin.id in links and agency.id in links and agency.id not in reachable(links, origin.id):
        raise forbidden(session, actor, agency.id)


def line_links(session: Session) -> dict[int, set[int]]:
    """Which sites the active shuttle lines link directly: each line's hub with each of its stops, both ways."""
    links: dict[int, set[int]] = defaultdict(set)
    hubs: dict[int, int] = {}
    for template_id, stop in session.execute(
            select(RunTemplateStop.template_id, RunTemplateStop.site_id)
            .join(RunTemplate, RunTemplate.id == RunTemplateStop.template_id)
            .where(RunTemplate.active.is_(True), RunTemplate.kind == RunKind.SHUTTLE)
            .order_by(RunTemplateStop.template_id, RunTemplateStop.seq)):
        hub = hubs.setdefault(template_id, stop)
        if stop != hub:
            links[hub].add(stop)
            links[stop].add(hub)
    return links


def reachable(links: dict[int, set[int]], site_id: int) -> set[int]:
    """The sites the lines lead to from this one, through any number of hubs. (A site or an agency on no line
    yet is carried by couriers ad hoc: the rule then does not apply.)"""
    seen, todo = {site_id}, [site_id]
    while todo:
        for other in links.get(todo.pop(), set()) - seen:
            seen.add(other)
            todo.append(other)
    return seen


def check_counter_dossier(session: Session, actor, dossier: Dossier, parcels: list[Parcel]) -> None:
    """The counter's papers of a dossier (the receipt, its bookings): postal desk staff who may see it."""
    if actor.role not in POSTAL_DESK:
        raise Forbidden(role=actor.role)
    check_dossier(session, actor, dossier, parcels)


def check_label_print(session: Session, actor, dossier: Dossier, parcels: list[Parcel]) -> None:
    """Printing a label again: those who register dossiers (not couriers), of a dossier they see."""
    if actor.role not in REGISTRARS:
        raise Forbidden(role=actor.role)
    check_dossier(session, actor, dossier, parcels)


def counter_site(session: Session, actor) -> Site:
    """The site whose counter the actor works at: their own center, commune center or post office (postal desk
    staff with a site: clerks and supervisors; an admin, with no site, has no counter)."""
    site = session.get(Site, actor.site_id) if actor.site_id else None
    if actor.role not in COUNTER_STAFF or site is None or site.kind not in RECEIVING_KINDS:
        raise Forbidden(role=actor.role)
    return site


# -- the network -----------------------------------------------------------------------------------------------


def check_admin(actor) -> None:
    """Run templates and sites are written by admins alone; the command line (no account) and seeding (no
    one) are the machine's owner."""
    if actor is None or isinstance(actor, Shell):
        return
    if actor.role != Role.ADMIN:
        raise Forbidden(role=actor.role)


# -- runs and their manifests --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunView:
    """What of a run a reader sees: all of it, or the parcels picked or dropped at some of its stops' sites."""

    whole: bool
    sites: frozenset[int] = frozenset()

    def shows(self, site_id: int) -> bool:
        return self.whole or site_id in self.sites


WHOLE = RunView(True)


def run_view(session: Session, actor, run: Run) -> RunView | None:
    """The actor's view of a run, or None when they may not read it at all."""
    if actor.role in OVERSEERS or run.courier_id == actor.id:
        return WHOLE
    if actor.role in OFFICE_STAFF and actor.site_id == run.post_office_id:
        return WHOLE
    if actor.role in CLERKS and actor.site_id is not None:
        stops = set(session.execute(select(RunStop.site_id).where(RunStop.run_id == run.id)).scalars())
        if actor.site_id in stops and run.kind != RunKind.DELIVERY:
            return RunView(False, frozenset({actor.site_id}))
    return None


def check_run(session: Session, actor, run: Run) -> RunView:
    """The actor's view of the run; 403 naming its post office when they have none."""
    view = run_view(session, actor, run)
    if view is None:
        raise forbidden(session, actor, run.post_office_id)
    return view


def run_views(session: Session, actor, runs: Iterable[Run]) -> dict[int, RunView]:
    """The runs of a list the actor may read, each with its view (a query for all the stops)."""
    found = list(runs)
    if actor.role in OVERSEERS:
        return {r.id: WHOLE for r in found}
    at_stop: set[int] = set()
    if actor.site_id is not None and found:
        at_stop = set(session.execute(select(RunStop.run_id).where(
            RunStop.run_id.in_([r.id for r in found]), RunStop.site_id == actor.site_id)).scalars())
    views = {}
    for r in found:
        if r.courier_id == actor.id or (actor.role in OFFICE_STAFF and actor.site_id == r.post_office_id):
            views[r.id] = WHOLE
        elif actor.role in CLERKS and r.id in at_stop and r.kind != RunKind.DELIVERY:
            views[r.id] = RunView(False, frozenset({actor.site_id}))
    return views


def check_driver_of_office(session: Session, actor, run: Run) -> None:
    """A courier drives only his own runs and the unassigned ones of his own post office."""
    if actor.role == Role.COURIER and run.courier_id != actor.id and actor.site_id != run.post_office_id:
        raise forbidden(session, actor, run.post_office_id)


def serves(run: Run, courier: User) -> bool:
    """Whether a courier works for the post office the run leaves from."""
    return courier.site_id == run.post_office_id


# -- delivery requests ----------------------------------------------------------------------------------------


def check_delivery_request(session: Session, actor, request: DeliveryRequest) -> None:
    """A delivery request is handled by the post office serving it, or the counter that received the dossier."""
    if actor.role in OVERSEERS:
        return
    dossier = session.get(Dossier, request.dossier_id)
    if actor.site_id is None or actor.site_id not in (request.post_office_id, dossier.center_id):
        raise forbidden(session, actor, dossier.center_id, request.post_office_id)


def check_counter_request(session: Session, actor, request: DeliveryRequest) -> None:
    """The counter's acts on a request (cancel, fee paid, exemption): postal desk staff of the serving post office
    or of the dossier's center, overseers (not the couriers of that post office)."""
    if actor.role not in POSTAL_DESK:
        raise Forbidden(role=actor.role)
    check_delivery_request(session, actor, request)


def door_sites(actor, run: Run, view: RunView | None) -> RunView | None:
    """On a delivery run, the doors a postal clerk of a center sees: those of the dossiers their center received."""
    if view is not None or actor.role != Role.POSTAL_CLERK or actor.site_id is None:
        return view
    return RunView(False, frozenset({actor.site_id}))


# -- alerts ---------------------------------------------------------------------------------------------------


def fee_agencies(session: Session, actor, agency_code: str | None) -> list[Site]:
    """The agencies whose fee statement the actor may read: an overseer any (or the one named), an agency's clerk
    their own; nobody else (the post office reads its couriers' days, not an agency's money)."""
    if actor.role in OVERSEERS:
        query = select(Site).where(Site.kind == SiteKind.AGENCY).order_by(Site.code)
        if agency_code is not None:
            query = query.where(Site.code == agency_code)
        return list(session.execute(query).scalars())
    if actor.role == Role.AGENCY_CLERK and actor.site_id is not None:
        own = session.get(Site, actor.site_id)
        if agency_code is not None and own.code != agency_code:
            named = session.execute(select(Site.id).where(Site.code == agency_code)).scalar()
            raise forbidden(session, actor, named)
        return [own]
    raise Forbidden(role=actor.role)


def visible_dossiers(actor):
    """The ids of the dossiers a postal clerk may see, as a subquery (sees_dossier's rule, set-based)."""
    site = actor.site_id
    touching = select(Parcel.dossier_id).where(or_(Parcel.origin_id == site, Parcel.destination_id == site,
                                                   Parcel.holder_site_id == site))
    passed = (select(Parcel.dossier_id).join(CustodyEvent, CustodyEvent.parcel_id == Parcel.id)
              .where(CustodyEvent.site_id == site))
    return union(select(Dossier.id).where(Dossier.center_id == site), touching, passed).subquery()


def alert_filter(actor):
    """A condition on Alert: the alerts about subjects the reader may see; None for overseers (all)."""
    if actor.role in OVERSEERS:
        return None
    if actor.role != Role.POSTAL_CLERK or actor.site_id is None:
        return false()
    site = actor.site_id
    dossiers = select(visible_dossiers(actor).c[0])
    parcels = select(Parcel.id).where(Parcel.dossier_id.in_(dossiers))
    runs = union(select(Run.id).where(Run.post_office_id == site), select(RunStop.run_id).where(RunStop.site_id == site))
    bags = select(Bag.id).where(or_(Bag.site_id == site, Bag.holder_site_id == site))
    return or_(
        and_(Alert.subject_type == "parcel", Alert.subject_id.in_(parcels)),
        and_(Alert.subject_type == "dossier", Alert.subject_id.in_(dossiers)),
        and_(Alert.subject_type == "run", Alert.subject_id.in_(select(runs.subquery().c[0]))),
        and_(Alert.subject_type == "bag", Alert.subject_id.in_(bags)),
    )

