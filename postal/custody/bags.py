"""Bags (túi niêm phong): sealed at a site, moved as one, opened and reconciled with what was sealed in."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from models import Action, AlertKind, ParcelState
from models.custody import ScanIn
from postal import labels
from postal.custody import rules
from postal.custody.values import BagHolding, BagMismatch, Clear
from postal.errors import N_, InvalidScan, Misrouted, NotForBags, Phrase, WrongSite, WrongState

if TYPE_CHECKING:
    from postal.custody.recording import Batch

BAG_NAMESPACE = uuid.UUID("6f1c1c57-4d0e-4a53-9a8e-2f4c7d0b9a11")


def apply_to_bag(batch: Batch, scan: ScanIn, bag: BagHolding, extra: dict) -> BagHolding:
    """A bag scan moves every parcel in it, all or nothing."""
    action = Action(scan.action)
    if bag.opened:
        raise WrongState(parcel=bag.code, state=Phrase(N_("đã được mở")), action=rules.action_name(action))
    if action == Action.UNBAG:
        return open_bag(batch, scan, bag, extra)
    if action not in (Action.PICKUP, Action.HANDOVER, Action.RECEIVE):
        raise NotForBags(action=rules.action_name(action), bag=bag.code)
    state, site, evidence, _ = rules.judge(batch.book, batch.actor, scan, bag)
    if action in (Action.HANDOVER, Action.RECEIVE):  # each parcel in it goes only where it is addressed
        for code in bag.contents:
            try:
                rules.check_destination(batch.book, batch.book.parcels[code], site)
            except Misrouted as err:
                batch.misroute_tried(scan, batch.book.parcels[code], err)
                raise
    batch.scan_move(bag, state, site, scan, event_id=scan.id, evidence={**evidence, **extra}, is_bag=True)
    for code in bag.contents:
        parcel = batch.book.parcels[code]
        batch.scan_move(parcel, state, site, scan, event_id=uuid.uuid5(scan.id, code), scan_id=scan.id, evidence=evidence)
        if action != Action.PICKUP and rules.reached(parcel, site, action):
            batch.after.append(Clear(AlertKind.MISROUTED, parcel.id, "Tự đóng: bì đã đến đúng nơi nhận."))
    return bag


def open_bag(batch: Batch, scan: ScanIn, bag: BagHolding, extra: dict) -> BagHolding:
    """Open a bag at a site; what was sealed in and not scanned out is missing."""
    rules.check_role(batch.actor, Action.UNBAG)
    site = rules.site_of(batch.book, batch.actor, scan, default=bag.holder_site_id)
    rules.check_works_at(batch.actor, site)
    if bag.state == ParcelState.IN_TRANSIT or bag.holder_site_id != site.id:  # opened only at a site
        raise WrongSite(parcel=bag.code, state=batch.book.describe(bag), site=site.name)
    scanned_raw = (scan.evidence or {}).get("scanned")
    if not isinstance(scanned_raw, list) or not all(isinstance(c, str) for c in scanned_raw):
        raise InvalidScan(detail="evidence.scanned: [codes]")
    scanned = {labels.read(batch.settings.label_key, c).code for c in scanned_raw}
    missing = [c for c in bag.contents if c not in scanned]
    extra_codes = sorted(scanned - set(bag.contents))
    evidence = {"scanned": sorted(scanned), "missing": missing, "extra": extra_codes, **extra}
    batch.scan_move(bag, ParcelState.AT_SITE, site, scan, event_id=scan.id, evidence=evidence, is_bag=True)
    bag.opened = True
    for code in bag.contents:
        parcel = batch.book.parcels[code]
        parcel.bag_id = None
        state = ParcelState.MISSING if code in missing else ParcelState.AT_SITE
        batch.scan_move(parcel, state, site, scan, event_id=uuid.uuid5(scan.id, code), scan_id=scan.id)
    if missing:
        batch.after.append(BagMismatch(bag.id, bag.code, "Thiếu khi mở túi: " + ", ".join(missing)))
    return bag
