"""Sessions and tokens end on the server: logout, a locked account, a revoked or expired token stop at once."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from click.testing import CliRunner

from postal import accounts
from postal.clock import local, utcnow
from routes.cli import cli
from tests.test_pages import csrf_of, login, token_of


@pytest.fixture
def postal(database_url):
    """The `postal` command on the test's database; its result."""
    def run(*args: str):
        return CliRunner().invoke(cli, list(args), env={"DATABASE_URL": database_url,
                                                        "POSTAL_LABEL_KEY": "test-label-key"})
    return run


def copy_of(client, app):
    """Another browser holding a copy of this one's login cookie (copied from a screen, a proxy log…)."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def sites_with(client, headers=None):
    return client.get("/api/v1/sites", headers=headers or {})


def test_a_cookie_copied_before_logout_opens_nothing_after_it(client, network):
    login(client, "nva")
    copy = copy_of(client, network.app)
    assert copy.get("/scan").status_code == 200  # the copy works while the session lasts

    client.post("/logout", data={"csrf_token": token_of(client)})
    r = copy.get("/scan")
    assert r.status_code == 302 and "/login" in r.headers["Location"] and "ended=1" in r.headers["Location"]
    assert "Phiên đăng nhập đã kết thúc" in copy.get(r.headers["Location"]).get_data(as_text=True)
    assert sites_with(copy).status_code == 401  # the API does not take the old cookie either

    assert login(client, "nva").status_code == 302  # logging in again starts a new session
    assert client.get("/scan").status_code == 200


def test_logging_out_ends_the_users_sessions_on_every_device(client, network):
    phone = network.app.test_client()
    login(client, "nva")
    login(phone, "nva")
    client.post("/logout", data={"csrf_token": token_of(client)})
    assert phone.get("/scan").status_code == 302
    other = network.app.test_client()
    login(other, "ntha")
    assert other.get("/scan").status_code == 200  # someone else's session is theirs


def test_deactivating_a_user_stops_their_pages_and_tokens_at_once(client, network, postal):
    login(client, "nva")
    headers = network.token("nva")
    assert sites_with(network.app.test_client(), headers).status_code == 200

    result = postal("users", "deactivate", "nva")
    assert result.exit_code == 0 and "deactivated nva; 1 tokens revoked" in result.output

    assert client.get("/scan").status_code == 302
    r = sites_with(network.app.test_client(), headers)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "account_deactivated"
    assert "Tài khoản nva đã bị khoá." == r.get_json()["error"]["message"]
    assert login(network.app.test_client(), "nva").status_code == 401
    refused = postal("tokens", "issue", "nva")
    assert refused.exit_code == 1 and "đã bị khoá" in refused.output
    assert "revoked" in postal("tokens", "list", "nva").output


def test_an_admin_locks_an_account_from_the_users_page(client, network):
    courier = network.app.test_client()
    login(courier, "ttb")
    login(client, "admin")
    page = client.get("/admin/users").get_data(as_text=True)
    assert 'id="deactivate-ttb"' in page and 'id="deactivate-admin"' not in page  # not yourself
    r = client.post("/admin/users/ttb/deactivate", data={"csrf_token": csrf_of(page)}, follow_redirects=True)
    assert "Đã khoá tài khoản ttb" in r.get_data(as_text=True)
    assert courier.get("/scan").status_code == 302
    assert client.post("/admin/users/ttb/deactivate").status_code == 400  # a form like any other: CSRF


def test_a_revoked_token_stops_at_once(network, postal):
    issued = postal("tokens", "issue", "nva", "--name", "máy quét 1")
    assert issued.exit_code == 0
    token = issued.output.split()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    api = network.app.test_client()
    assert sites_with(api, headers).status_code == 200

    listed = postal("tokens", "list", "nva").output
    token_id = re.search(r"^\s*(\d+)\s+nva\s+active\s+expires .*máy quét 1$", listed, re.M).group(1)
    assert token not in listed  # only its hash is kept
    assert postal("tokens", "revoke", token_id).output.strip() == f"revoked token {token_id} of nva"

    r = sites_with(api, {**headers, "Accept-Language": "en"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "token_revoked"
    assert "revoked" in r.get_json()["error"]["message"]
    assert re.search(rf"^\s*{token_id}\s+nva\s+revoked", postal("tokens", "list").output, re.M)
    assert postal("tokens", "revoke", "99999").exit_code == 1


def test_an_admin_revokes_a_token_from_the_tokens_page(client, network):
    headers = network.token("stp.linh")
    login(client, "admin")
    page = client.get("/admin/tokens").get_data(as_text=True)
    token_id = re.search(r'id="revoke-(\d+)"', page).group(1)
    assert "stp.linh" in page and "Còn hiệu lực" in page
    r = client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": csrf_of(page)}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert f"Đã thu hồi mã truy cập số {token_id} của stp.linh" in page and f'id="revoke-{token_id}"' not in page
    assert sites_with(network.app.test_client(), headers).status_code == 401


def test_tokens_expire_after_their_lifetime_with_a_clear_401(network, postal):
    issued = postal("tokens", "issue", "nva", "--days", "30")
    assert f"expires {local(utcnow() + timedelta(days=30)):%Y-%m-%d}" in issued.output
    default = postal("tokens", "issue", "ttb")
    assert f"expires {local(utcnow() + timedelta(days=90)):%Y-%m-%d}" in default.output  # POSTAL_TOKEN_DAYS

    old = accounts.issue_token(network.session, "ntha", at=utcnow() - timedelta(days=91))
    r = sites_with(network.app.test_client(), {"Authorization": f"Bearer {old}"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "token_expired"
    assert r.get_json()["error"]["message"].startswith("Mã truy cập đã hết hạn lúc ")
    fresh = accounts.issue_token(network.session, "ntha", at=utcnow() - timedelta(days=89))
    assert sites_with(network.app.test_client(), {"Authorization": f"Bearer {fresh}"}).status_code == 200
    assert postal("tokens", "issue", "nva", "--days", "0").exit_code == 2  # at least a day


def test_the_token_check_is_still_one_indexed_lookup(network, statements):
    headers = network.token("nva")
    assert sites_with(network.app.test_client(), headers).status_code == 200  # its first use is written down
    statements.clear()
    assert sites_with(network.app.test_client(), headers).status_code == 200
    assert len([s for s in statements if "api_token" in s]) == 1
