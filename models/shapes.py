"""What every in-shape (a request body the service takes) refuses, whatever its fields: text no table can
store as it was sent, and days outside the years the service works in. One check for all of them, so a new
shape cannot forget it."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

# Characters no stored text may hold: each engine would store or refuse them differently (PostgreSQL refuses
# NUL; lone surrogates are not UTF-8 at all), and control characters have no place in a name or a note. Tab,
# newline and carriage return stay allowed.
UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# The same as the OpenAPI document tells it (a JSON Schema pattern; lone surrogates are not UTF-8 to begin with).
STORABLE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"


# The days a request may name: nothing the service keeps is older (the one-stop mechanism it serves dates from
# 2018), and nothing is planned further ahead than a few years. Outside them a date is a typo, or a probe of
# the calendar's edges (year 1 or 9999, where adding an offset or a day overflows).
FIRST_DAY = date(2000, 1, 1)
YEARS_AHEAD = 5


def last_day() -> date:
    """The last day a request may name: the end of the year a few years from now."""
    return date(datetime.now(UTC).year + YEARS_AHEAD, 12, 31)


def day_out_of_range(day: date) -> bool:
    return not FIRST_DAY <= day <= last_day()


def dmy(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


def out_of_range(value: date, path: str) -> PydanticCustomError | None:
    """Why a date or time (its own wall date, so no offset can overflow) is not one the service takes, or None."""
    day = value.date() if isinstance(value, datetime) else value
    if not day_out_of_range(day):
        return None
    return PydanticCustomError("date_out_of_range", "trường {path}: ngày {value} nằm ngoài khoảng {first}–{last}",
                               {"path": path, "value": dmy(day), "first": dmy(FIRST_DAY), "last": dmy(last_day())})


# Every field and batch is bounded: a body the service takes fits in memory, in a table's column and in a page.
MAX_JSON_VALUE = 16_000  # characters of a free-form JSON value (a scan's evidence) as the ledger writes it
MAX_KEYS = 32  # keys of a free-form JSON object
MAX_DEPTH = 8  # objects and lists inside one another in a free-form JSON value
Code = Annotated[str, StringConstraints(min_length=1, max_length=40)]  # a code in a list: a parcel, a site


def bounded_json(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """A free-form JSON value no deeper and no longer than the ledger keeps, as it writes it (canonical, compact)."""
    if not value:
        return value
    if nesting(value) > MAX_DEPTH:  # first: the encoder and the checks below recurse
        raise PydanticCustomError("json_too_deep", "lồng quá {limit} tầng", {"limit": MAX_DEPTH})
    if len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)) > MAX_JSON_VALUE:
        raise PydanticCustomError("json_too_long", "dài quá {limit} ký tự khi ghi dạng JSON", {"limit": MAX_JSON_VALUE})
    return value


def nesting(value: object) -> int:
    """How deep objects and lists sit inside one another in a JSON value, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


JsonObject = Annotated[dict[str, Any], Field(max_length=MAX_KEYS, description=(
    f"at most {MAX_KEYS} keys, {MAX_DEPTH} levels deep and {MAX_JSON_VALUE} characters as compact JSON")),
    AfterValidator(bounded_json)]


def unstorable_char(text: str) -> str | None:
    """The first character of `text` no table can store, or None."""
    if text.isprintable():  # the usual case, and the fast test
        return None
    bad = UNSTORABLE.search(text)
    return bad.group() if bad else None


def unstorable(text: str, path: str) -> PydanticCustomError | None:
    """Why `text` (at `path` inside its shape) cannot be stored, or None."""
    char = unstorable_char(text)
    if char is None:
        return None
    return PydanticCustomError("unstorable_text", "trường {path} có ký tự U+{char} (ký tự điều khiển hoặc mã không "
                               "hợp lệ)", {"path": path, "char": f"{ord(char):04X}"})


def check_value(value: object, path: str) -> None:
    """Refuse text that cannot be stored, numbers that are not finite and days out of range, anywhere inside a
    value."""
    kind = type(value)
    if kind is str:
        if (error := unstorable(value, path)) is not None:
            raise error
    elif kind is datetime or kind is date:
        if (error := out_of_range(value, path)) is not None:
            raise error
    elif kind is float:
        if not math.isfinite(value):
            raise PydanticCustomError("not_finite", "trường {path} phải là số hữu hạn (không nhận NaN hay vô cực)",
                                      {"path": path})
    elif kind is dict:
        for key, item in value.items():
            if type(key) is str and (error := unstorable(key, path)) is not None:
                raise error
            check_value(item, f"{path}.{key}")
    elif kind is list:
        for i, item in enumerate(value):
            check_value(item, f"{path}.{i}")


def documented(schema: dict[str, Any], *_: object) -> None:
    """What the check below refuses, in the shape's JSON Schema: each text field's pattern, each day's years."""
    years = f"a day from {FIRST_DAY.isoformat()} to the end of the {YEARS_AHEAD}th year from now"
    stack = list(schema.get("properties", {}).values())
    while stack:
        sub = stack.pop()
        if sub.get("type") == "string" and sub.get("format") in ("date", "date-time"):
            sub.setdefault("description", years)
        elif sub.get("type") == "string" and "format" not in sub and "enum" not in sub and "const" not in sub:
            sub.setdefault("pattern", STORABLE_PATTERN)
        stack += [*sub.get("anyOf", []), *([sub["items"]] if isinstance(sub.get("items"), dict) else [])]


class InShape(BaseModel):
    """A request body: unknown fields refused, no text it carries holds a character the tables cannot keep, no
    date or time is outside the service's years (the error's `path` names the field inside the shape; its
    location names the shape)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=documented)

    @model_validator(mode="after")
    def _storable(self):
        for name, value in self.__dict__.items():
            if type(value) in _WALKED:  # nested shapes check themselves
                check_value(value, name)
        return self


_WALKED = frozenset({str, dict, list, date, datetime})  # a top-level float is bounded by its field (allow_inf_nan=False)
