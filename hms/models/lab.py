"""The laboratory: a catalogue of tests and panels per hospital, and orders whose items are resulted,
verified and amended (FHIR ActivityDefinition / ServiceRequest, Specimen, Observation).

An order's items move registered → preliminary (a value entered) → final (verified by a second
person) → amended (changed after verification: a new result row that points at the one it replaces,
so the old value stays visible). Each item carries a version that every change bumps with a
conditional UPDATE, so two technicians working on the same item never both win."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, ForeignKey, Index, Numeric, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hms import clock
from hms.extensions import db
from hms.i18n import N_
from hms.models.types import UTCDateTime, enum_type
from hms.models.users import Sex

if TYPE_CHECKING:
    from hms.models.billing import Bill
    from hms.models.clinical import Encounter
    from hms.models.hospitals import Hospital
    from hms.models.users import Doctor, Patient, User

# Lab values: up to 10 digits before the point and 4 after (a white cell count in cells/L fits).
LabNumber = Numeric(14, 4)


class SpecimenKind(enum.StrEnum):
    blood = "blood"
    serum = "serum"
    plasma = "plasma"
    urine = "urine"
    stool = "stool"
    swab = "swab"
    sputum = "sputum"
    csf = "csf"
    other = "other"


class ResultKind(enum.StrEnum):
    numeric = "numeric"  # a number in the test's unit, with the test's decimals
    choice = "choice"  # one of the test's choices (positive / negative …)
    text = "text"  # free text (a microscopy description)


class LabPriority(enum.StrEnum):
    """FHIR ServiceRequest.priority."""

    routine = "routine"
    urgent = "urgent"
    stat = "stat"


class LabOrderStatus(enum.StrEnum):
    ordered = "ordered"  # waiting for the specimen; the only state that can be cancelled
    collected = "collected"  # specimen taken; results are being entered
    resulted = "resulted"  # every item has a value, some not verified yet
    verified = "verified"  # every item verified (the patient sees them)
    cancelled = "cancelled"


class LabItemStatus(enum.StrEnum):
    """FHIR Observation.status."""

    registered = "registered"  # waiting for a value
    preliminary = "preliminary"  # entered, not verified
    final = "final"  # verified by a second person
    amended = "amended"  # changed after verification
    cancelled = "cancelled"

    @property
    def is_released(self) -> bool:
        """Verified (or amended since): what a patient may see."""
        return self in (LabItemStatus.final, LabItemStatus.amended)


class LabFlag(enum.StrEnum):
    """The interpretation of a number (HL7 v2 / FHIR ObservationInterpretation codes)."""

    low = "L"
    high = "H"
    critical_low = "LL"
    critical_high = "HH"

    @property
    def is_critical(self) -> bool:
        return self in (LabFlag.critical_low, LabFlag.critical_high)

    @property
    def label(self) -> str:
        return {
            "L": N_("Low"),
            "H": N_("High"),
            "LL": N_("Critically low"),
            "HH": N_("Critically high"),
        }[self.value]


class LabTest(db.Model):
    """A test of a hospital's catalogue. Limits and prices are per hospital; retired tests stay for
    the orders that name them but can no longer be ordered."""

    __tablename__ = "lab_tests"
    __table_args__ = (UniqueConstraint("hospital_id", "code", name="uq_lab_tests_hospital_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    loinc: Mapped[str | None] = mapped_column(String(10))
    specimen: Mapped[SpecimenKind] = mapped_column(enum_type(SpecimenKind))
    kind: Mapped[ResultKind] = mapped_column(enum_type(ResultKind))
    unit: Mapped[str | None] = mapped_column(String(24))
    decimals: Mapped[int] = mapped_column(SmallInteger, default=0)
    choices: Mapped[str | None] = mapped_column(String(500))  # "positive|negative|invalid"
    critical_low: Mapped[Decimal | None] = mapped_column(LabNumber)
    critical_high: Mapped[Decimal | None] = mapped_column(LabNumber)
    physical_low: Mapped[Decimal | None] = mapped_column(LabNumber)
    physical_high: Mapped[Decimal | None] = mapped_column(LabNumber)
    turnaround_minutes: Mapped[int] = mapped_column(default=60)
    price_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    hospital: Mapped[Hospital] = relationship()
    ranges: Mapped[list[LabReferenceRange]] = relationship(
        back_populates="test", cascade="all, delete-orphan", order_by="LabReferenceRange.id"
    )

    @property
    def options(self) -> list[str]:
        return [c for c in (self.choices or "").split("|") if c]


class LabReferenceRange(db.Model):
    """The normal range of a test for a sex (None: anyone) and an age band [from, to) in days."""

    __tablename__ = "lab_reference_ranges"

    id: Mapped[int] = mapped_column(primary_key=True)
    test_id: Mapped[int] = mapped_column(ForeignKey("lab_tests.id", ondelete="CASCADE"), index=True)
    sex: Mapped[Sex | None] = mapped_column(enum_type(Sex))
    age_from_days: Mapped[int] = mapped_column(default=0)
    age_to_days: Mapped[int | None]
    low: Mapped[Decimal | None] = mapped_column(LabNumber)
    high: Mapped[Decimal | None] = mapped_column(LabNumber)

    test: Mapped[LabTest] = relationship(back_populates="ranges")


class LabPanel(db.Model):
    """Tests ordered together at one price (full blood count, lipid panel, kidney function)."""

    __tablename__ = "lab_panels"
    __table_args__ = (UniqueConstraint("hospital_id", "code", name="uq_lab_panels_hospital_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    loinc: Mapped[str | None] = mapped_column(String(10))
    price_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    active: Mapped[bool] = mapped_column(default=True)

    hospital: Mapped[Hospital] = relationship()
    members: Mapped[list[LabPanelTest]] = relationship(
        back_populates="panel", cascade="all, delete-orphan", order_by="LabPanelTest.position"
    )

    @property
    def tests(self) -> list[LabTest]:
        return [m.test for m in self.members]


class LabPanelTest(db.Model):
    __tablename__ = "lab_panel_tests"
    __table_args__ = (UniqueConstraint("panel_id", "test_id", name="uq_lab_panel_tests_panel_test"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("lab_panels.id", ondelete="CASCADE"))
    test_id: Mapped[int] = mapped_column(ForeignKey("lab_tests.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)

    panel: Mapped[LabPanel] = relationship(back_populates="members")
    test: Mapped[LabTest] = relationship()


class LabOrder(db.Model):
    """Tests a doctor ordered from an encounter (FHIR ServiceRequest); billed on one bill."""

    __tablename__ = "lab_orders"
    __table_args__ = (
        Index("ix_lab_orders_hospital_status", "hospital_id", "status"),
        Index("ix_lab_orders_patient_ordered", "patient_id", "ordered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id"), index=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"), index=True)
    ordered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    priority: Mapped[LabPriority] = mapped_column(enum_type(LabPriority), default=LabPriority.routine)
    status: Mapped[LabOrderStatus] = mapped_column(enum_type(LabOrderStatus), default=LabOrderStatus.ordered)
    clinical_note: Mapped[str] = mapped_column(String(500), default="")
    bill_id: Mapped[int | None] = mapped_column(ForeignKey("bills.id"))
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(String(500))

    hospital: Mapped[Hospital] = relationship()
    patient: Mapped[Patient] = relationship()
    encounter: Mapped[Encounter] = relationship()
    doctor: Mapped[Doctor] = relationship()
    ordered_by: Mapped[User] = relationship(foreign_keys=[ordered_by_id])
    cancelled_by: Mapped[User | None] = relationship(foreign_keys=[cancelled_by_id])
    bill: Mapped[Bill | None] = relationship()
    items: Mapped[list[LabOrderItem]] = relationship(back_populates="order", order_by="LabOrderItem.id")
    specimens: Mapped[list[LabSpecimen]] = relationship(back_populates="order", order_by="LabSpecimen.id")

    @property
    def number(self) -> str:
        return f"LAB{self.id:06d}"

    @property
    def can_cancel(self) -> bool:
        return self.status == LabOrderStatus.ordered


class LabSpecimen(db.Model):
    """A specimen taken for an order (one per specimen kind), with the number on its label."""

    __tablename__ = "lab_specimens"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("lab_orders.id"), index=True)
    kind: Mapped[SpecimenKind] = mapped_column(enum_type(SpecimenKind))
    label: Mapped[str] = mapped_column(String(24), unique=True)
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    collected_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    order: Mapped[LabOrder] = relationship(back_populates="specimens")
    collected_by: Mapped[User] = relationship()


class LabOrderItem(db.Model):
    """One test of an order (a panel's tests are one item each, with the panel named)."""

    __tablename__ = "lab_order_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("lab_orders.id"), index=True)
    test_id: Mapped[int] = mapped_column(ForeignKey("lab_tests.id"), index=True)
    panel_id: Mapped[int | None] = mapped_column(ForeignKey("lab_panels.id"))
    specimen_id: Mapped[int | None] = mapped_column(ForeignKey("lab_specimens.id"))
    status: Mapped[LabItemStatus] = mapped_column(enum_type(LabItemStatus), default=LabItemStatus.registered)
    version: Mapped[int] = mapped_column(default=1)

    order: Mapped[LabOrder] = relationship(back_populates="items")
    test: Mapped[LabTest] = relationship()
    panel: Mapped[LabPanel | None] = relationship()
    specimen: Mapped[LabSpecimen | None] = relationship()
    results: Mapped[list[LabResult]] = relationship(
        back_populates="item", order_by="LabResult.id", foreign_keys="LabResult.item_id"
    )

    @property
    def result(self) -> LabResult | None:
        """The current result: the latest one entered (an amendment replaces what it amends)."""
        return self.results[-1] if self.results else None


class LabResult(db.Model):
    """A value entered for an item (FHIR Observation). Never changed once verified: an amendment is a
    new row with `amends_id`, the reason, and who made it."""

    __tablename__ = "lab_results"
    __table_args__ = (Index("ix_lab_results_critical_open", "critical", "acknowledged_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("lab_order_items.id"), index=True)
    value_number: Mapped[Decimal | None] = mapped_column(LabNumber)
    value_text: Mapped[str | None] = mapped_column(String(500))
    unit: Mapped[str | None] = mapped_column(String(24))
    flag: Mapped[LabFlag | None] = mapped_column(enum_type(LabFlag))
    reference_low: Mapped[Decimal | None] = mapped_column(LabNumber)
    reference_high: Mapped[Decimal | None] = mapped_column(LabNumber)
    critical: Mapped[bool] = mapped_column(default=False)
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    amends_id: Mapped[int | None] = mapped_column(ForeignKey("lab_results.id"))
    amend_reason: Mapped[str | None] = mapped_column(String(500))
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    item: Mapped[LabOrderItem] = relationship(back_populates="results", foreign_keys=[item_id])
    entered_by: Mapped[User] = relationship(foreign_keys=[entered_by_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])
    amends: Mapped[LabResult | None] = relationship(remote_side=[id], foreign_keys=[amends_id])

    @property
    def value(self) -> str:
        """The value as entered (the number at the test's decimals, or the text)."""
        if self.value_number is None:
            return self.value_text or ""
        return f"{self.value_number:.{self.item.test.decimals}f}"

    @property
    def awaits_acknowledgement(self) -> bool:
        return self.critical and self.acknowledged_at is None
