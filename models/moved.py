"""What one batch of scans moved: the plain value custody hands to the rooms that follow it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple


class SiteRef(NamedTuple):
    """What custody and its followers need of a site."""

    id: int
    code: str
    name: str
    kind: str


class MovedParcel(NamedTuple):
    """A parcel a batch moved: where it was before the batch, and where it is after."""

    id: int
    dossier_id: int | None
    state_before: str
    site_before: int | None
    moved_at_before: datetime | None  # its last event before this batch (None: never moved)
    state: str
    site_id: int | None


@dataclass(frozen=True)
class Moved:
    """A committed-together batch: its ledger rows in chain order, the parcels it moved, and when."""

    at: datetime  # the server's time of the batch
    events: Sequence[dict]  # the sealed custody_event rows
    parcels: Sequence[MovedParcel]
    returned: Mapping[int, datetime]  # dossier id -> when its result reached the citizen
    sites: Mapping[int, SiteRef]  # the sites the batch read (not necessarily all a follower needs)

    def accepted_ids(self) -> set[int]:
        """Parcels whose first event is in this batch: they are on no manifest yet."""
        return {row["parcel_id"] for row in self.events if row["action"] == "accept" and row["parcel_id"] is not None}
