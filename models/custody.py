"""The custody ledger: bags, events and the head of the hash chain."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel
from pydantic import Field as PydanticField
from pydantic_core import PydanticCustomError
from sqlalchemy import BigInteger, Column, Index, String, Text, text
from sqlmodel import Field, SQLModel

from models.columns import utc
from models.shapes import Code, InShape, JsonObject


class Bag(SQLModel, table=True):
    """A sealed bag of parcels (túi niêm phong) with its own label and seal number."""

    __tablename__ = "bag"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=13, unique=True, index=True)
    seal: str = Field(max_length=40)
    state: str = Field(sa_type=String(10))
    site_id: int = Field(foreign_key="site.id")  # where it was sealed
    holder_site_id: int | None = Field(default=None, foreign_key="site.id")
    holder_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    awaiting_receipt: bool = False
    contents: str = Field(sa_type=Text)  # parcel codes sealed in, space-separated, as sealed
    request_hash: str = Field(max_length=64)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(sa_type=utc())
    opened_at: datetime | None = Field(default=None, sa_type=utc())


class CustodyEvent(SQLModel, table=True):
    """One handoff of one parcel or bag. Append-only: never updated, never deleted."""

    __tablename__ = "custody_event"
    # Partial indexes: most events have no bag and (ad-hoc pickups, counters) no run; unindexed NULLs keep
    # a large batch's insert close to the raw cost.
    __table_args__ = (
        Index("ix_custody_event_bag_id", "bag_id", sqlite_where=text("bag_id IS NOT NULL"),
              postgresql_where=text("bag_id IS NOT NULL")),
        Index("ix_custody_event_run_id", "run_id", sqlite_where=text("run_id IS NOT NULL"),
              postgresql_where=text("run_id IS NOT NULL")),
        # Transfers between sites by day, for the board's charts and the reports: only handoffs are indexed.
        Index("ix_custody_event_transfers", "device_at", "action", "from_holder", "parcel_id",
              sqlite_where=text("action IN ('handover', 'receive')"),
              postgresql_where=text("action IN ('handover', 'receive')")),
    )
    id: uuid.UUID = Field(primary_key=True)  # made by the scanning device: the idempotency key
    seq: int = Field(sa_type=BigInteger, unique=True)  # position in the installation's chain
    parcel_id: int | None = Field(default=None, foreign_key="parcel.id", index=True)
    bag_id: int | None = Field(default=None, foreign_key="bag.id")
    scan_id: uuid.UUID | None = None  # the bag scan that moved this parcel
    action: str = Field(sa_type=String(20))
    device_at: datetime = Field(sa_type=utc())
    server_at: datetime = Field(sa_type=utc())
    site_id: int | None = Field(default=None, foreign_key="site.id")
    actor_id: int | None = Field(default=None, foreign_key="user_account.id")
    from_holder: str = Field(default="", max_length=80)
    to_holder: str = Field(default="", max_length=80)
    run_id: int | None = None
    lat: float | None = None
    lon: float | None = None
    note: str = Field(default="", sa_type=Text)
    evidence: str = Field(default="", sa_type=Text)  # canonical JSON, hashed as stored
    parcel_prev_hash: str = Field(default="", max_length=64)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class DeliveryOtp(SQLModel, table=True):
    """The one-time code a citizen gives the courier at the door, and the parcel's budget of codes and
    guesses; only the code's HMAC is kept."""

    __tablename__ = "delivery_otp"
    parcel_id: int = Field(foreign_key="parcel.id", primary_key=True)
    otp_hash: str = Field(max_length=64)  # empty: no live code (a new one must be sent)
    issued_at: datetime = Field(sa_type=utc())
    wrong_tries: int = 0  # on the current code; at the per-code limit a new code must be sent
    failed_attempts: int = 0  # delivery attempts that failed; after two the parcel goes back
    # The parcel's budget since it was last unlocked: a new code never resets these.
    wrong_total: int = 0  # wrong codes given, whatever code they were meant for
    codes_sent: int = 0
    recent_codes: str = Field(default="", sa_type=Text)  # server times (ISO, UTC) of the codes of the last hour
    # Locked for proof: no code is sent or checked while the proof_locked alert of the parcel is unresolved.
    locked_at: datetime | None = Field(default=None, sa_type=utc())


