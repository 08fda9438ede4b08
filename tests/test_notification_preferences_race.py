"""Saving notification preferences from two sessions at once: no unique-key 500, one row per kind."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hms.extensions import db
from hms.models import NotificationPreference, User
from hms.services import notifications
from hms.services.notifications import Channels
from tests.concurrency import run_at_once

pytestmark = pytest.mark.concurrency


def test_two_sessions_saving_preferences_at_once_both_succeed(app, make):
    user = make.patient()
    kinds = [k.key for k in notifications.kinds_for(user.role)][:3]

    def save(email: bool):  # type: ignore[no-untyped-def]
        def job():  # type: ignore[no-untyped-def]
            notifications.set_preferences(
                db.session.get(User, user.id), {k: Channels(email=email, sms=False) for k in kinds}
            )
            db.session.commit()

        return job

    assert run_at_once(app, [save(True), save(False), save(True)]) == ["done"] * 3
    db.session.rollback()
    rows = db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user.id)
    ).all()
    assert sorted(r.kind for r in rows) == sorted(kinds)
    assert len({r.email for r in rows}) == 1  # all from the one save that came last
    assert db.session.scalar(select(func.count(NotificationPreference.id))) == len(kinds)
