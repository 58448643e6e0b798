"""The custody ledger as an EPCIS 2.0 JSON-LD document, for partners who speak GS1 traceability.

Each of our actions is mapped deliberately (README, "EPCIS"): CBV 2.0 business steps and dispositions where
CBV has the meaning, URIs of our own namespace (urn:hoso-buudien:…) where it does not. A parcel scan is an
ObjectEvent; sealing a bag is an AggregationEvent ADD of its parcels, opening it a DELETE, and a parcel
missing at the opening an ObjectEvent of its own whose disposition says so. A redirect is a new event with
the new destination, never an edit. Event IDs are `urn:uuid:` of the ledger event (the device's scan id, or
the one the server derived from it); the chain hash and position travel as extension fields.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import select
from sqlmodel import Session

from models import Bag, CustodyEvent, Parcel, Site
from postal.clock import LOCAL_TZ, as_utc

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
NS = "urn:hoso-buudien:epcis:"  # our vocabulary and extension fields, as prefix hsbd:
DOCUMENT_CONTEXT = [CONTEXT, {"hsbd": NS}]
OURS = "urn:hoso-buudien:"
# Our action → (EPCIS action, CBV bizStep or our URI, CBV disposition or our URI); why each, in the README.
MAPPING: dict[str, tuple[str, str, str]] = {
    "accept": ("ADD", "accepting", "in_progress"),  # the post takes it into custody: the EPC's first event
    "pickup": ("OBSERVE", "departing", "in_transit"),
    "handover": ("OBSERVE", "arriving", f"{OURS}disp:awaiting_receipt"),  # given at the destination, unconfirmed
    "receive": ("OBSERVE", "receiving", "in_progress"),
    "report_missing": ("OBSERVE", "inspecting", f"{OURS}disp:missing"),
    "found": ("OBSERVE", "inspecting", "in_progress"),
    "out_for_delivery": ("OBSERVE", "departing", "in_transit"),
    "attempt_failed": ("OBSERVE", f"{OURS}bizstep:delivery_attempt_failed", "in_transit"),
    "deliver": ("OBSERVE", f"{OURS}bizstep:delivering", f"{OURS}disp:delivered"),
    "redirect": ("OBSERVE", f"{OURS}bizstep:redirecting", "in_progress"),
}
BAG_MAPPING = {"bag": ("ADD", "packing", "container_closed"), "unbag": ("DELETE", "unpacking", "container_open")}
MISSING_AT_UNBAG = ("OBSERVE", "inspecting", f"{OURS}disp:missing")


def epc(code: str) -> str:
    """A URI for an S10-coded parcel or bag (not a GS1 key: the UPU code is the identity here)."""
    return f"urn:upu:s10:{code}"


def place(site_code: str) -> str:
    return f"{OURS}site:{site_code}"


def party(holder: str) -> str:
    """A holder as the ledger writes it ("site:STP", "courier:nva", "citizen") as a URI."""
    return f"{OURS}party:{quote(holder or 'none', safe=':')}"


def offset(at: datetime) -> str:
    """The local offset where scans happen, as EPCIS writes it: +07:00."""
    z = at.astimezone(LOCAL_TZ).strftime("%z")
    return f"{z[:3]}:{z[3:]}"


def stamp(at: datetime) -> str:
    return as_utc(at).isoformat().replace("+00:00", "Z")


def ledger_rows(since: datetime | None = None, until: datetime | None = None):
    """The ledger's rows with the codes an EPCIS event names, in chain order."""
    query = (
        select(CustodyEvent, Parcel.code, Bag.code, Site.code)
        .outerjoin(Parcel, Parcel.id == CustodyEvent.parcel_id)
        .outerjoin(Bag, Bag.id == CustodyEvent.bag_id)
        .outerjoin(Site, Site.id == CustodyEvent.site_id)
        .order_by(CustodyEvent.seq)
    )
    if since is not None:
        query = query.where(CustodyEvent.server_at >= since)
    if until is not None:
        query = query.where(CustodyEvent.server_at < until)
    return query


def events(session: Session, since: datetime | None = None, until: datetime | None = None, *,
           batch: int = 2000) -> Iterator[dict]:
    """The ledger's events as EPCIS events, in chain order, read in batches (memory stays flat)."""
    yield from as_epcis(session.execute(ledger_rows(since, until).execution_options(yield_per=batch)))


