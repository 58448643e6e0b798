"""Cancelling a home delivery or pick-up: the citizen (code + phone, then a code by SMS) on the page and over
the API, and the counter (its page of a dossier's requests, and the API with a token)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from pydantic import ValidationError

from models.delivery import CancelCodeSentOut, DeliveryCancelIn, DeliveryRequestOut
from models.enums import POSTAL_DESK
from postal import delivery
from postal.clock import utcnow
from postal.errors import PostalError
from routes.api import parse, spec
from routes.auth import current_actor, limiter, page_for, roles_required
from routes.citizen import ADDRESS_LIMIT, DOSSIER_LIMIT, dossier_locked, guessed_code, invalid_field, vnd, wrong_answer
from routes.i18n import message_of
from routes.session import get_session, settings

bp = Blueprint("booking", __name__)


def staff_call() -> bool:
    """A clerk's call (a bearer token) spends no citizen's budget."""
    return "Authorization" in request.headers


# The citizens' budgets of routes.citizen (the same scopes: one budget with /track and /delivery).
per_address = limiter.shared_limit(ADDRESS_LIMIT, scope="citizen-address", methods=["POST"], exempt_when=staff_call)
per_dossier = limiter.shared_limit(DOSSIER_LIMIT, scope="citizen-dossier", key_func=guessed_code, methods=["POST"],
                                   deduct_when=wrong_answer, on_breach=dossier_locked, exempt_when=staff_call)


def citizen_cancel(request_id: int, data: DeliveryCancelIn):
    """The citizen's cancel: without `otp` a code is sent (202); with it, the request is cancelled (200)."""
    if not data.dossier:
        raise delivery.missing_field("dossier")
    if not data.phone_last4:
        raise delivery.missing_field("phone_last4")
    if data.otp is None:
        return delivery.send_cancel_code(get_session(), request_id, data.dossier, data.phone_last4, settings=settings(),
                                         now=utcnow()), 202
    return delivery.cancel_by_citizen(get_session(), request_id, data.dossier, data.phone_last4, data.otp,
                                      settings=settings(), now=utcnow()), 200


@bp.post("/api/v1/delivery-requests/<int:request_id>/cancel")
@spec.operation("post", "/delivery-requests/<int:request_id>/cancel",
                "Cancel a delivery or pick-up request until a courier has it out: a clerk of the dossier's center or "
                "of the serving post office (token, body {}), or the citizen (no token: dossier + phone_last4 sends "
                "a code by SMS, 202; then with otp, 200). 404 unknown; 409 done, cancelled or out for delivery; "
                "422 naming the field; 429 too many tries or codes",
                body=DeliveryCancelIn, responses={200: DeliveryRequestOut, 202: CancelCodeSentOut},
                errors=(403, 404, 409, 422), limited=True)
@per_address
@per_dossier
def cancel_api(request_id: int):
    try:
        data = parse(DeliveryCancelIn)
    except ValidationError as err:
        raise invalid_field(err) from None
    if staff_call():
        answer, status = delivery.cancel_by_clerk(get_session(), request_id, actor=current_actor(), settings=settings(),
                                                  now=utcnow()), 200
    else:
        answer, status = citizen_cancel(request_id, data)
    return answer.model_dump(mode="json"), status


@bp.post("/api/v1/delivery-requests/<int:request_id>/refund")
@spec.operation("post", "/delivery-requests/<int:request_id>/refund",
                "Record that the fee paid ahead for a cancelled request was given back (a clerk of the dossier's "
                "center or of the serving post office); the same call again answers the same. 409 unless the fee "
                "is to refund", responses={200: DeliveryRequestOut}, errors=(404, 409))
@roles_required(*POSTAL_DESK)  # the counter gives the fee back
def refund_api(request_id: int):
    return delivery.record_refund(get_session(), request_id, actor=current_actor(), now=utcnow()).model_dump(mode="json")


@bp.route("/delivery/<int:request_id>/cancel", methods=["GET", "POST"])
@per_address
@per_dossier
def cancel_page(request_id: int):
    code = request.values.get("code", "").strip()
    shown: dict = {"sent": None, "cancelled": None, "error": None, "field": None}
    if request.method == "POST":
        try:
            data = DeliveryCancelIn.model_validate({
                "dossier": code, "phone_last4": request.form.get("phone_last4", "").strip() or None,
                "otp": request.form.get("otp", "").strip() or None if request.form.get("step") == "confirm" else None,
            })
            if request.form.get("step") == "confirm" and data.otp is None:
                raise delivery.missing_field("otp")
            answer, _ = citizen_cancel(request_id, data)
            shown["cancelled" if data.otp else "sent"] = answer
        except ValidationError as err:
            refused = invalid_field(err)
            shown.update(error=message_of(refused), field=refused.params.get("field"))
        except PostalError as err:
            shown.update(error=message_of(err), field=err.params.get("field"), status=err.status)
            if err.params.get("field") == "otp":  # a wrong code: stay on the step that asks for it
                shown["sent"] = True
    status = shown.pop("status", 422 if shown["error"] else 200)
    return render_template("citizen/cancel.html", request_id=request_id, code=code, vnd=vnd,
                           phone_last4=request.form.get("phone_last4", "").strip() if shown["sent"] else "",
                           **shown), status


# -- the counter ----------------------------------------------------------------------------------------------


@bp.get("/dossiers/<path:code>/bookings")
@page_for(*POSTAL_DESK)
def dossier_bookings(code: str):
    dossier, bookings = delivery.dossier_bookings(get_session(), code, viewer=current_user.user)
    return render_template("staff/bookings.html", dossier=dossier, bookings=bookings, vnd=vnd)


@bp.post("/bookings/<int:request_id>/cancel")
@page_for(*POSTAL_DESK)
def clerk_cancel(request_id: int):
    code = request.form.get("code", "")
    try:
        delivery.cancel_by_clerk(get_session(), request_id, actor=current_user.user, settings=settings(), now=utcnow())
    except PostalError as err:
        if err.status in (401, 403):
            raise
        flash(message_of(err), "error")
    else:
        flash(gettext("Đã huỷ yêu cầu số %(id)s; hồ sơ trở lại nhận kết quả tại quầy.") % {"id": request_id}, "ok")
    return redirect(url_for("booking.dossier_bookings", code=code))


@bp.post("/bookings/<int:request_id>/paid")
@page_for(*POSTAL_DESK)
def clerk_paid(request_id: int):
    code = request.form.get("code", "")
    try:
        delivery.record_fee_paid(get_session(), request_id, actor=current_user.user, now=utcnow())
    except PostalError as err:
        if err.status in (401, 403):
            raise
        flash(message_of(err), "error")
    else:
        flash(gettext("Đã ghi nhận phí của yêu cầu số %(id)s đã thu.") % {"id": request_id}, "ok")
    return redirect(url_for("booking.dossier_bookings", code=code))


@bp.post("/bookings/<int:request_id>/refund")
@page_for(*POSTAL_DESK)
def clerk_refund(request_id: int):
    code = request.form.get("code", "")
    try:
        delivery.record_refund(get_session(), request_id, actor=current_user.user, now=utcnow())
    except PostalError as err:
        if err.status in (401, 403):
            raise
        flash(message_of(err), "error")
    else:
        flash(gettext("Đã ghi nhận đã hoàn phí của yêu cầu số %(id)s.") % {"id": request_id}, "ok")
    return redirect(url_for("booking.dossier_bookings", code=code))
