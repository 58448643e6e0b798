"""Prometheus metrics for operators (/metrics), through prometheus_client and only through this module.

gunicorn serves with several worker processes and the scheduler is a process of its own: `postal up` and
`postal serve` give them one folder (PROMETHEUS_MULTIPROC_DIR, POSTAL_METRICS_DIR in the settings) where each
process keeps its counters in files, and a scrape of any worker adds up every process's. Without the folder
(tests, a command run alone) the counts stay in the process. The instruments are made on first use, never at
import: a process that imported this module before the folder was named (gunicorn's master) has made none.

The outbox's depth is counted at scrape time from the database: the messages not yet sent, by channel and
state (`held`: kept back for a configuration fault).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess, values
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import case, func, select
from sqlmodel import Session

from models import OutboxMessage
from models.outbox import OutboxState
from postal import db

CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST
OUTBOX = OutboxMessage.__table__


@cache
def instruments() -> dict[str, Counter | Histogram]:
    return {
        "scans": Counter("postal_scans", "Scans answered, by action, outcome (accepted or rejected) and the "
                         "refusal's code (duplicate: accepted before, nothing written)",
                         ["action", "outcome", "reason"], registry=None),
        "request": Histogram("postal_request_seconds", "Time to answer a request, by endpoint and method",
                             ["endpoint", "method"], registry=None),
        "sweep": Histogram("postal_sweep_seconds", "Time the watch's sweep takes (the scheduler's job)",
                           registry=None, buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)),
    }


def use_folder(folder: Path) -> None:
    """This process and those it forks keep their metrics in `folder` (named in PROMETHEUS_MULTIPROC_DIR by
    the caller): prometheus_client chose its storage when first imported, so it chooses again."""
    if instruments.cache_info().currsize:
        raise RuntimeError("metrics were counted in memory before their folder was named")
    values.ValueClass = values.get_value_class()


def mark_dead(pid: int, folder: Path) -> None:
    """A worker that ended: its live gauges no longer count (gunicorn's child_exit)."""
    multiprocess.mark_process_dead(pid, str(folder))


def count_scans(outcomes: Iterable[tuple[str | None, str, str]]) -> None:
    """Each scan's (action, status, refusal code) as the batch answered it, once the batch is committed."""
    scans = instruments()["scans"]
    for action, status, code in outcomes:
        outcome = "rejected" if status == "rejected" else "accepted"
        reason = code if status == "rejected" else ("duplicate" if status == "duplicate" else "")
        scans.labels(action or "unknown", outcome, reason).inc()


def observe_request(endpoint: str, method: str, seconds: float) -> None:
    instruments()["request"].labels(endpoint, method).observe(seconds)


@contextmanager
def sweep_timer() -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        instruments()["sweep"].observe(time.perf_counter() - start)


def outbox_depth(session: Session) -> GaugeMetricFamily:
    """The unsent messages by channel and state, in one read (the outbox's partial index holds only these)."""
    state = case((OUTBOX.c.held_for_config.is_not(None), "held"), else_=OUTBOX.c.state)
    rows = session.execute(select(OUTBOX.c.channel, state, func.count())
                           .where(OUTBOX.c.state.in_((OutboxState.PENDING, OutboxState.SENDING)))
                           .group_by(OUTBOX.c.channel, state)).all()
    db.end_reading(session)  # a scrape writes nothing and holds no snapshot
    gauge = GaugeMetricFamily("postal_outbox_depth", "Messages waiting in the outbox, by channel and state "
                              "(pending, sending, held for a configuration fault)", labels=["channel", "state"])
    for channel, shown, count in rows:
        gauge.add_metric([channel, shown], count)
    return gauge


class Fixed:
    """A collector of metric families already made (the outbox's depth of this scrape)."""

    def __init__(self, *families: GaugeMetricFamily) -> None:
        self.families = families

    def collect(self):
        return iter(self.families)


def exposition(session: Session, folder: Path | None) -> bytes:
    """The Prometheus text of every process's metrics (the folder's files) or of this one's, and the outbox."""
    registry = CollectorRegistry()
    if folder is not None:
        multiprocess.MultiProcessCollector(registry, path=str(folder))
    else:
        for instrument in instruments().values():
            registry.register(instrument)
    registry.register(Fixed(outbox_depth(session)))
    return prometheus_client.generate_latest(registry)
