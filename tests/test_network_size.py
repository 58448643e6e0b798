"""A national network (thousands of sites and staff) must not slow every scan: a scan reads only the rows it
names, whatever the size of the site, staff, token, procedure and template tables."""

from __future__ import annotations

import re

from sqlalchemy import event, insert

from models import Site, User
from postal import db
from postal.clock import utcnow

WHOLE_TABLE = re.compile(r"\bFROM\s+(site|user_account|api_token|procedure|run_template)\b(?![^;]*\bWHERE\b)", re.I | re.S)


def statements_of_a_scan(make, monkeypatch, code: str, action: str, **kw) -> list[str]:
    """The SQL one scan over the API sends: through SQLAlchemy, and straight to the driver (db.raw, the hot path)."""
    seen: list[str] = []
    engine = make.app.extensions["postal.engine"]

    def note(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    def spy(original):
        def call(session, sql, *args):
            seen.append(sql)
            return original(session, sql, *args)
        return call

    with monkeypatch.context() as m:
        m.setattr(db, "raw", spy(db.raw))
        m.setattr(db, "executemany", spy(db.executemany))
        event.listen(engine, "before_cursor_execute", note)
        try:
            make.scan_as("nva", code, action, **kw)
        finally:
            event.remove(engine, "before_cursor_execute", note)
    return seen


def grow_to_a_country(make, n: int = 4000) -> None:
    """n more commune centers, each with a clerk: the size of Vietnam's network, give or take."""
    make.session.execute(insert(Site), [{"code": f"XA{i:05d}", "kind": "commune_center", "name": f"Trung tâm xã {i}",
                                         "address": ""} for i in range(n)])
    make.session.commit()
    ids = dict(make.session.execute(Site.__table__.select().with_only_columns(Site.code, Site.id)).all())
    make.session.execute(insert(User), [{"username": f"vt.xa{i:05d}", "full_name": f"Văn thư {i}", "role": "postal_clerk",
                                         "site_id": ids[f"XA{i:05d}"], "password_hash": "x", "active": True, "created_at": utcnow()}
                                        for i in range(n)])
    make.session.commit()


def test_a_scan_reads_no_more_in_a_country_than_in_a_province(make, monkeypatch):
    first, small, large = make.parcel(), make.parcel(), make.parcel()
    make.scan_as("nva", first, "pickup")  # the token's first use is noted once; the scans counted are like the rest
    province = statements_of_a_scan(make, monkeypatch, small, "pickup")
    grow_to_a_country(make)
    country = statements_of_a_scan(make, monkeypatch, large, "pickup")
    assert province and len(country) == len(province), (province, country)
    assert [s for s in country if WHOLE_TABLE.search(s)] == []


def statements_of(make, call) -> list[str]:
    """The SQL a domain call sends through SQLAlchemy."""
    seen: list[str] = []
    engine = make.app.extensions["postal.engine"]

    def note(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen


def test_a_runs_papers_read_the_sites_and_staff_they_name_not_the_network(make):
    from postal import runs
    from tests.test_runs import WEDNESDAY, at, nva_run_and_accepted_parcel, scan

    run, code = nva_run_and_accepted_parcel(make)
    scan(make, "nva", code, "pickup", at(WEDNESDAY, 10, 31), site="TTHCC", run=run.id)
    grow_to_a_country(make)
    make.session.expire_all()
    for paper in (lambda: runs.manifest_document(make.session, run.id, label_key=make.settings.label_key),
                  lambda: runs.run_sheet(make.session, run.id)):
        sent = statements_of(make, paper)
        assert sent and [s for s in sent if WHOLE_TABLE.search(s)] == []
    manifest = runs.manifest_document(make.session, run.id, label_key=make.settings.label_key)
    assert code in str(manifest)  # still the whole paper
