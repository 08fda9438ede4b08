"""Loading the logged-in user (checking his server-side session) and checking his role."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, current_app, flash, g, request, session
from flask_login import current_user

from hms import clock
from hms.database import first_read
from hms.extensions import db, login_manager
from hms.htmx import is_htmx
from hms.i18n import N_
from hms.models import Role, User
from hms.services import notifications, sessions

# The key in the signed session cookie that holds the server-side session's token, and the one that
# holds the user's role (so that the first statement of a request reads only that role's profile).
SESSION_KEY = "_sid"
ROLE_KEY = "_role"

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
    """The user of the cookie, by his server-side session: one statement reads the session, the user
    and his profile. Nothing is written, except ending an idle session; the session's last activity is
    written after the answer, at most once a minute and never for a background poll (`touch_after`)."""
    try:
        raw_id, raw_version = user_id.split(":", 1)
        uid, version = int(raw_id), int(raw_version)
    except ValueError:
        return None
    token, role = session.get(SESSION_KEY), session.get(ROLE_KEY)
    counting, profile = _shows_the_bell(), _uses_the_profile()
    found = first_read(
        lambda: sessions.find_session(
            token, role if isinstance(role, str) else None, unread=counting, profile=profile
        )
    )
    row, unread = found if found is not None else (None, None)
    user = row.user if row is not None else None
    if user is None or user.id != uid or not user.active or user.session_version != version:
        return None
    ended = sessions.check_session(row, user)
    if ended is not None:
        db.session.commit()  # an idle session is ended for good
        session.clear()
        if ended == "idle":
            flash(IDLE_MESSAGE, "info")
        elif ended != "missing":
            flash(ENDED_MESSAGE, "info")
        return None
    g.user_session = row
    if unread is not None:
        g.unread_at_start = (user.id, unread)
    touching = not is_background_request() and sessions.touch_due(row)
    if touching:
        g.touch_session = row.id
    if sessions.idle_logout_on():
        g.idle_seconds_left = sessions.seconds_left(row, user, last_seen=clock.now() if touching else None)
    return user


# Fragments asked for over and over that never use the signed-in user's profile (his patient, doctor,
# staff or administrator row): the bell's poll, the doctor search's results and the slot picker's days.
# The session's statement leaves the profile out for them (nineteen columns and an object fewer for a
# patient); their full pages draw the shell, which uses it. Were one of them to use it, it would be read
# then, one statement more, which their statement budgets (tests/test_query_budgets.py) would show.
PROFILE_FREE_FRAGMENTS = frozenset({"notifications.bell", "patient.find_doctors", "patient.doctor_page"})


def _uses_the_profile() -> bool:
    return not (
        request.method == "GET"
        and request.endpoint in PROFILE_FREE_FRAGMENTS
        and (is_htmx() or request.endpoint == "notifications.bell")
    )


def _shows_the_bell() -> bool:
    """Whether this request will show the bell's count: a full page (GET, not an HTMX fragment) or the
    bell's own poll. Such a request reads the count with the session (`bell_count`). A GET writes
    nothing but its audit event, so the count read first is still the count when the page is drawn."""
    if request.method != "GET":
        return False
    return request.endpoint == "notifications.bell" or not is_htmx()


def bell_count(user: User) -> int:
    """The bell's number of unread notifications: the one read with the session when this request
    asked for it (`_shows_the_bell`), else counted now."""
    known = g.get("unread_at_start")
    if known is not None and known[0] == user.id:
        return known[1]
    return notifications.unread_count(user)


def touch_after(_error: BaseException | None = None) -> None:
    """At the end of the request (after its own session is closed): write the deferred touch in a
    transaction of its own; a failure is logged, the answer has gone already."""
    session_id = g.pop("touch_session", None)
    if session_id is None:
        return
    try:
        sessions.touch_later(session_id)
    except Exception:  # noqa: BLE001
        current_app.logger.warning("could not record the session's activity", exc_info=True)
        db.session.rollback()
    finally:
        db.session.remove()


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
