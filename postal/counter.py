"""The counter (quầy tiếp nhận): a postal clerk at a center or commune center receives a dossier from the
citizen. The site's procedures with their agency and legal processing time; the appointment computed in working
days (holidays, substitute days, the site's hours) before anything is saved, and changed only with a reason;
the registration itself is `dossiers.register`, the parcel accepted at the counter at once; the receipt (mẫu
01) with the label, in one print; and the day's dossiers at the counter, searched by code, phone or name."""

from __future__ import annotations

import unicodedata
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from models import DeliveryKind, Dossier, Parcel, ParcelState, Procedure, Site, User
from models.counter import (
    CounterDossierIn,
    CounterRegisteredOut,
    CounterRowOut,
    CounterTodayOut,
    DayOffOut,
    DuePreviewOut,
    ProcedureOut,
    ProceduresOut,
)
from models.delivery import WardRefOut
from models.dossiers import DossierIn
from postal import db, delivery, dossiers, labels, printing, scope
from postal.clock import LOCAL_TZ, as_utc, local
from postal.config import Settings
from postal.custody import record_scans
from postal.documents import receipt as paper
from postal.errors import N_, NotFound, Phrase, Unprocessable
from postal.workdays import DEFAULT_CALENDAR, Calendar, WorkingHours

COUNTER_NAMESPACE = uuid.UUID("6f1d2b1e-7c0a-4e55-9a1f-c0a7e2000001")  # the counter's accept scan of a parcel
SLOT_NAMES = {"morning": "buổi sáng", "afternoon": "buổi chiều"}


def counter_site(session: Session, viewer: User) -> Site:
    """The site whose counter this is (scope.counter_site: the viewer's own receiving site)."""
    return scope.counter_site(session, viewer)


def folded(text: str) -> str:
    """Text to search in: no case, no diacritics (people type "nguyen van an" for Nguyễn Văn An)."""
    bare = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in bare if not unicodedata.combining(c)).casefold().strip()


def save_procedure(session: Session, *, name: str, agency: str, processing_days: int, site: str | None = None) -> Procedure:
    """Create or update a procedure of the catalogue by its name and agency (seeding, imports)."""
    with db.writing(session):
        decider = dossiers.site_by_code(session, agency, "agency")
        where = dossiers.site_by_code(session, site, "site") if site else None
        row = session.execute(select(Procedure).where(Procedure.name == name, Procedure.agency_id == decider.id)
                              ).scalars().first() or Procedure(name=name, agency_id=decider.id, processing_days=processing_days)
        row.processing_days, row.site_id, row.active = processing_days, where.id if where else None, True
        session.add(row)
    return row


def procedures_for(session: Session, viewer: User, query: str = "") -> ProceduresOut:
    """The active procedures the viewer's site receives (its own and the province's), by name; `query` keeps
    those whose name or agency holds its words."""
    site = counter_site(session, viewer)
    rows = session.execute(
        select(Procedure, Site).join(Site, Site.id == Procedure.agency_id)
        .where(Procedure.active.is_(True), (Procedure.site_id.is_(None)) | (Procedure.site_id == site.id))).all()
    rows = sorted(rows, key=lambda row: (folded(row[0].name), row[0].id))  # by the letters, alike on both engines
    wanted = folded(query)
    return ProceduresOut(procedures=[
        ProcedureOut(id=p.id, name=p.name, agency=a.code, agency_name=a.name, processing_days=p.processing_days)
        for p, a in rows if not wanted or wanted in folded(p.name) or wanted in folded(a.name)])


@dataclass(frozen=True)
class CounterForm:
    """What the reception form offers: the site, its procedures, the province's wards, a code to start from."""

    site: Site
    procedures: list[ProcedureOut]
    wards: list[WardRefOut]
    suggested_code: str


def form_for(session: Session, viewer: User, *, settings: Settings, now: datetime) -> CounterForm:
    """The reception form of the viewer's counter."""
    site = counter_site(session, viewer)
    day = local(now).date()
    start = as_utc(datetime.combine(day, time(0), tzinfo=LOCAL_TZ))
    received = session.execute(select(func.count()).select_from(Dossier).where(
        Dossier.center_id == site.id, Dossier.received_at >= start)).scalar() or 0
    return CounterForm(site=site, procedures=procedures_for(session, viewer).procedures,
                       wards=delivery.wards_of(settings.province_code),
                       suggested_code=f"{site.code}-{day:%y%m%d}-{received + 1:04d}")


