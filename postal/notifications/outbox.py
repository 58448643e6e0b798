"""Sending the outbox: claim due rows under a lease, send each outside any transaction, mark it at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, select, update
from sqlmodel import Session

from models import OutboxMessage
from models.outbox import Channel, OutboxState
from postal import db, vault
from postal.clock import local, utcnow
from postal.config import ConfigError, Settings
from postal.notifications.faults import Faults
from postal.notifications.transports import CannotReceive, Claimed, Misconfigured, Rejected, Transport
from postal.notifications.zns import Tokens, Zns

OUTBOX = OutboxMessage.__table__
UNFINISHED = (OutboxState.PENDING, OutboxState.SENDING)
LEASE = timedelta(minutes=5)  # how long a claimed row is the claimer's alone
SAFETY = timedelta(seconds=60)  # no send starts this close to the end of the lease
CLAIM_CHUNK = 10  # rows per claim; a send starts only while its lease has SAFETY left, the rest go back (release)
BACKOFF_S = 30  # the first retry waits this long, each next one twice as long
BACKOFF_CAP = timedelta(hours=1)
PER_RUN = 500  # rows one scheduler run sends at most; the rest wait a minute for the next run


@dataclass
class SendReport:
    """What one sending run did."""

    sent: int = 0
    failed: int = 0  # given up on: rejected, or out of attempts
    retrying: int = 0  # failed this time, tried again later
    released: int = 0  # claimed but not tried before the lease got short: due again at once
    held: int = 0  # kept back: the gateway refuses our configuration (postal/notifications/faults.py)
    fell_back: int = 0  # Zalo messages whose number cannot receive ZNS: sent by SMS instead


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
        max_attempts = settings.notify_max_attempts
    report = SendReport()
    started = time.monotonic()

    def clock() -> datetime:
        return now + timedelta(seconds=time.monotonic() - started)

    faults = Faults(session, settings, now=now)
    tokens = Tokens(session.get_bind(), settings, clock)
    transport = Transport(settings, zalo=Zns(settings, tokens))
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
                    faults.finish(at=clock())
                    return report
                attempt(session, settings, transport, faults, msg, clock=clock, max_attempts=max_attempts,
                        report=report)
        faults.finish(at=clock())
    finally:
        transport.close()
    return report


def attempt(session: Session, settings: Settings, transport: Transport, faults: Faults, msg: Claimed, *,
            clock: Callable[[], datetime], max_attempts: int, report: SendReport) -> None:
    """One try of one claimed row, marked as soon as it returns; a Zalo message whose number cannot receive
    becomes an SMS and is tried as one at once, in the same attempt."""
    if msg.channel in faults.met:  # this run met its gateway's fault: kept without a try
        report.held += faults.hold(msg, None, at=clock())
        return
    secret = ""
    try:
        ready, secret = opened(settings, msg)
        transport.send(ready)
    except CannotReceive as err:
        report.fell_back += 1
        faults.sent(msg.channel, at=clock())  # Zalo took our request: whatever it refused before is well again
        if (sms := fall_back(session, msg, err, at=clock(), hide=secret)) is not None:
            attempt(session, settings, transport, faults, sms, clock=clock, max_attempts=max_attempts, report=report)
    except Misconfigured as err:
        report.held += faults.hold(msg, err, at=clock(), hide=secret)
    except Exception as err:  # noqa: BLE001  (any failure of one send is that row's, not the run's)
        gave_up = retry_or_fail(session, msg, err, at=clock(), max_attempts=max_attempts, hide=secret)
        report.failed += gave_up
        report.retrying += not gave_up
    else:
        mark_sent(session, msg, at=clock())
        report.sent += 1
        faults.sent(msg.channel, at=clock())


def fall_back(session: Session, msg: Claimed, err: Exception, *, at: datetime, hide: str = "") -> Claimed | None:
    """Zalo cannot reach the number: the message becomes an SMS for good, Zalo's answer recorded on it; None
    when the row is no longer this sender's."""
    said = f"{local(at):%H:%M %d/%m/%Y} {err}"
    said = (said.replace(hide, vault.MASK) if hide else said)[:1000]
    with db.writing(session):
        mine = session.execute(_ours(msg).values(channel=Channel.SMS, fallback=said)).rowcount
    return msg._replace(channel=Channel.SMS) if mine == 1 else None


