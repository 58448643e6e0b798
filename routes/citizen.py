"""For citizens, no account: track a dossier, ask for home delivery or pick-up."""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta
from typing import Literal

from flask import Blueprint, Response, jsonify, make_response, render_template, request
from pydantic import BaseModel, ValidationError

from models.delivery import (
    DeliveryRequestIn,
    DeliveryRequestOut,
    DeliveryRunOut,
    ExemptionIn,
    ProvincesOut,
    WardsOut,
)
from models.dossiers import TrackIn
from models.enums import POSTAL_DESK, RUN_READERS
from postal import delivery, tracking
from postal.clock import local, utcnow
from postal.errors import InvalidPayload, Phrase, PostalError, TooManyGuesses
from routes.api import parse, spec
from routes.auth import current_actor, limiter, roles_required
from routes.errors import domain_error
from routes.i18n import message_of, render
from routes.formats import vnd
from routes.session import get_session, settings

bp = Blueprint("citizen", __name__)
# Four endpoints take a dossier code and the last 4 digits of the applicant's phone: /track and /delivery,
# as pages and in the API. A code + 4 digits must not be guessable, from one address or from many: they
# share one budget per address (every try) and one per dossier code (wrong answers, whatever the address).
ADDRESS_LIMIT = "10 per minute"
DOSSIER_LIMIT = "10 per hour"


def guessed_code() -> str:
    """The dossier code a request names (the API's `code` or `dossier`, the pages' `code`), as it is looked up."""
    body = request.get_json(silent=True) if request.is_json else None
    if isinstance(body, dict):
        value = body.get("code", body.get("dossier"))
    else:
        value = request.form.get("code")
    return value.strip()[:40] if isinstance(value, str) else ""  # no code: no dossier to protect


def wrong_answer(response) -> bool:
    """Only a code + digits that matched no dossier spends the dossier's budget (the same 404 either way)."""
    return response.status_code == 404


def dossier_locked(breached) -> Response:
    """The lockout's answer: the same for an unknown code and a wrong phone, with when to try again."""
    minutes = max(1, math.ceil((breached.reset_at - time.time()) / 60))
    return make_response(domain_error(TooManyGuesses(code=guessed_code(), minutes=minutes)))


per_address = limiter.shared_limit(ADDRESS_LIMIT, scope="citizen-address", methods=["POST"])
per_dossier = limiter.shared_limit(DOSSIER_LIMIT, scope="citizen-dossier", key_func=guessed_code, methods=["POST"],
                                   deduct_when=wrong_answer, on_breach=dossier_locked)


class TrackStepOut(BaseModel):
    at: str
    what: str
    where: str | None


class TrackBookingOut(BaseModel):
    id: int  # to change or cancel it (POST /api/v1/delivery-requests/{id}/cancel)
    kind: Literal["deliver_result", "pickup_dossier"]
    slot_date: str
    slot_period: Literal["morning", "afternoon"]
    state: Literal["requested", "scheduled", "done"]
    text: str


class TrackOut(BaseModel):
    """Where a dossier stands, in plain words."""

    code: str
    status: str
    status_text: str
    next_step: str  # what happens next
    contact: str  # whom to call
    due_at: str
    late: bool
    new_due: str | None
    timeline: list[TrackStepOut]
    bookings: list[TrackBookingOut]


def tracking_json(found: tracking.Tracking) -> dict:
    return TrackOut(
        code=found.code, status=found.status, status_text=render(found.status_text), next_step=render(found.next_step),
        contact=render(found.contact), due_at=found.due_at.isoformat(),
        late=found.late, new_due=found.new_due.isoformat() if found.new_due else None,
        timeline=[TrackStepOut(at=s.at.isoformat(), what=render(s.what), where=s.where) for s in found.timeline],
        bookings=[TrackBookingOut(id=b.id, kind=b.kind, slot_date=b.day.isoformat(), slot_period=b.period, state=b.state,
                                  text=render(b.text)) for b in found.bookings],
    ).model_dump()


@bp.post("/api/v1/track")
@spec.operation("post", "/track", "Track a dossier (public; code + last 4 digits of the phone)", body=TrackIn,
                responses={200: TrackOut}, errors=(404,), limited=True, writes=False)