class LedgerCheckpoint(SQLModel, table=True):
    """A signed checkpoint of the chain head (count + head hash + time). Append-only, like the events;
    the signing key is never in the database, and a copy of the note is kept outside it."""

    __tablename__ = "ledger_checkpoint"
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))  # how many events it saw
    hash: str = Field(max_length=64)  # the hash of event `seq`, the head it signed
    made_at: datetime = Field(sa_type=utc())
    note: str = Field(sa_type=Text)  # the signed note, as written to the checkpoint file


class ChainHead(SQLModel, table=True):
    """The single row a writer locks for its whole transaction: one lock per batch."""

    __tablename__ = "chain_head"
    id: int = Field(default=1, primary_key=True)
    seq: int = Field(default=0, sa_type=BigInteger)
    hash: str = Field(default="0" * 64, max_length=64)


SCAN_ACTIONS = ("accept", "pickup", "handover", "receive", "unbag", "report_missing", "found", "out_for_delivery",
                "deliver", "attempt_failed")


def in_utc(at: datetime) -> datetime:
    """UTC from here on: the offset object pydantic parses is slow to ask, and every scan's time is compared,
    stored and hashed. A time at the very edge of the calendar has no UTC form."""
    try:
        return at.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError("time_out_of_range", "thời điểm {field} nằm ngoài khoảng năm 1–9999 khi đổi sang giờ "
                                  "UTC", {"field": "at"}) from None


class ScanIn(InShape):
    """One scan as a device sends it."""

    id: uuid.UUID  # made by the device; resending it is safe
    label: str = PydanticField(min_length=1, max_length=120)  # the QR payload or the typed human code
    # How a bare human code came in: "barcode" when a 1D laser scanner read the label's Code 128 (it sends
    # only the S10 code, no MAC); otherwise it was keyed in by hand. A QR payload is judged by its MAC alone.
    source: Literal["barcode", "keyboard"] | None = None
    action: Literal["accept", "pickup", "handover", "receive", "unbag", "report_missing", "found", "out_for_delivery",
                    "deliver", "attempt_failed"]
    site: str | None = PydanticField(default=None, max_length=32)
    run: int | None = None  # a number no run has is refused by name (postal.runs)
    at: Annotated[AwareDatetime, AfterValidator(in_utc)]
    lat: float | None = PydanticField(default=None, ge=-90, le=90, allow_inf_nan=False)
    lon: float | None = PydanticField(default=None, ge=-180, le=180, allow_inf_nan=False)
    note: str = PydanticField(default="", max_length=1000)
    evidence: JsonObject | None = None


MAX_SCANS = 20000  # a device's batch; its body is bounded too (routes/inputs.py: SCAN_BATCH_BYTES)


class ScanBatchIn(InShape):
    """What POST /api/v1/scans takes: a batch, answered scan by scan."""

    scans: list[ScanIn] = PydanticField(min_length=1, max_length=MAX_SCANS)


class ScanEnvelopeIn(BaseModel):
    """The envelope alone, so one malformed scan is answered on its own, not with a 400: its scans are checked
    one by one as ScanIn."""

    scans: list[dict[str, Any]] = PydanticField(min_length=1, max_length=MAX_SCANS)


class HolderOut(BaseModel):
    type: Literal["site", "courier", "none"]
    code: str | None = None
    name: str | None = None


class ParcelBriefOut(BaseModel):
    code: str
    state: str
    holder: HolderOut
    bag: str | None = None


class ScanErrorOut(BaseModel):
    code: str
    message: str


class ScanResultOut(BaseModel):
    id: str
    status: Literal["accepted", "duplicate", "rejected"]
    error: ScanErrorOut | None = None
    parcel: ParcelBriefOut | None = None
    bag: dict[str, Any] | None = None
    # A duplicate that scanned the label again after its step was recorded: when the first scan was made.
    first_at: datetime | None = None


class ScanResultsOut(BaseModel):
    results: list[ScanResultOut]


class BagIn(InShape):
    """A bag to seal at a site with these parcels in it."""

    code: str | None = PydanticField(default=None, max_length=13)
    seal: str = PydanticField(min_length=1, max_length=40)
    parcels: list[Code] = PydanticField(min_length=1, max_length=500)
    site: str = PydanticField(min_length=1, max_length=32)


class BagOut(BaseModel):
    code: str
    qr_payload: str
    seal: str
    state: str
    parcels: list[str]


class BagCreatedOut(BaseModel):
    bag: BagOut
