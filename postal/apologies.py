"""The apology and re-appointment (mẫu 04) as an act: a clerk or supervisor issues it for a dossier that is
late or at risk, choosing the new appointment day (a working day, within a sane bound) and writing why.
Each issue is kept (who, when, the new day, the reason); the slip prints from that record by a plain GET;
the citizen is told once, by SMS through the outbox, and reads it on /track. Nothing else writes one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session

from models import ApologySlip, Dossier, Parcel, Site, User
from models.dossiers import ApologyIn, ApologyOut
from models.enums import REGISTRARS
from postal import db, dossiers, notifications, scope, workdays
from postal.clock import as_utc, local
from postal.config import Settings
from postal.documents import apology as paper
from postal.errors import N_, Forbidden, NotFound, NotLate, Phrase, Unprocessable
from postal.workdays import DEFAULT_CALENDAR, Calendar

MAX_WORKING_DAYS = 60  # a new appointment further than this many working days away is refused


def latest_due(session: Session, dossier: Dossier) -> date:
    """The day the dossier is due now: the latest issued apology's new day, else the original appointment's."""
    issued = session.execute(select(ApologySlip.new_due).where(ApologySlip.dossier_id == dossier.id)
                             .order_by(ApologySlip.issued_at.desc(), ApologySlip.id.desc()).limit(1)).scalar()
    return issued or local(dossier.due_at).date()


def issue(session: Session, code: str, data: ApologyIn, *, actor: User, settings: Settings, now: datetime,
          calendar: Calendar = DEFAULT_CALENDAR) -> ApologyOut:
    """Record an apology with its new appointment day and reason, and queue the citizen's SMS; one unit of work."""
    if actor.role not in REGISTRARS:
        raise Forbidden(role=actor.role)
    with db.writing(session):
        dossier = dossiers.get_dossier(session, code)
        parcels = list(session.execute(select(Parcel).where(Parcel.dossier_id == dossier.id)).scalars())
        scope.check_dossier(session, actor, dossier, parcels)
        today, due = local(now).date(), latest_due(session, dossier)
        at_risk = calendar.add_working_days(today, settings.watch_risk_working_days)
        if dossier.returned_at is not None or due > at_risk:
            raise NotLate(code=dossier.code, due=due.strftime("%d/%m/%Y"))
        check_new_due(data.new_due, today=today, due=due, calendar=calendar)
        reason = data.reason.strip()
        if not reason:
            raise Unprocessable(field=Phrase(N_("lý do")), detail=Phrase(N_("cần ghi lý do hẹn lại")))
        slip = ApologySlip(dossier_id=dossier.id, new_due=data.new_due, reason=reason, issued_at=now,
                           issued_by_id=actor.id)
        session.add(slip)
        session.flush()
        notifications.queue_citizen(session, settings, phone=dossier.applicant_phone, kind="apology",
                                    text=notifications.apology_text(dossier.code, data.new_due), at=now,
                                    data={"dossier_code": dossier.code, "new_due_date": f"{data.new_due:%d/%m/%Y}"},
                                    dedupe_key=f"apology:{slip.id}:sms")
        notifications.queue_status_webhook(session, settings, dossier_code=dossier.code, status="apology",
                                           at=as_utc(now), dedupe_key=f"apology:{slip.id}:webhook",
                                           new_due=data.new_due.isoformat(), previous_due=due.isoformat())
    return apology_out(session, dossier, slip, previous=due)


def check_new_due(new_due: date, *, today: date, due: date, calendar: Calendar) -> None:
    """A working day after today and after the day it was due, at most MAX_WORKING_DAYS working days away."""
    if new_due <= max(today, due):
        raise Unprocessable(field=Phrase(N_("ngày hẹn mới")),
                            detail=Phrase(N_("phải sau hôm nay và sau ngày hẹn %(due)s"), due=due.strftime("%d/%m/%Y")))
    if not calendar.is_working_day(new_due):
        raise Unprocessable(field=Phrase(N_("ngày hẹn mới")), detail=Phrase(N_("phải là ngày làm việc")))
    if new_due > calendar.add_working_days(today, MAX_WORKING_DAYS):
        raise Unprocessable(field=Phrase(N_("ngày hẹn mới")),
                            detail=Phrase(N_("không quá %(days)s ngày làm việc kể từ hôm nay"), days=MAX_WORKING_DAYS))


def issued(session: Session, dossier: Dossier) -> list[ApologyOut]:
    """Every apology issued for the dossier, oldest first, each with the day it moved the appointment from."""
    slips = session.execute(select(ApologySlip).where(ApologySlip.dossier_id == dossier.id)
                            .order_by(ApologySlip.issued_at, ApologySlip.id)).scalars().all()
    out, previous = [], local(dossier.due_at).date()
    for slip in slips:
        out.append(apology_out(session, dossier, slip, previous=previous))
        previous = slip.new_due
    return out


def apology_out(session: Session, dossier: Dossier, slip: ApologySlip, *, previous: date) -> ApologyOut:
    by = session.get(User, slip.issued_by_id) if slip.issued_by_id else None
    return ApologyOut(id=slip.id, dossier=dossier.code, issued_at=as_utc(slip.issued_at),
                      issued_by=(by.full_name or by.username) if by else "", previous_due=previous,
                      new_due=slip.new_due, reason=slip.reason,
                      pdf_url=f"/api/v1/dossiers/{dossier.code}/apologies/{slip.id}.pdf")


def slip_pdf(session: Session, code: str, apology_id: int, *, viewer: User, settings: Settings) -> bytes:
    """The slip of an issued apology, as it was issued: reading it changes nothing."""
    dossier = dossiers.get_dossier(session, code)
    parcels = list(session.execute(select(Parcel).where(Parcel.dossier_id == dossier.id)).scalars())
    scope.check_dossier(session, viewer, dossier, parcels)
    found = {a.id: a for a in issued(session, dossier)}
    if apology_id not in found:
        raise NotFound(what=Phrase(N_("phiếu xin lỗi")), code=apology_id)
    slip = found[apology_id]
    center = session.get(Site, dossier.center_id)
    return paper.render_apology_slip(font_dir=settings.font_dir, slip=paper.ApologySlip(
        province_body=f"UBND tỉnh {settings.province}", unit_name=center.name, place=settings.province,
        number=str(slip.id), issued_on=local(slip.issued_at).date(), applicant_name=dossier.applicant_name,
        applicant_address=dossier.applicant_address, dossier_code=dossier.code, procedure=dossier.procedure,
        received_at=as_utc(dossier.received_at), due_at=as_utc(dossier.due_at), new_due=slip.new_due,
        reason=slip.reason, signer=slip.issued_by or None,
    ))


@dataclass(frozen=True)
class Panel:
    """What the dossier page shows of apologies: those issued, and whether (and from when) one may be."""

    issued: list[ApologyOut]
    may_issue: bool
    due: date
    earliest: date  # the first day the form offers
    latest: date


def panel(session: Session, code: str, *, viewer: User, settings: Settings, now: datetime,
          calendar: Calendar = workdays.DEFAULT_CALENDAR) -> Panel:
    dossier = dossiers.get_dossier(session, code)
    today, due = local(now).date(), latest_due(session, dossier)
    at_risk = calendar.add_working_days(today, settings.watch_risk_working_days)
    may = viewer.role in REGISTRARS and dossier.returned_at is None and due <= at_risk
    return Panel(issued=issued(session, dossier), may_issue=may, due=due,
                 earliest=calendar.add_working_days(max(today, due), 1),
                 latest=calendar.add_working_days(today, MAX_WORKING_DAYS))
