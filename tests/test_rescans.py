"""A label scanned again right after its step was recorded reads "already scanned" with the first scan's time,
not a refusal; it writes nothing; a wrong move stays refused."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from models import CustodyEvent
from postal.clock import utcnow

pytestmark = pytest.mark.usefixtures("app")


def events(make) -> int:
    make.session.rollback()
    return make.session.execute(select(func.count()).select_from(CustodyEvent)).scalar_one()


def post(client, make, username: str, *scans) -> list[dict]:
    r = client.post("/api/v1/scans", json={"scans": list(scans)}, headers=make.token(username))
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()["results"]


def test_the_same_step_scanned_again_is_already_scanned_with_its_first_time(client, make):
    make.network()
    code = make.parcel()
    first_at = utcnow().replace(microsecond=0) - timedelta(minutes=2)
    [first] = post(client, make, "nva", make.scan(code, "pickup", site="TTHCC", at=first_at))
    assert first["status"] == "accepted"
    before = events(make)
    [again] = post(client, make, "nva", make.scan(code, "pickup", site="TTHCC"))  # a new scan id: the label again
    assert again["status"] == "duplicate" and "error" not in again
    assert datetime.fromisoformat(again["first_at"]) == first_at
    assert again["parcel"]["holder"]["code"] == "nva"
    [auto] = post(client, make, "nva", make.scan(code, "pickup"))  # the site left to the server: the same
    assert auto["status"] == "duplicate"
    assert events(make) == before  # nothing written


def test_a_different_step_or_person_is_still_refused(client, make):
    make.network()
    code = make.parcel()
    post(client, make, "nva", make.scan(code, "pickup", site="TTHCC"))
    [other] = post(client, make, "ttb", make.scan(code, "pickup", site="TTHCC"))  # another courier: not his
    assert other["status"] == "rejected" and "first_at" not in other
    [elsewhere] = post(client, make, "ntha", make.scan(code, "accept", site="TTHCC"))  # a step not its last
    assert elsewhere["status"] == "rejected"
    [wrong_place] = post(client, make, "nva", make.scan(code, "pickup", site="SXD"))  # named another place
    assert wrong_place["status"] == "rejected"


def test_in_a_batch_only_the_repeat_is_marked_and_the_rest_is_stored(client, make):
    make.network()
    done, fresh = make.parcel(), make.parcel()
    post(client, make, "nva", make.scan(done, "pickup", site="TTHCC"))
    results = post(client, make, "nva", make.scan(done, "pickup", site="TTHCC"), make.scan(fresh, "pickup", site="TTHCC"))
    assert [r["status"] for r in results] == ["duplicate", "accepted"]
