"""Redirecting a parcel: the only way to send it somewhere its label does not say, as an event of its own."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from models import Action, ParcelState, Role, Site, SiteKind
from models.dossiers import ParcelOut, RedirectIn
from models.enums import OVERSEERS
from postal import db, dossiers, ledger
from postal.config import Settings
from postal.custody.recording import Batch
from postal.errors import N_, Forbidden, NotFound, Phrase, RedirectNotAllowed, Unprocessable
from postal.runs import manifests

# What each kind of parcel may be readdressed to: a dossier goes to an agency, a result to where it is collected.
DESTINATION_KINDS = {
    "to_agency": {SiteKind.AGENCY},
    "to_center": {SiteKind.CENTER, SiteKind.COMMUNE_CENTER},
    "from_citizen": {SiteKind.CENTER, SiteKind.COMMUNE_CENTER},
    "to_citizen": {SiteKind.CENTER, SiteKind.COMMUNE_CENTER},  # the citizen collects it at the counter instead
}
HOME_CANCELLED = "người dân huỷ giao tận nhà"  # the ledger's note: its text is Vietnamese, as every note is
REDIRECT_UPDATE = "UPDATE parcel SET destination_id = ?, last_hash = ? WHERE id = ?"


def redirect(session: Session, code: str, data: RedirectIn, *, actor, settings: Settings, now: datetime) -> ParcelOut:
    """Give a parcel a new destination with a reason: a supervisor anywhere, or the clerk of the agency it is
    addressed to, passing it on to another agency. A correction event in the ledger; the label stays."""
    reason = data.reason.strip()
    if not reason:
        raise Unprocessable(field=Phrase(N_("lý do")), detail=Phrase(N_("cần ghi lý do đổi nơi nhận")))
    with db.writing(session):
        batch = Batch(session, actor, settings, now)
        code = code.strip().upper()
        batch.book.load({code})
        h = batch.book.parcels.get(code)
        if h is None:
            raise NotFound(what=Phrase(N_("bì hồ sơ")), code=code)
        target = batch.book.site_by_code(data.destination)
        if target is None:
            raise Unprocessable(field=Phrase(N_("nơi nhận mới")), detail=data.destination[:32])
        check_may_redirect(actor, h, target)
        readdress(batch, h, target, reason, evidence={})
    return dossiers.parcel_out(session, dossiers.get_parcel(session, code), settings)


def readdress(batch: Batch, h, target, reason: str, *, evidence: dict) -> None:
    """The correction event giving the parcel its new destination, written in the caller's unit of work; off the
    runs to the old destination, onto one to the new."""
    session, now = batch.session, batch.now
    before = batch.book.holder_text(h)
    old = batch.book.site(h.destination_id).code if h.destination_id is not None else ""
    h.destination_id = target.id
    batch.record(h, target, action=Action.REDIRECT, at=now, event_id=uuid.uuid4(), before=before, note=reason,
                 evidence={"from": old, "to": target.code, **evidence})
    batch.seal()
    ledger.write(session, batch.head, batch.rows)
    db.raw(session, REDIRECT_UPDATE, (target.id, h.last_hash, h.id))
    manifests.withdraw(session, [h.id], now)
    if h.state == ParcelState.AT_SITE:
        manifests.place(session, [h.id], now)


def collect_at_center(session: Session, code: str, *, request_id: int, actor, settings: Settings,
                      now: datetime) -> None:
    """The citizen no longer wants the result at home (their home delivery cancelled): its parcel, labelled for
    their door, is readdressed to the dossier's center where they collect it. A correction of the system's own,
    in the caller's unit of work, which has checked who may cancel; done by the clerk who cancelled, or by no
    one's account when the citizen cancelled with their code."""
    with db.writing(session):
        batch = Batch(session, actor, settings, now)
        batch.book.load({code})
        h = batch.book.parcels[code]
        if h.state == ParcelState.DELIVERED or h.destination_id is not None or h.center_id is None:
            return  # given already, or addressed to a site: nothing to readdress
        readdress(batch, h, batch.book.site(h.center_id), HOME_CANCELLED, evidence={"request": request_id})


def check_may_redirect(actor, h, target) -> None:
    if h.state == ParcelState.DELIVERED:
        raise RedirectNotAllowed(parcel=h.code, reason=Phrase(N_("bì đã giao cho người dân")))
    if target.id == h.destination_id:
        raise RedirectNotAllowed(parcel=h.code, reason=Phrase(N_("bì đã gửi %(site)s rồi"), site=target.name))
    if target.kind not in DESTINATION_KINDS.get(h.direction, set()):
        raise RedirectNotAllowed(parcel=h.code, reason=Phrase(N_("%(site)s không nhận loại bì này"), site=target.name))
    if actor.role in OVERSEERS:
        return
    transfer = (actor.role == Role.AGENCY_CLERK and h.destination_id is not None and actor.site_id == h.destination_id
                and target.kind == SiteKind.AGENCY)
    if not transfer:
        raise Forbidden(role=actor.role)


def targets(session: Session, code: str, *, actor) -> list[Site]:
    """Where this person may redirect the parcel to (none: no redirect for them), for the parcel page."""
    parcel = dossiers.get_parcel(session, code)
    kinds = DESTINATION_KINDS.get(parcel.direction, set())
    found = session.execute(select(Site).where(Site.kind.in_(kinds), Site.id != parcel.destination_id)
                            .order_by(Site.kind, Site.name)).scalars().all()
    allowed = []
    for site in found:
        try:
            check_may_redirect(actor, parcel, site)
        except (Forbidden, RedirectNotAllowed):
            continue
        allowed.append(site)
    return allowed
