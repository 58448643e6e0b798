"""The JSON API under /api/v1: parse, call one domain function, answer."""

from __future__ import annotations

import json
from typing import TypeVar

from flask import Blueprint, Response, request
from pydantic import BaseModel, ValidationError

from models import SitePublic
from models.custody import BagCreatedOut, BagIn, ScanBatchIn, ScanEnvelopeIn, ScanResultsOut
from models.dossiers import (
    DossierCreatedOut,
    DossierDetailOut,
    DossierIn,
    ParcelCreatedOut,
    ParcelIn,
    ParcelOut,
    RedirectIn,
)
from models.enums import REDIRECTORS, STAFF
from postal import control_sheet, custody, dossiers, labels, sites, statuses
from postal.clock import utcnow
from postal.errors import InvalidPayload, detail_of
from routes.auth import current_actor, limiter, roles_required
from routes.i18n import message_of
from routes.inputs import SCAN_BATCH_BYTES, body_limit
from routes.openapi import Spec
from routes.session import get_session, settings

bp = Blueprint("api", __name__, url_prefix="/api/v1")
spec = Spec(title="Hồ sơ qua bưu điện — API", version="1", prefix="/api/v1")
M = TypeVar("M", bound=BaseModel)


class SitesOut(BaseModel):
    """Every site of the network."""

    sites: list[SitePublic]


def parse(model: type[M]) -> M:
    """The request body as a model; a body that is not JSON of that shape is a 400."""
    if not request.is_json:
        raise InvalidPayload(detail="Content-Type: application/json")
    return model.model_validate_json(request.get_data())


def base_url() -> str:
    return request.url_root.rstrip("/")


@bp.get("/openapi.json")
@spec.operation("get", "/openapi.json", "This document", responses={200: {"application/json": {"type": "object"}}})
def openapi():
    return spec.document()


@bp.get("/sites")
@spec.operation("get", "/sites", "Sites of the network", responses={200: SitesOut})
@roles_required(*STAFF)
def list_sites():
    network = sites.in_order(get_session())
    return SitesOut(sites=[SitePublic.model_validate(s, from_attributes=True) for s in network]).model_dump(mode="json")


@bp.post("/dossiers")
@spec.operation("post", "/dossiers", "Register a dossier and its first parcel",
                body=DossierIn, responses={201: DossierCreatedOut, 200: DossierCreatedOut}, errors=(409, 422))
@roles_required(*STAFF)
def register_dossier():
    data = parse(DossierIn)
    answer, created = dossiers.register(get_session(), data, actor=current_actor(), settings=settings(),
                                        now=utcnow(), base_url=base_url())
    return answer.model_dump(mode="json"), 201 if created else 200


@bp.get("/dossiers/<path:code>")
@spec.operation("get", "/dossiers/<path:code>", "A dossier, its parcels, status and due date",
                responses={200: DossierDetailOut})
@roles_required(*STAFF)
def get_dossier(code: str):
    detail = dossiers.dossier_detail(get_session(), code, viewer=current_actor(), settings=settings(),
                                     now=utcnow(), base_url=base_url())
    return detail.model_dump(mode="json")


@bp.get("/dossiers/<path:code>/control-sheet.pdf")
@spec.operation("get", "/dossiers/<path:code>/control-sheet.pdf",
                "Control sheet (mẫu 05) of a dossier: every handoff of its parcels", responses={200: "application/pdf"})
@roles_required(*STAFF)
def control_sheet_pdf(code: str):
    pdf = control_sheet.render_pdf(get_session(), code, viewer=current_actor(), settings=settings(), now=utcnow())
    name = "".join(c if c.isalnum() or c in ".-_" else "-" for c in code)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="phieu-kiem-soat-{name}.pdf"'})


@bp.post("/dossiers/<path:code>/parcels")
@spec.operation("post", "/dossiers/<path:code>/parcels", "A new parcel of the dossier (result, return)",
                body=ParcelIn, responses={201: ParcelCreatedOut}, errors=(422,))
