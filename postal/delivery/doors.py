"""The courier at the door, on a screen: a delivery run's doors as the courier's page shows them, and the three
things done at a door (take it out, deliver it, say nobody took it), each one scan through custody built here
from what the page sent. The scan's id comes with the form, so a form sent twice is one scan."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlmodel import Session

from models import Action, CustodyEvent, DeliveryKind, DeliveryRequest, DeliveryStop, Dossier, Parcel, ParcelState
from models import Role, Run, RunKind, Site, User
from models.collection import FeeCollection
from models.delivery import DeliveryState
from postal import dossiers, fees
from postal.clock import as_utc
from postal.config import Settings
from postal.custody import Outcome, record_scans
from postal.delivery.runs import delivery_run
from postal.documents.delivery_receipt import DeliveryReceipt, render_delivery_receipt
from postal.delivery.wards import ward_of
from postal.errors import N_, Forbidden, NotFound, Phrase, PostalError, Unprocessable
from postal.runs.common import reload

FAIL_REASONS = {  # why nobody took the result: the courier picks one, the note says more
    "absent": N_("Không có người nhận ở nhà"),
    "unreachable": N_("Gọi điện không liên lạc được"),
    "wrong_address": N_("Sai hoặc không tìm thấy địa chỉ"),
    "refused": N_("Người dân từ chối nhận"),
    "later": N_("Người dân hẹn giao lại hôm khác"),
    "other": N_("Lý do khác"),
}
WAITING, OUT, DELIVERED, FAILED = "waiting", "out", "delivered", "failed"
MAX_NOTE = 500
MAX_NAME = 120
# What each form field is called on the page, for the refusals fees.parse_received names by that name.
FEE_INPUTS = {"Số tiền đã thu": "amount", "Hình thức thu": "method", "Mã giao dịch chuyển khoản": "reference"}
OTP_CODES = frozenset({"wrong_otp", "otp_locked", "otp_required", "proof_locked"})


class DoorRefused(Unprocessable):
    """A field of a door's form, refused; `input` names the form field the page shows it beside."""


def refuse(field: str, detail: str, input: str, **params: object) -> DoorRefused:
    return DoorRefused(field=Phrase(field), detail=Phrase(detail, **params), input=input)


@dataclass(frozen=True)
class Door:
    """One door of a delivery run as the courier's page shows it."""

    seq: int
    request_id: int
    kind: str  # deliver_result (the forms are for these) | pickup_dossier
    dossier: str
    procedure: str
    parcel: str | None
    recipient: str
    phone: str  # in full for those who handle the delivery, masked for others
    masked_phone: str
    address: str
    slot: str
    planned_at: datetime
    delivery_fee_vnd: int
    procedure_fee_vnd: int
    state: str  # waiting | out | delivered | failed

    @property
    def total_vnd(self) -> int:
        return self.delivery_fee_vnd + self.procedure_fee_vnd


@dataclass(frozen=True)
class Doors:
    run_id: int
    post_office: str
    day: date
    period: str
    mine: bool  # the viewer is the run's courier: the forms are theirs
    doors: tuple[Door, ...]


def door_state(parcel: Parcel | None, last_action: str | None, request_state: str) -> str:
    if request_state == DeliveryState.DONE or (parcel is not None and parcel.state == ParcelState.DELIVERED):
        return DELIVERED
    if last_action == Action.ATTEMPT_FAILED:
        return FAILED
    if parcel is not None and parcel.state == ParcelState.OUT_FOR_DELIVERY:
        return OUT
    return WAITING


def run_doors(session: Session, run_id: int, *, viewer: User) -> Doors:
    """A delivery run's doors in order with what to collect and where each stands; scoped as the API's list."""
    listed = delivery_run(session, run_id, viewer=viewer)
    codes = [s.parcel for s in listed.stops if s.parcel]
    parcels = {p.code: p for p in session.execute(select(Parcel).where(Parcel.code.in_(codes or [""]))
                                                  .execution_options(populate_existing=True)).scalars()}
    last = dict(session.execute(select(CustodyEvent.parcel_id, CustodyEvent.action).where(
        CustodyEvent.seq.in_(select(func.max(CustodyEvent.seq)).where(
            CustodyEvent.parcel_id.in_([p.id for p in parcels.values()] or [-1])).group_by(CustodyEvent.parcel_id)))
    ).all())
    procedures = dict(session.execute(select(Dossier.code, Dossier.procedure).where(
        Dossier.code.in_([s.dossier for s in listed.stops] or [""]))).all())
    doors = []
    for s in listed.stops:
        parcel = parcels.get(s.parcel or "")
        ward = ward_of(s.ward.code)
        place = ", ".join(p for p in (s.street, ward.name if ward else s.ward.name, s.ward.province) if p)
        doors.append(Door(
            seq=s.seq, request_id=s.request, kind=s.kind, dossier=s.dossier, procedure=procedures.get(s.dossier, ""),
            parcel=s.parcel, recipient=s.recipient, phone=s.phone, masked_phone=dossiers.mask_phone(s.phone),
            address=place, slot=s.slot, planned_at=s.planned_at, delivery_fee_vnd=s.to_collect.delivery_fee_vnd,
            procedure_fee_vnd=s.to_collect.procedure_fee_vnd,
            state=door_state(parcel, last.get(parcel.id) if parcel else None, s.state)))
    run = reload(session, run_id)
    return Doors(run_id=listed.run, post_office=listed.post_office, day=listed.date, period=listed.period,
                 mine=viewer.role == Role.COURIER and run.courier_id == viewer.id, doors=tuple(doors))


