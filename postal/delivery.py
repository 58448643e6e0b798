"""Home delivery and pick-up (giao nhận tại nhà): citizens' requests, fees, geocoding and delivery runs.

A request names a dossier (code + the last four digits of the applicant's phone, as tracking does), an
address on the 2025 administrative units (street + 5-digit ward code of `vietnam-provinces`) and a slot
(a working day, morning or afternoon). It is geocoded with a Nominatim-protocol server when one is set
(answers cached in geocode_cache); without one, or when it fails, the request is still taken and routed by
its ward. The post office serving the ward takes it onto that slot's delivery run.

A delivery run is a Run of kind "delivery" whose RunStops are its post office only (first and last, the
hub), so everything that reads runs keeps working; the citizens' doors are DeliveryStop rows in visiting
order, chosen by routing.best_order over geodesic distances from the post office.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from urllib.parse import urlsplit

from geopy.distance import geodesic
from geopy.exc import GeopyError
from geopy.geocoders import Nominatim
from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from vietnam_provinces import Province, Ward

from models import (
    Action,
    CustodyEvent,
    DeliveryKind,
    DeliveryRequest,
    DeliveryState,
    DeliveryStop,
    Direction,
    Dossier,
    GeocodeCache,
    GeocodeSource,
    Parcel,
    ParcelState,
    ReturnMethod,
    Role,
    Run,
    RunKind,
    RunState,
    RunStop,
    RunTemplate,
    Site,
    SiteKind,
    SlotPeriod,
    User,
)
from models.delivery import (
    DeliveryRequestIn,
    DeliveryRequestOut,
    DeliveryRunOut,
    DeliveryStopOut,
    ProvinceOut,
    WardOut,
    WardRefOut,
)
from models.enums import POSTAL_DESK, RUN_READERS
from postal import db, dossiers, routing, runs, tracking, workdays
from postal.clock import LOCAL_TZ, as_utc, local
from postal.config import Settings
from postal.errors import N_, Conflict, Forbidden, NotFound, Phrase, Unprocessable

SLOT_DAYS_AHEAD = 30  # how far ahead a slot may be booked
# When each slot's run leaves its post office, unless a delivery template of that post office says otherwise.
DEPARTS = {SlotPeriod.MORNING: time(8, 0), SlotPeriod.AFTERNOON: time(13, 30)}
SLOT_ENDS = {SlotPeriod.MORNING: time(12, 0), SlotPeriod.AFTERNOON: time(17, 0)}  # too late to book that slot today
NOON = time(12, 0)  # a delivery template leaving before noon serves the morning slot
DWELL_MIN = 10.0  # minutes at a door: the citizen checks the result, reads the OTP, signs
UNLOCATED_STEP = timedelta(minutes=15)  # a door with no coordinates: a quarter hour after the one before
GEOCODE_TIMEOUT_S = 4  # per lookup; a slow geocoder must not hold a citizen's request for long
GEOCODE_MISS_TTL = timedelta(days=7)  # an address the geocoder did not know is asked again after this
USER_AGENT = "postal-dossier-shuttle/1 (ho-so-qua-buu-dien)"  # Nominatim's usage policy asks for one
OPEN = (DeliveryState.REQUESTED, DeliveryState.SCHEDULED)
EXEMPTION_NAMES = {  # the default exempt groups (postal.config.DEFAULT_FEE_EXEMPT), in words
    "nguoi_co_cong": N_("Người có công với cách mạng"),
    "ho_ngheo": N_("Hộ nghèo"),
    "ho_can_ngheo": N_("Hộ cận nghèo"),
    "nguoi_khuyet_tat": N_("Người khuyết tật"),
    "nguoi_cao_tuoi": N_("Người cao tuổi"),
}
MASK = "***"

REQUESTS = DeliveryRequest.__table__
STOPS = DeliveryStop.__table__
CACHE = GeocodeCache.__table__
EVENTS = CustodyEvent.__table__


class AlreadyReturned(Conflict):
    code, message = "already_returned", N_("Kết quả hồ sơ %(code)s đã được trả: không cần giao nữa.")


class AlreadyHandedIn(Conflict):
    code, message = "already_handed_in", N_("Hồ sơ %(code)s đã được tiếp nhận: không cần đến nhận tại nhà.")


# -- the 2025 administrative units ------------------------------------------------------------------------


@dataclass(frozen=True)
class WardInfo:
    """A commune, ward or special zone of 2025 and its province."""

    code: str  # 5 digits
    name: str
    province_code: str  # 2 digits
    province_name: str

    def out(self) -> WardOut:
        return WardOut(code=self.code, name=self.name, province=self.province_name)


def ward_of(code: str) -> WardInfo | None:
    """The 2025 unit with this code (leading zeros optional), or None."""
    code = code.strip()
    if not code.isdigit() or len(code) > 5:
        return None
    try:
        ward = Ward.from_code(int(code))
        province = Province.from_code(ward.province_code)
    except ValueError:
        return None
    return WardInfo(f"{int(ward.code):05d}", ward.name, f"{int(province.code):02d}", province.name)


@lru_cache(maxsize=1)
def provinces() -> list[ProvinceOut]:
    """The 34 provinces and centrally-run cities, by name."""
    return sorted((ProvinceOut(code=f"{int(p.code):02d}", name=p.name) for p in Province.iter_all()),
                  key=lambda p: p.name)


@lru_cache(maxsize=64)
def wards_of(province_code: str) -> list[WardRefOut]:
    """The communes, wards and special zones of one province, by name; 404 for an unknown province."""
    try:
        province = Province.from_code(int(province_code)) if province_code.isdigit() else None
    except ValueError:
        province = None
    if province is None:
        raise NotFound(what=Phrase(N_("tỉnh, thành phố")), code=province_code[:10])
    wards = Ward.iter_by_province(province.code)
    return sorted((WardRefOut(code=f"{int(w.code):05d}", name=w.name) for w in wards), key=lambda w: w.name)


# -- the fee -----------------------------------------------------------------------------------------------


def fee_for(ward: WardInfo, settings: Settings) -> int:
    """One way, đồng: within the installation's province, or from another one."""
    if ward.province_code == settings.province_code:
        return settings.delivery_fee_in_province_vnd
    return settings.delivery_fee_other_province_vnd


