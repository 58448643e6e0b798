from datetime import UTC, date, datetime, time, timedelta

import pytest

from postal.workdays import DEFAULT_CALENDAR, TZ, Calendar, NoWorkingDay, WorkingHours

cal = DEFAULT_CALENDAR


def test_tet_2026_week_has_no_working_day():
    # Tết Bính Ngọ: Giao thừa Mon 16/2 to mùng bốn Fri 20/2, between two weekends
    assert cal.working_days(date(2026, 2, 14), 9) == []
    assert cal.holiday_name(date(2026, 2, 17)) == "Tết Nguyên Đán"
    assert cal.is_working_day(date(2026, 2, 13)) and cal.is_working_day(date(2026, 2, 23))


def test_tet_2025_days_off():
    assert cal.working_days(date(2025, 1, 25), 9) == []


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_reunification_and_national_day_are_not_working(year):
    assert not cal.is_working_day(date(year, 4, 30))
    assert not cal.is_working_day(date(year, 9, 2))


def test_substitute_day_for_a_holiday_on_a_weekend_is_not_working():
    # Giỗ Tổ Hùng Vương 2026 falls on Sunday 26/4; the package observes it on Monday 27/4
    assert date(2026, 4, 26).weekday() == 6
    assert not cal.is_working_day(date(2026, 4, 27))
    assert "Hùng Vương" in cal.holiday_name(date(2026, 4, 27))


def test_swapped_bridge_day_and_its_make_up_saturday():
    # 2025: Friday 2/5 off, worked on Saturday 26/4 instead (public sector swap)
    assert not cal.is_working_day(date(2025, 5, 2))
    assert cal.is_working_day(date(2025, 4, 26))
    assert cal.holiday_name(date(2025, 4, 26)) is None


def test_plain_weekend_and_weekday():
    assert not cal.is_working_day(date(2025, 3, 8))  # Saturday
    assert not cal.is_working_day(date(2025, 3, 9))  # Sunday
    assert cal.is_working_day(date(2025, 3, 10))
    assert cal.holiday_name(date(2025, 3, 10)) is None


def test_add_working_days_across_a_weekend():
    friday = date(2025, 3, 7)
    assert cal.add_working_days(friday, 0) == friday
    assert cal.add_working_days(friday, 1) == date(2025, 3, 10)
    assert cal.add_working_days(friday, 5) == date(2025, 3, 14)


def test_add_working_days_from_a_day_off_starts_at_the_next_working_day():
    saturday = date(2025, 3, 8)
    assert cal.add_working_days(saturday, 0) == date(2025, 3, 10)
    assert cal.add_working_days(saturday, 1) == date(2025, 3, 11)


def test_add_working_days_across_tet():
    assert cal.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 23)
    assert cal.add_working_days(date(2026, 2, 12), 3) == date(2026, 2, 24)
    assert cal.add_working_days(date(2026, 2, 18), 0) == date(2026, 2, 23)


def test_add_working_days_rejects_negative():
    with pytest.raises(ValueError):
        cal.add_working_days(date(2025, 3, 7), -1)


def test_working_days_counts_calendar_days_from_start():
    assert cal.working_days(date(2025, 3, 3), 7) == [date(2025, 3, d) for d in range(3, 8)]
    assert cal.working_days(date(2025, 3, 3), 0) == []


def test_extra_days_off_and_make_up_working_days():
    custom = Calendar(
        extra_days_off=frozenset({date(2025, 3, 10)}),
        extra_working_days=frozenset({date(2025, 3, 15)}),
    )
    assert not custom.is_working_day(date(2025, 3, 10))
    assert custom.holiday_name(date(2025, 3, 10)) is not None
    assert custom.is_working_day(date(2025, 3, 15))  # a Saturday
    assert custom.add_working_days(date(2025, 3, 7), 1) == date(2025, 3, 11)
    assert cal.is_working_day(date(2025, 3, 10))  # the default calendar is untouched


def test_a_day_cannot_be_both_off_and_working():
    with pytest.raises(ValueError):
        Calendar(extra_days_off={date(2025, 3, 10)}, extra_working_days={date(2025, 3, 10)})


def test_calendar_without_working_days_raises_instead_of_looping():
    start = date(2030, 1, 1)
    broken = Calendar(extra_days_off=frozenset(start + timedelta(days=i) for i in range(800)))
    with pytest.raises(NoWorkingDay):
        broken.add_working_days(start, 0)
    with pytest.raises(NoWorkingDay):
        broken.next_working_moment(datetime(2030, 1, 1, 9, tzinfo=TZ))


def test_next_working_moment_before_opening_is_opening_time():
    at = datetime(2025, 3, 4, 6, 0, tzinfo=TZ)
    assert cal.next_working_moment(at) == datetime(2025, 3, 4, 7, 30, tzinfo=TZ)


def test_next_working_moment_during_hours_is_now():
    at = datetime(2025, 3, 4, 10, 15, tzinfo=TZ)
    assert cal.next_working_moment(at) == at


def test_next_working_moment_after_closing_on_friday_is_monday_opening():
    at = datetime(2025, 3, 7, 17, 30, tzinfo=TZ)
    assert cal.next_working_moment(at) == datetime(2025, 3, 10, 7, 30, tzinfo=TZ)
    at_closing = datetime(2025, 3, 7, 17, 0, tzinfo=TZ)
    assert cal.next_working_moment(at_closing) == datetime(2025, 3, 10, 7, 30, tzinfo=TZ)


def test_next_working_moment_skips_tet_and_uses_site_hours():
    hours = WorkingHours(opens=time(8, 0), closes=time(11, 30))
    at = datetime(2026, 2, 13, 12, 0, tzinfo=TZ)
    assert cal.next_working_moment(at, hours) == datetime(2026, 2, 23, 8, 0, tzinfo=TZ)


def test_next_working_moment_answers_in_the_given_time_zone():
    at = datetime(2025, 3, 7, 11, 0, tzinfo=UTC)  # 18:00 in Hà Nội, Friday
    result = cal.next_working_moment(at)
    assert result.tzinfo is UTC
    assert result == datetime(2025, 3, 10, 0, 30, tzinfo=UTC)


def test_next_working_moment_rejects_naive_datetime():
    with pytest.raises(ValueError):
        cal.next_working_moment(datetime(2025, 3, 4, 10, 0))


def test_working_hours_must_open_before_closing():
    assert WorkingHours() == WorkingHours(time(7, 30), time(17, 0))
    with pytest.raises(ValueError):
        WorkingHours(opens=time(17, 0), closes=time(7, 30))
