"""The papers in a real browser: a dossier's control sheet (mẫu 05) as its page and as the PDF its button opens,
a redirect on it, an apology slip (mẫu 04) issued from the dossier page, and a run's manifest with a handover
record per direction at each stop."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from tests.test_apologies import late_dossier, working_day
from tests.test_browser import PHONE, SHOTS, calendars_ready, log_in, shot
from tests.test_control_sheet import APPLICANT, CLERK, COURIER, JUSTICE, LOGINS, journey
from tests.test_runs_pages import todays_run

pytestmark = pytest.mark.browser


def opened_pdf(page, selector: str) -> str:
    """Click a paper's button, see it open the PDF in a new tab, and read that PDF with the same login: its text
    on one line (Chromium shows PDFs in its own viewer, whose page is not the file)."""
    with page.expect_popup() as opened:
        page.click(selector)
    tab = opened.value
    tab.wait_for_url(re.compile(r".*\.pdf$"))
    response = page.request.get(tab.url)
    tab.close()
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.body()))
    return " ".join(" ".join(p.extract_text() for p in reader.pages).split())


def test_the_dossier_page_and_its_pdf_are_one_control_sheet(live_server, client, make, context_for):
    from playwright.sync_api import expect

    step = journey(client, make)
    page = context_for().new_page()
    log_in(page, live_server, "gs.lan", next_path=f"/parcels/{step['result']}")
    page.click("p.sheet-link a")  # the parcel page leads to its dossier's sheet
    page.wait_for_url(f"{live_server}/dossiers/{step['dossier']}#phieu-kiem-soat")
    sheet = page.locator("#phieu-kiem-soat")
    expect(sheet.locator(".official-head")).to_contain_text("UBND TỈNH QUẢNG NINH")
    expect(sheet.locator("h2")).to_have_text("PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ")
    rows = sheet.locator("table.sheet tbody tr")
    expect(rows).to_have_count(7)
    expect(rows.nth(0).locator("td.parties")).to_have_text(re.compile(rf"Giao: {re.escape(APPLICANT)}\s+Nhận: {re.escape(CLERK)}"))
    expect(rows.nth(4).locator("td.parties")).to_have_text(re.compile(rf"Giao: {re.escape(JUSTICE)}\s+Nhận: {re.escape(COURIER)}"))
    shown = [" ".join(t.split()) for t in rows.locator("td.parties").all_inner_texts()]
    shot(page, "dossier-control-sheet-desktop")

    text = opened_pdf(page, "#control-sheet-pdf")
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in text and f"Mã hồ sơ: {step['dossier']}" in text
    place = 0
    for index, parties in enumerate(shown, start=1):
        place = text.index(f"{index}. {parties}", place)  # the rows the page shows, in its order
    assert not LOGINS.search(text)

    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    page.emulate_media(media="print")
    expect(page.locator("header.topbar")).to_be_hidden()
    expect(sheet.locator("th.sign")).to_have_count(2)
    expect(sheet.locator("th.sign").first).to_be_visible()  # room to sign on the printed page
    page.pdf(path=str(SHOTS / "dossier-control-sheet-print.pdf"), format="A4")
    page.emulate_media(media="screen")
    page.set_viewport_size(PHONE)
    expect(sheet.locator("th.sign").first).to_be_hidden()
    expect(rows.nth(4)).to_contain_text("Giao: Sở Tư pháp (Vũ Thùy Linh)")  # a card per handoff on a phone
    shot(page, "dossier-control-sheet-phone")


def test_the_manifest_button_prints_a_handover_record_per_direction_with_full_names(live_server, client, make,
                                                                                   context_for):
    make.network(full_names=True)
    run = todays_run(client, make)
    code = make.parcel()
    for who, action, site in (("nva", "pickup", "TTHCC"), ("nva", "handover", "STP"), ("stp.linh", "receive", "STP")):
        make.scan_as(who, code, action, site=site, **({"run": run.id} if who == "nva" else {}))
    page = context_for(PHONE, is_mobile=True).new_page()
    log_in(page, live_server, "nva", next_path=f"/runs/{run.id}")
    page.click("#manifest-pdf")
    page.wait_for_url(re.compile(r".*/manifest\.pdf$"))
    response = page.request.get(page.url)  # Chromium shows the file in its viewer; read it with the same login
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages).split())
    center = "Trung tâm Phục vụ hành chính công tỉnh"
    picked, dropped = text.split("BIÊN BẢN GIAO NHẬN")[1:3]
    assert f"Phần 1. {center} giao, bưu tá nhận Số bì: 1/1" in picked
    assert picked.index(f"Nguyễn Thị Hà Nhân viên bưu điện – {center}") < picked.index("BÊN NHẬN") < picked.index(
        "Ngô Văn Anh Bưu tá – Bưu điện tỉnh")
    assert "Phần 1. Bưu tá giao, Sở Tư pháp nhận Số bì: 1/1" in dropped
    assert dropped.index("Ngô Văn Anh Bưu tá") < dropped.index("BÊN NHẬN") < dropped.index(
        "Vũ Thùy Linh Cán bộ tiếp nhận của cơ quan – Sở Tư pháp")
    assert not LOGINS.search(text)


def test_a_supervisor_redirects_a_parcel_and_the_sheet_and_its_pdf_show_it(live_server, client, make, context_for):
    from playwright.sync_api import expect

    make.network(full_names=True)
    code = make.parcel()  # at the center, addressed to Sở Tư pháp
    page = context_for().new_page()
    log_in(page, live_server, "gs.lan", next_path=f"/parcels/{code}")
    page.click("details.redirect summary")  # "Đổi nơi nhận"
    page.select_option("#redirect-destination", "SXD")
    page.fill("#redirect-reason", "Thuộc thẩm quyền Sở Xây dựng")
    page.click("details.redirect button[type=submit]")
    page.wait_for_url(f"{live_server}/parcels/{code}")
    expect(page.locator(".flash-ok")).to_contain_text("Đã đổi nơi nhận")
    expect(page.locator("dl.facts")).to_contain_text("Sở Xây dựng")  # its destination now
    parcel = page.request.get(f"{live_server}/api/v1/parcels/{code}").json()  # its timeline, with the same login
    redirect = parcel["timeline"][-1]
    assert redirect["action"] == "redirect" and redirect["evidence"] == {"from": "STP", "to": "SXD"}
    assert redirect["note"] == "Thuộc thẩm quyền Sở Xây dựng" and redirect["actor"] == "gs.lan"

    page.click("p.sheet-link a")
    page.wait_for_url(f"{live_server}/dossiers/{parcel['dossier']}#phieu-kiem-soat")
    moved = page.locator("#phieu-kiem-soat table.sheet tbody tr").filter(has_text="đổi nơi nhận")
    expect(moved).to_have_count(1)
    expect(moved).to_contain_text("đổi nơi nhận: Sở Tư pháp → Sở Xây dựng, do Phạm Thị Lan ghi")
    expect(moved).to_contain_text("Thuộc thẩm quyền Sở Xây dựng")
    shot(page, "dossier-control-sheet-redirect")
    text = opened_pdf(page, "#control-sheet-pdf")
    assert "đổi nơi nhận: Sở Tư pháp → Sở Xây dựng, do Phạm Thị Lan ghi" in text
    assert "Thuộc thẩm quyền Sở Xây dựng" in text and not LOGINS.search(text)


def test_an_apology_issued_from_the_dossier_page_prints_its_slip_and_shows_on_track(live_server, client, make,
                                                                                  context_for):
    from playwright.sync_api import expect

    code = late_dossier(client, make)
    new_day = working_day(4)
    page = context_for().new_page()
    log_in(page, live_server, "ntha", next_path=f"/dossiers/{code}")
    page.click('a[href="#xin-loi"]')  # the late badge leads to the form
    calendars_ready(page)
    field = page.locator("#apology-new-due")
    field.click()
    calendar = page.locator(".flatpickr-calendar.open")
    expect(calendar).to_be_visible()
    field.evaluate("(input, day) => input._flatpickr.jumpToDate(day)", new_day.isoformat())  # to its month
    calendar.locator(".flatpickr-day:not(.prevMonthDay):not(.nextMonthDay)").get_by_text(str(new_day.day),
                                                                                         exact=True).click()
    expect(field).to_have_value(new_day.strftime("%d/%m/%Y"))  # picked, written dd/mm/yyyy
    page.fill("#apology-reason", "Chờ kết quả xác minh của UBND phường")
    page.click(".apology-form button[type=submit]")
    page.wait_for_load_state()
    expect(page.locator(".flash-ok")).to_contain_text(f"Đã ra phiếu xin lỗi, hẹn lại ngày {new_day:%d/%m/%Y}")
    expect(page.locator(".apology-list li")).to_have_count(1)
    text = opened_pdf(page, ".apology-list a")
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in text and code in text
    assert new_day.strftime("%d/%m/%Y") in text and "Chờ kết quả xác minh của UBND phường" in text

    citizen = context_for().new_page()  # no login: the citizen's own lookup
    citizen.goto(f"{live_server}/track")
    citizen.fill("input[name=code]", code)
    citizen.fill("input[name=phone_last4]", "5678")
    citizen.click("form.card button[type=submit]")
    citizen.wait_for_load_state()
    expect(citizen.locator("p.banner")).to_contain_text(
        f"Đã có phiếu xin lỗi và hẹn lại ngày trả kết quả: {new_day:%d/%m/%Y}")
