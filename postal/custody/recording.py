"""Recording a batch of scans: one lock, one read per kind of row, each scan judged on its own, one write."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session

from models import Action, AlertKind, Bag, BagState, Direction, Dossier, ParcelState
from models.custody import ScanIn
from models.moved import Moved, MovedParcel, SiteRef
from postal import alerts, db, ledger, notifications
from postal.config import Settings
from postal.runs import hooks as run_hooks
from postal.custody import rules
from postal.custody.holdings import WITH_COURIER, Holdings
from postal.custody.proof import Proofs
from postal.custody import bags
from postal.custody.values import (
    BagHolding,
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
from postal.clock import local
from postal.errors import BagSealed, Misrouted, UnknownLabel

BAGS = Bag.__table__
PARCEL_UPDATE = ("UPDATE parcel SET state = ?, holder_site_id = ?, holder_user_id = ?, bag_id = ?, last_hash = ?, "
                 "last_event_at = ? WHERE id = ?")


class Batch:
    """One batch of scans in memory: the chain head it holds, what it read, the rows it will write."""

    def __init__(self, session: Session, actor, settings: Settings, now: datetime) -> None:
        self.session = session
        self.actor = actor
        self.settings = settings
        self.now = now
        self.head = ledger.lock_head(session)
        self.book = Holdings(session, actor)
        self.proofs = Proofs(session, settings, now, actor)
        self.rows: list[dict] = []
        self.after: list[Followup] = []
        self.returned: dict[int, datetime] = {}  # dossier id -> when its result reached the citizen
        self.runs: dict = {}  # the runs scans name, read once per batch by the runs' check

    def move(self, h: Holding, state: str, site: SiteRef | None, *, action: str, at: datetime, event_id: uuid.UUID,
             scan_id: uuid.UUID | None = None, evidence: dict | None = None, is_bag: bool = False,
             scan: ScanIn | None = None) -> None:
        """Record the event and move the parcel (or bag) in memory."""
        before = self.book.holder_text(h)
        h.state = state
        if state in WITH_COURIER:
            h.holder_user_id, h.holder_site_id = self.actor.id, None
        elif state == ParcelState.DELIVERED:
            h.holder_user_id, h.holder_site_id = None, None
        elif state == ParcelState.AWAITING_RECEIPT:
            h.holder_site_id = site.id  # the courier stays named until the site confirms
        elif state == ParcelState.AT_SITE:
            h.holder_site_id, h.holder_user_id = site.id, None
        h.dirty = True
        self.record(h, site, action=action, at=at, event_id=event_id, before=before, scan_id=scan_id,
                    evidence=evidence, is_bag=is_bag, scan=scan)

    def record(self, h: Holding, site: SiteRef | None, *, action: str, at: datetime, event_id: uuid.UUID, before: str,
               scan_id: uuid.UUID | None = None, evidence: dict | None = None, is_bag: bool = False,
               scan: ScanIn | None = None, note: str = "") -> None:
        """Chain one event about the parcel (or bag) as it now is in memory."""
        row = ledger.new_row(
            id=event_id, parcel_id=None if is_bag else h.id, bag_id=h.id if is_bag else None, scan_id=scan_id,
            action=action, device_at=at, server_at=self.now, site_id=site.id if site else None,
            actor_id=self.actor.id, from_holder=before, to_holder=self.book.holder_text(h),
            run_id=scan.run if scan else None, lat=scan.lat if scan else None, lon=scan.lon if scan else None,
            note=scan.note if scan else note, evidence=ledger.evidence_text(evidence),
            parcel_prev_hash="" if is_bag else h.last_hash,
        )
        ledger.seal(self.head, [row])
        if not is_bag:
            h.last_hash = row["hash"]
        self.rows.append(row)

    def scan_move(self, h: Holding, state: str, site: SiteRef | None, scan: ScanIn, *, event_id: uuid.UUID,
                  scan_id: uuid.UUID | None = None, evidence: dict | None = None, is_bag: bool = False) -> None:
        """move() with the fields a scan carries."""
        self.move(h, state, site, action=scan.action, at=scan.at, event_id=event_id, scan_id=scan_id,
                  evidence=evidence, is_bag=is_bag, scan=scan)

    def apply(self, scan: ScanIn, typed: bool, code: str) -> Holding | BagHolding:
        """Judge and apply one scan; raises PostalError, leaving memory as it was. What it moved."""
        rules.check_time(scan, self.now, self.settings)
        if scan.run is not None:  # the run exists, is not closed, is the courier's and stops at this site
            run_hooks.check_scan(self.session, self.runs, scan.run, scan.action, self.actor,
                            site=lambda: self.site_for_run(scan, code))
        extra = {"typed": True} if typed else {}
        if code in self.book.bags:
            return bags.apply_to_bag(self, scan, self.book.bags[code], extra)
        h = self.book.parcels.get(code)
        if h is None:
            raise UnknownLabel(label=code)
        if h.bag_id is not None and not (h.bag_id in self.book.bag_ids and self.book.bag_ids[h.bag_id].opened):
            raise BagSealed(parcel=h.code, bag=self.book.bag_ids[h.bag_id].code if h.bag_id in self.book.bag_ids else "?")
        verdict = self.judge(scan, h)
        if verdict.otp is not None:
            self.proofs.check(h, verdict.otp)
        # Within the parcel's budget of codes, or refused (and perhaps locked) before anything moves.
        otp = self.proofs.issue(h) if scan.action == Action.OUT_FOR_DELIVERY else None
        self.scan_move(h, verdict.state, verdict.site, scan, event_id=scan.id, evidence={**verdict.evidence, **extra})
        if scan.action == Action.DELIVER and verdict.otp is None and h.direction == Direction.TO_CITIZEN:
            self.proofs.handed_at_counter(h)  # a clerk's delivery at the counter: papers checked, no code
        self.follow(h, scan, verdict.site, otp)
        return h

    def judge(self, scan: ScanIn, h: Holding) -> rules.Verdict:
        """rules.judge, and a refused misroute remembered for the board (the scan itself writes nothing)."""
        try:
            return rules.judge(self.book, self.actor, scan, h)
        except Misrouted as err:
            self.misroute_tried(scan, h, err)
            raise

    def misroute_tried(self, scan: ScanIn, h: Holding, err: Misrouted) -> None:
        note = (f"{self.actor.username} thử {rules.ACTION_NAMES[Action(scan.action)]} tại {err.params['site']} "
                f"({err.params['site_code']}) lúc {local(scan.at):%H:%M %d/%m/%Y}; bì gửi {err.params['destination']}.")
        self.after.append(MisrouteTried(h.id, h.code, note))

    def site_for_run(self, scan: ScanIn, code: str) -> SiteRef | None:
        """Where a scan naming a run happens, for the run's check: the site named, or a pickup's parcel's site."""
        if scan.site:
            return rules.site_of(self.book, self.actor, scan)
        held = self.book.bags.get(code) or self.book.parcels.get(code)
        if scan.action != Action.PICKUP or held is None or held.holder_site_id is None:
            return None
        return self.book.site(held.holder_site_id)

    def follow(self, h: Holding, scan: ScanIn, site: SiteRef | None, otp: str | None = None) -> None:
        """What an accepted parcel scan asks for once the batch is written: codes, alerts, messages."""
        action = Action(scan.action)
        if action in (Action.HANDOVER, Action.RECEIVE, Action.DELIVER) and rules.reached(h, site, action):
            self.after.append(Clear(AlertKind.MISROUTED, h.id, "Tự đóng: bì đã đến đúng nơi nhận."))
        if action == Action.OUT_FOR_DELIVERY:
            self.after.append(SendOtp(h.dossier_id, h.code, otp, scan.id))
        elif action == Action.ATTEMPT_FAILED and self.proofs.fail_attempt(h):
            h.state = ParcelState.IN_TRANSIT  # now a parcel the courier carries back, like any other
            self.after.append(TellReturned(h.dossier_id, h.code, scan.id))
        elif action == Action.DELIVER:
            self.returned[h.dossier_id] = scan.at
        if action == Action.REPORT_MISSING:
            self.after.append(OpenLoss(h.id, h.code, scan.note or "Báo thất lạc"))
        elif action in (Action.FOUND, Action.RECEIVE, Action.HANDOVER):
            self.after.append(Clear(AlertKind.SUSPECTED_LOSS, h.id, f"Tự đóng: bì đã được quét ({rules.ACTION_NAMES[action]})."))

    # -- writing ---------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write the events, the moved parcels and bags, then what follows from them."""
        ledger.write(self.session, self.head, self.rows)
        at = ledger.db_time(self.session, self.now)
        moved = [h for h in self.book.parcels.values() if h.dirty]
        if moved:  # straight to the driver: per-value type processing cost more than the updates themselves
            db.executemany(self.session, PARCEL_UPDATE, [(h.state, h.holder_site_id, h.holder_user_id, h.bag_id,
                                                          h.last_hash or None, at, h.id) for h in moved])
        for bag in self.book.bags.values():
            if bag.dirty:
                self.session.execute(update(BAGS).where(BAGS.c.id == bag.id).values(
                    state=BagState.OPENED if bag.opened else BagState.SEALED,
                    holder_site_id=bag.holder_site_id, holder_user_id=bag.holder_user_id,
                    awaiting_receipt=bag.state == ParcelState.AWAITING_RECEIPT,
                    opened_at=self.now if bag.opened else None))
        returned = {}
        for dossier_id, when in self.returned.items():  # the first delivery of a dossier's result counts
            done = self.session.execute(update(Dossier).where(Dossier.id == dossier_id, Dossier.returned_at.is_(None))
                                        .values(returned_at=when))
            if done.rowcount:
                returned[dossier_id] = when
        what = Moved(self.now, tuple(self.rows), tuple(moved_parcel(h) for h in moved), returned, self.book.sites)
        notifications.on_scans(self.session, what, self.settings)  # queued in this transaction: sent once committed
        self.follow_up()
        run_hooks.after_scans(self.session, what)  # stops reached, and manifests follow the parcels that moved

    def follow_up(self) -> None:
        """The alert and message work, in the order the scans asked for it; clearings in a row are one query
        per kind."""
        clear: dict[str, dict[int, str]] = {}
        for work in [*self.after, *self.proofs.alerts, None]:
            if isinstance(work, Clear):
                clear.setdefault(work.kind, {})[work.parcel_id] = work.note
                continue
            for kind, notes in clear.items():
                alerts.resolve_many(self.session, [kind], subject_type="parcel", notes=notes, at=self.now)
            clear = {}
            if isinstance(work, OpenLoss | MisrouteTried | BagMismatch | ProofLock):
                self.open_alert(work)
            elif isinstance(work, ClearProofLock):
                alerts.resolve_for(self.session, [AlertKind.PROOF_LOCKED], subject_type="parcel",
                                   subject_id=work.parcel_id, at=self.now, note=work.note)
            elif isinstance(work, SendOtp):
                notifications.queue_otp(self.session, self.settings, dossier_id=work.dossier_id,
                                        parcel_code=work.parcel_code, otp=work.otp, event_id=work.event_id, at=self.now)
            elif isinstance(work, TellReturned):
                notifications.queue_returned(self.session, dossier_id=work.dossier_id, parcel_code=work.parcel_code,
                                             event_id=work.event_id, at=self.now)

    def open_alert(self, work: OpenLoss | MisrouteTried | BagMismatch | ProofLock) -> None:
        if isinstance(work, BagMismatch):
            kind, subject, subject_id = AlertKind.BAG_MISMATCH, "bag", work.bag_id
        else:
            kind = {OpenLoss: AlertKind.SUSPECTED_LOSS, MisrouteTried: AlertKind.MISROUTED,
                    ProofLock: AlertKind.PROOF_LOCKED}[type(work)]
            subject, subject_id = "parcel", work.parcel_id
        alert = alerts.open_alert(self.session, kind, subject_type=subject, subject_id=subject_id,
                                  subject_code=work.code, at=self.now, note=work.note)
        if isinstance(work, MisrouteTried):
            alert.note = work.note[:1000]  # the latest attempt: who tried where


def moved_parcel(h: Holding) -> MovedParcel:
    return MovedParcel(h.id, h.dossier_id, h.state_before, h.site_before, h.last_event_at, h.state, h.holder_site_id)
