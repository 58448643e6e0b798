"""The counter (quầy tiếp nhận): the procedures a site receives, the labels printed, and the counter's shapes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel
from pydantic import Field as PydanticField
from sqlalchemy import String
from sqlmodel import Field, SQLModel

from models.columns import utc
from models.dossiers import DossierOut
from models.shapes import InShape


class Procedure(SQLModel, table=True):
    """An administrative procedure (thủ tục hành chính) a counter receives: who decides it, in how long."""

    __tablename__ = "procedure"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=300)
    agency_id: int = Field(foreign_key="site.id", index=True)
    processing_days: int  # the legal processing time, in working days
    site_id: int | None = Field(default=None, foreign_key="site.id")  # received only at this site; none: at every one
    active: bool = True
    # The agency asks the post office to collect its fee at the door on home delivery; None: it does not.
    collect_fee_vnd: int | None = None


class LabelPrint(SQLModel, table=True):
    """A label printed again at a counter (who, when, in which size); not a custody event."""

    __tablename__ = "label_print"
    id: int | None = Field(default=None, primary_key=True)
    parcel_id: int = Field(foreign_key="parcel.id", index=True)
    printed_by_id: int = Field(foreign_key="user_account.id")
    printed_at: datetime = Field(sa_type=utc())
    format: str = Field(sa_type=String(10))


LabelFormat = Literal["100x75", "a4"]
ReturnSlot = Literal["morning", "afternoon"]


class ProcedureOut(BaseModel):
    id: int
    name: str
    agency: str  # the agency's code
    agency_name: str
    processing_days: int


class ProceduresOut(BaseModel):
    procedures: list[ProcedureOut]


class DayOffOut(BaseModel):
    day: date
    name: str


class DuePreviewOut(BaseModel):
    """The appointment a procedure gives a dossier received now: counted from the first working moment."""

    procedure: int
    processing_days: int
    received_at: datetime
    counted_from: datetime  # the first working moment at the counter's site at or after receipt
    due_at: datetime
    days_off: list[DayOffOut]  # public holidays and decided days off skipped on the way


class CounterDossierIn(InShape):
    """What the counter's clerk fills in: the procedure from the site's list, the applicant, how the result
    goes back, the papers, and an appointment other than the computed one only with a reason."""

    code: str = PydanticField(min_length=1, max_length=40)
    procedure: int = PydanticField(ge=1, le=2**31 - 1)
    applicant_name: str = PydanticField(min_length=1, max_length=120)
    applicant_phone: str = PydanticField(min_length=6, max_length=20)
    applicant_id_number: str | None = PydanticField(default=None, max_length=20)
    applicant_address: str | None = PydanticField(default=None, max_length=300)
    return_method: Literal["counter", "home"] = "counter"
    ward_code: str | None = PydanticField(default=None, max_length=10)
    return_slot: ReturnSlot | None = None
    items: int = PydanticField(default=1, ge=1, le=10_000)
    notes: str | None = PydanticField(default=None, max_length=1000)
    due_on: date | None = None  # the clerk's own appointment day, instead of the computed one
    due_reason: str | None = PydanticField(default=None, max_length=500)
    received_at: AwareDatetime | None = None  # default: now


class CounterRowOut(BaseModel):
    code: str
    procedure: str
    applicant: str
    phone: str
    received_at: datetime
    due_at: datetime
    status: str
    late: bool
    parcel: str | None


class CounterTodayOut(BaseModel):
    site: str
    day: date
    query: str
    dossiers: list[CounterRowOut]


class CounterRegisteredOut(BaseModel):
    dossier: DossierOut
    parcel: str
    receipt_url: str
    label_url: str
    created: bool


class LabelPrintIn(InShape):
    format: LabelFormat = "100x75"


class LabelPrintOut(BaseModel):
    id: int
    parcel: str
    printed_by: str
    printed_at: datetime
    format: str
    pdf_url: str


class LabelPrintsOut(BaseModel):
    prints: list[LabelPrintOut]


class ProcedureIn(InShape):
    """A procedure of the catalogue as an admin saves it: who decides it, in how many working days, where it is
    received (none: at every center and commune center)."""

    name: str = PydanticField(min_length=1, max_length=300)
    agency: str = PydanticField(min_length=1, max_length=32)
    processing_days: int = PydanticField(ge=0, le=365)
    site: str | None = PydanticField(default=None, max_length=32)
    # The fee the agency asks the post office to collect at the door when the result goes home (đồng); none: not asked.
    collect_fee_vnd: int | None = PydanticField(default=None, ge=0, le=50_000_000)


class ProcedureRowOut(BaseModel):
    """A procedure of the catalogue, with how many dossiers were received under it."""

    id: int
    name: str
    agency: str
    agency_name: str
    processing_days: int
    site: str | None
    active: bool
    dossiers: int
    collect_fee_vnd: int | None = None


class ProcedureCatalogueOut(BaseModel):
    """The procedure catalogue, by agency then name."""

    procedures: list[ProcedureRowOut]


class ProcedureSavedOut(BaseModel):
    """One procedure of the catalogue."""

    procedure: ProcedureRowOut
