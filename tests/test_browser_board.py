"""The supervisor's board in a real browser: Debian's Chromium through Playwright against the live app."""

from __future__ import annotations

import io
import random
from datetime import datetime, time, timedelta

import pytest

from models import Alert, AlertKind, Site, User
from models.dossiers import DossierIn, ParcelIn
from models.runs import RunTemplateIn
from postal import alerts, demo_data, dossiers, runs, sites
from postal.clock import LOCAL_TZ, as_utc, local, utcnow
from postal.workdays import DEFAULT_CALENDAR, Calendar
from tests.conftest import local_http
from tests.test_browser import DESKTOP, PHONE, SHOTS, log_in, shot

pytestmark = pytest.mark.browser


def user(make, username: str) -> User:
    return make.staff(username)


def scan(make, username: str, code: str, action: str, when: datetime, **extra) -> None:
    make.record(username, code, action, when, heard_at=min(when + timedelta(minutes=1), utcnow()), **extra)


def province(make) -> None:
    """The test network's staff on the demo province's sites (real names and coordinates)."""
    make.network()
    for site in demo_data.SITES:
        sites.save_site(make.session, **{k: site[k] for k in ("code", "kind", "name", "address", "lat", "lon")})


def past_fortnight(make) -> None:
    """Ten days of dossiers to the agencies and back, some returned late: what the charts draw."""
    rng = random.Random(6)
    today = local(utcnow()).date()
    agencies = ["STP", "SXD", "STC", "SYT", "CA"]
    for back in range(10, 0, -1):
        day = today - timedelta(days=back)
        for _ in range(rng.randint(1, 3)):
            agency = rng.choice(agencies)
            received = as_utc(datetime.combine(day, time(8, rng.randint(0, 50)), tzinfo=LOCAL_TZ))
            due = received + timedelta(days=rng.choice([1, 2, 3, 3, 5]))
            body = make.dossier_body(agency=agency, origin="TTHCC", received_at=received.isoformat(), due_at=due.isoformat())
            answer, _ = dossiers.register(make.session, DossierIn.model_validate(body), actor=user(make, "ntha"),
                                          settings=make.settings, now=received)
            code = answer.parcel.code
            scan(make, "ntha", code, "accept", received + timedelta(minutes=3), site="TTHCC")
            scan(make, "nva", code, "pickup", received + timedelta(minutes=60), site="TTHCC")
            scan(make, "nva", code, "handover", received + timedelta(minutes=80), site=agency)
            scan(make, "gs.lan", code, "receive", received + timedelta(minutes=95), site=agency)
            back_at = received + timedelta(days=rng.choice([1, 2, 3, 4]), hours=1)
            if back_at > utcnow() - timedelta(hours=2):
                continue
            dossier_code = body["code"]
            result = dossiers.add_parcel(make.session, dossier_code, ParcelIn(direction="to_center", origin=agency),
                                         actor=user(make, "gs.lan"), settings=make.settings, now=back_at)
            scan(make, "gs.lan", result.code, "accept", back_at, site=agency)
            scan(make, "ttb", result.code, "pickup", back_at + timedelta(minutes=30), site=agency)
            scan(make, "ttb", result.code, "handover", back_at + timedelta(minutes=50), site="TTHCC")
            scan(make, "ntha", result.code, "receive", back_at + timedelta(minutes=55), site="TTHCC")
            scan(make, "ntha", result.code, "deliver", back_at + timedelta(minutes=70), site="TTHCC",
                 evidence={"recipient_name": "Nguyễn Văn An"})


def today_on_the_road(make) -> dict:
    """Two runs today (one under way, late; one for tonight), both couriers seen with a GPS fix, three alerts."""
    today = local(utcnow()).date()
    calendar = DEFAULT_CALENDAR if DEFAULT_CALENDAR.is_working_day(today) else Calendar(extra_working_days={today})
    for departs in ("00:05", "23:55"):
        runs.create_template(make.session, RunTemplateIn(name="Tuyến Hạ Long", departs=departs,
                                                         stops=["TTHCC", "STP", "SXD"], post_office="BD-TINH"),
                             actor=user(make, "admin"), now=utcnow())
    assert runs.generate(make.session, today, 1, utcnow(), calendar=calendar) == 2
    early, late = sorted(runs.runs_of_day(make.session, today).runs, key=lambda r: r.departs_at)
    codes = [make.parcel() for _ in range(4)]
    now = utcnow() - timedelta(minutes=5)
    for code in codes[:3]:
        scan(make, "nva", code, "pickup", now, site="TTHCC", run=early.id, lat=20.9533, lon=107.0889)
    runs.start(make.session, early.id, actor=user(make, "nva"), now=utcnow())
    scan(make, "ttb", codes[3], "pickup", now, site="TTHCC", run=late.id, lat=20.9561, lon=107.0811)
    opened = {}
    for kind, code in ((AlertKind.SUSPECTED_LOSS, codes[0]), (AlertKind.AWAITING_RECEIPT, codes[1]),
                       (AlertKind.LATE_IN_TRANSIT, codes[2])):
        parcel = make.parcel_row(code)
        opened[kind] = alerts.open_alert(make.session, kind, subject_type="parcel", subject_id=parcel.id,
                                         subject_code=code, at=utcnow() - timedelta(minutes=20), note="").id
        make.session.commit()  # before the next parcel_row(), which starts a new transaction
    return {"codes": codes, "alerts": opened}


