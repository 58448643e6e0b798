"""One database session per request, closed when the request ends."""

from __future__ import annotations

from flask import current_app, g
from sqlmodel import Session

from postal.config import Settings
from postal.db import new_session


def get_session() -> Session:
    if "db" not in g:
        g.db = new_session(current_app.extensions["postal.engine"])
    return g.db


def close_session(exc: BaseException | None = None) -> None:
    if (db := g.pop("db", None)) is not None:
        db.close()  # drops what a failed request left uncommitted


def settings() -> Settings:
    return current_app.extensions["postal.settings"]
