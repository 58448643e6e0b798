"""The agency desk's shapes: the worklist an agency clerk works from, and the result sent back."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

DeskGroup = Literal["awaiting_receipt", "in_progress", "due_soon", "late", "coming", "result_sent"]


class DeskRowOut(BaseModel):
    """One dossier on the desk: what it is, for whom, by when, where its parcel stands."""

    code: str
    procedure: str
    applicant: str
    received_at: datetime
    due_at: datetime
    group: DeskGroup
    parcel: str  # the parcel to act on: the one handed over, or the result going back
    parcel_state: str
    late: bool


class DeskOut(BaseModel):
    agency: str
    counts: dict[str, int]
    dossiers: list[DeskRowOut]


class ResultSentOut(BaseModel):
    """The result's parcel, accepted at the agency: it goes on the next run back."""

    dossier: str
    parcel: str
    label_url: str
