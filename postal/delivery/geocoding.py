"""Where an address is: a Nominatim-protocol server when one is set, its answers cached, else the ward."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit

from geopy.exc import GeopyError
from geopy.geocoders import Nominatim
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models import (
    GeocodeCache,
    GeocodeSource,
    Site,
)
from postal.clock import as_utc
from postal.config import Settings
from postal.delivery.wards import WardInfo

GEOCODE_TIMEOUT_S = 4  # per lookup; a slow geocoder must not hold a citizen's request for long
GEOCODE_MISS_TTL = timedelta(days=7)  # an address the geocoder did not know is asked again after this
USER_AGENT = "postal-dossier-shuttle/1 (ho-so-qua-buu-dien)"  # Nominatim's usage policy asks for one
CACHE = GeocodeCache.__table__


@dataclass(frozen=True)
class Located:
    """Where a request's address is, how that is known, and what the geocoder said (to cache)."""

    lat: float | None
    lon: float | None
    source: str
    answer: tuple[str, float | None, float | None] | None = None  # (query, lat, lon) to remember


def query_text(street: str, ward: WardInfo) -> str:
    """The free-form query: street, ward, province, country (Nominatim's order of precision)."""
    return f"{' '.join(street.split())}, {ward.name}, {ward.province_name}, Việt Nam"


@lru_cache(maxsize=8)
def geocoder(url: str) -> Nominatim:
    """A Nominatim-protocol client for the server at `url` (scheme, host, port and path prefix)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"POSTAL_GEOCODER_URL is not an http(s) URL: {url!r}")
    path = parts.path.rstrip("/").removesuffix("/search")
    return Nominatim(user_agent=USER_AGENT, domain=parts.netloc + path, scheme=parts.scheme, timeout=GEOCODE_TIMEOUT_S)


class GeocoderFailed(Exception):
    """The geocoder did not answer usefully (down, timed out, an error page)."""


def ask_geocoder(url: str, query: str) -> tuple[float, float] | None:
    """The geocoder's best match for the query; None when it knows no such place."""
    try:
        found = geocoder(url).geocode(query, exactly_one=True, country_codes="vn", language="vi")
    except (GeopyError, ValueError, OSError) as err:
        raise GeocoderFailed(str(err)) from err
    if found is None:
        return None
    return float(found.latitude), float(found.longitude)


def locate(session: Session, settings: Settings, street: str, ward: WardInfo, now: datetime) -> Located:
    """The address's coordinates: the cache, else the geocoder, else the ward's known sites, else none."""
    query = query_text(street, ward)
    cached = session.execute(select(GeocodeCache).where(GeocodeCache.query == query)).scalars().first()
    answer = None
    if cached is not None and (cached.lat is not None or now - as_utc(cached.looked_up_at) < GEOCODE_MISS_TTL):
        if cached.lat is not None:
            return Located(cached.lat, cached.lon, GeocodeSource.ADDRESS)
    elif settings.geocoder_url:
        try:
            point = ask_geocoder(settings.geocoder_url, query)
        except GeocoderFailed:
            point = None  # not remembered: a geocoder that was down may know the place next time
        else:
            answer = (query, *(point or (None, None)))
        if point is not None:
            return Located(point[0], point[1], GeocodeSource.ADDRESS, answer)
    centre = ward_point(session, ward.code)
    if centre is not None:
        return Located(centre[0], centre[1], GeocodeSource.WARD, answer)
    return Located(None, None, GeocodeSource.NONE, answer)


def ward_point(session: Session, ward_code: str) -> tuple[float, float] | None:
    """A point in the ward: the mean of the network's sites there (the package has no coordinates)."""
    lat, lon = session.execute(select(func.avg(Site.lat), func.avg(Site.lon))
                               .where(Site.ward_code == ward_code, Site.lat.is_not(None), Site.lon.is_not(None))).one()
    return (float(lat), float(lon)) if lat is not None and lon is not None else None


def remember(session: Session, query: str, lat: float | None, lon: float | None, at: datetime) -> None:
    """Keep the geocoder's answer (a miss too); the caller commits. Two writers of one query agree."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(CACHE).values(query=query, lat=lat, lon=lon, looked_up_at=at)
    session.execute(statement.on_conflict_do_update(index_elements=["query"],
                                                    set_={"lat": lat, "lon": lon, "looked_up_at": at}))
