"""The control sheet (mẫu 05) is the dossier's: every parcel's handoffs in time order, each "Giao:" / "Nhận:" a unit
and the person who really did it by full name, the result against the due date; the page and the PDF alike."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from html import unescape

import pytest
from pypdf import PdfReader

from models import Dossier
from postal import control_sheet
from postal.clock import local, utcnow
from postal.errors import SiteForbidden
from tests.test_pages import login

CENTER = "Trung tâm Phục vụ hành chính công tỉnh"
CLERK = f"{CENTER} (Nguyễn Thị Hà)"
COURIER = "Bưu điện tỉnh (bưu tá Ngô Văn Anh)"
JUSTICE = "Sở Tư pháp (Vũ Thùy Linh)"
APPLICANT = "Công dân (Nguyễn Văn An)"
LOGINS = re.compile(r"\b(ntha|nva|stp\.linh|gs\.lan)\b")


def minute(at) -> str:
    return f"{local(at):%H:%M %d/%m/%Y}"


def new_dossier(client, make, t, **overrides) -> tuple[str, str]:
    """A dossier for Sở Tư pháp received just before `t`: its code and its first parcel's."""
    body = make.dossier_body(**{"received_at": (t - timedelta(minutes=10)).isoformat(),
                                "due_at": (t + timedelta(days=10)).isoformat(), **overrides})
    r = client.post("/api/v1/dossiers", json=body, headers=make.token("ntha"))
    assert r.status_code == 201, r.get_data(as_text=True)
    return body["code"], r.get_json()["parcel"]["code"]


def new_parcel(client, make, dossier: str, direction: str, origin: str, clerk: str) -> str:
    r = client.post(f"/api/v1/dossiers/{dossier}/parcels", json={"direction": direction, "origin": origin},
                    headers=make.token(clerk))
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.get_json()["parcel"]["code"]


def journey(client, make, *, full_names: bool = True) -> dict:
    """Out to Sở Tư pháp with a supplement handed in meanwhile, the result back, collected at the counter."""
    make.network(full_names=full_names)
    t = utcnow().replace(second=0, microsecond=0) - timedelta(hours=6)
    dossier, out = new_dossier(client, make, t)
    step = {"t": t, "dossier": dossier, "out": out}
    make.scan_as("ntha", out, "accept", site="TTHCC", at=t)
    make.scan_as("nva", out, "pickup", site="TTHCC", at=t + timedelta(minutes=30))
    step["extra"] = extra = new_parcel(client, make, dossier, "to_agency", "TTHCC", "ntha")
    make.scan_as("ntha", extra, "accept", site="TTHCC", at=t + timedelta(minutes=45))
    make.scan_as("nva", out, "handover", site="STP", at=t + timedelta(minutes=60))
    make.scan_as("stp.linh", out, "receive", site="STP", at=t + timedelta(minutes=75))  # confirmed later
    step["result"] = result = new_parcel(client, make, dossier, "to_center", "STP", "stp.linh")
    make.scan_as("stp.linh", result, "accept", site="STP", at=t + timedelta(minutes=120))
    make.scan_as("nva", result, "pickup", site="STP", at=t + timedelta(minutes=150))
    make.scan_as("nva", result, "handover", site="TTHCC", at=t + timedelta(minutes=180))
    make.scan_as("ntha", result, "receive", site="TTHCC", at=t + timedelta(minutes=180, seconds=40))
    make.scan_as("ntha", result, "deliver", site="TTHCC", at=t + timedelta(minutes=240),
                 evidence={"recipient_name": "Nguyễn Thị Bích"})
    return step


def sheet_of(make, dossier: str, viewer: str = "gs.lan") -> control_sheet.ControlSheet:
    make.fresh()
    return control_sheet.for_dossier(make.session, dossier, viewer=make.staff(viewer), settings=make.settings,
                                     now=utcnow())


def parties(rows) -> list[tuple[str, str]]:
    return [(str(r.giver.words), str(r.receiver.words)) for r in rows]


