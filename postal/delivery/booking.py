"""A booking after it is taken: changed in place (slot, address), cancelled by the citizen (code + phone, then a
code sent by SMS) or by a clerk, until a courier has it out; and what is owed then.

Cancelling a home delivery puts the dossier's return back to the counter; the fee is then not due, or to refund
when it was paid ahead. The citizen's code follows the delivery code's idea (postal/custody/proof.py): only its
HMAC is kept, the SMS carries it sealed until sent, tries on one code and codes in an hour are limited.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models import DeliveryKind, DeliveryRequest, DeliveryState, DeliveryStop, Direction, Dossier, Parcel, \
    ParcelState, ReturnMethod, Run, RunState, User
from models.delivery import CancelCode, CancelCodeSentOut, DeliveryRequestIn, DeliveryRequestOut, FeeStatus
from models.enums import POSTAL_DESK
from models.outbox import Channel
from postal import custody, db, dossiers, scope, tracking, vault
from postal.clock import as_utc, local
from postal.config import Settings
from postal.delivery.form import InvalidField
from postal.delivery.geocoding import locate, remember
from postal.delivery.requests import OPEN, booking_text, fee_status, read_asked, request_out, serving_post_office
from postal.delivery.wards import fee_for, ward_of
from postal.errors import N_, Conflict, Forbidden, NotFound, Phrase, PostalError
from postal.notifications import queue
from postal.notifications.texts import booking_cancelled_text, cancel_code_text
from postal.runs.common import MAX_ID

CODE_LIFETIME = timedelta(minutes=10)
HOUR = timedelta(hours=1)
GONE = (ParcelState.OUT_FOR_DELIVERY, ParcelState.DELIVERED)  # the result is with the courier at the door, or given


class OutForDelivery(Conflict):
    code, message = "out_for_delivery", N_(
        "Yêu cầu số %(id)s không %(action)s được nữa: bưu tá đã mang đi lúc %(since)s. Xin gọi bưu điện nếu Ông/Bà "
        "không ở nhà.")


class BookingClosed(Conflict):
    code, message = "booking_closed", N_("Yêu cầu số %(id)s %(state)s: không %(action)s được nữa.")


class TooManyCodes(PostalError):
    status, code, message = 429, "too_many_codes", N_(
        "Đã gửi %(count)s mã xác nhận cho yêu cầu số %(id)s trong một giờ: hãy thử lại sau %(minutes)s phút, hoặc nhờ "
        "quầy tiếp nhận huỷ giúp.")


CANCEL, CHANGE = N_("huỷ"), N_("đổi")
FEE_WORDS = {FeeStatus.DUE: N_("chưa thu"), FeeStatus.PAID: N_("đã thu, yêu cầu chưa huỷ"),
             FeeStatus.EXEMPT: N_("được miễn"), FeeStatus.NOT_DUE: N_("chưa thu")}
CLOSED_STATES = {DeliveryState.DONE: N_("đã xong"), DeliveryState.CANCELLED: N_("đã huỷ")}


# -- who may, and until when ----------------------------------------------------------------------------------


def citizens_request(session: Session, request_id: int, code: str, phone_last4: str) -> tuple[DeliveryRequest, Dossier]:
    """The request, for the citizen who gives its dossier's code and phone digits (the same 404 as tracking
    otherwise, and for a request of another dossier)."""
    dossier = tracking.find(session, code, phone_last4)
    row = session.get(DeliveryRequest, request_id, populate_existing=True) if 0 < request_id < MAX_ID else None
    if row is None or row.dossier_id != dossier.id:
        raise NotFound(what=Phrase(N_("yêu cầu giao nhận")), code=request_id)
    return row, dossier


def clerks_request(session: Session, request_id: int, actor: User) -> tuple[DeliveryRequest, Dossier]:
    """The request, for the counter of the dossier's center or of the post office serving it (overseers: any)."""
    if actor.role not in POSTAL_DESK:  # the counter cancels on the citizen's behalf (before looking anything up)
        raise Forbidden(role=actor.role)
    row = session.get(DeliveryRequest, request_id, populate_existing=True) if 0 < request_id < MAX_ID else None
    if row is None:
        raise NotFound(what=Phrase(N_("yêu cầu giao nhận")), code=request_id)
    dossier = session.get(Dossier, row.dossier_id, populate_existing=True)
    scope.check_counter_request(session, actor, row)
    return row, dossier


