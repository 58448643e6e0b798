"""The courier at the door, on a screen: the doors of a delivery run, the three forms of a door (accepted, refused
beside the field with nothing written, a double submit one scan), the receipt left there and the day's
collections, on the page and over the API, scoped by post office."""

from __future__ import annotations

import io
import uuid

from pypdf import PdfReader
from sqlalchemy import func, select

from models import CustodyEvent, DeliveryRequest, Dossier, FeeCollection, Procedure, Site
from models.delivery import DeliveryState
from models.runs import AssignIn
from postal import delivery, runs
from postal.clock import local, utcnow
from tests.test_delivery import otp_sent, result_for_home
from tests.test_pages import login, token_of


def door_run(client, make) -> tuple[int, str]:
    """A dossier's result on today's delivery run of BD-TINH, given to nva, with 20.000 đ + the agency's 50.000 đ
    to collect: (run, parcel)."""
    make.network(full_names=True)
    make.procedure()
    make.session.execute(select(Procedure)).scalars().first().collect_fee_vnd = 50_000
    make.session.commit()
    dossier_code, parcel = result_for_home(client, make)
    s = make.session
    dossier = s.execute(select(Dossier).where(Dossier.code == dossier_code)).scalars().one()
    office = s.execute(select(Site).where(Site.code == "BD-TINH")).scalars().one()
    now = utcnow()
    s.add(DeliveryRequest(dossier_id=dossier.id, kind="deliver_result", street="Số 8 phố Bến Đoan", ward_code="06688",
                          province_code="22", phone="0912345678", slot_date=local(now).date(), slot_period="morning",
                          fee_vnd=20_000, state=DeliveryState.REQUESTED, post_office_id=office.id, created_at=now,
                          updated_at=now))
    s.commit()
    run = delivery.generate_delivery_runs(s, office, local(now).date(), "morning", now)
    runs.assign(s, run.id, AssignIn(courier="nva"), actor=make.staff("gs.lan"), now=now)
    return run.id, parcel


def events(make, parcel: str) -> list[str]:
    make.fresh()
    return list(make.session.execute(select(CustodyEvent.action)
                                     .where(CustodyEvent.parcel_id == make.parcel_row(parcel).id)
                                     .order_by(CustodyEvent.seq)).scalars())


def post(client, url: str, **data):
    return client.post(url, data={"csrf_token": token_of(client, "/scan"), **data})


def test_the_courier_starts_delivers_and_leaves_a_receipt(client, make):
    run_id, parcel = door_run(client, make)
    login(client, "nva")
    for linking in (f"/runs/{run_id}", "/scan"):  # the run's page and the courier's home lead to the doors
        assert f'href="/runs/{run_id}/doors"' in client.get(linking).get_data(as_text=True), linking
    page = client.get(f"/runs/{run_id}/doors").get_data(as_text=True)
    assert 'href="tel:0912345678"' in page and "Số 8 phố Bến Đoan" in page and parcel in page
    assert "70.000 đ" in page and "Chờ giao" in page
    start = f"/runs/{run_id}/doors/{parcel}/start"
    scan_id = str(uuid.uuid4())
    r = post(client, start, scan_id=scan_id)
    assert r.status_code == 302
    assert "09******78" in client.get(r.headers["Location"]).get_data(as_text=True)
    post(client, start, scan_id=scan_id)  # sent twice: one scan
    assert events(make, parcel).count("out_for_delivery") == 1
    otp = otp_sent(make)
    deliver = f"/runs/{run_id}/doors/{parcel}/deliver"
    base = {"otp": otp, "recipient": "Nguyễn Văn An", "amount": "70.000", "method": "cash", "reference": ""}
    r = post(client, deliver, scan_id=str(uuid.uuid4()), **{**base, "amount": "60000"})
    assert r.status_code == 422 and "Số tiền đã thu" in r.get_data(as_text=True)
    r = post(client, deliver, scan_id=str(uuid.uuid4()), **{**base, "method": "transfer"})
    assert r.status_code == 422 and "Mã giao dịch chuyển khoản" in r.get_data(as_text=True)
    wrong = f"{(int(otp) + 1) % 10**6:06d}"
    r = post(client, deliver, scan_id=str(uuid.uuid4()), **{**base, "otp": wrong})
    assert r.status_code == 422 and "còn 4 lần thử" in r.get_data(as_text=True)
    assert "deliver" not in events(make, parcel)
    assert make.session.execute(select(func.count()).select_from(FeeCollection)).scalar() == 0
    key = str(uuid.uuid4())
    assert post(client, deliver, scan_id=key, **base).status_code == 302
    post(client, deliver, scan_id=key, **base)
    assert events(make, parcel).count("deliver") == 1
    row = make.session.execute(select(FeeCollection)).scalars().one()
    assert (row.received_vnd, row.method) == (70_000, "cash")
    assert "Đã giao" in client.get(f"/runs/{run_id}/doors").get_data(as_text=True)
    pdf = client.get(f"/runs/{run_id}/doors/{parcel}/receipt.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    for words in ("Biên nhận giao kết quả tận nhà".upper(), "Nguyễn Văn An", "20.000 đ", "50.000 đ", "70.000 đ",
                  "Tiền mặt"):
        assert words in text, text
    day = client.get(f"/collections?date={local(utcnow()):%d/%m/%Y}").get_data(as_text=True)
    assert "70.000 đ" in day and "Khớp" in day and "Lệch" not in day


