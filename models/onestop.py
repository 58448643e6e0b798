"""The one-stop system (hệ thống thông tin một cửa điện tử): its unit codes mapped to our agencies, and the shapes
of a batch of dossiers it hands over."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from models.shapes import InShape

BATCH_ROWS = 1000  # dossiers in one call of POST /api/v1/dossiers/batch


class OneStopUnit(SQLModel, table=True):
    """A unit code of the one-stop system (the first part of a dossier's code) and the agency it stands for here."""

    __tablename__ = "onestop_unit"
    id: int | None = Field(default=None, primary_key=True)
    unit_code: str = Field(max_length=20, unique=True, index=True)  # e.g. 000.00.22.H47, as the code prints it
    site_id: int = Field(foreign_key="site.id", index=True)


class OneStopUnitOut(BaseModel):
    unit_code: str
    agency: str
    agency_name: str


class DossierBatchIn(InShape):
    """Dossiers from the one-stop system, each shaped as POST /api/v1/dossiers takes it (`agency` may be left
    out: the agency mapped to the unit code that begins `code`); each is judged on its own."""

    dossiers: list[Any] = PydanticField(min_length=1, max_length=BATCH_ROWS)


class RowErrorOut(BaseModel):
    code: str
    message: str


class BatchRowOut(BaseModel):
    """What became of one dossier of the batch: created, unchanged (registered before with the same content),
    conflict (registered before with other content: `fields` names what differs) or invalid (`error` says why)."""

    row: int  # its place in the batch (from 1), or its line in a CSV file
    code: str | None
    status: Literal["created", "unchanged", "conflict", "invalid"]
    fields: list[str] = []
    parcel: str | None = None
    error: RowErrorOut | None = None


class DossierBatchOut(BaseModel):
    """A result per dossier of the batch, in its order, and the counts of each."""

    results: list[BatchRowOut]
    created: int
    unchanged: int
    conflict: int
    invalid: int
