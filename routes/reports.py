"""Reports for supervisors: per-agency figures of a period (JSON, CSV, XLSX) and the /reports page."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import format_decimal, format_number, gettext
from flask_babel import lazy_gettext as _l

from models.enums import OVERSEERS
from postal.clock import local, utcnow
from postal.errors import N_, Phrase, Unprocessable
from postal.reports import exports, figures, periods
from routes.api import spec
from routes.auth import page_for, roles_required
from routes.i18n import message_of
from routes.inputs import day_in, month_in
from routes.openapi import choice_param, day_param
from routes.session import get_session, settings

bp = Blueprint("reports", __name__)
FORMATS = ("json", "csv", "xlsx")
COLUMNS = (
    _l("Mã cơ quan"), _l("Cơ quan"), _l("Tiếp nhận"), _l("Đã trả kết quả"), _l("Đúng hạn"), _l("Trễ hạn"),
    _l("Tỷ lệ đúng hạn (%)"), _l("Lượt chuyển"), _l("Thất lạc"), _l("Thời gian chuyển trung vị (phút)"),
    _l("Trễ cả ngày hẹn lại"),
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def day_arg(args: Mapping[str, str], name: str, default: date) -> date:
    return day_in(args, name, default)


def period_of(args: Mapping[str, str]) -> periods.Period:
    """`from` and `to` (local dates, both included); this month so far when left out."""
    today = local(utcnow()).date()
    return periods.period(day_arg(args, "from", today.replace(day=1)), day_arg(args, "to", today))


def month_of(args: Mapping[str, str], default: date) -> tuple[int, int]:
    return month_in(args, "month", default)


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
    report = figures.agency_report(get_session(), period)
    if fmt == "json":
        return report.model_dump(mode="json", by_alias=True)
    headers, total = [str(c) for c in COLUMNS], gettext("Tổng cộng")
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


def month_sentence(figure: figures.MonthFigure) -> str:
    """The line the center pastes into its own monthly report."""
    return gettext("Tháng %(month)s: %(transfers)s lượt chuyển hồ sơ, %(runs)s chuyến, %(lost)s thất lạc",
                   month=f"{figure.month:02d}/{figure.year}", transfers=format_number(figure.transfers),
                   runs=format_number(figure.runs), lost=format_number(figure.lost))


def pct(value: float | None) -> str:
    return "—" if value is None else format_decimal(value, "0.00")


def minutes(value: float | None) -> str:
    return "—" if value is None else format_decimal(value, "0.#")


@bp.get("/reports")
@page_for(*OVERSEERS)
def page():
    errors: list[str] = []
    today = local(utcnow()).date()
    try:
        period = period_of(request.args)
    except Unprocessable as err:
        errors.append(message_of(err))
        period = periods.period(today.replace(day=1), today)
    try:
        year, month = month_of(request.args, period.last)  # the month the period ends in, by default
    except Unprocessable as err:
        errors.append(message_of(err))
        year, month = period.last.year, period.last.month
    session = get_session()
    report = figures.agency_report(session, period)
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
    html = render_template("reports/index.html", period=period, report=report, columns=COLUMNS, presets=presets,
                           downloads=downloads, month_value=f"{year:04d}-{month:02d}", sentence=month_sentence(figure),
                           figure=figure, errors=errors, pct=pct, minutes=minutes)
    return html, 422 if errors else 200