@dataclass(frozen=True)
class AtDoor:
    """The run, the request and the result's parcel one door's form is about."""

    run: Run
    request: DeliveryRequest
    parcel: Parcel


def find_door(session: Session, run_id: int, code: str) -> AtDoor:
    """The door of this run whose result is the parcel `code`; 404 when the run has no such door."""
    run = reload(session, run_id)
    if run.kind != RunKind.DELIVERY:
        raise NotFound(what=Phrase(N_("chuyến phát tận nhà")), code=run_id)
    found = session.execute(
        select(DeliveryRequest, Parcel).join(DeliveryStop, DeliveryStop.request_id == DeliveryRequest.id)
        .join(Parcel, Parcel.dossier_id == DeliveryRequest.dossier_id)
        .where(DeliveryStop.run_id == run.id, Parcel.code == code.strip().upper(),
               DeliveryRequest.kind == DeliveryKind.DELIVER_RESULT)
        .execution_options(populate_existing=True)).first()
    if found is None:
        raise NotFound(what=Phrase(N_("điểm giao của bì")), code=code)
    return AtDoor(run, *found)


def courier_door(session: Session, run_id: int, code: str, actor: User) -> AtDoor:
    """A door the actor may act at: on their own delivery run (the run's courier, as the scan rules ask)."""
    door = find_door(session, run_id, code)
    if actor.role != Role.COURIER or door.run.courier_id != actor.id:
        raise Forbidden(role=actor.role)
    return door


def scan_at_door(session: Session, door: AtDoor, action: Action, scan_id: str, *, actor: User, settings: Settings,
                 now: datetime, note: str = "", evidence: dict | None = None) -> Outcome:
    """One scan of the door's parcel on its run, as the scan API would take it; a refusal is raised."""
    try:
        key = str(uuid.UUID(scan_id))
    except ValueError:
        raise Unprocessable(field=Phrase(N_("mã lần quét")), detail=Phrase(N_("tải lại trang rồi gửi lại"))) from None
    scan: dict = {"id": key, "label": door.parcel.code, "action": str(action), "run": door.run.id,
                  "at": as_utc(now).isoformat(), "note": note}
    if evidence is not None:
        scan["evidence"] = evidence
    [outcome] = record_scans(session, [scan], actor=actor, settings=settings, now=now)
    if outcome.error is not None:
        raise outcome.error
    return outcome


def start_door(session: Session, run_id: int, code: str, scan_id: str, *, actor: User, settings: Settings,
               now: datetime) -> str:
    """Out for delivery (the citizen is sent the code by SMS); the phone it went to, masked."""
    door = courier_door(session, run_id, code, actor)
    scan_at_door(session, door, Action.OUT_FOR_DELIVERY, scan_id, actor=actor, settings=settings, now=now)
    return dossiers.mask_phone(door.request.phone)


@dataclass(frozen=True)
class Handing:
    """What the courier typed at the door: the citizen's code, who took it, what was received."""

    otp: str
    recipient: str
    amount: str
    method: str
    reference: str
    different: bool = False  # the courier confirms an amount other than what was due


def amount_of(typed: str) -> int:
    """26.000 or 26000 (dots, commas and spaces as thousands) → 26000; refused naming the field."""
    digits = typed.strip().replace(".", "").replace(",", "").replace(" ", "").removesuffix("đ")
    if not digits.isdigit() or len(digits) > 9:
        raise refuse(N_("Số tiền đã thu"), N_("một số nguyên đồng, từ 0 đến 50.000.000"), "amount")
    return int(digits)


def received_of(handing: Handing, due: int) -> fees.Received:
    """The amount and method, checked as custody checks them, and against what was due."""
    try:
        received = fees.parse_received(amount_of(handing.amount), handing.method, handing.reference)
    except DoorRefused:
        raise
    except Unprocessable as err:
        raise refuse(err.params["field"], err.params["detail"], FEE_INPUTS.get(err.params["field"], "amount")) from None
    if received.amount_vnd != due and not handing.different:
        raise refuse(N_("Số tiền đã thu"), N_("khác số phải thu (%(due)s đ): sửa lại, hoặc đánh dấu “Thu khác số phải "
                                              "thu” nếu đúng là vậy"), "amount", due=f"{due:,}".replace(",", "."))
    return received


