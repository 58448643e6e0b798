"""Alerts raised by the watch and by custody scans."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlalchemy import Index, String, text
from sqlmodel import Field, SQLModel

from models.columns import utc
from models.shapes import InShape


class Alert(SQLModel, table=True):
    """A loss or delay someone must look at; one open alert per (kind, subject)."""

    __tablename__ = "alert"
    __table_args__ = (
        # Partial unique index: at most one unresolved alert per kind and subject.
        Index(
            "uq_alert_open_subject", "kind", "subject_type", "subject_id", unique=True,
            sqlite_where=text("state != 'resolved'"), postgresql_where=text("state != 'resolved'"),
        ),
        # Every alert of a subject, resolved ones too: the sweep opens no second alert for a condition
        # someone already resolved (postal/watch.py).
        Index("ix_alert_subject", "subject_type", "subject_id", "kind"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_type=String(24), index=True)
    severity: str = Field(sa_type=String(10))
    subject_type: str = Field(sa_type=String(10))  # parcel | run | dossier | bag | gateway
    subject_id: int
    subject_code: str = Field(max_length=40)
    opened_at: datetime = Field(sa_type=utc())
    state: str = Field(sa_type=String(14), index=True)
    owner_id: int | None = Field(default=None, foreign_key="user_account.id")
    note: str = Field(default="", max_length=1000)
    resolved_at: datetime | None = Field(default=None, sa_type=utc())


# -- in and out ----------------------------------------------------------------------------------------


class AlertSubjectOut(BaseModel):
    type: Literal["parcel", "run", "dossier", "bag", "gateway"]  # gateway: an outbox channel (sms, email, webhook)
    code: str


class AlertOut(BaseModel):
    """One alert: what, about what, since when, who owns it."""

    id: int
    kind: str
    severity: str
    subject: AlertSubjectOut
    opened_at: datetime
    state: str
    owner: str | None  # username
    note: str
    resolved_at: datetime | None


class AlertsOut(BaseModel):
    """Alerts of the watch, newest first."""

    alerts: list[AlertOut]


class AckIn(InShape):
    """Acknowledge an alert: the caller becomes its owner."""

    note: str | None = PydanticField(default=None, max_length=500)


class ResolveIn(InShape):
    """Resolve an alert; the note (why) is required."""

    note: str | None = PydanticField(default=None, max_length=500)  # checked by the domain: 422 naming the field
