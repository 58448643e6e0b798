"""The demo province: sites, staff and a week of history, made through the live domain functions."""

from __future__ import annotations

import heapq
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlmodel import Session

from models import Direction, Role, Site, SiteKind, User
from models.enums import CLERKS
from models.dossiers import DossierIn, ParcelIn
from models.runs import AssignIn, RunOut, RunTemplateIn
from postal import accounts, counter, custody, demo_data, demo_scenes, dossiers, labels, runs, sites, statuses, workdays
from postal.clock import LOCAL_TZ, as_utc
from postal.config import Settings
from postal.demo_scenes import DEMO_NAMESPACE

HISTORY_DAYS = 7
MOBILE_PREFIXES = ("090", "091", "093", "094", "096", "097", "098", "086", "088", "035", "038", "077", "083")


@dataclass(order=True)
class Step:
    """One thing that happened in the demo week, replayed in time order (a step may plan later ones)."""

    at: datetime
    order: int
    do: Callable[[], None] = field(compare=False)


def is_empty(session: Session) -> bool:
    return session.execute(select(Site.id).limit(1)).first() is None


def seed_network(session: Session, now: datetime, profile: str = accounts.PROFILE) -> dict[str, User]:
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
            full_name=u["full_name"], at=now, profile=profile)
    return users


def demo_logins() -> list[tuple[str, str, str]]:
    """(username, role, site) of the demo staff, for `postal up --demo` to print."""
    return [(u["username"], u["role"], u["site"] or "—") for u in demo_data.USERS]


# The couriers' motorbikes (Quảng Ninh plates).
VEHICLES = {"nva": "14-B1 235.17", "ttb": "14-B1 418.02", "buuta.hung": "14-B2 076.45", "buuta.tuan": "14-B2 310.88"}


def seed_templates(session: Session, admin: User, now: datetime) -> int:
    """The demo's shuttle lines, one template per departure."""
    for line in demo_data.SHUTTLE_LINES:
        for departs in line["departs"]:
            runs.create_template(session, RunTemplateIn(name=line["name"], departs=departs, stops=line["stops"],
                                                        post_office=line["post_office"]), actor=admin, now=now)
    return sum(len(line["departs"]) for line in demo_data.SHUTTLE_LINES)


class Replay:
    """The week as a queue of steps in time order, and the people who scan in it."""

    def __init__(self, session: Session, settings: Settings, users: dict[str, User], now: datetime, seed: int = 45):
        self.session, self.settings, self.users, self.now = session, settings, users, now
        self.rng = random.Random(seed)
        self.sites = sites.by_code(session)
        self.queue: list[Step] = []
        self.planned = 0
        self.clerk_of = {u.site_id: u for u in users.values() if u.role in CLERKS}
        self.couriers_of: dict[int, list[User]] = {}
        for u in users.values():
            if u.role == Role.COURIER:
                self.couriers_of.setdefault(u.site_id, []).append(u)
        self.calendar = workdays.DEFAULT_CALENDAR
        self.arrived: dict[str, Callable[[datetime], None]] = {}  # parcel code → what follows its arrival
        self.destination: dict[str, str] = {}  # parcel code → site code where its journey ends
        self.lost: set[str] = set()
        self.office_of = {line["name"]: line["post_office"] for line in demo_data.SHUTTLE_LINES}

    def local(self, d: date, t: time) -> datetime:
        return datetime.combine(d, t, LOCAL_TZ)

    def add(self, at: datetime, do: Callable[[], None]) -> None:
        if at <= self.now:
            self.planned += 1
            heapq.heappush(self.queue, Step(at, self.planned, do))

    def scan(self, actor: User, codes: list[str], action: str, at: datetime, site: str | None = None,
             run: int | None = None, note: str = "", evidence: dict | None = None) -> None:
        """One batch of scans by one person at one moment, as a device sends it."""
        batch = []
        for code in codes:
            item = {"id": uuid.uuid5(DEMO_NAMESPACE, f"{code}/{action}/{at.isoformat()}"), "at": at, "action": action,
                    "label": labels.qr_payload(self.settings.label_key, code), "site": site, "note": note}
            if run is not None:
                item["run"] = run
            if evidence is not None:
                item["evidence"] = evidence
            batch.append(item)
        outcomes = custody.record_scans(self.session, batch, actor=actor, settings=self.settings, now=at + timedelta(seconds=5))
        for code, outcome in zip(codes, outcomes):
            if outcome.status == "rejected":
                raise RuntimeError(f"demo scan refused: {code} {action}: {outcome.error}")

    def replay(self, progress: Callable[[int], None] | None = None, total: Callable[[int], None] | None = None) -> int:
        """Run the steps in time order, including those the steps plan as they go."""
        done = 0
        while self.queue:
            step = heapq.heappop(self.queue)
            step.do()
            done += 1
            if total:
                total(done + len(self.queue))
            if progress:
                progress(1)
        return done


