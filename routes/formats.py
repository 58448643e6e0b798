"""How the domain's values read on a page: words for its codes, Vietnamese dates and times."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import lru_cache

from flask import Flask, current_app
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l

from models.enums import OVERSEERS, POSTAL_DESK, REGISTRARS, RUN_READERS
from postal.clock import local
from postal.config import ROOT
from postal.custody import ACTION_NAMES
from postal.labels import spaced
from routes.i18n import render

ROLE_NAMES = {
    "postal_clerk": _l("Nhân viên bưu điện"),
    "courier": _l("Bưu tá"),
    "agency_clerk": _l("Cán bộ tiếp nhận của cơ quan"),
    "supervisor": _l("Giám sát"),
    "admin": _l("Quản trị"),
}
SITE_KINDS = {
    "center": _l("Trung tâm PVHCC"),
    "commune_center": _l("Trung tâm PVHCC xã, phường"),
    "agency": _l("Cơ quan giải quyết"),
    "post_office": _l("Bưu điện"),
}
PARCEL_STATES = {
    "created": _l("Chưa tiếp nhận"),
    "at_site": _l("Tại điểm"),
    "in_transit": _l("Bưu tá đang giữ"),
    "awaiting_receipt": _l("Chờ xác nhận nhận"),
    "missing": _l("Báo thất lạc"),
}
DIRECTIONS = {
    "to_agency": _l("Đến cơ quan giải quyết"),
    "to_center": _l("Kết quả về trung tâm"),
    "to_citizen": _l("Phát tận nhà công dân"),
    "from_citizen": _l("Nhận tại nhà công dân"),
}
DOSSIER_STATUSES = {
    "registered": _l("Đã đăng ký"),
    "received": _l("Đã tiếp nhận"),
    "to_agency": _l("Đang chuyển đến cơ quan"),
    "at_agency": _l("Cơ quan đang giải quyết"),
    "result_ready": _l("Có kết quả"),
    "returning": _l("Kết quả đang về trung tâm"),
    "ready_for_return": _l("Sẵn sàng trả kết quả"),
    "out_for_delivery": _l("Đang phát kết quả"),
    "returned": _l("Đã trả kết quả"),
    "missing": _l("Báo thất lạc"),
}
RETURN_METHODS = {"counter": _l("Nhận tại quầy"), "home": _l("Phát tận nhà")}
FEE_STATUSES = {  # models.delivery.FeeStatus
    "due": _l("trả khi bưu tá đến"),
    "paid": _l("đã trả"),
    "exempt": _l("được miễn"),
    "not_due": _l("không phải trả"),
    "to_refund": _l("sẽ được hoàn lại"),
    "refunded": _l("đã hoàn phí"),
}


def word(table: dict, value: str | None) -> str:
    """The word for a code, or the code itself when the table lacks it."""
    if value is None:
        return ""
    return str(table[value]) if value in table else value


def action_name(action: str) -> str:
    name = ACTION_NAMES.get(action)
    return gettext(name) if name else action


def vn_date(value: datetime | None) -> str:
    """dd/mm/yyyy in Vietnam's time zone."""
    return local(value).strftime("%d/%m/%Y") if value else ""


def vn_time(value: datetime | None) -> str:
    return local(value).strftime("%H:%M") if value else ""


def vn_datetime(value: datetime | None) -> str:
    """Hours, minutes, day, month, year — the order of the control sheet (mẫu 05)."""
    return local(value).strftime("%H:%M %d/%m/%Y") if value else ""


def has_page(path: str) -> bool:
    """Whether this app serves a page at `path` (a later module may add it)."""
    return any(rule.rule == path for rule in current_app.url_map.iter_rules())


def asset_version(name: str) -> str:
    """A short hash of a static file, so a changed file gets a new URL (and a new offline copy)."""
    path = ROOT / "static" / name
    return file_hash(path, path.stat().st_mtime_ns) if path.exists() else "0"


@lru_cache(maxsize=64)
def file_hash(path, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def asset_url(name: str) -> str:
    return f"/static/{name}?v={asset_version(name)}"


def vnd(amount: int) -> str:
    """26000 → 26.000 đ."""
    return f"{amount:,}".replace(",", ".") + " đ"


def register(app: Flask) -> None:
    app.jinja_env.filters.update(vnd=vnd)
    app.jinja_env.filters.update(
        vn_date=vn_date, vn_time=vn_time, vn_datetime=vn_datetime, s10=spaced, action_name=action_name,
        role_name=lambda v: word(ROLE_NAMES, v), site_kind=lambda v: word(SITE_KINDS, v),
        parcel_state=lambda v: word(PARCEL_STATES, v), direction=lambda v: word(DIRECTIONS, v),
        dossier_status=lambda v: word(DOSSIER_STATUSES, v), return_method=lambda v: word(RETURN_METHODS, v),
        fee_status=lambda v: word(FEE_STATUSES, v), iso_day=lambda v: "/".join(reversed(v.split("-"))),
        phrase=render,  # a translatable fragment from the domain (postal.errors.Phrase), in the page's language
    )
    app.jinja_env.globals.update(has_page=has_page, asset_url=asset_url, get_locale=get_locale,
                                 OVERSEERS=OVERSEERS, REGISTRARS=REGISTRARS, RUN_READERS=RUN_READERS,
                                 POSTAL_DESK=POSTAL_DESK)  # the menu offers what each role may open
