"""The one-stop system: its dossiers registered in batches (POST /api/v1/dossiers/batch), and the admin's table of
its unit codes and the agencies they stand for (/admin/onestop-units)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from models import Role, SiteKind
from models.enums import REGISTRARS
from models.onestop import BATCH_ROWS, DossierBatchIn, DossierBatchOut
from postal import imports, onestop, sites
from postal.clock import utcnow
from postal.errors import PostalError
from routes.api import parse, spec
from routes.auth import current_actor, page_for, roles_required
from routes.forms import Form
from routes.i18n import message_of
from routes.inputs import DOSSIER_BATCH_BYTES, body_limit, size_text
from routes.session import get_session, settings

bp = Blueprint("onestop", __name__)


@bp.post("/api/v1/dossiers/batch")
@spec.operation("post", "/dossiers/batch", f"Register up to {BATCH_ROWS} dossiers of the one-stop system "
                f"(body up to {size_text(DOSSIER_BATCH_BYTES)}), idempotently by code, a result per row: created, "
                "unchanged, conflict (the fields that differ) or invalid (why). Rows are committed in chunks; a "
                "refused row leaves nothing and keeps the others", body=DossierBatchIn,
                responses={200: DossierBatchOut},
                errors={403: "The caller's role does not register dossiers (couriers)",
                        503: "The database is busy: the chunks not answered were not written; send them again"})
@roles_required(*REGISTRARS)
@body_limit(DOSSIER_BATCH_BYTES)
def register_batch():
    batch = parse(DossierBatchIn)
    results = imports.import_dossiers(get_session(), enumerate(batch.dossiers, 1), actor=current_actor(),
                                      settings=settings(), now=utcnow())
    return imports.batch_out(results, message_of).model_dump(mode="json")


class UnitForm(Form):
    unit_code = StringField(_l("Mã đơn vị một cửa (ví dụ 000.00.22.H47)"), validators=[DataRequired(), Length(max=20)])
    agency = SelectField(_l("Cơ quan giải quyết"), choices=[])


@bp.route("/admin/onestop-units", methods=["GET", "POST"])
@page_for(Role.ADMIN)
def unit_list():
    form = UnitForm()
    form.agency.choices = [SelectChoice(s.code, f"{s.code} — {s.name}") for s in sites.in_order(get_session())
                           if s.kind == SiteKind.AGENCY and s.active]
    if form.validate_on_submit():
        try:
            saved = onestop.save_unit(get_session(), form.unit_code.data, form.agency.data, by=current_user.user,
                                      at=utcnow())
        except PostalError as err:
            get_session().rollback()
            form.unit_code.errors = [*form.unit_code.errors, message_of(err)]
        else:
            flash(gettext("Đã lưu: mã đơn vị %(unit)s là %(agency)s.") % {"unit": saved.unit_code,
                                                                         "agency": saved.agency_name}, "ok")
            return redirect(url_for("onestop.unit_list"))
    return render_template("admin/onestop_units.html", form=form, units=onestop.units(get_session()))


@bp.post("/admin/onestop-units/<unit_code>/remove")
@page_for(Role.ADMIN)
def remove_unit(unit_code: str):
    unit = onestop.remove_unit(get_session(), unit_code, by=current_user.user, at=utcnow())
    flash(gettext("Đã bỏ mã đơn vị %(unit)s.") % {"unit": unit}, "ok")
    return redirect(url_for("onestop.unit_list"))
