"""Invitations: one-time links that let a new member of a hospital set his password."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hms import clock
from hms.extensions import db
from hms.models.hospitals import Department, Hospital
from hms.models.types import UTCDateTime, enum_type
from hms.models.users import Role, StaffKind, User


class InvitationState(enum.StrEnum):
    pending = "pending"
    accepted = "accepted"
    expired = "expired"
    revoked = "revoked"


class Invitation(db.Model):
    """An invitation to join one hospital as a doctor, staff member or administrator.

    Only a SHA-256 hash of the link's token is stored. `open_email` holds the email while the
    invitation can still be used and is cleared otherwise, so that UNIQUE(hospital_id, open_email)
    allows one open invitation per person and hospital on every database."""

    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("hospital_id", "open_email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    open_email: Mapped[str | None] = mapped_column(String(254))
    full_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(enum_type(Role))
    staff_kind: Mapped[StaffKind | None] = mapped_column(enum_type(StaffKind))
    specialty: Mapped[str | None] = mapped_column(String(80))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    fee_minor: Mapped[int] = mapped_column(default=0)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    hospital: Mapped[Hospital] = relationship()
    department: Mapped[Department | None] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])

    def state(self, now: datetime) -> InvitationState:
        if self.accepted_at is not None:
            return InvitationState.accepted
        if self.revoked_at is not None:
            return InvitationState.revoked
        if self.expires_at <= now:
            return InvitationState.expired
        return InvitationState.pending

    @property
    def role_label(self) -> str:
        if self.role == Role.staff and self.staff_kind:
            return self.staff_kind.label
        return self.role.label
