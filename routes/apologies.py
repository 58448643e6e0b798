"""Issuing the apology and re-appointment (mẫu 04), over the API and from the dossier page; printing its slip
(a plain GET of what was issued). The domain: postal/apologies.py."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user
from pydantic import ValidationError

from models.dossiers import ApologyIn, ApologyOut
from models.enums import REGISTRARS, STAFF
from postal import apologies
from postal.clock import utcnow
from postal.errors import PostalError
from routes.api import parse, spec
from routes.auth import current_actor, page_for, roles_required
from routes.i18n import message_of
from routes.inputs import PAGE_DAY, PAGE_DAY_WORDING, day_in
from routes.session import get_session, settings

bp = Blueprint("apologies", __name__)


@bp.post("/api/v1/dossiers/<path:code>/apologies")
@spec.operation("post", "/dossiers/<path:code>/apologies", "Issue the apology and re-appointment (mẫu 04) of a late or "
                "at-risk dossier: the new appointment day and the reason; the citizen is told by SMS",
                body=ApologyIn, responses={201: ApologyOut}, errors=(409, 422))
@roles_required(*REGISTRARS)
def api_issue(code: str):
    data = parse(ApologyIn)
    issued = apologies.issue(get_session(), code, data, actor=current_actor(), settings=settings(), now=utcnow())
    return issued.model_dump(mode="json"), 201


@bp.get("/api/v1/dossiers/<path:code>/apologies/<int:apology_id>.pdf")
@spec.operation("get", "/dossiers/<path:code>/apologies/<int:apology_id>.pdf", "The slip (mẫu 04) of an issued apology",
                responses={200: "application/pdf"})
@roles_required(*STAFF)
def slip_pdf(code: str, apology_id: int):
    pdf = apologies.slip_pdf(get_session(), code, apology_id, viewer=current_actor(), settings=settings())
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="phieu-xin-loi-{apology_id}.pdf"'})


@bp.post("/dossiers/<path:code>/apologies")
@page_for(*REGISTRARS)
def page_issue(code: str):
    """The dossier page's form: the new day (dd/mm/yyyy or the date picker's ISO) and the reason."""
    try:
        new_due = day_in(request.form, "new_due", shapes=PAGE_DAY, wording=PAGE_DAY_WORDING)
        data = ApologyIn(new_due=new_due, reason=request.form.get("reason", "")[:500] or " ")
        issued = apologies.issue(get_session(), code, data, actor=current_user.user, settings=settings(), now=utcnow())
    except PostalError as err:
        if err.status in (401, 403):
            raise
        flash(message_of(err), "error")
    except ValidationError:
        flash(gettext("Cần chọn ngày hẹn mới và ghi lý do."), "error")
    else:
        flash(gettext("Đã ra phiếu xin lỗi, hẹn lại ngày %(day)s; người dân được báo qua tin nhắn.")
              % {"day": issued.new_due.strftime("%d/%m/%Y")}, "ok")
    return redirect(url_for("staff.dossier", code=code))
