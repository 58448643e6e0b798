"""The one-stop system's dossier code, and its unit codes mapped to our agencies.

A dossier's code (mã số hồ sơ, Circular 01/2018/TT-VPCP, Article 19) is `V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX`: the
code of the unit (mã đơn vị, as the national standard for identifying units — Circular 10/2016/TT-BTTTT — gives
it; e.g. 000.00.22.H47), the day the dossier was received (two digits each of year, month and day), and the
dossier's number among those received that day (four digits). The admin keeps which agency each unit code
stands for, so that a dossier from the one-stop system finds its agency here; every change in the audit log."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session

from models import OneStopUnit, Site, SiteKind
from models.onestop import OneStopUnitOut
from postal import changes, db, dossiers
from postal.changes import Person
from postal.errors import N_, NotFound, Phrase, Unprocessable

CODE = re.compile(r"(?P<unit>[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9A-Z]{2})-(?P<day>[0-9]{6})-(?P<serial>[0-9]{4})")
UNIT = re.compile(r"[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9A-Z]{2}")
SHAPE = "V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX"


@dataclass(frozen=True)
class DossierCode:
    """A one-stop dossier code, read: the unit that received it, the day, its number that day."""

    unit: str
    day: date
    serial: int


def read_code(code: str) -> DossierCode:
    """The parts of a one-stop dossier code, or 422 naming `code` and what is wrong with it."""
    found = CODE.fullmatch(code.strip().upper())
    if found is None:
        raise Unprocessable(field="code", detail=Phrase(N_("mã hồ sơ một cửa phải có dạng %(shape)s, ví dụ "
                                                           "000.00.22.H47-261207-0001"), shape=SHAPE))
    try:
        day = datetime.strptime(found["day"], "%y%m%d").date()
    except ValueError:
        raise Unprocessable(field="code", detail=Phrase(N_("phần ngày %(day)s (YYMMDD) không phải một ngày có thật"),
                                                        day=found["day"])) from None
    serial = int(found["serial"])
    if serial == 0:
        raise Unprocessable(field="code", detail=Phrase(N_("số thứ tự trong ngày bắt đầu từ 0001")))
    return DossierCode(unit=found["unit"], day=day, serial=serial)


def unit_agencies(session: Session) -> dict[str, str]:
    """Each unit code with the code of the agency it stands for."""
    return dict(session.execute(select(OneStopUnit.unit_code, Site.code).join(Site, Site.id == OneStopUnit.site_id)).all())


def units(session: Session) -> list[OneStopUnitOut]:
    rows = session.execute(select(OneStopUnit.unit_code, Site.code, Site.name).join(Site, Site.id == OneStopUnit.site_id)
                           .order_by(OneStopUnit.unit_code)).all()
    return [OneStopUnitOut(unit_code=unit, agency=code, agency_name=name) for unit, code, name in rows]


def unit_code_of(text: str) -> str:
    unit = text.strip().upper()
    if UNIT.fullmatch(unit) is None:
        raise Unprocessable(field="unit_code", detail=Phrase(N_("mã đơn vị phải có dạng V1V2V3.Z1Z2.Y1Y2.MX1X2, ví dụ "
                                                                "000.00.22.H47")))
    return unit


def save_unit(session: Session, unit_code: str, agency: str, *, by: Person | None, at: datetime) -> OneStopUnitOut:
    """Map a unit code to an agency (a new mapping, or the agency it stands for changed)."""
    with db.writing(session):
        unit = unit_code_of(unit_code)
        site = dossiers.site_by_code(session, agency.strip().upper(), "agency")
        if site.kind != SiteKind.AGENCY:
            raise Unprocessable(field="agency", detail=Phrase(N_("%(code)s không phải cơ quan giải quyết"), code=site.code))
        row = session.execute(select(OneStopUnit).where(OneStopUnit.unit_code == unit)).scalars().first()
        before = {"agency": session.get(Site, row.site_id).code} if row else {}
        row = row or OneStopUnit(unit_code=unit, site_id=site.id)
        row.site_id = site.id
        session.add(row)
        old, new = changes.differences(before, {"agency": site.code})
        if new:
            changes.record(session, by, "onestop_unit", unit, "edited" if before else "created",
                           before=old if before else None, after=new, at=at)
    return OneStopUnitOut(unit_code=unit, agency=site.code, agency_name=site.name)


def remove_unit(session: Session, unit_code: str, *, by: Person | None, at: datetime) -> str:
    """Forget a unit code: dossiers already registered keep their agency; new ones of that unit must name it."""
    with db.writing(session):
        unit = unit_code.strip().upper()
        row = session.execute(select(OneStopUnit).where(OneStopUnit.unit_code == unit)).scalars().first()
        if row is None:
            raise NotFound(what=Phrase(N_("mã đơn vị một cửa")), code=unit)
        changes.record(session, by, "onestop_unit", unit, "removed", before={"agency": session.get(Site, row.site_id).code},
                       at=at)
        session.delete(row)
    return unit
