"""Schemathesis over every operation of the OpenAPI document, against the real app served on 127.0.0.1 over a
real database (the demo province: sites, staff, a week of dossiers, runs, alerts and an apology; a bag and a
delivery request besides), with a token of each role and with none: no answer may be a 5xx, and every answer's
status, content type, headers and body must be those the document gives for the operation.

Each operation is tried with generated values (valid ones and, for what has parameters or a body, invalid ones)
and with path parameters naming real objects, so that the requests reach the domain. Bounded and derandomized,
so CI is stable, and bounded in time: each request within REQUEST_TIMEOUT_S, each role's run within ROLE_BUDGET_S
(past it, no further operation is tried and the test fails). The figures per role (operations, requests, 5xx,
seconds) are printed and kept in test-output/."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select
from werkzeug.serving import make_server

from models import Alert, ApologySlip, DeliveryRequest, Dossier, Parcel, Run, RunStop
from postal import db, demo, workdays
from postal.clock import local, utcnow
from routes import create_app
from routes.auth import limiter
from tests.conftest import ROOT, TEST_SETTINGS
from tests.factories import Factory

EXAMPLES = 6  # per strategy of an operation: generated, invalid, and each set of real path parameters
REQUEST_TIMEOUT_S = 10  # an answer slower than this is a failure of its operation, not a wait
ROLE_BUDGET_S = 180  # one role's run over every operation (about 45 s on SQLite); past it the test fails
ROLES = {"postal_clerk": "ntha", "courier": "nva", "agency_clerk": "stp.linh", "supervisor": "gs.lan", "admin": "admin",
         "anonymous": None}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


@dataclass
class Served:
    base: str
    schema: schemathesis.BaseSchema
    tokens: dict[str, str]
    objects: dict[str, list[dict]]  # path parameter names -> sets of real values, by operation path
    writes: dict[str, list[dict]]  # by operation: bodies (and path parameters) naming real objects
    app: object = None
    figures: dict[str, dict] = field(default_factory=dict)


def first(make, query):
    return make.session.execute(query.limit(1)).scalars().first()


def working_day_after(day: date) -> date:
    day += timedelta(days=1)
    while not workdays.DEFAULT_CALENDAR.is_working_day(day):
        day += timedelta(days=1)
    return day


def seed(make: Factory) -> dict[str, list[dict]]:
    """The demo province, then what the demo does not make: a sealed bag and a citizen's delivery request. Its
    answer: for the writes, bodies (and path parameters) that name real objects, so they can succeed."""
    demo.seed(make.session, make.settings, utcnow())
    client = make.app.test_client()
    bagged = [make.parcel(at="TTHCC") for _ in range(5)]
    r = client.post("/api/v1/bags", json={"seal": "NIEM-PHONG-1", "parcels": bagged[:2], "site": "TTHCC"},
                    headers=make.token("ntha"))
    assert r.status_code == 201, r.get_data(as_text=True)
    body = make.dossier_body()
    r = client.post("/api/v1/dossiers", json=body, headers=make.token("ntha"))
    assert r.status_code == 201, r.get_data(as_text=True)
    booking = {"dossier": body["code"], "phone_last4": body["applicant"]["phone"][-4:], "kind": "deliver_result",
               "address": {"street": "Số 15 đường Nguyễn Văn Cừ", "ward_code": "06688"},
               "slot": {"date": working_day_after(local(utcnow()).date()).isoformat(), "period": "morning"}}
    r = client.post("/api/v1/delivery-requests", json=booking)
    assert r.status_code == 201, r.get_data(as_text=True)
    make.fresh()
    slip = first(make, select(ApologySlip))
    late = make.session.get(Dossier, slip.dossier_id).code
    planned = first(make, select(Run).where(Run.state == "planned").order_by(Run.departs_at.desc()))
    new_due = working_day_after(max(local(utcnow()).date(), slip.new_due))
    return {
        "POST /api/v1/dossiers": [{"body": make.dossier_body()}],
        "POST /api/v1/dossiers/{code}/parcels": [{"path_parameters": {"code": body["code"]},
                                                  "body": {"direction": "to_center", "origin": "STP"}}],
        "POST /api/v1/parcels/{code}/redirect": [{"path_parameters": {"code": bagged[2]},
                                                  "body": {"destination": "SXD", "reason": "Sai thẩm quyền"}}],
        "POST /api/v1/bags": [{"body": {"seal": "NIEM-PHONG-2", "parcels": bagged[3:], "site": "TTHCC"}}],
        "POST /api/v1/run-templates": [{"body": {"name": "Tuyến kiểm thử", "departs": "09:00", "stops": ["TTHCC", "STP"],
                                                 "post_office": "BD-TINH"}}],
        "POST /api/v1/runs/{run_id}/assign": [{"path_parameters": {"run_id": planned.id}, "body": {"courier": "nva"}}],
        "POST /api/v1/dossiers/{code}/apologies": [{"path_parameters": {"code": late},
                                                    "body": {"new_due": new_due.isoformat(), "reason": "Chờ xác minh"}}],
        "POST /api/v1/delivery-requests/{request_id}/exemption": [
            {"path_parameters": {"request_id": first(make, select(DeliveryRequest)).id}, "body": {"reason": "Người có công"}}],
        "POST /api/v1/track": [{"body": {"code": body["code"], "phone_last4": booking["phone_last4"]}}],
        "POST /api/v1/delivery-requests": [{"body": booking}],
    }


def real_objects(make: Factory) -> dict[str, list[dict]]:
    """For each path of the document with parameters, a few sets of values that name real objects."""
    make.fresh()
    s = make.session
    dossiers = [d.code for d in s.execute(select(Dossier).order_by(Dossier.id.desc()).limit(3)).scalars()]
    parcels = [p.code for p in s.execute(select(Parcel).order_by(Parcel.id.desc()).limit(3)).scalars()]
    run_ids = [r.id for r in s.execute(select(Run).order_by(Run.id.desc()).limit(3)).scalars()]
    stops = [{"run_id": st.run_id, "seq": st.seq} for st in s.execute(select(RunStop).limit(2)).scalars()]
    alerts = [a.id for a in s.execute(select(Alert).limit(2)).scalars()]
    slip = first(make, select(ApologySlip))
    request = first(make, select(DeliveryRequest))
    slip_code = s.get(Dossier, slip.dossier_id).code
    return {
        "/dossiers/{code}": [{"code": c} for c in dossiers],
        "/dossiers/{code}/apologies/{apology_id}.pdf": [{"code": slip_code, "apology_id": slip.id}],
        "/parcels/{code}": [{"code": c} for c in parcels],
        "/runs/{run_id}": [{"run_id": r} for r in run_ids],
        "/runs/{run_id}/stops/{seq}": stops,
        "/alerts/{alert_id}": [{"alert_id": a} for a in alerts],
        "/delivery-requests/{request_id}": [{"request_id": request.id}],
        "/provinces/{code}": [{"code": "22"}],
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("schemathesis")
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp / 'postal.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POSTAL_LEDGER_CHECKPOINT_FILE", str(tmp / "ledger.checkpoint"))
        app = create_app({"DATABASE_URL": url, **TEST_SETTINGS})
        engine = app.extensions["postal.engine"]
        db.drop_schema(engine)
        db.create_schema(engine)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.server_port}"
        make = Factory(app)
        try:
            writes = seed(make)
            tokens = {role: make.token(user)["Authorization"] for role, user in ROLES.items() if user}
            schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
            found = Served(base, schema, tokens, real_objects(make), writes, app)
            yield found
        finally:
            server.shutdown()
            thread.join(timeout=5)
            make.close()
            db.drop_schema(engine)


def write_figures(figures: dict) -> None:
    engine = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    out = ROOT / "test-output"
    out.mkdir(exist_ok=True)
    (out / f"schemathesis-{engine}.json").write_text(json.dumps(figures, indent=2))


def fixed_sets(served: Served, path: str) -> list[dict]:
    """The real path parameters for an operation's path: those of its longest known prefix."""
    path = path.removeprefix("/api/v1")
    known = [prefix for prefix in served.objects if path == prefix or path.startswith(prefix + "/")]
    if not known:
        return []
    return served.objects[max(known, key=len)]


