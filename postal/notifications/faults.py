"""Configuration faults: a gateway that refuses us (an expired key, a wrong URL, no URL at all) says nothing
about the message. Its messages are kept, never failed for it: held back with the fingerprint of the
channel's settings, tried again as soon as those settings change, or every CONFIG_RETRY; the admin is
told by a gateway_fault alert per channel, resolved by the first message that channel sends again."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlmodel import Session

from models import Alert, AlertKind, AlertState, OutboxMessage
from models.outbox import Channel, OutboxState
from postal import alerts, db, vault
from postal.clock import local
from postal.config import Settings
from postal.notifications.transports import Claimed, fingerprint

OUTBOX = OutboxMessage.__table__
CONFIG_RETRY = timedelta(minutes=15)  # a message held back for a configuration fault is tried this often
CHANNEL_IDS = {Channel.SMS: 1, Channel.EMAIL: 2, Channel.WEBHOOK: 3, Channel.ZALO: 4}  # the alert's subject id
SHOWN = {Channel.SMS: "SMS", Channel.EMAIL: "e-mail", Channel.WEBHOOK: "webhook", Channel.ZALO: "Zalo ZNS"}


class Faults:
    """What one sending run knows of configuration faults: the channels it met one on (their other
    messages are held without a try), and the channels whose alert is open (resolved by a send)."""

    def __init__(self, session: Session, settings: Settings, *, now: datetime) -> None:
        self.session, self.settings = session, settings
        self.met: dict[str, str] = {}  # channel → the fault met on it, for the messages held without a try
        self.alerted = wake_changed(session, settings, now=now)

    def hold(self, msg: Claimed, error: Exception | None, *, at: datetime, hide: str = "") -> int:
        """Keep the message back (its attempt not counted) and open or update its channel's alert; with no
        error, for the fault this run met on its channel already."""
        text = self.met[msg.channel] if error is None else f"{type(error).__name__}: {error}"
        text = (text.replace(hide, vault.MASK) if hide else text)[:1000]
        with db.writing(self.session):
            self.session.execute(
                update(OUTBOX).where(OUTBOX.c.id == msg.id, OUTBOX.c.state == OutboxState.SENDING,
                                     OUTBOX.c.claimed_until == msg.claimed_until)
                .values(state=OutboxState.PENDING, attempts=OUTBOX.c.attempts - 1, claimed_until=None,
                        next_attempt_at=at + CONFIG_RETRY, held_for_config=fingerprint(self.settings, msg.channel),
                        last_error=f"configuration: {text}"))
            if msg.channel not in self.met:
                self.alert(msg.channel, text, at=at)
        self.met.setdefault(msg.channel, text)
        return 1

    def finish(self, *, at: datetime) -> None:
        """At the end of the run, each alert it opened counts every message its channel holds back."""
        if self.met:
            with db.writing(self.session):
                for channel, text in self.met.items():
                    self.alert(channel, text, at=at)

    def alert(self, channel: str, text: str, *, at: datetime) -> None:
        held = self.session.execute(select(func.count()).select_from(OUTBOX).where(
            OUTBOX.c.channel == channel, OUTBOX.c.state == OutboxState.PENDING,
            OUTBOX.c.held_for_config.is_not(None))).scalar_one()
        note = (f"Cổng {SHOWN.get(channel, channel)} từ chối cấu hình lúc {local(at):%H:%M %d/%m/%Y}: {text}. "
                f"{held} tin đang được giữ lại, sẽ gửi khi cấu hình được sửa (hoặc thử lại mỗi "
                f"{int(CONFIG_RETRY.total_seconds() // 60)} phút).")
        alert = alerts.open_alert(self.session, AlertKind.GATEWAY_FAULT, subject_type="gateway",
                                  subject_id=CHANNEL_IDS.get(channel, 0), subject_code=channel, at=at, note=note)
        alert.note = note
        self.alerted.add(channel)

    def sent(self, channel: str, *, at: datetime) -> None:
        """A message went out on the channel: its alert, if open, is resolved."""
        if channel in self.alerted:
            with db.writing(self.session):
                alerts.resolve_for(self.session, [AlertKind.GATEWAY_FAULT], subject_type="gateway",
                                   subject_id=CHANNEL_IDS.get(channel, 0), at=at,
                                   note=f"Cổng {SHOWN.get(channel, channel)} nhận tin trở lại lúc {local(at):%H:%M %d/%m/%Y}.")
            self.alerted.discard(channel)


def wake_changed(session: Session, settings: Settings, *, now: datetime) -> set[str]:
    """Messages held back under settings that have changed since are due at once; the channels whose
    gateway_fault alert is open."""
    with db.writing(session):
        for channel in CHANNEL_IDS:
            session.execute(update(OUTBOX).where(
                OUTBOX.c.state == OutboxState.PENDING, OUTBOX.c.channel == channel,
                OUTBOX.c.held_for_config.is_not(None), OUTBOX.c.held_for_config != fingerprint(settings, channel),
            ).values(next_attempt_at=now, held_for_config=None))
        open_for = session.execute(select(Alert.subject_code).where(
            Alert.kind == AlertKind.GATEWAY_FAULT, Alert.state != AlertState.RESOLVED)).scalars().all()
    return set(open_for)
