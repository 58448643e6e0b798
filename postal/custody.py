"""Custody: every physical handoff is a scan that lands exactly once in the ledger."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple
from datetime import datetime, timedelta

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select, update
from sqlmodel import Session

from models import Action, AlertKind, Bag, BagState, DeliveryOtp, Direction, Dossier, ParcelState, Role, Site, User
from models.custody import BagIn, BagOut, ScanIn
from postal import alerts, db, labels, ledger, notifications, runs
from postal.config import Settings
from postal.replays import fingerprint
from postal.errors import (
    N_,
    BagExists,
    BagSealed,
    Forbidden,
    InvalidScan,
    NoteRequired,
    NotForBags,
    NotForDelivery,
    OtpLocked,
    OtpRequired,
    WrongOtp,
    Phrase,
    PostalError,
    ScanInFuture,
    ScanTooOld,
    SiteForbidden,
    SiteRequired,
    UnknownLabel,
    UnknownSite,
    Unprocessable,
    WrongHolder,
    WrongSite,
    WrongState,
)

BAGS = Bag.__table__
CLERKS = {Role.POSTAL_CLERK, Role.AGENCY_CLERK}
OVERSEERS = {Role.SUPERVISOR, Role.ADMIN}
# Who may scan what: the rule of DESIGN §4.
ROLES = {
    Action.ACCEPT: CLERKS | OVERSEERS,
    Action.PICKUP: {Role.COURIER},
    Action.HANDOVER: {Role.COURIER},
    Action.RECEIVE: CLERKS | OVERSEERS,
    Action.UNBAG: CLERKS | OVERSEERS | {Role.COURIER},
    Action.REPORT_MISSING: CLERKS | OVERSEERS | {Role.COURIER},
    Action.FOUND: CLERKS | OVERSEERS,
    Action.OUT_FOR_DELIVERY: {Role.COURIER},
    Action.DELIVER: {Role.COURIER} | CLERKS | OVERSEERS,  # a clerk hands results over at the counter
    Action.ATTEMPT_FAILED: {Role.COURIER},
}
ACTION_NAMES = {
    Action.ACCEPT: N_("tiếp nhận"),
    Action.PICKUP: N_("nhận chuyển"),
    Action.HANDOVER: N_("bàn giao"),
    Action.RECEIVE: N_("xác nhận nhận"),
    Action.UNBAG: N_("mở túi"),
    Action.REPORT_MISSING: N_("báo thất lạc"),
    Action.FOUND: N_("báo tìm thấy"),
    Action.BAG: N_("đóng túi"),
    Action.OUT_FOR_DELIVERY: N_("mang đi giao"),
    Action.DELIVER: N_("giao cho người dân"),
    Action.ATTEMPT_FAILED: N_("báo giao không thành công"),
}
WITH_COURIER = (ParcelState.IN_TRANSIT, ParcelState.OUT_FOR_DELIVERY)
OTP_TRIES = 5
ATTEMPTS_BEFORE_RETURN = 2
PARCEL_UPDATE = ("UPDATE parcel SET state = ?, holder_site_id = ?, holder_user_id = ?, bag_id = ?, last_hash = ?, "
                 "last_event_at = ? WHERE id = ?")
_scan_list = TypeAdapter(list[ScanIn])
_scan = TypeAdapter(ScanIn)


class SiteRef(NamedTuple):
    """What a batch needs of a site (a light row: the batch reads them all)."""

    id: int
    code: str
    name: str
    kind: str


@dataclass
class Holding:
    """Where a parcel or bag is, in memory for the length of a batch."""

    id: int
    code: str
    state: str
    holder_site_id: int | None
    holder_user_id: int | None
    bag_id: int | None = None
    last_hash: str = ""
    dirty: bool = False
    direction: str = ""
    dossier_id: int | None = None


@dataclass
class BagHolding(Holding):
    """A bag, with the parcels sealed in it."""

    seal: str = ""
    contents: list[str] = field(default_factory=list)
    opened: bool = False


class ClearLoss(NamedTuple):
    """A parcel scanned again: its suspected-loss alert, if any, is resolved with this note."""

    parcel_id: int
    note: str


@dataclass
class Outcome:
    """The answer to one scan."""

    id: str
    status: str  # accepted | duplicate | rejected
    error: PostalError | None = None
    parcel: Holding | None = None
    bag: BagHolding | None = None


class Batch:
    """One batch of scans: one lock, one read per kind of row, one write."""

    def __init__(self, session: Session, actor: User, settings: Settings, now: datetime) -> None:
        self.session = session
        self.actor = actor
        self.settings = settings
        self.now = now
        self.head = ledger.lock_head(session)
        self.sites = {r[0]: SiteRef(*r) for r in db.raw(session, "SELECT id, code, name, kind FROM site")}
        self.site_codes = {s.code: s for s in self.sites.values()}
        self.usernames: dict[int, str] = {actor.id: actor.username}
        self.parcels: dict[str, Holding] = {}
        self.bags: dict[str, BagHolding] = {}
        self.bag_ids: dict[int, BagHolding] = {}
        self.rows: list[dict] = []
        self.after: list[Callable[[], None] | ClearLoss] = []  # alert work, done after the rows are written
        self.otps: dict[int, DeliveryOtp] = {}  # written even for refused scans: wrong codes count
        self.returned: dict[int, datetime] = {}  # dossier id → when its result reached the citizen

    # -- loading ---------------------------------------------------------------------------
    def load(self, codes: set[str]) -> None:
        """Read every parcel and bag the batch names, and the parcels inside those bags."""
        bag_codes = [c for c in codes if c.startswith(labels.BAG_PREFIX) and c not in self.bags]
        if bag_codes:
            match, param = db.any_of(self.session, bag_codes)
            for r in db.raw(self.session, "SELECT id, code, state, holder_site_id, holder_user_id, seal, contents, "
                            f"awaiting_receipt FROM bag WHERE code {match}", (param,)):
                bag = BagHolding(id=r[0], code=r[1], state=r[2], holder_site_id=r[3], holder_user_id=r[4], seal=r[5],
                                 contents=r[6].split(), opened=r[2] == BagState.OPENED)
                bag.state = bag_state(r[3], r[4], r[7])
                self.bags[bag.code] = self.bag_ids[bag.id] = bag
                codes.update(bag.contents)
        wanted = [c for c in codes if c not in self.parcels and not c.startswith(labels.BAG_PREFIX)]
        if wanted:
            match, param = db.any_of(self.session, wanted)
            for r in db.raw(self.session, "SELECT id, code, state, holder_site_id, holder_user_id, bag_id, last_hash, "
                            f"direction, dossier_id FROM parcel WHERE code {match}", (param,)):
                self.parcels[r[1]] = Holding(*r[:6], last_hash=r[6] or "", direction=r[7], dossier_id=r[8])
        user_ids = {h.holder_user_id for h in [*self.parcels.values(), *self.bags.values()] if h.holder_user_id}
        self.remember_users(user_ids)

    def remember_users(self, ids: Iterable[int]) -> None:
        missing = [i for i in ids if i not in self.usernames]
        if missing:
            match, param = db.any_of(self.session, missing)
            rows = db.raw(self.session, f"SELECT id, username FROM user_account WHERE id {match}", (param,))
            self.usernames.update((uid, name) for uid, name in rows)

    # -- descriptions ----------------------------------------------------------------------
    def site_name(self, site_id: int | None) -> str:
        return self.sites[site_id].name if site_id in self.sites else "?"

    def describe(self, h: Holding) -> Phrase:
        """The parcel's real state, in words, for a refusal message."""
        if h.state == ParcelState.CREATED:
            return Phrase(N_("chưa được tiếp nhận"))
        if h.state == ParcelState.AT_SITE:
            return Phrase(N_("đang ở %(site)s"), site=self.site_name(h.holder_site_id))
        if h.state == ParcelState.IN_TRANSIT:
            return Phrase(N_("đang do bưu tá %(courier)s giữ"), courier=self.usernames.get(h.holder_user_id, "?"))
        if h.state == ParcelState.AWAITING_RECEIPT:
            return Phrase(N_("đang chờ %(site)s xác nhận nhận"), site=self.site_name(h.holder_site_id))
        if h.state == ParcelState.MISSING:
            return Phrase(N_("đang bị báo thất lạc"))
        if h.state == ParcelState.OUT_FOR_DELIVERY:
            return Phrase(N_("đang được bưu tá %(courier)s giao"), courier=self.usernames.get(h.holder_user_id, "?"))
        if h.state == ParcelState.DELIVERED:
            return Phrase(N_("đã giao cho người dân"))
        return Phrase(h.state)

    def holder_text(self, h: Holding) -> str:
        """The holder as written into the ledger."""
        if h.state in WITH_COURIER:
            return f"courier:{self.usernames.get(h.holder_user_id, h.holder_user_id)}"
        if h.state == ParcelState.DELIVERED:
            return "citizen"
        if h.holder_site_id is not None:
            return f"site:{self.sites[h.holder_site_id].code}"
        return "citizen" if h.state == ParcelState.CREATED else ""

    def brief(self, h: Holding | None) -> dict | None:
        """A parcel's state and holder, as answered to the device."""
        if h is None:
            return None
        if h.state in WITH_COURIER:
            name = self.usernames.get(h.holder_user_id, "?")
            holder = {"type": "courier", "code": name, "name": name}
        elif h.holder_site_id is not None:
            site = self.sites[h.holder_site_id]
            holder = {"type": "site", "code": site.code, "name": site.name}
        else:
            holder = {"type": "none", "code": None, "name": None}
        bag = self.bag_ids[h.bag_id].code if h.bag_id in self.bag_ids else None
        return {"code": h.code, "state": h.state, "holder": holder, "bag": bag}

    def brief_bag(self, bag: BagHolding | None) -> dict | None:
        if bag is None:
            return None
        return {**self.brief(bag), "seal": bag.seal, "opened": bag.opened, "parcels": bag.contents}

    # -- rules -----------------------------------------------------------------------------
    def site_of(self, scan: ScanIn, *, default: int | None = None, required: bool = True) -> Site | None:
        """The site a scan names, else the default (the parcel's site or the user's home)."""
        if scan.site:
            site = self.site_codes.get(scan.site.strip().upper()) or self.site_codes.get(scan.site.strip())
            if site is None:
                raise UnknownSite(site=scan.site)
            return site
        site_id = default if default is not None else self.actor.site_id
        if site_id is None:
            if required:
                raise SiteRequired(action=Phrase(ACTION_NAMES[Action(scan.action)]))
            return None
        return self.sites[site_id]

    def check_role(self, action: Action) -> None:
        if self.actor.role not in ROLES[action]:
            raise Forbidden(role=self.actor.role)

    def check_works_at(self, site: Site) -> None:
        """Clerks act only for their own site; couriers and overseers anywhere."""
        if self.actor.role in CLERKS and self.actor.site_id != site.id:
            raise SiteForbidden(user=self.actor.username, site=site.name)

    def check_time(self, scan: ScanIn) -> None:
        if scan.at > self.now + timedelta(seconds=self.settings.max_clock_skew_s):
            raise ScanInFuture(at=scan.at.isoformat())
        if scan.at < self.now - timedelta(days=self.settings.max_scan_age_days):
            raise ScanTooOld(at=scan.at.isoformat(), days=self.settings.max_scan_age_days)

    def refuse(self, h: Holding, action: Action) -> WrongState:
        return WrongState(parcel=h.code, state=self.describe(h), action=Phrase(ACTION_NAMES[action]))

    def judge(self, scan: ScanIn, h: Holding) -> tuple[str, Site | None, dict]:
        """Check one scan against one parcel or bag; the new state, site and evidence. Writes nothing."""
        action = Action(scan.action)
        self.check_role(action)
        evidence = dict(scan.evidence or {})
        if action == Action.ACCEPT:
            site = self.site_of(scan)
            self.check_works_at(site)
            if h.state != ParcelState.CREATED:
                raise self.refuse(h, action)
            return ParcelState.AT_SITE, site, evidence
        if action == Action.PICKUP:
            site = self.site_of(scan, default=h.holder_site_id)
            if h.state != ParcelState.AT_SITE:
                raise self.refuse(h, action)
            if site.id != h.holder_site_id:
                raise WrongSite(parcel=h.code, state=self.describe(h), site=site.name)
            return ParcelState.IN_TRANSIT, site, evidence
        if action == Action.HANDOVER:
            if not scan.site:  # the courier names the site: it is where the parcel now is
                raise SiteRequired(action=Phrase(ACTION_NAMES[action]))
            site = self.site_of(scan)
            if h.state not in WITH_COURIER or h.holder_user_id != self.actor.id:
                raise WrongHolder(parcel=h.code, state=self.describe(h), courier=self.actor.username)
            return ParcelState.AWAITING_RECEIPT, site, evidence
        if action == Action.RECEIVE:
            site = self.site_of(scan)
            self.check_works_at(site)
            if h.state == ParcelState.AWAITING_RECEIPT:
                if h.holder_site_id != site.id:
                    raise WrongSite(parcel=h.code, state=self.describe(h), site=site.name)
            elif h.state in WITH_COURIER:
                evidence["receiver_only"] = True  # no handover scan: confirmed by the receiver alone
            else:
                raise self.refuse(h, action)
            return ParcelState.AT_SITE, site, evidence
        if action == Action.REPORT_MISSING:
            if h.state in (ParcelState.CREATED, ParcelState.MISSING, ParcelState.DELIVERED):
                raise self.refuse(h, action)
            in_custody = (h.holder_user_id == self.actor.id) or (
                self.actor.role in CLERKS and h.holder_site_id == self.actor.site_id
            )
            if not in_custody and self.actor.role not in OVERSEERS:
                raise WrongHolder(parcel=h.code, state=self.describe(h), courier=self.actor.username)
            site = self.sites.get(h.holder_site_id) if h.holder_site_id else None
            return ParcelState.MISSING, site, evidence
        if action == Action.FOUND:
            site = self.site_of(scan)
            self.check_works_at(site)
            if h.state != ParcelState.MISSING:
                raise self.refuse(h, action)
            return ParcelState.AT_SITE, site, evidence
        if action in (Action.OUT_FOR_DELIVERY, Action.DELIVER, Action.ATTEMPT_FAILED):
            return self.judge_delivery(scan, h, action, evidence)
        raise self.refuse(h, action)

    def judge_delivery(self, scan: ScanIn, h: Holding, action: Action, evidence: dict) -> tuple[str, Site | None, dict]:
        """Home delivery with proof: the courier takes it out, the citizen's OTP closes it."""
        if h.direction != Direction.TO_CITIZEN and not (action == Action.DELIVER and self.actor.role != Role.COURIER):
            raise NotForDelivery(parcel=h.code)
        mine = h.state == ParcelState.OUT_FOR_DELIVERY and h.holder_user_id == self.actor.id
        if action == Action.OUT_FOR_DELIVERY:  # again while out: a new code for the citizen
            if h.state != ParcelState.AT_SITE and not mine:
                raise self.refuse(h, action)
            return ParcelState.OUT_FOR_DELIVERY, self.sites.get(h.holder_site_id) if h.holder_site_id else None, evidence
        if action == Action.ATTEMPT_FAILED:
            if not mine:
                raise WrongHolder(parcel=h.code, state=self.describe(h), courier=self.actor.username)
            if not scan.note.strip():
                raise NoteRequired(action=Phrase(ACTION_NAMES[action]))
            return ParcelState.OUT_FOR_DELIVERY, None, evidence
        recipient = str((scan.evidence or {}).get("recipient_name", "")).strip()
        evidence.pop("otp", None)  # the code itself never enters the ledger
        if self.actor.role != Role.COURIER:  # at the counter: the clerk checks the citizen's papers
            site = self.site_of(scan)
            self.check_works_at(site)
            if h.state != ParcelState.AT_SITE or h.holder_site_id != site.id:
                raise WrongSite(parcel=h.code, state=self.describe(h), site=site.name)
            if not recipient:
                raise OtpRequired(parcel=h.code)
            return ParcelState.DELIVERED, site, {**evidence, "recipient_name": recipient, "at_counter": True}
        if not mine:
            raise WrongHolder(parcel=h.code, state=self.describe(h), courier=self.actor.username)
        given = str((scan.evidence or {}).get("otp", "")).strip()
        if not given or not recipient:
            raise OtpRequired(parcel=h.code)
        self.check_otp(h, given)
        return ParcelState.DELIVERED, None, {**evidence, "recipient_name": recipient, "otp_verified": True}

    def otp_of(self, h: Holding) -> DeliveryOtp | None:
        if h.id not in self.otps:
            otp = self.session.get(DeliveryOtp, h.id)
            if otp is None:
                return None
            self.otps[h.id] = otp
        return self.otps[h.id]

    def otp_row(self, h: Holding) -> DeliveryOtp:
        """The parcel's delivery record, created on its first use (written with the batch)."""
        otp = self.otp_of(h)
        if otp is None:
            otp = self.otps[h.id] = DeliveryOtp(parcel_id=h.id, otp_hash="", issued_at=self.now)
            self.session.add(otp)
        return otp

    def check_otp(self, h: Holding, given: str) -> None:
        """A wrong code is counted (and kept, though the scan is refused); five lock it."""
        otp = self.otp_of(h)
        if otp is None or otp.wrong_tries >= OTP_TRIES:
            raise OtpLocked(parcel=h.code)
        if not hmac.compare_digest(otp.otp_hash, self.otp_hash(h.id, given)):
            otp.wrong_tries += 1
            left = OTP_TRIES - otp.wrong_tries
            if left <= 0:
                raise OtpLocked(parcel=h.code)
            raise WrongOtp(parcel=h.code, left=left)

    def otp_hash(self, parcel_id: int, code: str) -> str:
        return hmac.new(self.settings.secret_key.encode(), f"{parcel_id}:{code}".encode(), hashlib.sha256).hexdigest()

    def issue_otp(self, h: Holding, event_id: uuid.UUID) -> None:
        """A fresh 6-digit code, sent to the applicant by SMS through the outbox."""
        code = f"{secrets.randbelow(10**6):06d}"
        otp = self.otp_row(h)
        otp.otp_hash, otp.issued_at, otp.wrong_tries = self.otp_hash(h.id, code), self.now, 0
        self.after.append(lambda: notifications.queue_otp(self.session, dossier_id=h.dossier_id, parcel_code=h.code,
                                                          otp=code, event_id=event_id, at=self.now))

    def fail_attempt(self, h: Holding, scan: ScanIn) -> None:
        """After two failed attempts the parcel goes back to its post office, and the citizen is told."""
        otp = self.otp_row(h)
        otp.failed_attempts += 1
        if otp.failed_attempts >= ATTEMPTS_BEFORE_RETURN:
            h.state = ParcelState.IN_TRANSIT  # now a parcel the courier carries back, like any other
            self.after.append(lambda: notifications.queue_returned(self.session, dossier_id=h.dossier_id,
                                                                   parcel_code=h.code, event_id=scan.id, at=self.now))

    # -- applying --------------------------------------------------------------------------
    def move(self, h: Holding, state: str, site: Site | None, *, action: str, at: datetime, event_id: uuid.UUID,
             scan_id: uuid.UUID | None = None, evidence: dict | None = None, is_bag: bool = False,
             scan: ScanIn | None = None) -> None:
        """Record the event and move the parcel (or bag) in memory."""
        before = self.holder_text(h)
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
        row = ledger.new_row(
            id=event_id, parcel_id=None if is_bag else h.id, bag_id=h.id if is_bag else None, scan_id=scan_id,
            action=action, device_at=at, server_at=self.now, site_id=site.id if site else None,
            actor_id=self.actor.id, from_holder=before, to_holder=self.holder_text(h),
            run_id=scan.run if scan else None, lat=scan.lat if scan else None, lon=scan.lon if scan else None,
            note=scan.note if scan else "", evidence=ledger.evidence_text(evidence),
            parcel_prev_hash="" if is_bag else h.last_hash,
        )
        ledger.seal(self.head, [row])
        if not is_bag:
            h.last_hash = row["hash"]
        self.rows.append(row)

    def scan_move(self, h: Holding, state: str, site: Site | None, scan: ScanIn, *, event_id: uuid.UUID,
                  scan_id: uuid.UUID | None = None, evidence: dict | None = None, is_bag: bool = False) -> None:
        """move() with the fields a scan carries."""
        self.move(h, state, site, action=scan.action, at=scan.at, event_id=event_id, scan_id=scan_id,
                  evidence=evidence, is_bag=is_bag, scan=scan)

    def apply(self, scan: ScanIn, typed: bool, code: str) -> Outcome:
        """Judge and apply one scan; raises PostalError, leaving memory as it was."""
        self.check_time(scan)
        if scan.run is not None:  # shuttle-run hook: the run exists, is not closed, and stops at this site
            runs.check_scan(self, scan, code)
        evidence_extra = {"typed": True} if typed else {}
        if code in self.bags:
            return self.apply_to_bag(scan, self.bags[code], evidence_extra)
        h = self.parcels.get(code)
        if h is None:
            raise UnknownLabel(label=code)
        if h.bag_id is not None and h.bag_id in self.bag_ids and not self.bag_ids[h.bag_id].opened:
            raise BagSealed(parcel=h.code, bag=self.bag_ids[h.bag_id].code)
        if h.bag_id is not None and h.bag_id not in self.bag_ids:
            raise BagSealed(parcel=h.code, bag="?")
        state, site, evidence = self.judge(scan, h)
        self.scan_move(h, state, site, scan, event_id=scan.id, evidence={**evidence, **evidence_extra})
        action = Action(scan.action)
        if action == Action.OUT_FOR_DELIVERY:
            self.issue_otp(h, scan.id)
        elif action == Action.ATTEMPT_FAILED:
            self.fail_attempt(h, scan)
        elif action == Action.DELIVER:
            self.returned[h.dossier_id] = scan.at
        if action == Action.REPORT_MISSING:
            self.after.append(lambda h=h, note=scan.note: self.open_loss(h, note))
        elif action in (Action.FOUND, Action.RECEIVE, Action.HANDOVER):
            self.after.append(ClearLoss(h.id, f"Tự đóng: bì đã được quét ({ACTION_NAMES[action]})."))
        return Outcome(str(scan.id), "accepted", parcel=h)

    def apply_to_bag(self, scan: ScanIn, bag: BagHolding, evidence_extra: dict) -> Outcome:
        """A bag scan moves every parcel in it, all or nothing."""
        action = Action(scan.action)
        if bag.opened:
            raise WrongState(parcel=bag.code, state=Phrase(N_("đã được mở")), action=Phrase(ACTION_NAMES[action]))
        if action == Action.UNBAG:
            return self.open_bag(scan, bag, evidence_extra)
        if action not in (Action.PICKUP, Action.HANDOVER, Action.RECEIVE):
            raise NotForBags(action=Phrase(ACTION_NAMES[action]), bag=bag.code)
        state, site, evidence = self.judge(scan, bag)
        self.scan_move(bag, state, site, scan, event_id=scan.id, evidence={**evidence, **evidence_extra}, is_bag=True)
        for code in bag.contents:
            parcel = self.parcels[code]
            self.scan_move(parcel, state, site, scan, event_id=uuid.uuid5(scan.id, code), scan_id=scan.id, evidence=evidence)
        return Outcome(str(scan.id), "accepted", bag=bag)

    def open_bag(self, scan: ScanIn, bag: BagHolding, evidence_extra: dict) -> Outcome:
        """Open a bag at a site; what was sealed in and not scanned out is missing."""
        self.check_role(Action.UNBAG)
        site = self.site_of(scan, default=bag.holder_site_id)
        self.check_works_at(site)
        if bag.state == ParcelState.IN_TRANSIT or bag.holder_site_id != site.id:  # opened only at a site
            raise WrongSite(parcel=bag.code, state=self.describe(bag), site=site.name)
        scanned_raw = (scan.evidence or {}).get("scanned")
        if not isinstance(scanned_raw, list) or not all(isinstance(c, str) for c in scanned_raw):
            raise InvalidScan(detail="evidence.scanned: [codes]")
        scanned = {labels.read(self.settings.label_key, c).code for c in scanned_raw}
        missing = [c for c in bag.contents if c not in scanned]
        extra = sorted(scanned - set(bag.contents))
        evidence = {"scanned": sorted(scanned), "missing": missing, "extra": extra, **evidence_extra}
        self.scan_move(bag, ParcelState.AT_SITE, site, scan, event_id=scan.id, evidence=evidence, is_bag=True)
        bag.opened = True
        for code in bag.contents:
            parcel = self.parcels[code]
            parcel.bag_id = None
            state = ParcelState.MISSING if code in missing else ParcelState.AT_SITE
            self.scan_move(parcel, state, site, scan, event_id=uuid.uuid5(scan.id, code), scan_id=scan.id)
        if missing:
            note = "Thiếu khi mở túi: " + ", ".join(missing)
            self.after.append(lambda: self.open_alert(AlertKind.BAG_MISMATCH, "bag", bag.id, bag.code, note))
        return Outcome(str(scan.id), "accepted", bag=bag)

    # -- alerts ----------------------------------------------------------------------------
    def open_alert(self, kind: AlertKind, subject_type: str, subject_id: int, code: str, note: str) -> None:
        alerts.open_alert(self.session, kind, subject_type=subject_type, subject_id=subject_id,
                          subject_code=code, at=self.now, note=note)

    def open_loss(self, h: Holding, note: str) -> None:
        self.open_alert(AlertKind.SUSPECTED_LOSS, "parcel", h.id, h.code, note or "Báo thất lạc")

    def run_after(self) -> None:
        """The alert work, in the order the scans asked for it; clearings in a row are one query."""
        clear: dict[int, str] = {}
        for work in [*self.after, None]:
            if isinstance(work, ClearLoss):
                clear[work.parcel_id] = work.note
                continue
            if clear:
                alerts.resolve_many(self.session, [AlertKind.SUSPECTED_LOSS], subject_type="parcel", notes=clear,
                                    at=self.now)
                clear = {}
            if work is not None:
                work()

    # -- writing ---------------------------------------------------------------------------
    def flush(self) -> None:
        """Write the batch's events, the moved parcels and bags, and their alerts."""
        ledger.write(self.session, self.head, self.rows)
        # Before the parcels move in the database: the outbox compares their old status with the batch's new one,
        # and queues its messages in this same transaction (nothing sent for a batch that is not committed).
        notifications.on_scans(self.session, self)
        at = ledger.db_time(self.session, self.now)
        moved = [(h.state, h.holder_site_id, h.holder_user_id, h.bag_id, h.last_hash or None, at, h.id)
                 for h in self.parcels.values() if h.dirty]
        if moved:
            # Straight to the driver: per-value type processing cost more than the updates themselves.
            db.executemany(self.session, PARCEL_UPDATE, moved)
        for bag in self.bags.values():
            if bag.dirty:
                self.session.execute(update(BAGS).where(BAGS.c.id == bag.id).values(
                    state=BagState.OPENED if bag.opened else BagState.SEALED,
                    holder_site_id=bag.holder_site_id, holder_user_id=bag.holder_user_id,
                    awaiting_receipt=bag.state == ParcelState.AWAITING_RECEIPT,
                    opened_at=self.now if bag.opened else None))
        for dossier_id, at in self.returned.items():
            self.session.execute(update(Dossier).where(Dossier.id == dossier_id, Dossier.returned_at.is_(None))
                                 .values(returned_at=at))
        self.run_after()
        runs.after_scans(self)  # shuttle-run hook: stops reached, and manifests follow the parcels this batch moved


