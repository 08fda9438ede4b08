"""Factories: build and commit real rows with sensible defaults."""

from __future__ import annotations

import itertools
from datetime import date

from hms import clock
from hms.extensions import db
from hms.models import (
    Department,
    Doctor,
    Hospital,
    HospitalAdmin,
    HospitalStatus,
    Membership,
    MembershipStatus,
    Patient,
    Role,
    Sex,
    Staff,
    StaffKind,
    User,
)
from hms.services import passwords

PASSWORD = "correct horse battery"
_hash_cache: dict[str, str] = {}
_seq = itertools.count(1)


def password_hash() -> str:
    if PASSWORD not in _hash_cache:
        _hash_cache[PASSWORD] = passwords.hash_password(PASSWORD)
    return _hash_cache[PASSWORD]


def user(role: Role = Role.patient, *, email: str | None = None, name: str | None = None, **fields) -> User:  # type: ignore[no-untyped-def]
    n = next(_seq)
    account = User(
        email=email or f"user{n}@example.org",
        full_name=name or f"Test User {n}",
        password_hash=password_hash(),
        role=role,
        **fields,
    )
    db.session.add(account)
    db.session.commit()
    return account


def hospital(*, status: HospitalStatus = HospitalStatus.active, **fields) -> Hospital:  # type: ignore[no-untyped-def]
    n = next(_seq)
    values = {
        "name": f"Hospital {n}",
        "address": f"{n} Main Street",
        "city": "Nairobi",
        "timezone": "Africa/Nairobi",
        "currency": "KES",
        "status": status,
    } | fields
    row = Hospital(**values)
    db.session.add(row)
    db.session.commit()
    return row


def department(hospital_row: Hospital, name: str | None = None) -> Department:
    row = Department(hospital=hospital_row, name=name or f"Department {next(_seq)}")
    db.session.add(row)
    db.session.commit()
    return row


def patient(*, email: str | None = None, name: str | None = None, **fields) -> User:  # type: ignore[no-untyped-def]
    account = user(Role.patient, email=email, name=name)
    values = {
        "mrn": f"T{next(_seq):09d}",
        "date_of_birth": date(1990, 1, 1),
        "sex": Sex.female,
        "phone": "+254 700 000 000",
    } | fields
    account.patient = Patient(**values)
    db.session.commit()
    return account


def doctor(*, email: str | None = None, name: str | None = None, specialty: str = "General practice") -> User:
    account = user(Role.doctor, email=email, name=name)
    account.doctor = Doctor(specialty=specialty)
    db.session.commit()
    return account


def membership(
    doctor_user: User,
    hospital_row: Hospital,
    *,
    status: MembershipStatus = MembershipStatus.active,
    fee_minor: int = 100000,
    department_row: Department | None = None,
) -> Membership:
    row = Membership(
        doctor=doctor_user.doctor,
        hospital=hospital_row,
        status=status,
        fee_minor=fee_minor,
        department=department_row,
        since=clock.now(),
    )
    db.session.add(row)
    db.session.commit()
    return row


def hospital_admin(hospital_row: Hospital | None = None, *, email: str | None = None) -> User:
    account = user(Role.hospital_admin, email=email)
    db.session.add(HospitalAdmin(user=account, hospital=hospital_row or hospital()))
    db.session.commit()
    return account


def staff(
    hospital_row: Hospital, kind: StaffKind = StaffKind.receptionist, *, email: str | None = None
) -> User:
    account = user(Role.staff, email=email)
    account.staff = Staff(hospital=hospital_row, kind=kind)
    db.session.commit()
    return account


def super_admin(*, email: str | None = None) -> User:
    return user(Role.super_admin, email=email)


def doctor_at(hospital_row: Hospital | None = None, **kwargs) -> User:  # type: ignore[no-untyped-def]
    """A doctor with an active membership at `hospital_row` (a new active hospital by default)."""
    account = doctor(**kwargs)
    membership(account, hospital_row or hospital())
    return account
