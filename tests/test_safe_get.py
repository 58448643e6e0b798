"""A GET never changes state: every GET route of the app, opened by each kind of reader (a supervisor's page
session, a clerk's and an agency clerk's, an admin's token, a citizen with no account), leaves every table
exactly as it was. A new GET route is walked without being listed here; one it cannot fill fails the test."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import MetaData, select

from postal import runs
from postal.clock import local, utcnow
from tests.test_apologies import issue, late_dossier
from tests.test_pages import login

# Path parameters filled from the data the test makes; the value names which object.
FILL = {"code": "dossier", "apology_id": "apology", "run_id": "run", "filename": "css/app.css", "name": "chart.js",
        "template_id": "template", "username": "ntha"}
# Written by any request a token carries, GET or not, at most every quarter hour: the caller's bookkeeping, not
# state a GET changes.
BOOKKEEPING = {"api_token": {"last_used_at"}}
PARCEL_ROUTES = ("/api/v1/parcels/", "/parcels/")
STATIC_NAMES = {"/vendor/<path:name>": None}  # filled below from what the vendor route serves


def digest(engine) -> str:
    """Every row of every table, in key order: equal digests, equal database."""
    metadata = MetaData()
    metadata.reflect(engine)
    h = hashlib.sha256()
    with engine.connect() as conn:
        for name, table in sorted(metadata.tables.items()):
            order = list(table.primary_key.columns) or list(table.columns)
            kept = [c for c in table.columns if c.name not in BOOKKEEPING.get(name, ())]
            for row in conn.execute(select(*kept).order_by(*order)):
                h.update(repr((name, tuple(row))).encode())
    return h.hexdigest()


def url_of(rule, objects: dict[str, str]) -> str:
    url = rule.rule
    for arg in rule.arguments:
        kind = "parcel" if arg == "code" and url.startswith(PARCEL_ROUTES) else FILL.get(arg, arg)
        if arg == "code" and "provinces" in url:
            kind = "province"
        value = objects.get(kind, kind)
        url = url.replace(f"<path:{arg}>", value).replace(f"<int:{arg}>", value).replace(f"<{arg}>", value)
    return url


def test_no_get_route_changes_anything_for_any_reader(app, client, make):
    code = late_dossier(client, make)
    apology = issue(client, make, code).get_json()
    parcel = client.get(f"/api/v1/dossiers/{code}", headers=make.token("gs.lan")).get_json()["parcels"][0]["code"]
    make.scan_as("ntha", parcel, "accept", site="TTHCC")
    template = client.post("/api/v1/run-templates", json={"name": "Tuyến 1", "departs": "16:00", "stops": ["TTHCC", "STP"],
                                                          "post_office": "BD-TINH"}, headers=make.token("admin"))
    runs.generate(make.session, local(utcnow()).date(), 3, utcnow())
    make.fresh()
    run_id = client.get("/api/v1/runs", headers=make.token("gs.lan")).get_json()["runs"]
    objects = {"dossier": code, "parcel": parcel, "apology": str(apology["id"]), "province": "22",
               "run": str(run_id[0]["id"]) if run_id else "1", "template": str(template.get_json()["run_template"]["id"])}
    engine = app.extensions["postal.engine"]
    rules = [r for r in app.url_map.iter_rules() if "GET" in r.methods]
    readers = {"supervisor": ("page", "gs.lan"), "clerk": ("page", "ntha"), "agency": ("page", "stp.linh"),
               "admin": ("page", "admin"), "admin token": ("token", "admin"), "citizen": ("none", None)}
    tokens = {user: make.token(user) for kind, user in readers.values() if kind == "token"}
    changed, walked = [], 0
    for reader, (kind, user) in readers.items():
        browser = app.test_client()
        if kind == "page":
            login(browser, user)
        headers = tokens.get(user, {})
        for rule in rules:
            url = url_of(rule, objects)
            before = digest(engine)
            r = browser.get(url, headers=headers)
            assert r.status_code < 500, (reader, url, r.status_code)
            walked += 1
            if digest(engine) != before:
                changed.append(f"{reader}: GET {url} ({r.status_code})")
    assert changed == []
    assert walked == len(rules) * len(readers) and len(rules) > 40