def procedure_at(session: Session, site: Site, procedure_id: int) -> tuple[Procedure, Site]:
    """One procedure the site receives, or 422 naming the field."""
    row = session.get(Procedure, procedure_id) if 0 < procedure_id < 2**31 else None
    if row is None or not row.active or row.site_id not in (None, site.id):
        raise Unprocessable(field=Phrase(N_("thủ tục")),
                            detail=Phrase(N_("%(site)s không tiếp nhận thủ tục này"), site=site.name))
    return row, session.get(Site, row.agency_id)


def due_for(days: int, received_at: datetime, site: Site,
            calendar: Calendar = DEFAULT_CALENDAR) -> tuple[datetime, datetime, list[DayOffOut]]:
    """When counting starts (the first working moment of the site at or after receipt), the appointment (that
    moment's time on the `days`-th working day after) and the days off skipped on the way."""
    start = local(calendar.next_working_moment(received_at, WorkingHours(site.opens_at, site.closes_at)))
    day = calendar.add_working_days(start.date(), days)
    due = datetime.combine(day, start.time().replace(microsecond=0), tzinfo=LOCAL_TZ)
    skipped = (start.date() + timedelta(days=n) for n in range((day - start.date()).days))
    days_off = [DayOffOut(day=d, name=name) for d in skipped if (name := calendar.holiday_name(d))
                and not calendar.is_working_day(d)]
    return as_utc(start), as_utc(due), days_off


def preview_due(session: Session, procedure_id: int, *, viewer: User, now: datetime,
                received_at: datetime | None = None, calendar: Calendar = DEFAULT_CALENDAR) -> DuePreviewOut:
    """The appointment a dossier of this procedure received now (or at `received_at`) gets; writes nothing."""
    site = counter_site(session, viewer)
    procedure, _ = procedure_at(session, site, procedure_id)
    received = received_at or now
    start, due, days_off = due_for(procedure.processing_days, received, site, calendar)
    return DuePreviewOut(procedure=procedure.id, processing_days=procedure.processing_days,
                         received_at=as_utc(received), counted_from=start, due_at=due, days_off=days_off)


def appointment(computed: datetime, data: CounterDossierIn, received: datetime,
                calendar: Calendar) -> tuple[datetime, str | None]:
    """The computed appointment, or the clerk's own day (a working day, not before receipt) with a reason."""
    if data.due_on is None or data.due_on == local(computed).date():
        return computed, None
    field = Phrase(N_("ngày hẹn trả"))
    reason = " ".join((data.due_reason or "").split())
    if not reason:
        raise Unprocessable(field=field, detail=Phrase(N_("khác ngày tính theo thời hạn giải quyết (%(day)s): cần "
                                                          "ghi lý do điều chỉnh"), day=local(computed).strftime("%d/%m/%Y")))
    if data.due_on < local(received).date():
        raise Unprocessable(field=field, detail=Phrase(N_("trước ngày tiếp nhận")))
    if not calendar.is_working_day(data.due_on):
        raise Unprocessable(field=field, detail=Phrase(N_("%(day)s không phải ngày làm việc"),
                                                       day=data.due_on.strftime("%d/%m/%Y")))
    return as_utc(datetime.combine(data.due_on, local(computed).time(), tzinfo=LOCAL_TZ)), reason


def home_return(data: CounterDossierIn) -> tuple[str | None, str | None]:
    """The ward and half-day of a home return (both required then), or the ward given for the address."""
    ward = delivery.ward_of(data.ward_code) if data.ward_code else None
    if data.ward_code and ward is None:
        raise Unprocessable(field=Phrase(N_("xã, phường")),
                            detail=Phrase(N_("không có xã, phường mã %(code)s"), code=data.ward_code))
    if data.return_method != "home":
        return (ward.code if ward else None), None
    if ward is None:
        raise Unprocessable(field=Phrase(N_("xã, phường")), detail=Phrase(N_("cần chọn nơi trả kết quả tại nhà")))
    if not (data.applicant_address or "").strip():
        raise Unprocessable(field=Phrase(N_("địa chỉ")), detail=Phrase(N_("cần ghi địa chỉ trả kết quả tại nhà")))
    if data.return_slot is None:
        raise Unprocessable(field=Phrase(N_("buổi trả tại nhà")), detail=Phrase(N_("cần chọn buổi sáng hoặc chiều")))
    return ward.code, data.return_slot


