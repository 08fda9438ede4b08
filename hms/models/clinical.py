"""Clinical records: medical history, encounters with vitals and diagnoses, prescriptions (FHIR
Condition/AllergyIntolerance/MedicationStatement, Encounter, MedicationRequest).

Rows that people edit in a form carry a `version` column (SQLAlchemy's version_id_col): an UPDATE
names the version it read, so a second, concurrent save matches no row and is refused as a conflict."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from flask_babel import gettext
from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hms import clock
from hms.extensions import db
from hms.i18n import N_
from hms.models.types import UTCDateTime, enum_type

if TYPE_CHECKING:
    from hms.models.hospitals import Hospital
    from hms.models.inpatient import Admission
    from hms.models.scheduling import Appointment
    from hms.models.users import Doctor, Patient, User


class HistoryKind(enum.StrEnum):
    condition = "condition"
    allergy = "allergy"
    medication = "medication"
    procedure = "procedure"
    family_history = "family-history"

    @property
    def label(self) -> str:
        return {
            "condition": N_("Conditions"),
            "allergy": N_("Allergies"),
            "medication": N_("Current medications"),
            "procedure": N_("Surgeries"),
            "family-history": N_("Family history"),
        }[self.value]

    @property
    def singular(self) -> str:
        return {
            "condition": N_("Condition"),
            "allergy": N_("Allergy"),
            "medication": N_("Medication"),
            "procedure": N_("Surgery"),
            "family-history": N_("Family history"),
        }[self.value]


class AllergySeverity(enum.StrEnum):
    mild = "mild"
    moderate = "moderate"
    severe = "severe"


class EntrySource(enum.StrEnum):
    """Who wrote a history entry: the patient himself, or a practitioner (then the patient cannot edit it)."""

    patient = "patient"
    practitioner = "practitioner"


class PrescriptionStatus(enum.StrEnum):
    draft = "draft"
    active = "active"  # issued
    cancelled = "cancelled"
    superseded = "superseded"  # replaced by a newer, issued version

    @property
    def is_issued(self) -> bool:
        return self != PrescriptionStatus.draft


class MedicalHistoryEntry(db.Model):
    """One line of a patient's history: a condition, allergy, medication, surgery or relative's illness."""

    __tablename__ = "medical_history_entries"
    __table_args__ = (Index("ix_medical_history_patient_kind", "patient_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    kind: Mapped[HistoryKind] = mapped_column(enum_type(HistoryKind))
    title: Mapped[str] = mapped_column(String(200))  # condition, substance, drug, operation, illness
    detail: Mapped[str | None] = mapped_column(String(1000))  # dose, notes
    reaction: Mapped[str | None] = mapped_column(String(200))  # allergies only
    severity: Mapped[AllergySeverity | None] = mapped_column(enum_type(AllergySeverity))
    relation: Mapped[str | None] = mapped_column(String(60))  # family history only: mother, brother
    since: Mapped[date | None]  # onset, start, date of the operation
    source: Mapped[EntrySource] = mapped_column(enum_type(EntrySource))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now, onupdate=clock.now)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1)

    patient: Mapped[Patient] = relationship()
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def by_practitioner(self) -> bool:
        return self.source == EntrySource.practitioner


class Encounter(db.Model):
    """What happened at one appointment: complaint, vitals, notes, diagnoses, prescriptions."""

    __tablename__ = "encounters"
    __table_args__ = (
        Index("ix_encounters_patient_created", "patient_id", "created_at"),
        Index("ix_encounters_doctor_created", "doctor_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"))
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    chief_complaint: Mapped[str] = mapped_column(String(500), default="")
    bp_systolic: Mapped[int | None]
    bp_diastolic: Mapped[int | None]
    pulse: Mapped[int | None]
    temperature_c: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    weight_kg: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    height_cm: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now, onupdate=clock.now)
    version: Mapped[int] = mapped_column(default=1)

    appointment: Mapped[Appointment] = relationship()
    patient: Mapped[Patient] = relationship()
    doctor: Mapped[Doctor] = relationship()
    hospital: Mapped[Hospital] = relationship()
    diagnoses: Mapped[list[Diagnosis]] = relationship(
        back_populates="encounter", cascade="all, delete-orphan", order_by="Diagnosis.id"
    )
    prescriptions: Mapped[list[Prescription]] = relationship(
        back_populates="encounter", order_by="Prescription.id"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def bmi(self) -> Decimal | None:
        if not self.weight_kg or not self.height_cm:
            return None
        metres = self.height_cm / 100
        return round(self.weight_kg / (metres * metres), 1)


class Diagnosis(db.Model):
    """An ICD-10 coded diagnosis of an encounter (FHIR Condition with an encounter-diagnosis category)."""

    __tablename__ = "diagnoses"

    id: Mapped[int] = mapped_column(primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    encounter: Mapped[Encounter] = relationship(back_populates="diagnoses")


class Prescription(db.Model):
    """A prescription of one encounter (a visit) or of one admission (written on the ward during a
    stay; exactly one of the two is set): a draft the doctor edits, then issued (numbered, read-only),
    then perhaps cancelled or superseded by a newer version that `supersedes` it."""

    __tablename__ = "prescriptions"
    __table_args__ = (
        UniqueConstraint("number", name="uq_prescriptions_number"),
        Index("ix_prescriptions_patient_status", "patient_id", "status"),
        CheckConstraint("(encounter_id IS NULL) <> (admission_id IS NULL)", name="encounter_or_admission"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounters.id"), index=True)
    admission_id: Mapped[int | None] = mapped_column(ForeignKey("admissions.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    status: Mapped[PrescriptionStatus] = mapped_column(
        enum_type(PrescriptionStatus), default=PrescriptionStatus.draft
    )
    number: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str] = mapped_column(String(1000), default="")
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("prescriptions.id"))
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now, onupdate=clock.now)
    version: Mapped[int] = mapped_column(default=1)

    encounter: Mapped[Encounter | None] = relationship(back_populates="prescriptions")
    admission: Mapped[Admission | None] = relationship()
    patient: Mapped[Patient] = relationship()
    doctor: Mapped[Doctor] = relationship()
    hospital: Mapped[Hospital] = relationship()
    supersedes: Mapped[Prescription | None] = relationship(remote_side=[id])
    items: Mapped[list[PrescriptionItem]] = relationship(
        back_populates="prescription",
        cascade="all, delete-orphan",
        order_by="(PrescriptionItem.position, PrescriptionItem.id)",
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_draft(self) -> bool:
        return self.status == PrescriptionStatus.draft

    @property
    def label(self) -> str:
        return self.number or gettext("Draft %(num)s", num=self.id)


class PrescriptionItem(db.Model):
    """One medicine line of a prescription."""

    __tablename__ = "prescription_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(
        ForeignKey("prescriptions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    drug: Mapped[str] = mapped_column(String(120))
    strength: Mapped[str] = mapped_column(String(40), default="")
    form: Mapped[str] = mapped_column(String(40), default="")
    dose: Mapped[str] = mapped_column(String(60), default="")
    route: Mapped[str] = mapped_column(String(40), default="")
    frequency: Mapped[str] = mapped_column(String(60), default="")
    duration: Mapped[str] = mapped_column(String(40), default="")
    quantity: Mapped[int | None]
    instructions: Mapped[str] = mapped_column(String(500), default="")
    version: Mapped[int] = mapped_column(default=1)

    prescription: Mapped[Prescription] = relationship(back_populates="items")

    __mapper_args__ = {"version_id_col": version}

    EDITABLE = (
        "drug",
        "strength",
        "form",
        "dose",
        "route",
        "frequency",
        "duration",
        "quantity",
        "instructions",
    )
