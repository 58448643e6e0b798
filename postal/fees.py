"""The money a courier confirms on a `deliver` scan (evidence.collected): checked here, without the database,
so custody's rule and the collection records read it alike."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from models import Action, DeliveryKind, DeliveryRequest, DeliveryState, Dossier, Procedure
from models.collection import CollectionMethod, FeeCollection
from models.moved import Moved
from postal.errors import N_, Unprocessable

MAX_COLLECT_VND = 50_000_000  # no fee at the door comes near this; more is a typing slip


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


def from_evidence(raw: object) -> Received:
    """evidence.collected of a `deliver` scan: {"amount_vnd", "method", "reference"}."""
    if not isinstance(raw, dict):
        raise Unprocessable(field=N_("Số tiền đã thu"), detail=N_("một số nguyên đồng, từ 0 đến 50.000.000"))
    return parse_received(raw.get("amount_vnd"), raw.get("method"), raw.get("reference"))


def as_evidence(received: Received) -> dict:
    out: dict = {"amount_vnd": received.amount_vnd, "method": str(received.method)}
    if received.reference:
        out["reference"] = received.reference
    return out


@dataclass(frozen=True)
class AmountsDue:
    delivery_fee_vnd: int  # nothing when paid ahead at the counter or exempt
    procedure_fee_vnd: int  # the agency's fee, when it asks the post office to collect it

    @property
    def total_vnd(self) -> int:
        return self.delivery_fee_vnd + self.procedure_fee_vnd


def amounts_due(session: Session, request: DeliveryRequest) -> AmountsDue:
    """What the courier collects at the door for one request."""
    delivery = delivery_fee_due(request)
    dossier = session.get(Dossier, request.dossier_id)
    fee = session.exec(select(Procedure.collect_fee_vnd).where(
        Procedure.name == dossier.procedure, Procedure.agency_id == dossier.agency_id,
        Procedure.collect_fee_vnd.is_not(None))).first() if dossier else None
    return AmountsDue(delivery_fee_vnd=delivery, procedure_fee_vnd=fee or 0)


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


def on_delivered(session: Session, moved: Moved) -> None:
    """After a batch of scans, in its transaction: each door delivery confirming evidence.collected (checked
    by custody's rule) gets its collection row, against what its request owed."""
    dossier_of = {p.id: p.dossier_id for p in moved.parcels}
    for row in moved.events:
        if row["action"] != Action.DELIVER or not row.get("evidence"):
            continue
        evidence = json.loads(row["evidence"])
        dossier_id = dossier_of.get(row["parcel_id"])
        if "collected" not in evidence or not evidence.get("otp_verified") or dossier_id is None:
            continue
        request = session.exec(select(DeliveryRequest).where(
            DeliveryRequest.dossier_id == dossier_id, DeliveryRequest.kind == DeliveryKind.DELIVER_RESULT,
            DeliveryRequest.state != DeliveryState.CANCELLED).order_by(DeliveryRequest.id.desc())).first()
        if request is None or session.exec(select(FeeCollection.id).where(FeeCollection.request_id == request.id)).first():
            continue
        record_collection(session, request, row["actor_id"], from_evidence(evidence["collected"]), row["device_at"])


def due_for(session: Session, pairs: list[tuple[DeliveryRequest, Dossier]]) -> dict[int, AmountsDue]:
    """amounts_due for a run's requests at once (one query for the procedures' fees), by request id."""
    names = {d.procedure for _, d in pairs}
    fees = {(name, agency): fee for name, agency, fee in session.exec(select(
        Procedure.name, Procedure.agency_id, Procedure.collect_fee_vnd).where(
        Procedure.name.in_(names or [""]), Procedure.collect_fee_vnd.is_not(None)))}
    return {r.id: AmountsDue(delivery_fee_vnd=delivery_fee_due(r),
                             procedure_fee_vnd=fees.get((d.procedure, d.agency_id)) or 0) for r, d in pairs}


def delivery_fee_due(request: DeliveryRequest) -> int:
    return 0 if request.fee_paid_at is not None or request.fee_exempt_reason else request.fee_vnd
