"""The supervisor's board: today's runs, parcels per state, open alerts, a map and charts, refreshed live."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, render_template, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from models.enums import OVERSEERS
from postal import runs
from postal.clock import local, utcnow
from postal.config import ROOT
from postal.reports.board import BoardOut, board
from postal.reports.charts import BoardCharts, board_charts
from routes.auth import page_for, page_headers, roles_required
from routes.formats import PARCEL_STATES, SITE_KINDS, asset_url
from routes.session import get_session, settings

bp = Blueprint("board", __name__)
REFRESH_MS = 30_000
STATE_WORDS = {  # the shared words first; these cover states the shared table may not name yet
    "out_for_delivery": _l("Đang phát tận nhà"),
    "delivered": _l("Đã giao cho người dân"),
    **PARCEL_STATES,
}
ALERT_KINDS = {
    "missed_run": _l("Lỡ chuyến"),
    "late_in_transit": _l("Chậm trên đường"),
    "awaiting_receipt": _l("Chờ xác nhận nhận quá lâu"),
    "suspected_loss": _l("Nghi thất lạc"),
    "bag_mismatch": _l("Túi thiếu bì"),
    "due_at_risk": _l("Có nguy cơ trễ hẹn"),
    "overdue": _l("Quá hạn trả kết quả"),
    "misrouted": _l("Giao nhầm nơi nhận"),
    "proof_locked": _l("Khoá giao bằng mã OTP"),
    "overdue_again": _l("Quá cả ngày hẹn lại"),
    "gateway_fault": _l("Cổng gửi tin từ chối cấu hình"),
}
SEVERITIES = {"critical": _l("Nghiêm trọng"), "warning": _l("Cảnh báo"), "info": _l("Thông tin")}
ALERT_STATES = {"open": _l("Chưa ai nhận xử lý"), "acknowledged": _l("Đang xử lý"), "resolved": _l("Đã đóng")}


def tile_url() -> str:
    return settings().tile_url


def outline_url() -> str | None:
    """The shipped outline of the installation's province and its communes (static/geo), if there is one."""
    name = f"geo/{settings().province_code}.geojson"
    return asset_url(name) if (ROOT / "static" / name).is_file() else None


def tile_origin(url: str) -> str | None:
    """The origin the map's tiles come from, for the content policy ({s} subdomains as a wildcard)."""
    parts = urlsplit(url.replace("{s}.", "*."))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def board_headers(response):
    """The pages' policy, with the tile server allowed as an image source when one is configured."""
    page_headers(response)
    origin = tile_origin(tile_url())
    if origin:
        policy = response.headers["Content-Security-Policy"]
        response.headers["Content-Security-Policy"] = policy.replace("img-src 'self'", f"img-src 'self' {origin}", 1)
    return response


bp.after_request(board_headers)


def charts(now: datetime) -> BoardCharts:
    """The board's charts, from this process's copy while it is fresh."""
    ttl = settings().board_charts_ttl_s
    cache = current_app.extensions.setdefault("postal.board_charts", {})
    kept = cache.get("charts")
    if kept is None or (now - kept.computed_at).total_seconds() >= ttl or local(kept.computed_at).date() != local(now).date():
        kept = cache["charts"] = board_charts(get_session(), now)
    return kept


def board_data() -> BoardOut:
    now = utcnow()
    return board(get_session(), now, charts=charts(now))


def board_strings() -> dict[str, object]:
    """What the board's script says, in the page's language."""
    return {
        "states": {k: str(v) for k, v in STATE_WORDS.items()},
        "kinds": {k: str(v) for k, v in ALERT_KINDS.items()},
        "severities": {k: str(v) for k, v in SEVERITIES.items()},
        "alert_states": {k: str(v) for k, v in ALERT_STATES.items()},
        "run_states": {str(k): gettext(v) for k, v in runs.STATE_NAMES.items()},
        "site_kinds": {k: str(v) for k, v in SITE_KINDS.items()},
        "owner": gettext("Người xử lý: %(owner)s"),
        "opened": gettext("mở lúc %(at)s"),
        "ack": gettext("Nhận xử lý"),
        "resolve": gettext("Đóng cảnh báo"),
        "note_label": gettext("Ghi chú khi đóng (bắt buộc)"),
        "note_needed": gettext("Hãy ghi chú cách đã xử lý trước khi đóng cảnh báo."),
        "acked": gettext("Đã nhận xử lý cảnh báo."),
        "resolved": gettext("Đã đóng cảnh báo."),
        "failed": gettext("Không thực hiện được: %(message)s"),
        "no_alerts": gettext("Không có cảnh báo nào đang mở."),
        "more_alerts": gettext("Còn %(count)s cảnh báo khác: xem trang Cảnh báo."),
        "no_runs": gettext("Hôm nay không có chuyến nào."),
        "no_courier": gettext("Chưa phân công bưu tá"),
        "late": gettext("Trễ %(minutes)s phút"),
        "late_hours": gettext("Trễ %(hours)s giờ %(minutes)s phút"),
        "on_time": gettext("Đúng giờ"),
        "stop_at": gettext("%(name)s lúc %(at)s"),
        "updated": gettext("Cập nhật lúc %(at)s"),
        "offline": gettext("Không tải được dữ liệu mới (%(at)s); sẽ thử lại."),
        "login_again": gettext("Phiên đăng nhập đã hết: hãy đăng nhập lại."),
        "charts_at": gettext("Biểu đồ tính lúc %(at)s"),
        "on_time_pct": gettext("Tỷ lệ đúng hạn (%)"),
        "transfers": gettext("Lượt chuyển hồ sơ"),
        "courier_at": gettext("%(name)s · %(at)s"),
        "gps": gettext("theo vị trí lần quét"),
        "at_site": gettext("tại %(site)s"),
        "no_couriers": gettext("Chưa có vị trí bưu tá nào hôm nay."),
        "courier": gettext("Bưu tá"),
        "cluster_title": gettext("%(count)s điểm giao nhận: %(names)s"),
        "no_returns": gettext("Chưa có hồ sơ trả kết quả trong 30 ngày qua."),
    }


def board_config() -> dict[str, object]:
    return {
        "user": current_user.username,
        "data_url": url_for("board.data"),
        # The alerts API (routes/watch_api.py): ID is replaced by the alert's id.
        "ack_url": "/api/v1/alerts/ID/ack",
        "resolve_url": "/api/v1/alerts/ID/resolve",
        "csrf_url": url_for("auth.fresh_csrf_token"),
        "login_url": url_for("auth.login", next="/board"),
        "parcel_url": url_for("staff.parcel", code="CODE"),
        "dossier_url": url_for("staff.dossier", code="CODE"),
        "refresh_ms": REFRESH_MS,
        "tiles": {"url": tile_url(), "attribution": settings().tile_attribution},
        "outline_url": outline_url(),
        "strings": board_strings(),
    }


@bp.get("/board")
@page_for(*OVERSEERS)
def page():
    data = board_data()
    return render_template("board/index.html", board=data, data_json=data.model_dump(mode="json"), config=board_config())


@bp.get("/board/data")
@roles_required(*OVERSEERS)
def data():
    response = jsonify(board_data().model_dump(mode="json"))
    response.headers["Cache-Control"] = "no-store"
    return response