def test_nobody_at_the_door_needs_a_reason_and_is_one_scan(client, make):
    run_id, parcel = door_run(client, make)
    login(client, "nva")
    post(client, f"/runs/{run_id}/doors/{parcel}/start", scan_id=str(uuid.uuid4()))
    fail = f"/runs/{run_id}/doors/{parcel}/fail"
    r = post(client, fail, scan_id=str(uuid.uuid4()), reason="other", note="")
    assert r.status_code == 422 and "Ghi chú" in r.get_data(as_text=True)
    assert "attempt_failed" not in events(make, parcel)
    key = str(uuid.uuid4())
    assert post(client, fail, scan_id=key, reason="absent", note="gọi 2 lần").status_code == 302
    post(client, fail, scan_id=key, reason="absent", note="gọi 2 lần")
    assert events(make, parcel).count("attempt_failed") == 1
    assert "Giao không thành công" in client.get(f"/runs/{run_id}/doors").get_data(as_text=True)


def test_another_courier_may_not_act_and_the_receipt_waits_for_the_delivery(client, make):
    run_id, parcel = door_run(client, make)
    login(client, "ttb")
    assert post(client, f"/runs/{run_id}/doors/{parcel}/start", scan_id=str(uuid.uuid4())).status_code == 403
    assert events(make, parcel) == ["accept"]
    client.post("/logout", data={"csrf_token": token_of(client)})
    login(client, "gs.lan")
    page = client.get(f"/runs/{run_id}/doors").get_data(as_text=True)
    assert parcel in page and "Bắt đầu giao" not in page
    assert client.get(f"/runs/{run_id}/doors/{parcel}/receipt.pdf").status_code == 404


def test_the_collections_api_is_scoped_to_the_courier_s_post_office(client, make):
    make.network()
    make.site("BD-CAMPHA", "post_office", "Bưu điện Cẩm Phả")
    make.user("cr.cp", "courier", "BD-CAMPHA")
    make.user("pc.bdt", "postal_clerk", "BD-TINH")
    today = f"{local(utcnow()):%Y-%m-%d}"
    ok = client.get(f"/api/v1/collections?courier=nva&day={today}", headers=make.token("pc.bdt"))
    assert ok.status_code == 200 and ok.get_json()["lines"] == []
    assert client.get(f"/api/v1/collections?courier=cr.cp&day={today}", headers=make.token("pc.bdt")).status_code == 403
    assert client.get(f"/api/v1/collections?courier=nva&day={today}", headers=make.token("cr.cp")).status_code == 403
    assert client.get("/api/v1/collections", headers=make.token("nva")).get_json()["courier"] == "nva"
    bad = client.get("/api/v1/collections?day=07/12/2026", headers=make.token("nva"))
    assert bad.status_code == 422 and "day" in bad.get_data(as_text=True)


def test_a_different_amount_is_taken_only_when_confirmed_and_shows_as_a_difference(client, make):
    run_id, parcel = door_run(client, make)
    login(client, "nva")
    post(client, f"/runs/{run_id}/doors/{parcel}/start", scan_id=str(uuid.uuid4()))
    base = {"otp": otp_sent(make), "recipient": "Nguyễn Văn An", "amount": "50000", "method": "transfer",
            "reference": "FT26120001"}
    r = client.post(f"/runs/{run_id}/doors/{parcel}/deliver", headers={"Accept-Language": "en"},
                    data={"csrf_token": token_of(client, "/scan"), "scan_id": str(uuid.uuid4()), **base})
    assert r.status_code == 422 and "differs from what is due (70.000 đ)" in r.get_data(as_text=True)
    r = post(client, f"/runs/{run_id}/doors/{parcel}/deliver", scan_id=str(uuid.uuid4()), different="1", **base)
    assert r.status_code == 302
    day = client.get("/collections").get_data(as_text=True)
    assert "Lệch" in day and "-20.000 đ" in day and "FT26120001" in day
    pdf = client.get(f"/runs/{run_id}/doors/{parcel}/receipt.pdf")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    # the paper the citizen keeps adds up: what was due line by line, its total, then what was received
    assert "Tổng số phải thu 70.000 đ" in text and "Số tiền đã thu 50.000 đ" in text, text
    assert "Chênh lệch (đã thu − phải thu) -20.000 đ" in text and "FT26120001" in text


def test_the_collections_page_of_another_post_office_s_courier_is_refused(client, make):
    make.network()
    make.site("BD-CAMPHA", "post_office", "Bưu điện Cẩm Phả")
    make.user("cr.cp", "courier", "BD-CAMPHA")
    make.user("pc.bdt", "postal_clerk", "BD-TINH")
    login(client, "pc.bdt")
    page = client.get("/collections")
    assert page.status_code == 200 and 'value="nva"' in page.get_data(as_text=True)
    assert 'value="cr.cp"' not in page.get_data(as_text=True)
    assert client.get("/collections?courier=cr.cp").status_code == 403
    assert client.get("/collections?date=31/02/2026").status_code == 422
