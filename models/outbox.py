"""The notifications outbox: every SMS, Zalo message, e-mail and webhook is a row here before it is sent; and the
Zalo OA's tokens the Zalo messages are sent with."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String, Text, text
from sqlmodel import Field, SQLModel

from models.columns import utc


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    WEBHOOK = "webhook"
    ZALO = "zalo"  # a ZNS template message to a citizen's phone; SMS when Zalo answers the number cannot receive


class OutboxState(StrEnum):
    PENDING = "pending"  # waiting for next_attempt_at
    SENDING = "sending"  # claimed by a sender until claimed_until; sent or not, nobody knows yet
    SENT = "sent"
    FAILED = "failed"  # gave up: rejected, or out of attempts


class OutboxMessage(SQLModel, table=True):
    """One message to send (thông báo), written in the transaction of the event that causes it."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        # Partial index: senders look only at unfinished rows, and sent ones pile up.
        Index("ix_outbox_message_next_attempt_at", "next_attempt_at",
              sqlite_where=text("state IN ('pending', 'sending')"),
              postgresql_where=text("state IN ('pending', 'sending')")),
    )
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_type=String(10))
    recipient: str = Field(max_length=500)  # a phone number, an e-mail address or a URL
    subject: str = Field(default="", max_length=200)
    body: str = Field(sa_type=Text)  # text, or the exact JSON bytes a webhook signs, as UTF-8
    # A secret the body must carry (a delivery code), sealed under the outbox key (postal/vault.py); the body
    # has vault.MASK in its place. Blanked once the message is sent or given up on: never readable at rest.
    secret: str | None = Field(default=None, sa_type=Text)
    # f"{event}:{channel}:{template}": one event never queues the same message twice; receivers
    # get it as Idempotency-Key, so a resend after a crash can be dropped at their end.
    dedupe_key: str = Field(max_length=200, unique=True)
    state: str = Field(default=OutboxState.PENDING, sa_type=String(10))
    attempts: int = 0  # tries begun; a sender that died mid-try counts as one
    next_attempt_at: datetime = Field(sa_type=utc())
    claimed_until: datetime | None = Field(default=None, sa_type=utc())  # the lease of the sender holding it
    last_error: str = Field(default="", sa_type=Text)
    # Kept back because the gateway refused our configuration (401/403/404, no URL set): the fingerprint of
    # the channel's settings then. Tried again when those settings change, or on a slow schedule.
    held_for_config: str | None = Field(default=None, sa_type=String(16))
    created_at: datetime = Field(sa_type=utc())
    sent_at: datetime | None = Field(default=None, sa_type=utc())
    # A citizen's message queued for Zalo: its kind and template data as JSON ({"kind", "data"}); the body is the
    # SMS text it becomes when Zalo answers that the number cannot receive.
    template: str | None = Field(default=None, sa_type=Text)
    # That answer, when it came: the message then went by SMS (channel sms) and never again by Zalo.
    fallback: str | None = Field(default=None, sa_type=Text)


class ZaloToken(SQLModel, table=True):
    """The Zalo OA's access and refresh tokens, sealed (postal/vault.py): one row, rotated at each refresh."""

    __tablename__ = "zalo_token"
    id: int = Field(default=1, primary_key=True)
    access_token: str | None = Field(default=None, sa_type=Text)  # sealed
    refresh_token: str = Field(sa_type=Text)  # sealed; Zalo gives a new one with each access token
    expires_at: datetime | None = Field(default=None, sa_type=utc())
    # A digest of the POSTAL_ZALO_REFRESH_TOKEN these tokens grew from: a new setting starts them again.
    seed: str = Field(sa_type=String(16))
    # The lease of the sender refreshing: a refresh token is good once, so one refresh at a time.
    refreshing_until: datetime | None = Field(default=None, sa_type=utc())
    refreshed_at: datetime | None = Field(default=None, sa_type=utc())
