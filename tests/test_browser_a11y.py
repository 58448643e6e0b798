"""Accessibility on a phone: axe-core (from npm, through the lockfile) finds no serious or critical violation
on any page a person of each role can reach from their home page, nor on the citizen's public pages, and no
page is wider than a 390 px screen."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from tests.test_browser import PASSWORD, PHONE, shot

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
PAGES_PER_ROLE = 30
# Links that are not pages: downloads, the API, leaving the session, switching the language.
NOT_PAGES = ("/api/", "/logout", "/lang", "/vendor/", "/static/", "/sw.js")
NOT_PAGE_ENDINGS = (".pdf", ".csv", ".xlsx", ".png", ".svg", ".json")


def violations_of(page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now, one line each."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                          targets: v.nodes.slice(0, 3).map((n) => n.target.join(" "))}));
    }""")
    return [f"{v['impact']} {v['id']}: {v['help']} at {', '.join(v['targets'])}" for v in found]


def overflow_of(page) -> list[str]:
    """On a phone, the page itself never scrolls sideways: wide tables scroll in their own box or reflow."""
    wide = page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        if (document.documentElement.scrollWidth <= width + 1) return [];
        return [...document.querySelectorAll("body *")].filter((el) => {
            const box = el.getBoundingClientRect();
            return box.right > width + 1 && getComputedStyle(el).position !== "fixed" && !el.closest(".table-wrap, .leaflet-container");
        }).slice(0, 3).map((el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && typeof el.className === "string" ? "." + el.className.split(" ")[0] : ""));
    }""")
    return [f"overflow: the page is wider than the {PHONE['width']} px screen at {', '.join(wide)}"] if wide else []


def links_of(page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map((a) => a.getAttribute('href'))")
    out = []
    for href in hrefs:
        url = urljoin(page.url, href)
        parts = urlsplit(url)
        if not url.startswith(base) or parts.path.startswith(NOT_PAGES) or parts.path.endswith(NOT_PAGE_ENDINGS):
            continue
        out.append(f"{base}{parts.path}" + (f"?{parts.query}" if parts.query else ""))
    return out


def crawl(page, base: str, start: list[str], name: str) -> dict[str, list[str]]:
    """Visit the start pages and the pages they link to (breadth first, one of each path shape), checking each."""
    queue, seen, shapes, problems = [f"{base}{path}" for path in start], set(), set(), {}
    while queue and len(seen) < PAGES_PER_ROLE:
        url = queue.pop(0)
        shape = "/".join("#" if any(ch.isdigit() for ch in part) else part for part in urlsplit(url).path.split("/"))
        if url in seen or shape in shapes:
            continue
        seen.add(url)
        shapes.add(shape)
        response = page.goto(url)
        if response is None or response.status >= 400 or not response.headers.get("content-type", "").startswith("text/html"):
            continue
        page.wait_for_load_state("networkidle")  # the board and the lists fill themselves from the API
        found = violations_of(page) + overflow_of(page)
        if found:
            problems[url.removeprefix(base)] = found
            shot(page, f"a11y-{name}-{len(seen)}")
        queue += links_of(page, base)
    assert len(seen) > 1, f"{name}: nothing reachable from {start}"
    print(f"{name}: {len(seen)} pages checked: {sorted(u.removeprefix(base) for u in seen)}")
    return problems


@pytest.fixture
def world(make, client):
    """A parcel handed over at its agency, and a run of today's, so that each kind of page has something on it."""
    from models import Dossier
    from tests.test_runs_pages import todays_run

    make.network(full_names=True)
    run = todays_run(client, make, minutes=30)
    code = make.parcel()
    make.scan_as("nva", code, "pickup", site="TTHCC")
    make.scan_as("nva", code, "handover", site="STP")
    return {"parcel": code, "dossier": make.session.get(Dossier, make.parcel_row(code).dossier_id).code, "run": run.id}


@pytest.mark.parametrize(("username", "home"), [
    ("ntha", "/scan"), ("nva", "/scan"), ("stp.linh", "/desk"), ("gs.lan", "/board"), ("admin", "/admin"),
])
def test_no_serious_or_critical_violation_on_any_page_of_a_role(live_server, context_for, world, username, home):
    assert AXE.exists(), "axe-core is not installed: run `npm ci` (make setup does)"
    page = context_for(viewport=PHONE, bypass_csp=True).new_page()  # CSP bypassed to inject axe only
    page.goto(f"{live_server}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("form.stack button[type=submit]")
    landed = page.url.removeprefix(live_server)  # the role's own home, wherever login sends it
    start = [landed, home, f"/parcels/{world['parcel']}", f"/dossiers/{world['dossier']}", f"/runs/{world['run']}"]
    problems = crawl(page, live_server, start, username)
    assert not problems, "\n".join(f"{url}: {line}" for url, lines in problems.items() for line in lines)


def test_no_serious_or_critical_violation_on_the_citizens_pages(live_server, context_for, world):
    page = context_for(viewport=PHONE, bypass_csp=True).new_page()  # CSP bypassed to inject axe only
    problems = crawl(page, live_server, ["/track", "/delivery", "/login"], "citizen")
    assert not problems, "\n".join(f"{url}: {line}" for url, lines in problems.items() for line in lines)


def test_the_check_finds_what_it_is_for(context_for):
    """The check itself: a page with an unlabelled field and unreadable text is reported."""
    page = context_for(bypass_csp=True).new_page()
    page.set_content('<html lang="vi"><head><title>x</title></head><body><main><h1>x</h1>'
                     '<input type="text"><p style="color:#ddd;background:#fff">chữ mờ</p></main></body></html>')
    found = " ".join(violations_of(page))
    assert "label" in found and "color-contrast" in found
