"""Dossiers: registered with their first parcel, read back with status and custody timeline."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import phonenumbers
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models import Bag, CustodyEvent, Direction, Dossier, Parcel, ParcelState, Site, SiteKind, User
from models.dossiers import (
    ApplicantOut,
    DossierCreatedOut,
    DossierDetailOut,
    DossierIn,
    DossierOut,
    EventOut,
    HolderRefOut,
    LabelOut,
    ParcelIn,
    ParcelOut,
    SiteRefOut,
)
from models.enums import POSTAL_DESK, REGISTRARS
from postal import db, labels, runs, scope
from postal.clock import as_utc
from postal.config import Settings
from postal.errors import N_, DossierExists, Forbidden, NotFound, Phrase, Unprocessable
from postal.replays import fingerprint

RECEIVING_KINDS = scope.RECEIVING_KINDS


def site_by_code(session: Session, code: str, field: str) -> Site:
    site = session.execute(select(Site).where(Site.code == code)).scalars().first()
    if site is None:
        raise Unprocessable(field=field, detail=Phrase(N_("không có điểm mã %(code)s"), code=code))
    return site


def normalise_phone(phone: str, field: str = "applicant.phone") -> str:
    """A Vietnamese phone number in national form (0xxxxxxxxx), or 422 naming the field."""
    try:
        number = phonenumbers.parse(phone, "VN")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise Unprocessable(field=field, detail=Phrase(N_("số điện thoại không hợp lệ")))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL).replace(" ", "")


def register(session: Session, data: DossierIn, *, actor: User, settings: Settings, now: datetime,
             base_url: str = "") -> tuple[DossierCreatedOut, bool]:
    """Register a dossier and its first parcel (to the agency); the same dossier again answers the first answer,
    another one under the same code is refused naming what differs. Its own unit of work, or a part of the
    caller's (an import's chunk)."""
    if actor.role not in REGISTRARS:
        raise Forbidden(role=actor.role)
    with db.writing(session):
        existing = session.execute(select(Dossier).where(Dossier.code == data.code)).scalars().first()
        if existing is None:
            agency, origin = checked_places(session, data, actor=actor, settings=settings, now=now)
            applicant = data.applicant
            dossier = Dossier(
                code=data.code, procedure=data.procedure, agency_id=agency.id, center_id=origin.id,
                applicant_name=applicant.name.strip(), applicant_phone=normalise_phone(applicant.phone),
                applicant_address=applicant.address, applicant_ward_code=applicant.ward_code,
                applicant_id_number=applicant.id_number or None, received_at=data.received_at, due_at=data.due_at,
                return_method=data.return_method, return_slot=data.return_slot, items=data.items, notes=data.notes,
                due_reason=data.due_reason, request_hash=fingerprint(data.model_dump(mode="json")),
                created_by_id=actor.id, created_at=now,
            )
            try:
                with session.begin_nested():
                    session.add(dossier)
            except IntegrityError:  # registered a moment ago by another worker
                existing = session.execute(select(Dossier).where(Dossier.code == data.code)).scalars().one()
        if existing is not None:
            return replay(session, existing, data, actor, settings, now, base_url), False
        parcel = new_parcel(session, dossier, Direction.TO_AGENCY, origin=origin, destination=agency, now=now)
        answer = DossierCreatedOut(dossier=dossier_out(session, dossier, actor, now),
                                   parcel=label_out(parcel.code, settings, base_url))
    return answer, True


def checked_places(session: Session, data: DossierIn, *, actor: User, settings: Settings,
                   now: datetime) -> tuple[Site, Site]:
    """The agency and the receiving site of a new dossier, once its times are checked; 422 naming the field."""
    if data.due_at < data.received_at:
        raise Unprocessable(field="due_at", detail=Phrase(N_("ngày hẹn trả trước ngày tiếp nhận")))
    if data.received_at > now + timedelta(seconds=settings.max_clock_skew_s):
        raise Unprocessable(field="received_at", detail=Phrase(N_("thời điểm ở tương lai")))
    agency = site_by_code(session, data.agency, "agency")
    if agency.kind != SiteKind.AGENCY:
        raise Unprocessable(field="agency", detail=Phrase(N_("%(code)s không phải cơ quan giải quyết"), code=agency.code))
    origin_code = origin_of(session, data, actor)
    if origin_code is None:
        raise Unprocessable(field="origin", detail=Phrase(N_("cần nêu nơi tiếp nhận")))
    origin = site_by_code(session, origin_code, "origin")
    if origin.kind not in RECEIVING_KINDS:
        raise Unprocessable(field="origin", detail=Phrase(N_("%(code)s không phải nơi tiếp nhận hồ sơ"), code=origin.code))
    scope.check_register(session, actor, origin, agency)
    return agency, origin


def origin_of(session: Session, data: DossierIn, actor: User) -> str | None:
    """Where the dossier is received: the body's origin, else the caller's own site."""
    return data.origin or (session.get(Site, actor.site_id).code if actor.site_id else None)


# What a dossier registered twice is compared on, with the words a clerk knows it by.
FIELD_NAMES = {
    "procedure": N_("thủ tục"), "agency": N_("cơ quan giải quyết"), "origin": N_("nơi tiếp nhận"),
    "applicant.name": N_("họ tên người nộp"), "applicant.phone": N_("số điện thoại"),
    "applicant.address": N_("địa chỉ"), "applicant.ward_code": N_("xã, phường"),
    "applicant.id_number": N_("số giấy tờ tùy thân"), "received_at": N_("thời điểm tiếp nhận"),
    "due_at": N_("ngày hẹn trả"), "return_method": N_("hình thức trả kết quả"), "return_slot": N_("buổi trả tại nhà"),
    "items": N_("số lượng"), "notes": N_("ghi chú"), "due_reason": N_("lý do điều chỉnh ngày hẹn"),
}


def differences(session: Session, dossier: Dossier, data: DossierIn, actor: User) -> list[str]:
    """The fields in which `data` is another dossier than the one registered under its code (API names)."""
    a = data.applicant
    given = {
        "procedure": data.procedure, "agency": data.agency.strip().upper(), "origin": origin_of(session, data, actor),
        "applicant.name": a.name.strip(), "applicant.phone": normalise_phone(a.phone), "applicant.address": a.address,
        "applicant.ward_code": a.ward_code, "applicant.id_number": a.id_number or None,
        "received_at": as_utc(data.received_at), "due_at": as_utc(data.due_at), "return_method": data.return_method,
        "return_slot": data.return_slot, "items": data.items, "notes": data.notes, "due_reason": data.due_reason,
    }
    kept = {
        "procedure": dossier.procedure, "agency": session.get(Site, dossier.agency_id).code.upper(),
        "origin": session.get(Site, dossier.center_id).code, "applicant.name": dossier.applicant_name,
        "applicant.phone": dossier.applicant_phone, "applicant.address": dossier.applicant_address,
        "applicant.ward_code": dossier.applicant_ward_code, "applicant.id_number": dossier.applicant_id_number,
        "received_at": as_utc(dossier.received_at), "due_at": as_utc(dossier.due_at),
        "return_method": dossier.return_method, "return_slot": dossier.return_slot, "items": dossier.items,
        "notes": dossier.notes, "due_reason": dossier.due_reason,
    }
    return [name for name in FIELD_NAMES if given[name] != kept[name] and not (name == "origin" and given[name] is None)]


def replay(session: Session, dossier: Dossier, data: DossierIn, actor: User, settings: Settings,
           now: datetime, base_url: str) -> DossierCreatedOut:
    """The first answer again for the same dossier, to whoever may see it; 409 naming each field that differs
    for another one."""
    parcels = parcels_of(session, dossier)
    scope.check_dossier(session, actor, dossier, parcels)
    if differing := differences(session, dossier, data, actor):
        words = {f"f{i}": Phrase(N_("%(name)s (%(field)s)"), name=Phrase(FIELD_NAMES[f]), field=f)
                 for i, f in enumerate(differing)}
        listed = Phrase(", ".join(f"%({key})s" for key in words), **words)
        raise DossierExists(code=dossier.code, fields=listed, names=differing)
    first = parcels[0]
    return DossierCreatedOut(dossier=dossier_out(session, dossier, actor, now), parcel=label_out(first.code, settings, base_url))


def new_parcel(session: Session, dossier: Dossier, direction: str, *, origin: Site, destination: Site | None,
               now: datetime) -> Parcel:
    """A parcel with a fresh label code; the caller commits."""
    for _ in range(20):
        code = labels.random_code(labels.PARCEL_PREFIX)
        if session.execute(select(Parcel.id).where(Parcel.code == code)).first() is None:
            break
    parcel = Parcel(code=code, dossier_id=dossier.id, direction=direction, origin_id=origin.id,
                    destination_id=destination.id if destination else None, state=ParcelState.CREATED,
                    created_at=now)
    session.add(parcel)
    session.flush()
    return parcel


def add_parcel(session: Session, code: str, data: ParcelIn, *, actor: User, settings: Settings, now: datetime,
               base_url: str = "") -> ParcelOut:
    """A new parcel for a dossier: the agency's result going back, or a dossier returned."""
    if actor.role not in REGISTRARS:
        raise Forbidden(role=actor.role)
    with db.writing(session):
        dossier = get_dossier(session, code)
        origin = site_by_code(session, data.origin, "origin")
        parcels = parcels_of(session, dossier)
        scope.check_new_parcel(session, actor, dossier, parcels, origin)
        destinations = {
            Direction.TO_AGENCY: dossier.agency_id,
            Direction.TO_CENTER: dossier.center_id,
            Direction.FROM_CITIZEN: dossier.center_id,
            Direction.TO_CITIZEN: None,
        }
        destination_id = destinations[Direction(data.direction)]
        destination = session.get(Site, destination_id) if destination_id else None
        parcel = new_parcel(session, dossier, data.direction, origin=origin, destination=destination, now=now)
    return parcel_out(session, parcel, settings, base_url)


