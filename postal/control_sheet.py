"""The control sheet (Phiếu kiểm soát quá trình giải quyết hồ sơ, mẫu 05, Circular 01/2018/TT-VPCP) of a dossier.

One sheet per dossier, covering every parcel of it (the dossier going out, the result coming back) in time order.
Each row is one handoff: "Giao:" the unit and the person who really gave it, "Nhận:" the unit and the person who
took it (full names, never logins), the time, the result against the due date (trước hạn / đúng hạn / quá hạn) and
notes. A handover and the receiver's confirmation are one handoff, as are a result put into the post at an agency
and the courier taking it. The dossier page and the PDF print these same rows; words come back as Phrases for the
page to translate (the PDF prints them in Vietnamese).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from models import Action, Direction, Dossier, Role, Site, User
from models.dossiers import DossierOut, EventOut, ParcelOut
from postal import dossiers, documents, sites
from postal.accounts import Actor, paper_name
from postal.clock import local
from postal.config import Settings
from postal.custody import ACTION_NAMES
from postal.errors import N_, Phrase

Text = Phrase | str  # words to translate, or a name shown as it is
CITIZEN = N_("Công dân")
POST = N_("Bưu điện")
NOBODY = "—"
AWAITING_RECEIPT = Phrase(N_("chờ bên nhận xác nhận"))
AWAITING_COURIER = Phrase(N_("chờ bưu tá nhận chuyển"))
FROM_CITIZEN = (Direction.TO_AGENCY, Direction.FROM_CITIZEN)  # a parcel the citizen hands in


@dataclass(frozen=True)
class Party:
    """One side of a handoff: the unit, and the person acting for it by full name (None: not known)."""

    unit: Text
    person: str | None = None
    courier: bool = False

    @property
    def words(self) -> Text:
        """'Sở Tư pháp (Vũ Thùy Linh)', 'Bưu điện tỉnh (bưu tá Nguyễn Văn Anh)', or the unit alone."""
        if self.person is None:
            return self.unit
        if self.courier:
            return Phrase(N_("%(unit)s (bưu tá %(name)s)"), unit=self.unit, name=self.person)
        return Phrase(N_("%(unit)s (%(name)s)"), unit=self.unit, name=self.person)


@dataclass(frozen=True)
class SheetRow:
    """One handoff as the control sheet lists it: from whom to whom, when, and how it stood."""

    parcel: str
    action: str  # the scan that began the handoff
    giver: Party  # "Giao:"
    receiver: Party  # "Nhận:"
    at: datetime
    result: Phrase  # trước hạn / đúng hạn / quá hạn
    notes: tuple[Text, ...]


@dataclass(frozen=True)
class ControlSheet:
    """A dossier's page and paper: the dossier, its parcels, and the control sheet's rows in time order."""

    dossier: DossierOut
    parcels: list[ParcelOut]
    rows: list[SheetRow]
    province: str


@dataclass(frozen=True)
class ParcelPage:
    """A parcel's page: its dossier (whose control sheet it links to) and the parcel."""

    dossier: DossierOut
    parcel: ParcelOut


def for_parcel(session: Session, code: str, *, viewer: User | Actor, settings: Settings, now: datetime) -> ParcelPage:
    """One parcel and its dossier, for a viewer who may see the dossier."""
    found = dossiers.get_parcel(session, code)
    dossier_code = session.get(Dossier, found.dossier_id).code
    detail = dossiers.dossier_detail(session, dossier_code, viewer=viewer, settings=settings, now=now)
    return ParcelPage(detail.dossier, next(p for p in detail.parcels if p.code == found.code))


def for_dossier(session: Session, code: str, *, viewer: User | Actor, settings: Settings, now: datetime) -> ControlSheet:
    """The control sheet of a dossier, every parcel's handoffs in time order, for a viewer who may see it."""
    detail = dossiers.dossier_detail(session, code, viewer=viewer, settings=settings, now=now)
    people = People.of(session, detail.parcels)
    found: list[Draft] = []
    for parcel in detail.parcels:
        found += Reader(parcel, detail.dossier, people).read()
    found.sort(key=lambda d: (d.at, d.seq))
    return ControlSheet(detail.dossier, detail.parcels, [d.row(detail.dossier.due_at) for d in found], settings.province)


def render_pdf(session: Session, code: str, *, viewer: User | Actor, settings: Settings, now: datetime) -> bytes:
    """The dossier's control sheet as the A4 paper of mẫu 05, with the same rows as its page."""
    sheet = for_dossier(session, code, viewer=viewer, settings=settings, now=now)
    d = sheet.dossier
    return documents.render_control_sheet(font_dir=settings.font_dir, paper=documents.ControlSheetPaper(
        province_body=f"UBND tỉnh {sheet.province}", unit_name=d.center.name, dossier_code=d.code,
        procedure=d.procedure, applicant_name=d.applicant.name, agency_name=d.agency.name,
        received_at=d.received_at, due_at=d.due_at,
        lines=[documents.SheetLine(giver=str(r.giver.words), receiver=str(r.receiver.words), at=r.at,
                                   result=str(r.result), notes="; ".join([f"Bì {r.parcel}", *map(str, r.notes)]))
               for r in sheet.rows],
        printed_at=now, printed_by=paper_name(viewer),
    ))


