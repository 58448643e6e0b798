"""Zalo ZNS: a citizen's message as an approved template message to their phone, sent with the OA's access
token, which is refreshed with its refresh token before it expires and kept sealed in zalo_token.

As Zalo's API has it: `POST {zalo_api_url}/message/template`, header `access_token`, JSON `{phone (84…),
template_id, template_data, tracking_id}`; `POST {zalo_oauth_url}/v4/oa/access_token`, header `secret_key`, form
`app_id, grant_type=refresh_token, refresh_token` → `{access_token, refresh_token, expires_in}`. A refresh token
is good for one refresh: each answer brings the next, kept at once. Answers say how it went in `error` (0: sent).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple

import phonenumbers
import requests
from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from models import ZaloToken
from postal import db, vault
from postal.config import Settings
from postal.notifications.transports import (
    HTTP_TIMEOUT_S,
    CannotReceive,
    Claimed,
    Misconfigured,
    NotConfigured,
    Rejected,
    TokenRejected,
    Transport,
)

# ZNS answers, from Zalo's table of error codes, "Cách xử lý mã lỗi" (https://zalo.cloud/zns/guidelines/handle-error-code).
TOKEN_INVALID = frozenset({-124})  # Access token invalid: refreshed once, and the message tried once more
# The number cannot receive ZNS: -110 Zalo version unsupported, -114 user inactive or refusing the message,
# -118 Zalo account not existed, -119 account can not receive. Only these send the message by SMS instead.
CANNOT_RECEIVE = frozenset({-110, -114, -118, -119})
# Ours to fix: the app (-101 invalid, -102 not existed, -103 not activated, -104 secret key invalid, -105 not
# linked to an OA), -106 method unsupported (the URL), -109 template id invalid, -111/-112 template data empty or
# invalid (a template whose parameters are not ours), -115 out of quota, -117 no permission for the template.
OUR_CONFIGURATION = frozenset({-101, -102, -103, -104, -105, -106, -109, -111, -112, -115, -117})
REFUSED = frozenset({-108, -116})  # phone number invalid, text invalid: the message itself; anything else is retried
REFRESH_AHEAD = timedelta(minutes=10)  # an access token this close to its expiry is refreshed first
REFRESH_LEASE = timedelta(seconds=30)  # one sender refreshes at a time; a refresher that died frees it after this
REFRESH_WAIT_S = 10.0  # how long a sender waits for another's refresh before trying again later


def international(phone: str) -> str | None:
    """The phone as ZNS takes it (84912345678), or None when it is not a valid number."""
    try:
        number = phonenumbers.parse(phone, "VN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).removeprefix("+")


def configured(settings: Settings) -> bool:
    """Whether ZNS can be tried at all: the app, its secret key and a refresh token are set."""
    return bool(settings.zalo_app_id and settings.zalo_secret_key and settings.zalo_refresh_token)


def citizen_route(settings: Settings) -> str:
    """How citizens' messages go under these settings, as `postal up` tells it."""
    if not configured(settings) or not settings.zalo_templates:
        return "by SMS (Zalo ZNS is not set up: README, Zalo)"
    kinds = ", ".join(sorted(settings.zalo_templates))
    return f"by Zalo ZNS first ({kinds}; the rest by SMS), by SMS to a number Zalo cannot reach"


def goes_by_zalo(settings: Settings, kind: str, phone: str) -> bool:
    """Whether a citizen's message of this kind is sent by Zalo first: ZNS is set up, the kind has its
    template, and the phone has an international form."""
    return configured(settings) and kind in settings.zalo_templates and international(phone) is not None


def seed_of(settings: Settings) -> str:
    """A digest of the refresh token setting: the kept tokens start again when it changes."""
    return hashlib.sha256(b"postal zalo seed\n" + settings.zalo_refresh_token.encode()).hexdigest()[:16]


