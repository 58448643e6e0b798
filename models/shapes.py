"""What every in-shape (a request body the service takes) refuses, whatever its fields: text no table can
store as it was sent. One check for all of them, so a new shape cannot forget it."""

from __future__ import annotations

import math
import re

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

# Characters no stored text may hold: each engine would store or refuse them differently (PostgreSQL refuses
# NUL; lone surrogates are not UTF-8 at all), and control characters have no place in a name or a note. Tab,
# newline and carriage return stay allowed.
UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


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
    """Refuse text that cannot be stored and numbers that are not finite, anywhere inside a value."""
    kind = type(value)
    if kind is str:
        if (error := unstorable(value, path)) is not None:
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
            check_value(item, f"{path}[{i}]")


class InShape(BaseModel):
    """A request body: unknown fields refused, and no text it carries holds a character the tables cannot keep
    (the error's `path` names the field inside the shape; its location names the shape)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _storable(self):
        for name, value in self.__dict__.items():
            if type(value) in _WALKED:  # nested shapes check themselves
                check_value(value, name)
        return self


_WALKED = frozenset({str, dict, list})  # a top-level float is bounded by its field (allow_inf_nan=False)
