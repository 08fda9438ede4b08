"""Factories: build and commit real rows with sensible defaults."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta

from hms import clock
from hms.extensions import db
from hms.models import (
    Appointment,
    AppointmentStatus,
    Department,
    Doctor,
    Hospital,
    HospitalAdmin,
    HospitalStatus,
    Invitation,
    Membership,
    MembershipStatus,
    Patient,
    Role,
    ScheduleBreak,
    ScheduleRule,
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


def schedule(
    doctor_user: User,
    hospital_row: Hospital,
    weekdays: range | list[int] = range(7),
    start: str = "09:00",
    end: str = "17:00",
    slot_minutes: int = 30,
    breaks: list[tuple[str, str]] | None = None,
) -> list[ScheduleRule]:
    """Weekly rules for the doctor at the hospital (every day 09:00–17:00 by default)."""
    rules = []
    for weekday in weekdays:
        rule = ScheduleRule(
            doctor=doctor_user.doctor,
            hospital=hospital_row,
            weekday=weekday,
            start_time=time.fromisoformat(start),
            end_time=time.fromisoformat(end),
            slot_minutes=slot_minutes,
        )
        for b0, b1 in breaks or []:
            rule.breaks.append(
                ScheduleBreak(start_time=time.fromisoformat(b0), end_time=time.fromisoformat(b1))
            )
        db.session.add(rule)
        rules.append(rule)
    db.session.commit()
    return rules


def appointment(
    patient_user: User,
    doctor_user: User,
    hospital_row: Hospital,
    start_at: datetime,
    *,
    minutes: int = 30,
    status: AppointmentStatus = AppointmentStatus.booked,
    reason: str = "Check-up",
) -> Appointment:
    """An appointment row as the booking service would leave it (no rule checks: a fixture)."""
    row = Appointment(
        patient=patient_user.patient,
        doctor=doctor_user.doctor,
        hospital=hospital_row,
        start_at=start_at,
        end_at=start_at + timedelta(minutes=minutes),
        status=status,
        reason=reason,
        active_slot=Appointment.slot_key(start_at) if status.is_live else None,
        booked_by_id=patient_user.id,
    )
    db.session.add(row)
    db.session.commit()
    return row


def invitation(
    hospital_row: Hospital,
    *,
    email: str | None = None,
    role: Role = Role.doctor,
    staff_kind: StaffKind | None = None,
    hours: int = 72,
    token: str | None = None,
) -> tuple[Invitation, str]:
    """An open invitation and its token (as the link would carry it)."""
    import secrets
    from datetime import timedelta

    from hms.services.invitations import hash_token

    n = next(_seq)
    token = token or secrets.token_urlsafe(32)
    address = (email or f"invited{n}@example.org").lower()
    row = Invitation(
        hospital=hospital_row,
        email=address,
        open_email=address,
        full_name=f"Invited Person {n}",
        role=role,
        staff_kind=staff_kind or (StaffKind.nurse if role == Role.staff else None),
        specialty="Cardiology" if role == Role.doctor else None,
        token_hash=hash_token(token),
        created_at=clock.now(),
        expires_at=clock.now() + timedelta(hours=hours),
    )
    db.session.add(row)
    db.session.commit()
    return row, token
