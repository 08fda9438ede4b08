"""Accounts: registration for every role, authentication (throttled, never locked)."""

from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.i18n import N_
from hms.models import (
    Doctor,
    Hospital,
    HospitalAdmin,
    HospitalStatus,
    Patient,
    Role,
    Sex,
    Staff,
    StaffKind,
    User,
)
from hms.models.users import normalize_email
from hms.services import login_throttle, passwords
from hms.services.errors import EmailTaken, Invalid, LoginRefused

# Crockford's base32 without look-alike letters, for medical record numbers read aloud.
_MRN_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

# Verified against when an email is unknown, so that a miss takes as long as a wrong password.
_DUMMY_HASH: str | None = None


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def _new_user(full_name: str, email: str, password: str, role: Role) -> User:
    """`password` as typed (checked and hashed here), or `passwords.Hashed` (both done before)."""
    if find_user_by_email(email) is not None:
        raise EmailTaken()
    if not isinstance(password, passwords.Hashed):
        problem = passwords.password_problem(password, email)
        if problem:
            raise Invalid(problem, field="password")
        password = passwords.hash_password(password)
    user = User(full_name=full_name.strip(), email=email, password_hash=str(password), role=role)
    db.session.add(user)
    return user


def new_mrn() -> str:
    """A fresh medical record number, unique on the platform."""
    while True:
        mrn = "P" + "".join(secrets.choice(_MRN_ALPHABET) for _ in range(9))
        if db.session.scalar(select(Patient.id).where(Patient.mrn == mrn)) is None:
            return mrn


def register_patient(
    *,
    full_name: str,
    email: str,
    password: str,
    date_of_birth: date,
    sex: Sex,
    phone: str,
) -> User:
    if date_of_birth > clock.now().date():
        raise Invalid(N_("The date of birth cannot be in the future."), field="date_of_birth")
    user = _new_user(full_name, email, password, Role.patient)
    user.patient = Patient(mrn=new_mrn(), date_of_birth=date_of_birth, sex=sex, phone=phone.strip())
    db.session.flush()
    return user


def register_doctor(
    *,
    full_name: str,
    email: str,
    password: str,
    specialty: str,
    qualifications: str | None = None,
    license_number: str | None = None,
) -> User:
    user = _new_user(full_name, email, password, Role.doctor)
    user.doctor = Doctor(
        specialty=specialty.strip(),
        qualifications=(qualifications or "").strip() or None,
        license_number=(license_number or "").strip() or None,
    )
    db.session.flush()
    return user


def register_hospital(
    *,
    name: str,
    address: str,
    city: str,
    phone: str | None,
    timezone: str,
    currency: str,
    admin_name: str,
    admin_email: str,
    admin_password: str,
) -> Hospital:
    """A new hospital waits as pending, with its first administrator, until approved."""
    user = _new_user(admin_name, admin_email, admin_password, Role.hospital_admin)
    hospital = Hospital(
        name=name.strip(),
        address=address.strip(),
        city=city.strip(),
        phone=(phone or "").strip() or None,
        timezone=timezone,
        currency=currency.upper(),
        status=HospitalStatus.pending,
    )
    db.session.add(hospital)
    db.session.add(HospitalAdmin(user=user, hospital=hospital))
    db.session.flush()
    return hospital


def create_super_admin(*, email: str, password: str, full_name: str = "Platform administrator") -> User:
    user = _new_user(full_name, email, password, Role.super_admin)
    db.session.flush()
    return user


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = passwords.hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH


def login_block_reason(user: User) -> str | None:
    """Why a user with the right password still may not log in, if any."""
    if not user.active:
        return N_("This account is deactivated. Ask your hospital's administrator.")
    if user.role == Role.staff and user.staff and not user.staff.hospital.is_active:
        return N_("Your hospital is not active on the platform; you cannot log in there.")
    return None


def authenticate(email: str, password: str) -> User:
    """The user with these credentials, or LoginRefused. Known and unknown emails take the same way:
    the throttle first, then one password hash checked, then the failure counted (hms.services.
    login_throttle); nothing is locked. Flushes."""
    wait = login_throttle.seconds_to_wait(email)
    if wait:
        raise LoginRefused(login_throttle.refusal(wait), retry_after=wait)
    user = find_user_by_email(email)
    unclaimed = user is not None and user.password_hash is None  # made at the desk, no password yet
    if user is None or unclaimed or not passwords.verify_password(user.password_hash, password):
        if user is None or unclaimed:
            passwords.verify_password(_dummy_hash(), password)
        login_throttle.record_failure(email, user)
        raise LoginRefused(N_("Wrong email or password."))
    reason = login_block_reason(user)
    if reason:
        raise LoginRefused(reason)
    from hms.services import two_factor

    if not two_factor.is_enabled(user):  # else the count goes on until the code is right too
        login_throttle.record_success(email)
    user.last_login_at = clock.now()
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    db.session.flush()
    return user


def check_second_factor(user: User, code: str) -> None:
    """The login's second step: an authenticator or recovery code, counted by the same throttle as
    passwords; LoginRefused otherwise. Flushes."""
    from hms.services import two_factor

    wait = login_throttle.seconds_to_wait(user.email)
    if wait:
        raise LoginRefused(login_throttle.refusal(wait), retry_after=wait)
    if two_factor.verify_code(user, code):
        login_throttle.record_success(user.email)
        db.session.flush()
        return
    login_throttle.record_failure(user.email, user)
    raise LoginRefused(N_("That code is not right."))


def create_staff(*, hospital: Hospital, kind: StaffKind, full_name: str, email: str, password: str) -> User:
    user = _new_user(full_name, email, password, Role.staff)
    user.staff = Staff(hospital=hospital, kind=kind)
    db.session.flush()
    return user


def create_hospital_admin(*, hospital: Hospital, full_name: str, email: str, password: str) -> User:
    """Another administrator for an existing hospital."""
    user = _new_user(full_name, email, password, Role.hospital_admin)
    db.session.add(HospitalAdmin(user=user, hospital=hospital))
    db.session.flush()
    return user
