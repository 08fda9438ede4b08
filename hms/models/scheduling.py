"""Doctors' weekly schedules, breaks, time off, and appointments (FHIR Schedule/Slot/Appointment)."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hms import clock
from hms.extensions import db
from hms.i18n import N_
from hms.models.types import UTCDateTime, enum_type

if TYPE_CHECKING:
    from hms.models.hospitals import Hospital
    from hms.models.users import Doctor, Patient, User

WEEKDAYS = [
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
]


class AppointmentStatus(enum.StrEnum):
    booked = "booked"
    arrived = "arrived"
    fulfilled = "fulfilled"
    cancelled = "cancelled"
    noshow = "noshow"

    @property
    def is_live(self) -> bool:
        """Live appointments hold their slot."""
        return self in (AppointmentStatus.booked, AppointmentStatus.arrived)


@dataclass(frozen=True)
class VisitCounts:
    """A day's appointments by their real state: the visits (booked, arrived, done, no-show) and, apart
    from them, the cancelled ones. Dashboards count with this, so a cancelled booking is never a visit."""

    booked: int = 0
    arrived: int = 0
    fulfilled: int = 0
    noshow: int = 0
    cancelled: int = 0

    @property
    def visits(self) -> int:
        return self.booked + self.arrived + self.fulfilled + self.noshow

    @classmethod
    def of(cls, statuses: Iterable[AppointmentStatus]) -> VisitCounts:
        totals: dict[str, int] = {}
        for status in statuses:
            totals[status.value] = totals.get(status.value, 0) + 1
        return cls.from_totals(totals)

    @classmethod
    def from_totals(cls, totals: Mapping[str, int | float | None]) -> VisitCounts:
        """From {status value: count} (a report's series totals)."""
        return cls(**{status.value: int(totals.get(status.value) or 0) for status in AppointmentStatus})


# What a visit can be marked by the doctor or the desk, and from which states.
MARKABLE_FROM = {
    AppointmentStatus.arrived: (AppointmentStatus.booked,),
    AppointmentStatus.fulfilled: (AppointmentStatus.booked, AppointmentStatus.arrived),
    AppointmentStatus.noshow: (AppointmentStatus.booked,),
}
# A patient can be checked in from this long before the visit (on its day, in practice).
CHECK_IN_WINDOW = timedelta(hours=12)


class ScheduleRule(db.Model):
    """One weekly working block of a doctor at a hospital, in the hospital's local wall-clock time."""

    __tablename__ = "schedule_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    weekday: Mapped[int]  # 0 = Monday, as date.weekday()
    start_time: Mapped[time]
    end_time: Mapped[time]
    slot_minutes: Mapped[int] = mapped_column(default=30)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    doctor: Mapped[Doctor] = relationship()
    hospital: Mapped[Hospital] = relationship()
    breaks: Mapped[list[ScheduleBreak]] = relationship(
        back_populates="rule", cascade="all, delete-orphan", order_by="ScheduleBreak.start_time"
    )

    @property
    def weekday_name(self) -> str:
        return WEEKDAYS[self.weekday]

    @property
    def minutes(self) -> int:
        return _minutes(self.end_time) - _minutes(self.start_time)


class ScheduleBreak(db.Model):
    """A pause inside a working block (lunch, ward round)."""

    __tablename__ = "schedule_breaks"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("schedule_rules.id", ondelete="CASCADE"), index=True)
    start_time: Mapped[time]
    end_time: Mapped[time]

    rule: Mapped[ScheduleRule] = relationship(back_populates="breaks")


class TimeOff(db.Model):
    """Whole days a doctor does not work (leave, conferences), at every hospital."""

    __tablename__ = "time_off"

    id: Mapped[int] = mapped_column(primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"), index=True)
    start_date: Mapped[date]
    end_date: Mapped[date]
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    doctor: Mapped[Doctor] = relationship()

    def covers(self, day: date) -> bool:
        return self.start_date <= day <= self.end_date


class Appointment(db.Model):
    """A booked visit. `active_slot` is set while the appointment is live and NULL otherwise: the two
    unique keys on it make a double booking of the same start impossible in the database itself."""

    __tablename__ = "appointments"
    __table_args__ = (
        UniqueConstraint("doctor_id", "active_slot", name="uq_appointments_doctor_active_slot"),
        UniqueConstraint("patient_id", "active_slot", name="uq_appointments_patient_active_slot"),
        Index("ix_appointments_doctor_start", "doctor_id", "start_at"),
        Index("ix_appointments_patient_start", "patient_id", "start_at"),
        Index("ix_appointments_hospital_start", "hospital_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"))
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[AppointmentStatus] = mapped_column(
        enum_type(AppointmentStatus), default=AppointmentStatus.booked, index=True
    )
    active_slot: Mapped[str | None] = mapped_column(String(20))
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    rescheduled_from_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    patient: Mapped[Patient] = relationship()
    doctor: Mapped[Doctor] = relationship()
    hospital: Mapped[Hospital] = relationship()
    booked_by: Mapped[User | None] = relationship(foreign_keys=[booked_by_id])
    cancelled_by: Mapped[User | None] = relationship(foreign_keys=[cancelled_by_id])
    rescheduled_from: Mapped[Appointment | None] = relationship(
        remote_side=[id], back_populates="rescheduled_to"
    )
    # The booking that replaced this one when it was moved (a chain: each visit moves at most once).
    rescheduled_to: Mapped[Appointment | None] = relationship(
        back_populates="rescheduled_from", uselist=False
    )

    @staticmethod
    def slot_key(start_at: datetime) -> str:
        return start_at.strftime("%Y-%m-%dT%H:%MZ")

    @property
    def is_live(self) -> bool:
        return self.status.is_live

    @property
    def duration(self) -> timedelta:
        return self.end_at - self.start_at

    @property
    def booked_at_desk(self) -> bool:
        """Booked for the patient by someone else (the front desk, by phone), not by himself online."""
        return self.booked_by_id is not None and self.booked_by_id != self.patient.user_id

    def cancel_deadline(self) -> datetime:
        return self.start_at - timedelta(minutes=self.hospital.cancel_cutoff_minutes)

    def can_patient_change(self, now: datetime) -> bool:
        """A patient may cancel or reschedule a booked visit until the hospital's cut-off."""
        return self.status == AppointmentStatus.booked and now < self.cancel_deadline()

    def is_upcoming(self, now: datetime) -> bool:
        return self.is_live and self.end_at > now

    def status_refusal(self, status: AppointmentStatus, now: datetime) -> str | None:
        """Why the visit cannot be marked `status` at `now` (a message id, formatted with `current` and
        `wanted`), or None when it can. The one rule behind both the buttons offered and the change."""
        if self.status not in MARKABLE_FROM.get(status, ()):
            return N_("A %(current)s appointment cannot be marked %(wanted)s.")
        if status == AppointmentStatus.noshow and now < self.start_at:
            return N_("A no-show can only be recorded once the appointment has started.")
        if status == AppointmentStatus.arrived and now < self.start_at - CHECK_IN_WINDOW:
            return N_("Patients can be checked in on the day of the appointment.")
        if (
            status == AppointmentStatus.fulfilled
            and self.status == AppointmentStatus.booked
            and now < self.start_at
        ):
            return N_("A visit can be marked done once it has started or the patient has arrived.")
        return None

    def allowed_statuses(self, now: datetime) -> list[AppointmentStatus]:
        """The statuses the visit can be marked now, in the order the buttons show them."""
        return [status for status in MARKABLE_FROM if self.status_refusal(status, now) is None]


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute
