"""The admin's changes to accounts, tokens and sites: on the pages, on the command line, and in the audit log."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from models import AdminChange
from postal import accounts, sites
from postal.clock import local, utcnow
from postal.errors import LastAdmin
from tests.test_pages import csrf_of, login


def log_of(make, object_type: str) -> list[AdminChange]:
    make.fresh()
    return list(make.session.execute(select(AdminChange).where(AdminChange.object_type == object_type)
                                     .order_by(AdminChange.id)).scalars())


def test_an_admin_changes_an_accounts_role_and_site_and_resets_its_password(client, network):
    clerk = network.app.test_client()
    assert login(clerk, "ntha").status_code == 302
    login(client, "admin")
    page = client.get("/admin/users/ntha").get_data(as_text=True)
    assert 'id="save-user"' in page and 'id="reset-password"' in page
    r = client.post("/admin/users/ntha", data={"full_name": "Nguyễn Thị Hà", "role": "agency_clerk", "site": "STP",
                                               "csrf_token": csrf_of(page)})
    assert r.status_code == 302
    assert (network.staff("ntha").role, network.staff("ntha").full_name) == ("agency_clerk", "Nguyễn Thị Hà")
    assert clerk.get("/desk").status_code == 200  # the new role at once, in the same session
    r = client.post("/admin/users/ntha", data={"full_name": "", "role": "postal_clerk", "site": "",
                                               "csrf_token": csrf_of(page)})
    assert r.status_code == 200 and "nơi làm việc" in r.get_data(as_text=True)
    assert network.staff("ntha").role == "agency_clerk"  # refused: nothing written

    r = client.post("/admin/users/ntha/password", data={"password": "mat-khau-moi-2", "csrf_token": csrf_of(page)},
                    follow_redirects=True)
    assert "Đã đặt mật khẩu mới cho ntha" in r.get_data(as_text=True)
    assert clerk.get("/desk").status_code == 302  # its old session ended
    assert login(network.app.test_client(), "ntha").status_code == 401
    assert login(network.app.test_client(), "ntha", "mat-khau-moi-2").status_code == 302
    r = client.post("/admin/users/ntha/password", data={"password": "ngan", "csrf_token": csrf_of(page)})
    assert r.status_code == 422

    log = log_of(network, "user")
    edited = next(c for c in log if c.action == "edited" and c.object_key == "ntha")
    assert edited.actor == "admin"
    assert edited.before == {"full_name": "", "role": "postal_clerk", "site": "TTHCC"}
    assert edited.after == {"full_name": "Nguyễn Thị Hà", "role": "agency_clerk", "site": "STP"}
    reset = next(c for c in log if c.action == "password_reset")
    assert "mat-khau" not in str(reset.before) + str(reset.after)  # never the password


def test_the_last_active_admin_can_be_neither_locked_nor_demoted(client, network, postal):
    with pytest.raises(LastAdmin):
        accounts.deactivate_user(network.session, "admin", at=utcnow())
    network.fresh()
    with pytest.raises(LastAdmin):
        accounts.update_user(network.session, "admin", full_name="", role="supervisor", site_code=None, at=utcnow())
    refused = postal("users", "deactivate", "admin")
    assert refused.exit_code == 1 and "quản trị viên cuối cùng" in refused.output
    assert network.staff("admin").active and network.staff("admin").role == "admin"

    network.user("admin2", "admin", None)
    login(client, "admin2")
    page = client.get("/admin/users").get_data(as_text=True)
    r = client.post("/admin/users/admin/deactivate", data={"csrf_token": csrf_of(page)}, follow_redirects=True)
    assert "Đã khoá tài khoản admin" in r.get_data(as_text=True)
    r = client.post("/admin/users/admin2", data={"role": "supervisor", "site": "", "csrf_token": csrf_of(page)})
    assert r.status_code == 200 and "quản trị viên cuối cùng" in r.get_data(as_text=True)
    assert network.staff("admin2").role == "admin"


def test_deactivating_from_the_command_line_stops_tokens_and_sessions_and_is_logged(network, postal):
    courier = network.app.test_client()
    login(courier, "nva")
    headers = network.token("nva")
    result = postal("users", "deactivate", "nva")
    assert result.exit_code == 0 and "deactivated nva; 1 tokens revoked" in result.output
    assert courier.get("/scan").status_code == 302
    assert network.app.test_client().get("/api/v1/sites", headers=headers).status_code == 401
    [change] = [c for c in log_of(network, "user") if c.action == "deactivated"]
    assert change.actor.startswith("postal CLI") and change.actor_id is None
    assert change.after == {"active": False, "tokens_revoked": 1}


def test_tokens_list_their_last_use_never_the_secret_and_revoke_from_the_cli(client, network, postal):
    issued = postal("tokens", "issue", "stp.linh", "--name", "phần mềm một cửa")
    token = issued.output.split()[-1]
    listed = postal("tokens", "list", "stp.linh").output
    assert token not in listed and re.search(r"never used\s+phần mềm một cửa", listed)
    api = network.app.test_client()
    assert api.get("/api/v1/sites", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listed = postal("tokens", "list").output
    token_id = re.search(r"^\s*(\d+)\s+stp\.linh\s+active", listed, re.M).group(1)
    assert re.search(rf"^\s*{token_id}\s+stp\.linh\s+active .*last used \d{{2}}/\d{{2}}/\d{{4}} \d{{2}}:\d{{2}}", listed, re.M)

    login(client, "admin")
    page = client.get("/admin/tokens").get_data(as_text=True)
    row = re.search(rf'<tr id="token-{token_id}">.*?</tr>', page, re.S).group(0)
    assert "phần mềm một cửa" in row and "chưa dùng" not in row and token not in page
    assert postal("tokens", "revoke", token_id).exit_code == 0
    assert api.get("/api/v1/sites", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert [c.action for c in log_of(network, "token")] == ["issued", "revoked"]


def test_a_site_with_parcels_still_there_is_not_taken_out_of_the_network(client, network):
    network.parcel()  # accepted at the center
    login(client, "admin")
    page = client.get("/admin/sites/TTHCC").get_data(as_text=True)
    r = client.post("/admin/sites/TTHCC/active", data={"active": "0", "csrf_token": csrf_of(page)}, follow_redirects=True)
    assert "còn 1 bì hồ sơ đang ở đó" in r.get_data(as_text=True)
    assert network.staff("admin") and sites.site_named(network.session, "TTHCC").active

    r = client.post("/admin/sites/SXD", data={"code": "SXD", "kind": "agency", "name": "Sở Xây dựng tỉnh",
                                              "address": "", "ward_code": "", "lat": "20.95", "lon": "107.08",
                                              "opens_at": "07:30", "closes_at": "17:00", "csrf_token": csrf_of(page)})
    assert r.status_code == 302
    r = client.post("/admin/sites/SXD/active", data={"active": "0", "csrf_token": csrf_of(page)}, follow_redirects=True)
    assert "Đã ngừng dùng điểm SXD" in r.get_data(as_text=True)
    network.fresh()
    assert not sites.site_named(network.session, "SXD").active
    assert "SXD" not in re.search(r'<select id="site" name="site">.*?</select>',
                                  client.get("/admin/users").get_data(as_text=True), re.S).group(0)
    [edited, deactivated] = log_of(network, "site")[-2:]
    assert edited.before == {"name": "Sở Xây dựng", "opens_at": "00:00", "closes_at": "23:59"}
    assert edited.after == {"name": "Sở Xây dựng tỉnh", "opens_at": "07:30", "closes_at": "17:00"}
    assert (deactivated.action, deactivated.after) == ("deactivated", {"active": False})


def test_the_audit_page_shows_who_what_when_before_and_after_filtered_by_object_and_day(client, network):
    login(client, "admin")
    page = client.get("/admin/users/ttb").get_data(as_text=True)
    client.post("/admin/users/ttb", data={"full_name": "Trần Thanh Bình", "role": "courier", "site": "BD-TINH",
                                          "csrf_token": csrf_of(page)})
    html = client.get("/admin/audit?object=user&key=ttb").get_data(as_text=True)
    rows = re.findall(r"<tr><td class=\"nowrap\">.*?</tr>", html, re.S)
    assert [("<td>Sửa</td>" in row, "Tạo mới" in row) for row in rows] == [(True, False), (False, True)]  # newest first
    assert "<td class=\"code\">admin</td>" in rows[0] and "ttb" in rows[0]
    assert re.search(r"full_name</span>: — → Trần Thanh Bình|full_name</span>:  → Trần Thanh Bình", rows[0])
    today = local(utcnow()).strftime("%d/%m/%Y")  # the day as the page counts it: Vietnam's
    assert "Trần Thanh Bình" in client.get(f"/admin/audit?from={today}&to={today}").get_data(as_text=True)
    assert "Trần Thanh Bình" not in client.get("/admin/audit?from=01/01/2030").get_data(as_text=True)
    r = client.get("/admin/audit?from=2026-13-45")
    assert r.status_code == 422 and "dd/mm/yyyy" in r.get_data(as_text=True)
    staff = network.app.test_client()
    login(staff, "gs.lan")
    assert staff.get("/admin/audit").status_code == 403


def test_sites_are_saved_and_taken_out_over_the_api_by_admins_only(client, network):
    body = {"kind": "commune_center", "name": "TT PVHCC phường Bãi Cháy", "ward_code": "06673", "lat": 20.96,
            "lon": 107.05, "opens_at": "07:30", "closes_at": "17:00"}
    assert client.put("/api/v1/sites/PX-BAI-CHAY", json=body, headers=network.token("gs.lan")).status_code == 403
    r = client.put("/api/v1/sites/px-bai-chay", json=body, headers=network.token("admin"))
    assert r.status_code == 200 and r.get_json()["site"] | {"lat": 0} == {
        "code": "PX-BAI-CHAY", "kind": "commune_center", "name": "TT PVHCC phường Bãi Cháy", "address": "",
        "ward_code": "06673", "lat": 0, "lon": 107.05, "active": True}
    assert client.put("/api/v1/sites/X", json={**body, "lat": 91}, headers=network.token("admin")).status_code == 400
    r = client.put("/api/v1/sites/X", json={**body, "opens_at": "18:00"}, headers=network.token("admin"))
    assert r.status_code == 422 and "giờ đóng cửa" in r.get_json()["error"]["message"]
    network.parcel()
    r = client.post("/api/v1/sites/TTHCC/deactivate", headers=network.token("admin"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "site_in_use"
    r = client.post("/api/v1/sites/PX-BAI-CHAY/deactivate", headers=network.token("admin"))
    assert r.status_code == 200 and r.get_json()["site"]["active"] is False
    assert client.post("/api/v1/sites/NOWHERE/deactivate", headers=network.token("admin")).status_code == 404
    client.post("/api/v1/run-templates", json={"name": "Tuyến 1", "departs": "08:00", "stops": ["TTHCC", "SXD"],
                                               "post_office": "BD-TINH"}, headers=network.token("admin"))
    r = client.post("/api/v1/sites/SXD/deactivate", headers=network.token("admin"))
    assert r.status_code == 409 and "Tuyến 1 08:00" in r.get_json()["error"]["message"]
    assert [c.action for c in log_of(network, "site") if c.object_key == "PX-BAI-CHAY"] == ["created", "deactivated"]


@pytest.mark.parametrize("hour", ["02:14:37+22:05", "07:30+07:00", "25:00"])
def test_a_sites_hours_with_an_offset_or_out_of_range_are_refused_naming_the_field(client, network, hour):
    """PostgreSQL keeps a time of day without an offset (and refused +22:05 with a 500): the hours are the site's
    own wall-clock times, and anything else is refused (400, as every body that fails its shape) naming the
    field, with nothing written."""
    r = client.put("/api/v1/sites/PX-GIO", json={"kind": "center", "name": "Điểm giờ lạ", "opens_at": hour},
                   headers=network.token("admin"))
    assert r.status_code == 400, r.get_data(as_text=True)
    assert "opens_at" in r.get_json()["error"]["message"]
    assert client.get("/api/v1/sites", headers=network.token("admin")).get_json()["sites"] == [
        s for s in client.get("/api/v1/sites", headers=network.token("admin")).get_json()["sites"] if s["code"] != "PX-GIO"]
