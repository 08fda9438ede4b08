"""Claim links: how a patient registered at the front desk takes over his account (email, password)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hms import clock
from hms.extensions import db
from hms.models.messaging import Channel
from hms.models.types import UTCDateTime, enum_type
from hms.models.users import User


class AccountClaim(db.Model):
    """A one-time link sent by a hospital's desk, by email or SMS. Only a SHA-256 of the token is
    stored; the link works until it expires or is used, and a newer link ends the older ones."""

    __tablename__ = "account_claims"
    __table_args__ = (Index("ix_account_claims_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"))
    sent_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    def is_usable(self, now: datetime) -> bool:
        return self.used_at is None and self.expires_at > now
