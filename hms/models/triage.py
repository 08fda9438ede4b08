"""Nurse triage: the vital signs, chief complaint and triage level taken when a checked-in patient
arrives, before the doctor sees him (FHIR vital-signs Observations; the level as a 5-level scale).

A visit may be triaged more than once (a patient re-measured while he waits): every measurement is
kept, and the latest one is the visit's triage. BMI is computed from weight and height, never stored,
so that it cannot disagree with them."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hms import clock
from hms.extensions import db
from hms.i18n import N_
from hms.models.types import UTCDateTime

if TYPE_CHECKING:
    from hms.models.hospitals import Hospital
    from hms.models.inpatient import Admission
    from hms.models.scheduling import Appointment
    from hms.models.users import Patient, User


class TriageLevel(enum.IntEnum):
    """The five levels of the Canadian Triage and Acuity Scale (CTAS), the same five steps as the
    Manchester Triage System and the ESI: 1 is seen at once, 5 can wait longest. Stored as the number,
    so that ordering by it orders by urgency."""

    resuscitation = 1
    emergent = 2
    urgent = 3
    less_urgent = 4
    non_urgent = 5

    @property
    def label(self) -> str:
        return {
            1: N_("1 · Resuscitation (immediately)"),
            2: N_("2 · Emergent (within 15 minutes)"),
            3: N_("3 · Urgent (within 30 minutes)"),
            4: N_("4 · Less urgent (within an hour)"),
            5: N_("5 · Non-urgent (within two hours)"),
        }[self.value]

    @property
    def short(self) -> str:
        return {
            1: N_("Resuscitation"),
            2: N_("Emergent"),
            3: N_("Urgent"),
            4: N_("Less urgent"),
            5: N_("Non-urgent"),
        }[self.value]


class VitalSigns(db.Model):
    """One set of vital signs of a visit, taken by a nurse (or a doctor) at `taken_at`."""

    __tablename__ = "vital_signs"
    __table_args__ = (
        Index("ix_vital_signs_patient_taken", "patient_id", "taken_at"),
        Index("ix_vital_signs_appointment_taken", "appointment_id", "taken_at"),
        CheckConstraint("triage_level BETWEEN 1 AND 5", name="triage_level_range"),
        CheckConstraint("(appointment_id IS NULL) <> (admission_id IS NULL)", name="visit_or_admission"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # A visit's triage, or a round on the ward during an admission (hms.models.inpatient): one of them.
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    admission_id: Mapped[int | None] = mapped_column(ForeignKey("admissions.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    bp_systolic: Mapped[int | None]
    bp_diastolic: Mapped[int | None]
    pulse: Mapped[int | None]
    respiratory_rate: Mapped[int | None]
    spo2: Mapped[int | None]
    temperature_c: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    weight_kg: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    height_cm: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    chief_complaint: Mapped[str] = mapped_column(String(500), default="")
    triage_level: Mapped[int | None] = mapped_column(SmallInteger)

    appointment: Mapped[Appointment | None] = relationship()
    admission: Mapped[Admission | None] = relationship()
    patient: Mapped[Patient] = relationship()
    hospital: Mapped[Hospital] = relationship()
    recorded_by: Mapped[User] = relationship()

    @property
    def bmi(self) -> Decimal | None:
        if not self.weight_kg or not self.height_cm:
            return None
        metres = Decimal(self.height_cm) / 100
        return round(Decimal(self.weight_kg) / (metres * metres), 1)

    @property
    def level(self) -> TriageLevel | None:
        return TriageLevel(self.triage_level) if self.triage_level else None
