"""A citizen's request for home delivery or pick-up: taken once, its fee, and kept in step with custody."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from geopy.distance import geodesic
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models import (
    Action,
    CustodyEvent,
    DeliveryKind,
    DeliveryRequest,
    DeliveryState,
    Direction,
    Dossier,
    Parcel,
    ParcelState,
    ReturnMethod,
    Site,
    SiteKind,
    User,
)
from models.delivery import (
    DeliveryRequestIn,
    GeocodeSource,
    DeliveryRequestOut,
    FeeStatus,
)
from models.enums import POSTAL_DESK
from postal import db, dossiers, scope, tracking
from postal.config import Settings
from postal.delivery.geocoding import Located, locate, remember
from postal.delivery.form import FIXES, InvalidField, check_slot
from postal.delivery.wards import WardInfo, fee_for, ward_of
from postal.errors import N_, Conflict, Forbidden, NotFound, Phrase, Unprocessable
from postal.runs.common import MAX_ID

OPEN = (DeliveryState.REQUESTED, DeliveryState.SCHEDULED)
REQUESTS = DeliveryRequest.__table__
NOT_LOCATED = Located(None, None, GeocodeSource.NONE)
EVENTS = CustodyEvent.__table__


class AlreadyReturned(Conflict):
    code, message = "already_returned", N_("Kết quả hồ sơ %(code)s đã được trả: không cần giao nữa.")


class BookingExists(Conflict):
    code, message = "booking_exists", N_(
        "Hồ sơ %(code)s đã có yêu cầu số %(id)s (%(booking)s). Mỗi hồ sơ chỉ có một yêu cầu loại này, phí chỉ thu "
        "một lần: hãy đổi lịch hẹn hoặc địa chỉ của yêu cầu số %(id)s, hoặc huỷ nó rồi đặt lại.")


class AlreadyHandedIn(Conflict):
    code, message = "already_handed_in", N_("Hồ sơ %(code)s đã được tiếp nhận: không cần đến nhận tại nhà.")


@dataclass(frozen=True)
class Asked:
    """What a booking body asks for, checked: the ward, the street as it will be kept, the contact phone."""

    ward: WardInfo
    street: str
    phone: str | None


def read_asked(data: DeliveryRequestIn, now: datetime) -> Asked:
    """The address, slot and phone of a booking, each refusal naming the field as the citizen sees it."""
    digits = "".join(ch for ch in data.phone_last4 if ch.isdigit())
    if len(digits) != 4:  # its shape only: a wrong number is tracking's 404
        raise InvalidField("phone_last4", Phrase(FIXES["phone_last4"]))
    ward = ward_of(data.address.ward_code)
    if ward is None:
        raise InvalidField("address.ward_code", Phrase(N_("không có xã, phường mã %(code)s: hãy chọn tỉnh rồi chọn xã, "
                                                          "phường trong danh sách"), code=data.address.ward_code[:10]))
    street = " ".join(data.address.street.split())
    if not street:
        raise InvalidField("address.street", Phrase(N_("chưa điền: hãy ghi số nhà, đường phố hoặc thôn, tổ")))
    check_slot(data.slot.date, data.slot.period, now)
    phone = None
    if data.phone and data.phone.strip():
        try:
            phone = dossiers.normalise_phone(data.phone, field="phone")
        except Unprocessable:
            raise InvalidField("phone", Phrase(N_("không phải số điện thoại Việt Nam: hãy ghi 10 chữ số, ví dụ "
                                                  "0912345678, hoặc để trống nếu dùng số đã đăng ký"))) from None
    return Asked(ward, street, phone)


def request_delivery(session: Session, data: DeliveryRequestIn, *, settings: Settings,
                     now: datetime) -> tuple[DeliveryRequestOut, bool]:
    """Take a citizen's delivery or pick-up request; the same request again answers the first, another while
    the first is active is refused naming it (it is changed instead). Nothing is written when it is refused."""
    asked = read_asked(data, now)
    ward, street, phone = asked.ward, asked.street, asked.phone
    dossier = tracking.find(session, data.dossier, data.phone_last4)  # the same 404 as tracking
    existing = same_request(session, dossier.id, data)
    if existing is not None:
        db.end_reading(session)
        return request_out(existing), False
    check_one_active(session, dossier, data.kind)
    check_kind(session, dossier, data.kind)
    located = locate(session, settings, street, ward, now)  # before the write: the geocoder may be slow
    try:
        with db.writing(session):
            existing = same_request(session, dossier.id, data)
            if existing is not None:  # taken meanwhile by another worker
                return request_out(existing), False
            dossier = session.get(Dossier, dossier.id, populate_existing=True)
            row = take_request(session, dossier, Slot(data.kind, data.slot.date, data.slot.period), ward=ward,
                               street=street, phone=phone or dossier.applicant_phone, located=located,
                               settings=settings, now=now)
    except IntegrityError:  # the same slot or kind taken a moment ago (the partial unique indexes); rolled back
        existing = same_request(session, dossier.id, data)
        if existing is None:
            check_one_active(session, dossier, data.kind)
            raise
        return request_out(existing), False
    return request_out(row), True


@dataclass(frozen=True)
class Slot:
    """What a request is for and when: its kind, day and half-day."""

    kind: str
    day: date
    period: str


def take_request(session: Session, dossier: Dossier, slot: Slot, *, ward: WardInfo, street: str, phone: str,
                 settings: Settings, now: datetime, located: Located | None = None) -> DeliveryRequest:
    """Write a request in the caller's unit of work, as a citizen's booking is written (one active per dossier and
    kind, its fee from the ward, the post office serving it), whoever takes it: the citizen, or the counter when
    the dossier is registered with its result returned at home (not located then: routed by its ward)."""
    located = located or NOT_LOCATED
    check_one_active(session, dossier, slot.kind)
    check_kind(session, dossier, slot.kind)
    post_office = serving_post_office(session, ward.code, (located.lat, located.lon), dossier)
    row = DeliveryRequest(
        dossier_id=dossier.id, kind=slot.kind, street=street, ward_code=ward.code, province_code=ward.province_code,
        lat=located.lat, lon=located.lon, geocode_source=located.source, phone=phone, slot_date=slot.day,
        slot_period=slot.period, fee_vnd=fee_for(ward, settings), state=DeliveryState.REQUESTED,
        post_office_id=post_office.id, created_at=now, updated_at=now,
    )
    if slot.kind == DeliveryKind.DELIVER_RESULT:
        if dossier.return_method != ReturnMethod.HOME:
            dossier.return_method = ReturnMethod.HOME
            session.add(dossier)
        row.parcel_id = result_parcel(session, dossier.id)
    else:
        row.parcel_id = pickup_parcel(session, dossier, post_office, now).id
    if located.answer is not None:
        remember(session, *located.answer, at=now)
    session.add(row)
    session.flush()
    return row


def same_request(session: Session, dossier_id: int, data: DeliveryRequestIn) -> DeliveryRequest | None:
    return session.execute(select(DeliveryRequest).where(
        DeliveryRequest.dossier_id == dossier_id, DeliveryRequest.kind == data.kind,
        DeliveryRequest.slot_date == data.slot.date, DeliveryRequest.slot_period == data.slot.period,
        DeliveryRequest.state != DeliveryState.CANCELLED,
    ).execution_options(populate_existing=True)).scalars().first()


def active_request(session: Session, dossier_id: int, kind: str) -> DeliveryRequest | None:
    """The dossier's request of this kind still to be carried out, if any (at most one)."""
    return session.execute(select(DeliveryRequest).where(
        DeliveryRequest.dossier_id == dossier_id, DeliveryRequest.kind == kind, DeliveryRequest.state.in_(OPEN),
    ).execution_options(populate_existing=True)).scalars().first()