def parcels_of(session: Session, dossier: Dossier) -> list[Parcel]:
    """Every parcel of the dossier, oldest first."""
    return list(session.execute(select(Parcel).where(Parcel.dossier_id == dossier.id).order_by(Parcel.id)).scalars())


def get_dossier(session: Session, code: str) -> Dossier:
    typed = code.strip()
    dossier = session.execute(select(Dossier).where(Dossier.code.in_({typed, typed.upper()}))).scalars().first()
    if dossier is None:
        raise NotFound(what=Phrase(N_("hồ sơ")), code=code)
    return dossier


def get_parcel(session: Session, code: str) -> Parcel:
    parcel = session.execute(select(Parcel).where(Parcel.code == code.strip().upper())).scalars().first()
    if parcel is None:
        raise NotFound(what=Phrase(N_("bì hồ sơ")), code=code)
    return parcel


def label_out(code: str, settings: Settings, base_url: str) -> LabelOut:
    return LabelOut(code=code, qr_payload=labels.qr_payload(settings.label_key, code),
                    label_url=f"{base_url}/api/v1/parcels/{code}/label.png")


def mask_phone(phone: str) -> str:
    """0912345678 → 09******78."""
    return phone[:2] + "*" * max(0, len(phone) - 4) + phone[-2:] if len(phone) > 4 else "****"


