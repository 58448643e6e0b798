"""Each parcel's row against its ledger: the state, holder, bag and last hash its last event implies."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import text
from sqlmodel import Session

from models import Action, ParcelState

WITH_COURIER = (ParcelState.IN_TRANSIT, ParcelState.OUT_FOR_DELIVERY)
# The states a parcel may be in after each action (postal/custody/rules.py judge decides which).
STATES_AFTER = {
    Action.ACCEPT: {ParcelState.AT_SITE},
    Action.PICKUP: {ParcelState.IN_TRANSIT},
    Action.HANDOVER: {ParcelState.AWAITING_RECEIPT},
    Action.RECEIVE: {ParcelState.AT_SITE},
    Action.BAG: {ParcelState.AT_SITE},
    Action.UNBAG: {ParcelState.AT_SITE, ParcelState.MISSING},  # missing: sealed in, not found when opened
    Action.REPORT_MISSING: {ParcelState.MISSING},
    Action.FOUND: {ParcelState.AT_SITE},
    Action.OUT_FOR_DELIVERY: {ParcelState.OUT_FOR_DELIVERY},
    # the second failed attempt sends it back to its post office: a parcel the courier carries
    Action.ATTEMPT_FAILED: {ParcelState.OUT_FOR_DELIVERY, ParcelState.IN_TRANSIT},
    Action.DELIVER: {ParcelState.DELIVERED},
}
# Each parcel beside its last event (by the hash the parcel row names) and the bag scan that moved it, if any.
PARCELS = text("""
    SELECT p.id, p.code, p.state, p.holder_site_id, p.holder_user_id, p.bag_id, p.last_hash,
           e.action, e.to_holder, e.actor_id, b.bag_id AS moved_with
    FROM parcel p
    LEFT JOIN custody_event e ON e.hash = p.last_hash
    LEFT JOIN custody_event b ON b.id = e.scan_id AND b.bag_id IS NOT NULL
    ORDER BY p.id""")


@dataclass
class StateCheck:
    """What check_parcels found: how many parcels agree, and the first that does not."""

    count: int
    code: str | None = None
    reason: str = ""


def check_parcels(session: Session, last_hashes: dict[int, str]) -> StateCheck:
    """Every parcel against its last ledger event; `last_hashes` is each parcel's last event hash as a
    verified chain says (ledger.verify). Stops at the first parcel that does not agree."""
    sites = dict(session.execute(text("SELECT id, code FROM site")).all())
    users = dict(session.execute(text("SELECT id, username FROM user_account")).all())
    count = 0
    for row in session.execute(PARCELS, execution_options={"yield_per": 2000}).mappings():
        reason = _disagreement(row, last_hashes.get(row["id"]), sites, users)
        if reason:
            return StateCheck(count, row["code"], reason)
        count += 1
    return StateCheck(count)


def holder_text(state: str, site: str | None, user: str | None) -> str:
    """The holder as the ledger writes it (postal/custody/holdings.py Holdings.holder_text)."""
    if state in WITH_COURIER:
        return f"courier:{user}"
    if state == ParcelState.DELIVERED:
        return "citizen"
    if site is not None:
        return f"site:{site}"
    return "citizen" if state == ParcelState.CREATED else ""


def _disagreement(row, last_hash: str | None, sites: dict[int, str], users: dict[int, str]) -> str:
    """Why a parcel row does not agree with its last event ("" when it does)."""
    state = row["state"]
    site, user = row["holder_site_id"], row["holder_user_id"]
    if last_hash is None:
        if state != ParcelState.CREATED or row["last_hash"] or row["bag_id"] is not None or site or user:
            return f"it is {state} (last hash {row['last_hash'] or 'none'}) but the ledger has no event of it"
        return ""
    if row["last_hash"] != last_hash:
        return f"its last_hash {row['last_hash'] or 'none'} is not that of its last event in the ledger ({last_hash})"
    action = row["action"]
    if state not in STATES_AFTER.get(action, ()):
        after = " or ".join(sorted(STATES_AFTER.get(action, ()))) or "in no parcel state"
        return f"it is {state}, but its last event ({action}) leaves it {after}"
    held_by = holder_text(state, sites.get(site, site) if site is not None else None, users.get(user, user))
    held_by = unicodedata.normalize("NFC", held_by)  # as the ledger keeps it
    if held_by != row["to_holder"]:
        return (f"its row says it is held by {held_by or 'nobody'}, "
                f"its last event hands it to {row['to_holder'] or 'nobody'}")
    if state in (*WITH_COURIER, ParcelState.DELIVERED) and site is not None:
        return f"it is {state}, yet a site ({sites.get(site, site)}) is named as its holder"
    if state in (ParcelState.AT_SITE, ParcelState.DELIVERED) and user is not None:
        return f"it is {state}, yet a courier ({users.get(user, user)}) is named as its holder"
    if state == ParcelState.AWAITING_RECEIPT and user != row["actor_id"]:
        return f"it awaits receipt from the courier who handed it over, but names {users.get(user, user)}"
    in_bag = None if action == Action.UNBAG else row["moved_with"]
    if row["bag_id"] != in_bag:
        return f"its row puts it in bag {row['bag_id'] or 'none'}, its last event in bag {in_bag or 'none'}"
    return ""
