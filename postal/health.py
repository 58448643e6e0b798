"""How the service is, for operators (/healthz): the database, the scheduler's leader, the outbox, the ledger.

One short read transaction, nothing written, no personal data: counts and ages only. The scheduler's leader
says it leads by writing its heartbeat (`beat`) every few seconds while it leads; a leader that died, hung
or lost the database stops beating, and its last beat grows old.

The ledger's "cursor lag" is how far the signed checkpoints trail the chain head: the events appended since
the latest checkpoint (`since_checkpoint`) and that checkpoint's age. The scheduler signs the head every minute
when it moved, so an idle chain keeps an old checkpoint with nothing after it, which is no lag at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from models import ChainHead, LedgerCheckpoint, OutboxMessage, SchedulerBeat
from models.outbox import OutboxState
from postal import db
from postal.config import Settings

BEAT = SchedulerBeat.__table__
OUTBOX = OutboxMessage.__table__
HEAD = ChainHead.__table__
CHECKPOINTS = LedgerCheckpoint.__table__
UNFINISHED = (OutboxState.PENDING, OutboxState.SENDING)


def beat(session: Session, leader: str, now: datetime) -> None:
    """The leading scheduler says it still leads (one row, replaced)."""
    with db.writing(session):
        if session.execute(update(BEAT).where(BEAT.c.id == 1).values(leader=leader, beat_at=now)).rowcount == 0:
            session.add(SchedulerBeat(id=1, leader=leader, beat_at=now))


@dataclass(frozen=True)
class Health:
    """What /healthz answers: `status` ok, degraded (something lags) or down (the database does not answer)."""

    status: str
    report: dict


def age(now: datetime, at: datetime | None) -> float | None:
    return None if at is None else round(max(0.0, (now - at).total_seconds()), 1)


def check(session: Session, settings: Settings, now: datetime) -> Health:
    """The service's health as of `now`; a database that does not answer is `down`, never an exception."""
    engine = session.get_bind().dialect.name
    try:
        report = read(session, settings, now)
    except SQLAlchemyError:
        return Health("down", {"status": "down", "database": {"ok": False, "engine": engine}})
    finally:
        db.end_reading(session)
    lagging = not report["scheduler"]["ok"] or not report["outbox"]["ok"]
    status = "degraded" if lagging else "ok"
    return Health(status, {"status": status, "database": {"ok": True, "engine": engine}, **report})


def read(session: Session, settings: Settings, now: datetime) -> dict:
    """Every figure of the report, in one read transaction."""
    leader = session.execute(select(BEAT.c.leader, BEAT.c.beat_at).where(BEAT.c.id == 1)).first()
    beat_s = age(now, leader.beat_at) if leader else None
    waiting = OUTBOX.c.state.in_(UNFINISHED)
    pending, oldest = session.execute(select(func.count(), func.min(OUTBOX.c.created_at))
                                      .where(waiting, OUTBOX.c.held_for_config.is_(None))).one()
    held = session.execute(select(func.count()).where(waiting, OUTBOX.c.held_for_config.is_not(None))).scalar_one()
    events = session.execute(select(HEAD.c.seq)).scalar() or 0
    last = session.execute(select(CHECKPOINTS.c.seq, CHECKPOINTS.c.made_at)
                           .order_by(CHECKPOINTS.c.seq.desc()).limit(1)).first()
    oldest_s = age(now, oldest)
    return {
        "scheduler": {"leader": leader.leader if leader else None, "last_beat_s": beat_s,
                      "ok": beat_s is not None and beat_s <= settings.health_beat_max_s},
        "outbox": {"pending": pending, "oldest_pending_s": oldest_s, "held_for_config": held,
                   "ok": oldest_s is None or oldest_s <= settings.health_outbox_max_s},
        "ledger": {"events": events, "last_checkpoint_s": age(now, last.made_at) if last else None,
                   "since_checkpoint": events - (last.seq if last else 0)},
    }
