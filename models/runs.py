"""Shuttle runs (chuyến): templates, the runs made from them, their stops and manifests."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlalchemy import Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.columns import utc
from models.shapes import Code, InShape


class RunKind(StrEnum):
    SHUTTLE = "shuttle"  # center ↔ agencies and commune centers
    DELIVERY = "delivery"  # home delivery from a post office (generated per slot, not from the calendar)


class RunState(StrEnum):
    PLANNED = "planned"
    STARTED = "started"
    CLOSED = "closed"


class RunTemplate(SQLModel, table=True):
    """A line at one departure time on every working day (e.g. Tuyến 1, 08:00)."""

    __tablename__ = "run_template"
    __table_args__ = (UniqueConstraint("name", "departs", name="uq_run_template_name_departs"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    kind: str = Field(sa_type=String(10))
    departs: time  # local wall-clock time (Asia/Ho_Chi_Minh) of leaving the post office
    post_office_id: int = Field(foreign_key="site.id")
    active: bool = True
    # The ISO weekdays it runs on (1 Monday … 7 Sunday), among the working days: "12345" every working day.
    weekdays: str = Field(default="12345", max_length=7, sa_column_kwargs={"server_default": "12345"})
    request_hash: str = Field(max_length=64)  # the same body again is a replay, another a conflict
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(sa_type=utc())


class RunTemplateStop(SQLModel, table=True):
    """A stop of a template, in the order given; the first is the line's hub (the center)."""

    __tablename__ = "run_template_stop"
    __table_args__ = (UniqueConstraint("template_id", "seq", name="uq_run_template_stop_seq"),)
    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="run_template.id", index=True)
    seq: int
    site_id: int = Field(foreign_key="site.id")


class Run(SQLModel, table=True):
    """One trip of a line on one day: planned → started → closed."""

    __tablename__ = "run"
    # One run per template and day: generating twice creates nothing new.
    __table_args__ = (UniqueConstraint("template_id", "day", name="uq_run_template_day"),)
    id: int | None = Field(default=None, primary_key=True)
    template_id: int | None = Field(default=None, foreign_key="run_template.id")
    day: date = Field(index=True)  # local date of the run
    name: str = Field(max_length=120)
    kind: str = Field(sa_type=String(10))
    state: str = Field(sa_type=String(10), index=True)
    post_office_id: int = Field(foreign_key="site.id")
    courier_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    vehicle: str | None = Field(default=None, max_length=40)
    departs_at: datetime = Field(sa_type=utc())
    cutoff_at: datetime = Field(sa_type=utc(), index=True)
    ends_at: datetime = Field(sa_type=utc())  # planned return to the post office
    distance_km: float | None = None
    frozen_at: datetime | None = Field(default=None, sa_type=utc())  # manifest frozen, stops ordered
    started_at: datetime | None = Field(default=None, sa_type=utc())
    closed_at: datetime | None = Field(default=None, sa_type=utc())
    created_at: datetime = Field(sa_type=utc())


class RunStop(SQLModel, table=True):
    """A stop of a run in visiting order; the hub is visited first (to pick) and last (to drop)."""

    __tablename__ = "run_stop"
    __table_args__ = (UniqueConstraint("run_id", "seq", name="uq_run_stop_seq"),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="run.id", index=True)
    seq: int
    site_id: int = Field(foreign_key="site.id")
    hub: bool = False
    planned_at: datetime = Field(sa_type=utc())
    arrived_at: datetime | None = Field(default=None, sa_type=utc())  # the first scan there, or the depart
    departed_at: datetime | None = Field(default=None, sa_type=utc())