def exemption_name(reason: str) -> Phrase:
    return Phrase(EXEMPTION_NAMES.get(reason, reason))


# -- geocoding ---------------------------------------------------------------------------------------------


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


# -- taking a request -----------------------------------------------------------------------------------


def check_slot(day: date, period: str, now: datetime, calendar: workdays.Calendar = workdays.DEFAULT_CALENDAR) -> None:
    """A working day from today on, within SLOT_DAYS_AHEAD, and not a slot that has already ended."""
    here = local(now)
    today = here.date()
    if day < today:
        raise Unprocessable(field="slot.date", detail=Phrase(N_("ngày đã qua")))
    if day > today + timedelta(days=SLOT_DAYS_AHEAD):
        raise Unprocessable(field="slot.date", detail=Phrase(N_("chỉ đặt lịch trong vòng %(days)s ngày tới"),
                                                             days=SLOT_DAYS_AHEAD))
    if not calendar.is_working_day(day):
        holiday = calendar.holiday_name(day)
        if holiday:
            raise Unprocessable(field="slot.date", detail=Phrase(N_("%(day)s là ngày nghỉ (%(holiday)s)"),
                                                                 day=day.strftime("%d/%m/%Y"), holiday=holiday))
        raise Unprocessable(field="slot.date", detail=Phrase(N_("%(day)s không phải ngày làm việc"),
                                                             day=day.strftime("%d/%m/%Y")))
    if day == today and here.time() >= SLOT_ENDS[SlotPeriod(period)]:
        raise Unprocessable(field="slot.period", detail=Phrase(N_("khung giờ này hôm nay đã qua")))


