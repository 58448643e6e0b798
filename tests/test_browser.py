"""The staff pages in a real browser: Debian's Chromium driven by Playwright against the live app."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import CustodyEvent
from tests.conftest import DESKTOP

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-output"
PASSWORD = "mat-khau-1"
PHONE = {"width": 390, "height": 844}


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(page, base: str, username: str, next_path: str = "/scan") -> None:
    page.goto(f"{base}/login?next={next_path}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{base}{next_path}")


def calendars_ready(page) -> None:
    """Wait until static/js/dates.js has put its calendars on the page's day fields (its scripts load after the page)."""
    page.wait_for_selector("html[data-calendars=ready]", state="attached")


def wedge(page, text: str) -> None:
    """What a keyboard-wedge scanner does: type fast into whatever has the focus, then Enter."""
    page.keyboard.type(text, delay=5)
    page.keyboard.press("Enter")


def row(make, code: str):
    make.session.rollback()  # a new transaction: an open SQLite one would show an old snapshot
    return make.parcel_row(code)


def holder(make, code: str) -> str:
    make.session.rollback()
    return make.holder_of(code)


def events_of(make, code: str, action: str) -> int:
    parcel = row(make, code)
    return make.session.execute(select(func.count()).select_from(CustodyEvent)
                                .where(CustodyEvent.parcel_id == parcel.id, CustodyEvent.action == action)).scalar_one()


def test_a_clerk_scans_by_typing_like_a_wedge_scanner(live_server, make, context_for):
    from playwright.sync_api import expect

    make.network()
    code = make.parcel(accepted=False)
    page = context_for().new_page()
    log_in(page, live_server, "ntha")
    assert page.evaluate("document.activeElement.id") == "label-input"

    wedge(page, make.payload(code))
    banner = page.locator("#banner")
    expect(banner).to_have_attribute("data-status", "accepted")
    expect(banner).to_contain_text("Đã ghi nhận")
    expect(page.locator("#session-count")).to_contain_text("1 ghi nhận")
    shot(page, "scan-accepted-desktop")
    assert row(make, code).state == "at_site"
    assert page.evaluate("document.activeElement.id") == "label-input"  # ready for the next label

    wedge(page, make.payload(code))  # the same label again: already scanned (amber), with the first scan's time
    expect(banner).to_have_attribute("data-status", "duplicate")
    expect(banner).to_contain_text("Đã quét rồi")
    expect(banner).to_contain_text("đã được quét bước này lúc")
    shot(page, "scan-again-desktop")
    assert events_of(make, code, "accept") == 1

    # typing the human code by hand: the check digit is verified as one types
    wrong = code[:10] + str((int(code[10]) + 1) % 10) + code[11:]
    page.keyboard.type(wrong[:6])
    expect(page.locator("#code-hint")).to_contain_text("6/13")
    page.keyboard.type(wrong[6:])
    expect(page.locator("#code-hint")).to_contain_text("Sai số kiểm tra")
    page.keyboard.press("Enter")
    expect(banner).to_contain_text("Mã không hợp lệ")
    page.keyboard.type(code)
    expect(page.locator("#code-hint")).to_contain_text("Mã hợp lệ")
    page.keyboard.press("Escape")
    page.fill("#label-input", "")

    # clicking elsewhere does not lose the scanner's input
    page.click("h2")
    page.wait_for_function("document.activeElement.id === 'label-input'", timeout=2000)


