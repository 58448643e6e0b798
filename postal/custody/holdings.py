"""What a batch reads, each once: the parcels and bags it names, the sites and people they involve; and the
three ways custody puts where a thing is into words (a refusal, the ledger, the device's answer)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from sqlmodel import Session

from models import BagState, ParcelState
from models.moved import SiteRef
from postal import db, labels
from postal.custody.values import BagHolding, Holding
from postal.errors import N_, Phrase
from postal.runs import manifests

WITH_COURIER = (ParcelState.IN_TRANSIT, ParcelState.OUT_FOR_DELIVERY)
BAG_SQL = "SELECT id, code, state, holder_site_id, holder_user_id, seal, contents, awaiting_receipt FROM bag WHERE code {match}{lock}"
PARCEL_SQL = ("SELECT p.id, p.code, p.state, p.holder_site_id, p.holder_user_id, p.bag_id, p.last_hash, p.direction, "
              "p.dossier_id, p.last_event_at, p.destination_id, d.center_id "
              "FROM parcel p LEFT JOIN dossier d ON d.id = p.dossier_id WHERE p.code {match}{lock}")
# PostgreSQL: the rows a batch judges are locked, in one order (bags, then parcels, each by id) so two batches
# never wait for each other in a circle; the parcel's own lock serialises its scans, not the chain head.
BAG_LOCK = " ORDER BY id FOR UPDATE"
PARCEL_LOCK = " ORDER BY p.id FOR UPDATE OF p"
SITE_SQL = "SELECT id, code, name, kind FROM site WHERE {column} {match}"


class BagRow(NamedTuple):
    id: int
    code: str
    state: str
    holder_site_id: int | None
    holder_user_id: int | None
    seal: str | None
    contents: str
    awaiting_receipt: bool


class ParcelRow(NamedTuple):
    id: int
    code: str
    state: str
    holder_site_id: int | None
    holder_user_id: int | None
    bag_id: int | None
    last_hash: str | None
    direction: str
    dossier_id: int | None
    last_event_at: object
    destination_id: int | None
    center_id: int | None


def bag_state(holder_site_id: int | None, holder_user_id: int | None, awaiting_receipt: bool) -> str:
    """A bag's custody state, in the parcels' vocabulary."""
    if holder_user_id is not None and holder_site_id is None:
        return ParcelState.IN_TRANSIT
    if awaiting_receipt:
        return ParcelState.AWAITING_RECEIPT
    return ParcelState.AT_SITE


class Holdings:
    """The rows one batch works on, read in a few queries and kept in memory until it is written."""

    def __init__(self, session: Session, actor) -> None:
        self.session = session
        self.parcels: dict[str, Holding] = {}
        self.bags: dict[str, BagHolding] = {}
        self.bag_ids: dict[int, BagHolding] = {}
        self.sites: dict[int, SiteRef] = {}
        self.site_codes: dict[str, SiteRef] = {}
        self.usernames: dict[int, str] = {actor.id: actor.username} if actor is not None else {}
        self.network = None  # the runs' links, read when a destination is first checked

    # -- reading -------------------------------------------------------------------------------
    def load(self, codes: set[str], *, lock: bool = True) -> None:
        """Read every parcel and bag the batch names, the parcels inside those bags, and their holders; locked
        (PostgreSQL) unless `lock` is False, for rows only answered about, never judged."""
        lock = lock and not db.is_sqlite(self.session)  # SQLite: the batch holds the one writer's lock
        bag_codes = [c for c in codes if c.startswith(labels.BAG_PREFIX) and c not in self.bags]
        if bag_codes:
            match, param = db.any_of(self.session, bag_codes)
            for r in db.raw(self.session, BAG_SQL.format(match=match, lock=BAG_LOCK if lock else ""), (param,)).into(BagRow):
                bag = BagHolding(id=r.id, code=r.code, state=bag_state(r.holder_site_id, r.holder_user_id, r.awaiting_receipt),
                                 holder_site_id=r.holder_site_id, holder_user_id=r.holder_user_id, seal=r.seal,
                                 contents=r.contents.split(), opened=r.state == BagState.OPENED)
                self.bags[bag.code] = self.bag_ids[bag.id] = bag
                codes.update(bag.contents)
        wanted = [c for c in codes if c not in self.parcels and not c.startswith(labels.BAG_PREFIX)]
        if wanted:
            match, param = db.any_of(self.session, wanted)
            for r in db.raw(self.session, PARCEL_SQL.format(match=match, lock=PARCEL_LOCK if lock else ""), (param,)).into(ParcelRow):
                self.parcels[r.code] = Holding(r.id, r.code, r.state, r.holder_site_id, r.holder_user_id, r.bag_id,
                                               last_hash=r.last_hash or "", direction=r.direction,
                                               dossier_id=r.dossier_id, last_event_at=r.last_event_at,
                                               destination_id=r.destination_id, center_id=r.center_id)
        held = [*self.parcels.values(), *self.bags.values()]
        self.remember_users({h.holder_user_id for h in held if h.holder_user_id})
        self.load_sites(ids={h.holder_site_id for h in held if h.holder_site_id})

    def load_sites(self, *, ids: Iterable[int] = (), codes: Iterable[str] = ()) -> None:
        """Read the sites named here that the batch has not read yet (never the whole network)."""
        for column, wanted in (("id", {i for i in ids if i not in self.sites}),
                               ("code", {c for c in codes if c not in self.site_codes})):
            if wanted:
                match, param = db.any_of(self.session, sorted(wanted))
                for row in db.raw(self.session, SITE_SQL.format(column=column, match=match), (param,)):
                    site = SiteRef(*row)
                    self.sites[site.id] = self.site_codes[site.code] = site

    def site(self, site_id: int) -> SiteRef:
        if site_id not in self.sites:
            self.load_sites(ids=[site_id])
        return self.sites[site_id]

    def site_by_code(self, code: str) -> SiteRef | None:
        for candidate in dict.fromkeys((code.strip().upper(), code.strip())):
            if candidate not in self.site_codes:
                self.load_sites(codes=[candidate])
            if candidate in self.site_codes:
                return self.site_codes[candidate]
        return None

    def transfer_points(self, destination_id: int) -> frozenset[int]:
        """The hubs whose runs stop at this destination: a parcel may change runs there on its way."""
        if self.network is None:
            self.network = manifests.network(self.session, cached=True)
        return frozenset(hub for hub, spokes in self.network.spokes.items() if destination_id in spokes)

    def remember_users(self, ids: Iterable[int]) -> None:
        missing = [i for i in ids if i not in self.usernames]
        if missing:
            match, param = db.any_of(self.session, missing)
            rows = db.raw(self.session, f"SELECT id, username FROM user_account WHERE id {match}", (param,))
            self.usernames.update((uid, name) for uid, name in rows)

    # -- words -----------------------------------------------------------------------------------
    def site_name(self, site_id: int | None) -> str:
        return self.site(site_id).name if site_id is not None else "?"

    def describe(self, h: Holding) -> Phrase:
        """The parcel's real state, in words, for a refusal message."""
        courier = self.usernames.get(h.holder_user_id, "?")
        if h.state == ParcelState.CREATED:
            return Phrase(N_("chưa được tiếp nhận"))
        if h.state == ParcelState.AT_SITE:
            return Phrase(N_("đang ở %(site)s"), site=self.site_name(h.holder_site_id))
        if h.state == ParcelState.IN_TRANSIT:
            return Phrase(N_("đang do bưu tá %(courier)s giữ"), courier=courier)
        if h.state == ParcelState.AWAITING_RECEIPT:
            return Phrase(N_("đang chờ %(site)s xác nhận nhận"), site=self.site_name(h.holder_site_id))
        if h.state == ParcelState.MISSING:
            return Phrase(N_("đang bị báo thất lạc"))
        if h.state == ParcelState.OUT_FOR_DELIVERY:
            return Phrase(N_("đang được bưu tá %(courier)s giao"), courier=courier)
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
            return f"site:{self.site(h.holder_site_id).code}"
        return "citizen" if h.state == ParcelState.CREATED else ""

    def brief(self, h: Holding | None) -> dict | None:
        """A parcel's state and holder, as answered to the device."""
        if h is None:
            return None
        if h.state in WITH_COURIER:
            name = self.usernames.get(h.holder_user_id, "?")
            holder = {"type": "courier", "code": name, "name": name}
        elif h.holder_site_id is not None:
            site = self.site(h.holder_site_id)
            holder = {"type": "site", "code": site.code, "name": site.name}
        else:
            holder = {"type": "none", "code": None, "name": None}
        bag = self.bag_ids[h.bag_id].code if h.bag_id in self.bag_ids else None
        return {"code": h.code, "state": h.state, "holder": holder, "bag": bag}

    def brief_bag(self, bag: BagHolding | None) -> dict | None:
        if bag is None:
            return None
        return {**self.brief(bag), "seal": bag.seal, "opened": bag.opened, "parcels": bag.contents}
