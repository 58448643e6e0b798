"""The outbox against real local servers: an HTTP SMS gateway and webhook receiver, and SMTP (aiosmtpd)."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from sqlalchemy import select

from models import Dossier, OutboxMessage, User
from models.dossiers import DossierIn, ParcelIn
from postal import db, dossiers, notifications, statuses, watch
from postal.cli import cli
from postal.clock import utcnow
from tests.conftest import ROOT, TEST_SETTINGS, local_http

WEBHOOK_SECRET = "webhook-secret-for-tests"


# -- the servers -----------------------------------------------------------------------------------------


@dataclass
class Arrival:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @property
    def key(self) -> str:
        return self.headers["idempotency-key"]

    def json(self) -> dict:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Gateway:
    """SMS gateway (POST /sms) and webhook receiver (POST /hook) on 127.0.0.1, recording every request."""

    arrivals: list[Arrival] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # statuses for the next requests; 200 after them
    delay_s: float = 0.0
    echo: bool = False  # answer with the request's body, as some gateways do when they refuse a message
    hold_from: int | None = None  # the n-th request (1-based) and later wait for `release`
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    base: str = ""

    def url(self, path: str) -> str:
        return self.base + path

    def on(self, path: str) -> list[Arrival]:
        return [a for a in self.arrivals if a.path == path]

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length", 0)))
        with self.lock:
            self.arrivals.append(Arrival(request.path, {k.lower(): v for k, v in request.headers.items()}, body))
            status = self.answers.pop(0) if self.answers else 200
            hold = self.hold_from is not None and len(self.arrivals) >= self.hold_from
        if hold:
            self.held.set()
            self.release.wait(30)
        time.sleep(self.delay_s)
        answer = body if self.echo else b"ok"
        try:
            request.send_response(status)
            request.send_header("Content-Length", str(len(answer)))
            request.end_headers()
            request.wfile.write(answer)
        except OSError:
            pass  # the sender was killed while we held its request


@pytest.fixture
def gateway():
    gw = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            gw.handle(self)

        def log_message(self, *args) -> None:
            pass

    with local_http(Handler) as base:
        gw.base = base
        try:
            yield gw
        finally:
            gw.release.set()  # a handler held back by a test must finish before the server stops


class Mailbox:
    """An aiosmtpd handler keeping what it was given."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mailbox():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


def server_settings(database_url: str, gateway: Gateway, mailbox: Mailbox) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url, **TEST_SETTINGS,
        "POSTAL_SMS_URL": gateway.url("/sms"), "POSTAL_WEBHOOK_URL": gateway.url("/hook"),
        "POSTAL_WEBHOOK_SECRET": WEBHOOK_SECRET, "POSTAL_SMTP_HOST": "127.0.0.1", "POSTAL_SMTP_PORT": str(mailbox.port),
        "POSTAL_MAIL_FROM": "thongbao@buudien.test",
    }


@pytest.fixture
def settings_overrides(database_url, gateway, mailbox):
    """The app wired to the local servers, so `app`, `make` and `client` use them."""
    return server_settings(database_url, gateway, mailbox)


@pytest.fixture
def settings(app):
    return app.extensions["postal.settings"]


@pytest.fixture
def session(app):
    s = db.new_session(app.extensions["postal.engine"])
    yield s
    s.close()


def sms(session, n: int, *, at=None, prefix: str = "ev") -> list[str]:
    """Queue n SMS in one transaction; their dedupe keys."""
    at = at or utcnow()
    keys = [f"{prefix}-{i}:sms:receipt" for i in range(n)]
    for i, key in enumerate(keys):
        notifications.queue(session, channel="sms", recipient=f"09123456{i:02d}", subject="",
                            body=notifications.receipt_text(f"HS-{i}", at + timedelta(days=10)), dedupe_key=key, at=at)
    session.commit()
    return keys