def deliver_door(session: Session, run_id: int, code: str, handing: Handing, scan_id: str, *, actor: User,
                 settings: Settings, now: datetime) -> Outcome:
    """Delivered at the door: the citizen's code, the recipient's name and what was collected, in one scan."""
    door = courier_door(session, run_id, code, actor)
    otp, name = handing.otp.strip(), " ".join(handing.recipient.split())
    if not (otp.isdigit() and len(otp) == 6):
        raise refuse(N_("Mã OTP"), N_("6 chữ số trong tin nhắn gửi người dân"), "otp")
    if not name or len(name) > MAX_NAME:
        raise refuse(N_("Họ tên người nhận"), N_("bắt buộc, tối đa 120 ký tự"), "recipient")
    received = received_of(handing, fees.amounts_due(session, door.request).total_vnd)
    evidence = {"otp": otp, "recipient_name": name, "collected": fees.as_evidence(received)}
    return scan_at_door(session, door, Action.DELIVER, scan_id, actor=actor, settings=settings, now=now,
                        evidence=evidence)


def fail_door(session: Session, run_id: int, code: str, reason: str, note: str, scan_id: str, *, actor: User,
              settings: Settings, now: datetime) -> Outcome:
    """Nobody took it: a reason from the list and the courier's note, as the attempt_failed scan's note."""
    door = courier_door(session, run_id, code, actor)
    if reason not in FAIL_REASONS:
        raise refuse(N_("Lý do"), N_("chọn một lý do trong danh sách"), "reason")
    note = " ".join(note.split())
    if len(note) > MAX_NOTE:
        raise refuse(N_("Ghi chú"), N_("tối đa 500 ký tự"), "note")
    if reason == "other" and not note:
        raise refuse(N_("Ghi chú"), N_("bắt buộc khi chọn “Lý do khác”"), "note")
    text = FAIL_REASONS[reason] + (f": {note}" if note else "")
    return scan_at_door(session, door, Action.ATTEMPT_FAILED, scan_id, actor=actor, settings=settings, now=now,
                        note=text)


def input_of(err: PostalError) -> str | None:
    """The form field a refusal belongs beside, or None for one about the door as a whole."""
    if isinstance(err, DoorRefused):
        return str(err.params["input"])
    return "otp" if err.code in OTP_CODES else None


@dataclass(frozen=True)
class Handed:
    """What a delivery at the door recorded: for its receipt."""

    post_office: str
    dossier: str
    procedure: str
    parcel: str
    recipient: str
    at: datetime
    courier: str
    collection: FeeCollection | None


def handed(session: Session, run_id: int, code: str, *, viewer: User) -> Handed:
    """The delivery made at this door (404 before it is made); read by whoever may read the run's doors."""
    delivery_run(session, run_id, viewer=viewer)  # the scope of the doors page: raises for others
    door = find_door(session, run_id, code)
    event = session.execute(select(CustodyEvent).where(
        CustodyEvent.parcel_id == door.parcel.id, CustodyEvent.action == Action.DELIVER)).scalars().first()
    if event is None:
        raise NotFound(what=Phrase(N_("biên nhận giao của bì")), code=door.parcel.code)
    courier = session.get(User, event.actor_id) if event.actor_id else None
    dossier = session.get(Dossier, door.request.dossier_id)
    collected = session.execute(select(FeeCollection).where(FeeCollection.request_id == door.request.id)).scalars().first()
    office = session.get(Site, door.run.post_office_id)
    return Handed(post_office=office.name if office else "", dossier=dossier.code, procedure=dossier.procedure, parcel=door.parcel.code,
                  recipient=json.loads(event.evidence or "{}").get("recipient_name", ""), at=as_utc(event.device_at),
                  courier=(courier.full_name or courier.username) if courier else "", collection=collected)


def receipt_pdf(session: Session, run_id: int, code: str, *, viewer: User, settings: Settings) -> bytes:
    """The receipt of a delivery made at this door (A5); reading it changes nothing."""
    made = handed(session, run_id, code, viewer=viewer)
    paid = made.collection
    return render_delivery_receipt(DeliveryReceipt(
        post_office=made.post_office, dossier_code=made.dossier, parcel_code=made.parcel, procedure=made.procedure,
        recipient=made.recipient, delivered_at=made.at, courier=made.courier,
        delivery_fee_vnd=paid.delivery_fee_due_vnd if paid else 0,
        procedure_fee_vnd=paid.procedure_fee_due_vnd if paid else 0, received_vnd=paid.received_vnd if paid else 0,
        method=paid.method if paid and paid.received_vnd else None, reference=paid.reference if paid else None,
    ), font_dir=settings.font_dir)
