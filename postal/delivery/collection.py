"""Fees at the door: what a courier collects on a home delivery, what was received, and the day's
reconciliation (what was received per request against what was due)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, select

from models.collection import FeeCollection
from models.delivery import DeliveryRequest
from models.dossiers import Dossier
from postal.clock import LOCAL_TZ
from postal.fees import AmountsDue, Received, amounts_due, parse_received, record_collection

__all__ = ["AmountsDue", "Received", "amounts_due", "courier_day", "parse_received", "reconciliation", "record_collection"]


@dataclass(frozen=True)
class ReconciliationLine:
    request_id: int
    dossier_code: str
    due_vnd: int
    received_vnd: int
    method: str
    reference: str | None

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
                               received_vnd=c.received_vnd, method=c.method, reference=c.reference)
            for c, code in rows]


def courier_day(session: Session, courier_id: int, day: date) -> list[ReconciliationLine]:
    """A courier's reconciliation for one local (Vietnam) day."""
    start = datetime.combine(day, time(), LOCAL_TZ)
    return reconciliation(session, courier_id, start, start + timedelta(days=1))
