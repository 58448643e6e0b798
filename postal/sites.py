"""Sites of the network: the center, commune centers, agencies and post offices."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import func, or_, select
from sqlmodel import Session

from models import Parcel, ParcelState, RunTemplate, RunTemplateStop, Site, SiteKind
from postal import changes, db, scope
from postal.changes import Person
from postal.clock import utcnow
from postal.errors import N_, NotFound, Phrase, SiteInUse, SiteOnLines, Unprocessable

STILL_THERE = (ParcelState.AT_SITE, ParcelState.AWAITING_RECEIPT)  # parcels a site holds, or is asked to confirm


def save_site(session: Session, *, code: str, kind: str, name: str, address: str = "", ward_code: str | None = None,
              lat: float | None = None, lon: float | None = None, opens_at: time | None = None,
              closes_at: time | None = None, by: Person | None = None, at: datetime | None = None) -> Site:
    """Create or update a site by its code (admins; seeding and the command line)."""
    scope.check_admin(by)
    with db.writing(session):
        if kind not in set(SiteKind):
            raise Unprocessable(field="kind", detail=", ".join(SiteKind))
        code = code.strip().upper()
        if not code or len(code) > 32:
            raise Unprocessable(field="code", detail=Phrase(N_("1–32 ký tự")))
        if (lat is None) != (lon is None) or (lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180)):
            raise Unprocessable(field="lat/lon", detail=Phrase(N_("toạ độ không hợp lệ")))
        if opens_at is not None and closes_at is not None and opens_at >= closes_at:
            raise Unprocessable(field="closes_at", detail=Phrase(N_("giờ đóng cửa phải sau giờ mở cửa")))
        site = session.execute(select(Site).where(Site.code == code)).scalars().first()
        before = site_fields(site) if site else {}
        site = site or Site(code=code, kind=kind, name=name)
        site.kind, site.name, site.address, site.ward_code, site.lat, site.lon = kind, name, address, ward_code, lat, lon
        if opens_at is not None:
            site.opens_at = opens_at
        if closes_at is not None:
            site.closes_at = closes_at
        session.add(site)
        old, new = changes.differences(before, site_fields(site))
        if new:
            changes.record(session, by, "site", code, "edited" if before else "created", before=old, after=new,
                           at=at or utcnow())
    return site


def site_fields(site: Site) -> dict:
    """A site as the audit log keeps it."""
    return {"kind": site.kind, "name": site.name, "address": site.address, "ward_code": site.ward_code,
            "lat": site.lat, "lon": site.lon, "opens_at": f"{site.opens_at:%H:%M}" if site.opens_at else None,
            "closes_at": f"{site.closes_at:%H:%M}" if site.closes_at else None, "active": site.active}


def site_named(session: Session, code: str) -> Site:
    site = session.execute(select(Site).where(Site.code == code.strip().upper())).scalars().first()
    if site is None:
        raise NotFound(what=Phrase(N_("điểm giao nhận")), code=code)
    return site


def set_active(session: Session, code: str, active: bool, *, at: datetime, by: Person | None = None) -> Site:
    """Take a site out of the network (refused while parcels are still there, or an active line stops there),
    or bring it back (admins; the command line)."""
    scope.check_admin(by)
    with db.writing(session):
        site = site_named(session, code)
        if site.active == active:
            return site
        if not active:
            refuse_if_in_use(session, site)
        site.active = active
        session.add(site)
        changes.record(session, by, "site", site.code, "reactivated" if active else "deactivated",
                       before={"active": not active}, after={"active": active}, at=at)
    return site


def refuse_if_in_use(session: Session, site: Site) -> None:
    held = session.execute(select(func.count()).select_from(Parcel).where(
        Parcel.holder_site_id == site.id, Parcel.state.in_(STILL_THERE))).scalar_one()
    if held:
        raise SiteInUse(code=site.code, count=held)
    lines = session.execute(
        select(RunTemplate.name, RunTemplate.departs).where(RunTemplate.active.is_(True), or_(
            RunTemplate.post_office_id == site.id,
            RunTemplate.id.in_(select(RunTemplateStop.template_id).where(RunTemplateStop.site_id == site.id))))
        .order_by(RunTemplate.name, RunTemplate.departs)).all()
    if lines:
        raise SiteOnLines(code=site.code, count=len(lines),
                          names=", ".join(f"{name} {departs:%H:%M}" for name, departs in lines))


def in_order(session: Session) -> list[Site]:
    """Every site of the network, by kind, then code."""
    return list(session.execute(select(Site).order_by(Site.kind, Site.code)).scalars())


def by_code(session: Session) -> dict[str, Site]:
    return {s.code: s for s in session.execute(select(Site)).scalars()}
