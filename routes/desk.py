"""The agency desk (bàn làm việc của cơ quan): the worklist page and its API; the domain is postal/desk.py."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from models import Role
from models.desk import DeskOut, ResultSentOut
from postal import desk
from postal.clock import utcnow
from postal.errors import PostalError
from routes.api import spec
from routes.auth import current_actor, page_for, roles_required
from routes.i18n import message_of
from routes.session import get_session, settings

bp = Blueprint("desk", __name__)
GROUP_NAMES = {  # in the order the desk shows them: what needs the clerk first
    "awaiting_receipt": _l("Chờ xác nhận nhận"),
    "late": _l("Quá hạn"),
    "due_soon": _l("Sắp đến hạn (trong 2 ngày làm việc)"),
    "in_progress": _l("Đang giải quyết"),
    "coming": _l("Đang chuyển đến"),
    "result_sent": _l("Kết quả chờ chuyển đi"),
}


@bp.get("/desk")
@page_for(Role.AGENCY_CLERK)
def page():
    found = desk.worklist(get_session(), current_user.user, now=utcnow())
    return render_template("desk/index.html", desk=found, groups=GROUP_NAMES)


@bp.post("/desk/parcels/<code>/receive")
@page_for(Role.AGENCY_CLERK)
def receive(code: str):
    try:
        desk.receive(get_session(), code, actor=current_user.user, settings=settings(), now=utcnow())
    except PostalError as err:
        if err.status in (401, 403):
            raise
        flash(message_of(err), "error")
    else:
        flash(gettext("Đã xác nhận nhận bì %(code)s.") % {"code": code}, "ok")
    return redirect(url_for("desk.page"))


@bp.post("/desk/dossiers/<path:code>/result")
@page_for(Role.AGENCY_CLERK)
def send_result(code: str):
    try:
        sent = desk.send_result(get_session(), code, actor=current_user.user, settings=settings(), now=utcnow())
    except PostalError as err:
        if err.status in (401, 403):
            raise
        flash(message_of(err), "error")
        return redirect(url_for("desk.page"))
    flash(gettext("Đã tạo bì kết quả %(parcel)s của hồ sơ %(code)s: dán nhãn rồi để chờ chuyến về.")
          % {"parcel": sent.parcel, "code": sent.dossier}, "ok")
    return redirect(url_for("staff.parcel", code=sent.parcel))


@bp.get("/api/v1/desk")
@spec.operation("get", "/desk", "The agency desk: the agency's open dossiers by group, with counts (agency clerks)",
                responses={200: DeskOut})
@roles_required(Role.AGENCY_CLERK)
def api_worklist():
    return desk.worklist(get_session(), current_actor(), now=utcnow()).model_dump(mode="json")


@bp.post("/api/v1/dossiers/<path:code>/result")
@spec.operation("post", "/dossiers/<path:code>/result", "Send the result back: its parcel made and accepted at the "
                "agency, for the next run back (agency clerks)", responses={201: ResultSentOut}, errors=(409,))
@roles_required(Role.AGENCY_CLERK)
def api_send_result(code: str):
    sent = desk.send_result(get_session(), code, actor=current_actor(), settings=settings(), now=utcnow(),
                            base_url=request.url_root.rstrip("/"))
    return sent.model_dump(mode="json"), 201
