"""What a citizen may see of a dossier: its steps in plain words, no staff names, no phone numbers."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session

from models import Action, ApologySlip, CustodyEvent, DeliveryKind, DeliveryRequest, DeliveryState, Dossier, Parcel, \
    Site, SiteKind, SlotPeriod
from postal.clock import as_utc
from postal.dossiers import status_of
from postal.errors import N_, NotFound, Phrase

STATUS_TEXT = {
    "registered": N_("Đã tiếp nhận hồ sơ"),
    "received": N_("Hồ sơ đang chờ chuyển đến cơ quan giải quyết"),
    "to_agency": N_("Hồ sơ đang được chuyển đến cơ quan giải quyết"),
    "at_agency": N_("Hồ sơ đang được cơ quan giải quyết xử lý"),
    "result_ready": N_("Đã có kết quả, đang chờ chuyển về"),
    "returning": N_("Kết quả đang được chuyển về"),
    "ready_for_return": N_("Kết quả đã sẵn sàng để trả"),
    "ready_for_delivery": N_("Kết quả đã sẵn sàng để giao tận nhà"),
    "out_for_delivery": N_("Kết quả đang được giao đến nhà"),
    "returned": N_("Đã trả kết quả"),
    "missing": N_("Hồ sơ đang được xác minh vị trí"),
}


PERIOD_NAMES = {SlotPeriod.MORNING: N_("buổi sáng"), SlotPeriod.AFTERNOON: N_("buổi chiều")}
BOOKING_KIND_NAMES = {
    DeliveryKind.DELIVER_RESULT: N_("Giao kết quả tận nhà"),
    DeliveryKind.PICKUP_DOSSIER: N_("Bưu điện đến nhà nhận hồ sơ"),
}
BOOKING_STATE_NAMES = {
    DeliveryState.REQUESTED: N_("đã đặt, chờ xếp chuyến"),
    DeliveryState.SCHEDULED: N_("đã xếp chuyến"),
    DeliveryState.DONE: N_("đã xong"),
}


@dataclass(frozen=True)
class Booking:
    """A home delivery or pick-up the citizen booked, and how far it is."""

    kind: str
    day: date
    period: str
    state: str

    @property
    def text(self) -> Phrase:
        return Phrase(N_("%(kind)s: %(period)s %(day)s (%(state)s)"), kind=Phrase(BOOKING_KIND_NAMES[self.kind]),
                      period=Phrase(PERIOD_NAMES[self.period]), day=self.day.strftime("%d/%m/%Y"),
                      state=Phrase(BOOKING_STATE_NAMES[self.state]))


@dataclass(frozen=True)
class Step:
    at: datetime
    what: Phrase
    where: str | None


@dataclass(frozen=True)
class Tracking:
    code: str
    status: str
    status_text: Phrase
    due_at: datetime
    late: bool
    new_due: date | None  # set when an apology and re-appointment slip was issued
    timeline: list[Step]
    bookings: list[Booking]  # home delivery and pick-up slots, latest first (cancelled ones left out)


def find(session: Session, code: str, phone_last4: str) -> Dossier:
    """The dossier, only when the phone's last four digits match; otherwise the same 404 as an unknown code."""
    dossier = session.execute(select(Dossier).where(Dossier.code == code.strip())).scalars().first()
    given = "".join(ch for ch in phone_last4 if ch.isdigit())
    expected = dossier.applicant_phone[-4:] if dossier else "0000"
    if dossier is None or len(given) != 4 or not hmac.compare_digest(given, expected):
        raise NotFound(what=Phrase(N_("hồ sơ")), code=code.strip()[:40])
    return dossier


def step_of(event: CustodyEvent, site: Site | None, direction: str) -> Phrase | None:
    """One custody event in a citizen's words; None for steps that say nothing to them."""
    where = site.name if site else ""
    action = event.action
    if action == Action.ACCEPT:
        return Phrase(N_("Đã tiếp nhận tại %(where)s"), where=where)
    if action == Action.PICKUP:
        return Phrase(N_("Bưu điện đã nhận chuyển"))
    if action == Action.RECEIVE and site is not None:
        if site.kind == SiteKind.AGENCY:
            return Phrase(N_("Đã chuyển đến %(where)s"), where=where)
        return Phrase(N_("Kết quả đã về %(where)s"), where=where) if direction != "to_agency" else None
    if action == Action.OUT_FOR_DELIVERY:
        return Phrase(N_("Đang giao đến nhà"))
    if action == Action.ATTEMPT_FAILED:
        return Phrase(N_("Giao không thành công, bưu điện sẽ liên hệ lại"))
    if action == Action.DELIVER:
        return Phrase(N_("Đã trả kết quả"))
    if action == Action.REPORT_MISSING:
        return Phrase(N_("Đang xác minh vị trí hồ sơ"))
    if action == Action.FOUND:
        return Phrase(N_("Đã xác minh vị trí hồ sơ"))
    return None  # handovers awaiting receipt, bagging: internal steps


def track(session: Session, code: str, phone_last4: str, *, now: datetime) -> Tracking:
    dossier = find(session, code, phone_last4)
    parcels = list(session.execute(select(Parcel).where(Parcel.dossier_id == dossier.id).order_by(Parcel.id)).scalars())
    directions = {p.id: p.direction for p in parcels}
    rows = session.execute(
        select(CustodyEvent, Site).outerjoin(Site, Site.id == CustodyEvent.site_id)
        .where(CustodyEvent.parcel_id.in_(list(directions) or [-1])).order_by(CustodyEvent.seq)
    ).all()
    timeline = [Step(as_utc(dossier.received_at), Phrase(N_("Đã nộp hồ sơ")), None)]
    for event, site in rows:
        what = step_of(event, site, directions[event.parcel_id])
        if what is not None:
            timeline.append(Step(as_utc(event.device_at), what, site.name if site else None))
    slip = session.execute(select(ApologySlip).where(ApologySlip.dossier_id == dossier.id)
                           .order_by(ApologySlip.issued_at.desc())).scalars().first()
    bookings = [Booking(r.kind, r.slot_date, r.slot_period, r.state) for r in session.execute(
        select(DeliveryRequest).where(DeliveryRequest.dossier_id == dossier.id,
                                      DeliveryRequest.state != DeliveryState.CANCELLED)
        .order_by(DeliveryRequest.slot_date.desc(), DeliveryRequest.id.desc())).scalars()]
    status = status_of(parcels, dossier)
    due = as_utc(dossier.due_at)
    return Tracking(code=dossier.code, status=status, status_text=Phrase(STATUS_TEXT[status]), due_at=due,
                    late=as_utc(dossier.returned_at or now) > due, new_due=slip.new_due if slip else None,
                    timeline=timeline, bookings=bookings)
