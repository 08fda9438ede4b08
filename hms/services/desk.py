"""The registration desk: find a patient with one search box, warn of likely duplicates, register a
walk-in who has no email and no password (he claims his account later).

Which patients a hospital's desk sees (README, "Front desk"): those it registered and those with a
visit there; a patient of another hospital only when the search names him exactly, by his medical
record number or his whole phone number (what he tells the receptionist himself)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, and_, exists, false, or_, select
from sqlalchemy.orm import contains_eager, joinedload

from hms import clock
from hms.extensions import db
from hms.fields import parse_typed_date
from hms.i18n import N_
from hms.models import Appointment, Doctor, Hospital, Patient, Role, Sex, User
from hms.models.users import fold_words, name_key, phone_key
from hms.services.accounts import new_mrn
from hms.services.audit import record_event
from hms.services.errors import Invalid

MAX_RESULTS = 20
MAX_AGE = 130
ADULT_AGE = 18
# Two names this alike (difflib's ratio over the folded, sorted words) are a likely misspelling.
SIMILAR_NAMES = 0.85
_MRN = re.compile(r"[0-9A-Z]{4,16}")  # any shape: older records may differ from new_mrn()
_PHONE_TEXT = re.compile(r"\+?[0-9 ()\-.]{4,24}")
_YEAR = timedelta(days=366)
MIN_PHONE_DIGITS = 7  # fewer digits than this are part of a number, never a whole one


# ---------------------------------------------------------------- who the desk sees


def _of_hospital(hospital: Hospital):  # type: ignore[no-untyped-def]
    """A patient registered at this hospital or with a visit (any state) there; never a record merged
    into another (it only points to the kept one: hms/services/merge.py)."""
    visited = exists().where(Appointment.patient_id == Patient.id, Appointment.hospital_id == hospital.id)
    return and_(Patient.merged_into_id.is_(None), or_(Patient.registered_hospital_id == hospital.id, visited))


def hospital_patient(hospital: Hospital, patient_id: int) -> Patient | None:
    """The patient, when the desk of `hospital` may open his page; None otherwise (a 404)."""
    return db.session.scalar(
        _with_user(select(Patient)).where(Patient.id == patient_id, _of_hospital(hospital))
    )


def hospital_patient_ids(hospital: Hospital, ids: list[int]) -> set[int]:
    """Which of these patients the desk of `hospital` may open. One statement."""
    if not ids:
        return set()
    return set(db.session.scalars(select(Patient.id).where(Patient.id.in_(ids), _of_hospital(hospital))))


def record_desk_view(hospital: Hospital, patient: Patient, actor: User) -> None:
    """Every opening of a patient's desk page is audited. Flushes."""
    record_event(
        "view", "patient", patient.id, patient_id=patient.id, hospital_id=hospital.id, user_id=actor.id
    )


def _with_user(query: Select) -> Select:
    return query.join(Patient.user).options(contains_eager(Patient.user))


# ---------------------------------------------------------------- search


@dataclass(frozen=True)
class Found:
    patient: Patient
    ours: bool  # registered here or seen here: his page opens at this desk


