"""Recording a batch of scans: the parcels and bags it reads locked, each scan judged on its own, one write; the
chain head is taken last, only to give the rows their place and hash."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session

from models import Action, AlertKind, Direction, ParcelState
from models.custody import ScanIn
from models.moved import SiteRef
from postal import ledger
from postal.clock import local
from postal.config import Settings
from postal.custody import bags, rules, writing
from postal.custody.holdings import WITH_COURIER, Holdings
from postal.custody.proof import Proofs
from postal.custody.values import (
    BagHolding,
    Clear,
    Followup,
    Holding,
    MisrouteTried,
    OpenLoss,
    SendOtp,
    TellReturned,
)
from postal.errors import BagSealed, Misrouted, UnknownLabel
from postal.runs import hooks as run_hooks


class Batch:
    """One batch of scans in memory: what it read (locked), the rows it will write, sealed when it is written."""

    def __init__(self, session: Session, actor, settings: Settings, now: datetime) -> None:
        self.session = session
        self.actor = actor
        self.settings = settings
        self.now = now
        self.head: ledger.Head | None = None  # taken when the batch is written, held only for the append
        self.book = Holdings(session, actor)
        self.proofs = Proofs(session, settings, now, actor)
        self.rows: list[dict] = []
        self.chained: list[Holding | None] = []  # each row's parcel, whose chain it continues (None: a bag's)
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
            actor_id=self.actor.id if self.actor is not None else None, from_holder=before, to_holder=self.book.holder_text(h),
            run_id=scan.run if scan else None, lat=scan.lat if scan else None, lon=scan.lon if scan else None,
            note=scan.note if scan else note, evidence=ledger.evidence_text(evidence),
        )
        self.rows.append(row)
        self.chained.append(None if is_bag else h)

    def seal(self) -> None:
        """Take the chain head and give every row, in the order recorded, its place, its hash and its parcel's
        previous hash (a parcel moved twice chains to its own row); the parcels learn their last hash."""
        self.head = ledger.lock_head(self.session)
        run_hooks.still_open(self.session, self.runs)
        for row, h in zip(self.rows, self.chained, strict=True):
            if h is not None:
                row["parcel_prev_hash"] = h.last_hash
            ledger.seal(self.head, [row])
            if h is not None:
                h.last_hash = row["hash"]

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
        # a bare code: read from the label's barcode by a laser scanner, or keyed in by hand
        extra = ({"barcode": True} if scan.source == "barcode" else {"typed": True}) if typed else {}
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
        if err.params["site_code"] is None:  # at the citizen's door: no site, and "giao cho người dân" says it twice
            tried = f"giao tại {err.params['site']}"
        else:
            tried = f"{rules.ACTION_NAMES[Action(scan.action)]} tại {err.params['site']} ({err.params['site_code']})"
        note = (f"{self.actor.username} thử {tried} lúc {local(scan.at):%H:%M %d/%m/%Y}; "
                f"bì gửi {err.params['destination']}.")
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
        """Write the events, the moved parcels and bags, then what follows from them (see `writing`)."""
        writing.write(self)
