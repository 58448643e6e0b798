"""The values custody works with: where a parcel or bag is during a batch, and the answer to one scan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
import uuid
from datetime import datetime
from typing import NamedTuple

from postal.errors import PostalError


@dataclass
class Holding:
    """Where a parcel (or bag) is, in memory for the length of a batch."""

    id: int
    code: str
    state: str
    holder_site_id: int | None
    holder_user_id: int | None
    bag_id: int | None = None
    last_hash: str = ""
    dirty: bool = False
    direction: str = ""
    dossier_id: int | None = None
    last_event_at: datetime | None = None
    destination_id: int | None = None  # where it is addressed: an agency, a center; None: the citizen's door
    center_id: int | None = None  # the dossier's center, where its results are gathered
    # As read at the batch's start, for the followers that compare before and after.
    state_before: str = ""
    site_before: int | None = None

    def __post_init__(self) -> None:
        self.state_before = self.state_before or self.state
        self.site_before = self.site_before if self.site_before is not None else self.holder_site_id


@dataclass
class BagHolding(Holding):
    """A bag, with the parcels sealed in it."""

    seal: str = ""
    contents: list[str] = field(default_factory=list)
    opened: bool = False


@dataclass
class Outcome:
    """The answer to one scan: accepted, duplicate or rejected (with the reason), and where the parcel or bag
    stands after the whole batch."""

    id: str
    status: str  # accepted | duplicate | rejected
    error: PostalError | None = None
    parcel: dict | None = None
    bag: dict | None = None
    first_at: datetime | None = None  # a duplicate of the parcel's last step scanned again: when that was

    def answer(self, message_of: Callable[[PostalError], str]) -> dict:
        """The scan's result as the API answers it; `message_of` puts the refusal in the reader's language."""
        result: dict = {"id": self.id, "status": self.status}
        if self.error is not None:
            result["error"] = {"code": self.error.code, "message": message_of(self.error)}
        if self.parcel is not None:
            result["parcel"] = self.parcel
        if self.bag is not None:
            result["bag"] = self.bag
        if self.first_at is not None:
            result["first_at"] = self.first_at.isoformat()
        return result


# What a batch does after its rows are written, in the order its scans asked for it.
class OpenLoss(NamedTuple):
    parcel_id: int
    code: str
    note: str


class Clear(NamedTuple):
    """A parcel scanned again (or where it belongs): its open alert of this kind, if any, is resolved."""

    kind: str
    parcel_id: int
    note: str


class MisrouteTried(NamedTuple):
    """A refused handover, receipt or delivery somewhere the parcel is not addressed to: the alert says who
    tried where."""

    parcel_id: int
    code: str
    note: str


class BagMismatch(NamedTuple):
    bag_id: int
    code: str
    note: str


class SendOtp(NamedTuple):
    dossier_id: int
    parcel_code: str
    otp: str
    event_id: uuid.UUID


class TellReturned(NamedTuple):
    dossier_id: int
    parcel_code: str
    event_id: uuid.UUID


class ProofLock(NamedTuple):
    """A parcel locked for proof: its proof_locked alert is opened with this note."""

    parcel_id: int
    code: str
    note: str


class ClearProofLock(NamedTuple):
    """A locked parcel handed over at a counter: its proof_locked alert is resolved with this note."""

    parcel_id: int
    note: str


Followup = OpenLoss | Clear | MisrouteTried | BagMismatch | SendOtp | TellReturned | ProofLock | ClearProofLock