def register(session: Session, data: CounterDossierIn, *, actor: User, settings: Settings, now: datetime,
             base_url: str = "", calendar: Calendar = DEFAULT_CALENDAR) -> CounterRegisteredOut:
    """Register what the counter's form says through dossiers.register (the same dossier again answers the
    first), then accept its parcel at the counter. Refused whole, nothing written, when a field is wrong."""
    site = counter_site(session, actor)
    procedure, agency = procedure_at(session, site, data.procedure)
    received = data.received_at or now
    _, computed, _ = due_for(procedure.processing_days, received, site, calendar)
    due_at, reason = appointment(computed, data, received, calendar)
    ward_code, slot = home_return(data)
    registering = DossierIn(
        code=data.code.strip(), procedure=procedure.name, agency=agency.code, origin=site.code,
        applicant={"name": data.applicant_name, "phone": data.applicant_phone,
                   "address": (data.applicant_address or "").strip() or None, "ward_code": ward_code,
                   "id_number": (data.applicant_id_number or "").strip() or None},
        received_at=received, due_at=due_at, return_method=data.return_method, return_slot=slot,
        items=data.items, notes=(data.notes or "").strip() or None, due_reason=reason,
    )
    with db.writing(session):  # the dossier, its parcel accepted and its home return booked: all or nothing
        answer, created = dossiers.register(session, registering, actor=actor, settings=settings, now=now,
                                            base_url=base_url)
        accept_at_counter(session, answer.parcel.code, site, actor=actor, settings=settings, now=now)
        if created and slot is not None:  # a replay answers the first registration: its booking is already there
            book_home_return(session, answer.dossier.code, settings=settings, now=now)
    code = answer.dossier.code
    return CounterRegisteredOut(dossier=answer.dossier, parcel=answer.parcel.code, created=created,
                                receipt_url=f"{base_url}/api/v1/dossiers/{code}/receipt.pdf",
                                label_url=f"{base_url}/api/v1/parcels/{answer.parcel.code}/label.pdf")


def book_home_return(session: Session, code: str, *, settings: Settings, now: datetime) -> None:
    """The home return chosen at the counter, booked as the citizen's own booking would be: the half-day chosen
    on the appointment day, at the applicant's address and phone. Not located (no geocoder inside the write): the
    request is routed by its ward. The caller is writing."""
    dossier = dossiers.get_dossier(session, code)
    ward = delivery.ward_of(dossier.applicant_ward_code)
    slot = delivery.Slot(DeliveryKind.DELIVER_RESULT, local(dossier.due_at).date(), dossier.return_slot)
    delivery.take_request(session, dossier, slot, ward=ward, street=" ".join(dossier.applicant_address.split()),
                          phone=dossier.applicant_phone, settings=settings, now=now)


def accept_at_counter(session: Session, code: str, site: Site, *, actor: User, settings: Settings,
                      now: datetime) -> None:
    """The parcel's first event, as the clerk's scan of its label would be; one id per parcel, so a
    registration sent again does not accept it twice."""
    if dossiers.get_parcel(session, code).state != ParcelState.CREATED:
        return
    scan = {"id": str(uuid.uuid5(COUNTER_NAMESPACE, code)), "label": labels.qr_payload(settings.label_key, code),
            "action": "accept", "site": site.code, "at": as_utc(now).isoformat()}
    [outcome] = record_scans(session, [scan], actor=actor, settings=settings, now=now)
    if outcome.error is not None:
        raise outcome.error


def today(session: Session, viewer: User, *, now: datetime, query: str = "") -> CounterTodayOut:
    """The dossiers received at the viewer's counter today, newest first, with their state; `query` keeps those
    whose code, phone or applicant's name holds it."""
    site = counter_site(session, viewer)
    day = local(now).date()
    start = datetime.combine(day, time(0), tzinfo=LOCAL_TZ)
    found = session.execute(select(Dossier).where(
        Dossier.center_id == site.id, Dossier.received_at >= as_utc(start),
        Dossier.received_at < as_utc(start + timedelta(days=1))).order_by(Dossier.received_at.desc(), Dossier.id.desc())
    ).scalars().all()
    wanted = [d for d in found if matches(d, query)]
    parcels: dict[int, list[Parcel]] = defaultdict(list)
    if wanted:
        for p in session.execute(select(Parcel).where(Parcel.dossier_id.in_([d.id for d in wanted]))
                                 .order_by(Parcel.id)).scalars():
            parcels[p.dossier_id].append(p)
    return CounterTodayOut(site=site.name, day=day, query=query, dossiers=[
        CounterRowOut(code=d.code, procedure=d.procedure, applicant=d.applicant_name, phone=d.applicant_phone,
                      received_at=as_utc(d.received_at), due_at=as_utc(d.due_at),
                      status=dossiers.status_of(parcels[d.id], d),
                      late=as_utc(d.returned_at or now) > as_utc(d.due_at),
                      parcel=parcels[d.id][0].code if parcels[d.id] else None)
        for d in wanted])