@per_address
@per_dossier
def track_api():
    data = parse(TrackIn)
    return tracking_json(tracking.track(get_session(), data.code, data.phone_last4, now=utcnow(),
                                        hotline=settings().hotline))


@bp.route("/track", methods=["GET", "POST"])
@per_address
@per_dossier
def track_page():
    found, error = None, None
    code = request.values.get("code", "").strip()
    if request.method == "POST":
        try:
            found = tracking.track(get_session(), code, request.form.get("phone_last4", ""), now=utcnow(),
                                   hotline=settings().hotline)
        except PostalError as err:
            error = message_of(err)
    return render_template("citizen/track.html", found=found, error=error, code=code,
                           status=404 if error else 200), 404 if error else 200


# -- home delivery and pick-up (giao nhận tại nhà) -----------------------------------------------------------
# The citizen's request (public, rate limited like tracking), the 2025 units for the ward picker, and, for
# the staff who handle deliveries, a delivery run's doors and the counter's fee exemption.

UNITS_MAX_AGE = 24 * 3600  # the administrative units change by decree, not by the hour


def invalid_field(err: ValidationError) -> PostalError:
    """A request body of the wrong shape: 422 naming the first field at fault as the citizen sees it (400 when it
    is not JSON)."""
    first = err.errors()[0]
    if first["type"] == "json_invalid":
        return InvalidPayload(detail=first["msg"])
    return delivery.refusal(first)


@bp.post("/api/v1/delivery-requests")
@spec.operation("post", "/delivery-requests", "Ask for home delivery of a result or pick-up of a dossier (public)",
                body=DeliveryRequestIn, responses={201: DeliveryRequestOut, 200: DeliveryRequestOut},
                errors=(404, 409, 422), limited=True)
@per_address
@per_dossier
def delivery_request_api():
    try:
        data = parse(DeliveryRequestIn)
    except ValidationError as err:
        raise invalid_field(err) from None
    answer, created = delivery.request_delivery(get_session(), data, settings=settings(), now=utcnow())
    return answer.model_dump(mode="json"), 201 if created else 200


@bp.get("/api/v1/provinces")
@spec.operation("get", "/provinces", "The 34 provinces of 2025 (public)", responses={200: ProvincesOut})
def provinces_api():
    response = jsonify(ProvincesOut(provinces=delivery.provinces()).model_dump(mode="json"))
    response.cache_control.public, response.cache_control.max_age = True, UNITS_MAX_AGE
    return response


@bp.get("/api/v1/provinces/<code>/wards")
@spec.operation("get", "/provinces/<code>/wards", "The 2025 communes and wards of a province (public)",
                responses={200: WardsOut})
def wards_api(code: str):
    response = jsonify(WardsOut(wards=delivery.wards_of(code)).model_dump(mode="json"))
    response.cache_control.public, response.cache_control.max_age = True, UNITS_MAX_AGE
    return response


@bp.get("/api/v1/runs/<int:run_id>/deliveries")
@spec.operation("get", "/runs/<int:run_id>/deliveries", "A delivery run's doors in order (contact masked unless yours)",
                responses={200: DeliveryRunOut})
@roles_required(*RUN_READERS)
def delivery_run_api(run_id: int):
    return delivery.delivery_run(get_session(), run_id, viewer=current_actor()).model_dump(mode="json")


@bp.post("/api/v1/delivery-requests/<int:request_id>/exemption")
@spec.operation("post", "/delivery-requests/<int:request_id>/exemption", "Record a fee exemption (counter)",
                body=ExemptionIn, responses={200: DeliveryRequestOut}, errors=(422,))
@roles_required(*POSTAL_DESK)  # the counter records an exemption
def exemption_api(request_id: int):
    data = parse(ExemptionIn)
    answer = delivery.exempt_fee(get_session(), request_id, data.reason, actor=current_actor(), settings=settings(),
                                 now=utcnow())
    return answer.model_dump(mode="json")


DELIVERY_FIELDS = ("code", "kind", "province", "ward_code", "street", "phone", "slot_date", "slot_period")


