"""What the ledger hashes is what it reads back, on either engine: any accepted scan verifies after a
round trip through the database, and a value that could not be stored faithfully is refused."""

from __future__ import annotations

import unicodedata
from datetime import timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from models import CustodyEvent, Parcel
from postal import db, ledger
from postal.clock import utcnow


def post(client, make, *scans: dict, user: str = "ntha") -> list[dict]:
    response = client.post("/api/v1/scans", json={"scans": list(scans)}, headers=make.token(user))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["results"]


def verified(app) -> ledger.Verification:
    with db.new_session(app.extensions["postal.engine"]) as session:
        return ledger.verify(session)


def stored(app, code: str) -> CustodyEvent:
    with db.new_session(app.extensions["postal.engine"]) as session:
        parcel = session.execute(select(Parcel).where(Parcel.code == code)).scalars().one()
        return session.execute(select(CustodyEvent).where(CustodyEvent.parcel_id == parcel.id)
                               .order_by(CustodyEvent.seq.desc())).scalars().first()


def test_a_scan_at_minus_zero_latitude_verifies(app, client, make):
    code = make.parcel(accepted=False)
    [result] = post(client, make, make.scan(code, "accept", site="TTHCC", lat=-0.0, lon=-0.0))
    assert result["status"] == "accepted"
    report = verified(app)
    assert (report.count, report.reason) == (1, "")
    event = stored(app, code)
    assert (event.lat, event.lon) == (0.0, 0.0) and str(event.lat) == "0.0"  # what was hashed


def test_text_is_kept_in_one_normal_form(app, client, make):
    code = make.parcel(accepted=False)
    decomposed = "Nguye\u0302\u0303n — hồ sơ đủ"  # ễ typed as e + two combining marks, as some keyboards send it
    [result] = post(client, make, make.scan(code, "accept", site="TTHCC", note=decomposed,
                                            evidence={"người nhận": "Tra\u0300n"}))
    assert result["status"] == "accepted"
    event = stored(app, code)
    assert event.note == unicodedata.normalize("NFC", decomposed) == "Nguyễn — hồ sơ đủ"
    assert "Tràn" in event.evidence
    assert verified(app).reason == ""


def test_unstorable_text_is_refused_naming_the_field_and_the_rest_is_stored(app, client, make):
    codes = [make.parcel(accepted=False) for _ in range(4)]
    results = post(client, make,
                   make.scan(codes[0], "accept", site="TTHCC", note="hồ sơ\x00"),
                   make.scan(codes[1], "accept", site="TTHCC", evidence={"recipient_name": "An\x07"}),
                   make.scan(codes[2], "accept", site="TTHCC", note="dòng 1\ndòng 2\tcột"),
                   make.scan(codes[3], "accept", site="TTHCC", note="mã\u0085lạ"))
    assert [r["status"] for r in results] == ["rejected", "rejected", "accepted", "rejected"]
    assert results[0]["error"]["message"] == ("Lần quét không hợp lệ: trường note có ký tự U+0000 (ký tự điều khiển "
                                              "hoặc mã không hợp lệ), không thể ghi vào sổ giao nhận")
    assert "trường evidence.recipient_name có ký tự U+0007" in results[1]["error"]["message"]
    assert "trường note có ký tự U+0085" in results[3]["error"]["message"]
    assert make.parcel_row(codes[0]).state == "created" and make.parcel_row(codes[2]).state == "at_site"
    assert verified(app).count == 1
    again = client.post("/api/v1/scans", json={"scans": [make.scan(codes[0], "accept", note="\x00")]},
                        headers={**make.token("ntha"), "Accept-Language": "en"}).get_json()["results"][0]
    assert again["error"]["message"] == ("Invalid scan: field note holds the character U+0000 (a control character "
                                         "or an invalid code), which cannot be written into the custody ledger")


def test_numbers_that_are_not_finite_are_refused(app, client, make):
    code = make.parcel(accepted=False)
    body = ('{"scans": [{"id": "%s", "label": "%s", "action": "accept", "site": "TTHCC", "at": "%s", %s}]}')
    for field in ('"lat": NaN', '"lon": Infinity', '"evidence": {"weight": NaN}', '"evidence": {"a": [1, -Infinity]}'):
        scan = make.scan(code, "accept")
        response = client.post("/api/v1/scans", data=body % (scan["id"], scan["label"], scan["at"], field),
                               content_type="application/json", headers=make.token("ntha"))
        [result] = response.get_json()["results"]
        assert result["status"] == "rejected" and "phải là số hữu hạn" in result["error"]["message"], result
    assert make.parcel_row(code).state == "created"


