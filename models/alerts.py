"""Alerts raised by the watch and by custody scans."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, text
from sqlmodel import Field, SQLModel

from models.columns import utc


class Alert(SQLModel, table=True):
    """A loss or delay someone must look at; one open alert per (kind, subject)."""

    __tablename__ = "alert"
    __table_args__ = (
        # Partial unique index: at most one unresolved alert per kind and subject.
        Index(
            "uq_alert_open_subject", "kind", "subject_type", "subject_id", unique=True,
            sqlite_where=text("state != 'resolved'"), postgresql_where=text("state != 'resolved'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_type=String(24), index=True)
    severity: str = Field(sa_type=String(10))
    subject_type: str = Field(sa_type=String(10))  # parcel | run | dossier | bag
    subject_id: int
    subject_code: str = Field(max_length=40)
    opened_at: datetime = Field(sa_type=utc())
    state: str = Field(sa_type=String(14), index=True)
    owner_id: int | None = Field(default=None, foreign_key="user_account.id")
    note: str = Field(default="", max_length=1000)
    resolved_at: datetime | None = Field(default=None, sa_type=utc())
