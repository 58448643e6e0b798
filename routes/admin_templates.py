"""The admin's page of one run template: edit it, stop it, and see (and make anew) the runs already made from it."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import ValidationError
from wtforms import SelectChoice, SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

from models import Role
from models.runs import RunTemplateIn
from postal import runs, sites
from postal.clock import utcnow
from postal.errors import PostalError
from routes.auth import page_for
from routes.i18n import message_of
from routes.runs_pages import STOP_SLOTS, TemplateForm, offices, stop_groups
from routes.session import get_session

bp = Blueprint("admin_templates", __name__, url_prefix="/admin")
WEEKDAYS = [SelectChoice(str(i), name) for i, name in enumerate(
    (_l("Thứ Hai"), _l("Thứ Ba"), _l("Thứ Tư"), _l("Thứ Năm"), _l("Thứ Sáu"), _l("Thứ Bảy"), _l("Chủ nhật")), 1)]
KEPT_BECAUSE = {"started": _l("chuyến đã bắt đầu"), "closed": _l("chuyến đã kết thúc"),
                "scanned": _l("đã có lượt quét trên chuyến"), "frozen": _l("bảng kê đã chốt (đã qua giờ chốt)")}


class EditTemplateForm(TemplateForm):
    weekdays = SelectMultipleField(_l("Chạy vào các ngày (trong ngày làm việc)"), choices=WEEKDAYS,
                                   widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())


def edit_form(template) -> EditTemplateForm:
    stops = [*template.stops, *[""] * (STOP_SLOTS - len(template.stops))]
    form = EditTemplateForm(data={"name": template.name, "departs": template.departs, "post_office": template.post_office,
                                  "kind": template.kind, "stops": stops, "weekdays": [str(d) for d in template.weekdays]})
    form.post_office.choices = offices()
    return form


@bp.route("/run-templates/<int:template_id>", methods=["GET", "POST"])
@page_for(Role.ADMIN)
def template_page(template_id: int):
    change = runs.template_change(get_session(), template_id, utcnow(), viewer=current_user.user)
    form = edit_form(change.run_template)
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            data = RunTemplateIn(name=form.name.data, departs=form.departs.data, stops=[s for s in form.stops.data if s],
                                 kind=change.run_template.kind, post_office=form.post_office.data,
                                 weekdays=[int(d) for d in form.weekdays.data])
        except ValidationError:
            errors.append(gettext("Chọn ít nhất hai điểm dừng (điểm đầu là trung tâm) và ít nhất một ngày chạy."))
        else:
            try:
                saved = runs.edit_template(get_session(), template_id, data, actor=current_user.user, now=utcnow())
            except PostalError as err:
                get_session().rollback()
                errors.append(message_of(err))
            else:
                current_app.logger.info("admin %s edited run template %s", current_user.username, template_id)
                flash(gettext("Đã lưu mẫu chuyến. Thay đổi áp dụng từ ngày %(day)s, ngày đầu tiên chưa tạo chuyến.")
                      % {"day": f"{saved.effective_from:%d/%m/%Y}"}, "ok")
                return redirect(url_for("admin_templates.template_page", template_id=template_id))
    names = {c: s.name for c, s in sites.by_code(get_session()).items()}
    return render_template("admin/run_template.html", change=change, t=change.run_template, form=form, errors=errors,
                           stop_groups=stop_groups(), names=names, kept_because=KEPT_BECAUSE,
                           regenerable=[a for a in change.affected if a.regenerable])


@bp.post("/run-templates/<int:template_id>/active/<int:active>")
@page_for(Role.ADMIN)
def set_active(template_id: int, active: int):
    change = runs.set_template_active(get_session(), template_id, bool(active), actor=current_user.user, now=utcnow())
    message = (gettext("Đã dùng lại mẫu chuyến từ ngày %(day)s.") if active
               else gettext("Đã ngừng mẫu chuyến từ ngày %(day)s: không tạo thêm chuyến nào từ mẫu này."))
    flash(message % {"day": f"{change.effective_from:%d/%m/%Y}"}, "ok")
    return redirect(url_for("admin_templates.template_page", template_id=template_id))


@bp.post("/run-templates/<int:template_id>/regenerate")
@page_for(Role.ADMIN)
def regenerate(template_id: int):
    done = runs.regenerate(get_session(), template_id, actor=current_user.user, now=utcnow())
    current_app.logger.info("admin %s regenerated the runs of template %s", current_user.username, template_id)
    days = ", ".join(f"{r.date:%d/%m/%Y}" for r in done.regenerated) or "—"
    flash(gettext("Đã tạo lại %(count)s chuyến theo mẫu mới: %(days)s.") % {"count": len(done.regenerated), "days": days},
          "ok")
    if done.removed:
        flash(gettext("Đã bỏ %(count)s chuyến của những ngày mẫu không còn chạy: %(days)s.")
              % {"count": len(done.removed), "days": ", ".join(f"{r.date:%d/%m/%Y}" for r in done.removed)}, "ok")
    for kept in done.kept:
        flash(gettext("Giữ nguyên chuyến ngày %(day)s: %(why)s.")
              % {"day": f"{kept.date:%d/%m/%Y}", "why": KEPT_BECAUSE[kept.kept_because]}, "info")
    return redirect(url_for("admin_templates.template_page", template_id=template_id))
