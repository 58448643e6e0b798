"""The scheduler's job store and its leader's heartbeat, declared here so that migrations make it like any other table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, LargeBinary, String
from sqlmodel import Field, SQLModel

from models.columns import utc


class SchedulerJob(SQLModel, table=True):
    """APScheduler 3's SQLAlchemyJobStore table, column for column (it skips creating a table that exists)."""

    __tablename__ = "apscheduler_jobs"
    id: str = Field(sa_type=String(191), primary_key=True)
    next_run_time: float | None = Field(default=None, sa_type=Float(25), index=True)
    job_state: bytes = Field(sa_type=LargeBinary)


class SchedulerBeat(SQLModel, table=True):
    """The leading scheduler's heartbeat: one row, written by the leader every few seconds, read by /healthz."""

    __tablename__ = "scheduler_beat"
    id: int = Field(default=1, primary_key=True)
    leader: str = Field(max_length=200)  # host:pid of the process that leads
    beat_at: datetime = Field(sa_type=utc())
