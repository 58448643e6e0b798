"""Printing at the counter: a parcel's label as a PDF (100×75 mm, or an A4 sheet of labels), the receipt and the
label bundled into one print, and the record of each label printed again (who, when, which size) — kept beside
the parcel, not in the custody ledger: a reprint moves nothing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session

from models import Dossier, LabelPrint, Parcel, Site, User
from models.counter import LabelPrintOut
from models.enums import REGISTRARS
from postal import db, dossiers, labels, scope
from postal.accounts import Actor
from postal.config import Settings
from postal.documents import label as label_paper_module
from postal.documents import receipt
from postal.documents.layout import PrintedDocument
from postal.errors import Forbidden

FORMATS = ("100x75", "a4")
MAX_COPIES = 8  # one A4 sheet of labels


def label_paper(session: Session, code: str, *, viewer: User | Actor, settings: Settings) -> label_paper_module.LabelPaper:
    """What a parcel's label prints, for a viewer who may see its dossier."""
    parcel = dossiers.parcel_for(session, code, viewer=viewer)
    dossier = session.get(Dossier, parcel.dossier_id)
    destination = session.get(Site, parcel.destination_id) if parcel.destination_id else None
    origin = session.get(Site, parcel.origin_id)
    return label_paper_module.LabelPaper(
        code=parcel.code, spaced=labels.spaced(parcel.code), qr_payload=labels.qr_payload(settings.label_key, parcel.code),
        modules=labels.barcode_modules(parcel.code),
        destination=destination.name if destination else "Người dân (giao tận nhà)", origin=origin.name,
        dossier_code=dossier.code, procedure=dossier.procedure,
    )


def label_pdf(session: Session, code: str, *, viewer: User | Actor, settings: Settings, format: str = "100x75",
              copies: int = 1) -> bytes:
    """The parcel's label as a PDF in one of FORMATS; reading it changes nothing."""
    paper = label_paper(session, code, viewer=viewer, settings=settings)
    return label_paper_module.render_label(paper, format=format, copies=copies, font_dir=settings.font_dir)


def bundle(slip: receipt.ReceiptSlip, label: label_paper_module.LabelPaper, *, font_dir: Path | None = None) -> bytes:
    """The receipt (A4) followed by the parcel's label (100×75 mm), as one document to print at once."""
    pdf = PrintedDocument(f"Giấy tiếp nhận và nhãn – {slip.dossier_code}", font_dir=font_dir, margins=(25, 15, 15, 18),
                          page_numbers=False)
    receipt.draw_receipt(pdf, slip)
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.add_page(format=label_paper_module.LABEL_SIZE)
    label_paper_module.draw_label(pdf, label, 0, 0, *label_paper_module.LABEL_SIZE)
    return pdf.output_bytes()


def record_print(session: Session, code: str, format: str, *, actor: User | Actor, now: datetime) -> LabelPrintOut:
    """Record that a clerk prints a parcel's label again; one unit of work."""
    if actor.role not in REGISTRARS:  # before looking the parcel up; scope.check_label_print in the unit of work
        raise Forbidden(role=actor.role)
    with db.writing(session):
        parcel = dossiers.get_parcel(session, code)
        dossier = session.get(Dossier, parcel.dossier_id)
        parcels = list(session.execute(select(Parcel).where(Parcel.dossier_id == dossier.id)).scalars())
        scope.check_label_print(session, actor, dossier, parcels)
        row = LabelPrint(parcel_id=parcel.id, printed_by_id=actor.id, printed_at=now, format=format)
        session.add(row)
        session.flush()
    return print_out(row, parcel.code, paper_name_of(session, actor.id))


def prints_of(session: Session, code: str, *, viewer: User | Actor) -> list[LabelPrintOut]:
    """Every reprint of a parcel's label, oldest first."""
    parcel = dossiers.parcel_for(session, code, viewer=viewer)
    rows = session.execute(select(LabelPrint, User).join(User, User.id == LabelPrint.printed_by_id)
                           .where(LabelPrint.parcel_id == parcel.id).order_by(LabelPrint.printed_at, LabelPrint.id)).all()
    return [print_out(row, parcel.code, user.full_name or user.username) for row, user in rows]


def paper_name_of(session: Session, user_id: int) -> str:
    user = session.get(User, user_id)
    return (user.full_name or user.username) if user else ""


def print_out(row: LabelPrint, code: str, who: str) -> LabelPrintOut:
    return LabelPrintOut(id=row.id, parcel=code, printed_by=who, printed_at=row.printed_at, format=row.format,
                         pdf_url=f"/api/v1/parcels/{code}/label.pdf?format={row.format}")
