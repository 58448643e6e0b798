"""The EPCIS 2.0 query interface's basics (REST binding, GET /events): the caller's events in chain order,
filtered by GE_eventTime / LT_eventTime, EQ_bizStep, MATCH_epc and EQ_bizLocation, a page at a time
(perPage, nextPageToken), answered as an EPCISQueryDocument. Scoped like every other read: supervisors and
admins read every event, a clerk those recorded at their own site."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlmodel import Session

from models import Bag, CustodyEvent, Parcel, Site, User
from models.enums import CLERKS, OVERSEERS
from postal import epcis
from postal.errors import N_, Forbidden, Phrase, Unprocessable

PER_PAGE, MAX_PER_PAGE = 100, 1000
STEPS: dict[str, set[str]] = {}  # CBV bizStep (or our URI) → our actions told with it
for _action, (_, _step, _) in [*epcis.MAPPING.items(), *epcis.BAG_MAPPING.items()]:
    STEPS.setdefault(_step, set()).add(_action)
STEPS.setdefault(epcis.MISSING_AT_UNBAG[1], set()).add("unbag")


@dataclass(frozen=True)
class EventQuery:
    """What the caller asked for, as the query parameters name it."""

    ge_event_time: datetime | None = None
    lt_event_time: datetime | None = None
    biz_step: str | None = None
    epc: str | None = None
    biz_location: str | None = None
    per_page: int = PER_PAGE
    after_seq: int = 0  # from nextPageToken


def page_token(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def read_token(token: str | None) -> int:
    """The chain position a nextPageToken continues after; 400 naming the parameter for one we never gave."""
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        kind, _, seq = text.partition(":")
        if kind == "seq" and seq.isdigit() and len(seq) <= 18:
            return int(seq)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise Unprocessable(field="nextPageToken", detail=Phrase(N_("không phải mã trang do hệ thống cấp")))


def code_of(uri: str | None, prefix: str, field: str) -> str | None:
    if uri is None:
        return None
    if not uri.startswith(prefix) or not uri[len(prefix):]:
        raise Unprocessable(field=field, detail=Phrase(N_("phải có dạng %(form)s…"), form=prefix))
    return uri[len(prefix):]


def query_events(session: Session, q: EventQuery, *, viewer: User, now: datetime) -> tuple[dict, str | None]:
    """The page of events the caller may read, and the token of the next page (None on the last)."""
    if viewer.role not in OVERSEERS | CLERKS:
        raise Forbidden(role=viewer.role)
    if not 1 <= q.per_page <= MAX_PER_PAGE:
        raise Unprocessable(field="perPage", detail=Phrase(N_("từ 1 đến %(max)s"), max=MAX_PER_PAGE))
    if q.biz_step is not None and q.biz_step not in STEPS:
        raise Unprocessable(field="EQ_bizStep", detail=", ".join(sorted(STEPS)))
    rows = epcis.ledger_rows().where(CustodyEvent.seq > q.after_seq)
    if viewer.role in CLERKS:
        rows = rows.where(CustodyEvent.site_id == viewer.site_id)
    if q.ge_event_time is not None:
        rows = rows.where(CustodyEvent.device_at >= q.ge_event_time)
    if q.lt_event_time is not None:
        rows = rows.where(CustodyEvent.device_at < q.lt_event_time)
    if q.biz_step is not None:
        rows = rows.where(CustodyEvent.action.in_(sorted(STEPS[q.biz_step])))
    if (site := code_of(q.biz_location, epcis.place(""), "EQ_bizLocation")) is not None:
        rows = rows.where(Site.code == site)
    if (code := code_of(q.epc, epcis.epc(""), "MATCH_epc")) is not None:
        rows = rows.where(or_(Parcel.code == code, Bag.code == code,
                              CustodyEvent.bag_id.in_(select(Bag.id).where(Bag.contents.contains(code)))))
    found = session.execute(rows.limit(q.per_page + 1)).all()
    more = len(found) > q.per_page
    found = found[:q.per_page]
    events = [e for e in epcis.as_epcis(found) if wanted(e, q)]
    token = page_token(found[-1][0].seq) if more and found else None
    document = {"@context": epcis.DOCUMENT_CONTEXT, "type": "EPCISQueryDocument", "schemaVersion": "2.0",
                "creationDate": epcis.stamp(now),
                "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery", "resultsBody": {"eventList": events}}}}
    return document, token


def wanted(event: dict, q: EventQuery) -> bool:
    """The row was chosen in SQL; of the events told from it, those the filters name."""
    if q.biz_step is not None and event["bizStep"] != q.biz_step:
        return False
    if q.epc is not None:
        named = {*event.get("epcList", []), event.get("parentID"), *event.get("childEPCs", [])}
        return q.epc in named
    return True
