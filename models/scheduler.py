"""The scheduler's job store, declared here so that migrations make it like any other table."""

from __future__ import annotations

from sqlalchemy import Float, LargeBinary, String
from sqlmodel import Field, SQLModel


class SchedulerJob(SQLModel, table=True):
    """APScheduler 3's SQLAlchemyJobStore table, column for column (it skips creating a table that exists)."""

    __tablename__ = "apscheduler_jobs"
    id: str = Field(sa_type=String(191), primary_key=True)
    next_run_time: float | None = Field(default=None, sa_type=Float(25), index=True)
    job_state: bytes = Field(sa_type=LargeBinary)
