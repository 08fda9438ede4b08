"""Personal access tokens: Bearer tokens for the FHIR API and secret calendar-feed addresses."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hms import clock
from hms.extensions import db
from hms.models.types import UTCDateTime, enum_type
from hms.models.users import User


class TokenKind(enum.StrEnum):
    api = "api"  # Authorization: Bearer … on /fhir
    calendar = "calendar"  # the secret part of /calendar/<token>.ics
    display = "display"  # the secret part of /display/<token>: a wall screen's reduced flow board


class ApiToken(db.Model):
    """A token a user made for himself. Only a SHA-256 hash of the secret is stored: the secret is
    shown once, when it is made. Revoking (or, for a calendar feed, rotating) ends it for good."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user_kind", "user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[TokenKind] = mapped_column(enum_type(TokenKind))
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    def is_valid(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
