"""The language a user reads HMS in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hms.extensions import db
from hms.i18n import LANGUAGES, N_
from hms.services.errors import Invalid

if TYPE_CHECKING:
    from hms.models import User


def choose_language(user: User, code: str) -> None:
    """Remember `code` for `user`: his pages, notices and emails come in that language."""
    if code not in LANGUAGES:
        raise Invalid(N_("Choose one of the offered languages."), field="language")
    user.locale = code
    db.session.flush()
