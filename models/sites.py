"""Sites: the provincial center, commune centers, agencies and post offices."""

from __future__ import annotations

from datetime import time

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel
from pydantic import Field as PydanticField
from sqlalchemy import String, true
from sqlmodel import Field, SQLModel

from models.shapes import InShape


def wall_clock(value: time) -> time:
    """A site's hours are its own wall-clock times: an offset (which no time-of-day column keeps) is refused."""
    if value.tzinfo is not None:
        raise ValueError("giờ mở cửa, đóng cửa là giờ địa phương, không kèm múi giờ (ví dụ 07:30)")
    return value


LocalTime = Annotated[time, AfterValidator(wall_clock)]


class Site(SQLModel, table=True):
    """A place where parcels are handed over (điểm giao nhận)."""

    __tablename__ = "site"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    kind: str = Field(sa_type=String(20))
    name: str = Field(max_length=200)
    address: str = Field(default="", max_length=300)
    ward_code: str | None = Field(default=None, max_length=10)
    lat: float | None = None
    lon: float | None = None
    opens_at: time = Field(default=time(7, 30))
    closes_at: time = Field(default=time(17, 0))
    # A site no longer in the network: kept for the history that names it, offered nowhere new.
    active: bool = Field(default=True, sa_column_kwargs={"server_default": true()})


class SitePublic(BaseModel):
    code: str
    kind: str
    name: str
    address: str
    ward_code: str | None
    lat: float | None
    lon: float | None
    active: bool = True


class SiteIn(InShape):
    """A site as an admin saves it under its code (the code is in the path)."""

    kind: Literal["center", "commune_center", "agency", "post_office"]
    name: str = PydanticField(min_length=1, max_length=200)
    address: str = PydanticField(default="", max_length=300)
    ward_code: str | None = PydanticField(default=None, max_length=5, pattern=r"^[0-9]{5}$")
    lat: float | None = PydanticField(default=None, ge=-90, le=90)
    lon: float | None = PydanticField(default=None, ge=-180, le=180)
    opens_at: LocalTime | None = None
    closes_at: LocalTime | None = None


class SiteOut(BaseModel):
    """One site."""

    site: SitePublic
