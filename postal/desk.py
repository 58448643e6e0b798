"""The agency desk: an agency clerk's worklist of the dossiers their agency decides, a handed-over parcel
received from the list, and the result sent back in one action (its parcel made, accepted at the agency, so
that it goes on the next run back)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from models import Action, Direction, Dossier, Parcel, ParcelState, ReturnMethod, Role, Site, User
from models.desk import DeskOut, DeskRowOut, ResultSentOut
from models.dossiers import ParcelIn
from postal import db, dossiers, statuses
from postal.clock import as_utc, local
from postal.config import Settings
from postal.custody import record_scans
from postal.errors import N_, Conflict, Forbidden
from postal.workdays import DEFAULT_CALENDAR, Calendar

DUE_SOON_WORKING_DAYS = 2  # a dossier in progress due within this many working days is flagged
GROUPS = ("awaiting_receipt", "in_progress", "due_soon", "late", "coming", "result_sent")
RESULT_DIRECTIONS = (Direction.TO_CENTER, Direction.TO_CITIZEN)


def agency_of(session: Session, viewer: User) -> Site:
    """The agency whose desk this is: the viewer's own (an agency clerk), never another's."""
    site = session.get(Site, viewer.site_id) if viewer.site_id else None
    if viewer.role != Role.AGENCY_CLERK or site is None:
        raise Forbidden(role=viewer.role)
    return site


def worklist(session: Session, viewer: User, *, now: datetime, calendar: Calendar = DEFAULT_CALENDAR) -> DeskOut:
    """The agency's open dossiers: handed over and awaiting receipt, in progress (due soon, late), on their
    way to the agency, and those whose result left today; counts per group."""
    agency = agency_of(session, viewer)
    open_dossiers = session.execute(select(Dossier).where(Dossier.agency_id == agency.id, Dossier.returned_at.is_(None))
                                    .order_by(Dossier.due_at, Dossier.id)).scalars().all()
    parcels: dict[int, list[Parcel]] = defaultdict(list)
    if open_dossiers:
        for parcel in session.execute(select(Parcel).where(Parcel.dossier_id.in_([d.id for d in open_dossiers]))
                                      .order_by(Parcel.id)).scalars():
            parcels[parcel.dossier_id].append(parcel)
    soon = calendar.add_working_days(local(now).date(), DUE_SOON_WORKING_DAYS)
    rows = [row for d in open_dossiers if (row := desk_row(d, parcels[d.id], agency, now, soon)) is not None]
    counts = {group: sum(r.group == group for r in rows) for group in GROUPS}
    return DeskOut(agency=agency.name, counts=counts, dossiers=rows)


def desk_row(dossier: Dossier, parcels: list[Parcel], agency: Site, now: datetime, soon) -> DeskRowOut | None:
    result = next((p for p in reversed(parcels) if p.direction in RESULT_DIRECTIONS), None)
    outgoing = next((p for p in reversed(parcels) if p.direction == Direction.TO_AGENCY), None)
    late = as_utc(dossier.due_at) < as_utc(now)
    if result is not None:
        if result.holder_site_id != agency.id:
            return None  # on its way back: no longer this desk's
        group, parcel = "result_sent", result
    elif outgoing is None:
        return None
    elif outgoing.state == ParcelState.AWAITING_RECEIPT and outgoing.holder_site_id == agency.id:
        group, parcel = "awaiting_receipt", outgoing
    elif outgoing.state == ParcelState.AT_SITE and outgoing.holder_site_id == agency.id:
        parcel = outgoing
        group = "late" if late else "due_soon" if local(dossier.due_at).date() <= soon else "in_progress"
    else:
        group, parcel = "coming", outgoing
    return DeskRowOut(code=dossier.code, procedure=dossier.procedure, applicant=dossier.applicant_name,
                      received_at=as_utc(dossier.received_at), due_at=as_utc(dossier.due_at), group=group,
                      parcel=parcel.code, parcel_state=parcel.state, late=late)


def receive(session: Session, parcel_code: str, *, actor: User, settings: Settings, now: datetime) -> str:
    """Confirm receipt of a parcel handed over at the agency, as a scan of its code would (typed, not scanned)."""
    agency = agency_of(session, actor)
    return scan_as(session, parcel_code, Action.RECEIVE, site=agency, actor=actor, settings=settings, now=now)


def send_result(session: Session, code: str, *, actor: User, settings: Settings, now: datetime,
                base_url: str = "") -> ResultSentOut:
    """The result of a dossier decided here goes back: its parcel is made (to where the citizen collects it,
    or to the citizen's door), accepted at the agency by this clerk, and so goes on the next run back. One
    unit of work."""
    agency = agency_of(session, actor)
    with db.writing(session):
        dossier = dossiers.get_dossier(session, code)
        if dossier.agency_id != agency.id:
            raise Forbidden(role=actor.role)
        parcels = session.execute(select(Parcel).where(Parcel.dossier_id == dossier.id)).scalars().all()
        if dossier.returned_at is not None or any(p.direction in RESULT_DIRECTIONS for p in parcels):
            raise Conflict(N_("Kết quả hồ sơ %(code)s đã được gửi trả rồi."), code=dossier.code)
        received = [p for p in parcels if p.direction == Direction.TO_AGENCY and p.state == ParcelState.AT_SITE
                    and p.holder_site_id == agency.id]
        if not received:
            raise Conflict(N_("Hồ sơ %(code)s chưa được xác nhận nhận tại %(agency)s: hãy nhận bì hồ sơ trước."),
                           code=dossier.code, agency=agency.name)
        direction = Direction.TO_CITIZEN if dossier.return_method == ReturnMethod.HOME else Direction.TO_CENTER
        made = statuses.add_parcel(session, dossier.code, ParcelIn(direction=direction, origin=agency.code),
                                   actor=actor, settings=settings, now=now)
        scan_as(session, made.code, Action.ACCEPT, site=agency, actor=actor, settings=settings, now=now)
    return ResultSentOut(dossier=dossier.code, parcel=made.code, label_url=f"{base_url}/api/v1/parcels/{made.code}/label.png")


def scan_as(session: Session, code: str, action: Action, *, site: Site, actor: User, settings: Settings,
            now: datetime) -> str:
    """One scan of a typed code by the clerk at their desk; the parcel's code, or the refusal raised."""
    scan = {"id": str(uuid.uuid4()), "label": code, "action": str(action), "site": site.code, "at": as_utc(now).isoformat()}
    [outcome] = record_scans(session, [scan], actor=actor, settings=settings, now=now)
    if outcome.error is not None:  # refused: the reason the scan would have been given
        raise outcome.error
    return code
