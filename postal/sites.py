"""Sites of the network: the center, commune centers, agencies and post offices."""

from __future__ import annotations

from datetime import time

from sqlalchemy import select
from sqlmodel import Session

from models import Site, SiteKind
from postal import db
from postal.errors import N_, Phrase, Unprocessable


def save_site(session: Session, *, code: str, kind: str, name: str, address: str = "", ward_code: str | None = None,
              lat: float | None = None, lon: float | None = None, opens_at: time | None = None,
              closes_at: time | None = None) -> Site:
    """Create or update a site by its code."""
    with db.writing(session):
        if kind not in set(SiteKind):
            raise Unprocessable(field="kind", detail=", ".join(SiteKind))
        code = code.strip().upper()
        if not code or len(code) > 32:
            raise Unprocessable(field="code", detail=Phrase(N_("1–32 ký tự")))
        if (lat is None) != (lon is None) or (lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180)):
            raise Unprocessable(field="lat/lon", detail=Phrase(N_("toạ độ không hợp lệ")))
        site = session.execute(select(Site).where(Site.code == code)).scalars().first() or Site(code=code, kind=kind, name=name)
        site.kind, site.name, site.address, site.ward_code, site.lat, site.lon = kind, name, address, ward_code, lat, lon
        if opens_at is not None:
            site.opens_at = opens_at
        if closes_at is not None:
            site.closes_at = closes_at
        session.add(site)
    return site


def in_order(session: Session) -> list[Site]:
    """Every site of the network, by kind, then code."""
    return list(session.execute(select(Site).order_by(Site.kind, Site.code)).scalars())


def by_code(session: Session) -> dict[str, Site]:
    return {s.code: s for s in session.execute(select(Site)).scalars()}
