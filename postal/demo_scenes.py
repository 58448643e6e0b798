"""The demo's scenes of today, after the week of history: corrections a supervisor meets on the board, a late
dossier and its apology, a home delivery booked, dossiers received at the counter."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from models import Role, Site, SiteKind, User
from models.counter import CounterDossierIn
from models.delivery import DeliveryRequestIn
from models.dossiers import ApologyIn, DossierIn, RedirectIn
from postal import apologies, counter, custody, delivery, demo_data, dossiers, labels, workdays
from postal.clock import LOCAL_TZ, as_utc, local
from postal.config import Settings

DEMO_NAMESPACE = uuid.UUID("0b9f4a52-9a57-4f0e-8d3b-45a2016e0001")  # the demo's scan ids, the same on every seed


def corrections(session: Session, settings: Settings, users: dict[str, User], now: datetime) -> None:
    """What a supervisor meets on the board today, on two dossiers handed in this last hour: a courier's
    handover at the wrong agency, refused and flagged (the parcel stays with him), and a dossier readdressed
    to the agency that really decides it."""
    center, courier = users["ntha"], next(u for u in users.values() if u.role == Role.COURIER)
    procedure = demo_data.PROCEDURES[0]
    agencies = session.execute(select(Site).where(Site.kind == SiteKind.AGENCY).order_by(Site.code)).scalars().all()
    decider = next(a for a in agencies if a.code == procedure["agency"])
    other = next(a for a in agencies if a.id != decider.id)
    codes = []
    for n, minutes in ((9001, 50), (9002, 40)):
        at = now - timedelta(minutes=minutes)
        data = DossierIn(code=f"000.00.22.H47-{as_utc(now).astimezone(LOCAL_TZ):%y%m%d}-{n}", procedure=procedure["name"],
                         agency=decider.code, applicant={"name": demo_data.APPLICANTS[n % len(demo_data.APPLICANTS)],
                                                         "phone": f"0912{n:06d}"},
                         received_at=at, due_at=at + timedelta(days=14), return_method="counter", origin="TTHCC")
        answer, _ = dossiers.register(session, data, actor=center, settings=settings, now=at)
        codes.append(answer.parcel.code)
        record_one(session, settings, center, answer.parcel.code, "accept", at + timedelta(minutes=2), site="TTHCC")
    record_one(session, settings, courier, codes[0], "pickup", now - timedelta(minutes=30), site="TTHCC")
    refused = record_one(session, settings, courier, codes[0], "handover", now - timedelta(minutes=20), site=other.code)
    assert refused.status == "rejected", refused  # the board now shows who tried where
    reason = f"Thủ tục thuộc thẩm quyền của {other.name} theo phân cấp mới; Trung tâm chuyển lại cho đúng cơ quan."
    custody.redirect(session, codes[1], RedirectIn(destination=other.code, reason=reason), actor=users["gs.lan"],
                     settings=settings, now=now - timedelta(minutes=10))


def late_with_apology(session: Session, settings: Settings, users: dict[str, User], now: datetime) -> str:
    """A dossier the agency has had past its appointment, and the apology the supervisor issued for it: the
    citizen reads the new day on /track; the dossier page lists the slip. Its code."""
    center, courier, boss = users["ntha"], next(u for u in users.values() if u.role == Role.COURIER), users["gs.lan"]
    procedure = demo_data.PROCEDURES[1 % len(demo_data.PROCEDURES)]
    agency = session.execute(select(Site).where(Site.code == procedure["agency"])).scalars().one()
    clerk = next(u for u in users.values() if u.site_id == agency.id and u.role == Role.AGENCY_CLERK)
    received = now - timedelta(days=16)
    data = DossierIn(code=f"000.00.22.H47-{as_utc(received).astimezone(LOCAL_TZ):%y%m%d}-9003", procedure=procedure["name"],
                     agency=agency.code, applicant={"name": demo_data.APPLICANTS[3 % len(demo_data.APPLICANTS)],
                                                    "phone": "0912009003"},
                     received_at=received, due_at=received + timedelta(days=12), return_method="counter", origin="TTHCC")
    answer, _ = dossiers.register(session, data, actor=center, settings=settings, now=received)
    parcel = answer.parcel.code
    for actor, action, hours, site in ((center, "accept", 1, "TTHCC"), (courier, "pickup", 2, "TTHCC"),
                                       (courier, "handover", 3, agency.code), (clerk, "receive", 4, None)):
        record_one(session, settings, actor, parcel, action, received + timedelta(hours=hours),
                   **({"site": site} if site else {}))
    new_due = workdays.DEFAULT_CALENDAR.add_working_days(local(now).date(), 3)
    apologies.issue(session, data.code, ApologyIn(new_due=new_due, reason="Cần lấy ý kiến của cơ quan liên quan "
                                                  "trước khi giải quyết."), actor=boss, settings=settings, now=now)
    return data.code


def home_delivery_booked(session: Session, settings: Settings, users: dict[str, User], now: datetime) -> str:
    """A dossier at its agency whose applicant booked home delivery of the result for the next working day: on
    /track (code, phone ending 9004) the citizen changes or cancels it. Its code."""
    center, courier = users["ntha"], next(u for u in users.values() if u.role == Role.COURIER)
    procedure = demo_data.PROCEDURES[0]
    received = now - timedelta(days=2)
    data = DossierIn(code=f"000.00.22.H47-{as_utc(received).astimezone(LOCAL_TZ):%y%m%d}-9004", procedure=procedure["name"],
                     agency=procedure["agency"], applicant={"name": demo_data.APPLICANTS[4 % len(demo_data.APPLICANTS)],
                                                            "phone": "0912009004"},
                     received_at=received, due_at=received + timedelta(days=14), return_method="counter", origin="TTHCC")
    answer, _ = dossiers.register(session, data, actor=center, settings=settings, now=received)
    for actor, action, hours, site in ((center, "accept", 1, "TTHCC"), (courier, "pickup", 2, "TTHCC"),
                                       (courier, "handover", 3, procedure["agency"])):
        record_one(session, settings, actor, answer.parcel.code, action, received + timedelta(hours=hours), site=site)
    day = workdays.DEFAULT_CALENDAR.add_working_days(local(now).date(), 1)
    delivery.request_delivery(session, DeliveryRequestIn(
        dossier=data.code, phone_last4="9004", kind="deliver_result",
        address={"street": "Số 15 đường Nguyễn Văn Cừ", "ward_code": "06688"}, slot={"date": day, "period": "morning"},
    ), settings=settings.replace(geocoder_url=None), now=now)
    return data.code


def record_one(session: Session, settings: Settings, actor: User, code: str, action: str, at: datetime, **fields):
    scan = {"id": uuid.uuid5(DEMO_NAMESPACE, f"{code}/{action}/{at.isoformat()}"), "action": action, "at": at,
            "label": labels.qr_payload(settings.label_key, code), **fields}
    [outcome] = custody.record_scans(session, [scan], actor=actor, settings=settings, now=at + timedelta(seconds=5))
    return outcome


def at_the_counter(session: Session, settings: Settings, users: dict[str, User], now: datetime) -> None:
    """Two dossiers the center's clerk received at the counter in the last half hour: one to be returned at home
    in the afternoon, one whose appointment she moved with a reason."""
    clerk = users["ntha"]
    listed = {p.name: p.id for p in counter.procedures_for(session, clerk).procedures}
    day = f"{as_utc(now).astimezone(LOCAL_TZ):%y%m%d}"
    home = CounterDossierIn(
        code=f"TTHCC-{day}-9101", procedure=listed[demo_data.PROCEDURES[-5]["name"]], applicant_name="Hoàng Thị Mai",
        applicant_phone="0915 220 381", applicant_id_number="022185004321", applicant_address="Số 12 phố Cao Xanh",
        return_method="home", ward_code=demo_data.APPLICANT_ADDRESSES[0]["ward_code"], return_slot="afternoon", items=4,
        notes="Bản sao CCCD có chứng thực", received_at=now - timedelta(minutes=25))
    counter.register(session, home, actor=clerk, settings=settings, now=now - timedelta(minutes=24))
    received = now - timedelta(minutes=12)
    procedure = demo_data.PROCEDURES[0]
    computed = counter.due_for(procedure["days"], received, session.get(Site, clerk.site_id))[1]
    moved = workdays.DEFAULT_CALENDAR.add_working_days(local(computed).date(), 2)
    later = CounterDossierIn(
        code=f"TTHCC-{day}-9102", procedure=listed[procedure["name"]], applicant_name="Đặng Quốc Việt",
        applicant_phone="0983 551 027", return_method="counter", items=2, due_on=moved,
        due_reason="Người nộp hẹn nhận sau khi đi công tác về", received_at=received)
    counter.register(session, later, actor=clerk, settings=settings, now=received + timedelta(minutes=1))
