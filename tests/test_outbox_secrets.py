"""The delivery code is never readable at rest: sealed in the outbox until the real SMS gateway on 127.0.0.1
takes it, blanked once sent or given up on, and kept out of the errors kept and the webhooks."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from models import OutboxMessage
from postal import notifications
from postal.clock import utcnow
from postal.config import ConfigError, Settings
from tests.test_delivery import deliver, result_for_home
from tests.test_notifications import (  # noqa: F401  (fixtures)
    gateway,
    mailbox,
    session,
    settings,
    settings_overrides,
)

OTP_SMS = "%:sms:out_for_delivery"


def table(session) -> list[str]:
    """Every value of every outbox row as text: what anyone reading the table (or a dump of it) sees."""
    session.rollback()
    return [str(value) for row in session.execute(text("SELECT * FROM outbox_message")).all() for value in row]


def otp_row(session) -> OutboxMessage:
    session.rollback()
    session.expire_all()
    return session.execute(select(OutboxMessage).where(OutboxMessage.dedupe_key.like(OTP_SMS))).scalars().one()


def code_received(gateway) -> str:
    [sms] = {a.json()["text"] for a in gateway.on("/sms") if "OTP" in a.json()["text"]}
    return re.search(r"\(OTP\): (\d{6})\.", sms).group(1)


def out_for_delivery(client, make, session, settings) -> str:
    """A result taken out for home delivery, everything queued before it sent already; its parcel code."""
    _, code = result_for_home(client, make)
    notifications.send_due(session, settings, now=utcnow())
    make.scan_as("nva", code, "out_for_delivery")
    return code


def test_the_code_is_sealed_until_the_gateway_takes_it_then_gone(make, session, settings, gateway, client):
    parcel = out_for_delivery(client, make, session, settings)
    before = table(session)
    assert notifications.send_due(session, settings, now=utcnow()).sent == 2  # the code, and the status webhook
    otp = code_received(gateway)
    assert not any(otp in value for value in before)  # not in the body, not in the sealed secret
    row = otp_row(session)
    assert row.state == "sent" and row.secret is None and "(OTP): ******." in row.body
    assert not any(otp in value for value in table(session))
    assert not any(otp in a.body.decode() for a in gateway.on("/hook"))
    assert deliver(client, make, parcel, otp)["status"] == "accepted"  # the citizen got the right code


def test_an_echoed_failure_keeps_no_code_in_the_error_and_the_retry_still_sends_it(make, session, settings, gateway,
                                                                                  client):
    out_for_delivery(client, make, session, settings)
    gateway.echo, gateway.answers = True, [500, 500]  # the webhook and the code fail, their text echoed back
    assert notifications.send_due(session, settings, now=utcnow()).retrying == 2
    otp = code_received(gateway)
    row = otp_row(session)
    assert row.state == "pending" and row.secret  # still sealed: it must be sent again
    assert "(OTP): ******" in row.last_error and not any(otp in value for value in table(session))
    assert notifications.send_due(session, settings, now=utcnow() + timedelta(minutes=5)).sent == 2
    assert otp_row(session).secret is None and code_received(gateway) == otp


def test_a_code_refused_for_good_is_dropped(make, session, settings, gateway, client):
    out_for_delivery(client, make, session, settings)
    gateway.echo, gateway.answers = True, [400, 400]
    assert notifications.send_due(session, settings, now=utcnow()).failed == 2
    otp = code_received(gateway)
    row = otp_row(session)
    assert row.state == "failed" and row.secret is None and "(OTP): ******" in row.last_error
    assert not any(otp in value for value in table(session))


def test_a_code_sealed_under_another_key_is_never_sent_masked(make, session, settings, gateway, client):
    out_for_delivery(client, make, session, settings)
    rotated = settings.replace(outbox_key="a-new-outbox-key-the-row-was-not-sealed-with")
    report = notifications.send_due(session, rotated, now=utcnow())
    assert report.failed == 1  # refused for good: no retry can open it
    row = otp_row(session)
    assert row.state == "failed" and row.secret is None and "key" in row.last_error
    assert not [a for a in gateway.on("/sms") if "OTP" in a.json()["text"]]  # the citizen never gets "******"



def test_production_refuses_a_short_outbox_key():
    production = {"POSTAL_ENV": "production", "POSTAL_METRICS_TOKEN": "m" * 32, "POSTAL_SECRET_KEY": "s" * 32, "POSTAL_LABEL_KEY": "l" * 32,
                  "POSTAL_LEDGER_KEY": base64.b64encode(b"k" * 32).decode(), "POSTAL_ARGON2_PROFILE": "RFC_9106_LOW_MEMORY"}
    assert Settings.from_env({**production, "POSTAL_OUTBOX_KEY": "o" * 32}).outbox_key == "o" * 32
    assert Settings.from_env(production).outbox_key == ""  # unset: derived from the secret key
    with pytest.raises(ConfigError, match="POSTAL_OUTBOX_KEY"):
        Settings.from_env({**production, "POSTAL_OUTBOX_KEY": "short"})
