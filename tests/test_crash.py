"""kill -9 in the middle of a scan batch's transaction: the batch is all there or not at all, the ledger
verifies, and the same batch sent again lands once. On either engine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from sqlalchemy import func, select

from models import CustodyEvent
from postal import db, ledger
from tests.conftest import ROOT, TEST_SETTINGS

BATCH = 200

# The batch recorded in a process of its own, which stops inside its transaction once the ledger's rows
# are written (and says so), so that the test kills it exactly there.
CHILD = """
import json, sys, time
from postal import db, ledger
from postal.clock import utcnow
from postal.config import Settings
from postal.custody import record_scans
from models import User
from sqlalchemy import select

real_write = ledger.write
def write_then_stop(*args, **kwargs):
    result = real_write(*args, **kwargs)
    print("written, not committed", flush=True)
    time.sleep(60)
    return result
ledger.write = write_then_stop

settings = Settings.from_env()
scans = json.loads(sys.stdin.read())
with db.session_for(settings) as session:
    courier = session.execute(select(User).where(User.username == "nva")).scalars().one()
    record_scans(session, scans, actor=courier, settings=settings, now=utcnow())
"""


def count_events(make) -> int:
    make.fresh()
    return make.session.execute(select(func.count()).select_from(CustodyEvent)).scalar_one()


def test_a_batch_killed_inside_its_transaction_leaves_nothing_and_is_sent_again_once(client, make, database_url):
    codes = [make.parcel() for _ in range(BATCH)]
    scans = [make.scan(code, "pickup", site="TTHCC") for code in codes]
    before = count_events(make)
    env = {**os.environ, **TEST_SETTINGS, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD], env=env, cwd=ROOT, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    child.stdin.write(json.dumps(scans))
    child.stdin.close()
    try:
        line = child.stdout.readline()
        assert line.strip() == "written, not committed", child.stderr.read()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)

    assert count_events(make) == before  # none of the batch: the rows written were never committed
    assert all(make.holder_of(code) == "TTHCC" for code in codes)
    engine = db.make_engine(database_url)
    with db.new_session(engine) as session:
        report = ledger.verify(session)
    engine.dispose()
    assert report.first_bad is None and report.count == before

    r = client.post("/api/v1/scans", json={"scans": scans}, headers=make.token("nva"))
    assert r.status_code == 200
    assert {res["status"] for res in r.get_json()["results"]} == {"accepted"}
    r = client.post("/api/v1/scans", json={"scans": scans}, headers=make.token("nva"))
    assert {res["status"] for res in r.get_json()["results"]} == {"duplicate"}
    assert count_events(make) == before + BATCH
    assert all(make.holder_of(code) == "nva" for code in codes)
