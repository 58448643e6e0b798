"""The procedure catalogue: the admin's pages (/admin/procedures) and the API (/api/v1/procedures; admins write)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from models import Role, SiteKind
from models.counter import ProcedureCatalogueOut, ProcedureIn, ProcedureSavedOut
from models.enums import STAFF
from postal import procedures, sites
from postal.clock import utcnow
from postal.errors import N_, Phrase, PostalError, Unprocessable
from routes.api import parse, spec
from routes.auth import current_actor, page_for, roles_required
from routes.forms import Form
from routes.i18n import message_of
from routes.session import get_session

bp = Blueprint("procedures", __name__)
STATES = {"active": True, "stopped": False}  # the page's filter
FLAGS = {"true": True, "1": True, "false": False, "0": False}  # the API's ?active=
ADMIN_ONLY = {403: "The caller is not an admin", 422: "A field is wrong (an unknown agency or site): the message "
              "names it"}


class ProcedureForm(Form):
    name = StringField(_l("Tên thủ tục"), validators=[DataRequired(), Length(max=300)])
    agency = SelectField(_l("Cơ quan giải quyết"), choices=[])
    processing_days = IntegerField(_l("Thời hạn giải quyết (ngày làm việc)"), validators=[NumberRange(0, 365)])
    site = SelectField(_l("Nơi tiếp nhận"), choices=[])
    collect_fee_vnd = IntegerField(_l("Phí, lệ phí bưu điện thu hộ khi giao tận nhà (đồng)"),
                                   validators=[Optional(), NumberRange(0, 50_000_000)])


def procedure_form(**data) -> ProcedureForm:
    form = ProcedureForm(data=data or None)
    network = [s for s in sites.in_order(get_session()) if s.active]
    form.agency.choices = [SelectChoice(s.code, f"{s.code} — {s.name}") for s in network if s.kind == SiteKind.AGENCY]
    form.site.choices = [SelectChoice("", gettext("Mọi trung tâm và bộ phận một cửa"))] + [
        SelectChoice(s.code, f"{s.code} — {s.name}") for s in network if s.kind != SiteKind.AGENCY]
    return form


def procedure_in(form: ProcedureForm) -> ProcedureIn:
    return ProcedureIn(name=form.name.data.strip(), agency=form.agency.data, processing_days=form.processing_days.data,
                       site=form.site.data or None, collect_fee_vnd=form.collect_fee_vnd.data)


def refused(form: ProcedureForm, err: PostalError) -> None:
    """A refusal shown beside the field it is about; nothing was written."""
    get_session().rollback()
    field = {"agency": form.agency, "site": form.site}.get(str(err.params.get("field")), form.name)
    field.errors = [*field.errors, message_of(err)]


@bp.route("/admin/procedures", methods=["GET", "POST"])
@page_for(Role.ADMIN)
def procedure_list():
    agency = (request.args.get("agency") or "").strip()[:32] or None
    state = request.args.get("state") if request.args.get("state") in STATES else ""
    form = procedure_form()
    if form.validate_on_submit():
        try:
            saved = procedures.create(get_session(), procedure_in(form), by=current_user.user, at=utcnow())
        except PostalError as err:
            refused(form, err)
        else:
            current_app.logger.info("admin %s added procedure %s", current_user.username, saved.id)
            flash(gettext("Đã thêm thủ tục “%(name)s”.") % {"name": saved.name}, "ok")
            return redirect(url_for("procedures.procedure_list", agency=saved.agency))
    found = procedures.catalogue(get_session(), agency=agency, active=STATES.get(state))
    return render_template("admin/procedures.html", form=form, procedures=found.procedures, agency=agency or "",
                           state=state)


@bp.route("/admin/procedures/<int:procedure_id>", methods=["GET", "POST"])
@page_for(Role.ADMIN)
def procedure_page(procedure_id: int):
    row = procedures.one(get_session(), procedure_id)
    form = procedure_form(name=row.name, agency=row.agency, processing_days=row.processing_days, site=row.site or "",
                          collect_fee_vnd=row.collect_fee_vnd)
    if form.validate_on_submit():
        try:
            procedures.edit(get_session(), procedure_id, procedure_in(form), by=current_user.user, at=utcnow())
        except PostalError as err:
            refused(form, err)
        else:
            flash(gettext("Đã lưu thủ tục số %(id)s.") % {"id": procedure_id}, "ok")
            return redirect(url_for("procedures.procedure_page", procedure_id=procedure_id))
    return render_template("admin/procedure.html", form=form, p=row)


@bp.post("/admin/procedures/<int:procedure_id>/active")
@page_for(Role.ADMIN)
def set_active(procedure_id: int):
    active = request.form.get("active") == "1"
    row = procedures.set_active(get_session(), procedure_id, active, by=current_user.user, at=utcnow())
    flash((gettext("Đã dùng lại thủ tục “%(name)s”: các quầy lại thấy thủ tục này.") if active
           else gettext("Đã ngừng dùng thủ tục “%(name)s”: các quầy không còn thấy thủ tục này; hồ sơ đã nhận vẫn giữ."))
          % {"name": row.name}, "ok")
    return redirect(url_for("procedures.procedure_page", procedure_id=procedure_id))


# -- the API -----------------------------------------------------------------------------------------


def saved(row, status: int = 200):
    return ProcedureSavedOut(procedure=row).model_dump(mode="json"), status


@bp.get("/api/v1/procedures")
@spec.operation("get", "/procedures", "The procedure catalogue, by agency then name, with the dossiers received under "
                "each", responses={200: ProcedureCatalogueOut},
                query={"agency": "an agency's site code: its procedures only",
                       "active": "true: only those the counters offer; false: only those stopped"},
                errors={422: "An unknown agency, or active other than true or false"})
@roles_required(*STAFF)
def api_list():
    raw = (request.args.get("active") or "").strip().lower()
    if raw and raw not in FLAGS:
        raise Unprocessable(field="active", detail=Phrase(N_("phải là true hoặc false")))
    found = procedures.catalogue(get_session(), agency=request.args.get("agency") or None, active=FLAGS.get(raw))
    return found.model_dump(mode="json")


@bp.post("/api/v1/procedures")
@spec.operation("post", "/procedures", "Add a procedure to the catalogue (admin)", body=ProcedureIn,
                responses={201: ProcedureSavedOut},
                errors={**ADMIN_ONLY, 409: "The agency already has a procedure of that name (procedure_exists)"})
@roles_required(Role.ADMIN)
def api_create():
    return saved(procedures.create(get_session(), parse(ProcedureIn), by=current_actor(), at=utcnow()), 201)


@bp.put("/api/v1/procedures/<int:procedure_id>")
@spec.operation("put", "/procedures/<int:procedure_id>", "Edit a procedure (admin): the name and agency of one with "
                "dossiers stay as they are", body=ProcedureIn, responses={200: ProcedureSavedOut},
                errors={**ADMIN_ONLY, 404: "No procedure of that id", 409: "Another procedure of the agency has that "
                        "name (procedure_exists), or dossiers were received under this one (procedure_in_use)"})
@roles_required(Role.ADMIN)
def api_edit(procedure_id: int):
    data = parse(ProcedureIn)
    return saved(procedures.edit(get_session(), procedure_id, data, by=current_actor(), at=utcnow()))


@bp.post("/api/v1/procedures/<int:procedure_id>/deactivate")
@spec.operation("post", "/procedures/<int:procedure_id>/deactivate", "Take a procedure out of the counters' lists "
                "(admin); it is never deleted", responses={200: ProcedureSavedOut},
                errors={403: ADMIN_ONLY[403], 404: "No procedure of that id"})
@roles_required(Role.ADMIN)
def api_deactivate(procedure_id: int):
    return saved(procedures.set_active(get_session(), procedure_id, False, by=current_actor(), at=utcnow()))


@bp.post("/api/v1/procedures/<int:procedure_id>/activate")
@spec.operation("post", "/procedures/<int:procedure_id>/activate", "Offer a stopped procedure at the counters again "
                "(admin)", responses={200: ProcedureSavedOut}, errors={403: ADMIN_ONLY[403], 404: "No procedure of that id"})
@roles_required(Role.ADMIN)
def api_activate(procedure_id: int):
    return saved(procedures.set_active(get_session(), procedure_id, True, by=current_actor(), at=utcnow()))
