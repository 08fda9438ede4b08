"""Two-factor login with an authenticator app (TOTP, RFC 6238) and one-time recovery codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import delete, select

from hms import clock
from hms.extensions import db
from hms.models import RecoveryCode, TotpCredential, User
from hms.services import passwords
from hms.services.errors import Invalid

STEP_SECONDS = 30
RECOVERY_CODES = 10
# Crockford's base32 without look-alike letters; 10 characters = 50 bits per code.
_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _fernet() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"hms totp secrets").derive(
        current_app.config["SECRET_KEY"].encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def _secret(credential: TotpCredential) -> str | None:
    try:
        return _fernet().decrypt(credential.secret_sealed.encode()).decode()
    except (InvalidToken, ValueError):
        return None  # SECRET_KEY changed since: the authenticator must be set up again


def credential_of(user: User, *, lock: bool = False) -> TotpCredential | None:
    query = select(TotpCredential).where(TotpCredential.user_id == user.id)
    if lock:
        query = query.with_for_update()
    return db.session.scalar(query)


def is_enabled(user: User) -> bool:
    credential = credential_of(user)
    return credential is not None and credential.confirmed_at is not None


def is_required(user: User) -> bool:
    return user.role.value in current_app.config["TOTP_REQUIRED_ROLES"]


def begin_enrolment(user: User) -> tuple[str, str]:
    """A new secret waiting for confirmation (replacing an unconfirmed one); returns the secret, to
    show once as text, and its otpauth:// URI. An enabled authenticator is not replaced. Flushes."""
    credential = credential_of(user, lock=True)
    if credential is not None and credential.confirmed_at is not None:
        raise Invalid("Two-factor login is already on.")
    secret = pyotp.random_base32(32)
    sealed = _fernet().encrypt(secret.encode()).decode()
    if credential is None:
        db.session.add(TotpCredential(user_id=user.id, secret_sealed=sealed, last_step=0))
    else:
        credential.secret_sealed, credential.created_at = sealed, clock.now()
    db.session.flush()
    return secret, provisioning_uri(user, secret)


def pending_secret(user: User) -> tuple[str, str] | None:
    """The secret being set up (not confirmed yet), to show again while the user types the code."""
    credential = credential_of(user)
    if credential is None or credential.confirmed_at is not None:
        return None
    secret = _secret(credential)
    return (secret, provisioning_uri(user, secret)) if secret else None


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=current_app.config["TOTP_ISSUER"])


def _matching_step(secret: str, code: str, after: int) -> int | None:
    """The time step (now, or one step either side for clock drift) whose code is `code`, if it is
    later than `after`: a code that was accepted once is never accepted again."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = int(clock.now().timestamp()) // STEP_SECONDS
    for step in (current - 1, current, current + 1):
        if step > after and hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def confirm_enrolment(user: User, code: str) -> list[str]:
    """Turn two-factor login on when `code` matches the new secret; returns fresh recovery codes (to
    show once). Flushes."""
    credential = credential_of(user, lock=True)
    if credential is None or credential.confirmed_at is not None:
        raise Invalid("Start the set-up again.", field="code")
    secret = _secret(credential)
    step = _matching_step(secret, code, 0) if secret else None
    if step is None:
        raise Invalid("That code is not right. Check the time on your phone and try again.", field="code")
    credential.confirmed_at, credential.last_step = clock.now(), step
    db.session.flush()
    return new_recovery_codes(user)


def verify_code(user: User, code: str) -> bool:
    """True when `code` is the authenticator's current code (used once) or an unused recovery code,
    which is then used up. Flushes."""
    code = (code or "").strip()[:64]
    credential = credential_of(user, lock=True)
    if credential is None or credential.confirmed_at is None or not code:
        return False
    secret = _secret(credential)
    step = _matching_step(secret, code, credential.last_step) if secret else None
    if step is not None:
        credential.last_step = step
        db.session.flush()
        return True
    return use_recovery_code(user, code)


def _code_hash(code: str) -> str:
    normal = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normal.encode()).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Ten fresh one-time codes replacing any old ones; only their hashes are kept. Flushes."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_code_hash(raw)))
    db.session.flush()
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    row = db.session.scalar(
        select(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _code_hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .with_for_update()
    )
    if row is None:
        return False
    row.used_at = clock.now()
    db.session.flush()
    return True


def recovery_codes_left(user: User) -> int:
    return len(
        db.session.scalars(
            select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        ).all()
    )


def disable(user: User, password: str, code: str) -> None:
    """Turn two-factor login off: needs the password and a current code (or a recovery code)."""
    if not passwords.verify_password(user.password_hash, password or ""):
        raise Invalid("The password is not right.", field="password")
    if not verify_code(user, code):
        raise Invalid("That code is not right.", field="code")
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(delete(TotpCredential).where(TotpCredential.user_id == user.id))
    db.session.flush()
