"""Working time in Vietnam: working days (ngày làm việc) and office hours."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType

import holidays

from postal.clock import LOCAL_TZ

TZ = LOCAL_TZ  # one zone for the whole service: Asia/Ho_Chi_Minh

# Tết plus its weekends is under two weeks; a year without a working day is a misconfiguration.
MAX_SCAN_DAYS = 366

EXTRA_DAY_OFF_NAME = "Ngày nghỉ theo quyết định"


class NoWorkingDay(ValueError):
    """The calendar has no working day within MAX_SCAN_DAYS of a date."""


@dataclass(frozen=True)
class _PublicYear:
    """What the holidays package says about one year."""

    days_off: Mapping[date, str]
    weekend_workdays: frozenset[date]


@lru_cache(maxsize=64)
def _public_year(year: int) -> _PublicYear:
    """Vietnamese public holidays and make-up Saturdays of one year, read once."""
    # Vietnamese names whatever the process locale; observed/substitute days are on by default.
    known = holidays.country_holidays("VN", years=year, language="vi")
    return _PublicYear(
        days_off=MappingProxyType(dict(known)),
        weekend_workdays=frozenset(known.weekend_workdays),
    )


@dataclass(frozen=True)
class WorkingHours:
    """Office hours of a site, local time; open from `opens` up to (not at) `closes`."""

    opens: time = time(7, 30)
    closes: time = time(17, 0)

    def __post_init__(self) -> None:
        if not self.opens < self.closes:
            raise ValueError(f"opening {self.opens} is not before closing {self.closes}")

    def contains(self, moment: time) -> bool:
        """Whether a local wall-clock time is within office hours."""
        return self.opens <= moment < self.closes


DEFAULT_HOURS = WorkingHours()


@dataclass(frozen=True)
class Calendar:
    """Monday–Friday minus VN public holidays, adjusted by days the government decides per year."""

    # Days off announced by the government or the province that the package does not know yet.
    extra_days_off: frozenset[date] = field(default_factory=frozenset)
    # Make-up working days (often a Saturday) swapped for a bridge day off.
    extra_working_days: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        # accept any iterable of dates but keep the instance hashable
        object.__setattr__(self, "extra_days_off", frozenset(self.extra_days_off))
        object.__setattr__(self, "extra_working_days", frozenset(self.extra_working_days))
        if both := self.extra_days_off & self.extra_working_days:
            raise ValueError(f"days both off and working: {sorted(both)}")

    def is_working_day(self, d: date) -> bool:
        """Whether offices work on this date."""
        if d in self.extra_days_off:
            return False
        if d in self.extra_working_days:
            return True
        if d.weekday() >= 5:
            # a swap may move a Saturday's work across the new year, so look one year ahead too
            return any(d in _public_year(year).weekend_workdays for year in (d.year, d.year + 1))
        return d not in _public_year(d.year).days_off

    def holiday_name(self, d: date) -> str | None:
        """The Vietnamese name of the holiday or decided day off on this date, if any."""
        if d in self.extra_working_days:
            return None
        if (name := _public_year(d.year).days_off.get(d)) is not None:
            return name
        return EXTRA_DAY_OFF_NAME if d in self.extra_days_off else None

    def next_working_day(self, d: date) -> date:
        """The date itself if it is a working day, else the first working day after it."""
        for offset in range(MAX_SCAN_DAYS):
            candidate = d + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise NoWorkingDay(f"no working day within {MAX_SCAN_DAYS} days from {d}")

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day after d, counting from d moved to a working day (n=0: that day)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        day = self.next_working_day(d)
        for _ in range(n):
            day = self.next_working_day(day + timedelta(days=1))
        return day

    def working_days(self, start: date, days: int) -> list[date]:
        """The working days among the `days` calendar days starting at `start`."""
        if days < 0:
            raise ValueError(f"days must be >= 0, got {days}")
        every = (start + timedelta(days=offset) for offset in range(days))
        return [d for d in every if self.is_working_day(d)]

    def next_working_moment(self, at: datetime, hours: WorkingHours = DEFAULT_HOURS) -> datetime:
        """`at` if offices are open then, else the next opening time; in `at`'s time zone."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("next_working_moment needs an aware datetime")
        here = at.astimezone(TZ)
        if self.is_working_day(here.date()):
            if hours.contains(here.time()):
                return at
            if here.time() < hours.opens:
                return datetime.combine(here.date(), hours.opens, tzinfo=TZ).astimezone(at.tzinfo)
        day = self.next_working_day(here.date() + timedelta(days=1))
        return datetime.combine(day, hours.opens, tzinfo=TZ).astimezone(at.tzinfo)


DEFAULT_CALENDAR = Calendar()
