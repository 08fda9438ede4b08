"""Argon2id password hashing and the password strength rule."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext

from hms.i18n import N_

MIN_LENGTH = 10
MAX_LENGTH = 128

# The most common passwords that still pass a length rule; a full breached-password list
# would be better and can replace this set without changing callers.
COMMON = {
    "password12",
    "password123",
    "1234567890",
    "qwertyuiop",
    "123456789a",
    "iloveyou12",
    "password1!",
    "welcome123",
    "admin12345",
    "letmein123",
    "passw0rd12",
    "qwerty1234",
    "abc1234567",
    "1q2w3e4r5t",
    "changeme12",
    "hospital12",
    "doctor1234",
    "patient123",
}


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["ARGON2_TIME_COST"],
        memory_cost=cfg["ARGON2_MEMORY_COST"],
        parallelism=cfg["ARGON2_PARALLELISM"],
        type=Type.ID,
    )


class Hashed(str):
    """A password already checked and hashed (a confirmed registration): stored as it is."""


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def password_problem(password: str, email: str = "") -> str | None:
    """Why `password` is too weak, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return gettext("Use at least %(num)d characters.", num=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return gettext("Use at most %(num)d characters.", num=MAX_LENGTH)
    lowered = password.lower()
    if lowered in COMMON or len(set(lowered)) < 4:
        return N_("This password is too easy to guess; choose a less common one.")
    local_part = email.split("@")[0].lower()
    if local_part and len(local_part) >= 4 and local_part in lowered:
        return N_("Do not use your email address in your password.")
    return None
