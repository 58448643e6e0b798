"""What a citizen may see of a dossier: its steps in plain words, no staff names, no phone numbers."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session

from models import Action, ApologySlip, CustodyEvent, DeliveryKind, DeliveryRequest, DeliveryState, Direction, Dossier, \
    Parcel, ParcelState, Site, SlotPeriod
from postal.clock import as_utc
from postal.dossiers import latest_parcel, status_of
from postal.errors import N_, NotFound, Phrase

# What the citizen reads, one line per status, and what happens next. Every status comes from custody events:
# a label printed but not yet scanned says nothing to the citizen.
STATUS_TEXT = {
    "registered": (N_("Hồ sơ đã được đăng ký, chưa ghi nhận nộp hồ sơ giấy"),
                   N_("Khi Ông/Bà nộp hồ sơ giấy tại quầy (hoặc bưu điện đến nhà nhận), trạng thái sẽ được cập nhật.")),
    "collected": (N_("Bưu điện đã nhận hồ sơ tại nhà"),
                  N_("Hồ sơ đang được chuyển đến Trung tâm để tiếp nhận.")),
    "received": (N_("Đã tiếp nhận hồ sơ"),
                 N_("Hồ sơ sẽ được chuyển đến cơ quan giải quyết trong chuyến gần nhất.")),
    "to_agency": (N_("Hồ sơ đang được chuyển đến cơ quan giải quyết"),
                  N_("Khi cơ quan nhận hồ sơ, trạng thái sẽ được cập nhật.")),
    "at_agency": (N_("Hồ sơ đang được cơ quan giải quyết xử lý"),
                  N_("Khi có kết quả, Ông/Bà sẽ nhận được tin nhắn.")),
    "result_ready": (N_("Đã có kết quả, chờ chuyển về nơi trả"),
                     N_("Kết quả sẽ được chuyển về trong chuyến gần nhất.")),
    "returning": (N_("Kết quả đang được chuyển về"),
                  N_("Khi kết quả về đến nơi trả, Ông/Bà sẽ nhận được tin nhắn.")),
    "ready_for_return": (N_("Kết quả đã sẵn sàng để trả"),
                         N_("Mời Ông/Bà mang giấy tiếp nhận đến nhận kết quả tại nơi trả.")),
    "ready_for_delivery": (N_("Kết quả đã sẵn sàng để giao tận nhà"),
                           N_("Bưu tá sẽ giao kết quả theo lịch đã đặt và gửi mã xác nhận qua tin nhắn.")),
    "out_for_delivery": (N_("Kết quả đang được giao đến nhà"),
                         N_("Khi nhận, Ông/Bà đọc cho bưu tá mã xác nhận trong tin nhắn.")),
    "returned": (N_("Đã trả kết quả"), N_("Hồ sơ đã hoàn tất.")),
    "missing": (N_("Hồ sơ đang được xác minh vị trí"),
                N_("Trung tâm đang xác minh và sẽ liên hệ với Ông/Bà.")),
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
    DeliveryState.CANCELLED: N_("đã huỷ"),
}


@dataclass(frozen=True)
class Booking:
    """A home delivery or pick-up the citizen booked, and how far it is."""

    id: int
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
    next_step: Phrase  # what happens next, in the citizen's words
    contact: Phrase  # whom to call
    due_at: datetime
    late: bool
    new_due: date | None  # set when an apology and re-appointment slip was issued
    timeline: list[Step]
    bookings: list[Booking]  # home delivery and pick-up slots, latest first (cancelled ones left out)


def canonical_code(typed: str) -> str:
    """A dossier code as stored, from the way people type it: case, and the spaces of the printed form, do not
    matter ("000.00.22.h47 - 261207 - 0001" is 000.00.22.H47-261207-0001)."""
    return "".join(typed.split()).upper()


def find(session: Session, code: str, phone_last4: str) -> Dossier:
    """The dossier, only when the phone's last four digits match; otherwise the same 404 as an unknown code."""
    typed = code.strip()
    dossier = session.execute(select(Dossier).where(Dossier.code.in_({typed, canonical_code(typed)}))).scalars().first()
    given = "".join(ch for ch in phone_last4 if ch.isdigit())
    expected = dossier.applicant_phone[-4:] if dossier else "0000"
    if dossier is None or len(given) != 4 or not hmac.compare_digest(given, expected):
        raise NotFound(what=Phrase(N_("hồ sơ")), code=code.strip()[:40])
    return dossier