def latest_parcel(parcels: list):
    """The parcel that tells where a dossier is: the one that moved (or, unmoved, was labelled) last.
    A pick-up only booked (a from_citizen parcel not yet handed in) decides nothing while another exists."""
    deciding = [p for p in parcels if p.last_event_at is not None or p.direction != Direction.FROM_CITIZEN]
    candidates = deciding or parcels
    moved = [p for p in candidates if p.last_event_at is not None]
    unmoved = [p for p in candidates if p.last_event_at is None]
    newest_moved = max(moved, key=lambda p: (as_utc(p.last_event_at), p.id)) if moved else None
    newest_unmoved = max(unmoved, key=lambda p: p.id) if unmoved else None
    if newest_moved is None or (newest_unmoved is not None and newest_unmoved.id > newest_moved.id):
        return newest_unmoved  # a label printed after the last move: the next leg has begun
    return newest_moved


def status_of(parcels: list[Parcel], dossier: Dossier) -> str:
    """Where the dossier stands, from its latest parcel."""
    if dossier.returned_at is not None:
        return "returned"
    if not parcels:
        return "registered"
    latest = latest_parcel(parcels)
    if latest.state == ParcelState.MISSING:
        return "missing"
    if latest.state == ParcelState.CREATED:
        return "result_ready" if latest.direction in (Direction.TO_CENTER, Direction.TO_CITIZEN) else "registered"
    arrived = latest.state == ParcelState.AT_SITE and latest.holder_site_id == latest.destination_id
    if latest.direction == Direction.TO_AGENCY:
        if arrived:
            return "at_agency"
        return "received" if latest.holder_site_id == latest.origin_id and latest.state == ParcelState.AT_SITE else "to_agency"
    if latest.direction in (Direction.TO_CENTER, Direction.FROM_CITIZEN):
        return "ready_for_return" if arrived else "returning"
    if latest.state == ParcelState.OUT_FOR_DELIVERY:
        return "out_for_delivery"
    return "ready_for_delivery" if latest.state == ParcelState.AT_SITE else "returning"


