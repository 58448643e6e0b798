"""Queueing: a message is an outbox row written in the transaction of the event that causes it. A citizen's
message keys "sms" in its dedupe_key whichever route it takes (Zalo or SMS): the key names the message."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlmodel import Session

from models.outbox import Channel
from postal import db, vault
from postal.config import Settings
from postal.notifications.texts import attempt_failed_text, out_for_delivery_text
from postal.notifications.zns import goes_by_zalo


class Outgoing(NamedTuple):
    """A message to queue."""

    channel: str
    recipient: str
    subject: str
    body: str
    dedupe_key: str
    template: str | None = None  # a Zalo message's kind and template data (JSON); its body is the SMS text


def citizen(settings: Settings, phone: str, kind: str, text: str, data: dict[str, str], dedupe_key: str) -> Outgoing:
    """A message to a citizen: by Zalo when ZNS is set up with a template for its kind (the SMS text kept for
    the number that cannot receive it), else by SMS. The key is the same either way: one message, one route."""
    if goes_by_zalo(settings, kind, phone):
        return Outgoing(Channel.ZALO, phone, "", text, dedupe_key, event_json({"kind": kind, "data": data}))
    return Outgoing(Channel.SMS, phone, "", text, dedupe_key)


def queue(session: Session, *, channel: str, recipient: str, subject: str, body: str | dict, dedupe_key: str,
          at: datetime, secret: str | None = None, template: str | None = None) -> bool:
    """Queue one message in the caller's transaction (the caller commits); False when its dedupe_key
    was queued before. `secret`: sealed already (vault.seal); the body (and template) has vault.MASK where it goes."""
    text = body if isinstance(body, str) else event_json(body)
    when = db.time_param(session, at)
    params = (str(Channel(channel)), recipient, subject, text, secret, dedupe_key, when, when, template)
    return db.raw(session, QUEUE_SQL + " RETURNING id", params).first() is not None


def queue_many(session: Session, messages: Iterable[Outgoing], *, at: datetime) -> None:
    """Queue many messages in one executemany (the caller's transaction); a dedupe_key queued before is skipped."""
    when = db.time_param(session, at)
    rows = [(str(m.channel), m.recipient, m.subject, m.body, None, m.dedupe_key, when, when, m.template)
            for m in messages]
    if rows:
        db.executemany(session, QUEUE_SQL, rows)


# Straight to the driver, as ledger.write does: a scan batch may queue thousands. INSERT … ON CONFLICT DO
# NOTHING means the same on both engines, and waits for a concurrent insert of the same key to end.
QUEUE_SQL = ("INSERT INTO outbox_message (channel, recipient, subject, body, secret, dedupe_key, state, attempts, "
             "next_attempt_at, created_at, last_error, template) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, '', ?) "
             "ON CONFLICT (dedupe_key) DO NOTHING")


def queue_citizen(session: Session, settings: Settings, *, phone: str, kind: str, text: str, data: dict[str, str],
                  dedupe_key: str, at: datetime, secret: str | None = None) -> bool:
    """Queue one message to a citizen (by Zalo or SMS: citizen()) in the caller's transaction."""
    m = citizen(settings, phone, kind, text, data, dedupe_key)
    return queue(session, channel=m.channel, recipient=m.recipient, subject="", body=m.body, dedupe_key=dedupe_key,
                 at=at, secret=secret, template=m.template)


def queue_status_webhook(session: Session, settings: Settings, *, dossier_code: str, status: str, at: datetime,
                         dedupe_key: str, previous_status: str | None = None, **more) -> bool:
    """A dossier status change the scans do not make (a result's parcel made, a day passed, an apology's new
    day), to the one-stop system's webhook, in the caller's transaction; nothing when no webhook is set."""
    if not settings.webhook_url:
        return False
    before = {} if previous_status is None else {
        "previous_status": previous_status, "onestop_previous_status": settings.onestop_status_map[previous_status]}
    body = event_json({"event": "dossier.status_changed", "id": dedupe_key, "dossier": dossier_code,
                       "status": status, "onestop_status": settings.onestop_status_map[status], **before,
                       "at": at.isoformat(), **more})
    return queue(session, channel=Channel.WEBHOOK, recipient=settings.webhook_url, subject="", body=body,
                 dedupe_key=dedupe_key, at=at)


def event_json(payload: dict) -> str:
    """A webhook body: compact UTF-8 JSON, stored as the exact text that is signed and sent."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)


def queue_otp(session: Session, settings: Settings, *, dossier_id: int, parcel_code: str, otp: str, event_id,
              at: datetime) -> bool:
    """The delivery code, by SMS to the applicant (out_for_delivery); the caller commits. The stored body has
    the code masked; the code itself is sealed beside it until the message is sent."""
    code, phone = _contact(session, dossier_id)
    return queue_citizen(session, settings, phone=phone, kind="out_for_delivery", text=out_for_delivery_text(code, vault.MASK),
                         data={"dossier_code": code, "otp": vault.MASK}, dedupe_key=f"{event_id}:sms:out_for_delivery",
                         at=at, secret=vault.seal(settings, otp))


def queue_returned(session: Session, settings: Settings, *, dossier_id: int, parcel_code: str, event_id,
                   at: datetime) -> bool:
    """Tell the applicant the result went back to the post office after the failed attempts; the caller commits."""
    code, phone = _contact(session, dossier_id)
    return queue_citizen(session, settings, phone=phone, kind="returned", text=attempt_failed_text(code, returning=True),
                         data={"dossier_code": code}, dedupe_key=f"{event_id}:sms:returned", at=at)


class Contact(NamedTuple):
    """Whom a dossier's messages go to."""

    code: str
    phone: str


def _contact(session: Session, dossier_id: int) -> Contact:
    return Contact._make(db.raw(session, "SELECT code, applicant_phone FROM dossier WHERE id = ?", (dossier_id,)).one())
