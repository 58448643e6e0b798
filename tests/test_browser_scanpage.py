"""The scan page on a courier's phone: a one-line bar, his current run chosen and in view with its next stop
while he scans, and a label scanned twice read as already scanned, in amber, not refused."""

from __future__ import annotations

import pytest

from tests.test_browser import PHONE, log_in, shot, wedge
from tests.test_runs_pages import one_day, todays_run

pytestmark = pytest.mark.browser


@pytest.fixture
def settings_overrides():
    """Runs leaving within the next two hours may be started now, whatever the hour the suite runs."""
    return {"POSTAL_RUN_START_WINDOW_MIN": "120"}


def test_a_courier_scans_on_his_current_run_with_its_next_stop_in_view(live_server, make, context_for, monkeypatch):
    from playwright.sync_api import expect

    from routes import runs_pages

    client = make.app.test_client()
    first, second = one_day(30, 60)
    early = todays_run(client, make, "Tuyến sáng", minutes=first)
    later = todays_run(client, make, "Tuyến trưa", minutes=second)
    monkeypatch.setattr(runs_pages, "today", lambda: early.date)
    for run in (early, later):
        assert client.post(f"/api/v1/runs/{run.id}/assign", json={"courier": "nva"}, headers=make.token("gs.lan")).status_code == 200
    code = make.parcel()  # at the center, on the early run to Sở Tư pháp

    page = context_for(PHONE, is_mobile=True, has_touch=True).new_page()
    log_in(page, live_server, "nva", next_path="/scan")
    expect(page.locator("#run")).to_have_value(str(early.id))  # nothing started: his next planned run
    assert client.post(f"/api/v1/runs/{later.id}/start", headers=make.token("nva")).status_code == 200
    page.reload()
    expect(page.locator("#run")).to_have_value(str(later.id))  # the run he started is his current one
    strip = page.locator("#run-strip")
    expect(strip).to_be_visible()
    expect(strip).to_contain_text("Tuyến trưa")
    expect(strip).to_contain_text("Điểm tiếp: Trung tâm Phục vụ hành chính công tỉnh")
    page.select_option("#run", str(early.id))
    expect(strip).to_contain_text("Tuyến sáng")

    bar = page.locator("header.topbar")
    height = bar.evaluate("el => el.getBoundingClientRect().height")
    tops = bar.evaluate("""el => [...el.children].filter((c) => c.offsetParent !== null)
                                   .map((c) => Math.round(c.getBoundingClientRect().top))""")
    assert height < 80 and max(tops) - min(tops) < 16, (height, tops)  # one line of touch-sized controls
    clipped = page.evaluate("""() => [...document.querySelectorAll('.topbar .nav a')]
        .filter((a) => a.scrollWidth > a.clientWidth + 1 || a.getBoundingClientRect().right > a.parentElement.getBoundingClientRect().right + 1)
        .map((a) => a.textContent)""")
    assert not clipped, clipped  # every page's name readable in the bar
    expect(page.locator(".statusbar")).to_contain_text("nva")  # who is logged in, under it

    wedge(page, make.payload(code))
    banner = page.locator("#banner")
    expect(banner).to_have_attribute("data-status", "accepted")
    wedge(page, make.payload(code))
    expect(banner).to_have_attribute("data-status", "duplicate")
    expect(banner).to_contain_text("Đã quét rồi")
    expect(banner).to_contain_text("lúc")
    expect(banner).to_have_css("background-color", "rgb(161, 92, 0)")  # amber, not red
    page.mouse.wheel(0, 600)
    expect(strip).to_be_in_viewport()  # the run stays in view while scanning
    shot(page, "scan-again-phone")