def as_epcis(rows) -> Iterator[dict]:
    """EPCIS events of ledger rows (one row may be told as two: a bag opened with a parcel missing)."""
    for event, parcel_code, bag_code, site_code in rows:
        if event.parcel_id is None:  # the bag's own event
            yield from bag_events(event, bag_code, site_code)
        elif event.action in BAG_MAPPING:
            continue  # a parcel sealed in or taken out: told by its bag's AggregationEvent
        else:
            yield object_event(event, parcel_code, site_code)


def common(event: CustodyEvent, site_code: str | None, mapping: tuple[str, str, str], event_id: uuid.UUID) -> dict:
    action, step, disposition = mapping
    item = {
        "eventID": f"urn:uuid:{event_id}",
        "eventTime": stamp(event.device_at),
        "eventTimeZoneOffset": offset(event.device_at),
        "recordTime": stamp(event.server_at),
        "action": action,
        "bizStep": step,
        "disposition": disposition,
    }
    if site_code:
        item["readPoint"] = {"id": place(site_code)}
        item["bizLocation"] = {"id": place(site_code)}
    return item


def object_event(event: CustodyEvent, code: str, site_code: str | None) -> dict:
    item = {"type": "ObjectEvent", "epcList": [epc(code)],
            **common(event, site_code, MAPPING.get(event.action, ("OBSERVE", "other", "unknown")), event.id)}
    item["sourceList"] = [{"type": "possessing_party", "source": party(event.from_holder)}]
    item["destinationList"] = [{"type": "possessing_party", "destination": party(event.to_holder)}]
    if event.action == "redirect":
        moved = json.loads(event.evidence or "{}")
        item["destinationList"].append({"type": "location", "destination": place(moved.get("to", ""))})
        item["hsbd:redirectedFrom"] = place(moved.get("from", ""))
        item["hsbd:reason"] = event.note
    return extended(item, event)


def bag_events(event: CustodyEvent, code: str, site_code: str | None) -> Iterator[dict]:
    """A bag sealed or opened: an AggregationEvent; a movement of the sealed bag: an ObjectEvent of the bag; a
    parcel missing when it was opened: an ObjectEvent that says so."""
    evidence = json.loads(event.evidence or "{}")
    if event.action not in BAG_MAPPING:
        yield extended({"type": "ObjectEvent", "epcList": [epc(code)],
                        **common(event, site_code, MAPPING.get(event.action, ("OBSERVE", "other", "unknown")),
                                 event.id)}, event)
        return
    children = evidence.get("parcels") if event.action == "bag" else evidence.get("scanned")
    yield extended({"type": "AggregationEvent", "parentID": epc(code), "childEPCs": [epc(c) for c in children or []],
                    **common(event, site_code, BAG_MAPPING[event.action], event.id)}, event)
    for missing in evidence.get("missing") or []:
        item = {"type": "ObjectEvent", "epcList": [epc(missing)],
                **common(event, site_code, MISSING_AT_UNBAG, uuid.uuid5(event.id, missing))}
        item["hsbd:missingFrom"] = epc(code)
        yield item


def extended(item: dict, event: CustodyEvent) -> dict:
    """Where the event stands in the ledger: a partner can check it against a verified chain."""
    item["hsbd:chainHash"] = event.hash
    item["hsbd:seq"] = event.seq
    return item


def document_head(now: datetime) -> dict:
    return {"@context": DOCUMENT_CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": stamp(now)}


def write_document(session: Session, out, *, since: datetime | None, now: datetime, until: datetime | None = None,
                   progress: Callable[[int], None] | None = None) -> int:
    """Stream the document to a text file, event by event; the number of events written."""
    out.write(json.dumps(document_head(now), ensure_ascii=False)[:-1])
    out.write(', "epcisBody": {"eventList": [')
    count = 0
    for item in events(session, since, until):
        out.write(("," if count else "") + "\n" + json.dumps(item, ensure_ascii=False))
        count += 1
        if progress and count % 1000 == 0:
            progress(1000)
    out.write("\n]}}\n")
    if progress:
        progress(count % 1000)
    return count
