"""Property-based fuzzing of what outsiders and devices send: the scan envelope, the label parser and the
tracking form. Whatever arrives (JSON-ish values, control characters, lone surrogates, huge numbers, odd
Unicode, bytes that are not JSON), the server answers 2xx or 4xx in the error's shape, never 5xx, and the
ledger still verifies. Bounded to well under a minute per engine."""

from __future__ import annotations

import itertools
import json
import string
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postal import db, labels, ledger
from postal.errors import ForgedLabel
from tests.test_pages import csrf_of

FUZZ = settings(max_examples=500, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
ACTIONS = ["accept", "pickup", "handover", "receive", "unbag", "report_missing", "found", "out_for_delivery", "deliver",
           "attempt_failed", "redirect", "bag", ""]
ODD = ["\x00", "\x07", "\x1b[31m", "\x7f", "\x85", "\ud800", "\udfff", "\u202e", "\u200d", "\ufeff", "\uffff",
       "\U0010ffff", "ﬁ", "ß", "İ", "e\u0301", "٣", "１２３", "🇻🇳", "'; DROP TABLE parcel; --", "%00", "<img src=x>",
       "{{7*7}}", "../../etc/passwd", "\r\n", "\t", " ", ""]

# Text of every kind: any code point (surrogates included), the odd cases above, and now and then long.
any_char = st.characters(codec=None, exclude_categories=())
texts = st.one_of(st.text(any_char, max_size=40), st.sampled_from(ODD),
                  st.lists(st.sampled_from(ODD), max_size=6).map("".join),
                  st.builds(lambda c, n: c * n, st.sampled_from(["x", "ệ", "\x00"]), st.integers(100, 20_000)))
numbers = st.one_of(st.integers(), st.integers(-(2**300), 2**300), st.floats(),
                    st.sampled_from([0, -0.0, 1e308, -1e308, 5e-324, 2**63, 2**31, -(2**63) - 1]))
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
jsonish = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
                       max_leaves=12)
offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
times = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets).map(
        lambda t: t.isoformat()),
    st.sampled_from(["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59", "2026-02-30T10:00:00+07:00",
                     "2026-12-07T10:00:00", "2026-12-07", "now", "", "1e9"]),
)


def field(plausible):
    """Mostly a plausible value, sometimes anything at all."""
    return st.one_of(plausible, plausible, jsonish)


def scans(make, codes: list[str]):
    labels_ = st.sampled_from([make.payload(c) for c in codes] + codes + [c.lower() + " " for c in codes])
    recent = st.integers(-3 * 86_400, 600).map(lambda s: (datetime.now(UTC) + timedelta(seconds=s)).isoformat())
    return st.fixed_dictionaries(
        {"id": field(st.uuids().map(str)), "label": field(labels_ | texts), "action": field(st.sampled_from(ACTIONS)),
         "at": field(recent | times)},
        optional={"site": field(st.sampled_from(["TTHCC", "STP", "SXD", "BD-TINH"]) | texts),
                  "run": field(st.none() | numbers), "lat": field(numbers), "lon": field(numbers),
                  "note": field(texts), "evidence": field(st.dictionaries(texts, jsonish, max_size=4)),
                  "extra": jsonish})


def envelopes(make, codes: list[str]):
    batch = st.lists(scans(make, codes), min_size=1, max_size=5)
    return st.one_of(
        st.fixed_dictionaries({"scans": batch}),
        st.fixed_dictionaries({"scans": batch}, optional={"more": jsonish}),
        st.fixed_dictionaries({"scans": st.lists(st.one_of(scans(make, codes), jsonish), max_size=4)}),
        jsonish,
    )


def encoded(value) -> bytes:
    """As a device would send it; Python's encoder writes NaN, Infinity and lone surrogate escapes too."""
    return json.dumps(value, allow_nan=True).encode()


