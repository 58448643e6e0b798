"""What any request may carry outside its JSON body (whose in-shapes check themselves, models/shapes.py): path
segments, query parameters and form fields with text no table can keep are refused before any view runs; days
in a query are read here, within the same years as a body's."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from functools import wraps

from flask import Flask, request

from models.shapes import (
    FIRST_DAY,
    day_out_of_range,
    dmy,
    last_day,
    unstorable_char,
)
from postal.errors import N_, Phrase, Unprocessable, UnstorableInput, shown

ISO_DAY = ("%Y-%m-%d",)
# A page's day fields (templates/_date.html) send dd/mm/yyyy; links and older bookmarks carry YYYY-MM-DD.
PAGE_DAY = ("%d/%m/%Y", "%Y-%m-%d")
PAGE_DAY_WORDING = N_("ngày phải có dạng dd/mm/yyyy, ví dụ 07/12/2026")
# A request's body: a dossier, a form or a bag fits many times over; a device's batch of scans has its own.
BODY_BYTES = 256 * 1024
SCAN_BATCH_BYTES = 8 * 1024 * 1024
DOSSIER_BATCH_BYTES = 4 * 1024 * 1024  # up to 1,000 dossiers of the one-stop system


def body_limit(size: int) -> Callable:
    """A view whose body may be larger than BODY_BYTES, up to `size`."""
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def limited(*args, **kwargs):
            request.max_content_length = size
            return view(*args, **kwargs)
        limited.body_bytes = size  # the OpenAPI document's 413 names it
        return limited
    return decorate


def size_text(size: int | None) -> str:
    size = size or BODY_BYTES
    return f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"


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
            raise UnstorableInput(field=shown(field, 120), char=f"{ord(char):04X}")


def register(app: Flask) -> None:
    """The body limit, and the first of the request hooks: before a session, a token or a rate limit is looked
    up."""
    app.config["MAX_CONTENT_LENGTH"] = BODY_BYTES
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_unstorable)


def day_in(args: Mapping[str, str], name: str, default: date | None = None, *, shapes: tuple[str, ...] = ISO_DAY,
           wording: str = N_("ngày phải có dạng YYYY-MM-DD")) -> date | None:
    """A day from the query (`default` when left out): 422 naming the field when it is not one, or is outside
    the years the service takes."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    for shape in shapes:
        try:
            day = datetime.strptime(raw, shape).date()
        except ValueError:
            continue
        return within_years(name, day)
    raise Unprocessable(field=name, detail=Phrase(wording))


def month_in(args: Mapping[str, str], name: str, default: date, *, page: bool = False) -> tuple[int, int]:
    """A month from the query (YYYY-MM, and on a page also mm/yyyy as its month field sends it; the month of
    `default` when left out), within the service's years."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return default.year, default.month
    try:
        if page and "/" in raw:
            month, year = (int(part) for part in raw.split("/"))
        else:
            year, month = (int(part) for part in raw.split("-"))
        first = date(year, month, 1)
    except ValueError:
        wording = N_("tháng phải có dạng mm/yyyy, ví dụ 12/2026") if page else N_("tháng phải có dạng YYYY-MM")
        raise Unprocessable(field=name, detail=Phrase(wording)) from None
    within_years(name, first)
    return year, month


def within_years(name: str, day: date) -> date:
    if day_out_of_range(day):
        raise Unprocessable(field=name, detail=Phrase(N_("ngày %(value)s nằm ngoài khoảng %(first)s–%(last)s"),
                                                      value=dmy(day), first=dmy(FIRST_DAY), last=dmy(last_day())))
    return day
