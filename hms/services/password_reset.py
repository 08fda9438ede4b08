"""Password reset by an emailed, single-use, expiring link. Only a SHA-256 of the token is stored:
a copy of the database cannot be used to reset anyone's password."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext
from sqlalchemy import delete, func, select, update

from hms import clock
from hms.extensions import db
from hms.i18n import N_, in_language_of
from hms.models import OutboxEmail, PasswordResetToken, User, UserSession
from hms.models.users import normalize_email
from hms.services import login_throttle, one_time, passwords
from hms.services.accounts import find_user_by_email
from hms.services.audit import record_event
from hms.services.errors import Invalid
from hms.services.notifications import public_url, send_account_email
from hms.services.outbox import enqueue_email
from hms.services.sessions import end_all_sessions

MAX_LINKS_PER_HOUR = 3  # per account, whatever the client address
QUEUED_KIND = "password_reset_request"  # an outbox row the worker turns into the email


class ResetLinkInvalid(Invalid):
    def __init__(self) -> None:
        super().__init__(N_("This link has expired or was already used. Ask for a new one."))


token_hash = one_time.hash_token


def request_password_reset(email: str) -> None:
    """Queue the request: one outbox row, whatever the address. The worker composes it when it sends
    (`compose_reset_email`), so asking for a real account and for an unknown address do exactly the same
    work here, and the answer (the same page) takes the same time. Flushes."""
    enqueue_email(to=normalize_email(email)[:254], subject="", body="", kind=QUEUED_KIND)
    db.session.flush()


def compose_reset_email(row: OutboxEmail) -> bool:
    """At sending time: make the link and the email for the queued request `row`, if an active account
    has its address and got fewer than MAX_LINKS_PER_HOUR links in the last hour; False (send nothing)
    otherwise. Earlier unused links stop working. Flushes."""
    user = find_user_by_email(row.to)
    if user is None or not user.active:
        return False
    now = clock.now()
    recent = db.session.scalar(
        select(func.count(PasswordResetToken.id)).where(
            PasswordResetToken.user_id == user.id,
            PasswordResetToken.created_at > now - timedelta(hours=1),
        )
    )
    if recent and recent >= MAX_LINKS_PER_HOUR:
        return False  # no mail bombing of one address from many client addresses
    db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    db.session.add(
        PasswordResetToken(
            user_id=user.id,
            token_hash=token_hash(token),
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
    )
    with in_language_of(user):
        row.subject = gettext("HMS: reset your password")
        row.body = (
            gettext("Hello %(name)s,", name=user.first_name)
            + "\n\n"
            + gettext(
                "Someone (we hope you) asked to reset the password of your HMS account. "
                "Open this link within %(num)d minutes to choose a new password:",
                num=minutes,
            )
            + f"\n\n{public_url('/reset-password/' + token)}\n\n"
            + gettext(
                "The link works once. If you did not ask for it, ignore this email: "
                "your password stays as it is."
            )
            + "\n"
        )
    row.kind, row.user_id, row.to = "password_reset", user.id, user.email
    record_event("request_password_reset", "user", user.id, user_id=user.id)
    db.session.flush()
    return True


def usable_token(token: str) -> PasswordResetToken:
    """The stored token for this link, if it can still be used; ResetLinkInvalid otherwise."""
    if not token or len(token) > 128:
        raise ResetLinkInvalid()
    row = db.session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == token_hash(token))
    )
    if row is None or not row.is_usable(clock.now()) or not row.user.active:
        raise ResetLinkInvalid()
    return row


def reset_password(token: str, new_password: str) -> User:
    """Set a new password with a reset link: uses the link up, unlocks the account and ends every
    other session (session_version). Flushes."""
    row = usable_token(token)
    user = row.user
    problem = passwords.password_problem(new_password, user.email)
    if problem:
        raise Invalid(problem, field="password")
    now = clock.now()
    if not one_time.use_once(PasswordResetToken, row.id, now):  # single use even when two requests race
        raise ResetLinkInvalid()
    user.password_hash = passwords.hash_password(new_password)
    user.session_version += 1
    login_throttle.forget_account(user.email)
    db.session.flush()
    end_all_sessions(user, reason="password")
    record_event("reset_password", "user", user.id, user_id=user.id)
    _tell_password_changed(
        user,
        N_(
            "The password of your HMS account was just changed with a reset link, and every session "
            "was logged out. If this was not you, reset it again at once and tell the hospital:"
        ),
    )
    return user


def change_password(user: User, current: str, new_password: str, *, keep: UserSession | None) -> None:
    """A logged-in user changes his password: he proves the current one; every other session ends
    (a thief's too), this one (`keep`) goes on; he gets an email. Flushes."""
    if not passwords.verify_password(user.password_hash, current):
        record_event("change_password_refused", "user", user.id, user_id=user.id)
        raise Invalid(N_("That is not your current password."), field="current")
    if new_password == current:
        raise Invalid(N_("Choose a password different from the current one."), field="password")
    problem = passwords.password_problem(new_password, user.email)
    if problem:
        raise Invalid(problem, field="password")
    user.password_hash = passwords.hash_password(new_password)
    db.session.flush()
    end_all_sessions(user, reason="password", keep=keep)
    record_event("change_password", "user", user.id, user_id=user.id)
    _tell_password_changed(
        user,
        N_(
            "The password of your HMS account was just changed, and your other sessions were logged "
            "out. If this was not you, choose a new password at once with this link and tell the hospital:"
        ),
    )


def _tell_password_changed(user: User, what_happened: str) -> None:
    with in_language_of(user):
        subject = gettext("HMS: your password was changed")
        body = (
            gettext("Hello %(name)s,", name=user.first_name)
            + "\n\n"
            + gettext(what_happened)
            + f"\n\n{public_url('/forgot-password')}\n"
        )
    send_account_email(user, "password_changed", subject, body)


def purge_old_tokens(older_than: timedelta = timedelta(days=7)) -> int:
    """Drop reset tokens that expired long ago (they are kept a while for the per-hour limit)."""
    result = db.session.execute(
        delete(PasswordResetToken)
        .where(PasswordResetToken.expires_at < clock.now() - older_than)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