def timeliness(at: datetime, due_at: datetime) -> Phrase:
    """Before, on or after the appointment day (trước hạn / đúng hạn / quá hạn)."""
    if at > due_at:
        return Phrase(N_("Quá hạn"))
    if local(at).date() == local(due_at).date():
        return Phrase(N_("Đúng hạn"))
    return Phrase(N_("Trước hạn"))


def minute(at: datetime) -> str:
    """HH:MM dd/mm/yyyy, as the sheet writes a time inside a note."""
    return local(at).strftime("%H:%M %d/%m/%Y")


@dataclass(frozen=True)
class People:
    """The staff and sites a dossier's events name, to write them as units and full names."""

    users: dict[str, User]  # by username, as the ledger records actors and couriers
    sites: dict[str, Site]  # by code
    site_names: dict[int, str]

    @classmethod
    def of(cls, session: Session, parcels: list[ParcelOut]) -> People:
        names = {e.actor for p in parcels for e in p.timeline if e.actor}
        names |= {h.partition(":")[2] for p in parcels for e in p.timeline for h in (e.from_holder, e.to_holder)
                  if h.startswith("courier:")}
        users = {u.username: u for u in session.execute(select(User).where(User.username.in_(sorted(names)))).scalars()}
        network = sites.by_code(session)
        return cls(users, network, {s.id: s.name for s in network.values()})

    def site(self, code: str | None) -> Party:
        return Party(self.sites[code].name if code in self.sites else NOBODY)

    def clerk(self, username: str | None, code: str | None) -> Party:
        """Someone working at a site, named for it."""
        return replace(self.site(code), person=paper_name(self.users.get(username or "")))

    def courier(self, username: str | None) -> Party:
        """A courier, named for the post office they work from."""
        user = self.users.get(username or "")
        office = self.site_names.get(user.site_id) if user is not None and user.site_id else None
        return Party(office or Phrase(POST), paper_name(user), courier=True)

    def by_role(self, username: str | None, code: str | None) -> Party:
        user = self.users.get(username or "")
        return self.courier(username) if user is not None and user.role == Role.COURIER else self.clerk(username, code)

    def holder(self, holder: str) -> Party:
        """A ledger holder (`site:CODE`, `courier:username`, `citizen`) as a party, the person unknown for a site."""
        kind, _, key = holder.partition(":")
        if kind == "site":
            return self.site(key)
        if kind == "courier":
            return self.courier(key)
        if kind == "citizen":
            return Party(Phrase(CITIZEN))
        return Party(NOBODY)


@dataclass
class Draft:
    """A row being read: a handoff may wait for its other side (a receipt, a courier) before it is whole."""

    parcel: str
    action: str
    giver: Party
    receiver: Party
    at: datetime
    seq: int
    notes: list[Text] = field(default_factory=list)

    def row(self, due_at: datetime) -> SheetRow:
        return SheetRow(parcel=self.parcel, action=self.action, giver=self.giver, receiver=self.receiver, at=self.at,
                        result=timeliness(self.at, due_at), notes=tuple(self.notes))


