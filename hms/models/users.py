"""People: user accounts and the role profiles attached to them."""

from __future__ import annotations

import enum
import re
import unicodedata
from datetime import date, datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, Text, event, false, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, validates

from hms import clock
from hms.extensions import db
from hms.i18n import N_
from hms.models.types import UTCDateTime, enum_type

if TYPE_CHECKING:
    from hms.models.hospitals import Hospital, HospitalAdmin, Membership


class Role(enum.StrEnum):
    patient = "patient"
    doctor = "doctor"
    hospital_admin = "hospital_admin"
    super_admin = "super_admin"
    staff = "staff"

    @property
    def label(self) -> str:
        return {
            "patient": N_("Patient"),
            "doctor": N_("Doctor"),
            "hospital_admin": N_("Hospital administrator"),
            "super_admin": N_("Platform administrator"),
            "staff": N_("Staff"),
        }[self.value]


class Sex(enum.StrEnum):
    female = "female"
    male = "male"
    other = "other"
    unknown = "unknown"


class StaffKind(enum.StrEnum):
    nurse = "nurse"
    receptionist = "receptionist"
    pharmacist = "pharmacist"
    lab_technician = "lab_technician"

    @property
    def label(self) -> str:
        return {
            "nurse": N_("Nurse"),
            "receptionist": N_("Receptionist"),
            "pharmacist": N_("Pharmacist"),
            "lab_technician": N_("Lab technician"),
        }[self.value]


def normalize_email(email: str) -> str:
    return email.strip().lower()


def fold_words(text: str) -> list[str]:
    """The words of a name without accents, case or punctuation: "José  PÉREZ-Díaz" → jose perez diaz."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text or "") if not unicodedata.combining(c))
    return re.findall(r"\w+", plain.casefold())


def name_key(full_name: str) -> str:
    """A name's words folded and sorted, so that "Pérez José" and "jose perez" have the same key."""
    return " ".join(sorted(fold_words(full_name)))[:160]


def phone_key(phone: str | None) -> str | None:
    """The last nine digits of a phone number: the same for +254 712 345 678 and 0712-345678."""
    digits = re.sub(r"\D", "", (phone or "").translate(_ARABIC_DIGITS))
    return digits[-9:] or None


_ARABIC_DIGITS = str.maketrans(
    {chr(0x660 + n): str(n) for n in range(10)} | {chr(0x6F0 + n): str(n) for n in range(10)}
)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Both empty for a patient registered at the front desk: he cannot log in until he claims the
    # account (README, "Front desk"). Several NULLs never collide in the unique index on any database.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(enum_type(Role), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(16))
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    patient: Mapped[Patient | None] = relationship(
        back_populates="user", uselist=False, foreign_keys="Patient.user_id"
    )
    doctor: Mapped[Doctor | None] = relationship(back_populates="user", uselist=False)
    staff: Mapped[Staff | None] = relationship(back_populates="user", uselist=False)
    hospital_admin: Mapped[HospitalAdmin | None] = relationship(back_populates="user", uselist=False)

    @validates("email")
    def _normalize_email(self, key: str, value: str | None) -> str | None:
        return normalize_email(value) if value is not None else None

    @property
    def can_log_in(self) -> bool:
        """False for an account made at the front desk and not claimed yet (no email, no password)."""
        return self.email is not None and self.password_hash is not None

    @property
    def is_active(self) -> bool:  # Flask-Login asks this before logging a user in
        return self.active

    def get_id(self) -> str:
        # The session version invalidates every session when the password changes.
        return f"{self.id}:{self.session_version}"

    @property
    def first_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else ""

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class Patient(db.Model):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    mrn: Mapped[str] = mapped_column(String(16), unique=True)
    date_of_birth: Mapped[date]
    sex: Mapped[Sex] = mapped_column(enum_type(Sex))
    phone: Mapped[str] = mapped_column(String(32))
    blood_group: Mapped[str | None] = mapped_column(String(3))
    address: Mapped[str | None] = mapped_column(String(255))
    emergency_contact: Mapped[str | None] = mapped_column(String(255))
    allergies: Mapped[str | None] = mapped_column(Text)
    # Front desk: an age given instead of a date makes an approximate date of birth; a child has a
    # guardian; the hospital where the desk registered him (None: registered online).
    date_of_birth_approximate: Mapped[bool] = mapped_column(default=False, server_default=false())
    guardian_name: Mapped[str | None] = mapped_column(String(120))
    guardian_phone: Mapped[str | None] = mapped_column(String(32))
    registered_hospital_id: Mapped[int | None] = mapped_column(ForeignKey("hospitals.id"), index=True)
    # Search keys, kept by hms.models.users._refresh_search_keys on every flush: the name folded
    # (no accents, no case, words sorted) and the phone's last nine digits.
    name_key: Mapped[str | None] = mapped_column(String(160), index=True)
    phone_key: Mapped[str | None] = mapped_column(String(16), index=True)
    # An account registered online that is likely this same person (its email was given for this
    # desk-registered patient): the two records should be merged, not claimed as a second account.
    duplicate_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Set when this record was merged into another one (hms/services/merge.py): it then only points there.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))

    user: Mapped[User] = relationship(back_populates="patient", foreign_keys=[user_id])
    duplicate_user: Mapped[User | None] = relationship(foreign_keys=[duplicate_user_id])
    merged_into: Mapped[Patient | None] = relationship(remote_side=[id], foreign_keys=[merged_into_id])

    def refresh_search_keys(self) -> None:
        self.name_key = name_key(self.user.full_name) if self.user is not None else None
        self.phone_key = phone_key(self.phone)

    @property
    def name(self) -> str:
        return self.user.full_name

    def age(self, today: date) -> int:
        years = today.year - self.date_of_birth.year
        if (today.month, today.day) < (self.date_of_birth.month, self.date_of_birth.day):
            years -= 1
        return years


class Doctor(db.Model):
    """A practitioner; works at hospitals through memberships."""

    __tablename__ = "doctors"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    specialty: Mapped[str] = mapped_column(String(80), index=True)
    qualifications: Mapped[str | None] = mapped_column(String(255))
    license_number: Mapped[str | None] = mapped_column(String(64))
    bio: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User] = relationship(back_populates="doctor")
    memberships: Mapped[list[Membership]] = relationship(back_populates="doctor")

    @property
    def name(self) -> str:
        return self.user.full_name


class Staff(db.Model):
    """A nurse, receptionist, pharmacist or lab technician at one hospital."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    kind: Mapped[StaffKind] = mapped_column(enum_type(StaffKind))
    # A senior lab technician verifies the results other technicians entered (hms.services.lab).
    senior: Mapped[bool] = mapped_column(default=False)

    user: Mapped[User] = relationship(back_populates="staff")
    hospital: Mapped[Hospital] = relationship()


@event.listens_for(Session, "before_flush")
def _refresh_search_keys(session: Session, flush_context, instances) -> None:  # type: ignore[no-untyped-def]
    """Keep every patient's search keys in step with his name and phone, whoever changes them."""
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Patient):
            state = inspect(obj)
            if obj in session.new or state.attrs.phone.history.has_changes() or obj.name_key is None:
                obj.refresh_search_keys()
        elif (
            isinstance(obj, User)
            and obj.role == Role.patient
            and inspect(obj).attrs.full_name.history.has_changes()
            and obj.patient is not None
        ):
            obj.patient.refresh_search_keys()
