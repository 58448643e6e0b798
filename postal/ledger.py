"""The hash-chained custody ledger: append under the chain-head lock, verify from the start."""

from __future__ import annotations

import json
import math
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from operator import itemgetter

from sqlalchemy import select
from sqlmodel import Session

from models import ChainHead, CustodyEvent
from models.shapes import UNSTORABLE
from postal import db
from postal.clock import as_utc, local, stamp

EVENT_TABLE = CustodyEvent.__table__
HEAD_TABLE = ChainHead.__table__
GENESIS = "0" * 64

# The fields hashed into an event, in this order. Changing it breaks every chain: don't.
HASHED_FIELDS = (
    "seq", "id", "parcel_id", "bag_id", "scan_id", "action", "device_at", "server_at", "site_id",
    "actor_id", "from_holder", "to_holder", "run_id", "lat", "lon", "note", "evidence", "parcel_prev_hash",
)


def _opt(value: object) -> object:
    return "" if value is None else value


def _float(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def canonical(row: dict) -> str:
    """The event as hashed. Numbers, ids, hashes and times cannot contain the separator; free text
    (holders, note, evidence) is length-prefixed, so no value can imitate a boundary."""
    fh, th, note, ev = row["from_holder"], row["to_holder"], row["note"], row["evidence"]
    return (
        f"{row['seq']}|{row['id']}|{_opt(row['parcel_id'])}|{_opt(row['bag_id'])}|{_opt(row['scan_id'])}|"
        f"{row['action']}|{stamp(row['device_at'])}|{stamp(row['server_at'])}|{_opt(row['site_id'])}|"
        f"{_opt(row['actor_id'])}|{len(fh)}:{fh}|{len(th)}:{th}|{_opt(row['run_id'])}|{_float(row['lat'])}|"
        f"{_float(row['lon'])}|{len(note)}:{note}|{len(ev)}:{ev}|{row['parcel_prev_hash']}"
    )


def event_hash(prev_hash: str, row: dict) -> str:
    """SHA-256 over the previous hash and the canonical event."""
    return sha256(f"{prev_hash}\n{canonical(row)}".encode()).hexdigest()


def evidence_text(evidence: dict | None) -> str:
    """Evidence as stored and hashed: canonical JSON, computed once when the event is made."""
    if not evidence:
        return ""
    return json.dumps(evidence, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass
class Head:
    """The chain head as locked by the writing transaction."""

    seq: int
    hash: str


def lock_head(session: Session) -> Head:
    """Lock the chain head for the rest of the transaction (SQLite: the write lock is already held)."""
    lock = " FOR UPDATE" if session.get_bind().dialect.name == "postgresql" else ""
    seq, hash_ = db.raw(session, "SELECT seq, hash FROM chain_head WHERE id = 1" + lock).one()
    return Head(seq, hash_)


COLUMNS = tuple(c.name for c in EVENT_TABLE.columns)
DEFAULTS = dict.fromkeys(COLUMNS) | {"note": "", "evidence": "", "from_holder": "", "to_holder": "", "parcel_prev_hash": ""}


def new_row(**fields: object) -> dict:
    """An event row with every column present (executemany wants the same keys in each)."""
    return DEFAULTS | fields


_COORDINATES = ("lat", "lon")
_TIMES = ("device_at", "server_at")
_TEXTS = ("from_holder", "to_holder", "note", "evidence")


def settle_values(row: dict) -> None:
    """Bring a row's values, in place, to the one form both engines store and read back, so what is
    hashed is what verify reads: floats finite and never -0.0 (SQLite reads it back as 0.0), times aware
    UTC (both engines keep microseconds, and every year Python has), text NFC. The hot path: a value
    already in that form costs one test."""
    for name in _COORDINATES:
        value = row[name]
        # A non-zero finite float is settled already (x - x is nan for inf and nan).
        if value is not None and not (type(value) is float and value and value - value == 0.0):
            row[name] = _coordinate(name, value)
    for name in _TIMES:
        value = row[name]
        if value.tzinfo is not UTC:
            row[name] = as_utc(value)  # naive: UTC already, as everywhere in the service
    for name in _TEXTS:
        value = row[name]
        if not value.isascii():
            value = row[name] = unicodedata.normalize("NFC", value)
        if not value.isprintable() and UNSTORABLE.search(value):  # refused when the scan was validated
            raise ValueError(f"{name} {value!r} cannot be stored as it would be hashed")


def _coordinate(name: str, value: object) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} = {value!r}: the ledger keeps finite numbers only")
    return number + 0.0  # -0.0 + 0.0 is 0.0


def seal(head: Head, rows: Iterable[dict]) -> None:
    """Give each row its settled values, its place in the chain and its hash, advancing the head."""
    for row in rows:
        settle_values(row)
        head.seq += 1
        row["seq"] = head.seq
        row["prev_hash"] = head.hash
        row["hash"] = head.hash = event_hash(head.hash, row)


INSERT_SQLITE = f"INSERT INTO custody_event ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
INSERT_PG = f"INSERT INTO custody_event ({', '.join(COLUMNS)}) VALUES ({', '.join(f'%({c})s' for c in COLUMNS)})"


_values = itemgetter(*COLUMNS)
_UUID_AT = [COLUMNS.index(c) for c in ("id", "scan_id")]
_TIME_AT = [COLUMNS.index(c) for c in ("device_at", "server_at")]


def _sqlite_values(row: dict) -> tuple:
    values = list(_values(row))
    for i in _UUID_AT:
        if values[i] is not None:
            values[i] = values[i].hex
    for i in _TIME_AT:
        values[i] = db.sqlite_time(values[i])
    return tuple(values)


def write(session: Session, head: Head, rows: list[dict]) -> None:
    """Insert sealed rows in one executemany and move the head; the caller commits.

    The rows go to the driver in each engine's storage form: per-value type processing
    cost more than the insert itself for a large batch.
    """
    if not rows:
        return
    if db.is_sqlite(session):
        db.executemany(session, INSERT_SQLITE, [_sqlite_values(r) for r in rows])
    else:
        db.executemany(session, INSERT_PG, rows)  # psycopg adapts uuid and aware datetime itself
    db.raw(session, "UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1", (head.seq, head.hash))


@dataclass(frozen=True)
class Anchor:
    """What a signed checkpoint says: event `seq` of the chain has this hash (0: the empty chain)."""

    seq: int
    hash: str
    made_at: datetime
    where: str = ""  # the file it was read from; "" when kept in the database

    @property
    def label(self) -> str:
        label = f"the checkpoint of {local(self.made_at):%d/%m/%Y %H:%M}"
        return f"{label} in {self.where}" if self.where else label


@dataclass
class Verification:
    """What verify found."""

    count: int
    first_bad: uuid.UUID | None = None
    reason: str = ""
    anchor: Anchor | None = None  # the furthest checkpoint the chain was found to contain
    parcels: dict[int, str] = field(default_factory=dict)  # each parcel's last event hash, as the chain says


def _misfit(row, count: int, expected_prev: str, parcel_last: dict[int, str]) -> str:
    """Why an event does not fit where it stands in the chain ("" when it does)."""
    if row["seq"] != count:
        return f"sequence {row['seq']} where {count} was expected (an event is missing)"
    if row["prev_hash"] != expected_prev:
        return "prev_hash does not match the event before it"
    if event_hash(row["prev_hash"], dict(row)) != row["hash"]:
        return "its content does not match its hash (edited after it was written)"
    if row["parcel_id"] is not None and row["parcel_prev_hash"] != parcel_last.get(row["parcel_id"], ""):
        return "parcel_prev_hash does not match the parcel's previous event"
    return ""


def _rewritten(seq: int, anchor: Anchor, held: Anchor | None) -> str:
    reason = f"event {seq}'s hash differs from the one {anchor.label} signed: the chain was rewritten"
    return f"{reason} after event {held.seq} (where it still matches {held.label})" if held else reason


def verify(session: Session, progress: Callable[[int], None] | None = None,
           anchors: Iterable[Anchor] = ()) -> Verification:
    """Recompute the chain from the first event; stop at the first one that does not fit or whose hash differs
    from a signed checkpoint's. Then no checkpoint may have seen more events than the chain still has."""
    pending: dict[int, list[Anchor]] = {}
    for anchor in anchors:
        pending.setdefault(anchor.seq, []).append(anchor)
    held: Anchor | None = None
    for anchor in pending.pop(0, []):
        if anchor.hash != GENESIS:
            return Verification(0, None, _rewritten(0, anchor, None))
        held = anchor
    expected_prev = GENESIS
    parcel_last: dict[int, str] = {}
    count = 0
    rows = session.execute(select(EVENT_TABLE).order_by(EVENT_TABLE.c.seq).execution_options(yield_per=2000))
    for row in rows.mappings():
        count += 1
        if progress and count % 1000 == 0:
            progress(1000)
        if reason := _misfit(row, count, expected_prev, parcel_last):
            return Verification(count - 1, row["id"], reason, held)
        if pending and count in pending:
            for anchor in pending.pop(count):
                if anchor.hash != row["hash"]:
                    return Verification(count - 1, None, _rewritten(count, anchor, held), held)
                held = anchor
        expected_prev = row["hash"]
        if row["parcel_id"] is not None:
            parcel_last[row["parcel_id"]] = row["hash"]
    if progress:
        progress(count % 1000)
    if pending:
        lost = pending[max(pending)][0]
        return Verification(count, None, f"the chain has {count} events, {lost.label} saw {lost.seq}: "
                                         "events were removed or the database was rolled back", held)
    head = session.execute(select(HEAD_TABLE.c.seq, HEAD_TABLE.c.hash)).one()
    if (head.seq, head.hash) != (count, expected_prev):
        return Verification(count, None, f"the chain head ({head.seq}) does not match the last event ({count})", held)
    return Verification(count, anchor=held, parcels=parcel_last)


def count_events(session: Session) -> int:
    """How many events the chain head says there are."""
    return session.execute(select(HEAD_TABLE.c.seq)).scalar_one()


def hash_at(session: Session, seq: int) -> str | None:
    """The hash of the chain's event `seq` (0: the empty chain's), or None when there is no such event."""
    if seq == 0:
        return GENESIS
    return db.raw(session, "SELECT hash FROM custody_event WHERE seq = ?", (seq,)).scalar()