def matches(dossier: Dossier, query: str) -> bool:
    """Whether the code, the phone (digits, 3 or more) or the applicant's name holds what was typed."""
    typed = query.strip()
    if not typed:
        return True
    digits = "".join(c for c in typed if c.isdigit())
    return (typed.upper() in dossier.code.upper() or (len(digits) >= 3 and digits == typed.replace(" ", "")
            and digits in dossier.applicant_phone) or folded(typed) in folded(dossier.applicant_name))


@dataclass(frozen=True)
class Printout:
    """The page after saving: the receipt's contents and the parcel whose label goes with it."""

    slip: paper.ReceiptSlip
    parcel: str


def printout(session: Session, code: str, *, viewer: User, settings: Settings, base_url: str = "") -> Printout:
    slip = receipt_slip(session, code, viewer=viewer, settings=settings, base_url=base_url)
    return Printout(slip=slip, parcel=first_parcel(session, slip.dossier_code))


def first_parcel(session: Session, code: str) -> str:
    """The code of the dossier's first parcel: the one the counter labelled."""
    dossier = dossiers.get_dossier(session, code)
    first = session.execute(select(Parcel.code).where(Parcel.dossier_id == dossier.id).order_by(Parcel.id)).scalars().first()
    if first is None:
        raise NotFound(what=Phrase(N_("bì hồ sơ")), code=code)
    return first


def receipt_slip(session: Session, code: str, *, viewer: User, settings: Settings, base_url: str) -> paper.ReceiptSlip:
    """What the receipt of a dossier prints, for the counter's staff who may see it."""
    dossier = dossiers.get_dossier(session, code)
    parcels = list(session.execute(select(Parcel).where(Parcel.dossier_id == dossier.id)).scalars())
    scope.check_counter_dossier(session, viewer, dossier, parcels)  # it prints the applicant's full contact
    center, agency = session.get(Site, dossier.center_id), session.get(Site, dossier.agency_id)
    procedure = session.execute(select(Procedure.processing_days).where(
        Procedure.name == dossier.procedure, Procedure.agency_id == dossier.agency_id)).scalars().first()
    clerk = session.get(User, dossier.created_by_id) if dossier.created_by_id else None
    return paper.ReceiptSlip(
        province_body=f"UBND tỉnh {settings.province}", unit_name=center.name, place=settings.province,
        issued_on=local(dossier.received_at).date(), dossier_code=dossier.code, applicant_name=dossier.applicant_name,
        applicant_address=dossier.applicant_address, applicant_phone=dossier.applicant_phone,
        applicant_id_number=dossier.applicant_id_number, procedure=dossier.procedure, agency_name=agency.name,
        items=dossier.items, processing_days=procedure, received_at=as_utc(dossier.received_at),
        due_at=as_utc(dossier.due_at), due_reason=dossier.due_reason, return_method=return_words(dossier, center),
        notes=dossier.notes, receiver=(clerk.full_name or clerk.username) if clerk else "",
        track_url=f"{base_url}/track?code={dossier.code}",
    )


def return_words(dossier: Dossier, center: Site) -> str:
    """How the result comes back, as the citizen reads it on the receipt."""
    if dossier.return_method != "home":
        return f"Tại {center.name}"
    ward = delivery.ward_of(dossier.applicant_ward_code) if dossier.applicant_ward_code else None
    where = ", ".join(part for part in (dossier.applicant_address, ward.name if ward else None) if part)
    slot = SLOT_NAMES.get(dossier.return_slot or "", "")
    return f"Tại nhà qua bưu điện: {where}" + (f" ({slot} ngày hẹn trả)" if slot else "")


def receipt_pdf(session: Session, code: str, *, viewer: User, settings: Settings, base_url: str = "") -> bytes:
    """The receipt and appointment slip (mẫu 01) of a dossier; reading it changes nothing."""
    return paper.render_receipt(receipt_slip(session, code, viewer=viewer, settings=settings, base_url=base_url),
                                font_dir=settings.font_dir)


def papers_pdf(session: Session, code: str, *, viewer: User, settings: Settings, base_url: str = "") -> bytes:
    """The receipt and the label of the dossier's first parcel in one PDF: one print after saving."""
    slip = receipt_slip(session, code, viewer=viewer, settings=settings, base_url=base_url)
    label = printing.label_paper(session, first_parcel(session, slip.dossier_code), viewer=viewer, settings=settings)
    return printing.bundle(slip, label, font_dir=settings.font_dir)