def find_patients(hospital: Hospital, text: str, locale: str = "en") -> list[Found]:
    """Patients matching one search text: a medical record number, a phone number, a date of birth
    (ISO or as typed in `locale`) or words of the name in any order, accents and case ignored. One
    SQL statement whatever the number of patients; at most MAX_RESULTS, the hospital's first."""
    text = " ".join((text or "").split())[:80]
    if len(text) < 2:
        return []
    ours = _of_hospital(hospital)
    condition = false()
    upper = text.upper().replace(" ", "")
    if _MRN.fullmatch(upper):
        condition = Patient.mrn == upper  # a record number names one person: shown wherever registered
    if _PHONE_TEXT.fullmatch(text) and len(digits := re.sub(r"\D", "", text)) >= 4:
        key = phone_key(text)
        if len(digits) >= MIN_PHONE_DIGITS:
            condition = or_(
                condition, Patient.phone_key == key, and_(ours, Patient.phone_key.contains(digits[-9:]))
            )
        else:
            condition = or_(condition, and_(ours, Patient.phone_key.contains(digits, autoescape=True)))
    if (born := parse_typed_date(text, locale)) is not None:
        condition = or_(condition, and_(ours, Patient.date_of_birth == born))
    words = fold_words(text)
    if words and any(not w.isdigit() for w in words):
        condition = or_(
            condition, and_(ours, *[Patient.name_key.contains(w, autoescape=True) for w in words])
        )
    rows = db.session.execute(
        _with_user(select(Patient, ours.label("ours")))
        .where(condition, Patient.merged_into_id.is_(None))  # a merged record only points elsewhere
        .order_by(ours.desc(), User.full_name, Patient.id)
        .limit(MAX_RESULTS)
    ).all()
    return [Found(patient, bool(is_ours)) for patient, is_ours in rows]


# ---------------------------------------------------------------- duplicates


@dataclass(frozen=True)
class Duplicate:
    patient: Patient
    reasons: tuple[str, ...]  # msgids: same name and date of birth, same phone, similar name


SAME_NAME_AND_BIRTH = N_("Same name and date of birth")
SAME_PHONE = N_("Same phone number")
SIMILAR_NAME = N_("Similar name, same date of birth")


def _similar(a: str, b: str) -> bool:
    return difflib.SequenceMatcher(None, a, b).ratio() >= SIMILAR_NAMES


def find_duplicates(
    name: str, date_of_birth: date | None, phone: str | None, *, approximate: bool = False
) -> list[Duplicate]:
    """Patients on the platform who are likely the same person (a person has one record wherever he
    is seen): the same name (folded: accents, case and word order ignored) and date of birth; the
    same phone number (its last nine digits); or a similar spelling of the name (difflib ratio at
    least SIMILAR_NAMES) with the same date of birth. An approximate date (an age) matches any date
    a year either side, and so does a patient whose own date was approximate. One statement."""
    key = name_key(name)
    phone = phone_key(phone)
    candidates = []
    if phone and len(phone) >= MIN_PHONE_DIGITS:
        candidates.append(Patient.phone_key == phone)
    if date_of_birth is not None:
        window = and_(
            Patient.date_of_birth.between(date_of_birth - _YEAR, date_of_birth + _YEAR),
            or_(Patient.date_of_birth_approximate, approximate),
        )
        candidates.append(or_(Patient.date_of_birth == date_of_birth, window))
    if not candidates or not key:
        return []
    rows = db.session.scalars(
        _with_user(select(Patient))
        .where(or_(*candidates), Patient.merged_into_id.is_(None))
        .order_by(Patient.id)
        .limit(200)
    ).all()
    found = []
    for patient in rows:
        reasons = []
        close_birth = date_of_birth is not None and (
            patient.date_of_birth == date_of_birth
            or (
                (approximate or patient.date_of_birth_approximate)
                and abs(patient.date_of_birth - date_of_birth) <= _YEAR
            )
        )
        their_key = patient.name_key or name_key(patient.name)
        if close_birth and their_key == key:
            reasons.append(SAME_NAME_AND_BIRTH)
        elif close_birth and _similar(their_key, key):
            reasons.append(SIMILAR_NAME)
        if phone and len(phone) >= MIN_PHONE_DIGITS and patient.phone_key == phone:
            reasons.append(SAME_PHONE)
        if reasons:
            found.append(Duplicate(patient, tuple(reasons)))
    return found[:MAX_RESULTS]


# ---------------------------------------------------------------- registration


