"""Staff pages through the test client: login, roles and sites, CSRF, cookies, the login limit, languages."""

from __future__ import annotations

import logging
import re
import uuid

from sqlalchemy import text

from postal.clock import utcnow
from routes import create_app

PASSWORD = "mat-khau-1"


def csrf_of(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match, "page without a CSRF token"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD, next_url: str | None = None):
    token = csrf_of(client.get("/login").get_data(as_text=True))
    url = f"/login?next={next_url}" if next_url else "/login"
    return client.post(url, data={"username": username, "password": password, "csrf_token": token})


def token_of(client, path: str = "/scan") -> str:
    return csrf_of(client.get(path).get_data(as_text=True))


def holder(make, code: str) -> str:
    """Who holds a parcel now, read in a new transaction (an open SQLite one would show an old snapshot)."""
    make.session.rollback()
    return make.holder_of(code)


def test_a_page_asks_for_login_then_opens_and_logout_closes_it(client, network):
    r = client.get("/scan")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=/scan")

    r = login(client, "nva", next_url="/scan")
    assert r.status_code == 302 and r.headers["Location"] == "/scan"
    page = client.get("/scan").get_data(as_text=True)
    assert 'id="label-input"' in page and "nva" in page

    r = client.post("/logout", data={"csrf_token": token_of(client)})
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert client.get("/scan").status_code == 302


def test_a_wrong_password_logs_nobody_in(client, network):
    r = login(client, "nva", "mat-khau-sai")
    assert r.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu." in r.get_data(as_text=True)
    assert client.get("/scan").status_code == 302
    r = login(client, "khong-co-ai")
    assert r.status_code == 401


def test_login_sends_only_to_a_page_of_this_site(client, network):
    r = login(client, "ntha", next_url="https://evil.example/x")
    assert r.status_code == 302 and r.headers["Location"] == "/"
    client.post("/logout", data={"csrf_token": token_of(client)})
    r = login(client, "ntha", next_url="//evil.example/x")
    assert r.headers["Location"] == "/"


def test_home_sends_each_role_to_its_page(client, network):
    assert client.get("/").headers["Location"] == "/login"
    login(client, "nva")
    assert client.get("/").headers["Location"] == "/scan"
    client.post("/logout", data={"csrf_token": token_of(client)})
    login(client, "admin")
    assert client.get("/").headers["Location"] == "/admin/"


def test_the_menu_offers_each_role_the_pages_it_may_open(client, network):
    menus = {}
    for username in ("nva", "ntha", "stp.linh", "gs.lan", "admin"):
        login(client, username)
        html = client.get("/scan").get_data(as_text=True)
        menus[username] = re.findall(r'<a href="([^"]+)"', re.search(r'<nav class="nav".*?</nav>', html, re.S).group(0))
        client.post("/logout", data={"csrf_token": csrf_of(html)})
    assert menus == {"nva": ["/scan", "/runs"], "ntha": ["/counter", "/counter/today", "/scan", "/runs"], "stp.linh": ["/desk", "/scan"],
                     "gs.lan": ["/board", "/scan", "/runs", "/reports"],
                     "admin": ["/board", "/scan", "/runs", "/reports", "/admin/"]}
    for username, links in menus.items():  # and each of them opens
        login(client, username)
        assert [client.get(link).status_code for link in links] == [200] * len(links), username
        client.post("/logout", data={"csrf_token": token_of(client)})


def test_a_courier_is_refused_admin_and_the_refusal_is_logged(client, network, caplog):
    login(client, "nva")
    with caplog.at_level(logging.WARNING):
        r = client.get("/admin/")
        r_users = client.get("/admin/users")
    assert r.status_code == 403 and r_users.status_code == 403
    assert "courier" in r.get_data(as_text=True)
    assert any("403: nva (courier) refused GET /admin/" in rec.getMessage() for rec in caplog.records)