def request_delivery(session: Session, data: DeliveryRequestIn, *, settings: Settings,
                     now: datetime) -> tuple[DeliveryRequestOut, bool]:
    """Take a citizen's delivery or pick-up request; the same request again answers the first. Nothing is
    written when it is refused."""
    ward = ward_of(data.address.ward_code)
    if ward is None:
        raise Unprocessable(field="address.ward_code",
                            detail=Phrase(N_("không có xã, phường mã %(code)s"), code=data.address.ward_code[:10]))
    street = " ".join(data.address.street.split())
    if not street:
        raise Unprocessable(field="address.street", detail=Phrase(N_("cần ghi số nhà, đường phố hoặc thôn, tổ")))
    check_slot(data.slot.date, data.slot.period, now)
    phone = dossiers.normalise_phone(data.phone, field="phone") if data.phone and data.phone.strip() else None
    dossier = tracking.find(session, data.dossier, data.phone_last4)  # the same 404 as tracking
    existing = same_request(session, dossier.id, data)
    if existing is not None:
        session.commit()  # ends the read
        return request_out(existing), False
    check_kind(session, dossier, data.kind)
    located = locate(session, settings, street, ward, now)  # before the write: the geocoder may be slow
    db.begin_write(session)
    existing = same_request(session, dossier.id, data)
    if existing is not None:  # taken meanwhile by another worker
        session.commit()
        return request_out(existing), False
    dossier = session.get(Dossier, dossier.id, populate_existing=True)
    check_kind(session, dossier, data.kind)
    post_office = serving_post_office(session, ward.code, (located.lat, located.lon), dossier)
    row = DeliveryRequest(
        dossier_id=dossier.id, kind=data.kind, street=street, ward_code=ward.code, province_code=ward.province_code,
        lat=located.lat, lon=located.lon, geocode_source=located.source, phone=phone or dossier.applicant_phone,
        slot_date=data.slot.date, slot_period=data.slot.period, fee_vnd=fee_for(ward, settings),
        state=DeliveryState.REQUESTED, post_office_id=post_office.id, created_at=now, updated_at=now,
    )
    if data.kind == DeliveryKind.DELIVER_RESULT:
        if dossier.return_method != ReturnMethod.HOME:
            dossier.return_method = ReturnMethod.HOME
            session.add(dossier)
        row.parcel_id = result_parcel(session, dossier.id)
    else:
        row.parcel_id = pickup_parcel(session, dossier, post_office, now).id
    if located.answer is not None:
        remember(session, *located.answer, at=now)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # the same slot taken a moment ago (the partial unique index)
        session.rollback()
        existing = same_request(session, dossier.id, data)
        if existing is None:
            raise
        return request_out(existing), False
    session.commit()
    return request_out(row), True


def same_request(session: Session, dossier_id: int, data: DeliveryRequestIn) -> DeliveryRequest | None:
    return session.execute(select(DeliveryRequest).where(
        DeliveryRequest.dossier_id == dossier_id, DeliveryRequest.kind == data.kind,
        DeliveryRequest.slot_date == data.slot.date, DeliveryRequest.slot_period == data.slot.period,
        DeliveryRequest.state != DeliveryState.CANCELLED,
    ).execution_options(populate_existing=True)).scalars().first()


def check_kind(session: Session, dossier: Dossier, kind: str) -> None:
    """A result not yet returned can be delivered; a dossier not yet handed in anywhere can be picked up."""
    if dossier.returned_at is not None:
        raise AlreadyReturned(code=dossier.code)
    if kind == DeliveryKind.PICKUP_DOSSIER:
        handed_in = session.execute(select(Parcel.id).where(
            Parcel.dossier_id == dossier.id, Parcel.state != ParcelState.CREATED,
            Parcel.direction != Direction.FROM_CITIZEN)).first()
        if handed_in is not None:
            raise AlreadyHandedIn(code=dossier.code)


