"""Dossier statuses that no scan changes, told to the one-stop system by the status webhook, in the
transaction that changes them: a parcel made for a dossier (its result ready at the agency, or the leg to the
citizen's door begun) and a dossier past its day (late, then late again past an apology's new day).

The scans' own status changes are told by notifications.on_scans; an apology by postal/apologies.py."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlmodel import Session

from models import AlertKind, User
from models.dossiers import ParcelIn, ParcelOut
from postal import db, dossiers, notifications
from postal.clock import as_utc
from postal.config import Settings

LATE_KINDS = (AlertKind.OVERDUE, AlertKind.OVERDUE_AGAIN)


def add_parcel(session: Session, code: str, data: ParcelIn, *, actor: User, settings: Settings, now: datetime,
               base_url: str = "") -> ParcelOut:
    """A new parcel for a dossier (dossiers.add_parcel), and the status it gives the dossier told to the
    one-stop system when it changes one (a result's label made at the agency: result_ready). One unit of work."""
    with db.writing(session):
        dossier = dossiers.get_dossier(session, code)
        before = dossiers.status_of(dossiers.parcels_of(session, dossier), dossier)
        made = dossiers.add_parcel(session, dossier.code, data, actor=actor, settings=settings, now=now,
                                   base_url=base_url)
        after = dossiers.status_of(dossiers.parcels_of(session, dossier), dossier)
        if after != before:
            notifications.queue_status_webhook(
                session, settings, dossier_code=dossier.code, status=after, previous_status=before,
                at=as_utc(now), dedupe_key=f"{made.code}:webhook:status", parcel=made.code, action="label",
                site=made.origin.code)
    return made


class LateRow(NamedTuple):
    """An alert the watch opened just now on a dossier past its day, and that day."""

    alert_id: int
    kind: str
    dossier_code: str
    due_at: object


LATE_SQL = ("SELECT a.id, a.kind, d.code, d.due_at FROM alert a JOIN dossier d ON d.id = a.subject_id "
            "WHERE a.subject_type = 'dossier' AND a.kind = ? AND a.opened_at = ? ORDER BY a.id")


def tell_late(session: Session, settings: Settings | None, kind: AlertKind, at: datetime) -> int:
    """Each dossier the watch found late at `at` (its overdue or overdue_again alert just opened), told to the
    one-stop system once per alert, in the sweep's transaction; how many were queued. Nothing without a webhook."""
    if settings is None or not settings.webhook_url or kind not in LATE_KINDS:
        return 0
    queued = 0
    for row in db.raw(session, LATE_SQL, (str(kind), db.time_param(session, at))).into(LateRow):
        queued += notifications.queue_status_webhook(
            session, settings, dossier_code=row.dossier_code, status="late", at=as_utc(at),
            dedupe_key=f"alert:{row.alert_id}:webhook:late", again=row.kind == AlertKind.OVERDUE_AGAIN,
            due=as_utc(db.time_read(row.due_at)).isoformat())
    return queued