def alert_row(make, alert_id: int) -> Alert:
    make.fresh()
    return make.session.get(Alert, alert_id)


def test_a_supervisor_watches_the_board_and_acknowledges_an_alert_in_place(live_server, make, context_for):  # noqa: F811
    from playwright.sync_api import expect

    province(make)
    past_fortnight(make)
    state = today_on_the_road(make)
    loss = state["alerts"][AlertKind.SUSPECTED_LOSS]

    page = context_for(DESKTOP).new_page()
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    log_in(page, live_server, "gs.lan", next_path="/board")
    page.evaluate("window.notReloaded = true")

    # the map: every site with coordinates a dot or in a group, both couriers a labelled pin, a scale, no tile server
    expect(page.locator("#board-map .site-cluster").first).to_be_visible()
    page.wait_for_timeout(400)  # the groups settle
    grouped = sum(int(n) for n in page.locator("#board-map .site-cluster span").all_text_contents())
    assert page.locator("#board-map .site-marker").count() + grouped == len(demo_data.SITES)
    expect(page.locator("#board-map .courier-pin")).to_have_count(2)
    expect(page.locator("#board-map .leaflet-control-scale")).to_be_visible()
    assert page.locator("#board-map img.leaflet-tile").count() == 0
    expect(page.locator("#courier-list")).to_contain_text("nva")
    # the charts: Chart.js drew both canvases
    page.wait_for_function("window.Chart && Chart.getChart('chart-ontime') && Chart.getChart('chart-transfers')")
    assert page.evaluate("Chart.getChart('chart-ontime').data.labels.length") >= 3
    assert page.evaluate("Chart.getChart('chart-transfers').data.datasets[0].data.reduce((a, b) => a + b, 0)") > 0
    # today's runs: the one under way since 00:05 is late
    expect(page.locator("#run-rows .run-row")).to_have_count(2)
    expect(page.locator("#run-rows .run-row.is-late").first).to_contain_text("Trễ")
    expect(page.locator("#severity-tiles [data-severity=critical] strong")).to_have_text("1")
    page.wait_for_timeout(300)  # let the charts settle before the picture
    shot(page, "board-desktop")

    # acknowledge in place: the item says who owns it, and the page was not reloaded
    item = page.locator(f'#alert-list [data-id="{loss}"]')
    item.get_by_role("button", name="Nhận xử lý").click()
    expect(page.locator("#alert-status")).to_have_text("Đã nhận xử lý cảnh báo.")
    item = page.locator(f'#alert-list [data-id="{loss}"]')
    expect(item.locator(".alert-state")).to_have_text("Người xử lý: gs.lan")
    expect(item.get_by_role("button", name="Nhận xử lý")).to_have_count(0)
    row = alert_row(make, loss)
    assert row.state == "acknowledged" and row.owner_id == user(make, "gs.lan").id
    assert page.evaluate("window.notReloaded === true")

    # resolving needs a note; with one, the alert leaves the board
    item.get_by_role("button", name="Đóng cảnh báo").click()
    expect(item.locator(".alert-msg")).to_have_text("Hãy ghi chú cách đã xử lý trước khi đóng cảnh báo.")
    item.locator("input[name=note]").fill("Bì nằm dưới ghế xe, đã bàn giao lại")
    item.get_by_role("button", name="Đóng cảnh báo").click()
    expect(page.locator(f'#alert-list [data-id="{loss}"]')).to_have_count(0)
    expect(page.locator("#alerts-total")).to_have_text("2")
    assert alert_row(make, loss).state == "resolved"

    # a new alert shows up on the next refresh, with no reload (the page refreshes when it is shown again)
    code = state["codes"][3]
    parcel = make.parcel_row(code)
    fresh = alerts.open_alert(make.session, AlertKind.MISSED_RUN, subject_type="parcel", subject_id=parcel.id,
                              subject_code=code, at=utcnow(), note="")
    make.session.commit()
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(page.locator(f'#alert-list [data-id="{fresh.id}"]')).to_contain_text("Lỡ chuyến")
    assert page.evaluate("window.notReloaded === true")
    shot(page, "board-after-ack-desktop")
    assert not errors, errors


