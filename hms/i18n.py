"""Languages: the locale choice (the user's saved language, then a cookie, then the browser's) and
the language switcher every page carries (POST /language)."""

from __future__ import annotations

import functools

from flask import Blueprint, abort, current_app, has_request_context, redirect, request
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField

from hms.redirects import local_target

LANGUAGES = {"en": "English", "es": "Español", "ar": "العربية"}
RIGHT_TO_LEFT = {"ar"}
COOKIE = "locale"
COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest a browser keeps a cookie (RFC 6265bis)


def N_(message: str) -> str:
    """Mark a string for translation where it is defined; it is translated where it is shown."""
    return message


def select_locale() -> str | None:
    if not has_request_context():
        return None  # CLI and workers: the default (English) unless force_locale says otherwise
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    cookie = request.cookies.get(COOKIE)
    if cookie in LANGUAGES:
        return cookie
    return request.accept_languages.best_match(LANGUAGES.keys()) or "en"


def locale_code() -> str:
    """The reader's language as text ("en", "es", "ar"). A page asks for it dozens of times (each
    amount, moment and day it formats): the request's chosen locale is read straight from Flask-Babel's
    context when it is there (as `get_locale` itself does first; `force_locale` changes that same
    attribute, so an email in another language still gets its own), and spelled out once per locale."""
    from flask import g
    from flask_babel import get_locale

    try:
        context = g._flask_babel
        locale = context.babel_locale
    except (AttributeError, RuntimeError):  # not chosen yet in this request, or no app context
        locale = get_locale()
        return _locale_text(locale) if locale is not None else "en"
    # The text of the request's locale object, kept beside it: compared by identity, not by Babel's
    # Locale.__eq__ (five hasattr calls and more on every lookup of a cache keyed by the locale).
    cached = getattr(context, "hms_locale_code", None)
    if cached is not None and cached[0] is locale:
        return cached[1]
    text = _locale_text(locale) if locale is not None else "en"
    context.hms_locale_code = (locale, text)
    return text


@functools.lru_cache(maxsize=64)
def _locale_text(locale) -> str:  # type: ignore[no-untyped-def]
    return str(locale)


@functools.lru_cache(maxsize=8)
def wtforms_translations(locale: str):  # type: ignore[no-untyped-def]
    """WTForms' own messages in `locale`, read from disk once per process. Flask-WTF would read and parse
    the catalog again on every request that builds a form (a twentieth of the slot picker's time)."""
    from babel import support
    from wtforms.i18n import messages_path

    return support.Translations.load(messages_path(), [locale], domain="wtforms")


def share_wtforms_translations() -> None:
    """Give Flask-WTF the cached catalog for this request (it looks for it on the request first)."""
    request.wtforms_translations = wtforms_translations(locale_code())


def text_direction(locale: object) -> str:
    return "rtl" if str(locale or "en") in RIGHT_TO_LEFT else "ltr"


class LanguageForm(FlaskForm):
    language = SelectField(N_("Language"), choices=list(LANGUAGES.items()))
    next = HiddenField()


bp = Blueprint("language", __name__)


@bp.post("/language")
def choose_language():
    from hms.extensions import db
    from hms.services.languages import choose_language as remember

    form = LanguageForm()
    if not form.validate_on_submit():  # a missing token is CSRFError's 400; an unknown language too
        abort(400)
    code = form.language.data
    if current_user.is_authenticated:
        remember(current_user, code)
        db.session.commit()
    response = redirect(local_target(form.next.data) or "/", code=303)
    response.set_cookie(
        COOKIE,
        code,
        max_age=COOKIE_MAX_AGE,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


def in_language_of(user: object):  # type: ignore[no-untyped-def]
    """`with in_language_of(user):` — texts made inside (notices, emails) are in the user's language."""
    from flask_babel import force_locale

    locale = getattr(user, "locale", None)
    return force_locale(locale if locale in LANGUAGES else "en")
