"""Writing a judged batch: the ledger rows, the moved parcels and bags, the dossiers whose result reached the
citizen, then the rooms that follow custody (a plain `Moved`) and the alert and message work the scans asked for."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlmodel import Session

from models import AlertKind, Bag, BagState, Dossier, ParcelState
from models.moved import Moved, MovedParcel
from postal import alerts, db, fees, ledger, notifications
from postal.config import Settings
from postal.custody.values import (
    BagMismatch,
    Clear,
    ClearProofLock,
    Followup,
    Holding,
    MisrouteTried,
    OpenLoss,
    ProofLock,
    SendOtp,
    TellReturned,
)
from postal.runs import hooks as run_hooks

if TYPE_CHECKING:
    from postal.custody.recording import Batch

BAGS = Bag.__table__
PARCEL_UPDATE = ("UPDATE parcel SET state = ?, holder_site_id = ?, holder_user_id = ?, bag_id = ?, last_hash = ?, "
                 "last_event_at = ? WHERE id = ?")


def write(batch: Batch) -> None:
    """Write the events, the moved parcels and bags, then what follows from them."""
    batch.seal()
    ledger.write(batch.session, batch.head, batch.rows)
    at = db.time_param(batch.session, batch.now)
    moved = [h for h in batch.book.parcels.values() if h.dirty]
    if moved:  # straight to the driver: per-value type processing cost more than the updates themselves
        db.executemany(batch.session, PARCEL_UPDATE, [(h.state, h.holder_site_id, h.holder_user_id, h.bag_id,
                                                      h.last_hash or None, at, h.id) for h in moved])
    for bag in batch.book.bags.values():
        if bag.dirty:
            batch.session.execute(update(BAGS).where(BAGS.c.id == bag.id).values(
                state=BagState.OPENED if bag.opened else BagState.SEALED,
                holder_site_id=bag.holder_site_id, holder_user_id=bag.holder_user_id,
                awaiting_receipt=bag.state == ParcelState.AWAITING_RECEIPT,
                opened_at=batch.now if bag.opened else None))
    returned = {}
    for dossier_id, when in batch.returned.items():  # the first delivery of a dossier's result counts
        done = batch.session.execute(update(Dossier).where(Dossier.id == dossier_id, Dossier.returned_at.is_(None))
                                    .values(returned_at=when))
        if done.rowcount:
            returned[dossier_id] = when
    what = Moved(batch.now, tuple(batch.rows), tuple(moved_parcel(h) for h in moved), returned, batch.book.sites)
    notifications.on_scans(batch.session, what, batch.settings)  # queued in this transaction: sent once committed
    follow_up(batch.session, batch.settings, batch.now, [*batch.after, *batch.proofs.alerts])
    fees.on_delivered(batch.session, what)  # the fees collected at the door, with their scan
    run_hooks.after_scans(batch.session, what)  # stops reached, and manifests follow the parcels that moved


def follow_up(session: Session, settings: Settings, now: datetime, works: Sequence[Followup]) -> None:
    """The alert and message work, in the order the scans asked for it; clearings in a row are one query
    per kind."""
    clear: dict[str, dict[int, str]] = {}
    for work in [*works, None]:
        if isinstance(work, Clear):
            clear.setdefault(work.kind, {})[work.parcel_id] = work.note
            continue
        for kind, notes in clear.items():
            alerts.resolve_many(session, [kind], subject_type="parcel", notes=notes, at=now)
        clear = {}
        if isinstance(work, OpenLoss | MisrouteTried | BagMismatch | ProofLock):
            open_alert(session, work, now)
        elif isinstance(work, ClearProofLock):
            alerts.resolve_for(session, [AlertKind.PROOF_LOCKED], subject_type="parcel",
                               subject_id=work.parcel_id, at=now, note=work.note)
        elif isinstance(work, SendOtp):
            notifications.queue_otp(session, settings, dossier_id=work.dossier_id,
                                    parcel_code=work.parcel_code, otp=work.otp, event_id=work.event_id, at=now)
        elif isinstance(work, TellReturned):
            notifications.queue_returned(session, settings, dossier_id=work.dossier_id, parcel_code=work.parcel_code,
                                         event_id=work.event_id, at=now)


def open_alert(session: Session, work: OpenLoss | MisrouteTried | BagMismatch | ProofLock, now: datetime) -> None:
    if isinstance(work, BagMismatch):
        kind, subject, subject_id = AlertKind.BAG_MISMATCH, "bag", work.bag_id
    else:
        kind = {OpenLoss: AlertKind.SUSPECTED_LOSS, MisrouteTried: AlertKind.MISROUTED,
                ProofLock: AlertKind.PROOF_LOCKED}[type(work)]
        subject, subject_id = "parcel", work.parcel_id
    alert = alerts.open_alert(session, kind, subject_type=subject, subject_id=subject_id,
                              subject_code=work.code, at=now, note=work.note)
    if isinstance(work, MisrouteTried):
        alert.note = work.note[:1000]  # the latest attempt: who tried where


def moved_parcel(h: Holding) -> MovedParcel:
    return MovedParcel(h.id, h.dossier_id, h.state_before, h.site_before, h.last_event_at, h.state, h.holder_site_id)
