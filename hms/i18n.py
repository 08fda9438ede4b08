"""Locale choice: the user's saved language, then a cookie, then the browser's."""

from __future__ import annotations

from flask import request
from flask_login import current_user

LANGUAGES = {"en": "English", "es": "Español", "ar": "العربية"}


def select_locale() -> str | None:
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    cookie = request.cookies.get("locale")
    if cookie in LANGUAGES:
        return cookie
    return request.accept_languages.best_match(LANGUAGES.keys()) or "en"


def N_(text: str) -> str:
    """Mark a string for translation where it is defined (form labels, enum labels); it is translated
    where it is shown, e.g. `{{ _(field.label.text) }}` in templates/_form.html."""
    return text
