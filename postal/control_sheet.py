"""The control sheet (Phiếu kiểm soát quá trình giải quyết hồ sơ, mẫu 05): a parcel's custody events as its rows.

Each handoff reads "Giao:" / "Nhận:" (the units), the time, the giver and the receiver, the result against the
due date (trước hạn / đúng hạn / quá hạn) and a note. Words come back as Phrases for the page to translate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from models import Action, Dossier, User
from models.dossiers import DossierOut, EventOut, ParcelOut
from postal import dossiers, sites
from postal.clock import local
from postal.config import Settings
from postal.custody import ACTION_NAMES
from postal.errors import N_, Phrase

Text = Phrase | str  # words to translate, or a name shown as it is
CITIZEN = N_("Công dân")
NOBODY = "—"


@dataclass(frozen=True)
class SheetRow:
    """One handoff as the control sheet lists it: from whom to whom, when, and how it stood."""

    action: str
    handed_by: Text  # "Giao:" the unit or person handing over
    taken_by: Text  # "Nhận:" the unit or person taking over
    at: datetime
    giver: str
    receiver: str
    result: Phrase  # trước hạn / đúng hạn / quá hạn
    notes: tuple[Text, ...]


@dataclass(frozen=True)
class ParcelSheet:
    """A parcel's page: its dossier, the parcel and its control sheet."""

    dossier: DossierOut
    parcel: ParcelOut
    rows: list[SheetRow]


@dataclass(frozen=True)
class DossierSheets:
    """A dossier's page: the dossier, its parcels and each parcel's control sheet by parcel code."""

    dossier: DossierOut
    parcels: list[ParcelOut]
    sheets: dict[str, list[SheetRow]]


def for_parcel(session: Session, code: str, *, viewer: User, settings: Settings, now: datetime) -> ParcelSheet:
    """The control sheet of one parcel, for a viewer who may see its dossier."""
    found = dossiers.get_parcel(session, code)
    dossier_code = session.get(Dossier, found.dossier_id).code
    detail = dossiers.dossier_detail(session, dossier_code, viewer=viewer, settings=settings, now=now)
    shown = next(p for p in detail.parcels if p.code == found.code)
    return ParcelSheet(detail.dossier, shown, rows(shown, detail.dossier, site_names(session)))


def for_dossier(session: Session, code: str, *, viewer: User, settings: Settings, now: datetime) -> DossierSheets:
    """The control sheets of every parcel of a dossier, for a viewer who may see it."""
    detail = dossiers.dossier_detail(session, code, viewer=viewer, settings=settings, now=now)
    names = site_names(session)
    sheets = {p.code: rows(p, detail.dossier, names) for p in detail.parcels}
    return DossierSheets(detail.dossier, detail.parcels, sheets)


def site_names(session: Session) -> dict[str, str]:
    return {c: s.name for c, s in sites.by_code(session).items()}


def holder_words(holder: str, names: Mapping[str, str]) -> Text:
    """A ledger holder (`site:CODE`, `courier:username`, `citizen`) as the sheet names it."""
    kind, _, key = holder.partition(":")
    if kind == "site":
        return names.get(key, key)
    if kind == "courier":
        return Phrase(N_("Bưu tá %(name)s"), name=key)
    if kind == "citizen":
        return Phrase(CITIZEN)
    return NOBODY


def timeliness(at: datetime, due_at: datetime) -> Phrase:
    """Before, on or after the appointment day (trước hạn / đúng hạn / quá hạn)."""
    if at > due_at:
        return Phrase(N_("Quá hạn"))
    if local(at).date() == local(due_at).date():
        return Phrase(N_("Đúng hạn"))
    return Phrase(N_("Trước hạn"))


def rows(parcel: ParcelOut, dossier: DossierOut, names: Mapping[str, str]) -> list[SheetRow]:
    """The parcel's custody events read as the rows of the control sheet."""
    out = []
    last_courier = ""  # who carried it last: the giver of a receipt confirmed by the receiver alone
    for e in parcel.timeline:
        row, last_courier = row_of(e, dossier, names, last_courier)
        out.append(row)
    return out


def row_of(e: EventOut, dossier: DossierOut, names: Mapping[str, str], last_courier: str) -> tuple[SheetRow, str]:
    """One event's row, and who carried the parcel last once it happened."""
    evidence = e.evidence or {}
    giver, receiver, actor = "", "", e.actor or ""
    handed_by, taken_by = holder_words(e.from_holder, names), holder_words(e.to_holder, names)
    notes: list[Text] = [e.note] if e.note else []
    if e.action == Action.ACCEPT:
        handed_by, giver, receiver = Phrase(CITIZEN), dossier.applicant.name, actor
    elif e.action == Action.PICKUP:
        receiver = last_courier = actor
    elif e.action == Action.HANDOVER:
        giver = last_courier = actor
        notes.append(Phrase(N_("chờ bên nhận xác nhận")))
    elif e.action == Action.RECEIVE:
        courier = e.from_holder.partition(":")[2] if e.from_holder.startswith("courier:") else last_courier
        handed_by = holder_words(f"courier:{courier}", names) if courier else handed_by
        giver, receiver = courier, actor
        if evidence.get("receiver_only"):
            notes.append(Phrase(N_("chỉ bên nhận xác nhận (không có lần quét bàn giao)")))
    elif e.action == Action.REDIRECT:
        notes.append(Phrase(N_("đổi nơi nhận: %(old)s → %(new)s, do %(user)s ghi"),
                            old=names.get(evidence.get("from", ""), NOBODY), new=names.get(evidence.get("to", ""), NOBODY),
                            user=actor or "?"))
    else:
        name = ACTION_NAMES.get(e.action)
        notes.append(Phrase(N_("%(action)s, quét bởi %(user)s"), action=Phrase(name) if name else e.action,
                            user=e.actor or "?"))
        if evidence.get("missing"):
            notes.append(Phrase(N_("thiếu: %(codes)s"), codes=", ".join(evidence["missing"])))
    if evidence.get("typed"):
        notes.append(Phrase(N_("nhập mã bằng tay")))
    row = SheetRow(action=e.action, handed_by=handed_by, taken_by=taken_by, at=e.at, giver=giver or NOBODY,
                   receiver=receiver or NOBODY, result=timeliness(e.at, dossier.due_at), notes=tuple(notes))
    return row, last_courier
