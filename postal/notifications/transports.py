"""The gateways: SMS over HTTP, Zalo ZNS over HTTP (zns.py), e-mail over SMTP, webhooks over HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import smtplib
import threading
from datetime import datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

import requests

from models.outbox import Channel
from postal.config import Settings

if TYPE_CHECKING:
    from postal.notifications.zns import Zns

HTTP_TIMEOUT_S = (5, 10)  # connect, read: each wait on the socket
SMTP_TIMEOUT_S = 10
# A whole send, however the receiver trickles its answer, ends within this: far inside the lease's SAFETY,
# so a send never outlives the lease it started under.
SEND_DEADLINE_S = 30.0
# Answers that say our configuration is wrong (key expired, wrong URL or method), not the message.
CONFIG_FAULTS = frozenset({401, 403, 404, 405, 407, 410})


class Claimed(NamedTuple):
    """An outbox row taken under a lease, as the gateways send it."""

    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    secret: str | None  # sealed; opened only to send (opened())
    dedupe_key: str
    attempts: int
    claimed_until: datetime
    template: str | None = None  # a zalo row's kind and template data (JSON)


class Misconfigured(RuntimeError):
    """The gateway refuses us, not the message (401/403/404…, a refused SMTP login or sender): the message is
    kept, the admin alerted, and it is tried again when the channel's settings change, or slowly."""


class NotConfigured(Misconfigured):
    """The channel's gateway is not set: kept until it is."""


class TokenRejected(Misconfigured):
    """ZNS refused the access token: refreshed once and tried again; refused again, a configuration fault."""


class CannotReceive(RuntimeError):
    """ZNS answered that the number cannot receive: the message goes by SMS instead (and only then)."""


class TooSlow(RuntimeError):
    """No complete answer within SEND_DEADLINE_S: tried again later (with its key, so a repeat is dropped)."""


class Rejected(RuntimeError):
    """The receiver refused the message itself (4xx, refused recipient): sending it again cannot help."""


def fingerprint(settings: Settings, channel: str) -> str:
    """A short digest of what a channel's sends depend on: a message kept back for a configuration fault is
    tried again as soon as it differs."""
    parts = {Channel.SMS: (settings.sms_url,), Channel.WEBHOOK: (settings.webhook_url, settings.webhook_secret),
             Channel.EMAIL: (settings.smtp_host, settings.smtp_port, settings.mail_from),
             Channel.ZALO: (settings.zalo_app_id, settings.zalo_secret_key, settings.zalo_refresh_token,
                            sorted(settings.zalo_templates.items()), settings.zalo_api_url, settings.zalo_oauth_url)}
    return hashlib.sha256(repr(parts.get(channel, ())).encode()).hexdigest()[:16]


def shown(url: str) -> str:
    """A gateway's address as an admin may read it: no credentials, no query (a key may ride in either)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"


def signature(secret: str, body: bytes) -> str:
    """X-Postal-Signature: an HMAC-SHA256 of the exact body bytes under the webhook secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Transport:
    """SMS over the HTTP gateway, Zalo ZNS, e-mail over SMTP, webhooks over HTTP; one per sending run."""

    def __init__(self, settings: Settings, zalo: Zns | None = None) -> None:
        self.settings, self.zalo = settings, zalo
        self.http = requests.Session()

    def close(self) -> None:
        self.http.close()

    def send(self, msg: Claimed) -> None:
        """Deliver one message, within SEND_DEADLINE_S; returns only when the receiver accepted it."""
        outcome: queue.SimpleQueue[BaseException | None] = queue.SimpleQueue()

        def attempt() -> None:
            try:
                self.deliver(msg)
            except BaseException as err:  # noqa: BLE001  (handed to the waiting sender)
                outcome.put(err)
            else:
                outcome.put(None)

        threading.Thread(target=attempt, name="postal-send", daemon=True).start()
        try:
            error = outcome.get(timeout=SEND_DEADLINE_S)
        except queue.Empty:
            # Left to end on its own; its HTTP session is not shared with the sends that follow.
            self.http = requests.Session()
            raise TooSlow(f"no complete answer within {SEND_DEADLINE_S:.0f} s") from None
        if error is not None:
            raise error

    def deliver(self, msg: Claimed) -> None:
        if msg.channel == Channel.SMS:
            self.send_sms(msg)
        elif msg.channel == Channel.WEBHOOK:
            self.send_webhook(msg)
        elif msg.channel == Channel.EMAIL:
            self.send_email(msg)
        elif msg.channel == Channel.ZALO and self.zalo is not None:
            self.zalo.send(msg, self.http)
        elif msg.channel == Channel.ZALO:
            raise NotConfigured("no Zalo sender in this run")
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
        """Accepted on 2xx; 401/403/404/405/407/410 refuse our configuration; another 4xx but 408/429 refuses
        the message itself; anything else is retried."""
        if 200 <= response.status_code < 300:
            return
        reason = f"HTTP {response.status_code}: {response.text[:200]}"
        if response.status_code in CONFIG_FAULTS:
            raise Misconfigured(f"{reason} ({shown(response.url)})")
        if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
            raise Rejected(reason)
        raise requests.HTTPError(reason, response=response)

    def send_email(self, msg: Claimed) -> None:
        if not self.settings.smtp_host:
            raise NotConfigured("POSTAL_SMTP_HOST is not set")
        sender = self.settings.mail_from
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
        except (smtplib.SMTPAuthenticationError, smtplib.SMTPSenderRefused, smtplib.SMTPNotSupportedError) as err:
            raise Misconfigured(f"SMTP {self.settings.smtp_host}:{self.settings.smtp_port} refused us: {err}") from None