class Shuttles(Replay):
    """The shuttle runs of the week: assigned, frozen at their cutoffs, driven stop by stop."""

    def assign_couriers(self, admin: User, run_list: list[RunOut], at: datetime) -> None:
        """Each post office's couriers take its runs in turn (two lines leaving together get two couriers)."""
        turn: dict[tuple[str, datetime], int] = {}
        for run in run_list:
            office = self.sites[self.office_of[run.name]]
            couriers = self.couriers_of.get(office.id) or []
            if not couriers:
                continue
            slot = (office.code, run.departs_at)
            courier = couriers[turn.setdefault(slot, 0) % len(couriers)]
            turn[slot] += 1
            runs.assign(self.session, run.id, AssignIn(courier=courier.username, vehicle=VEHICLES.get(courier.username)),
                        actor=admin, now=at)

    def plan_runs(self, run_list: list[RunOut]) -> None:
        """Freeze each run at its cutoff and drive it from its departure."""
        for cutoff in sorted({r.cutoff_at for r in run_list}):
            self.add(cutoff, lambda cutoff=cutoff: runs.freeze_due(self.session, cutoff))
        for run in run_list:
            self.add(run.departs_at, lambda run=run: self.drive(run.id, run.departs_at))

    def courier_of(self, run: RunOut) -> User:
        return self.users[run.courier]

    def drive(self, run_id: int, departs: datetime) -> None:
        """Set off; visit each frozen stop around its planned time; close when back."""
        run = runs.run_detail(self.session, run_id)
        courier = self.courier_of(run)
        if not run.stops:  # nothing to carry: the run is called off
            runs.close(self.session, run_id, actor=courier, now=departs)
            return
        runs.start(self.session, run_id, actor=courier, now=departs)
        clock = departs
        for stop in runs.run_detail(self.session, run_id).stops:
            arrival = max(stop.planned_at + timedelta(minutes=self.rng.randint(0, 4)), clock + timedelta(minutes=1))
            self.add(arrival, lambda seq=stop.seq, at=arrival: self.visit(run_id, seq, at))
            clock = arrival + timedelta(minutes=runs.DWELL_MIN)
        closing = max(run.ends_at, clock) + timedelta(minutes=self.rng.randint(0, 10))
        self.add(closing, lambda: runs.close(self.session, run_id, actor=courier, now=closing))

    def visit(self, run_id: int, seq: int, at: datetime) -> None:
        """At a stop: take what the manifest picks here, hand over what it drops here, leave."""
        run = runs.run_detail(self.session, run_id)
        courier = self.courier_of(run)
        stop = next(s for s in run.stops if s.seq == seq)
        site = self.sites[stop.site]
        here = [dossiers.get_parcel(self.session, c) for c in stop.pick]
        picks = [p.code for p in here if p.state == "at_site" and p.holder_site_id == site.id]
        held = [dossiers.get_parcel(self.session, c) for c in stop.drop]
        drops = [p.code for p in held if p.state == "in_transit" and p.holder_user_id == courier.id]
        if picks:
            self.scan(courier, picks, "pickup", at + timedelta(minutes=1), site.code, run=run_id)
        handed_at = at + timedelta(minutes=2)
        missing = [c for c in drops if c in self.lost]
        handed = [c for c in drops if c not in self.lost]
        if handed:
            self.scan(courier, handed, "handover", handed_at, site.code, run=run_id)
        for code in handed if site.id in self.clerk_of else ():  # a site without a clerk leaves it awaiting receipt
            confirmed = self.calendar.next_working_moment(handed_at + timedelta(minutes=self.rng.randint(2, 25)))
            self.add(confirmed, lambda code=code, site=site, at=confirmed: self.receive(code, site, at))
        for code in missing:
            reported = handed_at + timedelta(minutes=40)
            self.add(reported, lambda code=code, at=reported: self.scan(courier, [code], "report_missing", at,
                                                                        note="Không thấy bì trong túi xe"))
        runs.depart(self.session, run_id, seq, actor=courier, now=at + timedelta(minutes=runs.DWELL_MIN))

    def receive(self, code: str, site: Site, at: datetime) -> None:
        self.scan(self.clerk_of[site.id], [code], "receive", at, site.code)
        if self.destination.get(code) == site.code and code in self.arrived:
            self.arrived.pop(code)(at)