def test_the_board_on_a_phone(live_server, make, context_for):  # noqa: F811
    from playwright.sync_api import expect

    province(make)
    today_on_the_road(make)
    page = context_for(PHONE, is_mobile=True, has_touch=True).new_page()
    log_in(page, live_server, "gs.lan", next_path="/board")
    expect(page.locator("#board-map .courier-pin")).to_have_count(2)
    page.wait_for_function("window.Chart && Chart.getChart('chart-transfers')")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways scrolling
    page.wait_for_timeout(300)
    shot(page, "board-phone")


def test_the_reports_page_in_a_browser(live_server, make, context_for):  # noqa: F811
    from playwright.sync_api import expect

    province(make)
    past_fortnight(make)
    page = context_for(DESKTOP).new_page()
    log_in(page, live_server, "gs.lan", next_path="/reports")
    page.get_by_role("link", name="30 ngày qua").click()
    expect(page.locator("#report-table tbody tr")).not_to_have_count(0)
    expect(page.locator("#month-figure")).to_contain_text("lượt chuyển hồ sơ")
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải Excel (XLSX)").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    shot(page, "reports-desktop")


# -- the map and the charts, as the supervisor reads them -----------------------------------------------
LONG_AGENCY = "Sở Văn hóa, Thể thao và Du lịch tỉnh Quảng Ninh – Phòng Quản lý di sản, bảo tàng và thư viện"
LABELS = r"""(() => {
  const box = document.querySelector('#board-map').getBoundingClientRect();
  const rect = (n) => { const r = n.getBoundingClientRect(); return { left: r.left, top: r.top, right: r.right, bottom: r.bottom }; };
  const shown = [...document.querySelectorAll('#board-map .site-label')]
    .filter((n) => getComputedStyle(n).visibility === 'visible').map((n) => ({ text: n.textContent.replace(/\s+/g, ' '), ...rect(n) }));
  const dots = [...document.querySelectorAll('#board-map .site-marker, #board-map .site-cluster')]
    .filter((n) => !(n.style.opacity !== '' && Number(n.style.opacity) < 0.5)).map(rect);  // not an opened group's faded centre
  return { box: rect(document.querySelector('#board-map')), shown, dots };
})()"""
# Every tick label a chart drew, as a box in the canvas's own pixels (Chart.js lays them out in CSS pixels).
CHART_LABELS = """(id) => {
  const chart = Chart.getChart(id);
  const out = [];
  for (const scale of Object.values(chart.scales)) {
    for (const item of scale.getLabelItems()) {
      const lines = [].concat(item.label);
      chart.ctx.save();
      chart.ctx.font = item.font.string;
      const width = Math.max(...lines.map((l) => chart.ctx.measureText(String(l)).width));
      chart.ctx.restore();
      const [x, y] = item.options.translation;
      const align = item.options.textAlign;
      const left = align === 'right' ? x - width : align === 'center' ? x - width / 2 : x;
      const height = lines.length * item.font.lineHeight;
      const top = item.options.textBaseline === 'middle' ? y + item.textOffset - item.font.lineHeight / 2 : y + item.textOffset;
      out.push({ axis: scale.id, text: lines.join(' '), rotation: item.options.rotation, left, right: left + width, top, bottom: top + height });
    }
  }
  return { width: chart.width, height: chart.height, labels: out };
}"""


def overlap(a: dict, b: dict, slack: float = 1) -> bool:
    return a["left"] + slack < b["right"] and b["left"] + slack < a["right"] and a["top"] + slack < b["bottom"] and b["top"] + slack < a["bottom"]


def assert_labels_readable(page) -> list[str]:
    """Names shown without hovering: each inside the map, none over another name or another site's dot."""
    seen = page.evaluate(LABELS)
    for label in seen["shown"]:
        assert seen["box"]["left"] <= label["left"] and label["right"] <= seen["box"]["right"] + 0.5, label
        assert seen["box"]["top"] <= label["top"] and label["bottom"] <= seen["box"]["bottom"] + 0.5, label
        assert not [d for d in seen["dots"] if overlap(label, d)], f"{label['text']} covers a dot"
    for i, a in enumerate(seen["shown"]):
        for b in seen["shown"][i + 1:]:
            assert not overlap(a, b), f"{a['text']} covers {b['text']}"
    return [label["text"] for label in seen["shown"]]


