"""The demo province: sites, staff and a week of history, made through the live domain functions."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlmodel import Session

from models import Direction, Role, Site, SiteKind, User
from models.dossiers import DossierIn, ParcelIn
from postal import accounts, custody, demo_data, dossiers, labels, sites, workdays
from postal.clock import LOCAL_TZ, as_utc
from postal.config import Settings

DEMO_NAMESPACE = uuid.UUID("0b9f4a52-9a57-4f0e-8d3b-45a2016e0001")
SHUTTLE_TIMES = (time(8, 0), time(10, 30), time(14, 0), time(16, 0))
HISTORY_DAYS = 7
MOBILE_PREFIXES = ("090", "091", "093", "094", "096", "097", "098", "086", "088", "035", "038", "077", "083")


@dataclass(order=True)
class Step:
    """One thing that happened in the demo week, replayed in time order."""

    at: datetime
    order: int
    do: Callable[[], None] = field(compare=False)


def is_empty(session: Session) -> bool:
    return session.execute(select(Site.id).limit(1)).first() is None


def seed_network(session: Session, now: datetime) -> dict[str, User]:
    """Sites and staff of the demo province; every agency gets a receiving clerk."""
    for s in demo_data.SITES:
        sites.save_site(session, **s)
    users: dict[str, User] = {}
    existing = {u.username: u for u in session.execute(select(User)).scalars()}
    wanted = list(demo_data.USERS)
    staffed = {u["site"] for u in wanted if u["role"] == Role.AGENCY_CLERK}
    for s in demo_data.SITES:
        if s["kind"] == SiteKind.AGENCY and s["code"] not in staffed:
            wanted.append({"username": f"vt.{s['code'].lower()}", "full_name": f"Văn thư {s['name']}",
                           "role": Role.AGENCY_CLERK, "site": s["code"]})
    for u in wanted:
        users[u["username"]] = existing.get(u["username"]) or accounts.add_user(
            session, u["username"], role=u["role"], site_code=u["site"], password=demo_data.DEMO_PASSWORD,
            full_name=u["full_name"], at=now)
    return users


def demo_logins() -> list[tuple[str, str, str]]:
    """(username, role, site) of the demo staff, for `postal up --demo` to print."""
    return [(u["username"], u["role"], u["site"] or "—") for u in demo_data.USERS]


class History:
    """Builds a week of dossiers moving between the centers and the agencies."""

    def __init__(self, session: Session, settings: Settings, users: dict[str, User], now: datetime, seed: int = 45):
        self.session, self.settings, self.users, self.now = session, settings, users, now
        self.rng = random.Random(seed)
        self.sites = sites.by_code(session)
        self.steps: list[Step] = []
        self.clerk_of = {u.site_id: u for u in users.values() if u.role in (Role.POSTAL_CLERK, Role.AGENCY_CLERK)}
        self.couriers = [u for u in users.values() if u.role == Role.COURIER and self.sites_by_id(u.site_id).code == "BD-TINH"]
        self.calendar = workdays.DEFAULT_CALENDAR

    def sites_by_id(self, site_id: int | None) -> Site:
        return next(s for s in self.sites.values() if s.id == site_id)

    def local(self, d: date, t: time) -> datetime:
        return datetime.combine(d, t, LOCAL_TZ)

    def next_run(self, after: datetime) -> datetime:
        """The next shuttle departure at or after a moment, on a working day."""
        d = after.astimezone(LOCAL_TZ).date()
        for _ in range(30):
            if self.calendar.is_working_day(d):
                for t in SHUTTLE_TIMES:
                    departs = self.local(d, t)
                    if departs >= after:
                        return departs
            d += timedelta(days=1)
        raise RuntimeError("no shuttle departure within 30 days")

    def add(self, at: datetime, do: Callable[[], None]) -> None:
        if at <= self.now:
            self.steps.append(Step(at, len(self.steps), do))

    def scan(self, actor: User, code_of: Callable[[], str], action: str, at: datetime, site: str | None = None,
             note: str = "") -> None:
        code = code_of()
        scan_id = uuid.uuid5(DEMO_NAMESPACE, f"{code}/{action}/{at.isoformat()}")
        payload = {"id": scan_id, "label": labels.qr_payload(self.settings.label_key, code), "action": action,
                   "at": at, "site": site, "note": note}
        outcomes, _ = custody.record_scans(self.session, [payload], actor=actor, settings=self.settings, now=at + timedelta(seconds=5))
        if outcomes[0].status == "rejected":
            raise RuntimeError(f"demo scan refused: {code} {action}: {outcomes[0].error}")

    def journey(self, code: Callable[[], str], origin: Site, destination: Site, start: datetime, *, lost: bool = False) -> datetime:
        """Accept at origin, shuttle to destination, confirmed there. Returns when it arrived."""
        clerk_in, clerk_out = self.clerk_of[origin.id], self.clerk_of[destination.id]
        courier = self.rng.choice(self.couriers)
        self.add(start, lambda: self.scan(clerk_in, code, "accept", start, origin.code))
        departs = self.next_run(start + timedelta(minutes=16))  # after the cutoff
        picked = departs + timedelta(minutes=self.rng.randint(1, 12))
        self.add(picked, lambda: self.scan(courier, code, "pickup", picked, origin.code))
        handed = picked + timedelta(minutes=self.rng.randint(15, 55))
        if lost:
            reported = handed + timedelta(minutes=40)
            self.add(reported, lambda: self.scan(courier, code, "report_missing", reported, note="Không thấy bì trong túi xe"))
            return reported
        self.add(handed, lambda: self.scan(courier, code, "handover", handed, destination.code))
        received = handed + timedelta(minutes=self.rng.randint(2, 25))
        self.add(received, lambda: self.scan(clerk_out, code, "receive", received, destination.code))
        return received

    def dossier(self, n: int, day: date, lost: bool = False) -> None:
        proc = self.rng.choice(demo_data.PROCEDURES)
        agency = self.sites[proc["agency"]]
        center = self.sites["TTHCC"] if self.rng.random() < 0.7 else self.sites[self.rng.choice(
            [c for c, s in self.sites.items() if s.kind == SiteKind.COMMUNE_CENTER and s.id in self.clerk_of])]
        received = self.local(day, time(7, 30)) + timedelta(minutes=self.rng.randint(0, 8 * 60 + 30))
        due = self.local(self.calendar.add_working_days(day, proc["days"]), time(17, 0))
        address = self.rng.choice(demo_data.APPLICANT_ADDRESSES)
        data = DossierIn(
            code=f"000.00.22.H47-{day:%y%m%d}-{n:04d}", procedure=proc["name"], agency=agency.code,
            applicant={"name": self.rng.choice(demo_data.APPLICANTS), "phone": self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randint(0, 10**7 - 1):07d}",
                       "address": address["street"], "ward_code": address["ward_code"]},
            received_at=received, due_at=due, return_method="home" if self.rng.random() < 0.2 else "counter",
            origin=center.code,
        )
        registrar = self.clerk_of[center.id]
        codes: dict[str, str] = {}

        def register() -> None:
            answer, _ = dossiers.register(self.session, data, actor=registrar, settings=self.settings, now=received)
            codes["out"] = answer.parcel.code

        self.add(received, register)
        arrived = self.journey(lambda: codes["out"], center, agency, received + timedelta(minutes=3), lost=lost)
        if lost:
            return
        # The agency decides within the procedure's time, sometimes later (the watch will notice).
        spent = max(1, round(proc["days"] * self.rng.uniform(0.2, 1.15)))
        decided = self.local(self.calendar.add_working_days(day, spent), time(9, 0)) + timedelta(minutes=self.rng.randint(0, 360))
        if decided <= arrived:
            decided = arrived + timedelta(hours=2)
        clerk = self.clerk_of[agency.id]

        def result_parcel() -> None:
            out = dossiers.add_parcel(self.session, data.code, ParcelIn(direction=Direction.TO_CENTER, origin=agency.code),
                                      actor=clerk, settings=self.settings, now=decided)
            codes["back"] = out.code

        self.add(decided, result_parcel)
        self.journey(lambda: codes["back"], agency, center, decided + timedelta(minutes=2))

    def build(self) -> list[Step]:
        today = self.now.astimezone(LOCAL_TZ).date()
        days = [today - timedelta(days=i) for i in range(HISTORY_DAYS, -1, -1)]
        n = 0
        for day in days:
            if not self.calendar.is_working_day(day):
                continue
            for _ in range(self.rng.randint(22, 34)):
                n += 1
                self.dossier(n, day, lost=(n == 17))
        return sorted(self.steps)


def seed(session: Session, settings: Settings, now: datetime, progress: Callable[[int], None] | None = None,
         total: Callable[[int], None] | None = None) -> dict[str, int]:
    """Seed the demo province into an empty database."""
    users = seed_network(session, as_utc(now))
    history = History(session, settings, users, as_utc(now))
    steps = history.build()
    if total:
        total(len(steps))
    for step in steps:
        step.do()
        if progress:
            progress(1)
    return {"sites": len(history.sites), "users": len(users), "steps": len(steps)}
