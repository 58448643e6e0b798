"""What every part of runs shares: the rules' constants, the tables, a run's names and the manifests' lock."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session

from models import (
    ManifestEntry,
    Parcel,
    Run,
    RunState,
    RunStop,
    SiteKind,
)
from postal import db, labels, ledger
from postal.clock import local
from postal.errors import (
    N_,
    NotFound,
    Phrase,
)

CUTOFF = timedelta(minutes=15)  # the manifest freezes this long before departure
START_WINDOW = timedelta(minutes=30)  # a run starts this long before its departure at the earliest (a setting)
RUN_PREFIX = "CH"  # chuyến: the run's reference is S10-shaped, so its QR is signed like a label
HUB_KINDS = {SiteKind.CENTER, SiteKind.COMMUNE_CENTER}
CHUNK = 5000  # bound on IN-list parameters per statement
RESEQ = 100_000  # stops are renumbered through this offset, so (run_id, seq) stays unique at every step
MAX_ID = 2**31 - 1  # a larger id from a device or a URL would break the query on PostgreSQL, not just miss

RUNS = Run.__table__
STOPS = RunStop.__table__
ENTRIES = ManifestEntry.__table__
PARCELS = Parcel.__table__
STATE_NAMES = {
    RunState.PLANNED: N_("chưa bắt đầu"),
    RunState.STARTED: N_("đang chạy"),
    RunState.CLOSED: N_("đã kết thúc"),
}


def chunks(items: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def run_code(run_id: int) -> str:
    """The run's printed reference, e.g. CH00000123?VN (S10 shape, check digit included)."""
    return labels.make_code(RUN_PREFIX, run_id)


def run_label(run: Run) -> str:
    """How messages name a run: its number, line and departure."""
    return f"{run.id} ({run.name}, {local(run.departs_at):%H:%M %d/%m})"


@contextmanager
def manifest_write(session: Session) -> Iterator[None]:
    """A unit of work that holds the chain-head lock every scan batch takes: manifests change one writer at a
    time. Inside a scan batch's unit (which holds the lock already) it joins it."""
    with db.writing(session):
        ledger.lock_head(session)
        yield


def reload(session: Session, run_id: int) -> Run:
    """The run as the database has it now (sessions here keep objects across commits)."""
    if not 0 < run_id <= MAX_ID:
        raise NotFound(what=Phrase(N_("chuyến")), code=run_id)
    run = session.execute(select(Run).where(Run.id == run_id).execution_options(populate_existing=True)).scalars().first()
    if run is None:
        raise NotFound(what=Phrase(N_("chuyến")), code=run_id)
    return run
