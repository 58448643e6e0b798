"""The procedure catalogue (danh mục thủ tục hành chính) as the admin keeps it: listed by agency, created, edited,
taken out of the counters' lists and brought back, every change in the audit log. A procedure is never deleted:
the dossiers received under it keep its name, its agency and its time (the receipt reprints them), so a procedure
in use keeps its name and agency too; a new one replaces it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlmodel import Session

from models import Dossier, Procedure, Site, SiteKind
from models.counter import ProcedureCatalogueOut, ProcedureIn, ProcedureRowOut
from postal import changes, db, dossiers
from postal.changes import Person
from postal.errors import N_, InvalidPayload, NotFound, Phrase, PostalError, ProcedureExists, ProcedureInUse, Unprocessable, detail_of


def catalogue(session: Session, *, agency: str | None = None, active: bool | None = None) -> ProcedureCatalogueOut:
    """The procedures (of one agency, and only the active or stopped ones when asked), by agency then name."""
    query = select(Procedure).order_by(Procedure.agency_id, Procedure.name, Procedure.id)
    if agency:
        query = query.where(Procedure.agency_id == agency_site(session, agency).id)
    if active is not None:
        query = query.where(Procedure.active.is_(active))
    rows = list(session.execute(query).scalars())
    used = dict(((name, agency_id), count) for name, agency_id, count in session.execute(
        select(Dossier.procedure, Dossier.agency_id, func.count()).group_by(Dossier.procedure, Dossier.agency_id)))
    places = db.ById(session, Site)
    return ProcedureCatalogueOut(procedures=[row_out(p, places, used.get((p.name, p.agency_id), 0)) for p in rows])


def row_out(procedure: Procedure, places: dict[int, Site], used: int) -> ProcedureRowOut:
    agency = places[procedure.agency_id]
    return ProcedureRowOut(id=procedure.id, name=procedure.name, agency=agency.code, agency_name=agency.name,
                           processing_days=procedure.processing_days, active=procedure.active, dossiers=used,
                           collect_fee_vnd=procedure.collect_fee_vnd,
                           site=places[procedure.site_id].code if procedure.site_id else None)


def one(session: Session, procedure_id: int) -> ProcedureRowOut:
    """One procedure as the catalogue lists it."""
    procedure = procedure_numbered(session, procedure_id)
    places = {s.id: s for s in session.execute(select(Site).where(
        Site.id.in_({procedure.agency_id, procedure.site_id or procedure.agency_id}))).scalars()}
    return row_out(procedure, places, dossiers_under(session, procedure))


def procedure_numbered(session: Session, procedure_id: int) -> Procedure:
    procedure = session.get(Procedure, procedure_id) if 0 < procedure_id < 2**31 else None
    if procedure is None:
        raise NotFound(what=Phrase(N_("thủ tục")), code=str(procedure_id))
    return procedure


def agency_site(session: Session, code: str) -> Site:
    site = dossiers.site_by_code(session, code.strip().upper(), "agency")
    if site.kind != SiteKind.AGENCY:
        raise Unprocessable(field="agency", detail=Phrase(N_("%(code)s không phải cơ quan giải quyết"), code=site.code))
    return site


def receiving_site(session: Session, code: str | None) -> Site | None:
    if not (code or "").strip():
        return None
    site = dossiers.site_by_code(session, code.strip().upper(), "site")
    if site.kind not in dossiers.RECEIVING_KINDS:
        raise Unprocessable(field="site", detail=Phrase(N_("%(code)s không phải nơi tiếp nhận hồ sơ"), code=site.code))
    return site


def dossiers_under(session: Session, procedure: Procedure) -> int:
    """How many dossiers were received under the procedure (dossiers keep its name and agency)."""
    return session.execute(select(func.count()).select_from(Dossier).where(
        Dossier.procedure == procedure.name, Dossier.agency_id == procedure.agency_id)).scalar_one()


def fields_of(session: Session, procedure: Procedure) -> dict:
    """A procedure as the audit log keeps it."""
    site = session.get(Site, procedure.site_id) if procedure.site_id else None
    return {"name": procedure.name, "agency": session.get(Site, procedure.agency_id).code,
            "processing_days": procedure.processing_days, "site": site.code if site else None,
            "collect_fee_vnd": procedure.collect_fee_vnd, "active": procedure.active}


def same_named(session: Session, name: str, agency: Site) -> Procedure | None:
    return session.execute(select(Procedure).where(Procedure.name == name, Procedure.agency_id == agency.id)
                           .order_by(Procedure.id)).scalars().first()


def fill(session: Session, procedure: Procedure, data: ProcedureIn) -> None:
    """Put what the admin gave into the procedure, refusing a name or agency another procedure already has."""
    name, agency, site = " ".join(data.name.split()), agency_site(session, data.agency), receiving_site(session, data.site)
    if not name:
        raise Unprocessable(field="name", detail=Phrase(N_("cần ghi tên thủ tục")))
    twin = same_named(session, name, agency)
    if twin is not None and twin.id != procedure.id:
        raise ProcedureExists(name=name, agency=agency.name, id=twin.id)
    renamed = procedure.id is not None and (name, agency.id) != (procedure.name, procedure.agency_id)
    if renamed and (count := dossiers_under(session, procedure)):
        raise ProcedureInUse(id=procedure.id, count=count)
    procedure.name, procedure.agency_id, procedure.processing_days = name, agency.id, data.processing_days
    procedure.site_id = site.id if site else None
    procedure.collect_fee_vnd = data.collect_fee_vnd or None  # nought asks for nothing


def create(session: Session, data: ProcedureIn, *, by: Person | None, at: datetime) -> ProcedureRowOut:
    """A new procedure of the catalogue, offered at the counters at once."""
    with db.writing(session):
        procedure = Procedure(name="", agency_id=0, processing_days=0)
        fill(session, procedure, data)
        session.add(procedure)
        session.flush()
        changes.record(session, by, "procedure", procedure.id, "created", after=fields_of(session, procedure), at=at)
    return one(session, procedure.id)


def edit(session: Session, procedure_id: int, data: ProcedureIn, *, by: Person | None, at: datetime) -> ProcedureRowOut:
    """Change a procedure: its time and where it is received always; its name and agency while no dossier has it."""
    with db.writing(session):
        procedure = procedure_numbered(session, procedure_id)
        before = fields_of(session, procedure)
        fill(session, procedure, data)
        session.add(procedure)
        old, new = changes.differences(before, fields_of(session, procedure))
        if new:
            changes.record(session, by, "procedure", procedure.id, "edited", before=old, after=new, at=at)
    return one(session, procedure_id)


def set_active(session: Session, procedure_id: int, active: bool, *, by: Person | None, at: datetime) -> ProcedureRowOut:
    """Take a procedure out of the counters' lists (the dossiers under it keep it), or bring it back."""
    with db.writing(session):
        procedure = procedure_numbered(session, procedure_id)
        if procedure.active != active:
            procedure.active = active
            session.add(procedure)
            changes.record(session, by, "procedure", procedure.id, "reactivated" if active else "deactivated",
                           before={"active": not active}, after={"active": active}, at=at)
    return one(session, procedure_id)