class History(Shuttles):
    """Replays a week of dossiers riding the shuttle runs between the centers and the agencies."""

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
        # The agency decides within the procedure's time, sometimes later (the watch will notice).
        spent = max(1, round(proc["days"] * self.rng.uniform(0.2, 1.15)))
        decided = self.local(self.calendar.add_working_days(day, spent), time(9, 0)) + timedelta(minutes=self.rng.randint(0, 360))

        def register() -> None:
            answer, _ = dossiers.register(self.session, data, actor=registrar, settings=self.settings, now=received)
            code = answer.parcel.code
            self.destination[code] = agency.code
            self.arrived[code] = lambda at: self.decide(data.code, agency, max(decided, at + timedelta(hours=2)))
            if lost:
                self.lost.add(code)
            accepted = received + timedelta(minutes=3)
            self.add(accepted, lambda: self.scan(registrar, [code], "accept", accepted, center.code))

        self.add(received, register)

    def decide(self, dossier_code: str, agency: Site, at: datetime) -> None:
        """The agency's result leaves as a new parcel, accepted at the agency for the shuttle."""
        clerk = self.clerk_of[agency.id]

        def result() -> None:
            out = statuses.add_parcel(self.session, dossier_code, ParcelIn(direction=Direction.TO_CENTER, origin=agency.code),
                                      actor=clerk, settings=self.settings, now=at)
            self.destination[out.code] = out.destination.code
            self.arrived[out.code] = lambda back_at, code=out.code: self.collect(code, out.destination.code, back_at)
            self.scan(clerk, [out.code], "accept", at + timedelta(minutes=2), agency.code)

        self.add(at, result)

    def collect(self, code: str, center_code: str, back_at: datetime) -> None:
        """The citizen collects the result at the center's counter, hours or a day after it is back."""
        center = self.sites[center_code]
        at = back_at + timedelta(hours=self.rng.randint(1, 30))
        name = self.rng.choice(demo_data.APPLICANTS)
        self.add(at, lambda: self.scan(self.clerk_of[center.id], [code], "deliver", at, center.code,
                                       evidence={"recipient_name": name}))

    def build(self, admin: User) -> None:
        today = self.now.astimezone(LOCAL_TZ).date()
        first = today - timedelta(days=HISTORY_DAYS)
        last = self.calendar.next_working_day(today + timedelta(days=1))
        start = self.local(first, time(0, 0))
        runs.generate(self.session, first, (last - first).days + 1, start)
        run_list = [r for d in range((last - first).days + 1) for r in runs.runs_of_day(self.session, first + timedelta(days=d)).runs]
        self.assign_couriers(admin, run_list, start)
        self.plan_runs(run_list)
        n = 0
        for offset in range(HISTORY_DAYS, -1, -1):
            day = today - timedelta(days=offset)
            if not self.calendar.is_working_day(day):
                continue
            for _ in range(self.rng.randint(22, 34)):
                n += 1
                self.dossier(n, day, lost=(n == 17))


def seed(session: Session, settings: Settings, now: datetime, progress: Callable[[int], None] | None = None,
         total: Callable[[int], None] | None = None) -> dict[str, int]:
    """Seed the demo province into an empty database: network, run templates, runs and a week of history."""
    now = as_utc(now)
    users = seed_network(session, now, settings.argon2_profile)
    for procedure in demo_data.PROCEDURES:  # the counters' catalogue
        counter.save_procedure(session, name=procedure["name"], agency=procedure["agency"],
                               processing_days=procedure["days"])
    templates = seed_templates(session, users["admin"], now)
    history = History(session, settings, users, now)
    history.build(users["admin"])
    steps = history.replay(progress, total)
    demo_scenes.corrections(session, settings, users, now)
    demo_scenes.late_with_apology(session, settings, users, now)
    demo_scenes.at_the_counter(session, settings, users, now)
    demo_scenes.home_delivery_booked(session, settings, users, now)
    demo_scenes.imported_from_onestop(session, settings, users, now)
    demo_scenes.fees_at_the_door(session, settings, users, now)
    return {"sites": len(history.sites), "users": len(users), "templates": templates, "steps": steps}
