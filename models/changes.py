"""The admin's changes, kept: who changed what, when, and what it was before and after."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String
from sqlmodel import Field, SQLModel

from models.columns import utc


class AdminChange(SQLModel, table=True):
    """One change an admin made (a template, an account, a token, a site), with its before and after."""

    __tablename__ = "admin_change"
    __table_args__ = (Index("ix_admin_change_object", "object_type", "object_key", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=utc(), index=True)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id")  # None: the command line
    actor: str = Field(max_length=120)  # the username, or who ran the command, as it was then
    object_type: str = Field(sa_type=String(16))  # run_template | user | token | site | procedure | onestop_unit
    object_key: str = Field(max_length=64)  # the template's or token's id, the username, the site's code
    action: str = Field(sa_type=String(24))
    before: dict | None = Field(default=None, sa_type=JSON)  # the fields that changed, as they were
    after: dict | None = Field(default=None, sa_type=JSON)  # and as they are now
