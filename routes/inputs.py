"""What any request may carry outside its JSON body (whose in-shapes check themselves, models/shapes.py): path
segments, query parameters and form fields with text no table can keep are refused before any view runs."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Flask, request

from models.shapes import unstorable_char
from postal.errors import UnstorableInput


def texts() -> Iterator[tuple[str, str]]:
    """Every text of the request outside its JSON body, with the name of the field it came in."""
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str):
            yield name, value
    yield from _pairs(request.args)
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        yield from _pairs(request.form)


def _pairs(values) -> Iterator[tuple[str, str]]:
    for name, value in values.items(multi=True):
        yield name, name  # a name is text too (and the one a message can show)
        yield name, value


def refuse_unstorable() -> None:
    """400 naming the first field holding a character no table can keep; nothing else runs."""
    for field, value in texts():
        if (char := unstorable_char(value)) is not None:
            raise UnstorableInput(field=shown(field), char=f"{ord(char):04X}")


def shown(field: str) -> str:
    """A field's name as a message may show it: its bad characters as their code points."""
    return "".join(f"U+{ord(c):04X}" if unstorable_char(c) else c for c in field)


def register(app: Flask) -> None:
    """First of the request hooks: before a session, a token or a rate limit is looked up."""
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_unstorable)
