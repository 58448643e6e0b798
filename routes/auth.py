"""Who is calling: a bearer token for devices and integrations."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import current_app, g, request

from models import User
from postal import accounts
from postal.errors import Forbidden, NotAuthenticated
from routes.session import get_session


def token_user() -> User | None:
    """The user of the request's bearer token, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return accounts.user_for_token(get_session(), token.strip())


def current_actor() -> User:
    """The authenticated caller, or 401."""
    if "actor" not in g:
        g.actor = token_user()
    if g.actor is None:
        raise NotAuthenticated()
    return g.actor


def roles_required(*roles: str) -> Callable:
    """Refuse (403, logged) a caller whose role is not among these."""
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            actor = current_actor()
            if actor.role not in roles:
                current_app.logger.warning("403: %s (%s) refused %s %s", actor.username, actor.role, request.method, request.path)
                raise Forbidden(role=actor.role)
            return view(*args, **kwargs)
        return guarded
    return decorate
