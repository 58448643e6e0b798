"""Fees at the door: what a courier collects (the delivery fee unless paid ahead or exempt, and the
procedure's fee when its agency asks the post office to collect it), the amount and method confirmed
(refused naming the field), and the day's reconciliation flagging a difference."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from models import DeliveryRequest, Dossier, FeeCollection, Procedure, Site
from models.delivery import DeliveryState
from postal.clock import local, utcnow
from postal.delivery import collection
from postal import fees
from postal.errors import Unprocessable


def _request(make, *, fee: int = 20_000, paid: bool = False, state: str = DeliveryState.DONE,
             day: date | None = None) -> DeliveryRequest:
    code = make.parcel()
    s = make.session
    dossier = s.execute(select(Dossier).order_by(Dossier.id.desc())).scalars().first()
    office = s.execute(select(Site).where(Site.code == "BD-TINH")).scalars().one()
    now = utcnow()
    req = DeliveryRequest(dossier_id=dossier.id, kind="deliver_result", street="Số 8 phố Bến Đoan", ward_code="06688",
                          province_code="22", phone="0912345678", slot_date=day or date.today(), slot_period="morning",
                          fee_vnd=fee, state=state, post_office_id=office.id,
                          fee_paid_at=now if paid else None, created_at=now, updated_at=now)
    s.add(req)
    s.commit()
    assert code
    return req


def _collect_for_agency(make, fee: int) -> None:
    make.network()
    make.procedure()
    proc = make.session.execute(select(Procedure)).scalars().first()
    proc.collect_fee_vnd = fee
    make.session.commit()


def exact_and_short(make):
    """Two deliveries of 20,000 đ for a procedure whose 50,000 đ the agency asks to collect: one paid in full in
    cash, one 10,000 đ short by transfer FT2612; the courier and the time."""
    _collect_for_agency(make, 50_000)
    courier = make.staff("nva")
    at = utcnow()
    exact, short = _request(make, fee=20_000), _request(make, fee=20_000)
    collection.record_collection(make.session, exact, courier.id, collection.parse_received(70_000, "cash", None), at)
    collection.record_collection(make.session, short, courier.id,
                                 collection.parse_received(60_000, "transfer", " FT2612 "), at)
    make.session.commit()
    return courier, at


def test_due_is_the_delivery_fee_and_the_agency_fee_asked_for(make):
    _collect_for_agency(make, 200_000)
    due = collection.amounts_due(make.session, _request(make, fee=20_000))
    assert (due.delivery_fee_vnd, due.procedure_fee_vnd, due.total_vnd) == (20_000, 200_000, 220_000)
    paid = collection.amounts_due(make.session, _request(make, fee=20_000, paid=True))
    assert (paid.delivery_fee_vnd, paid.total_vnd) == (0, 200_000)


def test_no_agency_fee_unless_asked(make):
    make.network()
    make.procedure()
    assert collection.amounts_due(make.session, _request(make, fee=15_000)).total_vnd == 15_000


@pytest.mark.parametrize(("amount", "method", "reference", "field"), [
    (-1, "cash", None, "Số tiền đã thu"), (1.5, "cash", None, "Số tiền đã thu"),
    (60_000_000, "cash", None, "Số tiền đã thu"), (True, "cash", None, "Số tiền đã thu"),
    (1000, "cheque", None, "Hình thức thu"), (1000, "transfer", "  ", "Mã giao dịch chuyển khoản"),
])
def test_received_refused_naming_the_field(amount, method, reference, field):
    with pytest.raises(Unprocessable) as caught:
        fees.parse_received(amount, method, reference)
    assert caught.value.params["field"] == field
    assert caught.value.status == 422


def test_reconciliation_flags_a_difference(make):
    courier, at = exact_and_short(make)
    lines = collection.reconciliation(make.session, courier.id, at - timedelta(hours=1), at + timedelta(hours=1))
    assert [(ln.due_vnd, ln.received_vnd, ln.difference_vnd) for ln in lines] == [(70_000, 70_000, 0),
                                                                                  (70_000, 60_000, -10_000)]
    assert lines[1].reference == "FT2612"
    assert collection.reconciliation(make.session, make.staff("ttb").id, at - timedelta(hours=1),
                                     at + timedelta(hours=1)) == []


def _out_for_home(client, make, fee: int = 20_000) -> tuple[DeliveryRequest, str]:
    from tests.test_delivery import result_for_home
    _collect_for_agency(make, 50_000)
    dossier_code, parcel = result_for_home(client, make)
    s = make.session
    dossier = s.execute(select(Dossier).where(Dossier.code == dossier_code)).scalars().one()
    office = s.execute(select(Site).where(Site.code == "BD-TINH")).scalars().one()
    now = utcnow()
    req = DeliveryRequest(dossier_id=dossier.id, kind="deliver_result", street="Số 8 phố Bến Đoan", ward_code="06688",
                          province_code="22", phone="0912345678", slot_date=date.today(), slot_period="morning",
                          fee_vnd=fee, state=DeliveryState.SCHEDULED, post_office_id=office.id, created_at=now,
                          updated_at=now)
    s.add(req)
    s.commit()
    make.scan_as("nva", parcel, "out_for_delivery")
    return req, parcel


def _deliver(client, make, parcel: str, collected: dict) -> dict:
    from tests.test_delivery import otp_sent
    scan = make.scan(parcel, "deliver", evidence={"otp": otp_sent(make), "recipient_name": "Nguyễn Văn An",
                                                  "collected": collected})
    return client.post("/api/v1/scans", json={"scans": [scan]}, headers=make.token("nva")).get_json()["results"][0]


def test_the_deliver_scan_records_what_was_collected(client, make):
    req, parcel = _out_for_home(client, make)
    refused = _deliver(client, make, parcel, {"amount_vnd": 70_000, "method": "transfer"})
    assert refused["status"] == "rejected" and "Mã giao dịch chuyển khoản" in refused["error"]["message"]
    make.fresh()
    assert make.session.execute(select(FeeCollection)).first() is None
    done = _deliver(client, make, parcel, {"amount_vnd": 70_000, "method": "transfer", "reference": "FT26120001"})
    assert done["status"] == "accepted"
    make.fresh()
    row = make.session.execute(select(FeeCollection)).scalars().one()
    assert (row.request_id, row.courier_id, row.delivery_fee_due_vnd, row.procedure_fee_due_vnd, row.received_vnd,
            row.method, row.reference) == (req.id, make.staff("nva").id, 20_000, 50_000, 70_000, "transfer", "FT26120001")


def test_the_courier_s_day_on_the_command_line_flags_the_difference(make, postal):
    _collect_for_agency(make, 50_000)
    courier, at = make.staff("nva"), utcnow()
    collection.record_collection(make.session, _request(make), courier.id, fees.parse_received(70_000, "cash", None), at)
    collection.record_collection(make.session, _request(make), courier.id, fees.parse_received(65_000, "cash", None), at)
    make.session.commit()
    result = postal("collections", "nva", "--day", f"{local(at):%Y-%m-%d}")
    assert result.exit_code == 1, result.output
    assert result.output.count("DIFFERENCE") == 1 and "DIFFERENCE -5,000" in result.output
    assert "2 collections, due 140,000 VND, received 135,000 VND" in result.output
    assert postal("collections", "ttb").exit_code == 0
    for day in ("31/02/2026", "2026-02-31"):  # no such day, or not written as asked: said so, exit 2
        bad = postal("collections", "nva", "--day", day)
        assert bad.exit_code == 2 and "--day" in bad.output, bad.output
    unknown = postal("collections", "nobody")
    assert unknown.exit_code != 0 and "Traceback" not in unknown.output


def test_the_delivery_list_shows_what_to_collect_per_door(client, make):
    from postal import delivery
    from tests.test_delivery_requests import next_working_day
    _collect_for_agency(make, 50_000)
    day = next_working_day()
    owing = _request(make, fee=20_000, state=DeliveryState.REQUESTED, day=day)
    paid = _request(make, fee=20_000, paid=True, state=DeliveryState.REQUESTED, day=day)
    office = make.session.execute(select(Site).where(Site.code == "BD-TINH")).scalars().one()
    run = delivery.generate_delivery_runs(make.session, office, day, "morning", utcnow())
    answer = client.get(f"/api/v1/runs/{run.id}/deliveries", headers=make.token("nva")).get_json()
    by_request = {s["request"]: s["to_collect"] for s in answer["stops"]}
    assert by_request[owing.id] == {"delivery_fee_vnd": 20_000, "procedure_fee_vnd": 50_000, "total_vnd": 70_000}
    assert by_request[paid.id] == {"delivery_fee_vnd": 0, "procedure_fee_vnd": 50_000, "total_vnd": 50_000}


def test_an_agencys_statement_of_fees_collected_flags_a_difference_in_json_csv_and_xlsx(client, make):
    import io

    from openpyxl import load_workbook

    _, at = exact_and_short(make)
    day = local(at).date().isoformat()
    query = f"/api/v1/reports/fees?from={day}&to={day}&agency=STP"

    r = client.get(query, headers=make.token("gs.lan"))
    assert r.status_code == 200, r.get_data(as_text=True)
    [stp] = r.get_json()["agencies"]
    assert (stp["agency"], stp["procedure_fee_vnd"], stp["delivery_fee_vnd"], stp["received_vnd"]) == (
        "STP", 100_000, 40_000, 130_000)
    assert (stp["difference_vnd"], stp["flagged"]) == (-10_000, 1)
    assert [x["difference_vnd"] for x in stp["lines"]] == [0, -10_000] and stp["lines"][1]["reference"] == "FT2612"
    assert stp["lines"][0]["courier"] == (make.staff("nva").full_name or "nva")

    csv = client.get(query + "&format=csv", headers=make.token("stp.linh")).get_data(as_text=True)  # its own clerk
    lines = csv.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Cơ quan,Thời gian thu,Mã hồ sơ") and len(lines) == 1 + 2 + 2  # header, 2, subtotal, total
    assert lines[2].endswith("Chênh lệch: kiểm tra lại") and "Chuyển khoản" in lines[2] and lines[1].endswith(",")
    assert lines[3].startswith("Cộng Sở Tư pháp") and lines[4].startswith("Tổng cộng")

    book = load_workbook(io.BytesIO(client.get(query + "&format=xlsx", headers=make.token("gs.lan")).data))
    sheet = book.active
    assert sheet["A1"].value.startswith("Bảng kê phí, lệ phí thu hộ") and f"{local(at):%d/%m/%Y}" in sheet["A1"].value
    assert [sheet.cell(3, c).value for c in range(6, 10)] == [50_000, 20_000, 70_000, 0]  # numbers stay numbers
    assert sheet.cell(6, 8).value == 130_000 and sheet.cell(6, 1).font.bold

    assert client.get(query, headers=make.token("sxd.hanh")).status_code == 403  # another agency's clerk
    own = client.get(f"/api/v1/reports/fees?from={day}&to={day}", headers=make.token("sxd.hanh")).get_json()
    assert [a["agency"] for a in own["agencies"]] == ["SXD"] and own["agencies"][0]["lines"] == []
    assert client.get(query, headers=make.token("nva")).status_code == 403  # couriers read their own day only
    assert client.get(query + "&format=pdf", headers=make.token("gs.lan")).status_code == 422