def test_a_clerk_sees_only_dossiers_of_their_site_and_the_refusal_is_logged(client, network, caplog):
    code = network.parcel()
    dossier = network.parcel_row(code).dossier_id
    from models import Dossier

    dossier_code = network.session.get(Dossier, dossier).code
    login(client, "sxd.hanh")  # Sở Xây dựng: the dossier goes to Sở Tư pháp
    with caplog.at_level(logging.WARNING):
        assert client.get(f"/dossiers/{dossier_code}").status_code == 403
        assert client.get(f"/parcels/{code}").status_code == 403
    assert any("403: sxd.hanh (agency_clerk)" in rec.getMessage() for rec in caplog.records)
    client.post("/logout", data={"csrf_token": token_of(client)})
    login(client, "stp.linh")
    assert client.get(f"/dossiers/{dossier_code}").status_code == 200


def test_every_form_needs_its_csrf_token(client, network):
    r = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert r.status_code == 400
    assert "CSRF" in r.get_data(as_text=True)
    assert client.get("/scan").status_code == 302  # not logged in

    login(client, "admin")
    r = client.post("/admin/users", data={"username": "moi", "role": "supervisor", "site": "", "password": "mat-khau-dai"})
    assert r.status_code == 400
    assert "moi" not in client.get("/admin/users").get_data(as_text=True)
    r = client.post("/lang", data={"lang": "en", "next": "/scan"})
    assert r.status_code == 400


def test_the_scan_api_with_the_login_cookie_needs_the_csrf_header(client, network):
    code = network.parcel()
    login(client, "nva")
    body = {"scans": [network.scan(code, "pickup")]}
    r = client.post("/api/v1/scans", json=body)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "csrf_failed"
    assert holder(network, code) == "TTHCC"

    r = client.post("/api/v1/scans", json=body, headers={"X-CSRFToken": token_of(client)})
    assert r.status_code == 200 and r.get_json()["results"][0]["status"] == "accepted"
    assert holder(network, code) == "nva"
    # the label to reprint opens with the same login
    r = client.get(f"/api/v1/parcels/{code}/label.png")
    assert r.status_code == 200 and r.mimetype == "image/png"