def booking_form() -> dict[str, str]:
    """The booking form as typed (what the page shows again), with its defaults."""
    form = {name: request.values.get(name, "").strip() for name in DELIVERY_FIELDS}
    form["slot_date"] = shown_day(form["slot_date"])
    form["kind"] = form["kind"] if form["kind"] in ("deliver_result", "pickup_dossier") else "deliver_result"
    form["slot_period"] = form["slot_period"] or "morning"
    ward = delivery.ward_of(form["ward_code"]) if form["ward_code"] else None
    form["province"] = form["province"] or (ward.province_code if ward else settings().province_code)
    return form


def shown_day(typed: str) -> str:
    """The day as the page's day field shows it (dd/mm/yyyy); a link's YYYY-MM-DD is turned round, anything
    else is kept as typed, for the refusal to name."""
    try:
        return datetime.strptime(typed, "%Y-%m-%d").strftime("%d/%m/%Y")
    except ValueError:
        return typed


def sent_day(shown: str) -> str:
    """The page's dd/mm/yyyy as the API's YYYY-MM-DD; what is no day goes on as typed and is refused by name."""
    try:
        return datetime.strptime(shown, "%d/%m/%Y").date().isoformat()
    except ValueError:
        return shown


def booking_of(form: dict[str, str]) -> DeliveryRequestIn:
    """The typed form as the API's body; a refusal names the field as the page does."""
    try:
        return DeliveryRequestIn.model_validate({
            "dossier": form["code"], "phone_last4": request.form.get("phone_last4", "").strip(), "kind": form["kind"],
            "address": {"street": form["street"], "ward_code": form["ward_code"]},
            "slot": {"date": sent_day(form["slot_date"]), "period": form["slot_period"]}, "phone": form["phone"] or None,
        })
    except ValidationError as err:
        raise invalid_field(err) from None


def booking_page(form: dict[str, str], status: int, **shown):
    """The booking form (to book, or to change request `change`), with what was done or refused."""
    try:
        wards = delivery.wards_of(form["province"])
    except PostalError:
        form["province"], wards = settings().province_code, delivery.wards_of(settings().province_code)
    today = local(utcnow()).date()
    error = shown.pop("refused", None)
    detail = error.params.get("detail") if error is not None else None
    shown.update(error=message_of(error) if error is not None else None,
                 field=error.params.get("field") if error is not None else None,
                 choices=detail.params.get("choices", ()) if isinstance(detail, Phrase) else ())
    return render_template("citizen/delivery.html", form=form, provinces=delivery.provinces(), wards=wards,
                           vnd=vnd, periods=tracking.PERIOD_NAMES, today=today.isoformat(),
                           last_day=(today + timedelta(days=delivery.SLOT_DAYS_AHEAD)).isoformat(),
                           fees=(settings().delivery_fee_in_province_vnd, settings().delivery_fee_other_province_vnd),
                           status=status, **{"created": None, "existing": None, "change": None, **shown}), status


@bp.route("/delivery", methods=["GET", "POST"])
@per_address
@per_dossier
def delivery_page():
    form = booking_form()
    if request.method == "GET":
        return booking_page(form, 200)
    try:
        data = booking_of(form)
        answer, _ = delivery.request_delivery(get_session(), data, settings=settings(), now=utcnow())
    except delivery.BookingExists as err:  # offer to change the first instead: the form goes to it
        return booking_page(form, err.status, refused=err, existing=err.params["request_id"])
    except PostalError as err:
        return booking_page(form, err.status, refused=err)
    return booking_page(form, 200, created={"answer": answer, "data": data})


@bp.route("/delivery/<int:request_id>/change", methods=["GET", "POST"])
@per_address
@per_dossier
def change_page(request_id: int):
    form = booking_form()
    if request.method == "GET":
        return booking_page(form, 200, change=request_id)
    try:
        data = booking_of(form)
        answer, _ = delivery.change_booking(get_session(), request_id, data, settings=settings(), now=utcnow())
    except PostalError as err:
        return booking_page(form, err.status, refused=err, change=request_id)
    return booking_page(form, 200, created={"answer": answer, "data": data, "changed": True}, change=request_id)
