"""Fees at the door: what a courier collects on a home delivery, what was received, and the day's
reconciliation (what was received per request against what was due)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from models.collection import CollectionMethod, FeeCollection
from models.counter import Procedure
from models.delivery import DeliveryRequest, DeliveryState
from models.dossiers import Dossier
from postal.errors import N_, Unprocessable

MAX_COLLECT_VND = 50_000_000  # no fee at the door comes near this; more is a typing slip


@dataclass(frozen=True)
class AmountsDue:
    delivery_fee_vnd: int  # nothing when paid ahead at the counter or exempt
    procedure_fee_vnd: int  # the agency's fee, when it asks the post office to collect it

    @property
    def total_vnd(self) -> int:
        return self.delivery_fee_vnd + self.procedure_fee_vnd


def amounts_due(session: Session, request: DeliveryRequest) -> AmountsDue:
    """What the courier collects at the door for one request."""
    delivery = 0 if request.fee_paid_at is not None or request.fee_exempt_reason else request.fee_vnd
    dossier = session.get(Dossier, request.dossier_id)
    fee = session.exec(select(Procedure.collect_fee_vnd).where(
        Procedure.name == dossier.procedure, Procedure.agency_id == dossier.agency_id,
        Procedure.collect_fee_vnd.is_not(None))).first() if dossier else None
    return AmountsDue(delivery_fee_vnd=delivery, procedure_fee_vnd=fee or 0)


@dataclass(frozen=True)
class Received:
    amount_vnd: int
    method: CollectionMethod
    reference: str | None


def parse_received(amount: object, method: object, reference: object) -> Received:
    """The amount and method a courier confirms on the `deliver` scan, refused naming the field."""
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= MAX_COLLECT_VND:
        raise Unprocessable(field=N_("Số tiền đã thu"), detail=N_("một số nguyên đồng, từ 0 đến 50.000.000"))
    if method not in {m.value for m in CollectionMethod}:
        raise Unprocessable(field=N_("Hình thức thu"), detail=N_("tiền mặt hoặc chuyển khoản"))
    ref = reference.strip() if isinstance(reference, str) else None
    if method == CollectionMethod.TRANSFER and not ref:
        raise Unprocessable(field=N_("Mã giao dịch chuyển khoản"), detail=N_("bắt buộc khi thu bằng chuyển khoản"))
    if ref is not None and len(ref) > 60:
        raise Unprocessable(field=N_("Mã giao dịch chuyển khoản"), detail=N_("tối đa 60 ký tự"))
    return Received(amount_vnd=amount, method=CollectionMethod(method),
                    reference=ref if method == CollectionMethod.TRANSFER else None)


def record_collection(session: Session, request: DeliveryRequest, courier_id: int, received: Received,
                      at: datetime) -> FeeCollection:
    """Adds the collection row in the caller's transaction (the `deliver` scan's); never commits."""
    due = amounts_due(session, request)
    dossier = session.get(Dossier, request.dossier_id)
    row = FeeCollection(request_id=request.id, courier_id=courier_id, agency_id=dossier.agency_id,
                        delivery_fee_due_vnd=due.delivery_fee_vnd, procedure_fee_due_vnd=due.procedure_fee_vnd,
                        received_vnd=received.amount_vnd, method=received.method, reference=received.reference,
                        collected_at=at)
    session.add(row)
    return row


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
        FeeCollection.collected_at < end, DeliveryRequest.state == DeliveryState.DONE).order_by(
        FeeCollection.collected_at, FeeCollection.id)).all()
    return [ReconciliationLine(request_id=c.request_id, dossier_code=code,
                               due_vnd=c.delivery_fee_due_vnd + c.procedure_fee_due_vnd,
                               received_vnd=c.received_vnd, method=c.method, reference=c.reference)
            for c, code in rows]
