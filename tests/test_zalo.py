"""The zalo channel against a fake Zalo on 127.0.0.1 (ZNS and its OAuth, as Zalo's API has them): the request's
shape, the token refreshed before it expires and once on a token-expired answer, the SMS only for a number that
cannot receive, and exactly one delivery per message across retries and a second sender."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select, text

from models import Alert, ZaloToken
from postal import db, notifications, vault
from postal.clock import utcnow
from postal.config import ConfigError, Settings
from postal.notifications import zns
from tests.conftest import local_http
from tests.test_notifications import (  # noqa: F401  (fixtures)
    gateway,
    mailbox,
    rows,
    server_settings,
    session,
    settings,
)

APP_ID, SECRET_KEY, FIRST_REFRESH = "4291763606161179100", "zalo-app-secret-for-tests", "refresh-token-0"
TEMPLATES = {"receipt": "231677", "out_for_delivery": "231678", "delivered": "231679", "apology": "231680"}
PHONE_RE = re.compile(r"84\d{9}")


@dataclass
class FakeZalo:
    """ZNS (POST /message/template) and Zalo's OAuth (POST /v4/oa/access_token): checks every request's shape
    (a wrong one is recorded in `problems` and refused), answers as Zalo does, counts deliveries per tracking_id."""

    live: set[str] = field(default_factory=set)  # access tokens Zalo accepts now
    refresh_token: str = FIRST_REFRESH  # the one refresh token good now: each refresh spends it
    cannot_receive: set[str] = field(default_factory=set)  # phones (84…) with no Zalo account
    answers: list[dict | int] = field(default_factory=list)  # the next ZNS answers (a dict, or an HTTP status)
    delivered: Counter = field(default_factory=Counter)  # tracking_id → messages ZNS took
    sends: list[dict] = field(default_factory=list)  # every ZNS body, in order
    tokens_used: list[str] = field(default_factory=list)
    refreshes: list[str] = field(default_factory=list)  # the refresh tokens presented, in order
    problems: list[str] = field(default_factory=list)
    issued: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    base: str = ""

    def expire_all(self) -> None:
        """Zalo stops accepting the access tokens it gave (they expired early, or were revoked)."""
        with self.lock:
            self.live.clear()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        raw = request.rfile.read(int(request.headers.get("Content-Length", 0)))
        with self.lock:
            if request.path == "/message/template":
                status, answer = self.template_message(request.headers, raw)
            elif request.path == "/v4/oa/access_token":
                status, answer = self.access_token(request.headers, raw)
            else:
                status, answer = 404, {"error": 404, "message": "not found"}
        payload = json.dumps(answer).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)

    def template_message(self, headers, raw: bytes) -> tuple[int, dict]:
        body = json.loads(raw.decode("utf-8"))
        self.sends.append(body)
        token = headers.get("access_token", "")
        self.tokens_used.append(token)
        shape = (set(body) == {"phone", "template_id", "template_data", "tracking_id"}
                 and PHONE_RE.fullmatch(body["phone"]) and body["template_id"] in TEMPLATES.values()
                 and isinstance(body["template_data"], dict) and body["tracking_id"]
                 and all(isinstance(v, str) and v for v in body["template_data"].values())
                 and headers.get("Content-Type", "").startswith("application/json"))
        if not shape:
            self.problems.append(f"ZNS request of the wrong shape: {body}")
            return 200, {"error": -112, "message": "Template data invalid"}
        if self.answers:
            answer = self.answers.pop(0)
            return (answer, {"error": -100, "message": "Unknown error"}) if isinstance(answer, int) else (200, answer)
        if token not in self.live:
            return 200, {"error": -124, "message": "Access token invalid"}
        if body["phone"] in self.cannot_receive:
            return 200, {"error": -118, "message": "Zalo account not existed"}
        self.delivered[body["tracking_id"]] += 1
        return 200, {"error": 0, "message": "Success", "data": {"msg_id": f"zns-{len(self.sends)}"}}

    def access_token(self, headers, raw: bytes) -> tuple[int, dict]:
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        self.refreshes.append(form.get("refresh_token", ""))
        if (headers.get("secret_key") != SECRET_KEY or form.get("app_id") != APP_ID
                or form.get("grant_type") != "refresh_token" or set(form) != {"app_id", "grant_type", "refresh_token"}):
            self.problems.append(f"refresh of the wrong shape: {form} secret_key={headers.get('secret_key')!r}")
            return 200, {"error": -14002, "error_name": "Invalid parameter"}
        if form["refresh_token"] != self.refresh_token:
            return 200, {"error": -14014, "error_name": "Invalid refresh token", "error_description": "used or expired"}
        self.issued += 1
        access, self.refresh_token = f"access-token-{self.issued}", f"refresh-token-{self.issued}"
        self.live.add(access)
        return 200, {"access_token": access, "refresh_token": self.refresh_token, "expires_in": "90000"}


@pytest.fixture
def zalo():
    fake = FakeZalo()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            fake.handle(self)

        def log_message(self, *args) -> None:
            pass

    with local_http(Handler) as base:
        fake.base = base
        yield fake


def zalo_settings(fake: FakeZalo) -> dict[str, str]:
    return {"POSTAL_ZALO_APP_ID": APP_ID, "POSTAL_ZALO_SECRET_KEY": SECRET_KEY,
            "POSTAL_ZALO_REFRESH_TOKEN": FIRST_REFRESH,
            "POSTAL_ZALO_TEMPLATES": ",".join(f"{kind}={tid}" for kind, tid in TEMPLATES.items()),
            "POSTAL_ZALO_API_URL": fake.base, "POSTAL_ZALO_OAUTH_URL": fake.base}


@pytest.fixture
def settings_overrides(database_url, gateway, mailbox, zalo):
    return {**server_settings(database_url, gateway, mailbox), **zalo_settings(zalo)}


def citizen_messages(session, settings, phones: list[str], *, prefix: str = "ev") -> list[str]:
    """A receipt to each phone, in one transaction, as the counter queues it; their dedupe keys."""
    at = utcnow()
    keys = []
    for i, phone in enumerate(phones):
        key, code = f"{prefix}-{i}:sms:receipt", f"000.00.22.H47-261123-{i:04d}"
        notifications.queue_citizen(session, settings, phone=phone, kind="receipt", at=at, dedupe_key=key,
                                    text=notifications.receipt_text(code, at + timedelta(days=10)),
                                    data={"dossier_code": code, "due_date": "10/12/2026"})
        keys.append(key)
    session.commit()
    return keys


def sms_keys(gateway) -> Counter:
    return Counter(a.key for a in gateway.on("/sms"))


# -- the route and the request ---------------------------------------------------------------------------


def test_a_citizens_receipt_goes_by_zalo_with_its_template_phone_and_tracking_id(make, session, settings, gateway,
                                                                                  zalo):
    make.network()
    make.parcel()  # registered and accepted at the center: the citizen's receipt
    [row] = [r for r in rows(session) if r.channel != "webhook"]
    assert (row.channel, row.recipient) == ("zalo", "0912345678")

    report = notifications.send_due(session, settings, now=utcnow())

    assert report.sent == 2 and not zalo.problems  # the receipt by Zalo, and the status webhook
    [body] = zalo.sends
    assert body["phone"] == "84912345678" and body["template_id"] == TEMPLATES["receipt"]
    assert body["tracking_id"] == row.dedupe_key
    assert set(body["template_data"]) == {"dossier_code", "due_date"}
    assert re.fullmatch(r"\d\d/\d\d/\d{4}", body["template_data"]["due_date"])
    assert zalo.refreshes == [FIRST_REFRESH] and zalo.tokens_used == ["access-token-1"]
    assert gateway.on("/sms") == []  # never both
    [row] = [r for r in rows(session) if r.channel != "webhook"]
    assert (row.state, row.channel, row.fallback) == ("sent", "zalo", None)


def test_the_tokens_are_kept_sealed_and_rotate(session, settings, zalo):
    citizen_messages(session, settings, ["0912345678"])
    notifications.send_due(session, settings, now=utcnow())
    session.rollback()
    dump = [str(v) for row in session.execute(text("SELECT * FROM zalo_token")).all() for v in row]
    assert not any(secret in value for value in dump for secret in ("access-token-1", "refresh-token-1", FIRST_REFRESH))
    kept = session.execute(select(ZaloToken)).scalars().one()
    assert vault.unseal(settings, kept.refresh_token) == "refresh-token-1"  # the new one, kept: the first is spent
    assert vault.unseal(settings, kept.access_token) == "access-token-1"


def test_a_kind_without_a_template_and_an_unconfigured_zalo_go_by_sms(session, settings, gateway, zalo):
    at = utcnow()
    notifications.queue_citizen(session, settings, phone="0912345678", kind="on_its_way", text="Bưu điện: …",
                                data={"dossier_code": "HS-1"}, dedupe_key="e1:sms:on_its_way", at=at)
    bare = settings.replace(zalo_app_id=None)
    notifications.queue_citizen(session, bare, phone="0912345678", kind="receipt", text="Bưu điện: …",
                                data={"dossier_code": "HS-2"}, dedupe_key="e2:sms:receipt", at=at)
    session.commit()
    assert [r.channel for r in rows(session)] == ["sms", "sms"]
    assert notifications.send_due(session, settings, now=at).sent == 2
    assert zalo.sends == [] and sms_keys(gateway) == {"e1:sms:on_its_way": 1, "e2:sms:receipt": 1}


def test_the_delivery_code_reaches_zalo_and_stays_masked_at_rest(session, settings, make, zalo):
    make.network()
    parcel = make.parcel()
    dossier_id = make.parcel_row(parcel).dossier_id
    notifications.queue_otp(session, settings, dossier_id=dossier_id, parcel_code=parcel, otp="482913",
                            event_id="e-otp", at=utcnow())
    session.commit()
    stored = [r for r in rows(session) if r.dedupe_key == "e-otp:sms:out_for_delivery"][0]
    assert stored.channel == "zalo" and "482913" not in (stored.template + stored.body)
    notifications.send_due(session, settings, now=utcnow())
    [otp] = [b for b in zalo.sends if b["template_id"] == TEMPLATES["out_for_delivery"]]
    assert otp["template_data"]["otp"] == "482913"
    sent = [r for r in rows(session) if r.dedupe_key == "e-otp:sms:out_for_delivery"][0]
    assert sent.state == "sent" and sent.secret is None


# -- the SMS fallback --------------------------------------------------------------------------------------


def test_a_number_not_on_zalo_gets_the_sms_instead_once(session, settings, gateway, zalo):
    zalo.cannot_receive.add("84987654321")
    keys = citizen_messages(session, settings, ["0912345678", "0987654321"])

    report = notifications.send_due(session, settings, now=utcnow())

    assert (report.sent, report.fell_back, report.failed) == (2, 1, 0)
    assert zalo.delivered == {keys[0]: 1}
    assert sms_keys(gateway) == {keys[1]: 1}  # the same message, the same key, by SMS
    [sms] = gateway.on("/sms")
    assert sms.json()["to"] == "0987654321" and sms.json()["text"].startswith("Bưu điện: hồ sơ 000.00.22.H47-261123-0001")
    on_zalo, fell_back = rows(session)
    assert (on_zalo.channel, on_zalo.fallback) == ("zalo", None)
    assert fell_back.channel == "sms" and fell_back.state == "sent" and "-118" in fell_back.fallback
    assert "Zalo account not existed" in fell_back.fallback
    assert notifications.send_due(session, settings, now=utcnow() + timedelta(hours=2)).sent == 0
    assert len(zalo.sends) == 2 and len(gateway.on("/sms")) == 1


def test_after_the_fallback_a_failed_sms_is_retried_as_sms_only(session, settings, gateway, zalo):
    zalo.cannot_receive.add("84987654321")
    [key] = citizen_messages(session, settings, ["0987654321"])
    gateway.answers = [500]
    now = utcnow()
    report = notifications.send_due(session, settings, now=now)
    assert (report.fell_back, report.retrying) == (1, 1)
    report = notifications.send_due(session, settings, now=now + timedelta(minutes=2))
    assert report.sent == 1
    assert len(zalo.sends) == 1 and [a.key for a in gateway.on("/sms")] == [key, key]  # Zalo was not asked again
    assert zalo.delivered == {}


# -- tokens ------------------------------------------------------------------------------------------------


def test_a_token_expired_answer_refreshes_once_and_the_message_goes_once(session, settings, gateway, zalo):
    keys = citizen_messages(session, settings, ["0912345678"])
    now = utcnow()
    notifications.send_due(session, settings, now=now)
    zalo.expire_all()
    keys += citizen_messages(session, settings, ["0912345678"], prefix="later")

    report = notifications.send_due(session, settings, now=now + timedelta(minutes=5))

    assert report.sent == 1 and not zalo.problems
    assert zalo.refreshes == [FIRST_REFRESH, "refresh-token-1"]  # once at the start, once on the -124
    assert zalo.tokens_used == ["access-token-1", "access-token-1", "access-token-2"]
    assert zalo.delivered == {keys[0]: 1, keys[1]: 1} and gateway.on("/sms") == []


def test_the_token_is_refreshed_before_it_expires(session, settings, zalo):
    now = utcnow()
    citizen_messages(session, settings, ["0912345678"])
    notifications.send_due(session, settings, now=now)
    citizen_messages(session, settings, ["0912345678"], prefix="next-day")
    # Zalo's token lasts 90,000 s: 25 hours. Five minutes before its end the sender refreshes first.
    notifications.send_due(session, settings, now=now + timedelta(hours=25) - timedelta(minutes=5))
    assert zalo.refreshes == [FIRST_REFRESH, "refresh-token-1"]
    assert zalo.tokens_used == ["access-token-1", "access-token-2"]  # no -124 was needed


def test_a_refused_refresh_holds_the_messages_and_tells_the_admin(session, settings, gateway, zalo):
    keys = citizen_messages(session, settings, ["0912345678", "0912345679"])
    wrong = settings.replace(zalo_refresh_token="a-spent-refresh-token")
    now = utcnow()
    report = notifications.send_due(session, wrong, now=now)
    assert (report.sent, report.held, report.failed) == (0, 2, 0)
    assert [(r.state, r.attempts) for r in rows(session)] == [("pending", 0)] * 2
    session.rollback()
    [alert] = session.execute(select(Alert).where(Alert.kind == "gateway_fault")).scalars().all()
    assert alert.subject_code == "zalo" and "Zalo ZNS" in alert.note and "-14014" in alert.note
    assert "a-spent-refresh-token" not in alert.note and gateway.on("/sms") == []

    report = notifications.send_due(session, settings, now=now + timedelta(minutes=1))  # a good token set: at once
    assert report.sent == 2 and zalo.delivered == {keys[0]: 1, keys[1]: 1}
    session.rollback()
    assert [a.state for a in session.execute(select(Alert).where(Alert.kind == "gateway_fault")).scalars()] == ["resolved"]


# -- the other faults ----------------------------------------------------------------------------------------


def test_a_template_zalo_does_not_know_is_a_configuration_fault_and_an_unknown_error_is_retried(session, settings,
                                                                                               gateway, zalo):
    [key] = citizen_messages(session, settings, ["0912345678"])
    zalo.answers = [{"error": -109, "message": "Template ID invalid"}]
    now = utcnow()
    report = notifications.send_due(session, settings, now=now)
    assert (report.held, report.failed, report.fell_back) == (1, 0, 0)
    [row] = rows(session)
    assert row.state == "pending" and row.held_for_config and "-109" in row.last_error

    zalo.answers = [{"error": -100, "message": "Unknown error"}, 503]
    assert notifications.send_due(session, settings, now=now + timedelta(minutes=5)).held == 0  # the slow retry
    assert notifications.send_due(session, settings, now=now + timedelta(minutes=16)).retrying == 1
    assert notifications.send_due(session, settings, now=now + timedelta(minutes=17)).retrying == 1
    assert notifications.send_due(session, settings, now=now + timedelta(minutes=19)).sent == 1
    assert zalo.delivered == {key: 1} and gateway.on("/sms") == []
    [row] = rows(session)
    assert (row.state, row.attempts, row.fallback) == ("sent", 3, None)


def test_a_phone_zalo_calls_invalid_fails_without_an_sms(session, settings, gateway, zalo):
    citizen_messages(session, settings, ["0912345678"])
    zalo.answers = [{"error": -108, "message": "Phone number invalid"}]
    assert notifications.send_due(session, settings, now=utcnow()).failed == 1
    assert gateway.on("/sms") == [] and rows(session)[0].state == "failed"


# -- exactly once ------------------------------------------------------------------------------------------


def test_two_senders_and_retries_deliver_each_message_exactly_once(app, session, settings, gateway, zalo):
    phones = [f"09123{i:05d}" for i in range(40)]
    zalo.cannot_receive.update(zns.international(p) for p in phones[::4])
    keys = citizen_messages(session, settings, phones)
    zalo.answers = [503, {"error": -100, "message": "Unknown error"}]
    gateway.answers = [500]
    engine = app.extensions["postal.engine"]
    start = threading.Barrier(2)
    errors: list[BaseException] = []
    now = utcnow()  # no token yet: both senders want one at once

    def sender() -> None:
        own = db.new_session(engine)
        try:
            start.wait()
            notifications.send_due(own, settings, now=now)
        except BaseException as err:  # noqa: BLE001
            errors.append(err)
        finally:
            own.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for minutes in (5, 10, 20):  # the retries
        notifications.send_due(session, settings, now=now + timedelta(minutes=minutes))

    assert not errors and not zalo.problems
    by_zalo, by_sms = zalo.delivered, sms_keys(gateway)
    by_sms[gateway.on("/sms")[0].key] -= 1  # the first SMS was answered 500: it arrived, it was not taken
    assert all(n == 1 for n in by_zalo.values()) and all(n == 1 for n in by_sms.values())
    assert not set(by_zalo) & set(by_sms)  # never both
    assert sorted([*by_zalo, *by_sms]) == sorted(keys)  # and none missing
    assert set(by_sms) == set(keys[::4])  # SMS only for the numbers Zalo cannot reach
    assert len(zalo.refreshes) == 1  # one refresh, though two senders needed a token
    assert all(r.state == "sent" for r in rows(session))


# -- settings ----------------------------------------------------------------------------------------------


def test_templates_are_kind_equals_id_and_a_wrong_one_is_refused():
    settings = Settings.from_env({"POSTAL_ZALO_TEMPLATES": " receipt=231677 , delivered=231679 "})
    assert settings.zalo_templates == {"receipt": "231677", "delivered": "231679"}
    for wrong in ("receit=1", "receipt=abc", "receipt=1,receipt=2", "receipt"):
        with pytest.raises(ConfigError, match="POSTAL_ZALO_TEMPLATES"):
            Settings.from_env({"POSTAL_ZALO_TEMPLATES": wrong})


def test_the_phone_goes_in_international_form():
    assert zns.international("0912 345 678") == "84912345678"
    assert zns.international("+84912345678") == "84912345678"
    assert zns.international("12345") is None



def test_postal_up_says_which_way_citizens_messages_go(settings):
    assert notifications.citizen_route(settings.replace(zalo_app_id=None)).startswith("by SMS")
    assert notifications.citizen_route(settings).startswith("by Zalo ZNS first (apology, delivered, out_for_delivery")


def test_a_cannot_receive_answer_resolves_the_zalo_alert(session, settings, gateway, zalo):
    zalo.cannot_receive.add("84987654321")
    citizen_messages(session, settings, ["0987654321"])
    zalo.answers = [{"error": -115, "message": "Out of quota"}]
    now = utcnow()
    assert notifications.send_due(session, settings, now=now).held == 1
    report = notifications.send_due(session, settings, now=now + timedelta(minutes=16))  # the quota was topped up
    assert (report.sent, report.fell_back) == (1, 1) and len(gateway.on("/sms")) == 1
    session.rollback()
    [alert] = session.execute(select(Alert).where(Alert.kind == "gateway_fault")).scalars().all()
    assert (alert.subject_code, alert.state) == ("zalo", "resolved")