def test_offline_scans_queue_and_sync_once_each(live_server, make, context_for):
    from playwright.sync_api import expect

    codes = [make.parcel() for _ in range(3)]  # accepted at the center, waiting for a courier
    context = context_for(PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    log_in(page, live_server, "nva")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("navigator.serviceWorker.controller !== null")

    context.set_offline(True)
    response = page.reload()  # the service worker opens the scan page with no network
    assert response is None or response.from_service_worker
    expect(page.locator("#label-input")).to_be_visible()
    expect(page.locator("#net")).to_contain_text("Mất mạng")

    for code in codes:
        wedge(page, make.payload(code))
        expect(page.locator("#banner")).to_have_attribute("data-status", "queued")
    badge = page.locator("#pending")
    expect(badge).to_have_text("3 đang chờ gửi")
    shot(page, "scan-offline-queued-phone")
    assert all(row(make, c).holder_user_id is None for c in codes)  # nothing reached the server

    context.set_offline(False)
    expect(badge).to_be_hidden(timeout=20_000)
    expect(page.locator("#banner")).to_have_attribute("data-status", "accepted")
    expect(page.locator("#notice")).to_contain_text("Đã gửi 3")
    shot(page, "scan-offline-synced-phone")
    for code in codes:
        assert holder(make, code) == "nva"
        assert events_of(make, code, "pickup") == 1
    assert page.evaluate("window.postalScan && true")
    assert page.evaluate("indexedDB.databases().then(d => d.length)") >= 1


def test_a_sync_cut_halfway_resends_safely(live_server, make, context_for):
    """The server stores the batch but the answer is lost: the page resends, the server says duplicate."""
    from playwright.sync_api import expect

    code = make.parcel()
    context = context_for(PHONE, service_workers="block")  # so that page.route sees every request
    page = context.new_page()
    log_in(page, live_server, "nva")
    cut = {"done": False}

    def lose_the_answer(route):
        if not cut["done"]:
            cut["done"] = True
            route.fetch()  # the request reaches the server and is stored
            route.abort("connectionreset")  # the answer never comes back
        else:
            route.continue_()

    page.route("**/api/v1/scans", lose_the_answer)
    wedge(page, make.payload(code))
    expect(page.locator("#banner")).to_have_attribute("data-status", "queued")
    expect(page.locator("#pending")).to_have_text("1 đang chờ gửi")
    assert holder(make, code) == "nva"  # stored, though the page never heard

    page.evaluate("window.postalScan.sync()")
    expect(page.locator("#pending")).to_be_hidden()
    expect(page.locator("#recent li").first).to_contain_text("Đã quét rồi")
    assert events_of(make, code, "pickup") == 1


def test_a_courier_is_refused_admin(live_server, make, context_for):
    from playwright.sync_api import expect

    make.network()
    page = context_for(PHONE).new_page()
    log_in(page, live_server, "nva")
    expect(page.locator("nav.nav")).not_to_contain_text("Quản trị")
    response = page.goto(f"{live_server}/admin/")
    assert response.status == 403
    expect(page.locator("h1")).to_contain_text("courier")
    shot(page, "admin-refused-courier-phone")


def test_the_vietnamese_and_english_switch(live_server, make, context_for):
    from playwright.sync_api import expect

    make.network()
    page = context_for().new_page()
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/login")
    expect(page.locator("h1")).to_have_text("Đăng nhập")
    shot(page, "login-phone")
    page.set_viewport_size(DESKTOP)
    page.click("form.lang button[value=en]")
    expect(page.locator("h1")).to_have_text("Log in")
    log_in(page, live_server, "ntha")
    expect(page.locator("#banner")).to_contain_text("Ready to scan")
    expect(page.locator("#action")).to_contain_text("Accept")
    shot(page, "scan-english-desktop")
    page.click("form.lang button[value=vi]")
    expect(page.locator("#banner")).to_contain_text("Sẵn sàng quét")
    assert page.evaluate("document.documentElement.lang") == "vi"


def test_a_parcel_travels_from_the_counter_to_the_agency_on_a_phone(live_server, make, context_for):
    """Accept at the center, pick up, hand over at Sở Tư pháp, receive there — each on a phone-sized page."""
    from playwright.sync_api import expect

    make.network()
    code = make.parcel(accepted=False)

    def scan_as(username: str, action: str | None = None, site: str | None = None, name: str = ""):
        page = context_for(PHONE, is_mobile=True, has_touch=True).new_page()
        log_in(page, live_server, username)
        if action:
            page.select_option("#action", action)
        if site is not None:
            page.select_option("#site", site)
        assert page.evaluate("document.activeElement.id") == "label-input"
        wedge(page, make.payload(code))
        expect(page.locator("#banner")).to_have_attribute("data-status", "accepted")
        if name:
            shot(page, name)
        return page

    scan_as("ntha")  # accept is a postal clerk's default
    page = scan_as("nva", name="journey-pickup-phone")  # pickup is a courier's default
    expect(page.locator("#banner")).to_contain_text("bưu tá nva đang giữ")
    page = scan_as("nva", "handover", "STP", name="journey-handover-phone")
    expect(page.locator("#banner")).to_contain_text("chờ Sở Tư pháp xác nhận")
    scan_as("stp.linh")  # receive is an agency clerk's default
    assert holder(make, code) == "STP" and row(make, code).state == "at_site"

    page = context_for(PHONE, is_mobile=True).new_page()
    log_in(page, live_server, "gs.lan", next_path=f"/parcels/{code}")
    expect(page.locator("img.label-img")).to_have_js_property("complete", True)
    assert page.evaluate("document.querySelector('img.label-img').naturalWidth") > 100  # the label loads with the login
    shot(page, "parcel-phone")
    page.click("p.sheet-link a")  # the control sheet is its dossier's
    expect(page.locator("table.sheet tbody tr")).to_have_count(3)  # accepted, picked up, handed over and confirmed
    expect(page.locator("dd.phone")).to_have_text("0912345678")  # a supervisor handles the citizen's contact
    shot(page, "dossier-control-sheet-phone")
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    page.emulate_media(media="print")
    expect(page.locator("header.topbar")).to_be_hidden()
    expect(page.locator("table.sheet th.sign").first).to_be_visible()  # room to sign, on paper
    shot(page, "dossier-control-sheet-print")
    page.pdf(path=str(SHOTS / "dossier-control-sheet.pdf"), format="A4")
    page.emulate_media(media="screen")
    page.set_viewport_size(PHONE)


def test_jsqr_from_node_modules_reads_our_label(live_server, make, context_for):
    """The camera fallback decoder, served from node_modules, reads the printed QR back to its payload."""
    code = make.parcel()
    page = context_for().new_page()
    log_in(page, live_server, "ntha")
    decoded = page.evaluate(
        """async (url) => {
            const { jsqrDetector } = await import('/static/js/camera.js');
            const detect = await jsqrDetector();
            const img = new Image();
            img.src = url;
            await img.decode();
            return detect(img);
        }""",
        f"/api/v1/parcels/{code}/label.png",
    )
    assert decoded == make.payload(code)


def test_scanning_still_works_without_the_npm_files(live_server, make, context_for):
    from playwright.sync_api import expect

    code = make.parcel()
    context = context_for(PHONE, service_workers="block")
    context.route("**/vendor/**", lambda route: route.abort())
    page = context.new_page()
    log_in(page, live_server, "nva")
    wedge(page, make.payload(code))
    expect(page.locator("#banner")).to_have_attribute("data-status", "accepted")
    page.click("#camera-toggle")  # no camera and no jsQR: a message, not a broken page
    expect(page.locator("#camera-message")).to_contain_text("camera")
    assert holder(make, code) == "nva"


def test_an_admin_adds_a_clerk_and_issues_a_token(live_server, make, context_for):
    from playwright.sync_api import expect

    make.network()
    page = context_for().new_page()
    log_in(page, live_server, "admin", next_path="/admin/users")
    page.fill("#username", "bd.quan")
    page.fill("#full_name", "Đặng Minh Quân")
    page.select_option("#role", "postal_clerk")
    page.select_option("#site", "PH-HONGGAI")
    page.fill("#password", "mat-khau-moi-1")
    page.click("form.form-grid button[type=submit]")
    expect(page.locator(".flash-ok")).to_contain_text("bd.quan")
    expect(page.locator("table.list")).to_contain_text("Đặng Minh Quân")
    shot(page, "admin-users-desktop")
    page.goto(f"{live_server}/admin/tokens")
    page.select_option("#username", "bd.quan")
    page.fill("#name", "Máy quét quầy 2")
    page.click("form.form-grid button[type=submit]")
    expect(page.locator("#new-token")).not_to_be_empty()
    shot(page, "admin-token-desktop")


def test_a_busy_server_keeps_the_scan_queued_and_the_page_sends_it_again_when_told(live_server, make, context_for):
    """503 with Retry-After (the write lock did not come in time, nothing written): the page says so and
    sends the scan again by itself after the seconds the server asked for."""
    from playwright.sync_api import expect

    code = make.parcel()
    context = context_for(PHONE, service_workers="block")  # so that page.route sees every request
    page = context.new_page()
    log_in(page, live_server, "nva")
    busy = {"times": 0}

    def answer_busy_once(route):
        if busy["times"] == 0:
            busy["times"] += 1
            route.fulfill(status=503, headers={"Retry-After": "1", "Content-Type": "application/json"},
                          body='{"error": {"code": "busy", "message": "busy"}}')
        else:
            route.continue_()

    page.route("**/api/v1/scans", answer_busy_once)
    wedge(page, make.payload(code))
    expect(page.locator("#notice")).to_contain_text("Máy chủ đang bận, chưa ghi được; tự gửi lại sau 1 giây.")
    expect(page.locator("#pending")).to_have_text("1 đang chờ gửi")
    assert events_of(make, code, "pickup") == 0
    expect(page.locator("#pending")).to_be_hidden(timeout=5000)  # sent again with nobody touching the page
    expect(page.locator("#recent li").first).to_contain_text("Đã ghi nhận")
    assert busy["times"] == 1 and events_of(make, code, "pickup") == 1
