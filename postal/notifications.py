"""Notifications: every SMS, e-mail and webhook is an outbox row written with the event that causes it,
then sent by the scheduler (or `postal notify`), retried with backoff.

The outbox state machine (table outbox_message):

    pending ──claim──▶ sending ──send ok──▶ sent
       ▲                 │ ├──send failed, attempts left──▶ pending (next_attempt_at = backoff)
       │                 │ └──rejected (4xx), or out of attempts──▶ failed
       └── lease ended ──┘   (the sender died: claimed again, as a new attempt)

What is guaranteed:
- Never lost. A row is written in the transaction of its event, so it exists exactly when the event
  does; it leaves pending/sending only when a send succeeded (sent) or attempts ran out (failed).
  A sender killed at any point leaves its claimed rows in `sending`; they are due again when the
  lease (claimed_until) ends.
- Never twice for one event: the dedupe_key is UNIQUE, so queueing the same message again is a no-op.
- Never two senders on one row at a time: a claim is one UPDATE under a row lock (PostgreSQL: FOR
  UPDATE SKIP LOCKED; SQLite: the write lock) that only takes rows nobody holds a live lease on, and
  a sender starts no send later than SAFETY before its lease ends (lease time is measured from the
  claim, so senders' clocks must agree to within SAFETY).
- What can happen: a sender killed after the receiver accepted a message and before its `sent` mark
  committed sends that one message again after the lease. The window is one HTTP/SMTP answer plus
  one small commit, per message; every message carries its dedupe_key (Idempotency-Key and
  X-Postal-Delivery headers; a Message-ID derived from it for e-mail) so the receiver can drop the
  repeat. A send that outlasts SAFETY past its lease could also overlap a second sender's; the HTTP
  and SMTP timeouts keep a send far shorter than that.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from functools import lru_cache
from typing import NamedTuple

import requests
from sqlalchemy import case, select, update
from sqlmodel import Session

from models import Direction, OutboxMessage, ParcelState, ReturnMethod
from models.moved import Moved, SiteRef
from models.outbox import Channel, OutboxState
from postal import db, ledger, vault
from postal.clock import as_utc, local, utcnow
from postal.config import Settings
from postal.dossiers import latest_parcel, status_of

OUTBOX = OutboxMessage.__table__
UNFINISHED = (OutboxState.PENDING, OutboxState.SENDING)
LEASE = timedelta(minutes=5)  # how long a claimed row is the claimer's alone
SAFETY = timedelta(seconds=60)  # no send starts this close to the end of the lease
CLAIM_CHUNK = 10  # rows per claim: 10 sends at their timeouts fit well inside LEASE - SAFETY
HTTP_TIMEOUT_S = (5, 10)  # connect, read
SMTP_TIMEOUT_S = 10
BACKOFF_S = 30  # the first retry waits this long, each next one twice as long
BACKOFF_CAP = timedelta(hours=1)
MAX_ATTEMPTS = 8  # default for POSTAL_NOTIFY_MAX_ATTEMPTS
PER_RUN = 500  # rows one scheduler run sends at most; the rest wait a minute for the next run
MAIL_FROM = "thongbao@buudien.invalid"  # default for POSTAL_MAIL_FROM


# -- queueing --------------------------------------------------------------------------------------------


class Outgoing(NamedTuple):
    """A message to queue."""

    channel: str
    recipient: str
    subject: str
    body: str
    dedupe_key: str


def queue(session: Session, *, channel: str, recipient: str, subject: str, body: str | dict, dedupe_key: str,
          at: datetime, secret: str | None = None) -> bool:
    """Queue one message in the caller's transaction (the caller commits); False when its dedupe_key
    was queued before. `secret`: sealed already (vault.seal); the body has vault.MASK where it goes."""
    text = body if isinstance(body, str) else event_json(body)
    when = ledger.db_time(session, at)
    params = (str(Channel(channel)), recipient, subject, text, secret, dedupe_key, when, when)
    return db.raw(session, QUEUE_SQL + " RETURNING id", params).first() is not None


def queue_many(session: Session, messages: Iterable[Outgoing], *, at: datetime) -> None:
    """Queue many messages in one executemany (the caller's transaction); a dedupe_key queued before is skipped."""
    when = ledger.db_time(session, at)
    rows = [(str(m.channel), m.recipient, m.subject, m.body, None, m.dedupe_key, when, when) for m in messages]
    if rows:
        db.executemany(session, QUEUE_SQL, rows)


# Straight to the driver, as ledger.write does: a scan batch may queue thousands. INSERT … ON CONFLICT DO
# NOTHING means the same on both engines, and waits for a concurrent insert of the same key to end.
QUEUE_SQL = ("INSERT INTO outbox_message (channel, recipient, subject, body, secret, dedupe_key, state, attempts, "
             "next_attempt_at, created_at, last_error) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, '') "
             "ON CONFLICT (dedupe_key) DO NOTHING")


def event_json(payload: dict) -> str:
    """A webhook body: compact UTF-8 JSON, stored as the exact text that is signed and sent."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)


# -- what citizens read (no staff names, no other dossier) ----------------------------------------------


@lru_cache(maxsize=4096)  # a batch of thousands shares a few due dates
def _day(at: datetime) -> str:
    return local(at).strftime("%d/%m/%Y")


def _moment(at: datetime) -> str:
    return local(at).strftime("%H:%M %d/%m/%Y")


def receipt_text(code: str, due_at: datetime) -> str:
    return (f"Bưu điện: hồ sơ {code} đã được tiếp nhận. Ngày hẹn trả kết quả: {_day(due_at)}. "
            "Tra cứu bằng mã hồ sơ và 4 số cuối điện thoại.")


def on_its_way_text(code: str) -> str:
    return (f"Bưu điện: kết quả hồ sơ {code} đã về Trung tâm và đang được chuyển đến địa chỉ của Ông/Bà. "
            "Bưu tá sẽ gửi mã nhận khi mang đi giao.")


def ready_for_pickup_text(code: str, place: str) -> str:
    return (f"Bưu điện: kết quả hồ sơ {code} đã sẵn sàng. Mời Ông/Bà đến nhận tại {place}, "
            "mang theo giấy hẹn trả kết quả và giấy tờ tùy thân.")


def out_for_delivery_text(code: str, otp: str) -> str:
    return (f"Bưu điện: bưu tá đang mang kết quả hồ sơ {code} đến cho Ông/Bà. Mã nhận kết quả (OTP): {otp}. "
            "Chỉ đọc mã này cho bưu tá khi đã nhận đúng kết quả.")


def delivered_text(code: str, at: datetime) -> str:
    return f"Bưu điện: kết quả hồ sơ {code} đã được giao lúc {_moment(at)}. Cảm ơn Ông/Bà."


def attempt_failed_text(code: str, *, returning: bool = False) -> str:
    if returning:
        return (f"Bưu điện: đã nhiều lần không giao được kết quả hồ sơ {code}; kết quả đã được chuyển về bưu điện. "
                "Xin liên hệ bưu điện hoặc đặt lịch giao lại.")
    return f"Bưu điện: chưa giao được kết quả hồ sơ {code} cho Ông/Bà. Bưu tá sẽ giao lại trong lần tới."


# -- from custody ----------------------------------------------------------------------------------------


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
            messages.append(Outgoing(Channel.SMS, d.phone, "", attempt_failed_text(d.code),
                                     f"{event['id']}:sms:attempt_failed"))
    queue_many(session, messages, at=moved.at)
    return len(messages)


def affected_dossiers(session: Session, moved: dict) -> dict[int, _Affected]:
    """Every parcel of each dossier the batch touched, as it was before the batch."""
    affected: dict[int, _Affected] = {}
    match, param = db.any_of(session, list(moved))
    for r in db.raw(session, AFFECTED_SQL.format(match=match), (param,)).all():
        pid, pcode, direction, state, holder, origin, destination, did = r[:8]
        last_event_at = _time(r[13])
        if pid in moved:  # the batch may have written its row already: its before is the batch's
            state, holder, last_event_at = moved[pid].state_before, moved[pid].site_before, _time(moved[pid].moved_at_before)
        if did not in affected:
            affected[did] = _Affected(r[8], r[9], _time(r[10]), _time(r[11]), r[12], [])
        affected[did].parcels.append(_Parcel(pid, pcode, direction, state, holder, origin, destination, last_event_at))
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
            "status": status, "previous_status": before, "parcel": latest.code, "action": str(event["action"]),
            "at": as_utc(event["device_at"]).isoformat(), "site": site.code if site else None,
        })
        messages.append(Outgoing(Channel.WEBHOOK, settings.webhook_url, "", body, f"{event['id']}:webhook:status"))
    text, template = None, None
    if status == "received" or (status == "ready_for_return" and latest.direction == Direction.FROM_CITIZEN):
        text, template = receipt_text(d.code, d.due_at), "receipt"
    elif status == "ready_for_return" and d.return_method == ReturnMethod.HOME:
        text, template = on_its_way_text(d.code), "on_its_way"
    elif status == "ready_for_return":
        place = sites.get(latest.destination_id)
        text, template = ready_for_pickup_text(d.code, place.name if place else "Trung tâm"), "ready_for_pickup"
    elif status == "returned":
        text, template = delivered_text(d.code, event["device_at"]), "delivered"
    if text:  # once per parcel and kind: a parcel found again after a loss does not tell the citizen twice
        messages.append(Outgoing(Channel.SMS, d.phone, "", text, f"{latest.code}:sms:{template}"))
    return messages


def queue_otp(session: Session, settings: Settings, *, dossier_id: int, parcel_code: str, otp: str, event_id,
              at: datetime) -> bool:
    """The delivery code, by SMS to the applicant (out_for_delivery); the caller commits. The stored body has
    the code masked; the code itself is sealed beside it until the message is sent."""
    code, phone = _contact(session, dossier_id)
    return queue(session, channel=Channel.SMS, recipient=phone, subject="", body=out_for_delivery_text(code, vault.MASK),
                 dedupe_key=f"{event_id}:sms:out_for_delivery", at=at, secret=vault.seal(settings, otp))


def queue_returned(session: Session, *, dossier_id: int, parcel_code: str, event_id, at: datetime) -> bool:
    """Tell the applicant the result went back to the post office after the failed attempts; the caller commits."""
    code, phone = _contact(session, dossier_id)
    return queue(session, channel=Channel.SMS, recipient=phone, subject="", body=attempt_failed_text(code, returning=True),
                 dedupe_key=f"{event_id}:sms:returned", at=at)


def _contact(session: Session, dossier_id: int) -> tuple[str, str]:
    return tuple(db.raw(session, "SELECT code, applicant_phone FROM dossier WHERE id = ?", (dossier_id,)).one())


def _time(value: datetime | str | None) -> datetime | None:
    """A time read at the driver: text on SQLite, aware on PostgreSQL."""
    if value is None:
        return None
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


# -- sending ---------------------------------------------------------------------------------------------


@dataclass
class SendReport:
    """What one sending run did."""

    sent: int = 0
    failed: int = 0  # given up on: rejected, or out of attempts
    retrying: int = 0  # failed this time, tried again later
    released: int = 0  # claimed but not tried before the lease got short: due again at once


class Claimed(NamedTuple):
    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    secret: str | None  # sealed; opened only to send (opened())
    dedupe_key: str
    attempts: int
    claimed_until: datetime


class NotConfigured(RuntimeError):
    """The channel's gateway is not set: retried, since it may be set before attempts run out."""


class Rejected(RuntimeError):
    """The receiver refused the message itself (4xx, refused recipient): sending it again cannot help."""


def send_pending(settings: Settings, *, now: datetime | None = None, limit: int = PER_RUN) -> SendReport:
    """Send everything due, in a session of its own: what the scheduler calls every minute and
    `postal notify` once."""
    with db.session_for(settings) as session:
        return send_due(session, settings, now=now or utcnow(), limit=limit)


def send_due(session: Session, settings: Settings, *, now: datetime, limit: int = 100,
             max_attempts: int | None = None) -> SendReport:
    """Claim due rows a few at a time, send each outside any transaction, and mark each as soon as its
    send returns. `now` is the time at the start; it advances with the real time the run takes."""
    if max_attempts is None:
        max_attempts = int(settings.extra.get("POSTAL_NOTIFY_MAX_ATTEMPTS", MAX_ATTEMPTS))
    report = SendReport()
    started = time.monotonic()

    def clock() -> datetime:
        return now + timedelta(seconds=time.monotonic() - started)

    transport = Transport(settings)
    try:
        claimed_total = 0
        while claimed_total < limit:
            claimed_at = time.monotonic()
            rows = claim(session, now=clock(), count=min(CLAIM_CHUNK, limit - claimed_total),
                         max_attempts=max_attempts, report=report)
            if not rows:
                break
            claimed_total += len(rows)
            for i, msg in enumerate(rows):
                if time.monotonic() - claimed_at > (LEASE - SAFETY).total_seconds():
                    report.released += release(session, rows[i:], at=clock())
                    return report
                secret = ""
                try:
                    ready, secret = opened(settings, msg)
                    transport.send(ready)
                except Exception as err:  # noqa: BLE001  (any failure of one send is that row's, not the run's)
                    gave_up = retry_or_fail(session, msg, err, at=clock(), max_attempts=max_attempts, hide=secret)
                    report.failed += gave_up
                    report.retrying += not gave_up
                else:
                    mark_sent(session, msg, at=clock())
                    report.sent += 1
    finally:
        transport.close()
    return report


def opened(settings: Settings, msg: Claimed) -> tuple[Claimed, str]:
    """The message as it is sent (its secret in place of the mask), and that secret ("" if none)."""
    try:
        body, secret = vault.reveal(settings, msg.body, msg.secret)
    except vault.Unreadable as err:  # sealed under another key: no retry can open it
        raise Rejected(str(err)) from None
    return (msg._replace(body=body, secret=None), secret) if secret else (msg, "")


def claim(session: Session, *, now: datetime, count: int, max_attempts: int, report: SendReport) -> list[Claimed]:
    """Take up to `count` due rows under a lease, committed before anything is sent."""
    db.begin_write(session)
    due = (OUTBOX.c.state.in_(UNFINISHED), OUTBOX.c.next_attempt_at <= now)
    # Rows out of attempts whose last try died with its sender (or the limit was lowered): give up on them.
    report.failed += session.execute(
        update(OUTBOX).where(*due, OUTBOX.c.attempts >= max_attempts).values(
            state=OutboxState.FAILED, claimed_until=None, secret=None,
            last_error=case((OUTBOX.c.state == OutboxState.SENDING, "no answer before the lease ended"),
                            else_=OUTBOX.c.last_error))
    ).rowcount
    lease = now + LEASE
    ids = (select(OUTBOX.c.id).where(*due, OUTBOX.c.attempts < max_attempts).order_by(OUTBOX.c.id).limit(count)
           .with_for_update(skip_locked=True))  # PostgreSQL; SQLite's write lock already excludes other claimers
    rows = session.execute(
        update(OUTBOX).where(OUTBOX.c.id.in_(ids))
        # next_attempt_at follows the lease, so a row whose sender died is due again when the lease ends.
        .values(state=OutboxState.SENDING, attempts=OUTBOX.c.attempts + 1, claimed_until=lease, next_attempt_at=lease)
        .returning(OUTBOX.c.id, OUTBOX.c.channel, OUTBOX.c.recipient, OUTBOX.c.subject, OUTBOX.c.body,
                   OUTBOX.c.secret, OUTBOX.c.dedupe_key, OUTBOX.c.attempts)
    ).all()
    session.commit()
    return sorted(Claimed(*r, claimed_until=lease) for r in rows)


def _ours(msg: Claimed):
    """Still this sender's row: a row whose lease lapsed and was claimed again has another claimed_until."""
    return update(OUTBOX).where(OUTBOX.c.id == msg.id, OUTBOX.c.state == OutboxState.SENDING,
                                OUTBOX.c.claimed_until == msg.claimed_until)


def mark_sent(session: Session, msg: Claimed, *, at: datetime) -> None:
    """The receiver took it: committed at once, the only window in which a crash means a resend."""
    db.begin_write(session)
    session.execute(_ours(msg).values(state=OutboxState.SENT, sent_at=at, claimed_until=None, secret=None))
    session.commit()


def retry_or_fail(session: Session, msg: Claimed, err: Exception, *, at: datetime, max_attempts: int,
                  hide: str = "") -> bool:
    """Schedule the next attempt with backoff, or give up (the sealed secret with it); True when given up.
    `hide`: the opened secret, masked in the error kept (a gateway may echo the text it refused)."""
    give_up = isinstance(err, Rejected) or msg.attempts >= max_attempts
    error = f"{type(err).__name__}: {err}"
    error = (error.replace(hide, vault.MASK) if hide else error)[:1000]
    values = ({"state": OutboxState.FAILED, "secret": None} if give_up else
              {"state": OutboxState.PENDING, "next_attempt_at": at + backoff(msg.attempts)})
    db.begin_write(session)
    session.execute(_ours(msg).values(**values, claimed_until=None, last_error=error))
    session.commit()
    return give_up


def release(session: Session, rows: list[Claimed], *, at: datetime) -> int:
    """Hand back claimed rows that were not tried: due again at once, the attempt not counted."""
    db.begin_write(session)
    for msg in rows:
        session.execute(_ours(msg).values(state=OutboxState.PENDING, attempts=OUTBOX.c.attempts - 1,
                                          claimed_until=None, next_attempt_at=at))
    session.commit()
    return len(rows)


def backoff(attempts: int) -> timedelta:
    """The wait after the attempts-th failure: 30 s, 1 min, 2 min, … capped at an hour."""
    return min(timedelta(seconds=BACKOFF_S * 2 ** max(attempts - 1, 0)), BACKOFF_CAP)


# -- the gateways ----------------------------------------------------------------------------------------


def signature(secret: str, body: bytes) -> str:
    """X-Postal-Signature: an HMAC-SHA256 of the exact body bytes under the webhook secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Transport:
    """SMS over the HTTP gateway, e-mail over SMTP, webhooks over HTTP; one per sending run."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.http = requests.Session()

    def close(self) -> None:
        self.http.close()

    def send(self, msg: Claimed) -> None:
        """Deliver one message; returns only when the receiver accepted it."""
        if msg.channel == Channel.SMS:
            self.send_sms(msg)
        elif msg.channel == Channel.WEBHOOK:
            self.send_webhook(msg)
        elif msg.channel == Channel.EMAIL:
            self.send_email(msg)
        else:
            raise Rejected(f"unknown channel {msg.channel!r}")

    @staticmethod
    def delivery_headers(msg: Claimed) -> dict[str, str]:
        """The same key on every try of one message: the receiver drops a repeat by it."""
        return {"Idempotency-Key": msg.dedupe_key, "X-Postal-Delivery": msg.dedupe_key,
                "Content-Type": "application/json; charset=utf-8"}

    def send_sms(self, msg: Claimed) -> None:
        if not self.settings.sms_url:
            raise NotConfigured("POSTAL_SMS_URL is not set")
        body = json.dumps({"to": msg.recipient, "text": msg.body}, ensure_ascii=False).encode()
        self.answered(self.http.post(self.settings.sms_url, data=body, headers=self.delivery_headers(msg),
                                     timeout=HTTP_TIMEOUT_S, allow_redirects=False))

    def send_webhook(self, msg: Claimed) -> None:
        body = msg.body.encode()
        headers = {**self.delivery_headers(msg), "X-Postal-Signature": signature(self.settings.webhook_secret, body)}
        self.answered(self.http.post(msg.recipient, data=body, headers=headers, timeout=HTTP_TIMEOUT_S,
                                     allow_redirects=False))

    @staticmethod
    def answered(response: requests.Response) -> None:
        """Accepted on 2xx; a 4xx other than 408/429 refuses the message itself; anything else is retried."""
        if 200 <= response.status_code < 300:
            return
        reason = f"HTTP {response.status_code}: {response.text[:200]}"
        if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
            raise Rejected(reason)
        raise requests.HTTPError(reason, response=response)

    def send_email(self, msg: Claimed) -> None:
        if not self.settings.smtp_host:
            raise NotConfigured("POSTAL_SMTP_HOST is not set")
        sender = self.settings.extra.get("POSTAL_MAIL_FROM", MAIL_FROM)
        mail = EmailMessage()
        mail["From"] = sender
        mail["To"] = msg.recipient
        mail["Subject"] = msg.subject
        # Derived from the dedupe_key: a resent e-mail has the Message-ID of the first.
        mail["Message-ID"] = f"<{hashlib.sha256(msg.dedupe_key.encode()).hexdigest()[:32]}@{sender.rpartition('@')[2]}>"
        mail["X-Postal-Delivery"] = msg.dedupe_key
        mail.set_content(msg.body, charset="utf-8")
        try:
            with smtplib.SMTP(self.settings.smtp_host, self.settings.smtp_port, timeout=SMTP_TIMEOUT_S) as smtp:
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as err:
            raise Rejected(f"recipient refused: {err.recipients}") from None