def out_since(session: Session, row: DeliveryRequest) -> datetime | None:
    """When a courier took the request out (its run started, or the result went out for delivery), if so."""
    if row.run_id is not None:
        run = session.get(Run, row.run_id, populate_existing=True)
        if run is not None and run.state != RunState.PLANNED:
            return as_utc(run.started_at or run.departs_at)
    if row.kind == DeliveryKind.DELIVER_RESULT:
        parcel = session.execute(select(Parcel).where(
            Parcel.dossier_id == row.dossier_id, Parcel.direction == "to_citizen").order_by(Parcel.id.desc())
            .execution_options(populate_existing=True)).scalars().first()
        if parcel is not None and parcel.state in GONE:
            return as_utc(parcel.last_event_at)
    return None


def check_open(session: Session, row: DeliveryRequest, action: str) -> None:
    """Refused, saying why, once the request is done, cancelled or out with a courier."""
    if row.state not in OPEN:
        raise BookingClosed(id=row.id, state=Phrase(CLOSED_STATES.get(row.state, N_("đã xong"))), action=Phrase(action))
    since = out_since(session, row)
    if since is not None:
        raise OutForDelivery(id=row.id, action=Phrase(action), since=local(since).strftime("%H:%M %d/%m/%Y"))


def off_its_run(session: Session, row: DeliveryRequest) -> None:
    """Take the request off a run not yet started: the next generation places it again."""
    if row.run_id is not None:
        session.execute(delete(DeliveryStop.__table__).where(DeliveryStop.request_id == row.id))
        row.run_id = None
    if row.state == DeliveryState.SCHEDULED:
        row.state = DeliveryState.REQUESTED


# -- changing ------------------------------------------------------------------------------------------------


def change_booking(session: Session, request_id: int, data: DeliveryRequestIn, *, settings: Settings,
                   now: datetime) -> tuple[DeliveryRequestOut, bool]:
    """The citizen moves their request to another slot or address (the same request, its fee charged once);
    whether anything changed. Nothing is written when it is refused."""
    asked = read_asked(data, now)
    row, dossier = citizens_request(session, request_id, data.dossier, data.phone_last4)
    if data.kind != row.kind:
        raise InvalidField("kind", Phrase(N_("yêu cầu số %(id)s là “%(kind)s”, không đổi sang loại khác được: hãy huỷ "
                                             "nó rồi đặt yêu cầu mới"), id=row.id,
                                          kind=Phrase(tracking.BOOKING_KIND_NAMES[row.kind])))
    check_open(session, row, CHANGE)
    wanted = (asked.street, asked.ward.code, data.slot.date, str(data.slot.period), asked.phone or row.phone)
    if wanted == (row.street, row.ward_code, row.slot_date, row.slot_period, row.phone):
        db.end_reading(session)
        return request_out(row), False
    moved = (asked.street, asked.ward.code) != (row.street, row.ward_code)
    located = locate(session, settings, asked.street, asked.ward, now) if moved else None
    try:
        with db.writing(session):
            row = session.get(DeliveryRequest, row.id, populate_existing=True)
            check_open(session, row, CHANGE)
            if located is not None:
                row.street, row.ward_code, row.province_code = asked.street, asked.ward.code, asked.ward.province_code
                row.lat, row.lon, row.geocode_source = located.lat, located.lon, located.source
                row.post_office_id = serving_post_office(session, asked.ward.code, (located.lat, located.lon), dossier).id
                if row.fee_exempt_reason is None and row.fee_paid_at is None:  # paid or exempt: settled already
                    row.fee_vnd = fee_for(asked.ward, settings)
                if located.answer is not None:
                    remember(session, *located.answer, at=now)
            row.slot_date, row.slot_period, row.phone = data.slot.date, data.slot.period, asked.phone or row.phone
            off_its_run(session, row)
            row.updated_at = now
            session.add(row)
            session.flush()
    except IntegrityError:  # another request of the dossier (done already) holds that slot
        raise InvalidField("slot.date", Phrase(N_("hồ sơ đã có một yêu cầu khác vào buổi này: hãy chọn buổi hoặc ngày "
                                                  "khác"))) from None
    return request_out(row), True


# -- cancelling ------------------------------------------------------------------------------------------------


