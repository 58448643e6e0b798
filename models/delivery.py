"""Home delivery and pick-up requests (giao kết quả / nhận hồ sơ tại nhà), their stops on delivery runs,
and the geocoder's cache."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlalchemy import Index, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.columns import utc
from models.shapes import InShape


class DeliveryKind(StrEnum):
    DELIVER_RESULT = "deliver_result"  # the result, from the post office to the citizen's door
    PICKUP_DOSSIER = "pickup_dossier"  # the paper dossier, from the citizen's door to the post office


class SlotPeriod(StrEnum):
    MORNING = "morning"
    AFTERNOON = "afternoon"


class DeliveryState(StrEnum):
    REQUESTED = "requested"  # taken, on no run yet
    SCHEDULED = "scheduled"  # a stop of a delivery run
    DONE = "done"  # delivered, or the dossier picked up and accepted at the post office
    CANCELLED = "cancelled"


class GeocodeSource(StrEnum):
    ADDRESS = "address"  # the geocoder found the street
    WARD = "ward"  # no street match: the mean of the network's sites in the ward, good enough to route by ward
    NONE = "none"  # nowhere known: the stop goes at the end of its run


class DeliveryRequest(SQLModel, table=True):
    """A citizen's request for delivery of a result, or pick-up of a dossier, at home in a time slot."""

    __tablename__ = "delivery_request"
    # The same request again (dossier, kind, slot) answers the one taken; a cancelled one frees its slot.
    # One active request per dossier and kind: a second booking changes the first, never charges twice.
    __table_args__ = (
        Index("uq_delivery_request_slot", "dossier_id", "kind", "slot_date", "slot_period", unique=True,
              sqlite_where=text("state <> 'cancelled'"), postgresql_where=text("state <> 'cancelled'")),
        Index("uq_delivery_request_active", "dossier_id", "kind", unique=True,
              sqlite_where=text("state IN ('requested', 'scheduled')"),
              postgresql_where=text("state IN ('requested', 'scheduled')")),
    )
    id: int | None = Field(default=None, primary_key=True)
    dossier_id: int = Field(foreign_key="dossier.id", index=True)
    kind: str = Field(sa_type=String(16))
    street: str = Field(max_length=200)  # personal data: shown masked except to the staff of the delivery
    ward_code: str = Field(max_length=10)  # 5-digit 2025 code (vietnam-provinces)
    province_code: str = Field(max_length=4)
    lat: float | None = None
    lon: float | None = None
    geocode_source: str = Field(default=GeocodeSource.NONE, sa_type=String(10))
    phone: str = Field(max_length=20)  # contact for the courier; the OTP still goes to the applicant's phone
    slot_date: date = Field(index=True)
    slot_period: str = Field(sa_type=String(10))
    fee_vnd: int
    fee_exempt_reason: str | None = Field(default=None, max_length=40)  # set by the counter, from the fee table
    state: str = Field(default=DeliveryState.REQUESTED, sa_type=String(10), index=True)
    post_office_id: int = Field(foreign_key="site.id")  # the post office serving the ward
    run_id: int | None = Field(default=None, foreign_key="run.id", index=True)
    parcel_id: int | None = Field(default=None, foreign_key="parcel.id")  # the parcel carried (pick-up: made here)
    attempts: int = 0  # failed delivery attempts of the dossier's result since the request
    fee_paid_at: datetime | None = Field(default=None, sa_type=utc())  # recorded by the counter when paid ahead
    cancelled_at: datetime | None = Field(default=None, sa_type=utc())
    cancelled_by_id: int | None = Field(default=None, foreign_key="user_account.id")  # None: by the citizen
    fee_refunded_at: datetime | None = Field(default=None, sa_type=utc())  # a fee paid ahead, given back at the counter
    fee_refunded_by_id: int | None = Field(default=None, foreign_key="user_account.id")  # the clerk who gave it back
    created_at: datetime = Field(sa_type=utc())
    updated_at: datetime = Field(sa_type=utc())


class FeeStatus(StrEnum):
    """What the citizen owes for a request, as the pages and the API show it."""

    DUE = "due"  # to be paid (at the door, or at the counter ahead)
    PAID = "paid"
    EXEMPT = "exempt"  # the counter recorded an exemption
    NOT_DUE = "not_due"  # cancelled before it was paid: nothing to pay
    TO_REFUND = "to_refund"  # cancelled after it was paid: the post office gives it back
    REFUNDED = "refunded"  # given back, as the counter recorded


class CancelCode(SQLModel, table=True):
    """The one-time code sent by SMS to the applicant to confirm cancelling a request, and its budget of
    guesses and codes; only the code's HMAC is kept."""

    __tablename__ = "delivery_cancel_code"
    request_id: int = Field(foreign_key="delivery_request.id", primary_key=True)
    code_hash: str = Field(max_length=64)  # empty: no live code (a new one must be sent)
    issued_at: datetime = Field(sa_type=utc())
    wrong_tries: int = 0  # on the current code; at the limit a new code must be sent
    recent_codes: str = Field(default="", sa_type=Text)  # server times (ISO, UTC) of the codes of the last hour