def bag_state(holder_site_id: int | None, holder_user_id: int | None, awaiting_receipt: bool) -> str:
    """A bag's custody state, in the parcels' vocabulary."""
    if holder_user_id is not None and holder_site_id is None:
        return ParcelState.IN_TRANSIT
    if awaiting_receipt:
        return ParcelState.AWAITING_RECEIPT
    return ParcelState.AT_SITE


def parse_scans(raw: list[dict | ScanIn]) -> list[ScanIn | Outcome]:
    """Validate a batch in one go; when that fails, scan by scan so only the bad ones are refused."""
    if all(isinstance(item, ScanIn) for item in raw):
        return raw  # validated already, in one pass from the request's JSON
    try:
        return list(_scan_list.validate_python(raw))
    except ValidationError:
        pass
    parsed: list[ScanIn | Outcome] = []
    for item in raw:
        try:
            parsed.append(_scan.validate_python(item))
        except ValidationError as err:
            scan_id = item.get("id") if isinstance(item, dict) else None
            parsed.append(Outcome(str(scan_id), "rejected", InvalidScan.of(err.errors()[0])))
    return parsed


def record_scans(session: Session, raw: list[dict | ScanIn], *, actor: User, settings: Settings, now: datetime) -> tuple[list[Outcome], Batch]:
    """Record a batch of scans: each judged on its own, the accepted ones committed together."""
    parsed = parse_scans(raw)
    db.begin_write(session)
    batch = Batch(session, actor, settings, now)
    ids = [s.id for s in parsed if isinstance(s, ScanIn)]
    stored: dict[uuid.UUID, tuple[int | None, int | None]] = {}
    if ids:
        match, param = db.any_of(session, [db.uuid_param(session, i) for i in ids])
        for eid, pid, bid in db.raw(session, f"SELECT id, parcel_id, bag_id FROM custody_event WHERE id {match}", (param,)):
            stored[eid if isinstance(eid, uuid.UUID) else uuid.UUID(eid)] = (pid, bid)
    reads: dict[int, labels.ReadLabel | PostalError] = {}
    for i, scan in enumerate(parsed):
        if isinstance(scan, ScanIn) and scan.id not in stored:
            try:
                reads[i] = labels.read(settings.label_key, scan.label)
            except PostalError as err:
                reads[i] = err
    batch.load({r.code for r in reads.values() if isinstance(r, labels.ReadLabel)})
    duplicates = load_stored(batch, stored)
    outcomes: list[Outcome] = []
    seen: set[uuid.UUID] = set()
    for i, scan in enumerate(parsed):
        if isinstance(scan, Outcome):
            outcomes.append(scan)
            continue
        key = str(scan.id)
        if scan.id in stored or scan.id in seen:
            parcel, bag = duplicates.get(scan.id, (None, None))
            if scan.id in seen:
                prior = next(o for o in outcomes if o.id == key and o.status == "accepted")
                parcel, bag = prior.parcel, prior.bag
            outcomes.append(Outcome(key, "duplicate", parcel=parcel, bag=bag))
            continue
        read = reads[i]
        try:
            if isinstance(read, PostalError):
                raise read
            outcome = batch.apply(scan, read.typed, read.code)
        except PostalError as err:
            outcomes.append(Outcome(key, "rejected", err))
            continue
        seen.add(scan.id)
        outcomes.append(outcome)
    batch.flush()
    session.commit()
    return outcomes, batch


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
    batch.load(codes)
    by_id = {h.id: h for h in batch.parcels.values()}
    return {key: (by_id.get(p) if p else None, batch.bag_ids.get(b) if b else None) for key, (p, b) in stored.items()}


