"""Names are anyone's text: a site or a user named with markup shows the markup as text on the board, and no
script runs. The map's site tooltips put a string in as HTML."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from models import User
from postal import sites
from tests.test_browser import DESKTOP, log_in
from tests.test_browser_board import province, today_on_the_road

pytestmark = pytest.mark.browser

SITE_NAME = '<img src=x onerror="window.pwned=1"> Sở <b>Giả</b>'
COURIER_NAME = '<img src=x onerror="window.pwned=2">Ngô Văn Anh'


def test_markup_in_a_site_or_user_name_is_shown_as_text_and_runs_nothing(live_server, make, context_for):
    from playwright.sync_api import expect

    province(make)
    sites.save_site(make.session, code="XSS", kind="agency", name=SITE_NAME, address="", lat=21.6, lon=107.5)
    make.session.execute(update(User).where(User.username == "nva").values(full_name=COURIER_NAME))
    make.session.commit()
    today_on_the_road(make)

    page = context_for(DESKTOP).new_page()
    log_in(page, live_server, "gs.lan", next_path="/board")
    markers = page.locator("#board-map .site-marker")
    expect(markers.first).to_be_visible()
    board_map = page.locator("#board-map")
    # hover each site until the one named with markup (placed apart from the others) shows its tooltip
    shown = None
    for i in range(markers.count()):
        markers.nth(i).hover(force=True)
        tooltip = board_map.locator(".leaflet-tooltip")
        if tooltip.count() and "Giả" in (tooltip.last.text_content() or ""):
            shown = tooltip.last
            break
    assert shown is not None, "no tooltip named the site"
    expect(shown).to_contain_text(f"{SITE_NAME} (")  # the markup, as text
    assert shown.locator("img, b").count() == 0
    # the courier's name, in the list beside the map
    expect(page.locator("#courier-list")).to_contain_text(COURIER_NAME)
    assert page.locator("#courier-list img, #board-map .courier-pin img").count() == 0
    page.wait_for_timeout(200)  # an error event of an image, had one been made, has fired by now
    assert page.evaluate("window.pwned === undefined")