@dataclass(frozen=True)
class Imported:
    """What became of one line of a catalogue file: created, edited, unchanged, or refused with the reason."""

    line: int
    name: str
    outcome: str
    error: PostalError | None = None


def import_rows(session: Session, rows: Iterable[tuple[int, dict]], *, by: Person | None,
                at: datetime) -> list[Imported]:
    """Save each line (name, agency, processing_days, site) by its name and agency: a new procedure, or the same
    one with its new time and site, each change audited; a refused line is reported and the others are kept. One
    unit of work for the file."""
    done: list[Imported] = []
    with db.writing(session):
        for line, record in rows:
            try:
                data = ProcedureIn.model_validate({k: v for k, v in record.items() if v not in (None, "")})
            except ValidationError as err:
                done.append(Imported(line, str(record.get("name") or ""), "invalid",
                                     InvalidPayload(detail=detail_of(err.errors()[0]))))
                continue
            try:
                with session.begin_nested():
                    done.append(Imported(line, data.name, upsert(session, data, by=by, at=at)))
            except PostalError as err:
                done.append(Imported(line, data.name, "invalid", err))
    return done


def upsert(session: Session, data: ProcedureIn, *, by: Person | None, at: datetime) -> str:
    twin = same_named(session, " ".join(data.name.split()), agency_site(session, data.agency))
    if twin is None:
        create(session, data, by=by, at=at)
        return "created"
    before = fields_of(session, twin)
    edit(session, twin.id, data, by=by, at=at)
    if not twin.active:
        set_active(session, twin.id, True, by=by, at=at)
    return "unchanged" if fields_of(session, twin) == before else "edited"
