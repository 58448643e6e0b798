"""The scan use case: a batch of scans, each judged on its own, the accepted ones committed together."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session

from models.custody import ScanIn
from postal import db, labels, metrics
from postal.config import Settings
from postal.custody.recording import Batch
from postal.custody.values import BagHolding, Holding, Outcome
from postal.errors import InvalidScan, PostalError, WrongHolder, WrongSite, WrongState, shown

_scan_list = TypeAdapter(list[ScanIn])
_scan = TypeAdapter(ScanIn)
STORED_SQL = "SELECT id, parcel_id, bag_id FROM custody_event WHERE id {match}"


class Judged:
    """One scan's result while the batch runs: what it moved, answered once the batch is written."""

    __slots__ = ("id", "status", "error", "parcel", "bag", "first_at")

    def __init__(self, id: str, status: str, error: PostalError | None = None, parcel: Holding | None = None,
                 bag: BagHolding | None = None, first_at: datetime | None = None) -> None:
        self.id, self.status, self.error, self.parcel, self.bag = id, status, error, parcel, bag
        self.first_at = first_at  # a scan repeating the parcel's last step: when that step was scanned


def parse_scans(raw: list[dict | ScanIn]) -> list[ScanIn | Judged]:
    """Validate a batch in one go; when that fails, scan by scan so only the bad ones are refused."""
    if all(isinstance(item, ScanIn) for item in raw):
        return raw  # validated already, in one pass from the request's JSON
    try:
        return list(_scan_list.validate_python(raw))
    except ValidationError:
        pass
    parsed: list[ScanIn | Judged] = []
    for item in raw:
        try:
            parsed.append(_scan.validate_python(item))
        except ValidationError as err:
            scan_id = item.get("id") if isinstance(item, dict) else None
            # The id as the device sent it, to match the answer (fit to be answered); none: in order only.
            echoed = shown(str(scan_id), 64) if scan_id is not None else ""
            parsed.append(Judged(echoed, "rejected", InvalidScan.of(err.errors()[0])))
    return parsed


def record_scans(session: Session, raw: list[dict | ScanIn], *, actor, settings: Settings, now: datetime) -> list[Outcome]:
    """Record a batch of scans: each judged on its own, the accepted ones committed together. A scan whose id
    is stored already is a duplicate: nothing is written again."""
    parsed = parse_scans(raw)
    with db.writing(session):
        batch = Batch(session, actor, settings, now)
        reads: dict[int, labels.ReadLabel | PostalError] = {}
        for i, scan in enumerate(parsed):
            if isinstance(scan, ScanIn):
                try:
                    reads[i] = labels.read(settings.label_key, scan.label)
                except PostalError as err:
                    reads[i] = err
        # The rows named are locked first; then the scans stored already are read, so a replay of a batch
        # still being written waits for its parcels and finds its scans stored.
        batch.book.load({r.code for r in reads.values() if isinstance(r, labels.ReadLabel)})
        stored = stored_scans(session, [s.id for s in parsed if isinstance(s, ScanIn)])
        duplicates = load_stored(batch, stored)
        judged: list[Judged] = []
        accepted: dict[uuid.UUID, Judged] = {}
        for i, scan in enumerate(parsed):
            if isinstance(scan, Judged):
                judged.append(scan)
            elif scan.id in accepted:  # the same scan twice in one batch: the first one counts
                judged.append(Judged(str(scan.id), "duplicate", parcel=accepted[scan.id].parcel, bag=accepted[scan.id].bag))
            elif scan.id in stored:
                parcel, bag = duplicates.get(scan.id, (None, None))
                judged.append(Judged(str(scan.id), "duplicate", parcel=parcel, bag=bag))
            else:
                judged.append(judge_one(batch, scan, reads[i]))
                if judged[-1].status == "accepted":
                    accepted[scan.id] = judged[-1]
        batch.flush()
    metrics.count_scans((scan.action if isinstance(scan, ScanIn) else None, j.status, j.error.code if j.error else "")
                        for scan, j in zip(parsed, judged))
    book = batch.book
    return [Outcome(j.id, j.status, j.error, book.brief(j.parcel), book.brief_bag(j.bag), j.first_at) for j in judged]


def judge_one(batch: Batch, scan: ScanIn, read: labels.ReadLabel | PostalError) -> Judged:
    try:
        if isinstance(read, PostalError):
            raise read
        moved = batch.apply(scan, read.typed, read.code)
    except PostalError as err:
        if isinstance(err, AGAIN) and (repeat := repeat_of(batch, scan, read.code)) is not None:
            return Judged(str(scan.id), "duplicate", parcel=repeat[0], first_at=repeat[1])
        return Judged(str(scan.id), "rejected", err)
    if isinstance(moved, BagHolding):
        return Judged(str(scan.id), "accepted", bag=moved)
    return Judged(str(scan.id), "accepted", parcel=moved)


# The refusals a label scanned again meets (its state moved on, or it is no longer where the step put it);
# limits, locks and proofs are never softened.
AGAIN = (WrongState, WrongHolder, WrongSite)
# The parcel's last event, to tell a label scanned again (the same step by the same person) from a wrong move.
LAST_EVENT_SQL = "SELECT e.action, e.actor_id, s.code, e.device_at FROM custody_event e LEFT JOIN site s ON s.id = e.site_id WHERE e.hash = ?"


def repeat_of(batch: Batch, scan: ScanIn, code: str) -> tuple[Holding, datetime] | None:
    """A refused scan that repeats what the parcel's last event did (the same action by the same person, at the
    same place when the scan names one): the label scanned again. It is answered as already scanned, with the
    first scan's time, and writes nothing; any other refusal stands."""
    holding = batch.book.parcels.get(code)
    if holding is None or holding.dirty or not holding.last_hash:
        return None
    row = db.raw(batch.session, LAST_EVENT_SQL, (holding.last_hash,)).first()
    if row is None:
        return None
    action, actor_id, site_code, device_at = row
    if action != scan.action or actor_id != batch.actor.id or (scan.site and scan.site.upper() != (site_code or "")):
        return None
    return holding, db.time_read(device_at)


def stored_scans(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[int | None, int | None]]:
    """The scan ids already in the ledger, with the parcel or bag each moved."""
    if not ids:
        return {}
    match, param = db.any_of(session, [db.uuid_param(session, i) for i in ids])
    return {eid if isinstance(eid, uuid.UUID) else uuid.UUID(eid): (pid, bid)
            for eid, pid, bid in db.raw(session, STORED_SQL.format(match=match), (param,))}


def load_stored(batch: Batch, stored: dict[uuid.UUID, tuple[int | None, int | None]]
                ) -> dict[uuid.UUID, tuple[Holding | None, BagHolding | None]]:
    """The current parcel or bag of each scan id already in the ledger, for duplicate answers."""
    if not stored:
        return {}
    codes: set[str] = set()
    for table, ids in (("parcel", {p for p, _ in stored.values() if p}), ("bag", {b for _, b in stored.values() if b})):
        if ids:
            match, param = db.any_of(batch.session, sorted(ids))
            codes.update(c for (c,) in db.raw(batch.session, f"SELECT code FROM {table} WHERE id {match}", (param,)))
    batch.book.load(codes, lock=False)  # answered about only: the scans that moved them are written already
    by_id = {h.id: h for h in batch.book.parcels.values()}
    bag_ids = batch.book.bag_ids
    return {key: (by_id.get(p) if p else None, bag_ids.get(b) if b else None) for key, (p, b) in stored.items()}
