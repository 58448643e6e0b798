"""Rate limits that hold across workers and addresses, counted in the real Redis server on 127.0.0.1.

The four public endpoints that take a dossier code + the last 4 phone digits (/track and /delivery, page and
API) share one budget per address and one per dossier code, whatever the address."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, contextmanager

import pytest
import redis
import requests

from tests.conftest import ROOT, TEST_SETTINGS
from tests.test_delivery_requests import body as delivery_body
from tests.test_delivery_requests import next_working_day, registered

REDIS_URL = os.environ.get("POSTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")  # a database of the tests' own
WRONG = "0000"  # the factory's applicant phone ends 5678


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own in the tests' Redis database; its keys are deleted afterwards."""
    server = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        server.ping()
    except redis.RedisError as err:  # a failure, not a skip: `make test` starts Redis
        pytest.fail(f"Redis is not answering at {REDIS_URL} ({err}); start redis-server or run `make test`")
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield prefix
    for key in server.scan_iter(match=f"*{prefix}*"):
        server.delete(key)
    server.close()


@pytest.fixture
def settings_overrides(redis_prefix):
    return {"POSTAL_RATELIMIT_STORAGE_URI": REDIS_URL, "POSTAL_RATELIMIT_KEY_PREFIX": redis_prefix}


def from_address(client, address: str):
    """The test client as a citizen at another address."""
    client.environ_base["REMOTE_ADDR"] = address
    return client


def track(client, code: str, digits: str = WRONG):
    return client.post("/api/v1/track", json={"code": code, "phone_last4": digits})


def csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_one_dossier_has_one_budget_of_wrong_answers_whatever_the_address(app, make, redis_prefix):
    code = registered(app.test_client(), make)
    client = app.test_client()
    for n in range(5):  # five wrong answers from each of two addresses, on the API of tracking and of delivery
        assert track(from_address(client, "203.0.113.10"), code).status_code == 404
        r = from_address(client, "198.51.100.20").post("/api/v1/delivery-requests",
                                                       json={**delivery_body(code), "phone_last4": WRONG})
        assert r.status_code == 404, n

    third = from_address(app.test_client(), "192.0.2.30")
    r = track(third, code)
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "too_many_guesses"
    message = r.get_json()["error"]["message"]
    assert message.startswith(f"Hồ sơ {code} đã bị tra cứu sai mã hoặc số điện thoại quá nhiều lần")
    assert "thử lại sau" in message and int(r.headers["Retry-After"]) > 0
    assert track(third, code, "5678").status_code == 429  # even the right digits wait: nothing is learnt
    page = third.get("/track").get_data(as_text=True)
    r = third.post("/track", data={"code": code, "phone_last4": "5678", "csrf_token": csrf_token(page)})
    assert r.status_code == 429 and f"Hồ sơ {code} đã bị tra cứu sai" in r.get_data(as_text=True)

    other = registered(app.test_client(), make)
    assert track(third, other, "5678").status_code == 200  # another dossier keeps its own budget


def test_an_unknown_code_locks_with_the_same_answer_as_a_wrong_phone(app, make, redis_prefix):
    known = registered(app.test_client(), make)
    unknown = "000.00.22.H47-000000-9999"
    answers = {}
    for code in (known, unknown):
        for n in range(10):
            assert track(from_address(app.test_client(), f"203.0.113.{n}"), code).status_code == 404
        answers[code] = track(from_address(app.test_client(), "192.0.2.99"), code)
    assert answers[known].status_code == answers[unknown].status_code == 429
    shapes = {r.get_json()["error"]["message"].replace(code, "CODE") for code, r in answers.items()}
    assert len(shapes) == 1  # nothing says which code exists
    r = track(from_address(app.test_client(), "192.0.2.98"), unknown)
    assert r.headers.get("Content-Security-Policy")


def test_right_answers_do_not_spend_the_dossiers_budget(app, make, redis_prefix):
    code = registered(app.test_client(), make)
    for n in range(12):
        assert track(from_address(app.test_client(), f"203.0.113.{n}"), code, "5678").status_code == 200
    assert track(from_address(app.test_client(), "192.0.2.1"), code).status_code == 404  # not locked


