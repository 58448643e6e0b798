"""The counter in a real browser, on a phone: the clerk finds the procedure without diacritics, sees the
appointment before saving, receives the dossier, prints receipt and label in one click (read back as PDF text,
the label's Code 128 decoded to the S10 code), finds it in today's list; a courier's laser scanner then sends
the bare code to the scan page, and it is recorded as read from the barcode."""

from __future__ import annotations

import io
import json
import re

import pytest
from pypdf import PdfReader

from tests.test_browser import PHONE, log_in, shot, wedge
from tests.test_counter import decoded

pytestmark = pytest.mark.browser
CODE = "000.00.22.H47-261208-0042"


def pdf_of(page, url: str) -> bytes:
    response = page.request.get(url)  # Chromium shows PDFs in its own viewer: read the file with the same login
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    return response.body()


def text_of(pdf: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


def test_a_postal_clerk_receives_a_dossier_and_prints_its_receipt_and_label(live_server, make, context_for, tmp_path):
    from playwright.sync_api import expect

    make.network(full_names=True)
    make.procedure("Cấp Phiếu lý lịch tư pháp", "STP", 10)
    make.procedure("Cấp giấy phép xây dựng", "SXD", 20)
    page = context_for(PHONE).new_page()
    log_in(page, live_server, "ntha", next_path="/counter")
    page.fill("#procedure-search", "ly lich")
    expect(page.locator("#procedure option:not([hidden])")).to_have_count(1)
    page.select_option("#procedure", page.locator("#procedure option:not([hidden])").get_attribute("value"))
    preview = page.locator("#due-preview")
    expect(preview).to_be_visible()
    expect(preview).to_contain_text("Sở Tư pháp")
    expect(preview.locator("[data-days]")).to_have_text("10")
    expect(page.locator("#due_on")).to_have_value(re.compile(r"^\d{2}/\d{2}/\d{4}$"))  # dd/mm/yyyy, as typed
    page.fill("#code", CODE)
    page.fill("#applicant_name", "Trần Thị Bích")
    page.fill("#applicant_phone", "0987 654 321")
    page.fill("#applicant_address", "5 Trần Hưng Đạo")
    page.fill("#items", "3")
    shot(page, "counter-form-phone")
    page.evaluate("() => window.scrollTo(0, 0)")  # a full-page shot leaves the scroll to settle after it
    page.wait_for_timeout(300)
    page.click("#save")
    page.wait_for_url(f"{live_server}/counter/dossiers/{CODE}/print")
    expect(page.locator(".flash-ok")).to_contain_text(f"Đã tiếp nhận hồ sơ {CODE}")
    parcel = page.locator(".facts a.code").get_attribute("href").rsplit("/", 1)[1]
    assert make.holder_of(parcel) == "TTHCC"  # accepted at the counter
    shot(page, "counter-printed-phone")

    with page.expect_popup() as opened:
        page.click("#print-papers")  # one click: the receipt and the label in one PDF
    tab = opened.value
    tab.wait_for_url(re.compile(r".*/papers\.pdf$"))
    papers = pdf_of(page, tab.url)
    tab.close()
    text = text_of(papers)
    for expected in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
                     f"Mã hồ sơ: {CODE}", "Trần Thị Bích", "Cấp Phiếu lý lịch tư pháp", "số lượng: 03",
                     "Nguyễn Thị Hà", "NƠI NHẬN", "Sở Tư pháp"):
        assert expected in text, expected
    assert ("Code128", parcel) in decoded(papers, tmp_path, page=2)  # the label's barcode reads the S10 code
    label = pdf_of(page, live_server + page.locator("#label-pdf").get_attribute("href"))
    assert ("Code128", parcel) in decoded(label, tmp_path)

    page.get_by_role("link", name="Hồ sơ hôm nay").click()
    page.fill("#today-q", "654 321")
    page.press("#today-q", "Enter")
    row = page.locator(f"tr[data-dossier='{CODE}']")
    expect(row).to_contain_text("Trần Thị Bích")
    expect(page.locator("tr.desk-row")).to_have_count(1)
    shot(page, "counter-today-phone")

    courier = context_for(PHONE).new_page()
    log_in(courier, live_server, "nva", next_path="/scan")
    courier.select_option("#site", "TTHCC")
    wedge(courier, parcel)  # a 1D laser scanner: the bare S10 code, typed in a few milliseconds, then Enter
    expect(courier.locator("#banner-title")).to_have_text("Đã ghi nhận")
    shot(courier, "counter-barcode-scan-phone")
    make.fresh()
    assert make.holder_of(parcel) == "nva"
    timeline = make.app.test_client().get(f"/api/v1/parcels/{parcel}", headers=make.token("nva")).get_json()["timeline"]
    assert json.dumps(timeline[-1]["evidence"]) == '{"barcode": true}'