def check_one_active(session: Session, dossier: Dossier, kind: str) -> None:
    """One active request per dossier and kind: a second is refused naming the first, to be changed instead."""
    first = active_request(session, dossier.id, kind)
    if first is not None:
        raise BookingExists(code=dossier.code, id=first.id, booking=booking_text(first), request_id=first.id)


def booking_text(row: DeliveryRequest) -> Phrase:
    """A request in the citizen's words: what, when, how far."""
    return tracking.Booking(row.id, row.kind, row.slot_date, row.slot_period, row.state).text


def check_kind(session: Session, dossier: Dossier, kind: str) -> None:
    """A result not yet returned can be delivered; a dossier not yet handed in anywhere can be picked up."""
    if dossier.returned_at is not None:
        raise AlreadyReturned(code=dossier.code)
    if kind == DeliveryKind.PICKUP_DOSSIER:
        handed_in = session.execute(select(Parcel.id).where(
            Parcel.dossier_id == dossier.id, Parcel.state != ParcelState.CREATED,
            Parcel.direction != Direction.FROM_CITIZEN)).first()
        if handed_in is not None:
            raise AlreadyHandedIn(code=dossier.code)


def result_parcel(session: Session, dossier_id: int) -> int | None:
    """The dossier's latest parcel going to the citizen, if the result has one yet."""
    return session.execute(select(func.max(Parcel.id)).where(
        Parcel.dossier_id == dossier_id, Parcel.direction == Direction.TO_CITIZEN)).scalar()


def pickup_parcel(session: Session, dossier: Dossier, post_office: Site, now: datetime) -> Parcel:
    """The parcel the courier brings back from the citizen's door; it joins the normal flow when the post
    office accepts it. One not yet accepted is reused; the caller commits."""
    waiting = session.execute(select(Parcel).where(
        Parcel.dossier_id == dossier.id, Parcel.direction == Direction.FROM_CITIZEN,
        Parcel.state == ParcelState.CREATED).order_by(Parcel.id.desc())).scalars().first()
    if waiting is not None:
        return waiting
    center = session.get(Site, dossier.center_id)
    return dossiers.new_parcel(session, dossier, Direction.FROM_CITIZEN, origin=post_office, destination=center, now=now)


