"""The courier at the door (pages of the runs blueprint): a delivery run's doors, the three forms of a door, the
receipt left there, and the day's collections (page and API). The domain is postal/delivery/doors.py and
postal/delivery/collection.py."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from models import Role
from models.collection import CollectionDayOut
from models.enums import POSTAL_DESK, RUN_READERS
from postal.clock import utcnow
from postal.delivery import collection, doors
from postal.errors import PostalError, Unprocessable
from routes.api import spec
from routes.auth import current_actor, page_for, roles_required
from routes.counter import pdf_response
from routes.i18n import message_of
from routes.inputs import ISO_DAY, day_in
from routes.openapi import Param, day_param
from routes.runs_pages import bp, parse_day, today
from routes.session import get_session, settings

COLLECTION_READERS = POSTAL_DESK | {Role.COURIER}


def doors_page(run_id: int, *, refused: PostalError | None = None, door: str | None = None, form: str | None = None):
    """The doors; after a refusal, the door's form again with what was typed and the refusal beside its field."""
    found = doors.run_doors(get_session(), run_id, viewer=current_user.user)
    where = doors.input_of(refused) if refused else None
    return render_template(
        "runs/doors.html", run=found, reasons=doors.FAIL_REASONS, typed=request.form if refused else {},
        refused_door=door, refused_form=form, refused_input=where, refusal=message_of(refused) if refused else None,
        new_id=lambda: str(uuid.uuid4()),
    ), 422 if refused else 200


@bp.get("/runs/<int:run_id>/doors")
@page_for(*RUN_READERS)
def run_doors(run_id: int):
    return doors_page(run_id)


def at_door(run_id: int, code: str, form: str, act):
    """Carry out one act at a door: done, back to the doors at that door; refused, the page says why, beside the
    field. A refusal by role stays a 403, no such door a 404."""
    try:
        done = act()
    except PostalError as err:
        get_session().rollback()
        if err.status in (401, 403, 404):
            raise
        return doors_page(run_id, refused=err, door=code, form=form)
    flash(done, "ok")
    return redirect(url_for("runs_pages.run_doors", run_id=run_id, _anchor=f"door-{code}"))


def common() -> dict:
    return {"actor": current_user.user, "settings": settings(), "now": utcnow()}


@bp.post("/runs/<int:run_id>/doors/<code>/start")
@page_for(Role.COURIER)
def start_door(run_id: int, code: str):
    def act() -> str:
        phone = doors.start_door(get_session(), run_id, code, request.form.get("scan_id", ""), **common())
        return gettext("Đã bắt đầu giao bì %(code)s: mã OTP đã gửi tới số %(phone)s.") % {"code": code, "phone": phone}
    return at_door(run_id, code, "start", act)


@bp.post("/runs/<int:run_id>/doors/<code>/deliver")
@page_for(Role.COURIER)
def deliver_door(run_id: int, code: str):
    f = request.form
    handing = doors.Handing(otp=f.get("otp", ""), recipient=f.get("recipient", ""), amount=f.get("amount", ""),
                            method=f.get("method", ""), reference=f.get("reference", ""), different="different" in f)

    def act() -> str:
        doors.deliver_door(get_session(), run_id, code, handing, f.get("scan_id", ""), **common())
        return gettext("Đã giao bì %(code)s cho %(name)s.") % {"code": code, "name": " ".join(handing.recipient.split())}
    return at_door(run_id, code, "deliver", act)


@bp.post("/runs/<int:run_id>/doors/<code>/fail")
@page_for(Role.COURIER)
def fail_door(run_id: int, code: str):
    f = request.form

    def act() -> str:
        doors.fail_door(get_session(), run_id, code, f.get("reason", ""), f.get("note", ""), f.get("scan_id", ""),
                        **common())
        return gettext("Đã ghi giao không thành công bì %(code)s.") % {"code": code}
    return at_door(run_id, code, "fail", act)


@bp.get("/runs/<int:run_id>/doors/<code>/receipt.pdf")
@page_for(*RUN_READERS)
def door_receipt(run_id: int, code: str):
    pdf = doors.receipt_pdf(get_session(), run_id, code, viewer=current_user.user, settings=settings())
    return pdf_response(pdf, f"bien-nhan-giao-{code}")


# -- the day's collections ------------------------------------------------------------------------------


@bp.get("/collections")
@page_for(*COLLECTION_READERS)
def collections_page():
    viewer = current_user.user
    couriers = collection.couriers_for(get_session(), viewer)
    wanted = request.args.get("courier") or None
    bad_date = None
    try:
        day = parse_day(request.args)
    except Unprocessable as err:
        day, bad_date = today(), message_of(err)
    found = collection.day_of(get_session(), viewer, wanted, day) if couriers else None
    return render_template("runs/collections.html", found=found, couriers=couriers, wanted=wanted, day=day,
                           bad_date=bad_date), 422 if bad_date else 200


@bp.get("/api/v1/collections")
@spec.operation("get", "/collections", "A courier's day of fees collected at the door against what was due (the "
                "courier, their post office's clerks, overseers)", responses={200: CollectionDayOut},
                query={"courier": Param("the courier's username; yours (a courier), else the first you may read"),
                       "day": day_param("the local day, YYYY-MM-DD; today by default")}, errors=(404, 422))
@roles_required(*COLLECTION_READERS)
def collections_api():
    day = day_in(request.args, "day", today(), shapes=ISO_DAY)
    return collection.day_of(get_session(), current_actor(), request.args.get("courier"), day).model_dump(mode="json")
