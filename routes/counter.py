"""The counter (quầy tiếp nhận): the postal clerk's reception form, its print, today's dossiers, and their API;
labels as PDF and their reprints. The domain is postal/counter.py and postal/printing.py."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import ValidationError

from models.counter import (
    CounterDossierIn,
    CounterRegisteredOut,
    CounterTodayOut,
    DuePreviewOut,
    LabelPrintIn,
    LabelPrintOut,
    LabelPrintsOut,
    ProceduresOut,
)
from models.enums import COUNTER_STAFF, POSTAL_DESK, REGISTRARS, STAFF
from postal import counter, printing
from postal.clock import utcnow
from postal.errors import N_, Phrase, PostalError, Unprocessable
from routes.api import parse, spec
from routes.openapi import Param
from routes.auth import current_actor, page_for, roles_required
from routes.i18n import message_of
from routes.inputs import PAGE_DAY, PAGE_DAY_WORDING, day_in, within_years
from routes.session import get_session, settings

bp = Blueprint("counter", __name__)
FIELD_NAMES = {  # the form's fields as the clerk sees them
    "code": _l("Mã hồ sơ"), "procedure": _l("Thủ tục"), "applicant_name": _l("Họ tên người nộp"),
    "applicant_phone": _l("Số điện thoại"), "applicant_id_number": _l("Số CCCD"), "applicant_address": _l("Địa chỉ"),
    "return_method": _l("Hình thức trả kết quả"), "ward_code": _l("Xã, phường"), "return_slot": _l("Buổi trả tại nhà"),
    "items": _l("Số lượng (tờ/bản)"), "notes": _l("Ghi chú"), "due_on": _l("Ngày hẹn trả"),
    "due_reason": _l("Lý do điều chỉnh ngày hẹn"), "received_at": _l("Thời điểm tiếp nhận"),
}


def base_url() -> str:
    return request.url_root.rstrip("/")


def form_body() -> dict:
    """The form's fields as the counter's in-shape takes them: empty ones left out, the appointment's day as
    the day field sends it (dd/mm/yyyy)."""
    body = {name: value.strip() for name, value in request.form.items() if name in FIELD_NAMES and value.strip()}
    if "due_on" in body:
        body["due_on"] = day_in(request.form, "due_on", shapes=PAGE_DAY, wording=PAGE_DAY_WORDING).isoformat()
    return body


def label_query() -> tuple[str, int]:
    """The label's size (format=100x75|a4) and copies (1–8) from the query; 422 naming the one at fault."""
    fmt = request.args.get("format", "100x75").strip().lower()
    if fmt not in printing.FORMATS:
        raise Unprocessable(field="format", detail=Phrase(N_("chỉ nhận %(values)s"), values=", ".join(printing.FORMATS)))
    raw = request.args.get("copies", "1").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= printing.MAX_COPIES:
        raise Unprocessable(field="copies", detail=Phrase(N_("từ 1 đến %(max)s"), max=printing.MAX_COPIES))
    return fmt, int(raw)


def pdf_response(pdf: bytes, name: str) -> Response:
    safe = "".join(c if c.isalnum() or c in ".-_" else "-" for c in name)
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{safe}.pdf"'})


# -- pages -----------------------------------------------------------------------------------------------


@bp.get("/counter")
@page_for(*COUNTER_STAFF)
def page():
    now = utcnow()
    found = counter.form_for(get_session(), current_user.user, settings=settings(), now=now)
    return render_template("counter/index.html", counter=found, form={}, received_at=now.isoformat())


