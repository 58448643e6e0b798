"""Fees at the door: what a courier collects on a home delivery, what was received, and the day's
reconciliation (what was received per request against what was due)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, select

from models import Role, User
from models.collection import CollectionDayOut, CollectionLineOut, FeeCollection
from models.enums import OVERSEERS
from models.delivery import DeliveryRequest
from models.dossiers import Dossier
from postal import scope
from postal.clock import LOCAL_TZ, as_utc
from postal.errors import N_, Forbidden, NotFound, Phrase
from postal.fees import AmountsDue, Received, amounts_due, parse_received, record_collection

__all__ = ["AmountsDue", "Received", "amounts_due", "courier_day", "couriers_for", "day_of", "parse_received", "reconciliation", "record_collection"]


@dataclass(frozen=True)
class ReconciliationLine:
    request_id: int
    dossier_code: str
    due_vnd: int
    received_vnd: int
    method: str
    reference: str | None
    collected_at: datetime

    @property
    def difference_vnd(self) -> int:
        return self.received_vnd - self.due_vnd


def reconciliation(session: Session, courier_id: int, start: datetime, end: datetime) -> list[ReconciliationLine]:
    """A courier's collections in [start, end), each against what was due; a nonzero difference is flagged."""
    rows = session.exec(select(FeeCollection, Dossier.code).join(
        DeliveryRequest, DeliveryRequest.id == FeeCollection.request_id).join(
        Dossier, Dossier.id == DeliveryRequest.dossier_id).where(
        FeeCollection.courier_id == courier_id, FeeCollection.collected_at >= start,
        FeeCollection.collected_at < end).order_by(
        FeeCollection.collected_at, FeeCollection.id)).all()
    return [ReconciliationLine(request_id=c.request_id, dossier_code=code,
                               due_vnd=c.delivery_fee_due_vnd + c.procedure_fee_due_vnd,
                               received_vnd=c.received_vnd, method=c.method, reference=c.reference,
                               collected_at=as_utc(c.collected_at))
            for c, code in rows]


def courier_day(session: Session, courier_id: int, day: date) -> list[ReconciliationLine]:
    """A courier's reconciliation for one local (Vietnam) day."""
    start = datetime.combine(day, time(), LOCAL_TZ)
    return reconciliation(session, courier_id, start, start + timedelta(days=1))


def couriers_for(session: Session, viewer: User) -> list[User]:
    """The couriers whose day the viewer may read: their own (a courier), their post office's (a clerk), all
    (overseers)."""
    if viewer.role == Role.COURIER:
        return [viewer]
    if viewer.role not in OVERSEERS and viewer.role != Role.POSTAL_CLERK:
        return []
    query = select(User).where(User.role == Role.COURIER, User.active.is_(True)).order_by(User.username)
    if viewer.role not in OVERSEERS:
        query = query.where(User.site_id == viewer.site_id)
    return list(session.exec(query).all())


def readable_courier(session: Session, viewer: User, username: str | None) -> User:
    """The courier named (the viewer, when a courier names nobody; for the desk, the first courier it may read),
    if the viewer may read their day."""
    if viewer.role == Role.COURIER and username in (None, "", viewer.username):
        return viewer
    if viewer.role not in OVERSEERS and viewer.role != Role.POSTAL_CLERK:
        raise Forbidden(role=viewer.role)
    if not username and (first := couriers_for(session, viewer)):  # the desk names nobody: the first of theirs
        return first[0]
    courier = session.exec(select(User).where(User.username == (username or "").strip(),
                                              User.role == Role.COURIER)).first()
    if courier is None:
        raise NotFound(what=Phrase(N_("bưu tá")), code=username or "—")
    if viewer.role not in OVERSEERS and courier.site_id != viewer.site_id:
        raise scope.forbidden(session, viewer, courier.site_id)
    return courier


def day_of(session: Session, viewer: User, username: str | None, day: date) -> CollectionDayOut:
    """A courier's day of fees at the door, per request against what was due, with totals by method."""
    courier = readable_courier(session, viewer, username)
    lines = courier_day(session, courier.id, day)
    by_method: dict[str, int] = {}
    for ln in lines:
        by_method[ln.method] = by_method.get(ln.method, 0) + ln.received_vnd
    due, received = sum(ln.due_vnd for ln in lines), sum(ln.received_vnd for ln in lines)
    return CollectionDayOut(
        courier=courier.username, courier_name=courier.full_name or courier.username, day=day,
        lines=[CollectionLineOut(request=ln.request_id, dossier=ln.dossier_code, due_vnd=ln.due_vnd,
                                 received_vnd=ln.received_vnd, difference_vnd=ln.difference_vnd, method=ln.method,
                                 reference=ln.reference, collected_at=ln.collected_at) for ln in lines],
        due_vnd=due, received_vnd=received, difference_vnd=received - due, by_method=by_method)