def answered(response) -> dict | None:
    """The answer is not a server error and, when refused, has the error's shape."""
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400 and response.is_json:
        error = response.get_json()["error"]
        assert error["code"] and error["message"]
    return response.get_json(silent=True)


def test_the_scan_envelope_never_answers_5xx(app, client, make):
    codes = [make.parcel(accepted=False), make.parcel(), make.parcel(held_by="nva")]
    tokens = [make.token(u) for u in ("ntha", "nva", "stp.linh")]
    seen: set = set()

    @FUZZ
    @given(body=st.one_of(envelopes(make, codes).map(encoded), st.binary(max_size=300)),
           who=st.sampled_from(tokens), language=st.text(string.printable.strip() + " ", max_size=30))
    def post(body: bytes, who: dict, language: str) -> None:
        response = client.post("/api/v1/scans", data=body, content_type="application/json",
                               headers={**who, "Accept-Language": language})
        answer = answered(response)
        if response.status_code == 200:
            sent = json.loads(body)["scans"]
            assert len(answer["results"]) == len(sent)
            assert {r["status"] for r in answer["results"]} <= {"accepted", "duplicate", "rejected"}
            seen.update(r["status"] for r in answer["results"])
        seen.add(response.status_code)

    post()
    assert {200, 400, "rejected"} <= seen  # the fuzz reached the scans themselves, not only the envelope
    with db.new_session(app.extensions["postal.engine"]) as session:
        assert ledger.verify(session).reason == ""  # what was accepted verifies


S10_LIKE = st.builds(lambda p, d, c: f"{p}{d}{c}", st.sampled_from(["HC", "BG", "hc", "H", "HCC"]),
                     st.text(string.digits + "٠١٢٣٤٥٦٧٨٩０１２３", min_size=8, max_size=10), st.sampled_from(["VN", "vn", ""]))


@settings(max_examples=3000, deadline=None, database=None)
@given(label=st.one_of(texts, S10_LIKE, S10_LIKE.map(lambda c: f"{c}:{'A' * 16}"),
                       st.tuples(S10_LIKE, texts).map(":".join)))
def test_the_label_parser_reads_a_label_or_refuses_it(label: str) -> None:
    """Any text is a label of this installation (an S10 code in ASCII, checked) or refused as forged; nothing
    else, so what reaches the database is always a plain code."""
    try:
        read = labels.read("test-label-key", label)
    except ForgedLabel:
        return
    assert read.code.isascii() and labels.CODE_RE.fullmatch(read.code) and labels.is_valid_code(read.code)
    assert read.code == read.code.upper() and len(read.code) == 13


def test_the_tracking_form_never_answers_5xx(client, make):
    make.parcel()
    token = csrf_of(client.get("/track").get_data(as_text=True))  # the form's, so the fuzz gets past it
    addresses = (f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}" for i in itertools.count(1))  # past the limit per address
    encodable = [o for o in ODD if not any(0xD800 <= ord(c) <= 0xDFFF for c in o)]  # a form is UTF-8 on the wire
    form_text = st.text(st.characters(codec="utf-8"), max_size=60) | st.sampled_from(encodable)
    body = st.one_of(st.fixed_dictionaries({"code": field(texts), "phone_last4": field(texts | st.just("5678"))}),
                     jsonish)

    @FUZZ
    @given(kind=st.sampled_from(["api", "page", "query"]), api=body.map(encoded),
           code=form_text, phone=form_text)
    def ask(kind: str, api: bytes, code: str, phone: str) -> None:
        env = {"REMOTE_ADDR": next(addresses)}
        if kind == "api":
            response = client.post("/api/v1/track", data=api, content_type="application/json", environ_overrides=env)
        elif kind == "page":
            response = client.post("/track", data={"code": code, "phone_last4": phone, "csrf_token": token},
                                   environ_overrides=env)
        else:
            response = client.get("/track", query_string={"code": code}, environ_overrides=env)
        answered(response)

    ask()