class DeliveryStop(SQLModel, table=True):
    """A citizen's door on a delivery run, in visiting order.

    RunStop names a site; a home is not one, so a delivery run keeps its post office as the run's
    hub stops (first and last RunStop) and its doors here.
    """

    __tablename__ = "delivery_stop"
    __table_args__ = (
        UniqueConstraint("run_id", "seq", name="uq_delivery_stop_seq"),
        UniqueConstraint("run_id", "request_id", name="uq_delivery_stop_request"),
    )
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="run.id", index=True)
    seq: int
    request_id: int = Field(foreign_key="delivery_request.id", index=True)
    planned_at: datetime = Field(sa_type=utc())


class GeocodeCache(SQLModel, table=True):
    """What the geocoder answered for one query text; a miss is kept too, and asked again after a while."""

    __tablename__ = "geocode_cache"
    id: int | None = Field(default=None, primary_key=True)
    query: str = Field(max_length=500, unique=True)
    lat: float | None = None
    lon: float | None = None
    looked_up_at: datetime = Field(sa_type=utc())


# -- in and out ----------------------------------------------------------------------------------------


class AddressIn(InShape):
    street: str = PydanticField(min_length=1, max_length=200)  # house number and street, village or group
    ward_code: str = PydanticField(min_length=1, max_length=10)


class SlotIn(InShape):
    date: date
    period: Literal["morning", "afternoon"]


class DeliveryRequestIn(InShape):
    """A citizen's request: which dossier (code + last 4 digits of the phone), what, where and when."""

    dossier: str = PydanticField(min_length=1, max_length=40)
    phone_last4: str = PydanticField(min_length=1, max_length=10)
    kind: Literal["deliver_result", "pickup_dossier"]
    address: AddressIn
    slot: SlotIn
    phone: str | None = PydanticField(default=None, max_length=20)  # a contact number, when not the registered one


class WardOut(BaseModel):
    code: str
    name: str
    province: str


class DeliveryRequestOut(BaseModel):
    """A delivery or pick-up request as the citizen sees it."""

    id: int
    state: str
    fee_vnd: int
    fee_status: Literal["due", "paid", "exempt", "not_due", "to_refund", "refunded"]
    ward: WardOut
    lat: float | None
    lon: float | None


class DeliveryCancelIn(InShape):
    """Cancel a request. A clerk (bearer token) sends `{}`. The citizen first sends the dossier code and the
    last 4 digits of the phone, and gets a code by SMS; then the same with `otp`."""

    dossier: str | None = PydanticField(default=None, min_length=1, max_length=40)
    phone_last4: str | None = PydanticField(default=None, max_length=4, pattern=r"^[0-9]{4}$")
    otp: str | None = PydanticField(default=None, max_length=6, pattern=r"^[0-9]{6}$")


class RefusalDetailOut(BaseModel):
    code: str  # e.g. booking_exists, out_for_delivery, booking_closed, invalid_field, not_found, too_many_codes
    message: str  # in the request's language, naming the field as the citizen sees it


class RefusalOut(BaseModel):
    """Refused, nothing written: the error's code and a message saying why and how to fix it."""

    error: RefusalDetailOut


class CancelCodeSentOut(BaseModel):
    """A code to confirm the cancellation was sent by SMS to the applicant's phone (shown masked)."""

    id: int
    state: str
    sent_to: str
    expires_at: datetime


class DeliveryStopOut(BaseModel):
    """A door on a delivery run; phone and street masked unless the viewer handles this delivery."""

    seq: int
    request: int
    kind: str
    dossier: str
    parcel: str | None
    recipient: str
    phone: str
    street: str
    ward: WardOut
    lat: float | None
    lon: float | None
    slot: str
    fee_vnd: int
    fee_exempt_reason: str | None
    planned_at: datetime
    state: str
    to_collect: ToCollectOut  # what the courier collects at this door


class ToCollectOut(BaseModel):
    """The amounts a courier collects at a door, broken down."""

    delivery_fee_vnd: int  # nothing when paid ahead or exempt
    procedure_fee_vnd: int  # the agency's fee, when it asks the post office to collect it
    total_vnd: int


class DeliveryRunOut(BaseModel):
    """A delivery run's doors in visiting order."""

    run: int
    post_office: str
    date: date
    period: str
    stops: list[DeliveryStopOut]


class ExemptionIn(InShape):
    reason: str = PydanticField(min_length=1, max_length=40)


class ProvinceOut(BaseModel):
    code: str
    name: str


class ProvincesOut(BaseModel):
    """The 34 provinces of 2025."""

    provinces: list[ProvinceOut]


class WardRefOut(BaseModel):
    code: str
    name: str


class WardsOut(BaseModel):
    """The 2025 communes, wards and special zones of one province."""

    wards: list[WardRefOut]
