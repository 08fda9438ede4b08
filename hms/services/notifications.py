"""Tell people about what concerns them: in-app notices (email and SMS build on this)."""

from __future__ import annotations

from hms.extensions import db
from hms.models import User
from hms.models.messaging import Notification


def notify(user: User, kind: str, text: str, link: str | None = None) -> Notification:
    """Record a notice for `user` in the caller's transaction (so it exists only if the change does)."""
    notice = Notification(user_id=user.id, kind=kind, text=text[:500], link=link)
    db.session.add(notice)
    return notice