def cancel(session: Session, row: DeliveryRequest, dossier: Dossier, *, by: User | None, settings: Settings,
           now: datetime) -> None:
    """Cancel in the caller's unit of work: off its run, the return back to the counter (the result's parcel, if
    labelled for the door, readdressed to the center), the citizen told."""
    off_its_run(session, row)
    row.state, row.cancelled_at, row.cancelled_by_id, row.updated_at = DeliveryState.CANCELLED, now, by and by.id, now
    session.add(row)
    if row.kind == DeliveryKind.DELIVER_RESULT and dossier.return_method == ReturnMethod.HOME:
        dossier.return_method = ReturnMethod.COUNTER
        session.add(dossier)
    session.flush()
    if row.kind == DeliveryKind.DELIVER_RESULT:
        going_home = session.execute(select(Parcel.code).where(
            Parcel.dossier_id == dossier.id, Parcel.direction == Direction.TO_CITIZEN, Parcel.destination_id.is_(None),
            Parcel.state != ParcelState.DELIVERED).order_by(Parcel.id.desc())).scalars().first()
        if going_home is not None:  # its label made already: the citizen collects it at the center instead
            custody.collect_at_center(session, going_home, request_id=row.id, actor=by, settings=settings, now=now)
    queue(session, channel=Channel.SMS, recipient=dossier.applicant_phone, subject="",
          body=booking_cancelled_text(dossier.code, row.id, home_delivery=row.kind == DeliveryKind.DELIVER_RESULT,
                                      to_refund=fee_status(row) == FeeStatus.TO_REFUND),
          dedupe_key=f"delivery-request:{row.id}:sms:cancelled", at=now)


def cancel_by_clerk(session: Session, request_id: int, *, actor: User, settings: Settings,
                    now: datetime) -> DeliveryRequestOut:
    """The counter cancels a request on the citizen's behalf, until a courier has it out."""
    with db.writing(session):
        row, dossier = clerks_request(session, request_id, actor)
        check_open(session, row, CANCEL)
        cancel(session, row, dossier, by=actor, settings=settings, now=now)
    return request_out(row)


def digest(settings: Settings, request_id: int, code: str) -> str:
    return hmac.new(settings.secret_key.encode(), f"cancel:{request_id}:{code}".encode(), hashlib.sha256).hexdigest()


def send_cancel_code(session: Session, request_id: int, code: str, phone_last4: str, *, settings: Settings,
                     now: datetime) -> CancelCodeSentOut:
    """Send the applicant a code to confirm cancelling (SMS through the outbox); a few codes an hour at most."""
    with db.writing(session):
        row, dossier = citizens_request(session, request_id, code, phone_last4)
        check_open(session, row, CANCEL)
        sent = session.get(CancelCode, row.id, populate_existing=True)
        if sent is None:
            sent = CancelCode(request_id=row.id, code_hash="", issued_at=now)
        recent = [at for at in (datetime.fromisoformat(t) for t in sent.recent_codes.split()) if at > now - HOUR]
        if len(recent) >= settings.otp_codes_per_hour:
            minutes = max(1, math.ceil((min(recent) + HOUR - now).total_seconds() / 60))
            raise TooManyCodes(count=len(recent), id=row.id, minutes=minutes)
        otp = f"{secrets.randbelow(10**6):06d}"
        sent.code_hash, sent.issued_at, sent.wrong_tries = digest(settings, row.id, otp), now, 0
        sent.recent_codes = " ".join(at.isoformat() for at in [*recent, now])
        session.add(sent)
        queue(session, channel=Channel.SMS, recipient=dossier.applicant_phone, subject="",
              body=cancel_code_text(dossier.code, row.id, vault.MASK),
              dedupe_key=f"delivery-request:{row.id}:sms:cancel-code:{now.isoformat()}",
              at=now, secret=vault.seal(settings, otp))
    return CancelCodeSentOut(id=row.id, state=row.state, sent_to=dossiers.mask_phone(dossier.applicant_phone),
                             expires_at=now + CODE_LIFETIME)


@dataclass(frozen=True)
class Verdict:
    """What checking the citizen's code found: nothing wrong, or the refusal to raise once the count is kept."""

    refusal: PostalError | None