def opened(settings: Settings, msg: Claimed) -> tuple[Claimed, str]:
    """The message as it is sent (its secret in place of the mask), and that secret ("" if none)."""
    try:
        body, secret = vault.reveal(settings, msg.body, msg.secret)
    except vault.Unreadable as err:  # sealed under another key: no retry can open it
        raise Rejected(str(err)) from None
    if not secret:
        return msg, ""
    template = msg.template.replace(vault.MASK, secret) if msg.template else msg.template
    return msg._replace(body=body, secret=None, template=template), secret


def claim(session: Session, *, now: datetime, count: int, max_attempts: int, report: SendReport) -> list[Claimed]:
    """Take up to `count` due rows under a lease, committed before anything is sent."""
    with db.writing(session):
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
                       OUTBOX.c.secret, OUTBOX.c.dedupe_key, OUTBOX.c.attempts, OUTBOX.c.template)
        ).all()
    return sorted(Claimed(*r[:8], claimed_until=lease, template=r[8]) for r in rows)


def _ours(msg: Claimed):
    """Still this sender's row: a row whose lease lapsed and was claimed again has another claimed_until."""
    return update(OUTBOX).where(OUTBOX.c.id == msg.id, OUTBOX.c.state == OutboxState.SENDING,
                                OUTBOX.c.claimed_until == msg.claimed_until)


def mark_sent(session: Session, msg: Claimed, *, at: datetime) -> None:
    """The receiver took it: committed at once, the only window in which a crash means a resend."""
    with db.writing(session):
        session.execute(_ours(msg).values(state=OutboxState.SENT, sent_at=at, claimed_until=None, secret=None,
                                          held_for_config=None))


def retry_or_fail(session: Session, msg: Claimed, err: Exception, *, at: datetime, max_attempts: int,
                  hide: str = "") -> bool:
    """Schedule the next attempt with backoff, or give up (the sealed secret with it); True when given up.
    `hide`: the opened secret, masked in the error kept (a gateway may echo the text it refused)."""
    give_up = isinstance(err, Rejected) or msg.attempts >= max_attempts
    error = f"{type(err).__name__}: {err}"
    error = (error.replace(hide, vault.MASK) if hide else error)[:1000]
    values = ({"state": OutboxState.FAILED, "secret": None} if give_up else
              {"state": OutboxState.PENDING, "next_attempt_at": at + backoff(msg.attempts)})
    with db.writing(session):
        session.execute(_ours(msg).values(**values, claimed_until=None, last_error=error, held_for_config=None))
    return give_up


def release(session: Session, rows: list[Claimed], *, at: datetime) -> int:
    """Hand back claimed rows that were not tried: due again at once, the attempt not counted."""
    with db.writing(session):
        for msg in rows:
            session.execute(_ours(msg).values(state=OutboxState.PENDING, attempts=OUTBOX.c.attempts - 1,
                                              claimed_until=None, next_attempt_at=at))
    return len(rows)


def backoff(attempts: int) -> timedelta:
    """The wait after the attempts-th failure: 30 s, 1 min, 2 min, … capped at an hour."""
    return min(timedelta(seconds=BACKOFF_S * 2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def replay_webhooks(session: Session, settings: Settings, *, since: datetime, now: datetime,
                    sent_too: bool = False) -> int:
    """Queue again the status webhooks written since `since` that were given up on (the one-stop system was
    down longer than the retries), and with `sent_too` those it took as well (it lost them): due at once, to
    the webhook URL set now, with their attempts counted anew. Each keeps its id and Idempotency-Key, so the
    receiver can drop what it already has. How many were queued again; a message being sent is left alone."""
    if not settings.webhook_url:
        raise ConfigError("POSTAL_WEBHOOK_URL is not set: there is nowhere to replay the webhooks to")
    states = (OutboxState.FAILED, OutboxState.SENT) if sent_too else (OutboxState.FAILED,)
    with db.writing(session):
        replayed = session.execute(
            update(OUTBOX).where(OUTBOX.c.channel == Channel.WEBHOOK, OUTBOX.c.created_at >= since,
                                 OUTBOX.c.state.in_(states))
            .values(state=OutboxState.PENDING, attempts=0, next_attempt_at=now, recipient=settings.webhook_url,
                    claimed_until=None, held_for_config=None, last_error="")).rowcount
    return replayed