def result_parcel(session: Session, dossier_id: int) -> int | None:
    """The dossier's latest parcel going to the citizen, if the result has one yet."""
    return session.execute(select(func.max(Parcel.id)).where(
        Parcel.dossier_id == dossier_id, Parcel.direction == Direction.TO_CITIZEN)).scalar()


def pickup_parcel(session: Session, dossier: Dossier, post_office: Site, now: datetime) -> Parcel:
    """The parcel the courier brings back from the citizen's door; it joins the normal flow when the post
    office accepts it. One not yet accepted is reused; the caller commits."""
    waiting = session.execute(select(Parcel).where(
        Parcel.dossier_id == dossier.id, Parcel.direction == Direction.FROM_CITIZEN,
        Parcel.state == ParcelState.CREATED).order_by(Parcel.id.desc())).scalars().first()
    if waiting is not None:
        return waiting
    center = session.get(Site, dossier.center_id)
    return dossiers.new_parcel(session, dossier, Direction.FROM_CITIZEN, origin=post_office, destination=center, now=now)


def serving_post_office(session: Session, ward_code: str, point: tuple[float | None, float | None],
                        dossier: Dossier) -> Site:
    """The post office in the ward, else the nearest to the address (or to the dossier's center)."""
    offices = session.execute(select(Site).where(Site.kind == SiteKind.POST_OFFICE).order_by(Site.id)).scalars().all()
    if not offices:
        raise Unprocessable(field="address.ward_code", detail=Phrase(N_("chưa có bưu điện phục vụ địa chỉ này")))
    for office in offices:
        if office.ward_code == ward_code:
            return office
    here = point if point[0] is not None and point[1] is not None else None
    if here is None:
        center = session.get(Site, dossier.center_id)
        here = (center.lat, center.lon) if center is not None and center.lat is not None else None
    located = [o for o in offices if o.lat is not None and o.lon is not None]
    if here is None or not located:
        return offices[0]
    return min(located, key=lambda o: geodesic(here, (o.lat, o.lon)).km)


def request_out(row: DeliveryRequest) -> DeliveryRequestOut:
    ward = ward_of(row.ward_code)
    return DeliveryRequestOut(id=row.id, state=row.state, fee_vnd=row.fee_vnd, ward=ward.out(), lat=row.lat, lon=row.lon)


def exempt_fee(session: Session, request_id: int, reason: str, *, actor: User, settings: Settings,
               now: datetime) -> DeliveryRequestOut:
    """The counter records that the applicant is exempt (a group the fee table names): no fee."""
    if actor.role not in POSTAL_DESK:  # the counter records an exemption
        raise Forbidden(role=actor.role)
    reason = reason.strip()
    if reason not in settings.delivery_fee_exempt:
        raise Unprocessable(field="reason", detail=", ".join(settings.delivery_fee_exempt))
    db.begin_write(session)
    row = session.get(DeliveryRequest, request_id, populate_existing=True) if 0 < request_id < runs.MAX_ID else None
    if row is None:
        raise NotFound(what=Phrase(N_("yêu cầu giao nhận")), code=request_id)
    row.fee_vnd, row.fee_exempt_reason, row.updated_at = 0, reason, now
    session.add(row)
    session.commit()
    return request_out(row)


# -- keeping requests in step with their parcels ------------------------------------------------------------