def birth_date_from_age(years: int, today: date) -> date:
    """The approximate date of birth of someone `years` old today: this day, that many years ago."""
    if not 0 <= years <= MAX_AGE:
        raise Invalid(N_("Enter an age between 0 and 130 years."), field="age")
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def register_patient(
    *,
    hospital: Hospital,
    actor: User,
    full_name: str,
    sex: Sex,
    phone: str,
    date_of_birth: date | None = None,
    age_years: int | None = None,
    address: str | None = None,
    emergency_contact: str | None = None,
    guardian_name: str | None = None,
    guardian_phone: str | None = None,
) -> Patient:
    """A patient registered at the desk of `hospital` by `actor`: a user with no email and no password
    (he cannot log in until he claims the account) and a new medical record number. Give the date of
    birth, or an age in years (the date is then flagged approximate). A child (under 18) needs a
    guardian's name and phone. Raises Invalid naming the field. Audited. Flushes."""
    today = clock.now().astimezone(hospital.tz).date()
    full_name = " ".join((full_name or "").split())
    if len(full_name) < 2 or not fold_words(full_name):
        raise Invalid(N_("Enter the patient's full name."), field="full_name")
    approximate = date_of_birth is None
    if date_of_birth is None:
        if age_years is None:
            raise Invalid(N_("Enter the date of birth or the age."), field="date_of_birth")
        date_of_birth = birth_date_from_age(age_years, today)
    if date_of_birth > today:
        raise Invalid(N_("The date of birth cannot be in the future."), field="date_of_birth")
    if _age(date_of_birth, today) > MAX_AGE:
        raise Invalid(N_("Nobody is older than 130 years: check the date of birth."), field="date_of_birth")
    phone = (phone or "").strip()
    if not phone_key(phone) or len(phone_key(phone) or "") < MIN_PHONE_DIGITS:
        raise Invalid(N_("Enter a phone number of at least 7 digits."), field="phone")
    guardian_name = " ".join((guardian_name or "").split()) or None
    guardian_phone = (guardian_phone or "").strip() or None
    if _age(date_of_birth, today) < ADULT_AGE:
        if not guardian_name:
            raise Invalid(N_("A child needs a guardian: enter the guardian's name."), field="guardian_name")
        if not guardian_phone:
            raise Invalid(N_("Enter the guardian's phone number."), field="guardian_phone")
    if guardian_phone and len(phone_key(guardian_phone) or "") < MIN_PHONE_DIGITS:
        raise Invalid(N_("Enter a phone number of at least 7 digits."), field="guardian_phone")
    user = User(full_name=full_name, email=None, password_hash=None, role=Role.patient)
    user.patient = Patient(
        mrn=new_mrn(),
        date_of_birth=date_of_birth,
        date_of_birth_approximate=approximate,
        sex=sex,
        phone=phone,
        address=(address or "").strip() or None,
        emergency_contact=(emergency_contact or "").strip() or None,
        guardian_name=guardian_name,
        guardian_phone=guardian_phone,
        registered_hospital_id=hospital.id,
    )
    db.session.add(user)
    db.session.flush()
    record_event(
        "create",
        "patient",
        user.patient.id,
        patient_id=user.patient.id,
        hospital_id=hospital.id,
        user_id=actor.id,
        detail="registered at the front desk",
    )
    return user.patient


def patient_visits(hospital: Hospital, patient: Patient, limit: int = 50) -> list[Appointment]:
    """The patient's visits at this hospital, latest first, with their doctors."""
    return list(
        db.session.scalars(
            select(Appointment)
            .where(Appointment.patient_id == patient.id, Appointment.hospital_id == hospital.id)
            .options(joinedload(Appointment.doctor).joinedload(Doctor.user))
            .order_by(Appointment.start_at.desc())
            .limit(limit)
        )
    )


__all__ = [
    "Duplicate",
    "Found",
    "birth_date_from_age",
    "find_duplicates",
    "find_patients",
    "hospital_patient",
    "hospital_patient_ids",
    "record_desk_view",
    "patient_visits",
    "register_patient",
]
