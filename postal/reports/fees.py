"""The statement of fees collected at the door on an agency's behalf (bảng kê phí thu hộ): per agency and period,
each home delivery's procedure fee and delivery fee against what the courier received, differences flagged."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlmodel import Session

from models import Dossier, User
from models.collection import AgencyFeesOut, FeeCollection, FeeLineOut, FeeStatementOut
from models.delivery import DeliveryRequest
from postal import scope
from postal.clock import as_utc, local
from postal.reports.periods import Period, between


def statement(session: Session, period: Period, *, viewer, agency: str | None = None) -> FeeStatementOut:
    """Every agency the viewer may read (or the one named), with its collections of the period in time order;
    an agency with none is listed with nought, so the statement says so rather than leaving it out."""
    agencies = scope.fee_agencies(session, viewer, agency)
    rows = session.execute(
        select(FeeCollection, Dossier.code, Dossier.procedure, User.full_name, User.username)
        .join(DeliveryRequest, DeliveryRequest.id == FeeCollection.request_id)
        .join(Dossier, Dossier.id == DeliveryRequest.dossier_id)
        .join(User, User.id == FeeCollection.courier_id)
        .where(FeeCollection.agency_id.in_([a.id for a in agencies]), between(FeeCollection.collected_at, period))
        .order_by(FeeCollection.collected_at, FeeCollection.id)).all()
    lines: dict[int, list[FeeLineOut]] = defaultdict(list)
    for c, code, procedure, full_name, username in rows:
        due = c.procedure_fee_due_vnd + c.delivery_fee_due_vnd
        lines[c.agency_id].append(FeeLineOut(
            collected_at=as_utc(c.collected_at), dossier=code, procedure=procedure, courier=full_name or username,
            procedure_fee_vnd=c.procedure_fee_due_vnd, delivery_fee_vnd=c.delivery_fee_due_vnd,
            received_vnd=c.received_vnd, difference_vnd=c.received_vnd - due, method=c.method, reference=c.reference))
    return FeeStatementOut(period_from=period.first, period_to=period.last,
                           agencies=[of_agency(a.code, a.name, lines[a.id]) for a in agencies])


def of_agency(code: str, name: str, lines: list[FeeLineOut]) -> AgencyFeesOut:
    return AgencyFeesOut(
        agency=code, agency_name=name, lines=lines, procedure_fee_vnd=sum(x.procedure_fee_vnd for x in lines),
        delivery_fee_vnd=sum(x.delivery_fee_vnd for x in lines), received_vnd=sum(x.received_vnd for x in lines),
        difference_vnd=sum(x.difference_vnd for x in lines), flagged=sum(1 for x in lines if x.difference_vnd))


FIELDS = ("agency", "collected_at", "dossier", "procedure", "courier", "procedure_fee_vnd", "delivery_fee_vnd",
          "received_vnd", "difference_vnd", "method", "reference", "flag")


def statement_rows(st: FeeStatementOut, *, subtotal: str, total: str, flag: str, methods: dict[str, str]
                   ) -> tuple[list[list], set[int]]:
    """The statement as a table (FIELDS' columns): each agency's lines then its subtotal, then the total; a line
    whose received amount differs from what was due carries `flag`. Also the indexes of the subtotal rows."""
    rows: list[list] = []
    bold: set[int] = set()
    for a in st.agencies:
        for x in a.lines:
            rows.append([a.agency_name, f"{local(x.collected_at):%d/%m/%Y %H:%M}", x.dossier, x.procedure, x.courier,
                         x.procedure_fee_vnd, x.delivery_fee_vnd, x.received_vnd, x.difference_vnd,
                         methods.get(x.method, x.method), x.reference, flag if x.difference_vnd else None])
        bold.add(len(rows))
        rows.append([f"{subtotal} {a.agency_name}", None, None, None, None, a.procedure_fee_vnd, a.delivery_fee_vnd,
                     a.received_vnd, a.difference_vnd, None, None, flag if a.flagged else None])
    bold.add(len(rows))
    rows.append([total, None, None, None, None, *(sum(getattr(a, f) for a in st.agencies) for f in FIELDS[5:9]),
                 None, None, flag if any(a.flagged for a in st.agencies) else None])
    return rows, bold
