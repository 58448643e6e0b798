"""Language: Vietnamese first, English when the browser or the user asks for it."""

from __future__ import annotations

from flask import request, session
from flask_babel import gettext

from postal.errors import Phrase, PostalError

LANGUAGES = ("vi", "en")


def pick_locale() -> str:
    """The user's chosen language, else the browser's preference, else Vietnamese."""
    chosen = session.get("lang") if request else None
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES, default="vi") if request else "vi"


def render(value: object) -> object:
    """Translate a Phrase (and the phrases inside it); other values pass through."""
    if isinstance(value, Phrase):
        return gettext(value.text) % {k: render(v) for k, v in value.params.items()} if value.params else gettext(value.text)
    return value


def message_of(err: PostalError) -> str:
    """The error's message in the request's language."""
    text = gettext(err.message)
    return text % {k: render(v) for k, v in err.params.items()} if err.params else text
