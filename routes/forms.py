"""The base of every page form: Flask-WTF's, with WTForms' own messages in the page's language.

WTForms ships no Vietnamese; ours is the `wtforms` domain in translations/vi, compiled with the rest. For
any other language WTForms' own catalogs answer (English is the messages' source)."""

from __future__ import annotations

from functools import cache

from babel.support import NullTranslations, Translations
from flask import current_app
from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms.i18n import messages_path


@cache
def catalog(directory: str, locale: str) -> NullTranslations:
    """WTForms' messages in `locale`: ours first, then WTForms' own."""
    theirs = Translations.load(messages_path(), [locale], domain="wtforms")
    ours = Translations.load(directory, [locale], domain="wtforms")
    if isinstance(ours, Translations):
        ours.add_fallback(theirs)
        return ours
    return theirs


class Form(FlaskForm):
    class Meta:
        def get_translations(self, form):
            directory = current_app.config["BABEL_TRANSLATION_DIRECTORIES"].split(";")[0]
            return catalog(directory, str(get_locale() or "vi"))
