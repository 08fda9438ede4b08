"""Loading the logged-in user (checking his server-side session) and checking his role."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, g, request, session
from flask_login import current_user

from hms.extensions import db, login_manager
from hms.i18n import N_
from hms.models import Role, User
from hms.services import sessions

# The key in the signed session cookie that holds the server-side session's token.
SESSION_KEY = "_sid"

# Requests that a page makes by itself (polling) do not count as activity: they must not keep an
# idle session alive. htmx polls are marked by static/js/app.js with this header; these endpoints
# poll without htmx or are polled only.
BACKGROUND_HEADER = "HMS-Background"
BACKGROUND_ENDPOINTS = {
    ("GET", "notifications.bell"),
    ("GET", "consult.new_messages"),
    ("GET", "consult.signals"),
}


def is_background_request() -> bool:
    return (
        request.headers.get(BACKGROUND_HEADER) == "1"
        or (request.method, request.endpoint) in BACKGROUND_ENDPOINTS
    )


IDLE_MESSAGE = N_("You were logged out after a time without activity. Log in again.")
ENDED_MESSAGE = N_("This session was ended. Log in again.")


def load_user(user_id: str) -> User | None:
    try:
        raw_id, raw_version = user_id.split(":", 1)
        uid, version = int(raw_id), int(raw_version)
    except ValueError:
        return None
    user = db.session.get(User, uid)
    if user is None or not user.active or user.session_version != version:
        return None
    row = sessions.find_session(session.get(SESSION_KEY))
    ended = sessions.check_session(row, user, touch=not is_background_request())
    db.session.commit()  # the first thing a request does (see hms/__init__.py): nothing else to commit
    if ended is not None:
        session.clear()
        if ended == "idle":
            flash(IDLE_MESSAGE, "info")
        elif ended != "missing":
            flash(ENDED_MESSAGE, "info")
        return None
    g.user_session = row
    if sessions.idle_logout_on():
        g.idle_seconds_left = sessions.seconds_left(row, user)
    return user


def role_required(*roles: Role) -> Callable[[], None]:
    """A before_request hook for a blueprint: log in first, then be one of `roles` (else 403)."""

    def check() -> None:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.role not in roles:
            abort(403)
        return None

    return check


def dashboard_endpoint(role: Role) -> str:
    return {
        Role.patient: "patient.dashboard",
        Role.doctor: "doctor.dashboard",
        Role.hospital_admin: "hospital_admin.dashboard",
        Role.super_admin: "super_admin.dashboard",
        Role.staff: "staff.dashboard",
    }[role]