def test_bearer_calls_need_no_csrf_and_no_credentials_still_answer_401(client, network, app):
    code = network.parcel()
    r = app.test_client().post("/api/v1/scans", json={"scans": [network.scan(code, "pickup")]},
                               headers=network.token("nva"))
    assert r.status_code == 200 and r.get_json()["results"][0]["status"] == "accepted"
    r = app.test_client().post("/api/v1/scans", json={"scans": [network.scan(code, "handover", site="STP")]})
    assert r.status_code == 401
    # a bearer header is the only credential looked at when present, even beside a login cookie
    login(client, "nva")
    r = client.post("/api/v1/scans", json={"scans": [network.scan(code, "handover", site="STP")]},
                    headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401


def test_the_session_cookie_is_httponly_and_samesite(client, network):
    r = login(client, "nva")
    cookie = next(v for k, v in r.headers.items() if k == "Set-Cookie" and v.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development and tests run on plain http://127.0.0.1


def test_cookies_are_secure_in_production(database_url):
    app = create_app({"DATABASE_URL": database_url, "POSTAL_ENV": "production", "POSTAL_METRICS_TOKEN": "m" * 32, "POSTAL_SECRET_KEY": "x" * 32,
                      "POSTAL_LABEL_KEY": "y" * 32, "POSTAL_ARGON2_PROFILE": "RFC_9106_LOW_MEMORY",
                      "POSTAL_LEDGER_KEY": "eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXk="})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    app.extensions["postal.engine"].dispose()


def test_login_is_rate_limited(client, network):
    for _ in range(10):
        assert login(client, "nva", "doan-mo").status_code == 401
    r = login(client, "nva", "doan-mo")
    assert r.status_code == 429
    assert login(client, "nva").status_code == 429  # even the right password waits
    assert client.get("/login").status_code == 200  # the form itself still opens


def test_successful_logins_do_not_count_towards_the_limit(client, network):
    for _ in range(12):
        assert login(client, "nva").status_code == 302
        client.post("/logout", data={"csrf_token": token_of(client)})


def test_the_language_switch_shows_english_then_vietnamese(client, network):
    assert "Đăng nhập" in client.get("/login").get_data(as_text=True)
    token = token_of(client, "/login")
    r = client.post("/lang", data={"lang": "en", "next": "/login", "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page and "Log in" in page and "Đăng nhập" not in page

    login(client, "nva")
    page = client.get("/scan").get_data(as_text=True)
    assert "Ready to scan" in page and "Pick up" in page
    # the API answers in the chosen language too
    r = client.post("/api/v1/scans", json={"scans": [network.scan("HC000000005VN", "pickup")]},
                    headers={"X-CSRFToken": csrf_of(page)})
    assert "No parcel or bag" in r.get_json()["results"][0]["error"]["message"]

    client.post("/lang", data={"lang": "vi", "next": "/scan", "csrf_token": csrf_of(page)})
    assert "Sẵn sàng quét" in client.get("/scan").get_data(as_text=True)


def test_the_scan_page_defaults_from_the_role(client, network):
    login(client, "nva")
    page = client.get("/scan").get_data(as_text=True)
    assert re.search(r'<option value="pickup" selected', page)
    assert 'value="accept"' not in page  # couriers do not accept at a counter
    assert '"default_site": ""' in page  # the server finds where the parcel is
    client.post("/logout", data={"csrf_token": csrf_of(page)})
    login(client, "ntha")
    page = client.get("/scan").get_data(as_text=True)
    assert re.search(r'<option value="accept" selected', page)
    assert re.search(r'<option value="TTHCC" selected', page)
    client.post("/logout", data={"csrf_token": csrf_of(page)})
    login(client, "stp.linh")
    page = client.get("/scan").get_data(as_text=True)
    assert re.search(r'<option value="receive" selected', page)


def test_the_dossier_page_masks_the_phone_for_a_courier(client, network):
    code = network.parcel(held_by="nva")
    from models import Dossier

    dossier_code = network.session.get(Dossier, network.parcel_row(code).dossier_id).code
    login(client, "nva")
    page = client.get(f"/dossiers/{dossier_code}").get_data(as_text=True)
    assert "09******78" in page and "0912345678" not in page
    assert "12 Lê Thánh Tông" not in page
    client.post("/logout", data={"csrf_token": csrf_of(page)})
    login(client, "ntha")
    page = client.get(f"/dossiers/{dossier_code}").get_data(as_text=True)
    assert "0912345678" in page


def test_the_parcel_page_shows_the_parcel_and_links_to_its_dossiers_control_sheet(client, network):
    code = network.parcel(held_by="nva")
    dossier = client.get(f"/api/v1/parcels/{code}", headers=network.token("gs.lan")).get_json()["dossier"]
    login(client, "gs.lan")
    page = client.get(f"/parcels/{code.lower()}").get_data(as_text=True)
    assert f'href="/dossiers/{dossier}#phieu-kiem-soat"' in page and "mẫu 05" in page
    assert 'class="sheet"' not in page  # one control sheet per dossier, not one per parcel
    assert f"/api/v1/parcels/{code}/label.png" in page
    assert client.get("/parcels/HC000000005VN").status_code == 404


def test_find_opens_a_parcel_from_a_typed_or_scanned_label(client, network):
    code = network.parcel()
    login(client, "ntha")
    assert client.get(f"/find?q={code[:2]} {code[2:6]} {code[6:10]} {code[10:]}").headers["Location"] == f"/parcels/{code}"
    assert client.get(f"/find?q={network.payload(code)}").headers["Location"] == f"/parcels/{code}"
    assert client.get("/find?q=000.00.22.H47-261123-0001").headers["Location"].startswith("/dossiers/")


def test_admin_adds_a_site_a_user_and_issues_a_token_shown_once(client, network):
    login(client, "admin")
    token = token_of(client, "/admin/sites")
    r = client.post("/admin/sites", data={"code": "px-bai-chay", "kind": "commune_center", "name": "TT PVHCC phường Bãi Cháy",
                                          "address": "", "ward_code": "06673", "lat": "20.96", "lon": "107.05",
                                          "csrf_token": token})
    assert r.status_code == 302
    assert "PX-BAI-CHAY" in client.get("/admin/sites").get_data(as_text=True)

    r = client.post("/admin/users", data={"username": "bc.hoa", "full_name": "Lê Thị Hoa", "role": "postal_clerk",
                                          "site": "PX-BAI-CHAY", "password": "mat-khau-dai", "csrf_token": token})
    assert r.status_code == 302
    assert "bc.hoa" in client.get("/admin/users").get_data(as_text=True)
    r = client.post("/admin/users", data={"username": "bc.hoa", "role": "postal_clerk", "site": "PX-BAI-CHAY",
                                          "password": "mat-khau-dai", "csrf_token": token})
    assert r.status_code == 200 and "đã có" in r.get_data(as_text=True)
    r = client.post("/admin/users", data={"username": "bt.moi", "role": "courier", "site": "",
                                          "password": "mat-khau-dai", "csrf_token": token})
    assert "nơi làm việc" in r.get_data(as_text=True)

    r = client.post("/admin/tokens", data={"username": "bc.hoa", "name": "máy quét quầy 1", "csrf_token": token})
    assert r.status_code == 303 and r.headers["Location"] == "/admin/tokens"  # POST-redirect-GET
    cookie = r.headers["Set-Cookie"]  # carries the new token, sealed, to the page that shows it once
    r = client.get("/admin/tokens")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    issued = re.search(r'<pre class="token" id="new-token">([^<]+)</pre>', r.get_data(as_text=True)).group(1)
    assert issued not in cookie
    api = network.app.test_client()
    assert api.get("/api/v1/sites", headers={"Authorization": f"Bearer {issued}"}).status_code == 200
    again = client.get("/admin/tokens").get_data(as_text=True)  # a reload: shown no more, and no other issued
    assert issued not in again and 'id="new-token"' not in again
    assert len(network.session.execute(text("SELECT id FROM api_token")).all()) == 1

    fresh = network.app.test_client()
    assert login(fresh, "bc.hoa", "mat-khau-dai").status_code == 302


def test_front_end_files_come_from_node_modules_and_only_whitelisted(client):
    r = client.get("/vendor/jsqr/dist/jsQR.js")
    assert r.status_code == 200 and b"jsQR" in r.data
    assert client.get("/vendor/jsqr/package.json").status_code == 404
    assert client.get("/vendor/leaflet/dist/../../jsqr/package.json").status_code == 404
    r = client.get("/sw.js")
    assert r.status_code == 200 and r.headers["Service-Worker-Allowed"] == "/"
    assert "/static/js/scan.js?v=" in r.get_data(as_text=True)


def test_pages_send_a_strict_content_policy(client, network):
    r = client.get("/login")
    assert "script-src" not in r.headers["Content-Security-Policy"]  # default-src 'self' covers scripts
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert "<script>" not in r.get_data(as_text=True)  # no inline script: the policy would block it
    assert r.headers["X-Frame-Options"] == "DENY"


def test_scans_queued_offline_resend_safely(client, network):
    """What the scan page does after a cut sync: the same ids again answer duplicate, nothing doubles."""
    codes = [network.parcel() for _ in range(3)]
    login(client, "nva")
    headers = {"X-CSRFToken": token_of(client)}
    batch = {"scans": [{"id": str(uuid.uuid4()), "label": c, "action": "pickup", "at": utcnow().isoformat()} for c in codes]}
    first = client.post("/api/v1/scans", json=batch, headers=headers).get_json()["results"]
    again = client.post("/api/v1/scans", json=batch, headers=headers).get_json()["results"]
    assert [r["status"] for r in first] == ["accepted"] * 3
    assert [r["status"] for r in again] == ["duplicate"] * 3
    assert all(holder(network, c) == "nva" for c in codes)


def test_the_login_limit_and_its_store_come_from_the_settings(database_url):
    from postal import db

    app = create_app({"DATABASE_URL": database_url, "POSTAL_LOGIN_RATE_LIMIT": "2 per minute",
                      "POSTAL_RATELIMIT_STORAGE_URI": "memory://"})
    engine = app.extensions["postal.engine"]
    db.drop_schema(engine)
    db.create_schema(engine)
    try:
        client = app.test_client()
        assert [login(client, "ai-do", "sai").status_code for _ in range(3)] == [401, 401, 429]
        assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    finally:
        db.drop_schema(engine)
        engine.dispose()
