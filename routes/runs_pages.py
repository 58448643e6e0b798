"""Run pages: the day's runs, one run driven from a phone (assign, start, depart, close), run templates for admins."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from routes.forms import Form
from pydantic import ValidationError
from wtforms import FieldList, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from models import Role, RunKind, RunState, SiteKind
from models.enums import DRIVERS, RUN_READERS
from models.runs import AssignIn, RunTemplateIn
from postal import labels, runs, sites
from postal.clock import local, utcnow
from postal.errors import NotFound, PostalError, Unprocessable
from postal.workdays import DEFAULT_CALENDAR
from routes.auth import page_for
from routes.formats import SITE_KINDS, vn_time
from routes.i18n import message_of
from routes.inputs import PAGE_DAY, PAGE_DAY_WORDING, day_in
from routes.session import get_session, settings

bp = Blueprint("runs_pages", __name__)
STOP_SLOTS = 12  # stop pickers on the template form; empty ones are ignored
RUN_STATES = {
    RunState.PLANNED: _l("Chưa bắt đầu"),
    RunState.STARTED: _l("Đang chạy"),
    RunState.CLOSED: _l("Đã kết thúc"),
}
RUN_KINDS = {RunKind.SHUTTLE: _l("Chuyến thư (trung tâm ↔ cơ quan)"), RunKind.DELIVERY: _l("Phát tận nhà")}


@bp.app_template_filter("run_state")
def run_state(value: str) -> str:
    return str(RUN_STATES.get(value, value))


@bp.app_template_filter("run_kind")
def run_kind(value: str) -> str:
    return str(RUN_KINDS.get(value, value))


def today() -> date:
    return local(utcnow()).date()


def parse_day(args) -> date:
    """?date= as the day field sends it (dd/mm/yyyy) or as links carry it (YYYY-MM-DD); today by default."""
    return day_in(args, "date", today(), shapes=PAGE_DAY, wording=PAGE_DAY_WORDING)


# -- the day's runs -------------------------------------------------------------------------------


@bp.get("/runs")
@page_for(*RUN_READERS)
def run_list():
    try:
        day, bad_date = parse_day(request.args), None
    except Unprocessable as err:  # today's runs, with what was wrong with the day asked for
        day, bad_date = today(), message_of(err)
    found = runs.day_runs(get_session(), day, viewer=current_user.user)
    return render_template(
        "runs/list.html", runs=found, day=day, today=today(), bad_date=bad_date, weekday=format_date(day, "EEEE"),
        previous=day - timedelta(days=1), following=day + timedelta(days=1),
        day_off=not DEFAULT_CALENDAR.is_working_day(day), holiday=DEFAULT_CALENDAR.holiday_name(day),
    ), 422 if bad_date else 200


# -- one run --------------------------------------------------------------------------------------


class AssignForm(Form):
    courier = SelectField(_l("Bưu tá"), choices=[])
    vehicle = StringField(_l("Phương tiện (biển số)"), validators=[Optional(), Length(max=40)])


def assign_form(run_id: int) -> AssignForm:
    form = AssignForm()
    form.courier.choices = [SelectChoice(u.username, f"{u.username} — {u.full_name}" if u.full_name else u.username)
                            for u in runs.drivers(get_session(), run_id)]
    return form


@bp.get("/runs/<int:run_id>")
@page_for(*RUN_READERS)
def run_page(run_id: int):
    sheet = runs.run_sheet(get_session(), run_id, viewer=current_user.user)
    following = next((s.seq for s in sheet.stops if s.departed_at is None), None)
    form = assign_form(run_id)
    form.courier.data = sheet.courier
    return render_template("runs/run.html", run=sheet, can=runs.abilities(sheet, current_user.user), form=form,
                           next_seq=following, printed_at=utcnow())


def back_to(run_id: int, anchor: str | None = None):
    return redirect(url_for("runs_pages.run_page", run_id=run_id, _anchor=anchor))


def refused(err: PostalError, run_id: int):
    """A state the run is not in, or a bad field: said on the run page. A refusal by role stays a 403, no such run a 404."""
    if err.status in (401, 403) or isinstance(err, NotFound) and err.code == NotFound.code:
        raise err
    get_session().rollback()
    flash(message_of(err), "error")
    return back_to(run_id)


@bp.post("/runs/<int:run_id>/assign")
@page_for(*DRIVERS)
def assign(run_id: int):
    form = assign_form(run_id)
    if not form.validate_on_submit():
        flash(gettext("Chọn một bưu tá trong danh sách."), "error")
        return back_to(run_id)
    data = AssignIn(courier=form.courier.data, vehicle=(form.vehicle.data or "").strip() or None)
    try:
        run = runs.assign(get_session(), run_id, data, actor=current_user.user, now=utcnow())
    except PostalError as err:
        return refused(err, run_id)
    current_app.logger.info("%s assigned run %s to %s", current_user.username, run_id, run.courier)
    flash(gettext("Đã phân công chuyến cho bưu tá %(courier)s.") % {"courier": run.courier}, "ok")
    return back_to(run_id)


@bp.post("/runs/<int:run_id>/start")
@page_for(*DRIVERS)
def start(run_id: int):
    try:
        run = runs.start(get_session(), run_id, actor=current_user.user, now=utcnow(),
                         window=timedelta(minutes=settings().run_start_window_min))
    except PostalError as err:
        return refused(err, run_id)
    flash(gettext("Đã bắt đầu chuyến lúc %(time)s.") % {"time": vn_time(utcnow())}, "ok")
    if not run.stops:
        flash(gettext("Chuyến không có bì nào để nhận hay giao."), "info")
    return back_to(run_id)


@bp.post("/runs/<int:run_id>/stops/<int:seq>/depart")
@page_for(*DRIVERS)
def depart(run_id: int, seq: int):
    try:
        run = runs.depart(get_session(), run_id, seq, actor=current_user.user, now=utcnow())
    except PostalError as err:
        return refused(err, run_id)
    stop = next(s for s in run.stops if s.seq == seq)
    name = sites.by_code(get_session()).get(stop.site)
    flash(gettext("Đã rời %(site)s lúc %(time)s.") % {"site": name.name if name else stop.site,
                                                      "time": vn_time(stop.departed_at)}, "ok")
    following = next((s.seq for s in run.stops if s.departed_at is None), None)
    return back_to(run_id, f"stop-{following}" if following else None)  # the courier's phone opens at the next stop


@bp.get("/runs/<int:run_id>/close")
@page_for(*DRIVERS)
def confirm_close(run_id: int):
    """The step before closing: what is still on board will be flagged by the watch."""
    sheet = runs.run_sheet(get_session(), run_id, viewer=current_user.user)
    if sheet.state == RunState.CLOSED:
        return back_to(run_id)
    unpicked = [(s, p) for s in sheet.stops for p in s.pick if p.picked_at is None]
    return render_template("runs/close.html", run=sheet, unpicked=unpicked)


@bp.post("/runs/<int:run_id>/close")
@page_for(*DRIVERS)
def close(run_id: int):
    try:
        closed = runs.close(get_session(), run_id, actor=current_user.user, now=utcnow())
    except PostalError as err:
        return refused(err, run_id)
    current_app.logger.info("%s closed run %s with %s on board", current_user.username, run_id, len(closed.on_board))
    flash(gettext("Đã kết thúc chuyến."), "ok")
    if closed.on_board:
        flash(gettext("%(count)s bì còn trên xe, chưa bàn giao, sẽ được cảnh báo: %(codes)s")
              % {"count": len(closed.on_board), "codes": ", ".join(labels.spaced(c) for c in closed.on_board)}, "error")
    return back_to(run_id)


# -- the scan page's run selector (templates/staff/scan.html calls this) ---------------------------


@bp.app_template_global("scan_runs")
def scan_runs() -> tuple[list[runs.RunSummary], int | None]:
    """The runs a scan may carry on today's scan page, and the one preselected (?run= or the only started one)."""
    if not current_user.is_authenticated:
        return [], None
    return runs.scan_runs(get_session(), today(), actor=current_user.user, requested=request.args.get("run", type=int))