@roles_required(*STAFF)
def add_parcel(code: str):
    data = parse(ParcelIn)
    parcel = statuses.add_parcel(get_session(), code, data, actor=current_actor(), settings=settings(),
                                 now=utcnow(), base_url=base_url())
    return {"parcel": parcel.model_dump(mode="json")}, 201


@bp.get("/parcels/<code>")
@spec.operation("get", "/parcels/<code>", "A parcel with its custody timeline", responses={200: ParcelOut})
@roles_required(*STAFF)
def get_parcel(code: str):
    session = get_session()
    parcel = dossiers.parcel_for(session, code, viewer=current_actor())
    return dossiers.parcel_out(session, parcel, settings(), base_url()).model_dump(mode="json")


@bp.post("/parcels/<code>/redirect")
@spec.operation("post", "/parcels/<code>/redirect", "Send a parcel to a new destination, with the reason: a correction "
                "event in the ledger", body=RedirectIn, responses={200: ParcelOut}, errors=(409, 422))
@roles_required(*REDIRECTORS)
def redirect_parcel(code: str):
    data = parse(RedirectIn)
    moved = custody.redirect(get_session(), code, data, actor=current_actor(), settings=settings(), now=utcnow())
    return moved.model_dump(mode="json")


@bp.get("/parcels/<code>/label.png")
@spec.operation("get", "/parcels/<code>/label.png", "Printable label (PNG)", responses={200: "image/png"})
@roles_required(*STAFF)
def label_png(code: str):
    parcel = dossiers.parcel_for(get_session(), code, viewer=current_actor())
    return Response(labels.label_png(settings().label_key, parcel.code), mimetype="image/png")


@bp.get("/parcels/<code>/label.svg")
@spec.operation("get", "/parcels/<code>/label.svg", "Printable label (SVG)", responses={200: "image/svg+xml"})
@roles_required(*STAFF)
def label_svg(code: str):
    parcel = dossiers.parcel_for(get_session(), code, viewer=current_actor())
    return Response(labels.label_svg(settings().label_key, parcel.code), mimetype="image/svg+xml")


@bp.post("/scans")
@spec.operation("post", "/scans", "Record a batch of scans, each answered on its own",
                body=ScanBatchIn, responses={200: ScanResultsOut})
@roles_required(*STAFF)
@body_limit(SCAN_BATCH_BYTES)
def post_scans():
    try:
        scans = parse(ScanBatchIn).scans  # the usual case: the whole batch valid, checked in one pass
    except ValidationError:
        scans = scan_envelope()  # a sound envelope: each bad scan is refused on its own
    outcomes = custody.record_scans(get_session(), scans, actor=current_actor(), settings=settings(), now=utcnow())
    return {"results": [o.answer(message_of) for o in outcomes]}


def scan_envelope() -> list[dict]:
    """The batch's scans, to be judged one by one. Python's JSON reader also takes a lone surrogate escape,
    which pydantic's refuses (a device that cut a note inside an emoji): that scan alone is then refused."""
    try:
        return parse(ScanEnvelopeIn).scans
    except ValidationError as err:
        first = err.errors()[0]
    if first["type"] == "json_invalid":
        try:
            return ScanEnvelopeIn.model_validate(json.loads(request.get_data())).scans
        except (ValueError, RecursionError):  # not JSON either (pydantic's ValidationError is a ValueError too)
            pass
    raise InvalidPayload(detail=detail_of(first))


@limiter.request_filter
def _scans_are_not_limited() -> bool:
    """No limit applies to the devices' hot path: Flask-Limiter skips even looking for one (by endpoint,
    not by header, so no caller can talk its way past the limits of the login or of tracking)."""
    return request.endpoint == "api.post_scans"


@bp.post("/bags")
@spec.operation("post", "/bags", "Seal parcels into a bag", body=BagIn,
                responses={201: BagCreatedOut, 200: BagCreatedOut}, errors=(404, 409, 422))
@roles_required(*STAFF)
def create_bag():
    data = parse(BagIn)
    bag, created = custody.seal_bag(get_session(), data, actor=current_actor(), settings=settings(), now=utcnow())
    return {"bag": bag.model_dump(mode="json")}, 201 if created else 200
