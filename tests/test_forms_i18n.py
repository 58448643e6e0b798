"""Every form answers in the page's language, WTForms' own messages included, and says how to fix the field."""

from __future__ import annotations

import pytest

from tests.test_pages import login, token_of


@pytest.fixture
def admin(client, make):
    make.network()
    login(client, "admin")
    return client


def site_form(client, **fields) -> str:
    data = {"code": "PX-MOI", "kind": "commune_center", "name": "TT PVHCC phường Mới", "address": "",
            "ward_code": "", "lat": "", "lon": "", "csrf_token": token_of(client, "/admin/sites"), **fields}
    r = client.post("/admin/sites", data=data)
    assert r.status_code == 200  # the form again, with its errors; nothing saved
    return r.get_data(as_text=True)


def test_wtforms_own_messages_are_vietnamese_on_a_vietnamese_page(admin):
    page = site_form(admin, name="", lat="hai mươi", lon="200")
    assert "Vui lòng nhập trường này." in page  # the empty name
    assert "Vui lòng nhập một số" in page  # the latitude in words
    assert "Số phải nằm trong khoảng từ -180 đến 180." in page  # the longitude out of range
    for english in ("This field is required", "Not a valid float value", "Number must be between"):
        assert english not in page
    assert "PX-MOI" not in admin.get("/admin/sites").get_data(as_text=True)


def test_a_pattern_says_what_it_wants(admin):
    assert "Gồm đúng 5 chữ số, ví dụ 06673." in site_form(admin, ward_code="6673")
    assert "Invalid input" not in site_form(admin, ward_code="6673")


def test_the_same_messages_in_english_when_english_is_chosen(admin):
    page = admin.post("/admin/sites", headers={"Accept-Language": "en"}, data={
        "code": "PX-MOI", "kind": "commune_center", "name": "", "lat": "x", "ward_code": "1",
        "csrf_token": token_of(admin, "/admin/sites")}).get_data(as_text=True)
    assert "This field is required." in page and "Not a valid float value." in page
    assert "Vui lòng nhập" not in page