class Reader:
    """Reads one parcel's events as handoffs, keeping who holds it and the handoff still waiting for a side."""

    def __init__(self, parcel: ParcelOut, dossier: DossierOut, people: People) -> None:
        self.parcel, self.dossier, self.people = parcel, dossier, people
        self.rows: list[Draft] = []
        self.keeper: Party | None = None  # the clerk who holds it at a site
        self.carrier: Party | None = None  # the courier who carries it
        self.waiting: Draft | None = None  # a handover not yet confirmed, or a result not yet collected
        self.waiting_at: str | None = None  # the site of that handover

    def read(self) -> list[Draft]:
        for e in self.parcel.timeline:
            draft = self.event(e)
            if (e.evidence or {}).get("typed"):
                draft.notes.append(Phrase(N_("nhập mã bằng tay")))
            elif (e.evidence or {}).get("barcode"):
                draft.notes.append(Phrase(N_("đọc mã vạch")))
        return self.rows

    def add(self, e: EventOut, giver: Party, receiver: Party, *notes: Text) -> Draft:
        draft = Draft(self.parcel.code, e.action, giver, receiver, e.at, e.seq, [e.note] if e.note else [])
        draft.notes += notes
        self.rows.append(draft)
        return draft

    def event(self, e: EventOut) -> Draft:
        """The row an event makes or completes."""
        site = e.site.code if e.site else None
        if e.action == Action.ACCEPT:
            return self.accept(e, site)
        if e.action in (Action.PICKUP, Action.OUT_FOR_DELIVERY):
            return self.collect(e)
        if e.action == Action.HANDOVER:
            courier = self.carrier = self.people.courier(e.actor)
            self.waiting, self.waiting_at = self.add(e, courier, self.people.site(site), AWAITING_RECEIPT), site
            return self.waiting
        if e.action == Action.RECEIVE:
            return self.receive(e, site)
        if e.action == Action.DELIVER:
            return self.deliver(e, site)
        return self.other(e, site)

    def accept(self, e: EventOut, site: str | None) -> Draft:
        """Handed in by the citizen; or, for a result, put into the post by the clerk of the unit that made it."""
        clerk = self.keeper = self.people.clerk(e.actor, site)
        if self.parcel.direction in FROM_CITIZEN:
            return self.add(e, Party(Phrase(CITIZEN), self.dossier.applicant.name), clerk)
        self.waiting, self.waiting_at = self.add(e, clerk, Party(Phrase(POST)), AWAITING_COURIER), None
        return self.waiting

    def collect(self, e: EventOut) -> Draft:
        """A courier takes the parcel from a site: completes a result waiting there, or is a handoff of its own."""
        courier = self.carrier = self.people.courier(e.actor)
        extra = [Phrase(ACTION_NAMES[Action.OUT_FOR_DELIVERY])] if e.action == Action.OUT_FOR_DELIVERY else []
        waiting, self.waiting, keeper, self.keeper = self.waiting, None, self.keeper, None
        if waiting is not None and waiting.action == Action.ACCEPT:
            waiting.notes.remove(AWAITING_COURIER)
            waiting.notes += [Phrase(N_("vào bì lúc %(at)s"), at=minute(waiting.at)), *extra]
            waiting.action, waiting.receiver, waiting.at, waiting.seq = e.action, courier, e.at, e.seq
            return waiting
        return self.add(e, keeper or self.people.holder(e.from_holder), courier, *extra)

    def receive(self, e: EventOut, site: str | None) -> Draft:
        """The receiver's confirmation: completes the courier's handover there, or stands alone."""
        clerk = self.keeper = self.people.clerk(e.actor, site)
        waiting, self.waiting, carrier, self.carrier = self.waiting, None, self.carrier, None
        if waiting is not None and waiting.action == Action.HANDOVER and self.waiting_at == site:
            waiting.notes.remove(AWAITING_RECEIPT)
            if minute(e.at) != minute(waiting.at):
                waiting.notes.append(Phrase(N_("bên nhận xác nhận lúc %(at)s"), at=minute(e.at)))
            waiting.receiver = clerk
            return waiting
        return self.add(e, carrier or self.people.holder(e.from_holder), clerk,
                        Phrase(N_("chỉ bên nhận xác nhận (không có lần quét bàn giao)")))

    def deliver(self, e: EventOut, site: str | None) -> Draft:
        """The result handed to the citizen, at the door by the courier or at the counter by a clerk."""
        if self.waiting is not None and self.waiting.action == Action.ACCEPT:
            self.rows.remove(self.waiting)  # put into the post and handed over at once: one handoff
        self.waiting = None
        giver = self.people.by_role(e.actor, site)
        recipient = (e.evidence or {}).get("recipient_name") or self.dossier.applicant.name
        self.keeper = self.carrier = None
        return self.add(e, giver, Party(Phrase(CITIZEN), recipient))

    def other(self, e: EventOut, site: str | None) -> Draft:
        """Not a handoff between units (a redirect, a loss, a bag, a failed delivery): the holder, and what happened."""
        evidence = e.evidence or {}
        actor = paper_name(self.people.users.get(e.actor or ""))
        holder = self.keeper or self.carrier or self.people.holder(e.from_holder)
        if e.action == Action.REDIRECT:
            names = self.people.sites
            moved = {k: names[evidence[k]].name if evidence.get(k) in names else NOBODY for k in ("from", "to")}
            words = (Phrase(N_("đổi nơi nhận: %(old)s → %(new)s, do %(user)s ghi"), old=moved["from"], new=moved["to"],
                            user=actor) if actor else
                     Phrase(N_("đổi nơi nhận: %(old)s → %(new)s"), old=moved["from"], new=moved["to"]))
            return self.add(e, holder, holder, words)
        name = ACTION_NAMES.get(e.action)
        what = Phrase(name) if name else e.action
        notes: list[Text] = [Phrase(N_("%(action)s, quét bởi %(user)s"), action=what, user=actor) if actor else what]
        if evidence.get("missing"):
            notes.append(Phrase(N_("thiếu: %(codes)s"), codes=", ".join(evidence["missing"])))
        if e.action == Action.REPORT_MISSING:
            self.waiting = self.keeper = self.carrier = None
        taker = self.people.holder(e.to_holder)
        if e.action == Action.FOUND:
            taker = self.keeper = self.people.clerk(e.actor, site)
        elif e.to_holder == e.from_holder:
            taker = holder
        return self.add(e, holder, taker, *notes)