def rows(session) -> list[OutboxMessage]:
    session.rollback()  # end the read transaction: a snapshot would hide other senders' writes
    session.expire_all()  # new_session keeps objects loaded before a commit as they were
    return list(session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


# -- queueing --------------------------------------------------------------------------------------------


def test_a_dedupe_key_queued_twice_is_one_row(session):
    at = utcnow()
    first = notifications.queue(session, channel="sms", recipient="0912345678", subject="", body="Lần một",
                                dedupe_key="e1:sms:receipt", at=at)
    again = notifications.queue(session, channel="sms", recipient="0912345678", subject="", body="Lần hai",
                                dedupe_key="e1:sms:receipt", at=at)
    session.commit()
    assert (first, again) == (True, False)
    [row] = rows(session)
    assert row.body == "Lần một" and row.state == "pending" and row.attempts == 0


def test_queue_is_part_of_the_callers_transaction(session):
    notifications.queue(session, channel="sms", recipient="0912345678", subject="", body="x", dedupe_key="k", at=utcnow())
    session.rollback()  # the event that caused it was not written: neither is the message
    assert rows(session) == []


# -- sending ---------------------------------------------------------------------------------------------


def test_sms_webhook_and_email_arrive_as_sent(session, settings, gateway, mailbox):
    at = utcnow()
    text = notifications.out_for_delivery_text("000.00.22.H47-261123-0001", "482913")
    notifications.queue(session, channel="sms", recipient="0912345678", subject="", body=text,
                        dedupe_key="e1:sms:out_for_delivery", at=at)
    event = {"event": "dossier.status_changed", "dossier": "000.00.22.H47-261123-0001", "status": "at_agency",
             "site": "STP", "note": "Đã chuyển đến Sở Tư pháp"}
    notifications.queue(session, channel="webhook", recipient=gateway.url("/hook"), subject="", body=event,
                        dedupe_key="e1:webhook:status", at=at)
    notifications.queue(session, channel="email", recipient="dan@example.vn", subject="Kết quả hồ sơ đã sẵn sàng",
                        body="Kết quả hồ sơ 000.00.22.H47-261123-0001 đã về Trung tâm.", dedupe_key="e1:email:ready", at=at)
    session.commit()

    report = notifications.send_due(session, settings, now=at)

    assert (report.sent, report.failed, report.retrying) == (3, 0, 0)
    [message] = gateway.on("/sms")
    assert message.json() == {"to": "0912345678", "text": text}
    assert "Mã nhận kết quả (OTP): 482913" in message.body.decode("utf-8")  # UTF-8 on the wire, not \u escapes
    assert message.headers["content-type"] == "application/json; charset=utf-8"
    assert message.key == message.headers["x-postal-delivery"] == "e1:sms:out_for_delivery"
    [hook] = gateway.on("/hook")
    assert hook.json() == event
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), hook.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(hook.headers["x-postal-signature"], expected)
    assert hook.key == "e1:webhook:status"
    [(mail_from, rcpt, raw)] = mailbox.messages
    assert (mail_from, rcpt) == ("thongbao@buudien.test", ["dan@example.vn"])
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail["Subject"] == "Kết quả hồ sơ đã sẵn sàng"
    assert mail.get_content().strip() == "Kết quả hồ sơ 000.00.22.H47-261123-0001 đã về Trung tâm."
    assert mail["X-Postal-Delivery"] == "e1:email:ready"
    assert all(r.state == "sent" and r.sent_at is not None and r.claimed_until is None for r in rows(session))


def test_webhook_signature_defaults_to_the_secret_key():
    from postal.config import Settings

    settings = Settings.from_env({"POSTAL_SECRET_KEY": "the-installation-secret"})
    assert settings.webhook_secret == "the-installation-secret"