def settle(session: Session, now: datetime) -> None:
    """Bring open requests up to date from custody: the result's parcel, failed attempts, done. Set-based;
    the caller is writing and commits."""
    open_ = REQUESTS.c.state.in_(OPEN)
    latest_result = (select(func.max(Parcel.id)).where(Parcel.dossier_id == REQUESTS.c.dossier_id,
                                                       Parcel.direction == Direction.TO_CITIZEN).scalar_subquery())
    session.execute(update(REQUESTS).where(open_, REQUESTS.c.kind == DeliveryKind.DELIVER_RESULT)
                    .values(parcel_id=func.coalesce(latest_result, REQUESTS.c.parcel_id)))
    attempts = (select(func.count()).select_from(EVENTS).where(
        EVENTS.c.parcel_id == REQUESTS.c.parcel_id, EVENTS.c.action == Action.ATTEMPT_FAILED,
        EVENTS.c.server_at >= REQUESTS.c.created_at).scalar_subquery())
    session.execute(update(REQUESTS).where(open_, REQUESTS.c.parcel_id.is_not(None)).values(attempts=attempts))
    returned = select(Dossier.id).where(Dossier.returned_at.is_not(None))
    accepted = select(Parcel.id).where(Parcel.state != ParcelState.CREATED)
    session.execute(update(REQUESTS).where(open_, or_(
        (REQUESTS.c.kind == DeliveryKind.DELIVER_RESULT) & REQUESTS.c.dossier_id.in_(returned),
        (REQUESTS.c.kind == DeliveryKind.PICKUP_DOSSIER) & REQUESTS.c.parcel_id.in_(accepted),
    )).values(state=DeliveryState.DONE, updated_at=now))


# -- delivery runs ---------------------------------------------------------------------------------------


def period_of(run: Run) -> str:
    """The slot a delivery run serves, from its local departure time."""
    return SlotPeriod.MORNING if local(run.departs_at).time() < NOON else SlotPeriod.AFTERNOON


def slot_line(session: Session, post_office: Site, period: str) -> tuple[RunTemplate | None, time, str]:
    """The delivery template of this post office for the slot (if any), its departure and the run's name."""
    templates = session.execute(select(RunTemplate).where(
        RunTemplate.kind == RunKind.DELIVERY, RunTemplate.active.is_(True), RunTemplate.post_office_id == post_office.id,
    ).order_by(RunTemplate.departs, RunTemplate.id)).scalars().all()
    for template in templates:
        if (template.departs < NOON) == (period == SlotPeriod.MORNING):
            return template, template.departs, template.name
    label = "sáng" if period == SlotPeriod.MORNING else "chiều"
    return None, DEPARTS[SlotPeriod(period)], f"Phát tận nhà – {post_office.name} – {label}"


def find_run(session: Session, post_office: Site, day: date, period: str) -> Run | None:
    candidates = session.execute(select(Run).where(
        Run.kind == RunKind.DELIVERY, Run.post_office_id == post_office.id, Run.day == day,
    ).order_by(Run.id).execution_options(populate_existing=True)).scalars().all()
    return next((r for r in candidates if period_of(r) == period), None)


@dataclass(frozen=True)
class Route:
    """Doors in visiting order with their planned arrivals, the return and the distance."""

    order: tuple[int, ...]  # request ids
    arrivals: tuple[datetime, ...]
    back_at: datetime
    distance_km: float | None


def plan_route(depot: Site, doors: Sequence[DeliveryRequest], depart_at: datetime) -> Route:
    """The shortest tour found from the post office through the located doors, then the others."""
    located = [d for d in doors if d.lat is not None and d.lon is not None]
    unlocated = [d for d in doors if d.lat is None or d.lon is None]
    if depot.lat is None or depot.lon is None:
        located, unlocated = [], list(doors)
    arrivals: list[datetime] = []
    order: list[DeliveryRequest] = []
    clock, distance = depart_at, None
    if located:
        matrix = runs.DISTANCES.matrix([(depot.lat, depot.lon), *((d.lat, d.lon) for d in located)])
        given = list(range(1, len(located) + 1))  # as requested
        best = routing.best_order(matrix, given, time_limit_s=runs.solver_seconds(len(located)))
        plan = routing.plan_arrivals(matrix, best, depart_at, speed_kmh=runs.SPEED_KMH, dwell_min=DWELL_MIN)
        order += [located[i - 1] for i in best]
        arrivals += plan.arrivals
        distance = round(routing.tour_length(matrix, best), 3)
        clock = plan.back_at
        if unlocated:  # they are visited before going back: the return leg is not known
            clock = plan.arrivals[-1] + timedelta(minutes=DWELL_MIN)
            distance = None
    for door in unlocated:
        clock += UNLOCATED_STEP
        order.append(door)
        arrivals.append(clock)
    back = clock + UNLOCATED_STEP if unlocated else clock
    return Route(tuple(d.id for d in order), tuple(arrivals), back, distance)