def serving_post_office(session: Session, ward_code: str, point: tuple[float | None, float | None],
                        dossier: Dossier) -> Site:
    """The post office in the ward, else the nearest to the address (or to the dossier's center)."""
    offices = session.execute(select(Site).where(Site.kind == SiteKind.POST_OFFICE).order_by(Site.id)).scalars().all()
    if not offices:
        raise InvalidField("address.ward_code", Phrase(N_("chưa có bưu điện phục vụ địa chỉ này: xin hỏi quầy tiếp "
                                                          "nhận hồ sơ")))
    for office in offices:
        if office.ward_code == ward_code:
            return office
    here = point if point[0] is not None and point[1] is not None else None
    if here is None:
        center = session.get(Site, dossier.center_id)
        here = (center.lat, center.lon) if center is not None and center.lat is not None else None
    located = [o for o in offices if o.lat is not None and o.lon is not None]
    if here is None or not located:
        return offices[0]
    return min(located, key=lambda o: geodesic(here, (o.lat, o.lon)).km)


def fee_status(row: DeliveryRequest) -> FeeStatus:
    """What is owed: due, paid or exempt while the request stands; once cancelled, nothing, or to refund (then
    refunded)."""
    if row.state == DeliveryState.CANCELLED:
        if row.fee_paid_at is None or row.fee_vnd <= 0:
            return FeeStatus.NOT_DUE
        return FeeStatus.REFUNDED if row.fee_refunded_at is not None else FeeStatus.TO_REFUND
    if row.fee_exempt_reason is not None:
        return FeeStatus.EXEMPT
    return FeeStatus.PAID if row.fee_paid_at is not None else FeeStatus.DUE


def request_out(row: DeliveryRequest) -> DeliveryRequestOut:
    ward = ward_of(row.ward_code)
    return DeliveryRequestOut(id=row.id, state=row.state, fee_vnd=row.fee_vnd, fee_status=fee_status(row),
                              ward=ward.out(), lat=row.lat, lon=row.lon)


def exempt_fee(session: Session, request_id: int, reason: str, *, actor: User, settings: Settings,
               now: datetime) -> DeliveryRequestOut:
    """The counter records that the applicant is exempt (a group the fee table names): no fee."""
    if actor.role not in POSTAL_DESK:  # the counter records an exemption (scope.check_counter_request below)
        raise Forbidden(role=actor.role)
    reason = reason.strip()
    if reason not in settings.delivery_fee_exempt:
        raise Unprocessable(field="reason", detail=", ".join(settings.delivery_fee_exempt))
    with db.writing(session):
        row = session.get(DeliveryRequest, request_id, populate_existing=True) if 0 < request_id < MAX_ID else None
        if row is None:
            raise NotFound(what=Phrase(N_("yêu cầu giao nhận")), code=request_id)
        scope.check_counter_request(session, actor, row)
        row.fee_vnd, row.fee_exempt_reason, row.updated_at = 0, reason, now
        session.add(row)
    return request_out(row)


# -- keeping requests in step with their parcels ------------------------------------------------------------


def settle(session: Session, now: datetime) -> None:
    """Bring open requests up to date from custody: the result's parcel, failed attempts, done. Set-based;
    the caller is writing and commits."""
    open_ = REQUESTS.c.state.in_(OPEN)
    latest_result = (select(func.max(Parcel.id)).where(Parcel.dossier_id == REQUESTS.c.dossier_id,
                                                       Parcel.direction == Direction.TO_CITIZEN).scalar_subquery())
    session.execute(update(REQUESTS).where(open_, REQUESTS.c.kind == DeliveryKind.DELIVER_RESULT)
                    .values(parcel_id=func.coalesce(latest_result, REQUESTS.c.parcel_id)))
    attempts = (select(func.count()).select_from(EVENTS).where(
        EVENTS.c.parcel_id == REQUESTS.c.parcel_id, EVENTS.c.action == Action.ATTEMPT_FAILED,
        EVENTS.c.server_at >= REQUESTS.c.created_at).scalar_subquery())
    session.execute(update(REQUESTS).where(open_, REQUESTS.c.parcel_id.is_not(None)).values(attempts=attempts))
    returned = select(Dossier.id).where(Dossier.returned_at.is_not(None))
    accepted = select(Parcel.id).where(Parcel.state != ParcelState.CREATED)
    session.execute(update(REQUESTS).where(open_, or_(
        (REQUESTS.c.kind == DeliveryKind.DELIVER_RESULT) & REQUESTS.c.dossier_id.in_(returned),
        (REQUESTS.c.kind == DeliveryKind.PICKUP_DOSSIER) & REQUESTS.c.parcel_id.in_(accepted),
    )).values(state=DeliveryState.DONE, updated_at=now))