def assert_chart_labels_inside(page, chart_id: str) -> dict:
    drawn = page.evaluate(CHART_LABELS, chart_id)
    assert drawn["labels"]
    for label in drawn["labels"]:
        assert label["rotation"] == 0, label
        assert -0.5 <= label["left"] and label["right"] <= drawn["width"] + 0.5, f"{chart_id}: {label} cut at a side"
        assert -0.5 <= label["top"] and label["bottom"] <= drawn["height"] + 0.5, f"{chart_id}: {label} cut at an edge"
    for axis in {label["axis"] for label in drawn["labels"]}:
        ticks = [label for label in drawn["labels"] if label["axis"] == axis]
        for i, a in enumerate(ticks):
            assert not [b for b in ticks[i + 1:] if overlap(a, b, slack=0)], f"{chart_id}: {a['text']} over another"
    return drawn


def two_at_one_point(make) -> None:
    """A post office in the same building as the commune's service centre: one point for two sites."""
    sites.save_site(make.session, code="BD-BINHLIEU", kind="post_office", name="Bưu điện Bình Liêu", address="",
                    lat=21.5268, lon=107.3961)
    sites.save_site(make.session, code="STC", kind="agency", name=LONG_AGENCY, address="", lat=20.9524, lon=107.0938)
    make.session.commit()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_map_names_its_sites_groups_those_at_one_point_and_draws_the_province(live_server, make, context_for, viewport):
    from playwright.sync_api import expect

    province(make)
    two_at_one_point(make)
    past_fortnight(make)
    today_on_the_road(make)
    phone = viewport == "phone"
    page = context_for(PHONE if phone else DESKTOP, **({"is_mobile": True, "has_touch": True} if phone else {})).new_page()
    elsewhere = []
    page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith(live_server) else None)
    log_in(page, live_server, "gs.lan", next_path="/board")
    board_map = page.locator("#board-map")
    board_map.scroll_into_view_if_needed()

    # the province and its 54 communes, drawn from the shipped outline under the markers, with no tile server
    expect(board_map.locator(".leaflet-overlay-pane svg path.outline-province")).to_have_count(1)
    expect(board_map.locator(".leaflet-overlay-pane svg path.outline-commune")).to_have_count(54)
    assert board_map.locator("img.leaflet-tile").count() == 0 and elsewhere == []

    # every site is a dot or in a group, and the group of the two at one point names them both
    expect(board_map.locator(".site-cluster").first).to_be_visible()
    page.wait_for_timeout(400)  # the groups settle
    dots = board_map.locator(".site-marker").count()
    grouped = sum(int(n) for n in board_map.locator(".site-cluster span").all_text_contents())
    assert dots + grouped == len(demo_data.SITES) + 1
    pair = board_map.locator(".site-cluster > div[title*='Bưu điện Bình Liêu']")
    expect(pair).to_have_count(1)
    assert "Trung tâm Phục vụ hành chính công xã Bình Liêu" in pair.get_attribute("title")

    # names readable with no hovering: the sites far from the others are named, and no name covers another
    names = assert_labels_readable(page)
    assert "xã Đầm Hà" in names and len(names) >= (2 if phone else 4), names
    shot(page, f"board-map-{viewport}")
    board_map.screenshot(path=str(SHOTS / f"board-map-only-{viewport}.png"))

    # a name left out for lack of room shows when its dot is hovered
    hidden = board_map.locator(".site-label.label-hidden")
    if hidden.count():
        text = " ".join(hidden.first.text_content().split())  # a long name is on two lines
        marker_title = page.evaluate("(t) => [...document.querySelectorAll('#board-map .site-marker')].map((m) => m.title)"
                                     ".find((title) => title.includes(t))", text)
        board_map.locator(f".site-marker[title='{marker_title}']").hover(force=True)
        expect(board_map.locator(".site-label.label-forced")).to_have_css("visibility", "visible")
        assert " ".join(board_map.locator(".site-label.label-forced").text_content().split()) == text

    # opening the group shows both sites, each named
    for _ in range(6):
        if board_map.locator(".site-marker[title^='Bưu điện Bình Liêu']").count():
            break
        board_map.locator(".site-cluster > div[title*='Bưu điện Bình Liêu']").click()
        page.wait_for_timeout(600)
    expect(board_map.locator(".site-marker[title^='Bưu điện Bình Liêu']")).to_be_visible()
    page.wait_for_timeout(300)
    board_map.screenshot(path=str(SHOTS / f"board-map-opened-{viewport}.png"))
    names = assert_labels_readable(page)
    assert "Bưu điện Bình Liêu" in names and "xã Bình Liêu" in names, names

    # the charts: no label cut at the canvas's edges or drawn over another; every agency keeps its name
    page.wait_for_function("window.Chart && Chart.getChart('chart-ontime') && Chart.getChart('chart-transfers')")
    page.locator("#chart-ontime").scroll_into_view_if_needed()
    drawn = assert_chart_labels_inside(page, "chart-ontime")
    agencies = page.evaluate("Chart.getChart('chart-ontime').data.labels.length")
    assert len([label for label in drawn["labels"] if label["axis"] == "y"]) == agencies >= 3
    assert_chart_labels_inside(page, "chart-transfers")
    # a name too long for the axis is cut on the axis and whole in the tooltip
    index = page.evaluate("(n) => Chart.getChart('chart-ontime').data.labels.indexOf(n)", LONG_AGENCY)
    assert index >= 0
    y_labels = [label["text"] for label in drawn["labels"] if label["axis"] == "y"]
    assert y_labels[index].endswith("…") and y_labels[index].startswith("Sở Văn hóa")
    title = page.evaluate("""(i) => {
      const chart = Chart.getChart('chart-ontime');
      chart.tooltip.setActiveElements([{ datasetIndex: 0, index: i }], { x: 0, y: 0 });
      chart.update();
      const t = chart.tooltip;
      return { title: t.title.join(' '), left: t.x, right: t.x + t.width, width: chart.width };
    }""", index)
    assert title["title"] == LONG_AGENCY
    assert 0 <= title["left"] and title["right"] <= title["width"], title  # the tooltip, too, inside the canvas
    page.locator("#ontime-box").screenshot(path=str(SHOTS / f"board-chart-ontime-{viewport}.png"))
    page.locator("#chart-transfers").screenshot(path=str(SHOTS / f"board-chart-transfers-{viewport}.png"))


