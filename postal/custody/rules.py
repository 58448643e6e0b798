"""The custody rules (DESIGN §4): plain functions of a holding, a scan, the actor and the sites the batch
read. They judge and describe; they write nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from models import Action, Direction, ParcelState, Role, SiteKind
from models.enums import CLERKS, OVERSEERS
from models.custody import ScanIn
from models.moved import SiteRef
from postal import fees
from postal.config import Settings
from postal.custody.holdings import WITH_COURIER, Holdings
from postal.custody.values import Holding
from postal.errors import (
    N_,
    Forbidden,
    InvalidScan,
    Unprocessable,
    Misrouted,
    NoteRequired,
    NotForDelivery,
    OtpRequired,
    Phrase,
    ScanInFuture,
    ScanTooOld,
    SiteForbidden,
    SiteRequired,
    UnknownSite,
    WrongHolder,
    WrongSite,
    WrongState,
)

# Who may scan what.
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
    Action.REDIRECT: N_("đổi nơi nhận"),
}


# Evidence the server writes into an event (a receipt confirmed by the receiver alone, a code checked, a counter
# hand-over, a typed code or one read from the barcode, what a bag lacked, a redirect's ends, a bag's seal): a device may not claim it.
SERVER_EVIDENCE = frozenset({"receiver_only", "otp_verified", "at_counter", "typed", "barcode", "missing", "extra",
                             "from", "to", "bag", "seal", "parcels"})


class Verdict(NamedTuple):
    """What a scan does if it holds: the new state, the site it happens at, the evidence to record, and a
    delivery code that must still be checked against the one sent to the citizen."""

    state: str
    site: SiteRef | None
    evidence: dict
    otp: str | None = None


def action_name(action: Action) -> Phrase:
    return Phrase(ACTION_NAMES[action])


def check_role(actor, action: Action) -> None:
    if actor.role not in ROLES[action]:
        raise Forbidden(role=actor.role)


def check_works_at(actor, site: SiteRef) -> None:
    """Clerks act only for their own site; couriers and overseers anywhere."""
    if actor.role in CLERKS and actor.site_id != site.id:
        raise SiteForbidden(user=actor.username, site=site.name)


def check_time(scan: ScanIn, now: datetime, settings: Settings) -> None:
    if scan.at > now + timedelta(seconds=settings.max_clock_skew_s):
        raise ScanInFuture(at=scan.at.isoformat())
    if scan.at < now - timedelta(days=settings.max_scan_age_days):
        raise ScanTooOld(at=scan.at.isoformat(), days=settings.max_scan_age_days)


def site_of(book: Holdings, actor, scan: ScanIn, *, default: int | None = None, required: bool = True) -> SiteRef | None:
    """The site a scan names, else the default (the parcel's site or the user's home)."""
    if scan.site:
        site = book.site_by_code(scan.site)
        if site is None:
            raise UnknownSite(site=scan.site)
        return site
    site_id = default if default is not None else actor.site_id
    if site_id is None:
        if required:
            raise SiteRequired(action=action_name(Action(scan.action)))
        return None
    return book.site(site_id)


def refuse(book: Holdings, h: Holding, action: Action) -> WrongState:
    return WrongState(parcel=h.code, state=book.describe(h), action=action_name(action))


def wrong_holder(book: Holdings, h: Holding, actor) -> WrongHolder:
    return WrongHolder(parcel=h.code, state=book.describe(h), courier=actor.username)


def judge(book: Holdings, actor, scan: ScanIn, h: Holding) -> Verdict:
    """Check one scan against one parcel or bag."""
    action = Action(scan.action)
    check_role(actor, action)
    evidence = dict(scan.evidence or {})
    if claimed := sorted(SERVER_EVIDENCE.intersection(evidence)):  # what only the server may write in the ledger
        raise InvalidScan(detail=Phrase(N_("evidence.%(key)s do hệ thống ghi, thiết bị không được gửi"), key=claimed[0]))
    for key in [k for k in evidence if k.lower() == "otp"]:  # a delivery code never enters the ledger, on any scan
        del evidence[key]
    if action in (Action.OUT_FOR_DELIVERY, Action.DELIVER, Action.ATTEMPT_FAILED):
        return judge_delivery(book, actor, scan, h, action, evidence)
    if action == Action.HANDOVER:
        if not scan.site:  # the courier names the site: it is where the parcel now is
            raise SiteRequired(action=action_name(action))
        site = site_of(book, actor, scan)
        if h.state not in WITH_COURIER or h.holder_user_id != actor.id:
            raise wrong_holder(book, h, actor)
        check_destination(book, h, site)
        return Verdict(ParcelState.AWAITING_RECEIPT, site, evidence)
    if action == Action.PICKUP:
        site = site_of(book, actor, scan, default=h.holder_site_id)
        if h.state != ParcelState.AT_SITE:
            raise refuse(book, h, action)
        if site.id != h.holder_site_id:
            raise WrongSite(parcel=h.code, state=book.describe(h), site=site.name)
        return Verdict(ParcelState.IN_TRANSIT, site, evidence)
    if action == Action.REPORT_MISSING:
        return judge_missing(book, actor, h, evidence)
    if action not in (Action.ACCEPT, Action.RECEIVE, Action.FOUND):
        raise refuse(book, h, action)  # unbag is for bags; the rest were judged above
    site = site_of(book, actor, scan)  # a clerk's scan at their own site
    check_works_at(actor, site)
    if action == Action.ACCEPT and h.state == ParcelState.CREATED:
        return Verdict(ParcelState.AT_SITE, site, evidence)
    if action == Action.FOUND and h.state == ParcelState.MISSING:
        return Verdict(ParcelState.AT_SITE, site, evidence)
    if action == Action.RECEIVE:
        if h.state == ParcelState.AWAITING_RECEIPT:
            if h.holder_site_id != site.id:
                raise WrongSite(parcel=h.code, state=book.describe(h), site=site.name)
            check_destination(book, h, site)
            return Verdict(ParcelState.AT_SITE, site, evidence)
        if h.state in WITH_COURIER:  # no handover scan: confirmed by the receiver alone
            check_destination(book, h, site)
            return Verdict(ParcelState.AT_SITE, site, {**evidence, "receiver_only": True})
    raise refuse(book, h, action)


def judge_missing(book: Holdings, actor, h: Holding, evidence: dict) -> Verdict:
    """Whoever has the parcel (or an overseer) may report it missing."""
    if h.state in (ParcelState.CREATED, ParcelState.MISSING, ParcelState.DELIVERED):
        raise refuse(book, h, Action.REPORT_MISSING)
    in_custody = h.holder_user_id == actor.id or (actor.role in CLERKS and h.holder_site_id == actor.site_id)
    if not in_custody and actor.role not in OVERSEERS:
        raise wrong_holder(book, h, actor)
    return Verdict(ParcelState.MISSING, book.site(h.holder_site_id) if h.holder_site_id else None, evidence)


def judge_delivery(book: Holdings, actor, scan: ScanIn, h: Holding, action: Action, evidence: dict) -> Verdict:
    """Home delivery with proof: the courier takes it out, the citizen's code closes it."""
    if h.direction != Direction.TO_CITIZEN and action == Action.DELIVER and actor.role == Role.COURIER:
        raise Misrouted(parcel=h.code, destination=book.site(h.destination_id).name if h.destination_id else "?",
                        site=Phrase(N_("nhà người dân")), site_code=None)  # collected at a counter, not at the door
    if h.direction != Direction.TO_CITIZEN and not (action == Action.DELIVER and actor.role != Role.COURIER):
        raise NotForDelivery(parcel=h.code)
    mine = h.state == ParcelState.OUT_FOR_DELIVERY and h.holder_user_id == actor.id
    if action == Action.OUT_FOR_DELIVERY:  # again while out: a new code for the citizen
        if h.state != ParcelState.AT_SITE and not mine:
            raise refuse(book, h, action)
        return Verdict(ParcelState.OUT_FOR_DELIVERY, book.site(h.holder_site_id) if h.holder_site_id else None, evidence)
    if action == Action.ATTEMPT_FAILED:
        if not mine:
            raise wrong_holder(book, h, actor)
        if not scan.note.strip():
            raise NoteRequired(action=action_name(action))
        return Verdict(ParcelState.OUT_FOR_DELIVERY, None, evidence)
    recipient = str((scan.evidence or {}).get("recipient_name", "")).strip()
    if actor.role != Role.COURIER:  # at the counter: the clerk checks the citizen's papers
        site = site_of(book, actor, scan)
        check_works_at(actor, site)
        if h.state != ParcelState.AT_SITE or h.holder_site_id != site.id:
            raise WrongSite(parcel=h.code, state=book.describe(h), site=site.name)
        check_destination(book, h, site)
        if not recipient:
            raise OtpRequired(parcel=h.code)
        return Verdict(ParcelState.DELIVERED, site, {**evidence, "recipient_name": recipient, "at_counter": True})
    if not mine:
        raise wrong_holder(book, h, actor)
    given = str((scan.evidence or {}).get("otp", "")).strip()
    if not given or not recipient:
        raise OtpRequired(parcel=h.code)
    if "collected" in evidence:  # the fees at the door the courier received (postal.fees)
        evidence["collected"] = collected(evidence["collected"])
    return Verdict(ParcelState.DELIVERED, None, {**evidence, "recipient_name": recipient, "otp_verified": True}, otp=given)