@pytest.mark.parametrize("hops, second_answered", [(1, 200), (0, 429)])
def test_behind_a_proxy_each_citizen_has_the_address_budget_of_their_own(app, make, database_url, redis_prefix,
                                                                         hops, second_answered):
    """TLS ends at nginx: every request reaches the app from 127.0.0.1. With POSTAL_PROXY_HOPS=1 the limits count
    the address the proxy saw (X-Forwarded-For), and links are https on the public host; with 0 the headers are
    believed by nobody, so one citizen's ten lookups spend everyone's minute."""
    from routes import create_app

    code = registered(app.test_client(), make)
    proxied = create_app({"DATABASE_URL": database_url, **TEST_SETTINGS, "POSTAL_RATELIMIT_STORAGE_URI": REDIS_URL,
                          "POSTAL_RATELIMIT_KEY_PREFIX": redis_prefix, "POSTAL_PROXY_HOPS": str(hops)})
    proxied.config["TESTING"] = True

    def lookup(address: str):
        return proxied.test_client().post(
            "/api/v1/track", json={"code": code, "phone_last4": "5678"}, environ_base={"REMOTE_ADDR": "127.0.0.1"},
            headers={"X-Forwarded-For": address, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "hoso.example.vn"})

    assert all(lookup("203.0.113.7").status_code == 200 for _ in range(10))
    assert lookup("203.0.113.7").status_code == 429  # the eleventh in a minute
    assert lookup("198.51.100.8").status_code == second_answered
    root = proxied.test_client().get("/api/v1/openapi.json", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                                     headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hoso.example.vn"})
    servers = [s["url"] for s in root.get_json().get("servers", [])]
    assert root.status_code == 200 and (hops == 0 or not servers or servers[0].startswith("https://hoso.example.vn"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVE = ("import sys; from werkzeug.serving import run_simple; from routes import create_app; "
         "run_simple('127.0.0.1', int(sys.argv[1]), create_app(), threaded=True)")


@contextmanager
def worker(env: dict[str, str]):
    """The app in a process of its own (a web worker, with its own memory); its base URL."""
    port = free_port()
    with tempfile.TemporaryFile() as log:  # a file, not a pipe: a full pipe would stop the worker mid-request
        process = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], env=env, cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    requests.get(f"{base}/login", timeout=2)
                    break
                except requests.ConnectionError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        raise RuntimeError(f"worker did not start: {log.read().decode()[-2000:]}") from None
                    time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_two_workers_share_one_budget_per_address_over_the_four_endpoints(app, make, database_url, redis_prefix):
    """Each worker counts in Redis, not in its memory; /track and /delivery, page and API, spend one budget."""
    env = {**os.environ, **TEST_SETTINGS, "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url, "POSTAL_WORKERS": "2",
           "POSTAL_RATELIMIT_STORAGE_URI": REDIS_URL, "POSTAL_RATELIMIT_KEY_PREFIX": redis_prefix}
    with ExitStack() as stack:
        first, second = stack.enter_context(worker(env)), stack.enter_context(worker(env))
        citizen = requests.Session()  # one browser, one address: 127.0.0.1
        token = csrf_token(citizen.get(f"{first}/track").text)  # the same secret key: both workers take it
        day = next_working_day().isoformat()

        def guess(n: int) -> int:
            code = f"000.00.22.H47-000000-{n:04d}"  # a new code each time: only the address's budget is spent
            base = (first, second)[n % 2]
            if n % 4 == 0:
                return citizen.post(f"{base}/api/v1/track", json={"code": code, "phone_last4": WRONG}).status_code
            if n % 4 == 1:
                return citizen.post(f"{base}/track", data={"code": code, "phone_last4": WRONG,
                                                           "csrf_token": token}).status_code
            if n % 4 == 2:
                return citizen.post(f"{base}/api/v1/delivery-requests",
                                    json={**delivery_body(code), "phone_last4": WRONG}).status_code
            return citizen.post(f"{base}/delivery", data={
                "code": code, "phone_last4": WRONG, "kind": "deliver_result", "ward_code": "06688",
                "street": "Số 15 đường Nguyễn Văn Cừ", "slot_date": day, "slot_period": "morning",
                "csrf_token": token}).status_code

        answers = [guess(n) for n in range(11)]
    assert answers[:10] == [404] * 10, answers
    assert answers[10] == 429  # the eleventh try in the minute, on whichever worker, from this address


def test_a_worker_whose_store_stops_answering_still_limits_and_fails_nothing(app, make, database_url):
    """Redis gone mid-day: the worker counts in its own memory until it is back, rather than answering 500."""
    env = {**os.environ, **TEST_SETTINGS, "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url,
           "POSTAL_RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{free_port()}"}  # nothing listens there
    with worker(env) as base:
        answers = [requests.post(f"{base}/api/v1/track", json={"code": f"000.00.22.H47-000000-{n:04d}",
                                                               "phone_last4": WRONG}, timeout=30).status_code
                   for n in range(11)]
    assert answers == [404] * 10 + [429]
