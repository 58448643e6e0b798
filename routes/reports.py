"""Reports for supervisors: per-agency figures of a period (JSON, CSV, XLSX) and the /reports page."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import format_decimal, format_number, gettext
from flask_babel import lazy_gettext as _l

from models import Role
from models.collection import FeeStatementOut
from models.enums import OVERSEERS
from postal.clock import local, utcnow
from postal.errors import N_, Phrase, Unprocessable
from postal.reports import exports, figures, periods
from postal.reports import fees as report_fees
from routes.api import spec
from routes.auth import current_actor, page_for, roles_required
from routes.i18n import message_of
from routes.inputs import PAGE_DAY, PAGE_DAY_WORDING, day_in, month_in
from routes.openapi import Param, choice_param, day_param
from routes.session import get_session, settings

bp = Blueprint("reports", __name__)
FORMATS = ("json", "csv", "xlsx")
HEADERS = {
    "agency": _l("Mã cơ quan"), "agency_name": _l("Cơ quan"), "received": _l("Tiếp nhận"),
    "returned": _l("Đã trả kết quả"), "early": _l("Trước hạn"), "on_due_day": _l("Đúng hạn"), "late": _l("Quá hạn"),
    "on_time_pct": _l("Tỷ lệ đúng hạn (%)"), "pending_in_time": _l("Đang giải quyết trong hạn"),
    "pending_late": _l("Đang giải quyết quá hạn"), "late_again": _l("Quá cả ngày hẹn lại"),
    "transfers": _l("Lượt chuyển"), "lost": _l("Thất lạc"), "median_transit_min": _l("Thời gian chuyển trung vị (phút)"),
}
COLUMNS = tuple((name, HEADERS[name]) for name in exports.FIELDS)
BAD = {"late", "pending_late", "late_again", "lost"}  # shown in red when not nought
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def period_of(args: Mapping[str, str], *, page: bool = False) -> periods.Period:
    """`from` and `to` (local dates, both included; YYYY-MM-DD, and dd/mm/yyyy on the page); this month so far
    when left out."""
    today = local(utcnow()).date()
    shapes = {"shapes": PAGE_DAY, "wording": PAGE_DAY_WORDING} if page else {}
    return periods.period(day_in(args, "from", today.replace(day=1), **shapes), day_in(args, "to", today, **shapes))


@bp.get("/api/v1/reports/agencies")
@spec.operation("get", "/reports/agencies", "Per-agency figures of a period (JSON, CSV or XLSX)",
                responses={200: {"application/json": figures.AgencyReportOut, "text/csv": None, XLSX: None}},
                query={"from": day_param("YYYY-MM-DD, local date (default: the 1st of this month)"),
                       "to": day_param("YYYY-MM-DD, local date, included (default: today)"),
                       "format": choice_param("json (default), csv or xlsx", FORMATS)})
@roles_required(*OVERSEERS)
def agencies():
    fmt = (request.args.get("format") or "json").lower()
    if fmt not in FORMATS:
        raise Unprocessable(field="format", detail=Phrase(N_("phải là json, csv hoặc xlsx")))
    period = period_of(request.args)
    report = figures.agency_report(get_session(), period, now=utcnow())
    if fmt == "json":
        return report.model_dump(mode="json", by_alias=True)
    headers, total = [str(header) for _, header in COLUMNS], gettext("Tổng cộng")
    name = f"bao-cao-co-quan_{period.first:%Y-%m-%d}_{period.last:%Y-%m-%d}.{fmt}"
    if fmt == "csv":
        body, mimetype = exports.agencies_csv(report, headers, total_label=total), "text/csv; charset=utf-8"
    else:
        heading = gettext("Báo cáo kết quả giải quyết hồ sơ theo cơ quan — UBND tỉnh %(province)s — từ ngày %(first)s "
                          "đến ngày %(last)s") % {"province": settings().province, "first": f"{period.first:%d/%m/%Y}",
                                                   "last": f"{period.last:%d/%m/%Y}"}
        body = exports.agencies_xlsx(report, headers, title=gettext("Báo cáo"), total_label=total, heading=heading)
        mimetype = XLSX
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                      "Cache-Control": "no-store"})


FEE_HEADERS = {
    "agency": _l("Cơ quan"), "collected_at": _l("Thời gian thu"), "dossier": _l("Mã hồ sơ"), "procedure": _l("Thủ tục"),
    "courier": _l("Bưu tá"), "procedure_fee_vnd": _l("Phí, lệ phí thu hộ (đồng)"), "delivery_fee_vnd": _l("Cước giao (đồng)"),
    "received_vnd": _l("Đã thu (đồng)"), "difference_vnd": _l("Chênh lệch (đồng)"), "method": _l("Hình thức"),
    "reference": _l("Mã giao dịch"), "flag": _l("Ghi chú"),
}


@bp.get("/api/v1/reports/fees")
@spec.operation("get", "/reports/fees", "Fees collected at the door on each agency's behalf (JSON, CSV or XLSX)",
                responses={200: {"application/json": FeeStatementOut, "text/csv": None, XLSX: None}},
                query={"from": day_param("YYYY-MM-DD, local date (default: the 1st of this month)"),
                       "to": day_param("YYYY-MM-DD, local date, included (default: today)"),
                       "agency": Param("an agency's site code (default: every agency the caller may read)"),
                       "format": choice_param("json (default), csv or xlsx", FORMATS)})
@roles_required(*OVERSEERS, Role.AGENCY_CLERK)
def fee_statement():
    fmt = (request.args.get("format") or "json").lower()
    if fmt not in FORMATS:
        raise Unprocessable(field="format", detail=Phrase(N_("phải là json, csv hoặc xlsx")))
    period = period_of(request.args)
    st = report_fees.statement(get_session(), period, viewer=current_actor(), agency=request.args.get("agency") or None)
    if fmt == "json":
        return st.model_dump(mode="json", by_alias=True)
    rows, bold = report_fees.statement_rows(st, subtotal=gettext("Cộng"), total=gettext("Tổng cộng"),
                                            flag=gettext("Chênh lệch: kiểm tra lại"),
                                            methods={"cash": gettext("Tiền mặt"), "transfer": gettext("Chuyển khoản")})
    headers = [str(FEE_HEADERS[name]) for name in report_fees.FIELDS]
    name = f"bang-ke-phi-thu-ho_{period.first:%Y-%m-%d}_{period.last:%Y-%m-%d}.{fmt}"
    if fmt == "csv":
        body, mimetype = exports.table_csv(headers, rows), "text/csv; charset=utf-8"
    else:
        heading = gettext("Bảng kê phí, lệ phí thu hộ khi giao kết quả tận nhà — UBND tỉnh %(province)s — từ ngày "
                          "%(first)s đến ngày %(last)s") % {"province": settings().province,
                                                           "first": f"{period.first:%d/%m/%Y}", "last": f"{period.last:%d/%m/%Y}"}
        body, mimetype = exports.table_xlsx(headers, rows, title=gettext("Phí thu hộ"), heading=heading,
                                            formats={i: "#,##0" for i in range(5, 9)}, bold_rows=bold), XLSX
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                      "Cache-Control": "no-store"})


def month_sentence(figure: figures.MonthFigure) -> str:
    """The line the center pastes into its own monthly report."""
    return gettext("Tháng %(month)s: %(transfers)s lượt chuyển hồ sơ, %(runs)s chuyến, %(lost)s thất lạc",
                   month=f"{figure.month:02d}/{figure.year}", transfers=format_number(figure.transfers),
                   runs=format_number(figure.runs), lost=format_number(figure.lost))


def shown(name: str, value) -> str:
    """A figure as the page shows it: counts as they are, a percentage and the minutes with a decimal comma."""
    if name not in exports.DECIMALS:
        return format_number(value)
    return "—" if value is None else format_decimal(value, "0.00" if name == "on_time_pct" else "0.#")


@bp.get("/reports")
@page_for(*OVERSEERS)
def page():
    errors: list[str] = []
    today = local(utcnow()).date()
    try:
        period = period_of(request.args, page=True)
    except Unprocessable as err:
        errors.append(message_of(err))
        period = periods.period(today.replace(day=1), today)
    try:
        year, month = month_in(request.args, "month", period.last, page=True)  # by default the period's last month
    except Unprocessable as err:
        errors.append(message_of(err))
        year, month = period.last.year, period.last.month
    session = get_session()
    report = figures.agency_report(session, period, now=utcnow())
    figure = figures.month_figure(session, year, month)
    last_month = today.replace(day=1) - date.resolution
    presets = [
        (gettext("Tháng này"), today.replace(day=1), today),
        (gettext("Tháng trước"), last_month.replace(day=1), last_month),
        (gettext("30 ngày qua"), today - 29 * date.resolution, today),
        (gettext("Từ đầu năm"), today.replace(month=1, day=1), today),
    ]
    downloads = {fmt: url_for("reports.agencies", **{"from": period.first.isoformat(), "to": period.last.isoformat(),
                                                     "format": fmt}) for fmt in ("csv", "xlsx")}
    downloads |= {f"fees_{fmt}": url_for("reports.fee_statement", **{"from": period.first.isoformat(),
                                                                      "to": period.last.isoformat(), "format": fmt})
                  for fmt in ("csv", "xlsx")}
    html = render_template("reports/index.html", period=period, report=report, columns=COLUMNS, presets=presets,
                           downloads=downloads, month_value=f"{year:04d}-{month:02d}", month_year=year, month_number=month, sentence=month_sentence(figure),
                           figure=figure, errors=errors, shown=shown, bad=BAD)
    return html, 422 if errors else 200