@bp.app_template_global("run_next_stops")
def run_next_stops(choices: list[runs.RunSummary]) -> dict[int, runs.NextStop]:
    """Where each of the scan page's runs goes next, shown above the scans."""
    return runs.next_stops(get_session(), [r.id for r in choices])


# -- run templates (admin) ---------------------------------------------------------------------------


class TemplateForm(Form):
    name = StringField(_l("Tên tuyến"), validators=[DataRequired(), Length(max=120)])
    departs = StringField(_l("Giờ xuất phát (HH:MM)"), validators=[
        DataRequired(), Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", message=_l("Giờ có dạng HH:MM, ví dụ 07:30."))])
    post_office = SelectField(_l("Bưu điện"), choices=[])
    kind = SelectField(_l("Loại chuyến"), choices=[SelectChoice(k.value, RUN_KINDS[k]) for k in RunKind])
    stops = FieldList(StringField(_l("Điểm dừng"), validators=[Optional(), Length(max=32)]), min_entries=STOP_SLOTS,
                      max_entries=STOP_SLOTS)  # site codes in visiting order, each picked from the sites


def stop_groups() -> list[tuple[str, list]]:
    """The sites a line can stop at, grouped by kind: centers first (a shuttle starts at one)."""
    network = sorted((s for s in sites.by_code(get_session()).values() if s.active), key=lambda s: s.name)
    kinds = (SiteKind.CENTER, SiteKind.COMMUNE_CENTER, SiteKind.AGENCY)
    return [(str(SITE_KINDS[k.value]), members) for k in kinds if (members := [s for s in network if s.kind == k])]


def offices() -> list[SelectChoice]:
    """The post offices still in use, for a template's form."""
    found = sorted((s for s in sites.by_code(get_session()).values() if s.kind == SiteKind.POST_OFFICE and s.active),
                   key=lambda s: s.name)
    return [SelectChoice(s.code, s.name) for s in found]


def template_form() -> TemplateForm:
    form = TemplateForm()
    form.post_office.choices = offices()
    return form


@bp.route("/admin/run-templates", methods=["GET", "POST"])
@page_for(Role.ADMIN)
def run_templates():
    form = template_form()
    stop_errors: list[str] = []
    if form.validate_on_submit():
        stops = [s for s in form.stops.data if s]
        try:
            data = RunTemplateIn(name=form.name.data, departs=form.departs.data, stops=stops, kind=form.kind.data,
                                 post_office=form.post_office.data)
        except ValidationError:
            stop_errors.append(gettext("Chọn ít nhất hai điểm dừng, điểm đầu là trung tâm."))
        else:
            try:
                template, created = runs.create_template(get_session(), data, actor=current_user.user, now=utcnow())
            except PostalError as err:
                get_session().rollback()
                where = err.params.get("field")
                if where == "stops":
                    stop_errors.append(message_of(err))
                else:
                    field = form.post_office if where == "post_office" else form.name
                    field.errors = [*field.errors, message_of(err)]
            else:
                current_app.logger.info("admin %s saved run template %s %s", current_user.username, template.name,
                                        template.departs)
                message = (gettext("Đã tạo mẫu chuyến %(name)s lúc %(departs)s.") if created
                           else gettext("Mẫu chuyến %(name)s lúc %(departs)s đã có."))
                flash(message % {"name": template.name, "departs": template.departs}, "ok")
                return redirect(url_for("runs_pages.run_templates"))
    names = {c: s.name for c, s in sites.by_code(get_session()).items()}
    return render_template("admin/run_templates.html", form=form, stop_groups=stop_groups(), stop_errors=stop_errors,
                           templates=runs.list_templates(get_session()).run_templates, names=names)
