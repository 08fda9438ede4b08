"""Personal API tokens and calendar-feed tokens: create, revoke, rotate, and find the user of one.

A token is 32 random bytes (URL-safe base64) behind a short prefix that says what it is for
(`hms_` for the API, `cal_` for feeds). Only its SHA-256 is stored, so the secret is shown once."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from hms import clock
from hms.extensions import db
from hms.models import ApiToken, HospitalAdmin, Role, Staff, TokenKind, User
from hms.services.errors import Invalid, NotFound

PREFIX = {TokenKind.api: "hms_", TokenKind.calendar: "cal_", TokenKind.display: "wall_"}
MAX_ACTIVE_API_TOKENS = 10
EXPIRY_CHOICES = (0, 30, 90, 365)  # days; 0 = never
FEED_ROLES = (Role.patient, Role.doctor)
LAST_USED_RESOLUTION = timedelta(minutes=1)  # do not write on every request


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret(kind: TokenKind) -> str:
    return PREFIX[kind] + secrets.token_urlsafe(32)


def active_tokens(user: User, kind: TokenKind = TokenKind.api, now: datetime | None = None) -> list[ApiToken]:
    now = now or clock.now()
    rows = db.session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.kind == kind, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all()
    return [row for row in rows if row.is_valid(now)]


def create_api_token(user: User, name: str, expires_in_days: int = 0) -> tuple[ApiToken, str]:
    """A new API token for `user`; returns the row and the secret (shown once, never stored)."""
    name = " ".join((name or "").split())
    if not name:
        raise Invalid(_l("Give the token a name, such as the program that will use it."), "name")
    if len(name) > 80:
        raise Invalid(_l("Use at most 80 characters."), "name")
    if expires_in_days not in EXPIRY_CHOICES:
        raise Invalid(_l("Choose one of the offered expiry periods."), "expires")
    if len(active_tokens(user)) >= MAX_ACTIVE_API_TOKENS:
        raise Invalid(_l("You have 10 tokens already: revoke one you no longer use first."), "name")
    now = clock.now()
    secret = _new_secret(TokenKind.api)
    row = ApiToken(
        user_id=user.id,
        kind=TokenKind.api,
        name=name,
        token_hash=hash_token(secret),
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    db.session.add(row)
    db.session.flush()
    return row, secret


def revoke_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens (someone else's, or an unknown id, is NotFound)."""
    row = db.session.get(ApiToken, token_id) if 0 < token_id <= 2**31 - 1 else None
    if row is None or row.user_id != user.id:
        raise NotFound(_l("No such token."))
    if row.revoked_at is None:
        row.revoked_at = clock.now()
    return row


def rotate_calendar_feed(user: User) -> tuple[ApiToken, str]:
    """A new secret feed address for a patient or doctor; every older one stops working."""
    if user.role not in FEED_ROLES:
        raise Invalid(_l("Only patients and doctors have a calendar feed."))
    revoke_calendar_feed(user)
    now = clock.now()
    secret = _new_secret(TokenKind.calendar)
    row = ApiToken(
        user_id=user.id,
        kind=TokenKind.calendar,
        name="Calendar feed",
        token_hash=hash_token(secret),
        created_at=now,
    )
    db.session.add(row)
    db.session.flush()
    return row, secret


def revoke_calendar_feed(user: User) -> None:
    db.session.execute(
        update(ApiToken)
        .where(
            ApiToken.user_id == user.id,
            ApiToken.kind == TokenKind.calendar,
            ApiToken.revoked_at.is_(None),
        )
        .values(revoked_at=clock.now())
        .execution_options(synchronize_session=False)
    )


def user_for_token(secret: str, kind: TokenKind) -> User | None:
    """The active user whose valid token of `kind` this is; None for anything else. Notes the use."""
    if not secret or len(secret) > 200 or not secret.startswith(PREFIX[kind]):
        return None
    row = db.session.scalar(
        select(ApiToken)
        .where(ApiToken.token_hash == hash_token(secret))
        .options(
            joinedload(ApiToken.user).options(
                joinedload(User.patient),
                joinedload(User.doctor),
                joinedload(User.staff).joinedload(Staff.hospital),
                joinedload(User.hospital_admin).joinedload(HospitalAdmin.hospital),
            )
        )
    )
    now = clock.now()
    if row is None or row.kind != kind or not row.is_valid(now) or not row.user.active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
    return row.user