def step_of(event: CustodyEvent, site: Site | None, parcel: Parcel) -> Phrase | None:
    """One custody event in a citizen's words (the place is shown beside it); None for internal steps."""
    action, direction = event.action, parcel.direction
    if action == Action.ACCEPT:
        if direction == Direction.FROM_CITIZEN:
            return Phrase(N_("Bưu điện đã nhận hồ sơ tại nhà"))
        if direction == Direction.TO_CITIZEN:
            return Phrase(N_("Kết quả đã sẵn sàng để giao tận nhà"))
        return Phrase(N_("Đã tiếp nhận hồ sơ")) if direction == Direction.TO_AGENCY else Phrase(N_("Đã có kết quả"))
    if action == Action.PICKUP:
        return Phrase(N_("Bưu điện đã nhận chuyển"))
    if action == Action.RECEIVE and site is not None and site.id == parcel.destination_id:
        if direction == Direction.TO_AGENCY:
            return Phrase(N_("Đã chuyển đến cơ quan giải quyết"))
        if direction == Direction.FROM_CITIZEN:
            return Phrase(N_("Trung tâm đã nhận hồ sơ"))
        return Phrase(N_("Kết quả đã về nơi trả"))
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
    return None  # handovers awaiting receipt, changes of run at a hub, bags, redirects: internal steps


def track(session: Session, code: str, phone_last4: str, *, now: datetime, hotline: str = "") -> Tracking:
    dossier = find(session, code, phone_last4)
    parcels = list(session.execute(select(Parcel).where(Parcel.dossier_id == dossier.id).order_by(Parcel.id)).scalars())
    by_id = {p.id: p for p in parcels}
    rows = session.execute(
        select(CustodyEvent, Site).outerjoin(Site, Site.id == CustodyEvent.site_id)
        .where(CustodyEvent.parcel_id.in_(list(by_id) or [-1])).order_by(CustodyEvent.seq)
    ).all()
    timeline = [Step(as_utc(dossier.received_at), Phrase(N_("Đã nộp hồ sơ")), None)]
    for event, site in rows:
        what = step_of(event, site, by_id[event.parcel_id])
        if what is not None:
            timeline.append(Step(as_utc(event.device_at), what, site.name if site else None))
    slip = session.execute(select(ApologySlip).where(ApologySlip.dossier_id == dossier.id)
                           .order_by(ApologySlip.issued_at.desc())).scalars().first()
    bookings = [Booking(r.id, r.kind, r.slot_date, r.slot_period, r.state) for r in session.execute(
        select(DeliveryRequest).where(DeliveryRequest.dossier_id == dossier.id,
                                      DeliveryRequest.state != DeliveryState.CANCELLED)
        .order_by(DeliveryRequest.slot_date.desc(), DeliveryRequest.id.desc())).scalars()]
    status = citizen_status(parcels, dossier)
    due = as_utc(dossier.due_at)
    text, next_step = STATUS_TEXT[status]
    return Tracking(code=dossier.code, status=status, status_text=Phrase(text), next_step=Phrase(next_step),
                    contact=contact(session, dossier, hotline), due_at=due, late=as_utc(dossier.returned_at or now) > due,
                    new_due=slip.new_due if slip else None, timeline=timeline, bookings=bookings)


def citizen_status(parcels: list[Parcel], dossier: Dossier) -> str:
    """Where the dossier stands for the citizen, from what custody recorded: parcels never scanned count not."""
    scanned = [p for p in parcels if p.last_event_at is not None]
    if dossier.returned_at is not None:
        return "returned"
    if not scanned:
        return "registered"
    latest = latest_parcel(scanned)
    if latest.state == ParcelState.MISSING:
        return "missing"
    if latest.direction == Direction.FROM_CITIZEN:  # brought from the citizen's door to the center
        return "received" if latest.holder_site_id == latest.destination_id else "collected"
    status = status_of(scanned, dossier)
    if status == "returning" and latest.state == ParcelState.AT_SITE and latest.holder_site_id == latest.origin_id:
        return "result_ready"  # accepted at the agency, waiting for the run back
    return status


def contact(session: Session, dossier: Dossier, hotline: str) -> Phrase:
    """Whom the citizen calls: the hotline when the province has one, else the center they handed it in to."""
    if hotline:
        return Phrase(N_("Cần hỗ trợ, xin gọi đường dây nóng %(hotline)s."), hotline=hotline)
    center = session.get(Site, dossier.center_id)
    return Phrase(N_("Cần hỗ trợ, xin liên hệ %(center)s, nơi Ông/Bà nộp hồ sơ."), center=center.name if center else "")