class ManifestEntry(SQLModel, table=True):
    """A line of a run's manifest (bảng kê): pick this parcel at one stop, drop it at a later one."""

    # Until the cutoff a run's entries follow the parcels; then they freeze. picked_at and dropped_at
    # (device times of the scans) are what the watch needs: a frozen entry not picked at a departed
    # stop is a missed run; one picked and not dropped when the run closed is still on board.

    __tablename__ = "manifest_entry"
    __table_args__ = (
        UniqueConstraint("run_id", "parcel_id", name="uq_manifest_entry_run_parcel"),
        # The watch reads only the lines still to pick (per stop) and the ones on board (per run), so a
        # rule's cost follows what is due, not every line ever written.
        Index("ix_manifest_entry_to_pick", "pick_stop_id", sqlite_where=text("picked_at IS NULL"),
              postgresql_where=text("picked_at IS NULL")),
        Index("ix_manifest_entry_on_board", "run_id", "dropped_at",  # two keys: SQLite prefers it to ix_manifest_entry_run_id
              sqlite_where=text("picked_at IS NOT NULL AND dropped_at IS NULL"),
              postgresql_where=text("picked_at IS NOT NULL AND dropped_at IS NULL")),
    )
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="run.id", index=True)
    parcel_id: int = Field(foreign_key="parcel.id", index=True)
    pick_stop_id: int = Field(foreign_key="run_stop.id")
    drop_stop_id: int = Field(foreign_key="run_stop.id")
    manifested_at: datetime = Field(sa_type=utc())
    picked_at: datetime | None = Field(default=None, sa_type=utc())  # picked up with this run
    dropped_at: datetime | None = Field(default=None, sa_type=utc())  # then handed over or received, anywhere


# -- in and out ----------------------------------------------------------------------------------------


EVERY_WORKING_DAY = (1, 2, 3, 4, 5)
Weekday = Annotated[int, PydanticField(ge=1, le=7)]


class RunTemplateIn(InShape):
    """A template as an admin creates it; the first stop is the hub (the center)."""

    name: str = PydanticField(min_length=1, max_length=120)
    departs: str = PydanticField(max_length=5, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    stops: list[Code] = PydanticField(min_length=2, max_length=60)
    kind: Literal["shuttle", "delivery"] = "shuttle"
    post_office: str = PydanticField(min_length=1, max_length=32)
    # ISO weekdays (1 Monday … 7 Sunday) it runs on, among the working days; every working day by default.
    weekdays: list[Weekday] = PydanticField(default=list(EVERY_WORKING_DAY), min_length=1, max_length=7)


class RunTemplateOut(BaseModel):
    id: int
    name: str
    departs: str
    kind: str
    post_office: str
    stops: list[str]
    weekdays: list[int]
    active: bool


KeptBecause = Literal["started", "closed", "scanned", "frozen", "departed"]


class AffectedRunOut(BaseModel):
    """A run already made from a template before it changed: made anew from the template, or kept as it was."""

    id: int
    date: date
    departs_at: datetime
    state: str
    scans: int  # custody events recorded on it
    regenerable: bool  # planned, before its cutoff, nothing scanned on it: it may be made anew
    kept_because: KeptBecause | None = None  # why it may not be


class RunTemplateChangeOut(BaseModel):
    """A template as it is now, the first day it applies to, and the runs already made that it does not."""

    run_template: RunTemplateOut
    effective_from: date  # the first day no run of the template has been generated for yet
    affected: list[AffectedRunOut]


class RegeneratedOut(BaseModel):
    """What regenerating a template's runs did: runs made anew, runs removed (the template no longer runs
    that day), and runs kept as they were, each with why."""

    run_template: RunTemplateOut
    regenerated: list[AffectedRunOut]
    removed: list[AffectedRunOut]
    kept: list[AffectedRunOut]


class RunTemplatesOut(BaseModel):
    """The run templates."""

    run_templates: list[RunTemplateOut]


class RunTemplateCreatedOut(BaseModel):
    """A run template, created or replayed."""

    run_template: RunTemplateOut


class RunStopOut(BaseModel):
    seq: int
    site: str
    planned_at: datetime
    arrived_at: datetime | None
    departed_at: datetime | None
    drop: list[str]
    pick: list[str]


class RunOut(BaseModel):
    """One run with its stops and what to drop and pick at each."""

    id: int
    date: date
    name: str
    kind: str
    state: str
    courier: str | None
    departs_at: datetime
    cutoff_at: datetime
    ends_at: datetime
    distance_km: float | None
    late_start_min: int | None = None  # started this many minutes after its departure (None: not started)
    stops: list[RunStopOut]


class RunsOut(BaseModel):
    """The runs of a day."""

    runs: list[RunOut]


class RunClosedOut(RunOut):
    """A closed run and the manifested parcels still with its courier."""

    on_board: list[str]


class AssignIn(InShape):
    courier: str = PydanticField(min_length=1, max_length=64)
    vehicle: str | None = PydanticField(default=None, max_length=40)
