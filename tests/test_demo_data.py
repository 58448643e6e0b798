"""The demo province's data agrees with the 2025 administrative units and with itself."""

import re

import pytest
from vietnam_provinces import Province, Ward

from postal import demo_data

SITES_BY_CODE = {site["code"]: site for site in demo_data.SITES}
AGENCY_CODES = {site["code"] for site in demo_data.SITES if site["kind"] == "agency"}

# Quảng Ninh's extent with a little margin: Đông Triều in the west, Móng Cái in the east.
LAT_RANGE = (20.7, 21.7)
LON_RANGE = (106.4, 108.1)


def ward_of(code: str) -> Ward:
    return Ward.from_code(int(code))


def all_ward_codes() -> list[str]:
    return [site["ward_code"] for site in demo_data.SITES] + [
        address["ward_code"] for address in demo_data.APPLICANT_ADDRESSES
    ]


def test_province_is_quang_ninh_in_the_package():
    province = Province.from_code(int(demo_data.PROVINCE_CODE))
    assert province.name == demo_data.PROVINCE_NAME


@pytest.mark.parametrize("code", sorted(set(all_ward_codes())))
def test_ward_code_exists_and_is_in_the_province(code):
    assert re.fullmatch(r"\d{5}", code), code
    ward = ward_of(code)  # raises ValueError if the package does not know it
    assert int(ward.province_code) == int(demo_data.PROVINCE_CODE)


def test_site_codes_are_unique_short_uppercase_ascii():
    codes = [site["code"] for site in demo_data.SITES]
    assert len(codes) == len(set(codes))
    for code in codes:
        assert re.fullmatch(r"[A-Z0-9-]{2,16}", code), code


def test_sites_have_every_field_and_a_known_kind():
    fields = {"code", "kind", "name", "address", "ward_code", "lat", "lon"}
    for site in demo_data.SITES:
        assert set(site) == fields, site["code"]
        assert site["kind"] in {"center", "commune_center", "agency", "post_office"}
        assert site["name"] and site["address"]


def test_site_count_per_kind():
    kinds = [site["kind"] for site in demo_data.SITES]
    assert kinds.count("center") == 1
    assert kinds.count("agency") >= 12
    assert kinds.count("commune_center") >= 8
    assert kinds.count("post_office") == 2


def test_addresses_name_the_units_ward_and_no_district():
    for site in demo_data.SITES:
        ward_name = ward_of(site["ward_code"]).name  # e.g. "Phường Hạ Long"
        assert ward_name.lower() in site["address"].lower(), site["code"]
        assert "Quảng Ninh" in site["address"]
        assert not re.search(r"\b(huyện|quận|thị xã|thành phố|TP\.)", site["address"]), site["code"]


def test_commune_center_is_named_after_its_unit():
    for site in demo_data.SITES:
        if site["kind"] == "commune_center":
            ward_name = ward_of(site["ward_code"]).name
            assert site["name"] == f"Trung tâm Phục vụ hành chính công {ward_name[0].lower()}{ward_name[1:]}"


def test_coordinates_are_inside_the_province_box():
    for site in demo_data.SITES:
        assert LAT_RANGE[0] <= site["lat"] <= LAT_RANGE[1], site["code"]
        assert LON_RANGE[0] <= site["lon"] <= LON_RANGE[1], site["code"]


def test_every_procedure_is_decided_by_an_agency_site():
    names = [procedure["name"] for procedure in demo_data.PROCEDURES]
    assert len(names) == len(set(names))
    for procedure in demo_data.PROCEDURES:
        assert procedure["agency"] in AGENCY_CODES, procedure["name"]
        assert isinstance(procedure["days"], int) and 1 <= procedure["days"] <= 60


def test_users_are_unique_and_sit_at_a_site_that_fits_their_role():
    usernames = [user["username"] for user in demo_data.USERS]
    assert len(usernames) == len(set(usernames))
    home_kind = {
        "courier": {"post_office"},
        "agency_clerk": {"agency"},
        "postal_clerk": {"center", "commune_center"},
        "supervisor": {"center"},
    }
    for user in demo_data.USERS:
        assert re.fullmatch(r"[a-z][a-z0-9._]*", user["username"]), user["username"]
        if user["role"] == "admin":
            assert user["site"] is None or user["site"] in SITES_BY_CODE
            continue
        assert user["site"] in SITES_BY_CODE, user["username"]
        assert SITES_BY_CODE[user["site"]]["kind"] in home_kind[user["role"]], user["username"]


def test_each_role_is_staffed():
    roles = [user["role"] for user in demo_data.USERS]
    assert roles.count("admin") == 1
    assert roles.count("supervisor") >= 1
    assert roles.count("postal_clerk") >= 2
    assert roles.count("courier") >= 4
    assert roles.count("agency_clerk") >= 5


def test_shuttle_lines_start_at_the_center_and_stop_at_known_sites():
    center = next(site["code"] for site in demo_data.SITES if site["kind"] == "center")
    for line in demo_data.SHUTTLE_LINES:
        assert SITES_BY_CODE[line["post_office"]]["kind"] == "post_office"
        assert line["stops"][0] == center, line["name"]
        assert len(line["stops"]) == len(set(line["stops"])), line["name"]
        for stop in line["stops"]:
            assert stop in SITES_BY_CODE, stop
        assert line["departs"] == sorted(line["departs"])
        for hhmm in line["departs"]:
            assert re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", hhmm)


def test_shuttle_lines_together_cover_every_agency():
    visited = {stop for line in demo_data.SHUTTLE_LINES for stop in line["stops"]}
    assert AGENCY_CODES <= visited


def test_a_commune_line_visits_several_commune_centers():
    commune_stops = [
        [stop for stop in line["stops"] if SITES_BY_CODE[stop]["kind"] == "commune_center"]
        for line in demo_data.SHUTTLE_LINES
    ]
    assert max(len(stops) for stops in commune_stops) >= 3


def test_applicants_and_addresses():
    assert len(demo_data.APPLICANTS) >= 30
    assert len(set(demo_data.APPLICANTS)) == len(demo_data.APPLICANTS)
    for name in demo_data.APPLICANTS:
        assert len(name.split()) >= 3, name
    assert len(demo_data.APPLICANT_ADDRESSES) >= 10
    for address in demo_data.APPLICANT_ADDRESSES:
        assert set(address) == {"street", "ward_code"}
        assert address["street"]
