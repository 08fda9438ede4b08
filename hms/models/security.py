"""Account security: server-side login sessions, TOTP authenticators and recovery codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hms import clock
from hms.extensions import db
from hms.models.types import UTCDateTime
from hms.models.users import User


class UserSession(db.Model):
    """One login on one browser. The browser's session cookie holds a random token; only its
    SHA-256 hash is stored here. Every request checks the row: an ended or idle session is logged out."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_id_ended_at", "user_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # How long the session may stay idle (the user's hospital's setting), renewed at each touch.
    idle_minutes: Mapped[int | None]
    # logout | idle | ended (by the user elsewhere) | password | two_factor
    ended_reason: Mapped[str | None] = mapped_column(String(24))

    user: Mapped[User] = relationship()

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


class TotpCredential(db.Model):
    """A user's authenticator app (RFC 6238, 30-second steps, 6 digits).

    The secret is stored encrypted (hms.services.two_factor). `confirmed_at` is empty while the user
    is still setting it up; `last_step` is the last time step accepted, so no code works twice."""

    __tablename__ = "totp_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    secret_sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_step: Mapped[int] = mapped_column(default=0)

    user: Mapped[User] = relationship()


class RecoveryCode(db.Model):
    """A one-time code that stands in for the authenticator; only its SHA-256 hash is stored."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginFailure(db.Model):
    """Failed logins of one account from one client, or (client "*") from everywhere, that are still
    remembered: the login throttle's counters (hms.services.login_throttle). The account is named by a
    keyed hash of the email typed, so that unknown emails are counted exactly like known ones and
    nobody's typed address is stored."""

    __tablename__ = "login_failures"
    __table_args__ = (UniqueConstraint("account_key", "client"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_key: Mapped[str] = mapped_column(String(64))
    # The client address, "device:<id>" for a browser the account has logged in from, or "*".
    client: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(default=0)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class PendingRegistration(db.Model):
    """A registration waiting for its email address to be confirmed: the account is made only when
    the link sent there is opened, so the form answers alike whether the address has an account or
    not (hms.services.registration). Only a SHA-256 hash of the link's token is stored."""

    __tablename__ = "pending_registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[str] = mapped_column(String(20))  # patient | doctor | hospital_admin
    payload: Mapped[str] = mapped_column(Text)  # the form's fields as JSON, the password already hashed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