BAG_NAMESPACE = uuid.UUID("6f1c1c57-4d0e-4a53-9a8e-2f4c7d0b9a11")
BAGGERS = CLERKS | OVERSEERS


def seal_bag(session: Session, data: BagIn, *, actor: User, settings: Settings, now: datetime) -> tuple[BagOut, bool]:
    """Seal parcels at a site into a bag; the same request again answers the same bag."""
    if actor.role not in BAGGERS:
        raise Forbidden(role=actor.role)
    db.begin_write(session)
    request_hash = fingerprint(data.model_dump(mode="json", exclude={"code"}))
    if data.code is not None:
        code = data.code.strip().upper()
        if not labels.is_valid_code(code) or not code.startswith(labels.BAG_PREFIX):
            raise Unprocessable(field="code", detail=Phrase(N_("mã túi phải có dạng BG + 9 chữ số + VN")))
        existing = session.execute(select(Bag).where(Bag.code == code)).scalars().first()
        if existing is not None:
            if existing.request_hash != request_hash:
                raise BagExists(code=code)
            return bag_out(existing, settings), False
    else:
        code = labels.random_code(labels.BAG_PREFIX)
    batch = Batch(session, actor, settings, now)
    site = batch.site_of(ScanIn(id=uuid.uuid4(), label=code, action="accept", site=data.site, at=now))
    batch.check_works_at(site)
    codes = []
    for raw in data.parcels:
        try:
            codes.append(labels.read(settings.label_key, raw).code)
        except PostalError:
            raise Unprocessable(field="parcels", detail=raw[:40]) from None
    batch.load(set(codes))
    for c in codes:
        h = batch.parcels.get(c)
        if h is None:
            raise UnknownLabel(label=c)
        if h.bag_id is not None:
            raise BagSealed(parcel=c, bag="?")
        if h.state != ParcelState.AT_SITE or h.holder_site_id != site.id:
            raise WrongSite(parcel=c, state=batch.describe(h), site=site.name)
    contents = list(dict.fromkeys(codes))
    row = Bag(code=code, seal=data.seal, state=BagState.SEALED, site_id=site.id, holder_site_id=site.id,
              contents=" ".join(contents), request_hash=request_hash, created_by_id=actor.id, created_at=now)
    session.add(row)
    session.flush()
    bag = BagHolding(id=row.id, code=code, state=ParcelState.AT_SITE, holder_site_id=site.id, holder_user_id=None,
                     seal=data.seal, contents=contents)
    batch.bags[code] = batch.bag_ids[row.id] = bag
    event_id = uuid.uuid5(BAG_NAMESPACE, code)
    batch.move(bag, ParcelState.AT_SITE, site, action=Action.BAG, at=now, event_id=event_id, is_bag=True,
               evidence={"seal": data.seal, "parcels": contents})
    for c in contents:
        parcel = batch.parcels[c]
        parcel.bag_id = row.id
        batch.move(parcel, ParcelState.AT_SITE, site, action=Action.BAG, at=now, event_id=uuid.uuid5(event_id, c),
                   scan_id=event_id, evidence={"bag": code, "seal": data.seal})
    bag.dirty = False  # the row was just written whole
    batch.flush()
    session.commit()
    return bag_out(row, settings), True


def bag_out(bag: Bag, settings: Settings) -> BagOut:
    return BagOut(code=bag.code, qr_payload=labels.qr_payload(settings.label_key, bag.code), seal=bag.seal,
                  state=bag.state, parcels=bag.contents.split())