def generate_delivery_runs(session: Session, post_office: Site, day: date, period: str, now: datetime) -> Run | None:
    """The delivery run of one post office and slot, its doors ordered; idempotent. While the run has not
    started, requests taken since are added and the order found again; None when nothing is to be done."""
    period = SlotPeriod(period)
    runs.lock_manifests(session)
    settle(session, now)
    run = find_run(session, post_office, day, period)
    if run is not None and run.state != RunState.PLANNED:
        session.commit()  # started: its doors are what the courier set off with
        return run
    wanted = [REQUESTS.c.state.in_(OPEN)]
    if run is not None:
        wanted.append((REQUESTS.c.run_id == run.id) & (REQUESTS.c.state == DeliveryState.DONE))
    doors = session.execute(select(DeliveryRequest).where(
        DeliveryRequest.post_office_id == post_office.id, DeliveryRequest.slot_date == day,
        DeliveryRequest.slot_period == period, or_(*wanted),
    ).order_by(DeliveryRequest.id).execution_options(populate_existing=True)).scalars().all()
    if not doors and run is None:
        session.commit()
        return None
    template, departs, name = slot_line(session, post_office, period)
    departs_at = as_utc(datetime.combine(day, departs, tzinfo=LOCAL_TZ))
    route = plan_route(post_office, doors, departs_at)
    if run is None:
        run = Run(template_id=template.id if template else None, day=day, name=name, kind=RunKind.DELIVERY,
                  state=RunState.PLANNED, post_office_id=post_office.id, departs_at=departs_at,
                  cutoff_at=departs_at - runs.CUTOFF, ends_at=route.back_at, created_at=now)
        session.add(run)
        session.flush()
        session.execute(insert(RunStop.__table__), [
            {"run_id": run.id, "seq": 1, "site_id": post_office.id, "hub": True, "planned_at": departs_at},
            {"run_id": run.id, "seq": 2, "site_id": post_office.id, "hub": True, "planned_at": route.back_at},
        ])
    else:
        session.execute(update(RunStop.__table__).where(RunStop.run_id == run.id, RunStop.seq == 2)
                        .values(planned_at=route.back_at))
    # The order is fixed here, as a shuttle's is at its cutoff: runs.start must not re-plan the hub stops away.
    run.ends_at, run.distance_km, run.frozen_at = route.back_at, route.distance_km, now
    session.add(run)
    session.execute(delete(STOPS).where(STOPS.c.run_id == run.id))
    if route.order:
        session.execute(insert(STOPS), [{"run_id": run.id, "seq": seq, "request_id": rid, "planned_at": at}
                                        for seq, (rid, at) in enumerate(zip(route.order, route.arrivals), 1)])
        session.execute(update(REQUESTS).where(REQUESTS.c.id.in_(route.order), REQUESTS.c.state.in_(OPEN))
                        .values(state=DeliveryState.SCHEDULED, run_id=run.id, updated_at=now))
    session.commit()
    return run


@dataclass(frozen=True)
class DayReport:
    """What generating a day's delivery runs did."""

    runs: int
    stops: int


def generate_day(session: Session, day: date, now: datetime) -> DayReport:
    """The delivery runs of every post office and slot of a day that has requests; idempotent."""
    slots = session.execute(select(DeliveryRequest.post_office_id, DeliveryRequest.slot_period).where(
        DeliveryRequest.slot_date == day, DeliveryRequest.state.in_(OPEN)).distinct()).all()
    made: list[int] = []
    for office_id, period in sorted(slots):
        run = generate_delivery_runs(session, session.get(Site, office_id), day, period, now)
        if run is not None:
            made.append(run.id)
    stops = session.execute(select(func.count()).select_from(STOPS).where(STOPS.c.run_id.in_(made or [-1]))).scalar_one()
    session.commit()
    return DayReport(len(made), stops)