def pdf_text(data: bytes) -> str:
    """The PDF's text on one line: table cells wrap where their column ends."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def test_one_sheet_covers_every_parcel_of_the_dossier_in_time_order(client, make):
    step = journey(client, make)
    sheet = sheet_of(make, step["dossier"])
    out, extra, result, t = step["out"], step["extra"], step["result"], step["t"]
    assert [r.parcel for r in sheet.rows] == [out, out, extra, out, result, result, result]
    assert [r.at for r in sheet.rows] == [t + timedelta(minutes=m) for m in (0, 30, 45, 60, 150, 180, 240)]
    assert parties(sheet.rows) == [
        (APPLICANT, CLERK),  # handed in at the counter
        (CLERK, COURIER),  # the center's clerk gives it to the courier
        (APPLICANT, CLERK),  # the supplement, handed in before the first parcel reached the agency
        (COURIER, JUSTICE),  # the handover and the agency's confirmation: one handoff
        (JUSTICE, COURIER),  # the agency's result, handed over by the agency's clerk
        (COURIER, CLERK),
        (CLERK, "Công dân (Nguyễn Thị Bích)"),  # collected at the counter by whom the clerk wrote down
    ]
    notes = [[str(n) for n in r.notes] for r in sheet.rows]
    assert notes[3] == [f"bên nhận xác nhận lúc {minute(t + timedelta(minutes=75))}"]
    assert notes[4] == [f"vào bì lúc {minute(t + timedelta(minutes=120))}"]
    assert notes[5] == [] and notes[6] == []  # confirmed within the minute of the handover
    assert {str(r.result) for r in sheet.rows} == {"Trước hạn"}
    printed = " ".join(f"{g} {r} {' '.join(map(str, row.notes))}" for (g, r), row in zip(parties(sheet.rows), sheet.rows))
    assert not LOGINS.search(printed)


def test_an_agencys_result_is_handed_over_by_its_clerk_even_before_the_courier_comes(client, make):
    make.network(full_names=True)
    t = utcnow().replace(second=0, microsecond=0) - timedelta(hours=2)
    dossier, _ = new_dossier(client, make, t)
    result = new_parcel(client, make, dossier, "to_center", "STP", "stp.linh")
    make.scan_as("stp.linh", result, "accept", site="STP", at=t)
    [row] = [r for r in sheet_of(make, dossier).rows if r.parcel == result]
    assert (str(row.giver.words), str(row.receiver.words)) == (JUSTICE, "Bưu điện")
    assert [str(n) for n in row.notes] == ["chờ bưu tá nhận chuyển"] and row.at == t


def test_an_unconfirmed_handover_and_a_receipt_without_one_say_so(client, make):
    make.network(full_names=True)
    t = utcnow().replace(second=0, microsecond=0) - timedelta(hours=2)
    dossier, first = new_dossier(client, make, t)
    second = new_parcel(client, make, dossier, "to_agency", "TTHCC", "ntha")
    for code in (first, second):
        make.scan_as("ntha", code, "accept", site="TTHCC", at=t)
        make.scan_as("nva", code, "pickup", site="TTHCC", at=t + timedelta(minutes=10))
    make.scan_as("nva", first, "handover", site="STP", at=t + timedelta(minutes=40))
    make.scan_as("stp.linh", second, "receive", site="STP", at=t + timedelta(minutes=41))
    rows = [r for r in sheet_of(make, dossier).rows if r.at > t + timedelta(minutes=10)]
    assert parties(rows) == [(COURIER, "Sở Tư pháp"), (COURIER, JUSTICE)]
    assert [[str(n) for n in r.notes] for r in rows] == [
        ["chờ bên nhận xác nhận"], ["chỉ bên nhận xác nhận (không có lần quét bàn giao)"]]


def test_a_typed_code_and_a_reported_loss_are_noted_by_full_name(client, make):
    make.network(full_names=True)
    code = make.parcel(accepted=False)
    make.scan_as("ntha", code, "accept", site="TTHCC", label=code)  # typed, not scanned
    make.scan_as("nva", code, "pickup", site="TTHCC")
    make.scan_as("nva", code, "report_missing", note="rơi trên xe")
    dossier = make.session.get(Dossier, make.parcel_row(code).dossier_id).code
    rows = sheet_of(make, dossier).rows
    assert [[str(n) for n in r.notes] for r in rows] == [
        ["nhập mã bằng tay"], [], ["rơi trên xe", "báo thất lạc, quét bởi Ngô Văn Anh"]]
    assert parties(rows)[2] == (COURIER, "—")


def test_an_account_without_a_full_name_is_never_named_by_its_login(client, make):
    step = journey(client, make, full_names=False)
    sheet = sheet_of(make, step["dossier"])
    assert parties(sheet.rows)[:2] == [("Công dân (Nguyễn Văn An)", CENTER), (CENTER, "Bưu điện tỉnh")]
    r = client.get(f"/api/v1/dossiers/{step['dossier']}/control-sheet.pdf", headers=make.token("gs.lan"))
    assert r.status_code == 200 and not LOGINS.search(pdf_text(r.data))


def test_each_handoff_is_judged_against_the_due_date(client, make):
    make.network(full_names=True)
    now = utcnow()
    late, code = new_dossier(client, make, now, received_at=(now - timedelta(days=3)).isoformat(),
                             due_at=(now - timedelta(hours=1)).isoformat())
    make.scan_as("ntha", code, "accept", site="TTHCC")
    end_of_today = local(now).replace(hour=23, minute=59, second=59, microsecond=999999)
    today, code = new_dossier(client, make, now, due_at=end_of_today.isoformat())
    make.scan_as("ntha", code, "accept", site="TTHCC")
    assert [str(r.result) for r in sheet_of(make, late).rows] == ["Quá hạn"]
    assert [str(r.result) for r in sheet_of(make, today).rows] == ["Đúng hạn"]


def page_rows(html: str) -> list[tuple[str, str]]:
    """The "Giao:" and "Nhận:" of each row of the sheet on the page."""
    givers = re.findall(r'<div class="giver">(.*?)</div>', html)
    takers = re.findall(r'<div class="receiver">(.*?)</div>', html)
    return [(unescape(g).strip(), unescape(r).strip()) for g, r in zip(givers, takers, strict=True)]


def test_the_dossier_page_is_the_sheet_laid_out_as_form_05_in_vietnamese_and_english(client, make):
    step = journey(client, make)
    login(client, "gs.lan")
    html = client.get(f"/dossiers/{step['dossier']}").get_data(as_text=True)
    for expected in ("UBND TỈNH QUẢNG NINH", CENTER.upper(), "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                     "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ", step["dossier"], "Cấp Phiếu lý lịch tư pháp",
                     "Nguyễn Văn An", minute(step["t"] - timedelta(minutes=10)), "Người giao (ký)"):
        assert expected in html, expected
    rows = page_rows(html)
    assert rows[4] == (f"Giao: {JUSTICE}", f"Nhận: {COURIER}") and len(rows) == 7
    assert html.count('data-label="Kết quả">Trước hạn<') == 7
    assert f'href="/api/v1/dossiers/{step["dossier"]}/control-sheet.pdf"' in html
    assert not LOGINS.search(re.sub(r"<header.*?</header>|<script.*?</script>|data-user=\"[^\"]*\"", "", html, flags=re.S))
    html = client.get(f"/dossiers/{step['dossier']}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "DOSSIER PROCESSING CONTROL SHEET" in html and "Citizen (Nguyễn Văn An)" in html
    assert "Post office (Bưu điện tỉnh, courier Ngô Văn Anh)" not in html  # units stay as named
    assert "Bưu điện tỉnh (courier Ngô Văn Anh)" in html and html.count('data-label="Result">Early<') == 7


def test_the_pdf_prints_the_same_rows_as_the_page_with_the_forms_heading(client, make):
    step = journey(client, make)
    login(client, "gs.lan")
    rows = page_rows(client.get(f"/dossiers/{step['dossier']}").get_data(as_text=True))
    r = client.get(f"/api/v1/dossiers/{step['dossier']}/control-sheet.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = pdf_text(r.data)
    for expected in ("Mẫu số 05", "UBND TỈNH QUẢNG NINH", f"{CENTER.upper()}", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                     "Độc lập - Tự do - Hạnh phúc", "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
                     f"Mã hồ sơ: {step['dossier']}", "Thủ tục hành chính: Cấp Phiếu lý lịch tư pháp",
                     "Người nộp hồ sơ: Nguyễn Văn An", "Cơ quan (bộ phận) giải quyết hồ sơ: Sở Tư pháp",
                     "NGƯỜI GIAO (ký)", "NGƯỜI NHẬN (ký)", "In lúc", "người in: Phạm Thị Lan"):
        assert expected in text, expected
    received, due = (local(step["t"] - timedelta(minutes=10)), local(step["t"] + timedelta(days=10)))
    assert f"Thời gian tiếp nhận hồ sơ: {received:%H} giờ {received:%M} phút, ngày {received:%d/%m/%Y}" in text
    assert f"Thời gian hẹn trả kết quả: {due:%H} giờ {due:%M} phút, ngày {due:%d/%m/%Y}" in text
    place = 0
    for index, (giver, taker) in enumerate(rows, start=1):
        place = text.index(f"{index}. {giver} {taker}", place)  # the page's rows, in the page's order
    handed = local(step["t"] + timedelta(minutes=150))
    assert f"{handed:%H} giờ {handed:%M} phút, ngày {handed:%d/%m/%Y}" in text and text.count("Trước hạn Bì ") == 7
    assert f"Bì {step['result']}" in text and not LOGINS.search(text)


def test_the_pdf_keeps_to_the_dossiers_scope(client, make):
    step = journey(client, make)
    path = f"/api/v1/dossiers/{step['dossier']}/control-sheet.pdf"
    assert client.get(path).status_code == 401
    r = client.get(path, headers=make.token("sxd.hanh"))  # Sở Xây dựng: not its dossier
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "site_forbidden"
    assert client.get(path, headers=make.token("stp.linh")).status_code == 200
    assert client.get("/api/v1/dossiers/NOPE/control-sheet.pdf", headers=make.token("gs.lan")).status_code == 404
    make.fresh()
    with pytest.raises(SiteForbidden):
        control_sheet.for_dossier(make.session, step["dossier"], viewer=make.staff("sxd.hanh"), settings=make.settings,
                                  now=utcnow())


def test_the_parcel_page_links_to_its_dossiers_sheet_instead_of_a_sheet_of_its_own(client, make):
    step = journey(client, make)
    login(client, "gs.lan")
    html = client.get(f"/parcels/{step['result']}").get_data(as_text=True)
    assert 'class="sheet"' not in html
    assert f'href="/dossiers/{step["dossier"]}#phieu-kiem-soat"' in html