class Kept(NamedTuple):
    """The row as read: the sealed refresh token identifies the generation of tokens."""

    access_token: str | None
    refresh_token: str  # sealed
    expires_at: datetime | None


class Tokens:
    """The OA's tokens for one sending run: read from zalo_token in sessions of their own (a send runs in a
    thread of its own), refreshed there before they expire, one refresh at a time across senders."""

    def __init__(self, engine: Engine, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.engine, self.settings, self.clock = engine, settings, clock
        self.known: tuple[str, datetime] | None = None  # the last live token this run read, and its expiry

    def access_token(self, *, rejected: str | None = None) -> str:
        """A live access token: the kept one unless it is about to expire or Zalo just refused it (`rejected`);
        then refreshed by whichever sender takes the refresh lease, the others using what it got."""
        known = self.known
        if known and known[0] != rejected and known[1] - self.clock() > REFRESH_AHEAD:
            return known[0]
        waited = time.monotonic() + REFRESH_WAIT_S
        while True:
            kept = self.read()
            access = unsealed(self.settings, kept.access_token) if kept.access_token else None
            fresh = kept.expires_at is not None and kept.expires_at - self.clock() > REFRESH_AHEAD
            if access and fresh and access != rejected:
                self.known = (access, kept.expires_at)
                return access
            if self.lease(kept):
                access = self.refresh(kept)
                self.known = None  # read again next time: the row says when it ends
                return access
            if time.monotonic() > waited:
                raise TimeoutError("another sender's Zalo token refresh did not end in time")
            time.sleep(0.1)

    def read(self) -> Kept:
        """The kept tokens, started from the setting when there are none or the setting changed."""
        seed = seed_of(self.settings)
        with db.new_session(self.engine) as session:
            row = session.get(ZaloToken, 1)
            if row is not None and row.seed == seed:
                return Kept(row.access_token, row.refresh_token, row.expires_at)
            try:
                with db.writing(session):
                    row = session.get(ZaloToken, 1) or ZaloToken(id=1, refresh_token="", seed="")
                    if row.seed != seed:
                        row.access_token, row.expires_at, row.refreshing_until, row.seed = None, None, None, seed
                        row.refresh_token = vault.seal(self.settings, self.settings.zalo_refresh_token)
                        session.add(row)
            except IntegrityError:  # another sender started them at the same moment: theirs stand
                pass
        return self.read()

    def lease(self, kept: Kept) -> bool:
        """Take the refresh for this generation of tokens; False when another sender holds it or did it."""
        now = self.clock()
        with db.new_session(self.engine) as session, db.writing(session):
            taken = session.execute(update(ZaloToken).where(
                ZaloToken.id == 1, ZaloToken.refresh_token == kept.refresh_token,
                or_(ZaloToken.refreshing_until.is_(None), ZaloToken.refreshing_until < now),
            ).values(refreshing_until=now + REFRESH_LEASE)).rowcount
        return taken == 1

    def refresh(self, kept: Kept) -> str:
        """Trade the refresh token for new tokens and keep them sealed; the lease ends either way."""
        try:  # a request of its own: a send left running past its deadline may still hold another
            answer = requests.post(
                f"{self.settings.zalo_oauth_url.rstrip('/')}/v4/oa/access_token",
                data={"app_id": self.settings.zalo_app_id, "grant_type": "refresh_token",
                      "refresh_token": unsealed(self.settings, kept.refresh_token)},
                headers={"secret_key": self.settings.zalo_secret_key}, timeout=HTTP_TIMEOUT_S, allow_redirects=False)
            try:
                Transport.answered(answer)
            except Rejected as err:  # the refresh refused: our app or token, never the message
                raise Misconfigured(f"Zalo refused the token refresh: {err}") from None
            tokens = answer.json()
            if not isinstance(tokens, dict) or not tokens.get("access_token"):
                raise Misconfigured(f"Zalo refused the token refresh: {refusal(tokens)}")
        except BaseException:
            self.end_lease(kept, {})
            raise
        access = str(tokens["access_token"])
        now = self.clock()
        self.end_lease(kept, {
            "access_token": vault.seal(self.settings, access),
            # Rotated: the one just used is spent. Zalo always sends the next; without one the old is kept.
            "refresh_token": vault.seal(self.settings, str(tokens.get("refresh_token") or "")) if tokens.get(
                "refresh_token") else kept.refresh_token,
            "expires_at": now + timedelta(seconds=int(float(tokens.get("expires_in") or 3600))),
            "refreshed_at": now,
        })
        return access

    def end_lease(self, kept: Kept, values: dict) -> None:
        with db.new_session(self.engine) as session, db.writing(session):
            session.execute(update(ZaloToken).where(ZaloToken.id == 1, ZaloToken.refresh_token == kept.refresh_token)
                            .values(refreshing_until=None, **values))


def unsealed(settings: Settings, sealed: str) -> str:
    """A kept token; sealed under another outbox key, none can be read: a new refresh token must be set."""
    try:
        return vault.unseal(settings, sealed)
    except vault.Unreadable:
        raise Misconfigured("the kept Zalo tokens were sealed under another POSTAL_OUTBOX_KEY: set "
                            "POSTAL_ZALO_REFRESH_TOKEN to a new refresh token") from None


def refusal(answer) -> str:
    """What Zalo said, without anything it may have echoed of our secrets: its code and its words."""
    if not isinstance(answer, dict):
        return "an answer that is not JSON"
    words = answer.get("error_name") or answer.get("error_description") or answer.get("message") or ""
    return f"error {answer.get('error')}: {str(words)[:200]}"


class Zns:
    """Sends a claimed zalo row: its template for the kind, the phone in international form, the message's
    dedupe_key as tracking_id; on an invalid token, one refresh and one more try."""

    def __init__(self, settings: Settings, tokens: Tokens) -> None:
        self.settings, self.tokens = settings, tokens

    def send(self, msg: Claimed, http: requests.Session) -> None:
        if not configured(self.settings):
            raise NotConfigured("POSTAL_ZALO_APP_ID, POSTAL_ZALO_SECRET_KEY and POSTAL_ZALO_REFRESH_TOKEN are not all set")
        template = json.loads(msg.template or "{}")
        template_id = self.settings.zalo_templates.get(template.get("kind", ""))
        if template_id is None:
            raise NotConfigured(f"POSTAL_ZALO_TEMPLATES has no template for {template.get('kind')!r}")
        phone = international(msg.recipient)
        if phone is None:
            raise Rejected("the phone number has no international form")
        body = json.dumps({"phone": phone, "template_id": template_id, "template_data": template.get("data", {}),
                           "tracking_id": msg.dedupe_key}, ensure_ascii=False).encode()
        token = self.tokens.access_token()
        try:
            self.post(http, body, token)
        except TokenRejected:
            self.post(http, body, self.tokens.access_token(rejected=token))  # refused again: a configuration fault

    def post(self, http: requests.Session, body: bytes, token: str) -> None:
        url = f"{self.settings.zalo_api_url.rstrip('/')}/message/template"
        response = http.post(url, data=body, timeout=HTTP_TIMEOUT_S, allow_redirects=False,
                             headers={"access_token": token, "Content-Type": "application/json; charset=utf-8"})
        Transport.answered(response)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        code = answer.get("error") if isinstance(answer, dict) else None
        if code == 0:
            return
        said = f"ZNS {refusal(answer)}"
        if code in TOKEN_INVALID:
            raise TokenRejected(said)
        if code in CANNOT_RECEIVE:
            raise CannotReceive(said)
        if code in OUR_CONFIGURATION:
            raise Misconfigured(said)
        if code in REFUSED:
            raise Rejected(said)
        raise requests.HTTPError(said, response=response)