def collected(raw: object) -> dict:
    try:
        return fees.as_evidence(fees.from_evidence(raw))
    except Unprocessable as bad:
        raise InvalidScan(detail=Phrase(N_("evidence.collected — %(field)s: %(detail)s"),
                                        field=Phrase(bad.params["field"]), detail=Phrase(bad.params["detail"]))) from None


def check_destination(book: Holdings, h: Holding, site: SiteRef) -> None:
    """A handover, receipt or counter delivery happens where the parcel is addressed, or at a hub whose runs
    carry it on there; a result for the citizen's door passes only through its center or a post office."""
    if h.destination_id is not None:
        if site.id == h.destination_id or site.id in book.transfer_points(h.destination_id):
            return
        destination: str | Phrase = book.site(h.destination_id).name
    elif h.direction == Direction.TO_CITIZEN:
        if site.id == h.center_id or site.kind == SiteKind.POST_OFFICE:
            return
        destination = Phrase(N_("người dân tại nhà"))
    else:
        return  # a parcel labelled before destinations were kept: nothing to check it against
    raise Misrouted(parcel=h.code, destination=destination, site=site.name, site_code=site.code)


def reached(h: Holding, site: SiteRef | None, action: Action) -> bool:
    """Whether an accepted scan brought the parcel where it is addressed."""
    if action == Action.DELIVER:
        return True
    return site is not None and h.destination_id is not None and site.id == h.destination_id
