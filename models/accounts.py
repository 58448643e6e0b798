"""Staff accounts and the bearer tokens of their devices."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from models.columns import utc


class User(SQLModel, table=True):
    """A member of staff: postal clerk, courier, agency clerk, supervisor or admin."""

    __tablename__ = "user_account"  # "user" is reserved on PostgreSQL
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    full_name: str = Field(default="", max_length=120)
    role: str = Field(sa_type=String(20))
    site_id: int | None = Field(default=None, foreign_key="site.id")
    password_hash: str | None = Field(default=None, max_length=200)
    active: bool = True
    created_at: datetime = Field(sa_type=utc())
    deactivated_at: datetime | None = Field(default=None, sa_type=utc())
    # Carried in the login cookie and checked on every request: logging out (or deactivating the account)
    # bumps it, so a copy of an older cookie opens nothing.
    session_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class ApiToken(SQLModel, table=True):
    """A bearer token; only its SHA-256 is kept, so a leaked table reveals no token."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    name: str = Field(default="", max_length=100)
    created_at: datetime = Field(sa_type=utc())
    revoked_at: datetime | None = Field(default=None, sa_type=utc())
    expires_at: datetime = Field(sa_type=utc())
    # When a request last carried it, to the quarter hour (postal.accounts.LAST_USE_GRAIN): a write per token
    # at most that often, not one per request.
    last_used_at: datetime | None = Field(default=None, sa_type=utc())
