"""Generating runs: none that would end after working hours, and one day per write so others are not kept waiting."""

from __future__ import annotations

import pytest

import logging
from datetime import date, time

from click.testing import CliRunner
from sqlalchemy import event, func, select

from models import Run
from models.runs import RunTemplateIn
from postal import runs
from postal.cli import cli
from postal.clock import local, utcnow

WEDNESDAY = date(2026, 12, 2)
OFFICE_HOURS = {"opens_at": time(7, 30), "closes_at": time(17, 0)}


def office_hours_network(make) -> None:
    make.network()
    for code, kind in (("TTHCC", "center"), ("STP", "agency"), ("BD-TINH", "post_office")):
        make.site(code, kind, **OFFICE_HOURS)


def line(make, departs: str, name: str) -> None:
    runs.create_template(make.session, RunTemplateIn(name=name, departs=departs, stops=["TTHCC", "STP"], post_office="BD-TINH"),
                         actor=make.staff("admin"), now=utcnow())


def test_a_run_that_would_end_after_working_hours_is_not_generated_and_generation_says_so(make, database_url, caplog):
    office_hours_network(make)
    line(make, "08:00", "Tuyến sáng")
    line(make, "15:30", "Tuyến chiều")  # back well before 17:00 when saved
    post_office = make.site("BD-TINH", "post_office", opens_at=time(7, 30), closes_at=time(15, 0))  # hours cut later
    with caplog.at_level(logging.WARNING, logger="postal.runs"):
        created = runs.generate(make.session, WEDNESDAY, 3, utcnow())  # Wed, Thu, Fri
    assert created == 3  # the morning line only
    generated = make.session.execute(select(Run.name, Run.departs_at)).all()
    assert {name for name, _ in generated} == {"Tuyến sáng"}
    assert all(local(departs).time() == time(8, 0) for _, departs in generated)
    assert [(s.name, s.day) for s in created.skipped] == [("Tuyến chiều", WEDNESDAY.replace(day=d)) for d in (2, 3, 4)]
    assert created.skipped[0].breach.site.name == post_office.name and created.skipped[0].breach.returning
    assert "Tuyến chiều 15:30" in caplog.text and "15:00" in caplog.text
    result = CliRunner().invoke(cli, ["runs", "generate", "--date", WEDNESDAY.isoformat(), "--days", "3"],
                                env={"DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == "created 0 runs"
    assert lines[1].startswith("skipped 3 runs that would end outside working hours:")
    assert "Tuyến chiều 15:30 on 02/12/2026, 03/12/2026, 04/12/2026: back at Điểm BD-TINH" in result.output


@pytest.mark.parametrize(("chunk_s", "commits"), [(0.0, [{2}, {3}, {4}]), (60.0, [{2, 3, 4}])])
def test_generation_commits_whole_days_once_it_has_held_the_lock_long_enough(make, monkeypatch, chunk_s, commits):
    """A write per chunk of whole days: a commit as soon as the lock has been held CHUNK_S (then a scan batch
    waits for one chunk at most), and no day is ever split across commits."""
    from postal.runs import generation

    monkeypatch.setattr(generation, "CHUNK_S", chunk_s)
    make.network()
    line(make, "08:00", "Tuyến sáng")
    line(make, "14:00", "Tuyến chiều")
    days_per_commit: list[set[date]] = []
    pending: set[date] = set()

    def flushed(session, context):
        pending.update(obj.day for obj in session.new if isinstance(obj, Run))

    def committed(session):
        if pending:
            days_per_commit.append(set(pending))
            pending.clear()

    event.listen(make.session, "after_flush", flushed)
    event.listen(make.session, "after_commit", committed)
    try:
        assert runs.generate(make.session, WEDNESDAY, 5, utcnow()) == 6  # Wed, Thu, Fri; not the weekend
    finally:
        event.remove(make.session, "after_flush", flushed)
        event.remove(make.session, "after_commit", committed)
    assert days_per_commit == [{WEDNESDAY.replace(day=d) for d in days} for days in commits]
    assert make.session.execute(select(func.count()).select_from(Run)).scalar_one() == 6
