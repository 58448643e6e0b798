"""Dossiers and the parcels (envelopes) they travel in."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel
from pydantic import Field as PydanticField
from sqlalchemy import Index, String, text
from sqlmodel import Field, SQLModel

from models.columns import utc
from models.shapes import InShape


class Dossier(SQLModel, table=True):
    """One citizen's application (hồ sơ TTHC), coded by the one-stop system."""

    __tablename__ = "dossier"
    __table_args__ = (  # the watch's overdue and at-risk rules read only dossiers not yet returned, by due date
        Index("ix_dossier_open_due", "due_at", sqlite_where=text("returned_at IS NULL"),
              postgresql_where=text("returned_at IS NULL")),
        # On time or late per agency and period (reports, the board's chart): returned dossiers only.
        Index("ix_dossier_returned", "returned_at", "agency_id", "due_at", sqlite_where=text("returned_at IS NOT NULL"),
              postgresql_where=text("returned_at IS NOT NULL")),
    )
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True, index=True)
    procedure: str = Field(max_length=300)
    agency_id: int = Field(foreign_key="site.id", index=True)
    center_id: int = Field(foreign_key="site.id")  # where it was received and is returned
    applicant_name: str = Field(max_length=120)
    applicant_phone: str = Field(max_length=20)
    applicant_address: str | None = Field(default=None, max_length=300)
    applicant_ward_code: str | None = Field(default=None, max_length=10)
    applicant_id_number: str | None = Field(default=None, max_length=20)  # CCCD, when the applicant gives it
    received_at: datetime = Field(sa_type=utc())
    due_at: datetime = Field(sa_type=utc(), index=True)
    return_method: str = Field(sa_type=String(10))
    return_slot: str | None = Field(default=None, sa_type=String(10))  # home return: morning or afternoon
    items: int | None = None  # pages or items handed in (số lượng)
    notes: str | None = Field(default=None, max_length=1000)
    due_reason: str | None = Field(default=None, max_length=500)  # why the appointment is not the computed one
    returned_at: datetime | None = Field(default=None, sa_type=utc())
    # Fingerprint of the registering request: the same body again is a replay, another is a conflict.
    request_hash: str = Field(max_length=64)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(sa_type=utc())


class ApologySlip(SQLModel, table=True):
    """An apology and re-appointment slip (mẫu 04) issued for a late dossier."""

    __tablename__ = "apology_slip"
    id: int | None = Field(default=None, primary_key=True)
    dossier_id: int = Field(foreign_key="dossier.id", index=True)
    new_due: date
    reason: str = Field(max_length=500)
    issued_at: datetime = Field(sa_type=utc())
    issued_by_id: int | None = Field(default=None, foreign_key="user_account.id")


class Parcel(SQLModel, table=True):
    """An envelope with a QR label (bì hồ sơ); a dossier travels as several over its life."""

    __tablename__ = "parcel"
    __table_args__ = (  # few parcels are in a bag at any time
        Index("ix_parcel_bag_id", "bag_id", sqlite_where=text("bag_id IS NOT NULL"), postgresql_where=text("bag_id IS NOT NULL")),
        # The watch: handed over and not yet confirmed, by when (last_event_at is the handover's batch time);
        # state leads so that SQLite prefers it to ix_parcel_state.
        Index("ix_parcel_awaiting_receipt", "state", "last_event_at", sqlite_where=text("state = 'awaiting_receipt'"),
              postgresql_where=text("state = 'awaiting_receipt'")),
    )
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=13, unique=True, index=True)
    dossier_id: int = Field(foreign_key="dossier.id", index=True)
    direction: str = Field(sa_type=String(16))
    origin_id: int = Field(foreign_key="site.id")
    destination_id: int | None = Field(default=None, foreign_key="site.id")
    state: str = Field(sa_type=String(20), index=True)
    holder_site_id: int | None = Field(default=None, foreign_key="site.id", index=True)
    holder_user_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    bag_id: int | None = Field(default=None, foreign_key="bag.id")
    # Hash of this parcel's latest event: the per-parcel chain is checked without a full scan.
    last_hash: str | None = Field(default=None, max_length=64)
    last_event_at: datetime | None = Field(default=None, sa_type=utc())
    created_at: datetime = Field(sa_type=utc())


