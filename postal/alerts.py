"""Alerts: opened once per (kind, subject), acknowledged by a person, resolved with a note."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models import Alert, AlertKind, AlertState, Severity, User
from models.alerts import AlertOut, AlertsOut, AlertSubjectOut
from models.enums import OVERSEERS, POSTAL_DESK
from postal import db, scope
from postal.clock import as_utc, local
from postal.errors import N_, AlertClosed, Forbidden, NotFound, Phrase, Unprocessable

SEVERITY = {
    AlertKind.MISSED_RUN: Severity.WARNING,
    AlertKind.LATE_IN_TRANSIT: Severity.WARNING,
    AlertKind.AWAITING_RECEIPT: Severity.WARNING,
    AlertKind.SUSPECTED_LOSS: Severity.CRITICAL,
    AlertKind.BAG_MISMATCH: Severity.CRITICAL,
    AlertKind.DUE_AT_RISK: Severity.WARNING,
    AlertKind.OVERDUE: Severity.CRITICAL,
    AlertKind.MISROUTED: Severity.CRITICAL,
    AlertKind.PROOF_LOCKED: Severity.CRITICAL,
    AlertKind.OVERDUE_AGAIN: Severity.CRITICAL,
    AlertKind.GATEWAY_FAULT: Severity.CRITICAL,
}


def open_alert(
    session: Session, kind: AlertKind, *, subject_type: str, subject_id: int, subject_code: str, at: datetime, note: str = ""
) -> Alert:
    """The open alert for this kind and subject, created if there is none; the caller commits."""
    existing = session.exec(  # type: ignore[call-overload]
        select(Alert).where(
            Alert.kind == kind, Alert.subject_type == subject_type, Alert.subject_id == subject_id,
            Alert.state != AlertState.RESOLVED,
        )
    ).scalars().first()
    if existing is not None:
        return existing
    alert = Alert(
        kind=kind, severity=SEVERITY[kind], subject_type=subject_type, subject_id=subject_id,
        subject_code=subject_code, opened_at=at, state=AlertState.OPEN, note=note,
    )
    try:
        with session.begin_nested():  # the sweep may open the same alert at this moment: one wins
            session.add(alert)
    except IntegrityError:
        return session.exec(  # type: ignore[call-overload]
            select(Alert).where(Alert.kind == kind, Alert.subject_type == subject_type,
                                Alert.subject_id == subject_id, Alert.state != AlertState.RESOLVED)
        ).scalars().one()
    return alert


def has_open(session: Session, kind: AlertKind, *, subject_type: str, subject_id: int) -> bool:
    """Whether the subject has an unresolved alert of this kind."""
    return session.execute(
        select(Alert.id).where(Alert.kind == kind, Alert.subject_type == subject_type, Alert.subject_id == subject_id,
                               Alert.state != AlertState.RESOLVED).limit(1)
    ).first() is not None


def resolve_for(session: Session, kinds: list[AlertKind], *, subject_type: str, subject_id: int, at: datetime, note: str) -> int:
    """Resolve, with a note saying why, the unresolved alerts of these kinds on a subject."""
    return resolve_many(session, kinds, subject_type=subject_type, notes={subject_id: note}, at=at)


RESOLVE_CHUNK = 1000


def resolve_many(session: Session, kinds: list[AlertKind], *, subject_type: str, notes: dict[int, str], at: datetime) -> int:
    """resolve_for over many subjects, each with its note: a query per thousand subjects, not one each
    (a batch of thousands of receipts clears whatever loss alerts its parcels had)."""
    ids = sorted(notes)
    resolved = 0
    for start in range(0, len(ids), RESOLVE_CHUNK):
        alerts = session.exec(  # type: ignore[call-overload]
            select(Alert).where(
                Alert.kind.in_(kinds), Alert.subject_type == subject_type,
                Alert.subject_id.in_(ids[start:start + RESOLVE_CHUNK]), Alert.state != AlertState.RESOLVED,
            )
        ).scalars().all()
        for alert in alerts:
            note = notes[alert.subject_id]
            alert.state = AlertState.RESOLVED
            alert.resolved_at = at
            alert.note = f"{alert.note}\n{note}".strip() if alert.note else note
        resolved += len(alerts)
    return resolved


# -- people at the board: list, acknowledge, resolve --------------------------------------------------------

LIST_LIMIT = 1000
MAX_ID = 2**31 - 1  # a larger id from a URL would break the query on PostgreSQL, not just miss
NOTE_MAX = 1000


def list_alerts(session: Session, *, viewer: User, state: str | None = None, kind: str | None = None,
                limit: int = LIST_LIMIT) -> AlertsOut:
    """Alerts, newest first; `state` may list several states separated by commas (open,acknowledged)."""
    if viewer.role not in POSTAL_DESK:  # who may read the alerts
        raise Forbidden(role=viewer.role)
    query = select(Alert, User.username).outerjoin(User, User.id == Alert.owner_id)
    if (within := scope.alert_filter(viewer)) is not None:  # only alerts about what the reader may see
        query = query.where(within)
    if state:
        states = [s.strip() for s in state.split(",") if s.strip()]
        if not states or any(s not in AlertState.__members__.values() for s in states):
            raise Unprocessable(field="state", detail=Phrase(N_("phải là %(values)s"), values=", ".join(AlertState)))
        query = query.where(Alert.state.in_(states))
    if kind:
        if kind not in AlertKind.__members__.values():
            raise Unprocessable(field="kind", detail=Phrase(N_("phải là %(values)s"), values=", ".join(AlertKind)))
        query = query.where(Alert.kind == kind)
    rows = session.execute(query.order_by(Alert.opened_at.desc(), Alert.id.desc()).limit(limit)).all()
    return AlertsOut(alerts=[alert_out(alert, owner) for alert, owner in rows])


def alert_out(alert: Alert, owner: str | None) -> AlertOut:
    return AlertOut(
        id=alert.id, kind=alert.kind, severity=alert.severity,
        subject=AlertSubjectOut(type=alert.subject_type, code=alert.subject_code), opened_at=as_utc(alert.opened_at),
        state=alert.state, owner=owner, note=alert.note, resolved_at=as_utc(alert.resolved_at) if alert.resolved_at else None,
    )


def locked(session: Session, alert_id: int) -> Alert:
    """The alert, locked for this write (PostgreSQL: FOR UPDATE; SQLite writers are serialised already)."""
    if not 0 < alert_id <= MAX_ID:
        raise NotFound(what=Phrase(N_("cảnh báo")), code=alert_id)
    alert = session.execute(select(Alert).where(Alert.id == alert_id).with_for_update()
                            .execution_options(populate_existing=True)).scalars().first()
    if alert is None:
        raise NotFound(what=Phrase(N_("cảnh báo")), code=alert_id)
    return alert


def closed(alert: Alert) -> AlertClosed:
    """A resolved alert stays resolved: acknowledging or resolving it again is a conflict."""
    return AlertClosed(alert=alert.id, at=local(alert.resolved_at).strftime("%H:%M %d/%m/%Y") if alert.resolved_at else "?")


def with_note(note: str, actor: User, added: str | None) -> str:
    """The alert's note with the person's words appended, signed."""
    added = (added or "").strip()
    if not added:
        return note
    line = f"{actor.username}: {added}"
    return (f"{note}\n{line}" if note else line)[:NOTE_MAX]


def acknowledge(session: Session, alert_id: int, *, actor: User, note: str | None, now: datetime) -> AlertOut:
    """Someone takes the alert on (open → acknowledged): they become its owner. Acknowledging again takes it over."""
    if actor.role not in OVERSEERS:
        raise Forbidden(role=actor.role)
    with db.writing(session):
        alert = locked(session, alert_id)
        if alert.state == AlertState.RESOLVED:
            raise closed(alert)
        alert.state, alert.owner_id, alert.note = AlertState.ACKNOWLEDGED, actor.id, with_note(alert.note, actor, note)
        session.add(alert)
    return alert_out(alert, actor.username)


def resolve(session: Session, alert_id: int, *, actor: User, note: str | None, now: datetime) -> AlertOut:
    """Someone closes the alert, saying why (the note is required); they become its owner."""
    if actor.role not in OVERSEERS:
        raise Forbidden(role=actor.role)
    if not (note or "").strip():
        raise Unprocessable(field="note", detail=Phrase(N_("cần ghi rõ lý do đóng cảnh báo")))
    with db.writing(session):
        alert = locked(session, alert_id)
        if alert.state == AlertState.RESOLVED:
            raise closed(alert)
        alert.state, alert.resolved_at, alert.owner_id = AlertState.RESOLVED, now, actor.id
        alert.note = with_note(alert.note, actor, note)
        session.add(alert)
    return alert_out(alert, actor.username)