@bp.post("/counter")
@page_for(*COUNTER_STAFF)
def register():
    try:
        data = CounterDossierIn.model_validate(form_body())
        saved = counter.register(get_session(), data, actor=current_user.user, settings=settings(), now=utcnow(),
                                 base_url=base_url())
    except ValidationError as err:
        where = err.errors()[0]["loc"][0] if err.errors()[0]["loc"] else ""
        return again(gettext("%(field)s chưa đúng, hãy kiểm tra lại.") % {"field": FIELD_NAMES.get(where, where)})
    except PostalError as err:
        if err.status in (401, 403):
            raise
        return again(message_of(err))
    if saved.created:
        flash(gettext("Đã tiếp nhận hồ sơ %(code)s, bì %(parcel)s.") % {"code": saved.dossier.code, "parcel": saved.parcel}, "ok")
    else:
        flash(gettext("Hồ sơ %(code)s đã được tiếp nhận trước đó: đây là hồ sơ đã có.") % {"code": saved.dossier.code}, "ok")
    return redirect(url_for("counter.printout", code=saved.dossier.code))


def again(message: str):
    """The form again with what the clerk typed, and why it was not saved (nothing was)."""
    found = counter.form_for(get_session(), current_user.user, settings=settings(), now=utcnow())
    flash(message, "error")
    return render_template("counter/index.html", counter=found, form=request.form,
                           received_at=request.form.get("received_at") or utcnow().isoformat()), 422


@bp.get("/counter/dossiers/<path:code>/print")
@page_for(*POSTAL_DESK)
def printout(code: str):
    found = counter.printout(get_session(), code, viewer=current_user.user, settings=settings(), base_url=base_url())
    return render_template("counter/print.html", slip=found.slip, parcel=found.parcel)


@bp.get("/counter/today")
@page_for(*COUNTER_STAFF)
def today_page():
    found = counter.today(get_session(), current_user.user, now=utcnow(), query=request.args.get("q", "")[:60])
    return render_template("counter/today.html", today=found)


@bp.post("/parcels/<code>/label-prints")
@page_for(*REGISTRARS)
def reprint(code: str):
    """The parcel page's "In lại nhãn": recorded, then the label's PDF."""
    fmt = request.form.get("format", "100x75")
    fmt = fmt if fmt in printing.FORMATS else "100x75"
    printed = printing.record_print(get_session(), code, fmt, actor=current_user.user, now=utcnow())
    return redirect(url_for("counter.label_pdf", code=printed.parcel, format=printed.format))


# -- API ---------------------------------------------------------------------------------------------------


@bp.get("/api/v1/counter/procedures")
@spec.operation("get", "/counter/procedures", "The procedures the caller's counter receives, with agency and legal "
                "processing time in working days (postal desk staff at a center)", responses={200: ProceduresOut},
                query={"q": "words of the procedure's or agency's name, any case, with or without diacritics"})
@roles_required(*COUNTER_STAFF)
def api_procedures():
    found = counter.procedures_for(get_session(), current_actor(), request.args.get("q", "")[:100])
    return found.model_dump(mode="json")


@bp.get("/api/v1/counter/due")
@spec.operation("get", "/counter/due", "The appointment a procedure gives a dossier received now (or at received_at), "
                "in working days from the site's first working moment; writes nothing (422 naming a bad parameter)",
                responses={200: DuePreviewOut},
                query={"procedure": Param("the procedure's id", {"type": "string", "pattern": "^[0-9]{1,9}$"}, required=True),
                       "received_at": Param("ISO 8601 with an offset", {"type": "string", "format": "date-time"})}, errors=(422,))
@roles_required(*COUNTER_STAFF)
def api_due():
    raw = request.args.get("procedure", "").strip()
    if not raw.isdigit():
        raise Unprocessable(field="procedure", detail=Phrase(N_("cần mã số thủ tục")))
    received = received_at_arg()
    found = counter.preview_due(get_session(), int(raw[:10]), viewer=current_actor(), now=utcnow(), received_at=received)
    return found.model_dump(mode="json")