def test_a_500_is_retried_with_backoff(session, settings, gateway):
    [key] = sms(session, 1)
    gateway.answers = [500, 500]
    t0 = utcnow()

    assert notifications.send_due(session, settings, now=t0).retrying == 1
    [row] = rows(session)
    assert (row.state, row.attempts) == ("pending", 1) and "500" in row.last_error
    assert timedelta(seconds=29) < row.next_attempt_at - t0 < timedelta(seconds=31)

    assert notifications.send_due(session, settings, now=t0 + timedelta(seconds=25)) == notifications.SendReport()
    t1 = t0 + timedelta(seconds=31)
    assert notifications.send_due(session, settings, now=t1).retrying == 1  # the second 500: now 60 s
    assert notifications.send_due(session, settings, now=t1 + timedelta(seconds=55)).sent == 0
    assert notifications.send_due(session, settings, now=t1 + timedelta(seconds=61)).sent == 1

    assert [a.key for a in gateway.arrivals] == [key, key, key]
    [row] = rows(session)
    assert (row.state, row.attempts) == ("sent", 3)


def test_backoff_doubles_up_to_an_hour():
    assert [notifications.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert notifications.backoff(8) == timedelta(hours=1) and notifications.backoff(30) == timedelta(hours=1)


def test_out_of_attempts_is_failed_and_a_refusal_is_not_retried(session, settings, gateway):
    sms(session, 1, prefix="down")
    gateway.answers = [503] * 10
    now = utcnow()
    for _ in range(3):
        report = notifications.send_due(session, settings, now=now, max_attempts=3)
        now += timedelta(hours=2)
    assert report.failed == 1
    [row] = rows(session)
    assert (row.state, row.attempts) == ("failed", 3)
    assert notifications.send_due(session, settings, now=now + timedelta(days=1)).sent == 0

    gateway.answers = [400]
    sms(session, 1, prefix="bad")
    assert notifications.send_due(session, settings, now=now).failed == 1
    refused = rows(session)[-1]
    assert (refused.state, refused.attempts) == ("failed", 1) and "400" in refused.last_error
    assert len(gateway.arrivals) == 4


def test_two_runs_in_a_row_send_nothing_twice(session, settings, gateway):
    keys = sms(session, 25)
    now = utcnow()
    first = notifications.send_due(session, settings, now=now)
    second = notifications.send_due(session, settings, now=now + timedelta(hours=2))
    assert (first.sent, second.sent) == (25, 0)
    assert sorted(a.key for a in gateway.arrivals) == sorted(keys)


def test_limit_leaves_the_rest_for_the_next_run(session, settings, gateway):
    keys = sms(session, 15)
    now = utcnow()
    assert notifications.send_due(session, settings, now=now, limit=12).sent == 12
    assert notifications.send_due(session, settings, now=now, limit=12).sent == 3
    assert sorted(a.key for a in gateway.arrivals) == sorted(keys)


class Crash(Exception):
    pass


def test_a_sender_that_crashes_mid_batch_loses_nothing(session, settings, gateway, app, monkeypatch):
    keys = sms(session, 4)
    real_mark_sent = notifications.mark_sent

    def crash(*args, **kwargs):
        raise Crash("killed after the first send, before marking it")

    monkeypatch.setattr(notifications.outbox, "mark_sent", crash)
    t0 = utcnow()
    with pytest.raises(Crash):
        notifications.send_due(session, settings, now=t0)
    session.close()
    monkeypatch.setattr(notifications.outbox, "mark_sent", real_mark_sent)
    assert [a.key for a in gateway.arrivals] == [keys[0]]
    assert [r.state for r in rows(session)] == ["sending"] * 4  # claimed, leased: nobody else takes them

    other = db.new_session(app.extensions["postal.engine"])  # another sender, while the lease runs
    assert notifications.send_due(other, settings, now=t0 + notifications.LEASE - timedelta(seconds=1)).sent == 0
    report = notifications.send_due(other, settings, now=t0 + notifications.LEASE + timedelta(seconds=1))
    other.close()

    assert report.sent == 4 and all(r.state == "sent" for r in rows(session))
    arrived = Counter(a.key for a in gateway.arrivals)
    # The one message the receiver took before the crash comes again, with the same key to drop it by;
    # the others arrive once.
    assert arrived == {keys[0]: 2, keys[1]: 1, keys[2]: 1, keys[3]: 1}


def test_a_row_whose_last_attempt_died_with_its_sender_is_failed(session, settings, gateway):
    sms(session, 1)
    t0 = utcnow()
    notifications.claim(session, now=t0, count=10, max_attempts=2, report=notifications.SendReport())  # then died
    assert notifications.send_due(session, settings, now=t0 + notifications.LEASE + timedelta(seconds=1),
                                  max_attempts=2).sent == 1  # the second attempt
    sms(session, 1, prefix="again")
    t1 = utcnow()
    assert len(notifications.claim(session, now=t1, count=10, max_attempts=1, report=notifications.SendReport())) == 1
    report = notifications.send_due(session, settings, now=t1 + notifications.LEASE + timedelta(seconds=1),
                                    max_attempts=1)
    assert (report.sent, report.failed) == (0, 1)
    last = rows(session)[-1]
    assert (last.state, last.attempts, last.last_error) == ("failed", 1, "no answer before the lease ended")


def test_a_killed_sender_process_loses_nothing(session, settings, gateway, mailbox, database_url):
    keys = sms(session, 3)
    gateway.hold_from = 2  # the second SMS reaches the gateway, which never answers the sender
    env = {**os.environ, **server_settings(database_url, gateway, mailbox)}
    sender = subprocess.Popen([sys.executable, "-c", "from postal.cli import cli; cli(['notify'])"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert gateway.held.wait(60), "the sender never reached the gateway"
        sender.send_signal(signal.SIGKILL)
        sender.wait(10)
    finally:
        if sender.poll() is None:
            sender.kill()
    gateway.release.set()
    assert [r.state for r in rows(session)] == ["sent", "sending", "sending"]

    report = notifications.send_due(session, settings, now=utcnow() + notifications.LEASE + timedelta(seconds=1))

    assert report.sent == 2 and all(r.state == "sent" for r in rows(session))
    assert Counter(a.key for a in gateway.arrivals) == {keys[0]: 1, keys[1]: 2, keys[2]: 1}


def test_concurrent_senders_never_send_the_same_row(session, settings, gateway, app):
    keys = sms(session, 60)
    gateway.delay_s = 0.005  # keep both senders busy at once
    engine = app.extensions["postal.engine"]
    start = threading.Barrier(2)
    reports: list[notifications.SendReport] = []
    errors: list[BaseException] = []
    now = utcnow()

    def sender() -> None:
        own = db.new_session(engine)
        try:
            start.wait()
            reports.append(notifications.send_due(own, settings, now=now))
        except BaseException as err:  # noqa: BLE001
            errors.append(err)
        finally:
            own.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert not errors
    assert sorted(a.key for a in gateway.arrivals) == sorted(keys)  # each once
    assert sorted(r.sent for r in reports)[0] > 0 and sum(r.sent for r in reports) == 60


def test_notify_command_prints_counts(session, settings, gateway, mailbox, database_url):
    sms(session, 2)
    gateway.answers = [500]
    result = CliRunner().invoke(cli, ["notify", "--at", (utcnow() + timedelta(seconds=1)).isoformat()],
                                env=server_settings(database_url, gateway, mailbox))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "sent 1, failed 0, retrying 1"


# -- from custody ----------------------------------------------------------------------------------------


def test_scans_queue_a_webhook_per_status_change_and_the_citizens_sms(make, session, settings, gateway):
    make.network()
    parcel = make.parcel()  # registered, then accepted at the center: "received"
    make.scan_as("nva", parcel, "pickup", site="TTHCC")  # to_agency
    make.scan_as("nva", parcel, "handover", site="STP")  # still to_agency: awaiting the agency's receipt
    make.scan_as("stp.linh", parcel, "receive", site="STP")  # at_agency
    dossier = make.session.get(Dossier, make.parcel_row(parcel).dossier_id)
    clerk = make.session.execute(select(User).where(User.username == "stp.linh")).scalars().one()
    result = statuses.add_parcel(make.session, dossier.code, ParcelIn(direction="to_center", origin="STP"),
                                 actor=clerk, settings=settings, now=utcnow()).code
    assert len(rows(session)) == 5  # result_ready, though no scan made it: its label is made at the agency
    make.scan_as("stp.linh", result, "accept", site="STP")  # returning
    make.scan_as("nva", result, "pickup", site="STP")
    make.scan_as("nva", result, "handover", site="TTHCC")
    make.scan_as("ntha", result, "receive", site="TTHCC")  # ready_for_return

    assert len(rows(session)) == 8  # six status changes, two SMS, written with what made them
    report = notifications.send_due(session, settings, now=utcnow())
    assert report.sent == 8

    hooks = [a.json() for a in gateway.on("/hook")]
    assert [(h["previous_status"], h["status"]) for h in hooks] == [
        ("registered", "received"), ("received", "to_agency"), ("to_agency", "at_agency"),
        ("at_agency", "result_ready"), ("result_ready", "returning"), ("returning", "ready_for_return"),
    ]
    assert [(h["parcel"], h["action"], h["site"]) for h in hooks] == [
        (parcel, "accept", "TTHCC"), (parcel, "pickup", "TTHCC"), (parcel, "receive", "STP"),
        (result, "label", "STP"), (result, "accept", "STP"), (result, "receive", "TTHCC"),
    ]
    assert all(h["dossier"] == dossier.code and h["at"].endswith("+00:00") for h in hooks)
    assert [h["onestop_status"] for h in hooks] == [  # in the one-stop system's own vocabulary, by default
        "Đã tiếp nhận", "Đang xử lý", "Đang xử lý", "Đã có kết quả", "Đã có kết quả", "Đã có kết quả"]
    assert hooks[3]["onestop_previous_status"] == "Đang xử lý"
    for a in gateway.on("/hook"):
        assert a.headers["x-postal-signature"] == notifications.signature(WEBHOOK_SECRET, a.body)
        assert dossier.applicant_phone not in a.body.decode()  # no personal data in the event

    texts = [a.json() for a in gateway.on("/sms")]
    assert [t["to"] for t in texts] == [dossier.applicant_phone] * 2
    receipt, ready = (t["text"] for t in texts)
    assert receipt == notifications.receipt_text(dossier.code, dossier.due_at)
    assert ready == notifications.ready_for_pickup_text(dossier.code, "Trung tâm Phục vụ hành chính công tỉnh")
    assert not any(name in receipt + ready for name in ("nva", "ntha", "stp.linh"))


def test_a_dossier_past_its_day_is_told_late_once(make, session, settings, gateway):
    from tests.test_watch import dossier_due

    now = utcnow()
    code, _ = dossier_due(make, now - timedelta(days=1))
    before = len(rows(session))
    watch.sweep(make.session, now, settings=settings)
    watch.sweep(make.session, now, settings=settings)  # the same sweep again: nothing more
    watch.sweep(make.session, now + timedelta(minutes=1), settings=settings)  # the next minute: still late, told once
    late = [r for r in rows(session) if r.channel == "webhook"][-1]
    assert len(rows(session)) == before + 1 and late.dedupe_key.endswith(":webhook:late")
    notifications.send_due(session, settings, now=now + timedelta(minutes=2))
    hook = gateway.on("/hook")[-1].json()
    assert (hook["dossier"], hook["status"], hook["onestop_status"], hook["again"]) == (code, "late", "Quá hạn", False)
    assert hook["due"] == make.session.execute(select(Dossier).where(Dossier.code == code)).scalars().one().due_at.isoformat()


def test_a_watch_without_settings_queues_no_webhook(make, session):
    from tests.test_watch import dossier_due

    now = utcnow()
    dossier_due(make, now - timedelta(days=1))
    before = len(rows(session))
    assert watch.sweep(make.session, now)["overdue"] == (1, 0)
    assert len(rows(session)) == before


def test_webhooks_given_up_on_are_replayed_once_with_their_ids(session, settings, gateway, mailbox, database_url):
    at = utcnow()
    for n in range(3):
        notifications.queue(session, channel="webhook", recipient=gateway.url("/old-hook"), subject="",
                            body=notifications.event_json({"n": n}), dedupe_key=f"e{n}:webhook:status", at=at)
    notifications.queue(session, channel="sms", recipient="0912345678", subject="", body="hi",
                        dedupe_key="s1:sms:receipt", at=at)
    session.commit()
    gateway.answers = [500] * 100  # the one-stop system is down longer than the retries
    notifications.send_due(session, settings, now=at, max_attempts=1)
    assert [r.state for r in rows(session)] == ["failed"] * 4
    env = server_settings(database_url, gateway, mailbox)

    since = (at - timedelta(seconds=1)).isoformat()
    result = CliRunner().invoke(cli, ["webhooks", "replay", "--since", since], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("3 webhooks queued again since")
    assert [(r.channel, r.state, r.attempts) for r in rows(session)] == [("webhook", "pending", 0)] * 3 + [("sms", "failed", 1)]
    gateway.answers = []
    assert notifications.send_due(session, settings, now=at + timedelta(seconds=1)).sent == 3
    replayed = gateway.on("/hook")  # to the URL set now, not the one they were queued for
    assert sorted(a.key for a in replayed) == ["e0:webhook:status", "e1:webhook:status", "e2:webhook:status"]
    assert all(a.headers["x-postal-signature"] == notifications.signature(WEBHOOK_SECRET, a.body) for a in replayed)

    again = CliRunner().invoke(cli, ["webhooks", "replay", "--since", since], env=env)
    assert again.output.startswith("0 webhooks queued again")  # nothing given up on any more
    lost = CliRunner().invoke(cli, ["webhooks", "replay", "--since", since, "--sent-too"], env=env)
    assert lost.output.startswith("3 webhooks queued again")  # the SMS given up on is not a webhook
    later = CliRunner().invoke(cli, ["webhooks", "replay", "--since", (at + timedelta(hours=1)).isoformat()], env=env)
    assert later.output.startswith("0 webhooks")


def test_webhook_replay_refuses_a_bad_time_and_no_url(database_url):
    env = {"DATABASE_URL": database_url, **TEST_SETTINGS}
    bad = CliRunner().invoke(cli, ["webhooks", "replay", "--since", "yesterday"], env=env)
    assert bad.exit_code == 2 and "--since" in bad.output
    naive = CliRunner().invoke(cli, ["webhooks", "replay", "--since", "2026-12-01T00:00:00"], env=env)
    assert naive.exit_code == 2 and "offset" in naive.output
    none = CliRunner().invoke(cli, ["webhooks", "replay", "--since", "2026-12-01T00:00:00+07:00"],
                              env={**env, "POSTAL_WEBHOOK_URL": ""})
    assert none.exit_code == 1 and "POSTAL_WEBHOOK_URL" in none.output


def test_a_resent_scan_batch_queues_nothing_again(make, session, settings, client):
    make.network()
    parcel = make.parcel(accepted=False)
    scan = make.scan(parcel, "accept", site="TTHCC")
    for _ in range(2):  # the device lost the answer and sends the batch again
        r = client.post("/api/v1/scans", json={"scans": [scan]}, headers=make.token("ntha"))
        assert r.status_code == 200
    assert sorted(r.dedupe_key.split(":", 1)[1] for r in rows(session)) == ["sms:receipt", "webhook:status"]


def test_home_delivery_tells_the_citizen_each_step(make, session, settings, gateway):
    make.network()
    clerk = make.session.execute(select(User).where(User.username == "ntha")).scalars().one()
    agency_clerk = make.session.execute(select(User).where(User.username == "stp.linh")).scalars().one()
    answer, _ = dossiers.register(make.session, DossierIn.model_validate(make.dossier_body(return_method="home", origin="TTHCC")),
                                  actor=clerk, settings=settings, now=utcnow())
    code, parcel = answer.dossier.code, answer.parcel.code
    make.scan_as("ntha", parcel, "accept", site="TTHCC")
    make.scan_as("nva", parcel, "pickup", site="TTHCC")
    make.scan_as("stp.linh", parcel, "receive", site="STP")  # the agency confirms it from the courier alone
    result = dossiers.add_parcel(make.session, code, ParcelIn(direction="to_center", origin="STP"),
                                 actor=agency_clerk, settings=settings, now=utcnow()).code
    make.scan_as("stp.linh", result, "accept", site="STP")
    make.scan_as("nva", result, "pickup", site="STP")
    make.scan_as("ntha", result, "receive", site="TTHCC")  # back at the center: on its way home
    home = dossiers.add_parcel(make.session, code, ParcelIn(direction="to_citizen", origin="TTHCC"),
                               actor=clerk, settings=settings, now=utcnow()).code
    make.scan_as("ntha", home, "accept", site="TTHCC")
    make.scan_as("nva", home, "out_for_delivery")
    notifications.send_due(session, settings, now=utcnow())
    otp = re.search(r"\(OTP\): (\d{6})", gateway.on("/sms")[-1].json()["text"]).group(1)
    make.scan_as("nva", home, "deliver", evidence={"otp": otp, "recipient_name": "Nguyễn Văn An"})
    notifications.send_due(session, settings, now=utcnow())

    *texts, delivered = [a.json()["text"] for a in gateway.on("/sms")]
    assert texts == [notifications.receipt_text(code, answer.dossier.due_at), notifications.on_its_way_text(code),
                     notifications.out_for_delivery_text(code, otp)]
    assert delivered.startswith(f"Bưu điện: kết quả hồ sơ {code} đã được giao lúc ")
    statuses = [a.json()["status"] for a in gateway.on("/hook")]
    assert statuses[-2:] == ["out_for_delivery", "returned"]
    assert all(r.state == "sent" for r in rows(session))


# -- configuration faults and the send deadline -----------------------------------------------------------


def gateway_alerts(session) -> list:
    from models import Alert

    session.rollback()
    return list(session.execute(select(Alert).where(Alert.kind == "gateway_fault")).scalars())


REFUSES_US = pytest.mark.parametrize("status", [401, 403, 404])  # an expired key, a key without the right, a wrong URL


@REFUSES_US
def test_a_gateway_refusing_our_key_keeps_the_messages_and_tells_the_admin(session, settings, gateway, client, make,
                                                                           status):
    """401/403/404 say our configuration is wrong, not the message: nothing is failed, the rest is not even
    tried, the board says why; a slow retry finds the gateway well again and everything goes, the alert resolved."""
    make.network()
    keys = sms(session, 3)
    gateway.answers = [status]
    now = utcnow()
    report = notifications.send_due(session, settings, now=now, max_attempts=1)
    assert (report.sent, report.failed, report.held) == (0, 0, 3)
    assert len(gateway.arrivals) == 1  # one try told it all
    assert [(r.state, r.attempts) for r in rows(session)] == [("pending", 0)] * 3
    [alert] = gateway_alerts(session)
    assert alert.state == "open" and alert.severity == "critical" and alert.subject_code == "sms"
    assert f"HTTP {status}" in alert.note and "3 tin đang được giữ lại" in alert.note
    answer = client.get("/api/v1/alerts?kind=gateway_fault", headers=make.token("gs.lan"))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    listed = answer.get_json()["alerts"]
    assert [a["subject"]["code"] for a in listed] == ["sms"]

    for minutes in (1, 5, 10):  # not due again before the slow retry, however often the sender runs
        assert notifications.send_due(session, settings, now=now + timedelta(minutes=minutes)) == notifications.SendReport()
    report = notifications.send_due(session, settings, now=now + timedelta(minutes=16), max_attempts=1)
    assert (report.sent, report.failed) == (3, 0)
    assert Counter(a.key for a in gateway.arrivals) == {keys[0]: 2, keys[1]: 1, keys[2]: 1}
    assert [alert.state for alert in gateway_alerts(session)] == ["resolved"]


@REFUSES_US
def test_held_messages_go_as_soon_as_the_gateway_setting_changes(session, settings, gateway, status):
    keys = sms(session, 2)
    wrong = settings.replace(sms_url=gateway.url("/wrong-path"))
    gateway.answers = [status]
    now = utcnow()
    assert notifications.send_due(session, wrong, now=now).held == 2
    assert notifications.send_due(session, wrong, now=now + timedelta(minutes=1)).held == 0  # same settings: wait
    report = notifications.send_due(session, settings, now=now + timedelta(minutes=1))  # fixed: at once
    assert report.sent == 2 and [a.key for a in gateway.on("/sms")] == keys
    assert [alert.state for alert in gateway_alerts(session)] == ["resolved"]


def test_a_channel_with_no_gateway_set_keeps_its_messages_however_long(session, settings, gateway):
    sms(session, 1)
    unset = settings.replace(sms_url=None)
    now = utcnow()
    for hours in range(12):  # far past every attempt a real failure is allowed
        notifications.send_due(session, unset, now=now + timedelta(hours=hours), max_attempts=2)
    [row] = rows(session)
    assert (row.state, row.attempts) == ("pending", 0) and "POSTAL_SMS_URL is not set" in row.last_error
    assert notifications.send_due(session, settings, now=now + timedelta(hours=12)).sent == 1


class Trickle(BaseHTTPRequestHandler):
    """A gateway that answers one byte every 0.3 s: each wait on the socket is short, the whole answer is not."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + b"x" * 2000:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.3)
        except OSError:
            pass

    def log_message(self, *args):
        pass


def test_a_gateway_that_trickles_its_answer_cannot_outlive_the_send_deadline(session, settings, monkeypatch):
    monkeypatch.setattr(notifications.transports, "SEND_DEADLINE_S", 1.5)
    sms(session, 1)
    with local_http(Trickle) as base:
        started = time.monotonic()
        report = notifications.send_due(session, settings.replace(sms_url=f"{base}/sms"), now=utcnow())
        took = time.monotonic() - started
    assert took < 4 and report.retrying == 1
    [row] = rows(session)
    assert (row.state, row.attempts) == ("pending", 1) and "no complete answer within" in row.last_error
    assert row.claimed_until is None  # the lease is given back: its next sender is the next run, not this one


def test_a_send_started_under_a_lease_ends_inside_it():
    """No send starts later than LEASE - SAFETY after its claim, and a send ends within SEND_DEADLINE_S: so
    the deadline must be shorter than SAFETY (and so than LEASE - SAFETY), or a send could outlive its lease
    and another sender claim and send the row again."""
    deadline = timedelta(seconds=notifications.transports.SEND_DEADLINE_S)
    assert deadline < notifications.outbox.LEASE - notifications.outbox.SAFETY
    assert deadline < notifications.outbox.SAFETY


def test_a_sender_whose_lease_runs_short_mid_chunk_hands_back_the_rest_unsent(session, settings, gateway, monkeypatch):
    """Each send takes 1 s and the lease leaves 1.5 s for starting sends: two go, the other three claimed
    with them are handed back as they were (pending, the attempt not counted, due at once), and the next run
    sends them, each once."""
    monkeypatch.setattr(notifications.outbox, "LEASE", timedelta(seconds=10))
    monkeypatch.setattr(notifications.outbox, "SAFETY", timedelta(seconds=8.5))
    keys = sms(session, 5)
    gateway.delay_s = 1.0
    now = utcnow()
    report = notifications.send_due(session, settings, now=now)
    assert (report.sent, report.released, report.retrying, report.failed) == (2, 3, 0, 0)
    assert [a.key for a in gateway.arrivals] == keys[:2]
    assert [(r.state, r.attempts, r.claimed_until) for r in rows(session)] == \
        [("sent", 1, None)] * 2 + [("pending", 0, None)] * 3
    assert all(r.next_attempt_at < now + timedelta(seconds=10) for r in rows(session)[2:])  # not at the lease's end

    gateway.delay_s = 0.0
    assert notifications.send_due(session, settings, now=now + timedelta(seconds=10)).sent == 3
    assert Counter(a.key for a in gateway.arrivals) == dict.fromkeys(keys, 1)