class ApplicantIn(InShape):
    name: str = PydanticField(min_length=1, max_length=120)
    phone: str = PydanticField(min_length=6, max_length=20)
    address: str | None = PydanticField(default=None, max_length=300)
    ward_code: str | None = PydanticField(default=None, max_length=10)
    id_number: str | None = PydanticField(default=None, max_length=20, pattern=r"^[0-9A-Za-z]*$")


class DossierIn(InShape):
    """A dossier registered by the one-stop system or a center's counter."""

    # Kept in capitals, as the one-stop system prints it: people type it in any case.
    code: Annotated[str, AfterValidator(str.upper)] = PydanticField(min_length=1, max_length=40,
                                                                    pattern=r"^[A-Za-z0-9][A-Za-z0-9.\-_/]*$")
    procedure: str = PydanticField(min_length=1, max_length=300)
    agency: str = PydanticField(min_length=1, max_length=32)
    applicant: ApplicantIn
    received_at: AwareDatetime
    due_at: AwareDatetime
    return_method: Literal["counter", "home"]
    origin: str | None = PydanticField(default=None, max_length=32)  # the receiving center; default: the caller's site
    return_slot: Literal["morning", "afternoon"] | None = None  # home return: the half-day the citizen chose
    items: int | None = PydanticField(default=None, ge=1, le=10_000)  # pages or items handed in
    notes: str | None = PydanticField(default=None, max_length=1000)
    due_reason: str | None = PydanticField(default=None, max_length=500)  # why due_at is not the procedure's time


class ApologyIn(InShape):
    """An apology and re-appointment issued for a late (or at-risk) dossier: the new day and why."""

    new_due: date
    reason: str = PydanticField(min_length=1, max_length=500)


class ApologyOut(BaseModel):
    """An issued apology, as kept: who, when, from which appointment to which, why; its slip's address."""

    id: int
    dossier: str
    issued_at: datetime
    issued_by: str
    previous_due: date
    new_due: date
    reason: str
    pdf_url: str


class ApologiesOut(BaseModel):
    apologies: list[ApologyOut]


class ParcelIn(InShape):
    direction: Literal["to_agency", "to_center", "to_citizen", "from_citizen"]
    origin: str = PydanticField(min_length=1, max_length=32)


class RedirectIn(InShape):
    """A parcel sent somewhere else than its label says: the new destination and why."""

    destination: str = PydanticField(min_length=1, max_length=32)  # a site code
    reason: str = PydanticField(min_length=1, max_length=500)


class TrackIn(InShape):
    """A citizen's tracking question: the dossier code and the last four digits of their phone."""

    code: str = PydanticField(min_length=1, max_length=40)
    phone_last4: str = PydanticField(max_length=4, pattern=r"^[0-9]{4}$")


class SiteRefOut(BaseModel):
    code: str
    name: str


class LabelOut(BaseModel):
    code: str
    qr_payload: str
    label_url: str


class ApplicantOut(BaseModel):
    name: str
    phone: str  # masked unless the caller handles the applicant's contact
    address: str | None
    ward_code: str | None
    id_number: str | None = None  # shown like the address: to the counter and those over it


class DossierOut(BaseModel):
    code: str
    procedure: str
    agency: SiteRefOut
    center: SiteRefOut
    applicant: ApplicantOut
    received_at: datetime
    due_at: datetime
    return_method: str
    status: str
    late: bool
    returned_at: datetime | None = None
    return_slot: str | None = None
    items: int | None = None
    notes: str | None = None
    due_reason: str | None = None


class DossierCreatedOut(BaseModel):
    dossier: DossierOut
    parcel: LabelOut


class HolderRefOut(BaseModel):
    type: Literal["site", "courier", "none"]
    code: str | None = None
    name: str | None = None


class EventOut(BaseModel):
    id: str
    seq: int
    action: str
    at: datetime
    server_at: datetime
    site: SiteRefOut | None
    actor: str | None
    from_holder: str
    to_holder: str
    run: int | None
    note: str
    evidence: dict[str, Any] | None
    hash: str


class ParcelOut(BaseModel):
    code: str
    state: str
    holder: HolderRefOut
    dossier: str
    direction: str
    origin: SiteRefOut
    destination: SiteRefOut | None
    bag: str | None
    run: int | None
    qr_payload: str
    label_url: str
    timeline: list[EventOut]


class ParcelCreatedOut(BaseModel):
    parcel: LabelOut


class DossierDetailOut(BaseModel):
    dossier: DossierOut
    parcels: list[ParcelOut]
