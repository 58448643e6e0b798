"""Names are anyone's text: a site or a user named with markup shows the markup as text on the board, and no
script runs. Leaflet puts a string given to a tooltip or an icon in as HTML."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from models import User
from postal import sites
from tests.test_browser import DESKTOP, log_in
from tests.test_browser_board import province, today_on_the_road

pytestmark = pytest.mark.browser

SITE_NAME = '<img src=x onerror="window.pwned=1"> Sở <b>Giả</b>'
GROUPED_NAME = '<img src=x onerror="window.pwned=3"> Chi cục <i>Giả</i>'
COURIER_NAME = '<img src=x onerror="window.pwned=2">Ngô Văn Anh'


def test_markup_in_a_site_or_user_name_is_shown_as_text_and_runs_nothing(live_server, make, context_for):
    from playwright.sync_api import expect

    province(make)
    sites.save_site(make.session, code="XSS", kind="agency", name=SITE_NAME, address="", lat=21.6, lon=107.5)
    # and one at the very point of another, so that a group names it
    sites.save_site(make.session, code="XSS2", kind="agency", name=GROUPED_NAME, address="", lat=21.5268, lon=107.3961)
    make.session.execute(update(User).where(User.username == "nva").values(full_name=COURIER_NAME))
    make.session.commit()
    today_on_the_road(make)

    page = context_for(DESKTOP).new_page()
    log_in(page, live_server, "gs.lan", next_path="/board")
    board_map = page.locator("#board-map")
    # the site named with markup (placed apart from the others) is named on the map, as text
    label = board_map.locator(".site-label", has_text="Giả")
    expect(label).to_have_count(1)
    expect(label).to_have_text(SITE_NAME)
    assert label.locator("img, b").count() == 0
    # and so is its dot's title, and the title of the group that holds the other
    marker = board_map.locator(".site-marker[title*='Sở <b>Giả']")
    expect(marker).to_have_count(1)
    assert marker.get_attribute("title").startswith(f"{SITE_NAME} (")
    group = board_map.locator(".site-cluster > div[title*='Chi cục']")
    expect(group).to_have_count(1)
    assert GROUPED_NAME in group.get_attribute("title")
    assert board_map.locator(".site-cluster img, .site-cluster i, .site-label img").count() == 0
    # the courier's name, in the list beside the map
    expect(page.locator("#courier-list")).to_contain_text(COURIER_NAME)
    assert page.locator("#courier-list img, #board-map .courier-pin img").count() == 0
    page.wait_for_timeout(200)  # an error event of an image, had one been made, has fired by now
    assert page.evaluate("window.pwned === undefined")