def dossier_out(session: Session, dossier: Dossier, viewer: User | None, now: datetime,
                parcels: list[Parcel] | None = None) -> DossierOut:
    if parcels is None:
        parcels = parcels_of(session, dossier)
    agency, center = session.get(Site, dossier.agency_id), session.get(Site, dossier.center_id)
    full_contact = viewer is not None and viewer.role in POSTAL_DESK  # they call or deliver to the citizen
    late_at = dossier.returned_at or now
    return DossierOut(
        code=dossier.code, procedure=dossier.procedure,
        agency=SiteRefOut(code=agency.code, name=agency.name), center=SiteRefOut(code=center.code, name=center.name),
        applicant=ApplicantOut(
            name=dossier.applicant_name,
            phone=dossier.applicant_phone if full_contact else mask_phone(dossier.applicant_phone),
            address=dossier.applicant_address if full_contact else None,
            ward_code=dossier.applicant_ward_code,
            id_number=dossier.applicant_id_number if full_contact else None,
        ),
        received_at=as_utc(dossier.received_at), due_at=as_utc(dossier.due_at), return_method=dossier.return_method,
        status=status_of(parcels, dossier), late=as_utc(late_at) > as_utc(dossier.due_at),
        returned_at=as_utc(dossier.returned_at) if dossier.returned_at else None,
        return_slot=dossier.return_slot, items=dossier.items, notes=dossier.notes, due_reason=dossier.due_reason,
    )


def dossier_detail(session: Session, code: str, *, viewer: User, settings: Settings, now: datetime,
                   base_url: str = "") -> DossierDetailOut:
    dossier = get_dossier(session, code)
    parcels = parcels_of(session, dossier)
    scope.check_dossier(session, viewer, dossier, parcels)
    return DossierDetailOut(
        dossier=dossier_out(session, dossier, viewer, now, parcels),
        parcels=[parcel_out(session, p, settings, base_url) for p in parcels],
    )


def parcel_for(session: Session, code: str, *, viewer: User) -> Parcel:
    """A parcel, for a viewer who may see its dossier."""
    parcel = get_parcel(session, code)
    dossier = session.get(Dossier, parcel.dossier_id)
    parcels = parcels_of(session, dossier)
    scope.check_dossier(session, viewer, dossier, parcels)
    return parcel


def holder_of(session: Session, parcel: Parcel) -> HolderRefOut:
    if parcel.state == ParcelState.IN_TRANSIT and parcel.holder_user_id:
        user = session.get(User, parcel.holder_user_id)
        return HolderRefOut(type="courier", code=user.username, name=user.full_name or user.username)
    if parcel.holder_site_id:
        site = session.get(Site, parcel.holder_site_id)
        return HolderRefOut(type="site", code=site.code, name=site.name)
    return HolderRefOut(type="none")


def timeline(session: Session, parcel: Parcel) -> list[EventOut]:
    """The parcel's custody events in order: the digital control sheet (mẫu 05)."""
    rows = session.execute(
        select(CustodyEvent, Site.code, Site.name, User.username)
        .outerjoin(Site, Site.id == CustodyEvent.site_id)
        .outerjoin(User, User.id == CustodyEvent.actor_id)
        .where(CustodyEvent.parcel_id == parcel.id).order_by(CustodyEvent.seq)
    ).all()
    return [
        EventOut(
            id=str(e.id), seq=e.seq, action=e.action, at=as_utc(e.device_at), server_at=as_utc(e.server_at),
            site=SiteRefOut(code=site_code, name=site_name) if site_code else None, actor=username,
            from_holder=e.from_holder, to_holder=e.to_holder, run=e.run_id, note=e.note,
            evidence=json.loads(e.evidence) if e.evidence else None, hash=e.hash,
        )
        for e, site_code, site_name, username in rows
    ]


def parcel_out(session: Session, parcel: Parcel, settings: Settings, base_url: str = "") -> ParcelOut:
    origin = session.get(Site, parcel.origin_id)
    destination = session.get(Site, parcel.destination_id) if parcel.destination_id else None
    bag = session.get(Bag, parcel.bag_id) if parcel.bag_id else None
    return ParcelOut(
        code=parcel.code, state=parcel.state, holder=holder_of(session, parcel),
        dossier=session.get(Dossier, parcel.dossier_id).code, direction=parcel.direction,
        origin=SiteRefOut(code=origin.code, name=origin.name),
        destination=SiteRefOut(code=destination.code, name=destination.name) if destination else None,
        bag=bag.code if bag else None, run=runs.run_of_parcel(session, parcel.id),
        qr_payload=labels.qr_payload(settings.label_key, parcel.code),
        label_url=f"{base_url}/api/v1/parcels/{parcel.code}/label.png",
        timeline=timeline(session, parcel),
    )
