"""The audit log of admin changes: every change to a template, an account, a token, a site, a procedure or a one-stop unit code, with who made
it, when, and the fields it changed as they were and as they are (never a password or a token)."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlmodel import Session

from models import AdminChange
from postal.clock import LOCAL_TZ, as_utc

OBJECT_TYPES = ("run_template", "user", "token", "site", "procedure", "onestop_unit")
PAGE = 200  # the newest changes a page shows at once


class Person(Protocol):
    id: int | None
    username: str


@dataclass(frozen=True)
class Shell:
    """Who changes something from the command line: no account, the system user who ran `postal`."""

    username: str
    id: None = None


def shell() -> Shell:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # a container user with no name
        name = "?"
    return Shell(f"postal CLI ({name})")


def differences(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the fields that changed, each side as it was and as it is."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def record(session: Session, by: Person | None, object_type: str, object_key: object, action: str, *,
           before: dict | None = None, after: dict | None = None, at: datetime) -> AdminChange:
    """Keep one change, inside the unit of work that makes it (the caller's `db.writing`)."""
    by = by or shell()
    change = AdminChange(at=at, actor_id=by.id, actor=by.username[:120], object_type=object_type,
                         object_key=str(object_key)[:64], action=action, before=before or None, after=after or None)
    session.add(change)
    return change


def changes(session: Session, *, object_type: str | None = None, object_key: str | None = None,
            since: date | None = None, until: date | None = None, limit: int = PAGE) -> list[AdminChange]:
    """The changes, newest first: of one kind of object (and one of them), between two local days included."""
    query = select(AdminChange).order_by(AdminChange.at.desc(), AdminChange.id.desc()).limit(limit)
    if object_type:
        query = query.where(AdminChange.object_type == object_type)
    if object_key:
        query = query.where(AdminChange.object_key == object_key.strip())
    if since is not None:
        query = query.where(AdminChange.at >= as_utc(datetime.combine(since, time(), tzinfo=LOCAL_TZ)))
    if until is not None:
        query = query.where(AdminChange.at < as_utc(datetime.combine(until + timedelta(days=1), time(), tzinfo=LOCAL_TZ)))
    return list(session.execute(query).scalars())
