"""Alerts: opened once per (kind, subject), acknowledged by a person, resolved with a note."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from models import Alert, AlertKind, AlertState, Severity

SEVERITY = {
    AlertKind.MISSED_RUN: Severity.WARNING,
    AlertKind.LATE_IN_TRANSIT: Severity.WARNING,
    AlertKind.AWAITING_RECEIPT: Severity.WARNING,
    AlertKind.SUSPECTED_LOSS: Severity.CRITICAL,
    AlertKind.BAG_MISMATCH: Severity.CRITICAL,
    AlertKind.DUE_AT_RISK: Severity.WARNING,
    AlertKind.OVERDUE: Severity.CRITICAL,
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
    session.add(alert)
    session.flush()
    return alert


def resolve_for(session: Session, kinds: list[AlertKind], *, subject_type: str, subject_id: int, at: datetime, note: str) -> int:
    """Resolve, with a note saying why, the unresolved alerts of these kinds on a subject."""
    alerts = session.exec(  # type: ignore[call-overload]
        select(Alert).where(
            Alert.kind.in_(kinds), Alert.subject_type == subject_type, Alert.subject_id == subject_id,
            Alert.state != AlertState.RESOLVED,
        )
    ).scalars().all()
    for alert in alerts:
        alert.state = AlertState.RESOLVED
        alert.resolved_at = at
        alert.note = f"{alert.note}\n{note}".strip() if alert.note else note
    return len(alerts)
