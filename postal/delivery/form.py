"""The booking form as the citizen sees it: each field by the name on the page, and every refusal saying how to
put it right (a Saturday picked: the next working days offered)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from models import SlotPeriod
from postal import workdays
from postal.clock import local
from postal.errors import N_, REFUSED, Phrase, RefusedValue, Unprocessable, detail_of, field_of

SLOT_DAYS_AHEAD = 30  # how far ahead a slot may be booked
SLOT_ENDS = {SlotPeriod.MORNING: time(12, 0), SlotPeriod.AFTERNOON: time(17, 0)}  # too late to book that slot today
OFFERED_DAYS = 3  # working days offered when the one picked cannot be booked

# The fields as the page labels them (templates/citizen/delivery.html and cancel.html).
FIELD_NAMES = {
    "dossier": N_("Mã hồ sơ"),
    "phone_last4": N_("4 số cuối điện thoại đã đăng ký"),
    "kind": N_("Ông/Bà cần"),
    "address": N_("Địa chỉ"),
    "address.ward_code": N_("Xã, phường, đặc khu"),
    "address.street": N_("Số nhà, đường phố, thôn, tổ"),
    "phone": N_("Số điện thoại liên hệ"),
    "slot": N_("Lịch hẹn"),
    "slot.date": N_("Ngày hẹn"),
    "slot.period": N_("Buổi"),
    "otp": N_("Mã xác nhận"),
}
# How to fix a value of the wrong shape, per field, then per kind of error.
FIXES = {
    "phone_last4": N_("hãy nhập đúng 4 chữ số cuối của số điện thoại đã đăng ký khi nộp hồ sơ"),
    "otp": N_("hãy nhập đúng 6 chữ số trong tin nhắn vừa nhận"),
    "kind": N_("hãy chọn “Giao kết quả tận nhà” hoặc “Đến nhà nhận hồ sơ”"),
    "slot.period": N_("hãy chọn buổi sáng hoặc buổi chiều"),
    "slot.date": N_("hãy chọn một ngày trên lịch (ngày/tháng/năm)"),
}
MISSING = N_("chưa điền: hãy điền ô này")
TOO_LONG = N_("dài quá %(max_length)s ký tự: hãy viết ngắn lại")
OTHERWISE = N_("chưa đúng: hãy kiểm tra và điền lại")
WEEKDAY_NAMES = {5: N_("thứ Bảy"), 6: N_("Chủ nhật")}


class InvalidField(Unprocessable):
    """A value of the citizen's booking refused: the field named as the page shows it, and how to fix it. The
    field's path (`field`, e.g. slot.date) stays among the parameters for those who read them."""

    code, message = "invalid_field", N_("%(label)s: %(detail)s")

    def __init__(self, field: str, detail: Phrase, **params: object) -> None:
        super().__init__(field=field, label=Phrase(FIELD_NAMES.get(field, field)), detail=detail, **params)


def missing_field(field: str) -> InvalidField:
    return InvalidField(field, Phrase(MISSING))


def refusal(error: Mapping[str, Any]) -> Unprocessable:
    """A booking body's first validation error, in the citizen's words (a value no record can keep keeps its
    own wording, which names the field as sent)."""
    if error["type"] in REFUSED and error["type"] != "date_out_of_range":
        return RefusedValue(detail=detail_of(error))
    where = field_of(error)
    if error["type"] == "missing" or error["type"] == "string_too_short":
        return InvalidField(where, Phrase(MISSING))
    if error["type"] == "string_too_long":
        return InvalidField(where, Phrase(TOO_LONG, max_length=(error.get("ctx") or {}).get("max_length", "")))
    if where == "slot.date" and error["type"] == "date_out_of_range":
        return InvalidField(where, Phrase(N_("ngày %(value)s không đặt được: hãy chọn một ngày làm việc trong %(days)s "
                                             "ngày tới"), value=error["ctx"]["value"], days=SLOT_DAYS_AHEAD))
    return InvalidField(where, Phrase(FIXES.get(where, OTHERWISE)))


def bookable_days(start: date, now: datetime, calendar: workdays.Calendar = workdays.DEFAULT_CALENDAR,
                  count: int = OFFERED_DAYS) -> list[date]:
    """The first working days from `start` (not before today, and not today once its last slot has ended)."""
    here = local(now)
    day = max(start, here.date())
    if day == here.date() and here.time() >= SLOT_ENDS[SlotPeriod.AFTERNOON]:
        day += timedelta(days=1)
    last = here.date() + timedelta(days=SLOT_DAYS_AHEAD)
    found: list[date] = []
    while len(found) < count and day <= last:
        day = calendar.next_working_day(day)
        if day <= last:
            found.append(day)
        day += timedelta(days=1)
    return found


def offered(days: list[date]) -> dict[str, object]:
    """The days offered, as the message reads them and as the page offers them (ISO, for the date field)."""
    return {"days": ", ".join(d.strftime("%d/%m/%Y") for d in days), "choices": tuple(d.isoformat() for d in days)}


def check_slot(day: date, period: str, now: datetime, calendar: workdays.Calendar = workdays.DEFAULT_CALENDAR) -> None:
    """A working day from today on, within SLOT_DAYS_AHEAD, and not a slot that has already ended; each refusal
    offers the next days that can be booked."""
    here = local(now)
    today, shown = here.date(), day.strftime("%d/%m/%Y")
    if day < today:
        raise InvalidField("slot.date", Phrase(N_("ngày %(day)s đã qua: hãy chọn từ hôm nay trở đi, gần nhất là "
                                                  "%(days)s"), day=shown, **offered(bookable_days(today, now, calendar))))
    if day > today + timedelta(days=SLOT_DAYS_AHEAD):
        last = today + timedelta(days=SLOT_DAYS_AHEAD)
        raise InvalidField("slot.date", Phrase(N_("chỉ đặt lịch trong vòng %(limit)s ngày tới (đến %(last)s): hãy "
                                                  "chọn ngày sớm hơn"), limit=SLOT_DAYS_AHEAD,
                                               last=last.strftime("%d/%m/%Y")))
    if not calendar.is_working_day(day):
        days = offered(bookable_days(day, now, calendar))
        holiday = calendar.holiday_name(day)
        if holiday:
            raise InvalidField("slot.date", Phrase(N_("%(day)s là ngày nghỉ (%(holiday)s), bưu điện không giao nhận: "
                                                      "hãy chọn một ngày làm việc, gần nhất là %(days)s"),
                                                   day=shown, holiday=holiday, **days))
        weekday = WEEKDAY_NAMES.get(day.weekday(), N_("ngày nghỉ"))
        raise InvalidField("slot.date", Phrase(N_("%(day)s là %(weekday)s, bưu điện không giao nhận: hãy chọn một "
                                                  "ngày làm việc, gần nhất là %(days)s"),
                                               day=shown, weekday=Phrase(weekday), **days))
    if day == today and here.time() >= SLOT_ENDS[SlotPeriod(period)]:
        if period == SlotPeriod.MORNING and here.time() < SLOT_ENDS[SlotPeriod.AFTERNOON]:
            raise InvalidField("slot.period", Phrase(N_("buổi sáng hôm nay đã hết giờ đặt (12:00): hãy chọn buổi "
                                                        "chiều, hoặc một ngày khác")))
        days = offered(bookable_days(today + timedelta(days=1), now, calendar))
        raise InvalidField("slot.period", Phrase(N_("hôm nay đã hết giờ đặt lịch: hãy chọn một ngày làm việc khác, "
                                                    "gần nhất là %(days)s"), **days))
