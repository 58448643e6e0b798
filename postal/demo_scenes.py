"""The demo's scenes of today, after the week of history: corrections a supervisor meets on the board, a late
dossier and its apology, a home delivery booked, dossiers received at the counter, dossiers imported from the
one-stop system, and the last working day's fees collected at the door."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlmodel import Session

from models import DeliveryRequest, Direction, OutboxMessage, Role, Site, SiteKind, User
from models.counter import CounterDossierIn, ProcedureIn
from models.delivery import DeliveryRequestIn
from models.dossiers import ApologyIn, DossierIn, ParcelIn, RedirectIn
from postal import (apologies, counter, custody, delivery, demo_data, dossiers, imports, labels, onestop, procedures,
                    statuses, vault, workdays)
from postal.delivery import collection
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
    scan = {"id": scan_id(code, action, at), "action": action, "at": at,
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


ONESTOP_UNIT = "000.00.22.H47"  # the provincial one-stop system's unit code, as its dossier codes begin


def imported_from_onestop(session: Session, settings: Settings, users: dict[str, User], now: datetime) -> list[str]:
    """Three dossiers the one-stop system sent this morning, registered through the import (as `postal
    import-dossiers FILE` and POST /api/v1/dossiers/batch do): the rows name no agency, the admin's mapping of
    the unit code finds it. Their codes."""
    procedure = demo_data.PROCEDURES[2 % len(demo_data.PROCEDURES)]
    onestop.save_unit(session, ONESTOP_UNIT, procedure["agency"], by=users["admin"], at=now - timedelta(hours=3))
    rows = []
    for n, minutes in ((9201, 150), (9202, 110), (9203, 70)):
        received = now - timedelta(minutes=minutes)
        address = demo_data.APPLICANT_ADDRESSES[n % len(demo_data.APPLICANT_ADDRESSES)]
        rows.append((len(rows) + 1, {
            "code": f"{ONESTOP_UNIT}-{local(received):%y%m%d}-{n}", "procedure": procedure["name"], "origin": "TTHCC",
            "applicant_name": demo_data.APPLICANTS[n % len(demo_data.APPLICANTS)], "applicant_phone": f"0912{n:06d}",
            "applicant_address": address["street"], "applicant_ward_code": address["ward_code"],
            "received_at": as_utc(received).isoformat(), "return_method": "counter",
            "due_at": as_utc(received + timedelta(days=14)).isoformat()}))
    results = imports.import_dossiers(session, rows, actor=users["gs.lan"], settings=settings, now=now)
    refused = [r for r in results if r.status not in ("created", "unchanged")]
    assert not refused, refused
    return [r.code for r in results]


def last_working_day(now: datetime) -> date:
    day = local(now).date() - timedelta(days=1)
    while not workdays.DEFAULT_CALENDAR.is_working_day(day):
        day -= timedelta(days=1)
    return day


DOOR_FEE_VND = 50_000  # the agency's fee for the procedure, collected by the post office at the door


def fees_at_the_door(session: Session, settings: Settings, users: dict[str, User], now: datetime) -> list[str]:
    """On the last working day: two results taken home by the provincial post office's courier, each with the
    delivery fee and the agency's procedure fee collected at the door, one in cash, one by transfer; `postal
    collections nva --day <that day>` shows both, no difference. Their dossier codes."""
    center, courier, admin = users["ntha"], users["nva"], users["admin"]
    procedure = demo_data.PROCEDURES[3 % len(demo_data.PROCEDURES)]
    [row] = [p for p in procedures.catalogue(session, agency=procedure["agency"]).procedures
             if p.name == procedure["name"]]
    day = last_working_day(now)

    def at(hour: int, minute: int) -> datetime:
        return datetime.combine(day, time(hour, minute), LOCAL_TZ)

    procedures.edit(session, row.id, ProcedureIn(name=row.name, agency=row.agency, processing_days=row.processing_days,
                                                 site=row.site, collect_fee_vnd=DOOR_FEE_VND), by=admin, at=at(7, 0))
    agency = session.execute(select(Site).where(Site.code == procedure["agency"])).scalars().one()
    clerk = next(u for u in users.values() if u.site_id == agency.id and u.role == Role.AGENCY_CLERK)
    codes = []
    transfer = {"method": "transfer", "reference": f"FT{day:%y%m%d}9302"}
    for n, start, paid in ((9301, 0, {"method": "cash"}), (9302, 20, transfer)):
        received = at(7, 40) + timedelta(minutes=start)
        phone = f"0912{n:06d}"
        data = DossierIn(code=f"000.00.22.H47-{day:%y%m%d}-{n}", procedure=procedure["name"], agency=agency.code,
                         applicant={"name": demo_data.APPLICANTS[n % len(demo_data.APPLICANTS)], "phone": phone},
                         received_at=received, due_at=at(16, 0), return_method="home", origin="TTHCC")
        answer, _ = dossiers.register(session, data, actor=center, settings=settings, now=received)
        booked, _ = delivery.request_delivery(session, DeliveryRequestIn(
            dossier=data.code, phone_last4=phone[-4:], kind="deliver_result",
            address={"street": f"Số {n % 100} đường Trần Hưng Đạo", "ward_code": "06688"},
            slot={"date": day, "period": "afternoon"},
        ), settings=settings.replace(geocoder_url=None), now=received + timedelta(minutes=5))
        for actor, action, minutes, site in ((center, "accept", 2, "TTHCC"), (courier, "pickup", 30, "TTHCC"),
                                             (courier, "handover", 60, agency.code), (clerk, "receive", 65, None)):
            record_one(session, settings, actor, answer.parcel.code, action, received + timedelta(minutes=minutes),
                       **({"site": site} if site else {}))
        # the result, decided in the morning, comes back to the center; its parcel for the citizen's door
        made = at(11, 0) + timedelta(minutes=start)
        result = statuses.add_parcel(session, data.code, ParcelIn(direction=Direction.TO_CITIZEN, origin="TTHCC"),
                                     actor=center, settings=settings, now=made).code
        record_one(session, settings, center, result, "accept", made + timedelta(minutes=2), site="TTHCC")
        out = at(13, 30) + timedelta(minutes=start)
        record_one(session, settings, courier, result, "out_for_delivery", out)
        otp = otp_of(session, settings, scan_id(result, "out_for_delivery", out))
        due = collection.amounts_due(session, session.get(DeliveryRequest, booked.id))
        delivered = record_one(session, settings, courier, result, "deliver", out + timedelta(minutes=35), evidence={
            "otp": otp, "recipient_name": data.applicant.name, "collected": {"amount_vnd": due.total_vnd, **paid}})
        assert delivered.status == "accepted", delivered
        codes.append(data.code)
    return codes


def otp_of(session: Session, settings: Settings, event_id: uuid.UUID) -> str:
    """The code the out_for_delivery scan sent by SMS, opened as the sender opens it (the demo holds the keys)."""
    body, sealed = session.execute(select(OutboxMessage.body, OutboxMessage.secret).where(
        OutboxMessage.dedupe_key == f"{event_id}:sms:out_for_delivery")).one()
    return vault.reveal(settings, body, sealed)[1]


def scan_id(code: str, action: str, at: datetime) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, f"{code}/{action}/{at.isoformat()}")