def strategies(served: Served, operation) -> list[tuple[object, int]]:
    """Generated values, invalid ones (where there is something to make invalid), and real path parameters;
    each with its number of examples (a PDF or an image takes long to make: fewer, for one object)."""
    found = [(operation.as_strategy(GenerationMode.POSITIVE), EXAMPLES)]
    if operation.path_parameters or operation.query or operation.body:
        found.append((operation.as_strategy(GenerationMode.NEGATIVE), EXAMPLES))
    fixed = fixed_sets(served, operation.path)
    made = not any("application/json" in answer.get("content", {})
                   for status, answer in operation.definition.raw["responses"].items() if status.startswith("2"))
    if made:
        fixed = fixed[:1]
    found += [(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=values), 2 if made else EXAMPLES)
              for values in fixed]
    found += [(operation.as_strategy(GenerationMode.POSITIVE, **real), 2) for real in served.writes.get(operation.label, [])]
    return found


def exercise(served: Served, operation, strategy, examples: int, authorization: str | None, tally: Counter,
             failures: list) -> None:
    """Run one strategy of an operation; failures are noted (the first of each kind), never shrunk."""
    session = requests.Session()
    headers = {"Authorization": authorization} if authorization else {}

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None, print_blob=False,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=strategy)
    def run(case) -> None:
        try:
            response = case.call(base_url=served.base, session=session, headers=headers, timeout=REQUEST_TIMEOUT_S)
        except requests.RequestException as err:  # a read timed out (or the connection broke): no answer
            tally["timeouts"] += 1
            failures.append(f"{operation.label}: no answer within {REQUEST_TIMEOUT_S} s: {type(err).__name__}: {err}")
            return
        tally["requests"] += 1
        tally["5xx"] += response.status_code >= 500
        tally[f"{operation.label} {response.status_code}"] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except BaseExceptionGroup as group:  # every check's failure is reported at the end, none is shrunk
            failures.append(f"{operation.label} -> {response.status_code}: {str(group)[:2000]}")

    started = time.monotonic()
    if "429" in operation.definition.raw["responses"]:
        with served.app.app_context():
            limiter.reset()  # each strategy of a rate-limited operation starts within the limits, and may pass them
    try:
        run()
    except Unsatisfiable:  # nothing to make invalid in that part of the operation
        tally["unsatisfiable"] += 1
    tally[f"seconds {operation.label}"] += round(time.monotonic() - started, 2)