def test_a_time_with_no_utc_form_is_refused_not_a_server_error(client, make):
    code = make.parcel(accepted=False)
    [result] = post(client, make, {**make.scan(code, "accept", site="TTHCC"), "at": "0001-01-01T00:00:00+07:00"})
    assert result["status"] == "rejected" and "thời điểm at nằm ngoài khoảng năm 1–9999" in result["error"]["message"]


def test_a_row_is_settled_before_it_is_hashed():
    at = (utcnow() + timedelta(hours=7)).replace(tzinfo=timezone(timedelta(hours=7)))
    row = ledger.new_row(id="x", action="accept", device_at=at, server_at=at.replace(tzinfo=None), lat=-0.0, lon=10,
                         note="e\u0301")
    ledger.seal(ledger.Head(0, ledger.GENESIS), [row])
    assert (repr(row["lat"]), repr(row["lon"]), row["note"]) == ("0.0", "10.0", "é")
    assert row["device_at"].utcoffset() == timedelta(0) and row["server_at"].tzinfo is not None
    for bad in ({"lat": float("nan")}, {"note": "a\x00"}):
        try:
            ledger.seal(ledger.Head(0, ledger.GENESIS), [ledger.new_row(**{**row, **bad})])
        except ValueError:
            continue
        raise AssertionError(f"{bad} was sealed")


# -- any accepted scan verifies after the round trip -----------------------------------------------------------

EDGE_FLOATS = [-0.0, 0.0, 5e-324, -5e-324, 1e-320, 2.2250738585072014e-308, 1e-300, 0.1, 1 / 3]
text_chars = st.characters(exclude_categories=("Cs", "Cc"), include_characters="\t\n\r")
notes = st.one_of(
    st.text(text_chars, max_size=120),
    st.lists(st.sampled_from(["e", "\u0301", "\u0302", "\u0323", "ư", "🇻🇳", "👩‍👩‍👧", "שלום", "\u200f", "مرحبا", "ﬁ", "Å",
                              "\u212b", "\ufeff", "\U0010ffff"]), max_size=30).map("".join),
)


def coordinates(limit: float):
    return st.one_of(st.none(), st.sampled_from([*EDGE_FLOATS, limit, -limit]),
                     st.floats(-limit, limit, allow_nan=False, allow_infinity=False))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.sampled_from(EDGE_FLOATS)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(text_chars, max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(text_chars, max_size=8), inner, max_size=3),
    max_leaves=8,
)
scans = st.fixed_dictionaries({
    "lat": coordinates(90.0), "lon": coordinates(180.0), "note": notes,
    "ago_us": st.integers(0, 3 * 86_400 * 10**6), "offset_min": st.integers(-12 * 60, 14 * 60),
    "evidence": st.none() | st.dictionaries(st.text(text_chars, min_size=1, max_size=10), json_values, max_size=4),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=scans)
def test_any_accepted_scan_verifies_after_the_round_trip(app, client, make, data):
    code = make.parcel(accepted=False)
    offset = timezone(timedelta(minutes=data["offset_min"]))
    at = (utcnow() - timedelta(microseconds=data["ago_us"])).astimezone(offset)
    scan = make.scan(code, "accept", site="TTHCC", at=at, note=data["note"])
    scan.update({k: data[k] for k in ("lat", "lon", "evidence") if data[k] is not None})
    [result] = post(client, make, scan)
    assert result["status"] == "accepted", result
    report = verified(app)
    assert report.reason == "" and report.first_bad is None, report


def test_a_note_cut_inside_an_emoji_is_refused_alone(app, client, make):
    """A device that cut a note in the middle of a surrogate pair sends a lone surrogate escape: valid to
    JavaScript's JSON.stringify, not UTF-8. That scan is refused; the rest of the batch is stored."""
    cut, whole = make.parcel(accepted=False), make.parcel(accepted=False)
    first, second = make.scan(cut, "accept", site="TTHCC"), make.scan(whole, "accept", site="TTHCC", note="🙂")
    body = ('{"scans": [{"id": "%s", "label": "%s", "action": "accept", "site": "TTHCC", "at": "%s", '
            '"note": "h\\u1ed3 s\\u01a1 \\ud83d"}, %s]}') % (first["id"], first["label"], first["at"],
                                                           __import__("json").dumps(second))
    response = client.post("/api/v1/scans", data=body.encode(), content_type="application/json",
                           headers=make.token("ntha"))
    assert response.status_code == 200, response.get_data(as_text=True)
    refused, stored_ = response.get_json()["results"]
    assert refused["status"] == "rejected" and "trường note có mã lẻ của một cặp UTF-16" in refused["error"]["message"]
    assert stored_["status"] == "accepted" and stored(app, whole).note == "🙂"
    assert verified(app).reason == ""
    broken = client.post("/api/v1/scans", data=b'{"scans": [', content_type="application/json",
                         headers=make.token("ntha"))
    assert broken.status_code == 400  # not JSON at all: still the whole request's error
