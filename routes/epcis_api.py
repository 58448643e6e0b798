"""GET /api/v1/epcis/events: the EPCIS 2.0 query interface's basics over the custody ledger (postal/epcis_query.py)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from flask import Blueprint, request

from models.enums import CLERKS, OVERSEERS
from postal import epcis_query
from postal.clock import utcnow
from postal.errors import N_, Phrase, Unprocessable
from routes.api import spec
from routes.auth import current_actor, roles_required
from routes.inputs import within_years
from routes.openapi import Param
from routes.session import get_session

bp = Blueprint("epcis_api", __name__, url_prefix="/api/v1")
MOMENT = {"type": "string", "format": "date-time"}
QUERY = {
    "GE_eventTime": Param("events at or after this time (ISO 8601 with offset)", MOMENT),
    "LT_eventTime": Param("events before this time (ISO 8601 with offset)", MOMENT),
    "EQ_bizStep": Param("a CBV business step (e.g. receiving) or one of ours (urn:hoso-buudien:bizstep:…)"),
    "MATCH_epc": Param("urn:upu:s10:<code>: a parcel's or a bag's events"),
    "EQ_bizLocation": Param("urn:hoso-buudien:site:<code>"),
    "perPage": Param(f"ledger events per page, 1 to {epcis_query.MAX_PER_PAGE} (default {epcis_query.PER_PAGE})",
                     {"type": "integer", "minimum": 1, "maximum": epcis_query.MAX_PER_PAGE}),
    "nextPageToken": Param("the token of the previous page's Link rel=next"),
}
QUERY_DOCUMENT = {"type": "object", "required": ["type", "schemaVersion", "epcisBody"],
                  "properties": {"type": {"const": "EPCISQueryDocument"}, "schemaVersion": {"type": "string"}}}


def moment_arg(name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise Unprocessable(field=name, detail=Phrase(N_("thời điểm ISO 8601 có múi giờ, ví dụ 2026-12-01T08:00:00+07:00")))
    within_years(name, value.date())
    return value


def per_page_arg() -> int:
    raw = request.args.get("perPage", str(epcis_query.PER_PAGE)).strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        raise Unprocessable(field="perPage", detail=Phrase(N_("từ 1 đến %(max)s"), max=epcis_query.MAX_PER_PAGE))
    return int(raw)


@bp.get("/epcis/events")
@spec.operation("get", "/epcis/events", "Custody events as an EPCISQueryDocument (EPCIS 2.0 REST binding basics); "
                "next page in the Link header", responses={200: {"application/json": QUERY_DOCUMENT}}, query=QUERY)
@roles_required(*OVERSEERS, *CLERKS)
def events():
    q = epcis_query.EventQuery(
        ge_event_time=moment_arg("GE_eventTime"), lt_event_time=moment_arg("LT_eventTime"),
        biz_step=request.args.get("EQ_bizStep"), epc=request.args.get("MATCH_epc"),
        biz_location=request.args.get("EQ_bizLocation"), per_page=per_page_arg(),
        after_seq=epcis_query.read_token(request.args.get("nextPageToken")),
    )
    document, token = epcis_query.query_events(get_session(), q, viewer=current_actor(), now=utcnow())
    headers = {}
    if token is not None:
        args = {k: v for k, v in request.args.items() if k != "nextPageToken"}
        headers["Link"] = f'<{request.base_url}?{urlencode({**args, "nextPageToken": token})}>; rel="next"'
    return document, 200, headers