def received_at_arg() -> datetime | None:
    """The query's received_at: ISO 8601 with an offset, within the service's years; None when left out."""
    raw = request.args.get("received_at", "").strip()
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace(" ", "+"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise Unprocessable(field="received_at", detail=Phrase(N_("thời điểm phải có dạng ISO 8601 kèm múi giờ")))
    within_years("received_at", moment.date())
    return moment


@bp.post("/api/v1/counter/dossiers")
@spec.operation("post", "/counter/dossiers", "Receive a dossier at the caller's counter: the procedure from its list, "
                "the appointment computed (or the clerk's with due_reason), the parcel accepted; the same dossier "
                "again → 200 with the first answer, another under its code → 409 naming what differs",
                body=CounterDossierIn, responses={201: CounterRegisteredOut, 200: CounterRegisteredOut}, errors=(404, 409, 422))
@roles_required(*COUNTER_STAFF)
def api_register():
    data = parse(CounterDossierIn)
    saved = counter.register(get_session(), data, actor=current_actor(), settings=settings(), now=utcnow(),
                             base_url=base_url())
    return saved.model_dump(mode="json"), 201 if saved.created else 200


@bp.get("/api/v1/counter/today")
@spec.operation("get", "/counter/today", "Today's dossiers at the caller's counter with their state",
                responses={200: CounterTodayOut}, query={"q": "part of a dossier code, phone number or applicant's name"})
@roles_required(*COUNTER_STAFF)
def api_today():
    return counter.today(get_session(), current_actor(), now=utcnow(),
                         query=request.args.get("q", "")[:60]).model_dump(mode="json")


@bp.get("/api/v1/dossiers/<path:code>/receipt.pdf")
@spec.operation("get", "/dossiers/<path:code>/receipt.pdf", "The receipt and appointment slip (mẫu 01) of a dossier "
                "(postal desk staff who may see it)", responses={200: "application/pdf"})
@roles_required(*POSTAL_DESK)
def receipt_pdf(code: str):
    pdf = counter.receipt_pdf(get_session(), code, viewer=current_actor(), settings=settings(), base_url=base_url())
    return pdf_response(pdf, f"giay-tiep-nhan-{code}")


@bp.get("/api/v1/dossiers/<path:code>/papers.pdf")
@spec.operation("get", "/dossiers/<path:code>/papers.pdf", "The receipt (mẫu 01) and the first parcel's label in one "
                "PDF, to print at once after receiving", responses={200: "application/pdf"})
@roles_required(*POSTAL_DESK)
def papers_pdf(code: str):
    pdf = counter.papers_pdf(get_session(), code, viewer=current_actor(), settings=settings(), base_url=base_url())
    return pdf_response(pdf, f"tiep-nhan-{code}")


@bp.get("/api/v1/parcels/<code>/label.pdf")
@spec.operation("get", "/parcels/<code>/label.pdf", "Printable label (PDF): QR, Code 128 of the S10 code, "
                "destination, dossier code, procedure (422 for a bad format or copies)", responses={200: "application/pdf"},
                query={"format": "100x75 (default: one label per page) or a4 (a sheet of 2 × 4 labels)",
                       "copies": "1–8, default 1"}, errors=(422,))
@roles_required(*STAFF)
def label_pdf(code: str):
    fmt, copies = label_query()
    pdf = printing.label_pdf(get_session(), code, viewer=current_actor(), settings=settings(), format=fmt, copies=copies)
    return pdf_response(pdf, f"nhan-{code}")


@bp.post("/api/v1/parcels/<code>/label-prints")
@spec.operation("post", "/parcels/<code>/label-prints", "Record a reprint of the parcel's label (who, when, size); "
                "its PDF is label.pdf (clerks and overseers who may see the parcel)", body=LabelPrintIn,
                responses={201: LabelPrintOut}, errors=(422,))
@roles_required(*REGISTRARS)
def api_reprint(code: str):
    data = parse(LabelPrintIn)
    printed = printing.record_print(get_session(), code, data.format, actor=current_actor(), now=utcnow())
    return printed.model_dump(mode="json"), 201


@bp.get("/api/v1/parcels/<code>/label-prints")
@spec.operation("get", "/parcels/<code>/label-prints", "Every reprint of the parcel's label", responses={200: LabelPrintsOut})
@roles_required(*STAFF)
def api_prints(code: str):
    return LabelPrintsOut(prints=printing.prints_of(get_session(), code, viewer=current_actor())).model_dump(mode="json")