# -- reading a delivery run (privacy: contact details for those who handle the delivery) --------------------


def mask_street(street: str) -> str:
    return MASK if street else ""


def sees_contact(viewer: User, run: Run) -> bool:
    """Postal clerks, supervisors and admins, and the courier the run is assigned to."""
    return viewer.role in POSTAL_DESK or (viewer.role == Role.COURIER and run.courier_id == viewer.id)


def effective_state(row: DeliveryRequest, dossier: Dossier, parcel_state: str | None) -> str:
    """The request's state as custody has it now (settle writes the same at the next generation)."""
    if row.state in OPEN:
        if row.kind == DeliveryKind.DELIVER_RESULT and dossier.returned_at is not None:
            return DeliveryState.DONE
        if row.kind == DeliveryKind.PICKUP_DOSSIER and parcel_state not in (None, ParcelState.CREATED):
            return DeliveryState.DONE
    return row.state


def delivery_run(session: Session, run_id: int, *, viewer: User) -> DeliveryRunOut:
    """A delivery run's doors in order, with phone and street masked unless the viewer handles it."""
    if viewer.role not in RUN_READERS:  # among them, contacts in full only for the desk and the run's courier
        raise Forbidden(role=viewer.role)
    run = runs.reload(session, run_id)
    if run.kind != RunKind.DELIVERY:
        raise NotFound(what=Phrase(N_("chuyến phát tận nhà")), code=run_id)
    full = sees_contact(viewer, run)
    rows = session.execute(
        select(DeliveryStop, DeliveryRequest, Dossier)
        .join(DeliveryRequest, DeliveryRequest.id == DeliveryStop.request_id)
        .join(Dossier, Dossier.id == DeliveryRequest.dossier_id)
        .where(DeliveryStop.run_id == run.id).order_by(DeliveryStop.seq)
        .execution_options(populate_existing=True)
    ).all()
    results: dict[int, int] = defaultdict(int)  # dossier → its latest parcel to the citizen
    dossier_ids = [d.id for _, _, d in rows]
    if dossier_ids:
        for dossier_id, parcel_id in session.execute(
                select(Parcel.dossier_id, func.max(Parcel.id)).where(Parcel.dossier_id.in_(dossier_ids),
                                                                     Parcel.direction == Direction.TO_CITIZEN)
                .group_by(Parcel.dossier_id)):
            results[dossier_id] = parcel_id
    parcel_ids = {r.parcel_id for _, r, _ in rows if r.parcel_id} | set(results.values())
    parcels = {p.id: p for p in session.execute(select(Parcel).where(Parcel.id.in_(parcel_ids or [-1]))).scalars()}
    office = session.get(Site, run.post_office_id)
    stops = []
    for stop, request, dossier in rows:
        parcel_id = results.get(dossier.id) if request.kind == DeliveryKind.DELIVER_RESULT else request.parcel_id
        parcel = parcels.get(parcel_id or request.parcel_id)
        stops.append(DeliveryStopOut(
            seq=stop.seq, request=request.id, kind=request.kind, dossier=dossier.code,
            parcel=parcel.code if parcel else None, recipient=dossier.applicant_name,
            phone=request.phone if full else dossiers.mask_phone(request.phone),
            street=request.street if full else mask_street(request.street), ward=ward_of(request.ward_code).out(),
            lat=request.lat if full else None, lon=request.lon if full else None,
            slot=f"{request.slot_date.isoformat()} {request.slot_period}", fee_vnd=request.fee_vnd,
            fee_exempt_reason=request.fee_exempt_reason, planned_at=as_utc(stop.planned_at),
            state=effective_state(request, dossier, parcel.state if parcel else None),
        ))
    return DeliveryRunOut(run=run.id, post_office=office.code, date=run.day, period=period_of(run), stops=stops)
