"""Yardsticks for the scan endpoint on the same gunicorn stack.

- POST /api/v1/scans: a bare Flask JSON endpoint (the issue's yardstick).
- POST /floor/scans: the least any scan endpoint on Flask and SQLite must do for one pickup, and no
  more: find the token's user, then in one BEGIN IMMEDIATE transaction read the chain head, check the
  scan id, read the parcel, insert the hashed event, move the head and the parcel, commit. No checks,
  no messages, no manifests: what the database and the stack cost. Needs DATABASE_URL (SQLite).
"""

import hashlib
import os
import sqlite3
import threading
import uuid
from datetime import UTC, datetime

from flask import Flask, request

app = Flask(__name__)
_local = threading.local()


@app.post("/api/v1/scans")
def echo():
    return {"results": [{"status": "accepted", "echo": request.get_json()}]}


def _connection() -> sqlite3.Connection:
    if not hasattr(_local, "connection"):
        path = os.environ["DATABASE_URL"].removeprefix("sqlite:///")
        _local.connection = sqlite3.connect(path, isolation_level=None, timeout=30)
        _local.connection.execute("PRAGMA synchronous=NORMAL")
        # The app checkpoints from a thread of its own; for a run of seconds the floor need not at all.
        _local.connection.execute("PRAGMA wal_autocheckpoint=0")
    return _local.connection


@app.post("/floor/scans")
def floor():
    scan = request.get_json()["scans"][0]
    token = request.headers["Authorization"].removeprefix("Bearer ")
    c = _connection()
    (user_id,) = c.execute("SELECT u.id FROM user_account u JOIN api_token t ON t.user_id = u.id WHERE t.token_hash = ?",
                           (hashlib.sha256(token.encode()).hexdigest(),)).fetchone()
    event_id = uuid.UUID(scan["id"]).hex
    code = scan["label"].partition(":")[0]
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    c.execute("BEGIN IMMEDIATE")
    try:
        seq, head = c.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
        if c.execute("SELECT 1 FROM custody_event WHERE id = ?", (event_id,)).fetchone() is None:
            parcel_id, site_id, last_hash = c.execute(
                "SELECT id, holder_site_id, last_hash FROM parcel WHERE code = ?", (code,)).fetchone()
            text = f"{seq + 1}|{event_id}|{parcel_id}|pickup|{scan['at']}|{now}|{site_id}|{user_id}|{last_hash}"
            digest = hashlib.sha256(f"{head}\n{text}".encode()).hexdigest()
            c.execute("INSERT INTO custody_event (id, seq, parcel_id, action, device_at, server_at, site_id, actor_id, "
                      "from_holder, to_holder, note, evidence, parcel_prev_hash, prev_hash, hash) "
                      "VALUES (?, ?, ?, 'pickup', ?, ?, ?, ?, ?, ?, '', '', ?, ?, ?)",
                      (event_id, seq + 1, parcel_id, now, now, site_id, user_id, "site", "courier", last_hash or "",
                       head, digest))
            c.execute("UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1", (seq + 1, digest))
            c.execute("UPDATE parcel SET state = 'in_transit', holder_site_id = NULL, holder_user_id = ?, last_hash = ?, "
                      "last_event_at = ? WHERE id = ?", (user_id, digest, now, parcel_id))
        c.execute("COMMIT")
    except BaseException:
        c.execute("ROLLBACK")
        raise
    return {"results": [{"id": scan["id"], "status": "accepted"}]}