def test_with_no_site_on_the_map_it_shows_the_whole_province(live_server, make, context_for):
    from playwright.sync_api import expect

    from sqlalchemy import update

    make.network()
    make.session.execute(update(Site).values(lat=None, lon=None))  # no site placed yet, no courier seen
    make.session.commit()
    page = context_for(DESKTOP).new_page()
    log_in(page, live_server, "gs.lan", next_path="/board")
    outline = page.locator("#board-map .leaflet-overlay-pane path.outline-province")
    expect(outline).to_have_count(1)
    page.wait_for_timeout(300)
    shot(page, "board-no-sites-desktop")
    shape, box = outline.bounding_box(), page.locator("#board-map").bounding_box()
    # fitted: the province fills the map's width or its height, and lies within it
    assert shape["width"] >= 0.8 * box["width"] or shape["height"] >= 0.8 * box["height"], (shape, box)
    assert shape["x"] >= box["x"] - 1 and shape["x"] + shape["width"] <= box["x"] + box["width"] + 1
    assert page.locator("#board-map .site-marker").count() == 0


def test_a_tile_server_adds_a_basemap_beneath_the_outline(live_server, make, context_for, app):
    from http.server import BaseHTTPRequestHandler

    from playwright.sync_api import expect

    from PIL import Image

    drawn = io.BytesIO()
    Image.new("RGB", (256, 256), (214, 222, 228)).save(drawn, "PNG")  # a grey tile at every tile's place
    tile = drawn.getvalue()
    asked = []

    class Tiles(BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(tile)))
            self.end_headers()
            self.wfile.write(tile)

        def log_message(self, *args):
            pass

    province(make)
    with local_http(Tiles) as base:
        settings = app.extensions["postal.settings"]
        app.extensions["postal.settings"] = settings.replace(tile_url=f"{base}/{{z}}/{{x}}/{{y}}.png",
                                                             tile_attribution="Bản đồ nền thử nghiệm")
        page = context_for(DESKTOP).new_page()
        log_in(page, live_server, "gs.lan", next_path="/board")
        expect(page.locator("#board-map img.leaflet-tile-loaded").first).to_be_attached()
        expect(page.locator("#board-map .leaflet-overlay-pane path.outline-province")).to_have_count(1)
        expect(page.locator("#board-map .leaflet-control-attribution")).to_contain_text("Bản đồ nền thử nghiệm")
    assert asked and all(path.endswith(".png") for path in asked)
    # the tiles lie beneath the outline, and the province lets them show through
    assert page.evaluate("""(() => {
      const z = (s) => Number(getComputedStyle(document.querySelector('#board-map ' + s)).zIndex);
      return z('.leaflet-tile-pane') < z('.leaflet-overlay-pane');
    })()""")
    assert page.locator("#board-map path.outline-province").get_attribute("fill") in (None, "none")