def judge_code(sent: CancelCode | None, given: str, request_id: int, settings: Settings, now: datetime) -> Verdict:
    """Check the code against the live one; a wrong one is counted (the caller keeps the count)."""
    spent = InvalidField("otp", Phrase(N_("mã đã hết hạn hoặc đã nhập sai quá nhiều lần: hãy bấm “Gửi lại mã” để "
                                          "nhận mã mới")))
    if sent is None or not sent.code_hash or now - as_utc(sent.issued_at) > CODE_LIFETIME:
        return Verdict(spent)
    if sent.wrong_tries >= settings.otp_tries_per_code:
        return Verdict(spent)
    if hmac.compare_digest(sent.code_hash, digest(settings, request_id, given)):
        sent.code_hash = ""  # used once
        return Verdict(None)
    sent.wrong_tries += 1
    left = settings.otp_tries_per_code - sent.wrong_tries
    if left <= 0:
        sent.code_hash = ""
        return Verdict(spent)
    return Verdict(InvalidField("otp", Phrase(N_("không đúng: hãy nhập lại 6 chữ số trong tin nhắn (còn %(left)s lần "
                                                 "thử)"), left=left)))


def cancel_by_citizen(session: Session, request_id: int, code: str, phone_last4: str, otp: str, *, settings: Settings,
                      now: datetime) -> DeliveryRequestOut:
    """The citizen cancels with the code sent by SMS; a wrong code is counted even though it is refused."""
    with db.writing(session):
        row, dossier = citizens_request(session, request_id, code, phone_last4)
        check_open(session, row, CANCEL)
        sent = session.get(CancelCode, row.id, populate_existing=True)
        verdict = judge_code(sent, otp, row.id, settings, now)
        if sent is not None:
            session.add(sent)
        if verdict.refusal is None:
            cancel(session, row, dossier, by=None, settings=settings, now=now)
    if verdict.refusal is not None:
        raise verdict.refusal
    return request_out(row)


def record_fee_paid(session: Session, request_id: int, *, actor: User, now: datetime) -> DeliveryRequestOut:
    """The counter records the fee paid ahead (a cancelled request then shows it to refund)."""
    with db.writing(session):
        row, _ = clerks_request(session, request_id, actor)
        if row.state not in OPEN:
            raise BookingClosed(id=row.id, state=Phrase(CLOSED_STATES.get(row.state, N_("đã xong"))),
                                action=Phrase(N_("thu phí")))
        if row.fee_paid_at is None and row.fee_vnd > 0:
            row.fee_paid_at, row.updated_at = now, now
            session.add(row)
    return request_out(row)


class NotToRefund(Conflict):
    code, message = "not_to_refund", N_("Yêu cầu số %(id)s không có phí phải hoàn (phí %(status)s).")


def record_refund(session: Session, request_id: int, *, actor: User, now: datetime) -> DeliveryRequestOut:
    """The counter records that a fee paid ahead for a cancelled request was given back; recorded once (the
    same call again answers the same), refused unless there is a fee to refund."""
    with db.writing(session):
        row, _ = clerks_request(session, request_id, actor)
        if row.fee_refunded_at is None:
            if fee_status(row) != FeeStatus.TO_REFUND:
                raise NotToRefund(id=row.id, status=Phrase(FEE_WORDS[fee_status(row)]))
            row.fee_refunded_at, row.fee_refunded_by_id, row.updated_at = now, actor.id, now
            session.add(row)
    return request_out(row)


# -- the counter's view -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffBooking:
    """A request as the counter sees it, with what it may still do."""

    id: int
    text: Phrase
    street: str
    ward: str
    fee_vnd: int
    fee_status: str
    cancelled_at: datetime | None
    open: bool  # may still be cancelled (not out with a courier)


def dossier_bookings(session: Session, code: str, *, viewer: User) -> tuple[Dossier, list[StaffBooking]]:
    """A dossier's delivery and pick-up requests, latest first, for a clerk who may see the dossier."""
    dossier = dossiers.get_dossier(session, code)
    parcels = list(session.execute(select(Parcel).where(Parcel.dossier_id == dossier.id)).scalars())
    scope.check_counter_dossier(session, viewer, dossier, parcels)
    rows = session.execute(select(DeliveryRequest).where(DeliveryRequest.dossier_id == dossier.id)
                           .order_by(DeliveryRequest.id.desc())).scalars().all()
    found = [StaffBooking(r.id, booking_text(r), r.street, ward_of(r.ward_code).name, r.fee_vnd, fee_status(r),
                          as_utc(r.cancelled_at) if r.cancelled_at else None,
                          r.state in OPEN and out_since(session, r) is None) for r in rows]
    db.end_reading(session)
    return dossier, found
