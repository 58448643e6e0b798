"""Notifications: every SMS, Zalo message, e-mail and webhook is an outbox row written with the event that causes
it, then sent by the scheduler (or `postal notify`), retried with backoff. A citizen's message goes by Zalo ZNS
when it is set up with a template for the message's kind (zns.py), and becomes an SMS, once and for good, only
when ZNS answers that the number cannot receive it.

The outbox state machine (table outbox_message):

    pending ──claim──▶ sending ──send ok──▶ sent
       ▲                 │ ├──send failed, attempts left──▶ pending (next_attempt_at = backoff)
       │                 │ ├──rejected (4xx), or out of attempts──▶ failed
       │                 │ └──the gateway refuses our configuration (401/403/404, no URL)──▶ pending, held
       │                 │      (attempt not counted; due when the channel's settings change, or in 15 min;
       │                 │       a gateway_fault alert for the admin: faults.py)
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
  repeat. A send has a total deadline (transports.SEND_DEADLINE_S, 30 s) far shorter than SAFETY, so a
  gateway that trickles its answer cannot keep a send alive past its lease into a second sender's.
"""

from postal.notifications.from_custody import on_scans
from postal.notifications.outbox import (
    LEASE,
    SAFETY,
    SendReport,
    backoff,
    claim,
    mark_sent,
    release,
    replay_webhooks,
    retry_or_fail,
    send_due,
    send_pending,
)
from postal.notifications.queueing import (
    Outgoing,
    citizen,
    event_json,
    queue,
    queue_citizen,
    queue_status_webhook,
    queue_many,
    queue_otp,
    queue_returned,
)
from postal.notifications.texts import (
    apology_text,
    attempt_failed_text,
    delivered_text,
    on_its_way_text,
    out_for_delivery_text,
    ready_for_pickup_text,
    receipt_text,
)
from postal.notifications.transports import (
    NotConfigured,
    Rejected,
    Transport,
    signature,
)
from postal.notifications.zns import citizen_route


__all__ = [
    "LEASE", "apology_text", "SAFETY", "NotConfigured", "Outgoing", "Rejected", "SendReport", "Transport", "attempt_failed_text",
    "backoff", "claim", "delivered_text", "event_json", "mark_sent", "on_its_way_text", "on_scans",
    "out_for_delivery_text", "queue", "queue_many", "queue_otp", "queue_returned", "ready_for_pickup_text",
    "receipt_text", "release", "replay_webhooks", "retry_or_fail", "send_due", "send_pending", "signature", "citizen", "queue_citizen", "queue_status_webhook",
    "citizen_route",
]
