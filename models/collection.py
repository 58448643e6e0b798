"""Fees collected at the door (thu hộ tại nhà): what a courier received for a home delivery, against what was due."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlalchemy import String
from sqlmodel import Field, SQLModel

from models.columns import utc


class CollectionMethod(StrEnum):
    CASH = "cash"
    TRANSFER = "transfer"  # a bank transfer; its reference is kept


class FeeCollection(SQLModel, table=True):
    """One delivery's collection: the amounts due (delivery fee, procedure fee collected for the agency)
    and what the courier received, written with the `deliver` scan."""

    __tablename__ = "fee_collection"
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="delivery_request.id", unique=True)
    courier_id: int = Field(foreign_key="user_account.id", index=True)
    agency_id: int = Field(foreign_key="site.id", index=True)  # on whose behalf the procedure fee is collected
    delivery_fee_due_vnd: int
    procedure_fee_due_vnd: int
    received_vnd: int
    method: str = Field(sa_type=String(10))
    reference: str | None = Field(default=None, max_length=60)  # the transfer's reference
    collected_at: datetime = Field(sa_type=utc(), index=True)


class FeeLineOut(BaseModel):
    """One home delivery's collection, as an agency's statement lists it."""

    collected_at: datetime
    dossier: str
    procedure: str
    courier: str  # the courier's full name (the login when the account has none)
    procedure_fee_vnd: int  # due to the agency, collected on its behalf
    delivery_fee_vnd: int  # the post office's own
    received_vnd: int
    difference_vnd: int  # received − (procedure fee + delivery fee); not nought: flagged
    method: str
    reference: str | None


class AgencyFeesOut(BaseModel):
    """An agency's fees collected at the door over a period, and their totals."""

    agency: str
    agency_name: str
    lines: list[FeeLineOut]
    procedure_fee_vnd: int
    delivery_fee_vnd: int
    received_vnd: int
    difference_vnd: int
    flagged: int  # lines whose received amount differs from what was due


class FeeStatementOut(BaseModel):
    """The statement of fees collected on the agencies' behalf (local dates, both included)."""

    period_from: date = PydanticField(serialization_alias="from")
    period_to: date = PydanticField(serialization_alias="to")
    agencies: list[AgencyFeesOut]


class CollectionLineOut(BaseModel):
    """One request a courier collected for: what was due, what was received, the difference."""

    request: int
    dossier: str
    due_vnd: int
    received_vnd: int
    difference_vnd: int  # received − due; nonzero is flagged
    method: str
    reference: str | None
    collected_at: datetime


class CollectionDayOut(BaseModel):
    """A courier's day of fees at the door: per request, then totals by method."""

    courier: str
    courier_name: str
    day: date
    lines: list[CollectionLineOut]
    due_vnd: int
    received_vnd: int
    difference_vnd: int
    by_method: dict[str, int]  # cash | transfer → received
