"""Server-side login sessions: start, check on every request, end one, end the others, idle timeout."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import joinedload

from hms import clock
from hms.extensions import db
from hms.models import (
    Hospital,
    HospitalAdmin,
    Membership,
    MembershipStatus,
    Notification,
    Role,
    Staff,
    User,
    UserSession,
)
from hms.services.errors import NotFound

# last_seen is written at most this often (after the answer is made, hms/auth/session.py), so that the
# requests of a minute cost one UPDATE between them, and a page view otherwise writes nothing.
TOUCH_SECONDS = 60


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, *, ip: str | None, user_agent: str | None) -> tuple[UserSession, str]:
    """A new session for `user`; returns the row and the token for the browser's cookie. Flushes."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    row = UserSession(
        token_hash=_hash(token),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        ip=(ip or "")[:45] or None,
        user_agent=(user_agent or "")[:255] or None,
        idle_minutes=idle_minutes(user),
    )
    db.session.add(row)
    db.session.flush()
    return row, token


def _profile(role: str | None) -> list:  # type: ignore[type-arg]
    """The joined loads of a role's profile (and hospital); every role's when it is not known."""
    profiles = {
        Role.patient.value: [joinedload(User.patient)],
        Role.doctor.value: [joinedload(User.doctor)],
        Role.staff.value: [joinedload(User.staff).joinedload(Staff.hospital)],
        Role.hospital_admin.value: [joinedload(User.hospital_admin).joinedload(HospitalAdmin.hospital)],
        Role.super_admin.value: [],
    }
    return profiles.get(role or "", [option for options in profiles.values() for option in options])


# The statement of `find_session` per role (None: any role), with or without the bell's count and with
# or without the profile, built once per process: building its joined loads took a tenth of the CPU
# time of a small page. The token's hash is its only parameter.
_FIND_SESSION: dict[tuple[str | None, bool, bool], object] = {}
_ROLES = frozenset(role.value for role in Role)


def _find_session_statement(role: str | None, unread: bool, profile: bool = True):  # type: ignore[no-untyped-def]
    key = (role if role in _ROLES else None, unread, profile)
    statement = _FIND_SESSION.get(key)
    if statement is None:
        statement = (
            select(UserSession)
            .where(UserSession.token_hash == bindparam("token_hash"))
            .options(joinedload(UserSession.user).options(*(_profile(key[0]) if profile else [])))
        )
        if unread:
            statement = statement.add_columns(
                select(func.count(Notification.id))
                .where(Notification.user_id == UserSession.user_id, Notification.read_at.is_(None))
                .scalar_subquery()
            )
        _FIND_SESSION[key] = statement
    return statement


def find_session(
    token: str | None, role: str | None = None, *, unread: bool = False, profile: bool = True
) -> tuple[UserSession, int | None] | None:
    """The session of the cookie's token, with its user and his role's profile (and hospital), in one
    statement: every signed-in request starts with this and reads neither again. `role` (kept in the
    signed cookie at login) narrows the statement to that role's profile: fewer columns to read.
    Without `profile`, the profile is left out (a request known not to use it; were it used, it would
    be read then). With `unread`, the same statement counts his unread notifications (the bell of a
    full page, or the bell's poll: one round trip fewer); else the count is None."""
    if not token or not isinstance(token, str) or len(token) > 128:
        return None
    statement = _find_session_statement(role, unread, profile)
    found = db.session.execute(statement, {"token_hash": _hash(token)}).first()
    if found is None:
        return None
    return found[0], (found[1] if unread else None)


def idle_minutes(user: User) -> int:
    """How long this user may stay idle: his hospital's setting; a doctor at several hospitals gets
    the strictest of them; patients, platform admins and doctors without a hospital the platform's."""
    default = current_app.config["IDLE_TIMEOUT_MINUTES"]
    if user.role == Role.hospital_admin and user.hospital_admin is not None:
        return user.hospital_admin.hospital.idle_timeout_minutes
    if user.role == Role.staff and user.staff is not None:
        return user.staff.hospital.idle_timeout_minutes
    if user.role == Role.doctor and user.doctor is not None:
        strictest = db.session.scalar(
            select(func.min(Hospital.idle_timeout_minutes))
            .join(Membership, Membership.hospital_id == Hospital.id)
            .where(Membership.doctor_id == user.doctor.id, Membership.status == MembershipStatus.active)
        )
        return strictest or default
    return default


def idle_logout_on() -> bool:
    return bool(current_app.config["IDLE_LOGOUT"])


def _idle_limit(row: UserSession, user: User) -> timedelta:
    """The session's idle time: kept on the row (set at login, renewed at each touch), so that checking
    it costs no query; a row from before that column is computed."""
    return timedelta(minutes=row.idle_minutes or idle_minutes(user))


def seconds_left(row: UserSession, user: User, *, last_seen=None) -> int:  # type: ignore[no-untyped-def]
    deadline = (last_seen or row.last_seen_at) + _idle_limit(row, user)
    return max(0, int((deadline - clock.now()).total_seconds()))


def check_session(row: UserSession | None, user: User) -> str | None:
    """None when the session may go on, else why it ended: "missing", or the reason it ended with. An
    idle session is ended here (flushed; the caller commits). Reads and writes nothing else."""
    if row is None or row.user_id != user.id:
        return "missing"
    if row.ended_at is not None:
        return row.ended_reason or "ended"
    now = clock.now()
    if idle_logout_on() and now - row.last_seen_at >= _idle_limit(row, user):
        _end(row, "idle", now)
        return "idle"
    return None


def touch_due(row: UserSession) -> bool:
    return (clock.now() - row.last_seen_at).total_seconds() >= TOUCH_SECONDS


def touch_session(row: UserSession) -> None:
    """Count now as activity, whenever the last was, and renew the session's idle time. Flushes."""
    row.last_seen_at = clock.now()
    row.idle_minutes = idle_minutes(row.user)
    db.session.flush()


def touch_later(session_id: int) -> None:
    """The deferred touch of a request (hms/auth/session.py), in a transaction of its own. Commits."""
    row = db.session.get(UserSession, session_id)
    if row is None:
        return
    db.session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.ended_at.is_(None))
        .values(last_seen_at=clock.now(), idle_minutes=idle_minutes(row.user))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _end(row: UserSession, reason: str, now=None) -> None:  # type: ignore[no-untyped-def]
    row.ended_at = now or clock.now()
    row.ended_reason = reason
    db.session.flush()


def end_session(user: User, session_id: int, *, reason: str = "ended") -> UserSession:
    """End one of the user's own sessions; another user's id is NotFound. Flushes."""
    row = db.session.get(UserSession, session_id)
    if row is None or row.user_id != user.id:
        raise NotFound("There is no such session.")
    if row.ended_at is None:
        _end(row, reason)
    return row


def end_all_sessions(user: User, *, reason: str, keep: UserSession | None = None) -> int:
    """End every open session of the user except `keep`; returns how many ended. Flushes."""
    query = (
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=clock.now(), ended_reason=reason)
    )
    if keep is not None:
        query = query.where(UserSession.id != keep.id)
    count = db.session.execute(query.execution_options(synchronize_session=False)).rowcount
    db.session.flush()
    db.session.expire_all()
    return count


def list_sessions(user: User, limit: int = 20) -> list[UserSession]:
    """The user's open sessions (not yet idle too long), most recently active first."""
    open_rows = db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        .limit(limit)
    ).all()
    if not idle_logout_on():
        return list(open_rows)
    return [row for row in open_rows if seconds_left(row, user) > 0]
