"""From custody: what a scan batch tells the citizen and the one-stop system (queued in the batch's
transaction): a webhook per dossier status change, and the SMS at the citizen's milestones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlmodel import Session

from models import Direction, ParcelState, ReturnMethod
from models.moved import Moved, SiteRef
from models.outbox import Channel
from postal import db
from postal.clock import as_utc
from postal.config import Settings
from postal.dossiers import latest_parcel, status_of
from postal.notifications.queueing import Outgoing, citizen, event_json, queue_many
from postal.notifications.texts import (
    attempt_failed_text,
    day,
    delivered_text,
    moment,
    on_its_way_text,
    ready_for_pickup_text,
    receipt_text,
)


class _Parcel(NamedTuple):
    """What status_of reads of a parcel, before or after the batch."""

    id: int
    code: str
    direction: str
    state: str
    holder_site_id: int | None
    origin_id: int
    destination_id: int | None
    last_event_at: datetime | None


class _Dossier(NamedTuple):
    returned_at: datetime | None


@dataclass
class _Affected:
    code: str
    phone: str
    due_at: datetime
    returned_at: datetime | None
    return_method: str
    parcels: list[_Parcel]


AFFECTED_SQL = (
    "SELECT p.id, p.code, p.direction, p.state, p.holder_site_id, p.origin_id, p.destination_id, "
    "d.id, d.code, d.applicant_phone, d.due_at, d.returned_at, d.return_method, p.last_event_at "
    "FROM parcel p JOIN dossier d ON d.id = p.dossier_id "
    "WHERE p.dossier_id IN (SELECT dossier_id FROM parcel WHERE id {match}) ORDER BY p.id"
)


def on_scans(session: Session, moved: Moved, settings: Settings) -> int:
    """Queue, in the batch's transaction, a webhook for each dossier whose status the batch changed and the
    citizen's SMS at its milestones; how many messages were offered (duplicates are dropped).

    Before and after come from `moved` for what the batch moved, and from the database for the rest of each
    dossier, so it does not matter whether the batch's parcel rows are written yet.
    """
    if not moved.parcels:
        return 0
    by_id = {p.id: p for p in moved.parcels}
    last_event: dict[int, dict] = {}
    for row in moved.events:
        if row["parcel_id"] is not None:
            last_event[row["parcel_id"]] = row
    affected = affected_dossiers(session, by_id)
    sites = Sites(session, moved.sites)
    messages: list[Outgoing] = []
    for dossier_id, d in affected.items():
        after = [p._replace(state=by_id[p.id].state, holder_site_id=by_id[p.id].site_id, last_event_at=moved.at)
                 if p.id in by_id else p for p in d.parcels]
        latest = latest_parcel(after)
        event = last_event.get(latest.id)
        if event is None:  # only the latest parcel decides the status, and this batch did not move it
            continue
        returned_before = None if dossier_id in moved.returned else d.returned_at
        before_status = status_of(d.parcels, _Dossier(returned_before))
        status = status_of(after, _Dossier(d.returned_at or moved.returned.get(dossier_id)))
        if status != before_status:
            messages.extend(status_messages(settings, sites, d, latest, event, str(before_status), str(status)))
        elif event["action"] == "attempt_failed" and latest.state == ParcelState.OUT_FOR_DELIVERY:
            messages.append(citizen(settings, d.phone, "attempt_failed", attempt_failed_text(d.code),
                                    {"dossier_code": d.code}, f"{event['id']}:sms:attempt_failed"))
    queue_many(session, messages, at=moved.at)
    return len(messages)


class AffectedRow(NamedTuple):
    """A row of AFFECTED_SQL: a parcel of a dossier the batch touched, and its dossier."""

    parcel_id: int
    parcel_code: str
    direction: str
    state: str
    holder_site_id: int | None
    origin_id: int
    destination_id: int | None
    dossier_id: int
    dossier_code: str
    phone: str
    due_at: object
    returned_at: object
    return_method: str
    last_event_at: object


def affected_dossiers(session: Session, moved: dict) -> dict[int, _Affected]:
    """Every parcel of each dossier the batch touched, as it was before the batch."""
    affected: dict[int, _Affected] = {}
    match, param = db.any_of(session, list(moved))
    for r in db.raw(session, AFFECTED_SQL.format(match=match), (param,)).into(AffectedRow):
        state, holder, last_event_at = r.state, r.holder_site_id, db.time_read(r.last_event_at)
        if r.parcel_id in moved:  # the batch may have written its row already: its before is the batch's
            before = moved[r.parcel_id]
            state, holder, last_event_at = before.state_before, before.site_before, db.time_read(before.moved_at_before)
        if r.dossier_id not in affected:
            affected[r.dossier_id] = _Affected(r.dossier_code, r.phone, db.time_read(r.due_at),
                                               db.time_read(r.returned_at), r.return_method, [])
        affected[r.dossier_id].parcels.append(_Parcel(r.parcel_id, r.parcel_code, r.direction, state, holder,
                                                      r.origin_id, r.destination_id, last_event_at))
    return affected


class Sites:
    """Site names for messages: those the batch read, and the few others asked for."""

    def __init__(self, session: Session, known: dict[int, SiteRef]) -> None:
        self.session, self.known = session, dict(known)

    def get(self, site_id: int | None) -> SiteRef | None:
        if site_id is not None and site_id not in self.known:
            row = db.raw(self.session, "SELECT id, code, name, kind FROM site WHERE id = ?", (site_id,)).first()
            if row is not None:
                self.known[site_id] = SiteRef(*row)
        return self.known.get(site_id)


def status_messages(settings: Settings, sites: Sites, d: _Affected, latest: _Parcel, event: dict, before: str,
                    status: str) -> list[Outgoing]:
    """The webhook for one status change and, at a citizen's milestone, the SMS."""
    messages = []
    if settings.webhook_url:
        site = sites.get(event["site_id"])
        body = event_json({
            "event": "dossier.status_changed", "id": str(event["id"]), "seq": event["seq"], "dossier": d.code,
            "status": status, "previous_status": before,
            "onestop_status": settings.onestop_status_map[status],
            "onestop_previous_status": settings.onestop_status_map[before], "parcel": latest.code, "action": str(event["action"]),
            "at": as_utc(event["device_at"]).isoformat(), "site": site.code if site else None,
        })
        messages.append(Outgoing(Channel.WEBHOOK, settings.webhook_url, "", body, f"{event['id']}:webhook:status"))
    text, template, data = None, None, {"dossier_code": d.code}
    if status == "received" or (status == "ready_for_return" and latest.direction == Direction.FROM_CITIZEN):
        text, template, data["due_date"] = receipt_text(d.code, d.due_at), "receipt", day(d.due_at)
    elif status == "ready_for_return" and d.return_method == ReturnMethod.HOME:
        text, template = on_its_way_text(d.code), "on_its_way"
    elif status == "ready_for_return":
        place = sites.get(latest.destination_id)
        data["place"] = place.name if place else "Trung tâm"
        text, template = ready_for_pickup_text(d.code, data["place"]), "ready_for_pickup"
    elif status == "returned":
        text, template = delivered_text(d.code, event["device_at"]), "delivered"
        data["delivered_at"] = moment(event["device_at"])
    if text:  # once per parcel and kind: a parcel found again after a loss does not tell the citizen twice
        messages.append(citizen(settings, d.phone, template, text, data, f"{latest.code}:sms:{template}"))
    return messages