@pytest.mark.parametrize("role", list(ROLES))
def test_every_operation_answers_as_documented(served, role, capsys):
    tally: Counter = Counter()
    failures: list[str] = []
    operations = 0
    started = time.monotonic()
    for result in served.schema.get_all_operations():
        if time.monotonic() - started > ROLE_BUDGET_S:
            failures.append(f"over the budget of {ROLE_BUDGET_S} s after {operations} operations: the rest not tried")
            break
        operation = result.ok()
        public = not operation.definition.raw.get("security")
        if public and role != "anonymous":
            continue  # the public operations are tried once, without a token
        authorization = None if role == "anonymous" else served.tokens[role]
        operations += 1
        for strategy, examples in strategies(served, operation):
            exercise(served, operation, strategy, examples, authorization, tally, failures)
    seconds = round(time.monotonic() - started, 1)
    served.figures[role] = {"operations": operations, "requests": tally["requests"], "5xx": tally["5xx"],
                            "seconds": seconds, "failures": len(failures), "timeouts": tally["timeouts"],
                            "unsatisfiable": tally["unsatisfiable"],
                            "statuses": {k: v for k, v in sorted(tally.items()) if " " in k and not k.startswith("seconds")},
                            "seconds_by_operation": {k[8:]: v for k, v in sorted(tally.items()) if k.startswith("seconds ")}}
    write_figures(served.figures)  # after each role: a run cut short still leaves the roles it finished
    with capsys.disabled():
        print(f"\nschemathesis {role}: {operations} operations, {tally['requests']} requests, {tally['5xx']} 5xx, "
              f"{seconds} s, {len(failures)} failures")
    assert seconds < ROLE_BUDGET_S, f"{role}: {seconds} s over every operation, the budget is {ROLE_BUDGET_S} s"
    unique = list(dict.fromkeys(failures))
    assert not unique, f"{len(unique)} failures:\n\n" + "\n\n".join(unique[:30])
