"""The custody ledger as an EPCIS 2.0 JSON-LD document, for partners who speak GS1 traceability."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from models import Bag, CustodyEvent, Parcel, Site
from postal.clock import LOCAL_TZ, as_utc

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
# Our scan vocabulary in the Core Business Vocabulary: business step and the disposition it leaves.
CBV = {
    "accept": ("accepting", "in_progress"),
    "pickup": ("departing", "in_transit"),
    "handover": ("arriving", "in_transit"),
    "receive": ("receiving", "in_progress"),
    "bag": ("packing", "sealed"),
    "unbag": ("unpacking", "in_progress"),
    "report_missing": ("inspecting", "unknown"),
    "found": ("inspecting", "in_progress"),
    "out_for_delivery": ("departing", "in_transit"),
    "deliver": ("retail_selling", "completeness_verified"),
    "attempt_failed": ("arriving", "in_transit"),
}


def epc(code: str) -> str:
    """A URI for an S10-coded parcel or bag (not a GS1 key: the UPU code is the identity here)."""
    return f"urn:upu:s10:{code}"


def place(site_code: str) -> str:
    return f"urn:postal:site:{site_code}"


def offset(at: datetime) -> str:
    """The local offset where scans happen, as EPCIS writes it: +07:00."""
    z = at.astimezone(LOCAL_TZ).strftime("%z")
    return f"{z[:3]}:{z[3:]}"


def events(session: Session, since: datetime | None = None, *, batch: int = 2000) -> Iterator[dict]:
    """The ledger's events as EPCIS ObjectEvents, in chain order, read in batches."""
    query = (
        select(CustodyEvent, Parcel.code, Bag.code, Site.code)
        .outerjoin(Parcel, Parcel.id == CustodyEvent.parcel_id)
        .outerjoin(Bag, Bag.id == CustodyEvent.bag_id)
        .outerjoin(Site, Site.id == CustodyEvent.site_id)
        .order_by(CustodyEvent.seq)
        .execution_options(yield_per=batch)
    )
    if since is not None:
        query = query.where(CustodyEvent.server_at >= since)
    for event, parcel_code, bag_code, site_code in session.execute(query):
        step, disposition = CBV.get(event.action, ("other", "unknown"))
        at = as_utc(event.device_at)
        item = {
            "type": "ObjectEvent",
            "eventID": f"ni:///sha-256;{event.hash}?ver=CBV2.0",  # the ledger hash is the event's identity
            "eventTime": at.isoformat().replace("+00:00", "Z"),
            "eventTimeZoneOffset": offset(at),
            "recordTime": as_utc(event.server_at).isoformat().replace("+00:00", "Z"),
            "epcList": [epc(parcel_code or bag_code)],
            "action": "ADD" if event.action == "accept" else "OBSERVE",
            "bizStep": step,
            "disposition": disposition,
        }
        if site_code:
            item["readPoint"] = {"id": place(site_code)}
            item["bizLocation"] = {"id": place(site_code)}
        yield item


def write_document(session: Session, out, *, since: datetime | None, now: datetime,
                   progress: Callable[[int], None] | None = None) -> int:
    """Stream the document to a text file; the number of events written."""
    out.write(json.dumps({"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
                          "creationDate": as_utc(now).isoformat().replace("+00:00", "Z")}, ensure_ascii=False)[:-1])
    out.write(', "epcisBody": {"eventList": [')
    count = 0
    for item in events(session, since):
        out.write(("," if count else "") + "\n" + json.dumps(item, ensure_ascii=False))
        count += 1
        if progress and count % 1000 == 0:
            progress(1000)
    out.write("\n]}}\n")
    if progress:
        progress(count % 1000)
    return count
