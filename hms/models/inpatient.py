"""Inpatient care: a hospital's wards and their beds, admissions with their bed history (FHIR Encounter
of class IMP with its Location history), notes during the stay and the discharge summary.

Two safeguards hold in the database, not only in the services, so that two people acting at once can
never break them:

- **One patient per bed.** `admissions.bed_id` is the bed an admission holds now and is UNIQUE; it is
  NULL before a bed is given and after discharge (NULLs never collide on SQLite, PostgreSQL or
  MariaDB), so a second admission into an occupied bed fails at the INSERT/UPDATE.
- **One open admission per patient.** `admissions.open_patient_id` is the patient's id while the
  admission is open (ordered, admitted, discharge ordered) and NULL once it is closed, and is UNIQUE.

A bed moves free → occupied (admitted) → occupied with the discharge ordered → cleaning (the patient
left) → free; it is never offered while a patient still lies in it. A transfer moves the admission to
another bed and sends the old one to cleaning. Every bed an admission held is a `BedStay` row, so the
history (who moved the patient, when, why) stays."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hms import clock
from hms.extensions import db
from hms.i18n import N_
from hms.models.types import UTCDateTime, enum_type

if TYPE_CHECKING:
    from hms.models.billing import Bill
    from hms.models.clinical import Encounter
    from hms.models.hospitals import Hospital
    from hms.models.scheduling import Appointment
    from hms.models.users import Doctor, Patient, User


class WardKind(enum.StrEnum):
    general = "general"
    surgical = "surgical"
    icu = "icu"
    maternity = "maternity"
    paediatric = "paediatric"
    isolation = "isolation"

    @property
    def label(self) -> str:
        return {
            "general": N_("General"),
            "surgical": N_("Surgical"),
            "icu": N_("Intensive care"),
            "maternity": N_("Maternity"),
            "paediatric": N_("Paediatric"),
            "isolation": N_("Isolation"),
        }[self.value]


class BedStatus(enum.StrEnum):
    """FHIR Location.operationalStatus (HL7 v2 table 0116: C closed, H housekeeping, O occupied,
    U unoccupied)."""

    free = "free"
    occupied = "occupied"
    cleaning = "cleaning"
    out_of_service = "out_of_service"

    @property
    def label(self) -> str:
        return {
            "free": N_("Free"),
            "occupied": N_("Occupied"),
            "cleaning": N_("Cleaning"),
            "out_of_service": N_("Out of service"),
        }[self.value]

    @property
    def hl7_code(self) -> str:
        return {"free": "U", "occupied": "O", "cleaning": "H", "out_of_service": "C"}[self.value]


class AdmissionStatus(enum.StrEnum):
    """ordered (a doctor asked for a bed; the desk or a nurse gives one) → admitted → discharge
    ordered (the summary is written; the patient is still in the bed) → discharged. An ordered
    admission can be cancelled before it gets a bed."""

    ordered = "ordered"
    admitted = "admitted"
    discharge_ordered = "discharge_ordered"
    discharged = "discharged"
    cancelled = "cancelled"

    @property
    def is_open(self) -> bool:
        return self in (
            AdmissionStatus.ordered,
            AdmissionStatus.admitted,
            AdmissionStatus.discharge_ordered,
        )

    @property
    def in_bed(self) -> bool:
        return self in (AdmissionStatus.admitted, AdmissionStatus.discharge_ordered)

    @property
    def label(self) -> str:
        return {
            "ordered": N_("Waiting for a bed"),
            "admitted": N_("Admitted"),
            "discharge_ordered": N_("Discharge ordered"),
            "discharged": N_("Discharged"),
            "cancelled": N_("Cancelled"),
        }[self.value]

    @property
    def fhir_status(self) -> str:
        return {
            "ordered": "planned",
            "admitted": "in-progress",
            "discharge_ordered": "in-progress",
            "discharged": "finished",
            "cancelled": "cancelled",
        }[self.value]


class NoteKind(enum.StrEnum):
    progress = "progress"  # a doctor's progress note
    nursing = "nursing"  # a nurse's note on a round

    @property
    def label(self) -> str:
        return {"progress": N_("Progress note"), "nursing": N_("Nursing note")}[self.value]


class Ward(db.Model):
    """A ward of a hospital, charged per night at `daily_rate_minor` (the hospital's currency)."""

    __tablename__ = "wards"
    __table_args__ = (UniqueConstraint("hospital_id", "name", name="uq_wards_hospital_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[WardKind] = mapped_column(enum_type(WardKind))
    daily_rate_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    hospital: Mapped[Hospital] = relationship()
    beds: Mapped[list[Bed]] = relationship(back_populates="ward", order_by="Bed.label")


class Bed(db.Model):
    """A bed of a ward. `version` is bumped by every status change (a conditional UPDATE), so two
    people acting on one bed never both win; `changed_at` feeds the bed board's ETag."""

    __tablename__ = "beds"
    __table_args__ = (UniqueConstraint("ward_id", "label", name="uq_beds_ward_label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"))
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    label: Mapped[str] = mapped_column(String(24))
    status: Mapped[BedStatus] = mapped_column(enum_type(BedStatus), default=BedStatus.free)
    retired: Mapped[bool] = mapped_column(default=False)  # removed, kept for the stays that name it
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    version: Mapped[int] = mapped_column(default=1)

    ward: Mapped[Ward] = relationship(back_populates="beds")
    hospital: Mapped[Hospital] = relationship()


class Admission(db.Model):
    """A patient's stay in a hospital (FHIR Encounter, class IMP), from the admission order to the
    discharge. The discharge summary lives on the admission; its room nights go on `bill`."""

    __tablename__ = "admissions"
    __table_args__ = (
        Index("ix_admissions_hospital_status", "hospital_id", "status"),
        Index("ix_admissions_patient_admitted", "patient_id", "admitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"), index=True)
    # The bed held now: unique, NULL while waiting for a bed and after discharge (see module docstring).
    bed_id: Mapped[int | None] = mapped_column(ForeignKey("beds.id"), unique=True)
    # The patient's id while the admission is open, NULL once closed: one open admission per patient.
    open_patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), unique=True)
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounters.id"), index=True)
    admitting_doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"), index=True)
    attending_doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"), index=True)
    status: Mapped[AdmissionStatus] = mapped_column(enum_type(AdmissionStatus))
    reason: Mapped[str] = mapped_column(String(500))
    expected_days: Mapped[int | None] = mapped_column(SmallInteger)
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    ordered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    admitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    admitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The discharge summary, written by a doctor when he orders the discharge.
    discharge_ordered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    discharge_diagnoses: Mapped[str] = mapped_column(Text, default="")
    discharge_procedures: Mapped[str] = mapped_column(Text, default="")
    discharge_medicines: Mapped[str] = mapped_column(Text, default="")
    discharge_advice: Mapped[str] = mapped_column(Text, default="")
    follow_up_appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    discharged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    discharged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    bill_id: Mapped[int | None] = mapped_column(ForeignKey("bills.id"))
    version: Mapped[int] = mapped_column(default=1)

    hospital: Mapped[Hospital] = relationship()
    patient: Mapped[Patient] = relationship(foreign_keys=[patient_id])
    ward: Mapped[Ward] = relationship()
    bed: Mapped[Bed | None] = relationship()
    encounter: Mapped[Encounter | None] = relationship()
    admitting_doctor: Mapped[Doctor] = relationship(foreign_keys=[admitting_doctor_id])
    attending_doctor: Mapped[Doctor] = relationship(foreign_keys=[attending_doctor_id])
    ordered_by: Mapped[User] = relationship(foreign_keys=[ordered_by_id])
    admitted_by: Mapped[User | None] = relationship(foreign_keys=[admitted_by_id])
    discharged_by: Mapped[User | None] = relationship(foreign_keys=[discharged_by_id])
    follow_up_appointment: Mapped[Appointment | None] = relationship()
    bill: Mapped[Bill | None] = relationship()
    stays: Mapped[list[BedStay]] = relationship(
        back_populates="admission", order_by="BedStay.started_at, BedStay.id"
    )
    notes: Mapped[list[AdmissionNote]] = relationship(
        back_populates="admission", order_by="AdmissionNote.created_at.desc(), AdmissionNote.id.desc()"
    )


class BedStay(db.Model):
    """One bed an admission held, from `started_at` to `ended_at` (NULL while it holds it): the
    Location history of the FHIR Encounter. `reason` says why the patient came here (admission,
    transfer: why)."""

    __tablename__ = "bed_stays"
    __table_args__ = (Index("ix_bed_stays_bed_started", "bed_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    admission_id: Mapped[int] = mapped_column(ForeignKey("admissions.id"), index=True)
    bed_id: Mapped[int] = mapped_column(ForeignKey("beds.id"))
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    moved_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(500), default="")

    admission: Mapped[Admission] = relationship(back_populates="stays")
    bed: Mapped[Bed] = relationship()
    ward: Mapped[Ward] = relationship()
    moved_by: Mapped[User] = relationship()


class AdmissionNote(db.Model):
    """A doctor's progress note or a nurse's note during the stay. Notes are never edited: a
    correction is a new note."""

    __tablename__ = "admission_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    admission_id: Mapped[int] = mapped_column(ForeignKey("admissions.id"), index=True)
    kind: Mapped[NoteKind] = mapped_column(enum_type(NoteKind))
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    admission: Mapped[Admission] = relationship(back_populates="notes")
    author: Mapped[User] = relationship()
