"""Hospitals, their departments, administrators and doctor memberships."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from hms import clock
from hms.extensions import db
from hms.models.types import UTCDateTime, enum_type

if TYPE_CHECKING:
    from hms.models.scheduling import ScheduleRule
    from hms.models.users import Doctor, User


class HospitalStatus(enum.StrEnum):
    pending = "pending"
    active = "active"
    suspended = "suspended"


class MembershipStatus(enum.StrEnum):
    requested = "requested"
    active = "active"
    inactive = "inactive"


class Hospital(db.Model):
    """An organization (FHIR Organization) that takes bookings once approved."""

    __tablename__ = "hospitals"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), index=True)
    address: Mapped[str] = mapped_column(String(255))
    city: Mapped[str] = mapped_column(String(80), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    timezone: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[HospitalStatus] = mapped_column(
        enum_type(HospitalStatus), default=HospitalStatus.pending, index=True
    )
    cancel_cutoff_minutes: Mapped[int] = mapped_column(default=120)
    # Billing: the share of what a patient paid that comes back when he cancels (the hospital
    # cancelling always refunds in full), and the last receipt number issued.
    refund_percent: Mapped[int] = mapped_column(default=100, server_default="100")
    receipt_seq: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Text messages through Twilio, when the hospital sets them up (else the platform's, if any).
    # The auth token is stored encrypted (hms.services.sms.seal).
    sms_account_sid: Mapped[str | None] = mapped_column(String(64))
    sms_auth_token_sealed: Mapped[str | None] = mapped_column(String(255))
    sms_from_number: Mapped[str | None] = mapped_column(String(32))
    # Its people are logged out after this many minutes without activity (hms.services.sessions).
    idle_timeout_minutes: Mapped[int] = mapped_column(default=15, server_default="15")

    departments: Mapped[list[Department]] = relationship(
        back_populates="hospital", order_by="Department.name"
    )
    admins: Mapped[list[HospitalAdmin]] = relationship(back_populates="hospital")
    memberships: Mapped[list[Membership]] = relationship(back_populates="hospital")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_active(self) -> bool:
        return self.status == HospitalStatus.active

    def can_approve(self) -> bool:
        return self.status in (HospitalStatus.pending, HospitalStatus.suspended)

    def can_suspend(self) -> bool:
        return self.status == HospitalStatus.active


def name_key(name: str) -> str:
    """The form of a name that two names must not share: trimmed, single-spaced, case-folded."""
    return " ".join(name.split()).casefold()


class Department(db.Model):
    """A department of one hospital; retiring it keeps it (and its history) but offers it no more."""

    __tablename__ = "departments"
    __table_args__ = (
        UniqueConstraint("hospital_id", "name"),
        UniqueConstraint("hospital_id", "name_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"))
    name: Mapped[str] = mapped_column(String(120))
    # Case-folded name: "Cardiology" and "cardiology " are one department on every database.
    name_key: Mapped[str] = mapped_column(String(120))
    retired: Mapped[bool] = mapped_column(default=False)

    hospital: Mapped[Hospital] = relationship(back_populates="departments")

    @validates("name")
    def _set_name_key(self, key: str, value: str) -> str:
        value = " ".join(value.split())
        self.name_key = name_key(value)
        return value


class HospitalAdmin(db.Model):
    """Links an administrator's account to the one hospital he runs."""

    __tablename__ = "hospital_admins"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)

    user: Mapped[User] = relationship(back_populates="hospital_admin")
    hospital: Mapped[Hospital] = relationship(back_populates="admins")


class Membership(db.Model):
    """A doctor's link to a hospital (FHIR PractitionerRole), with his fee there."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("doctor_id", "hospital_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"))
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    status: Mapped[MembershipStatus] = mapped_column(
        enum_type(MembershipStatus), default=MembershipStatus.active
    )
    fee_minor: Mapped[int] = mapped_column(default=0)
    since: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    version: Mapped[int] = mapped_column(default=1)

    doctor: Mapped[Doctor] = relationship(back_populates="memberships")
    hospital: Mapped[Hospital] = relationship(back_populates="memberships")
    department: Mapped[Department | None] = relationship()
    # The doctor's weekly hours here (read only: they are edited as ScheduleRule rows), so that the
    # slot picker can load the membership, its hospital and its hours in one statement.
    rules: Mapped[list[ScheduleRule]] = relationship(
        "ScheduleRule",
        primaryjoin="and_(Membership.doctor_id == foreign(ScheduleRule.doctor_id), "
        "Membership.hospital_id == foreign(ScheduleRule.hospital_id))",
        viewonly=True,
        order_by="ScheduleRule.id",
    )

    @property
    def takes_bookings(self) -> bool:
        return self.status == MembershipStatus.active and self.hospital.is_active
