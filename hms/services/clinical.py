"""Clinical records: who may see them, medical history, encounters, diagnoses and prescriptions.

The access rule lives in one place, `can_doctor_see_patient` (and its query form
`_has_care_relationship`): a doctor sees a patient's records while the patient has or had an
appointment with him that was not cancelled (booked, arrived, fulfilled or no-show), or when the
doctor already wrote an encounter for the patient. A booking that was cancelled, including the old
half of a rescheduled one, gives no access; a future booking does, so that the doctor can prepare.

Every view and change of a clinical record writes an audit event (`audit`). Services lock what they
change first (`lock_rows`) and audit last, so that the audit chain's lock is the last one taken."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask_babel import gettext
from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from hms import clock
from hms.database import lock_rows
from hms.extensions import db
from hms.i18n import N_, in_language_of
from hms.models import (
    Admission,
    Appointment,
    AppointmentStatus,
    AuditEvent,
    Diagnosis,
    Doctor,
    Encounter,
    EntrySource,
    HistoryKind,
    Hospital,
    MedicalHistoryEntry,
    NoteKind,
    Patient,
    Prescription,
    PrescriptionItem,
    PrescriptionStatus,
    Role,
    User,
)
from hms.models.clinical import AllergySeverity
from hms.services import triage
from hms.services.audit import record_event
from hms.services.errors import Conflict, Invalid, NotAllowed
from hms.services.notifications import notify

ICD10_FILE = Path(__file__).resolve().parents[1] / "data" / "icd10.csv"
ICD10_CODE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")

# Plausible ranges for vitals (adults and children); outside them a typing error is far likelier.
VITAL_RANGES: dict[str, tuple[Decimal, Decimal, str]] = {
    "bp_systolic": (Decimal(50), Decimal(260), "mmHg"),
    "bp_diastolic": (Decimal(30), Decimal(160), "mmHg"),
    "pulse": (Decimal(20), Decimal(250), "/min"),
    "temperature_c": (Decimal("30.0"), Decimal("45.0"), "°C"),
    "weight_kg": (Decimal("0.3"), Decimal(400), "kg"),
    "height_cm": (Decimal(20), Decimal(250), "cm"),
}
NOTES_MAX = 10_000
MAX_DIAGNOSES = 20
MAX_ITEMS = 30
MAX_QUANTITY = 10_000
ENCOUNTER_OPENS_BEFORE = timedelta(hours=12)
CLINICAL_RECORD_TYPES = (
    "patient_record",
    "medical_history",
    "encounter",
    "diagnosis",
    "prescription",
    "prescription_item",
)


class StaleRecord(Conflict):
    """Someone saved the record after this form was loaded; `current` is the newer version."""

    def __init__(self, current: Any) -> None:
        super().__init__(
            N_(
                "Someone else saved this record while you were editing it. Their version is shown; "
                "what you typed is still in the form: check it and save again."
            )
        )
        self.current = current


# ---------------------------------------------------------------- access rule


def _has_care_relationship(doctor_id: int, patient_id_column: Any) -> Any:
    """SQL: the patient in `patient_id_column` has or had a non-cancelled appointment with the doctor,
    the doctor wrote an encounter for him, or admitted him or treats him on a ward."""
    return or_(
        exists().where(
            Appointment.patient_id == patient_id_column,
            Appointment.doctor_id == doctor_id,
            Appointment.status != AppointmentStatus.cancelled,
        ),
        exists().where(Encounter.patient_id == patient_id_column, Encounter.doctor_id == doctor_id),
        exists().where(
            Admission.patient_id == patient_id_column,
            or_(Admission.admitting_doctor_id == doctor_id, Admission.attending_doctor_id == doctor_id),
        ),
    )


def doctor_sees_patient_clause(doctor_id: int, patient_id_column: Any) -> Any:
    """The access rule as a SQL condition on any patient id column (for queries such as the FHIR API's).
    The rule is applied to patients.id in a subquery: correlated directly against a column of
    `encounters`, its own EXISTS on encounters would compare that table with itself."""
    return patient_id_column.in_(select(Patient.id).where(_has_care_relationship(doctor_id, Patient.id)))


def can_doctor_see_patient(doctor: Doctor, patient_id: int) -> bool:
    """The one access rule for doctors and clinical records (see the module's docstring)."""
    return bool(db.session.scalar(select(_has_care_relationship(doctor.id, patient_id))))


def patient_for_doctor(doctor: Doctor, patient_id: int) -> Patient | None:
    """The patient, if the doctor may see his records; None otherwise (the caller answers 404)."""
    return db.session.scalar(
        select(Patient)
        .where(Patient.id == patient_id, _has_care_relationship(doctor.id, Patient.id))
        .options(joinedload(Patient.user))
    )


@dataclass(frozen=True)
class PatientRow:
    patient: Patient
    last_visit: datetime | None
    timezone: str = "UTC"  # the zone of the last visit's hospital, which dates it


def _like(value: str) -> str:
    escaped = value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def find_patients(
    doctor: Doctor, *, text: str = "", born: Any = None, page: int = 1, per_page: int = 20
) -> tuple[list[PatientRow], int]:
    """The doctor's patients (by the access rule) matching a name or MRN and a date of birth."""
    visits = (
        select(Appointment.patient_id, func.max(Appointment.start_at).label("last_visit"))
        .where(Appointment.doctor_id == doctor.id, Appointment.status != AppointmentStatus.cancelled)
        .group_by(Appointment.patient_id)
        .subquery()
    )
    # The hospital of that visit, whose clock dates it (one visit of a doctor starts at a given time).
    last_zone = (
        select(Hospital.timezone)
        .join(Appointment, Appointment.hospital_id == Hospital.id)
        .where(
            Appointment.patient_id == Patient.id,
            Appointment.doctor_id == doctor.id,
            Appointment.status != AppointmentStatus.cancelled,
        )
        .order_by(Appointment.start_at.desc())
        .limit(1)
        .correlate(Patient)
        .scalar_subquery()
    )
    query = (
        select(Patient, visits.c.last_visit)
        .join(Patient.user)
        .outerjoin(visits, visits.c.patient_id == Patient.id)
        .where(_has_care_relationship(doctor.id, Patient.id))
    )
    text = text.strip()[:120]
    if text:
        query = query.where(
            or_(
                func.lower(User.full_name).like(_like(text), escape="\\"),
                Patient.mrn == text.upper(),
            )
        )
    if born:
        query = query.where(Patient.date_of_birth == born)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.execute(
        query.add_columns(last_zone)
        .options(joinedload(Patient.user))
        .order_by(User.full_name, Patient.id)
        .limit(per_page)
        .offset(max(page - 1, 0) * per_page)
    ).all()
    return [PatientRow(patient, _aware(last), zone or "UTC") for patient, last, zone in rows], total


def _aware(value: datetime | None) -> datetime | None:
    """max() over a UTC column comes back naive from some drivers: make it aware UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def todays_appointments(doctor: Doctor, now: datetime | None = None) -> list[Appointment]:
    """The doctor's appointments from 12 hours ago to 12 hours ahead that an encounter can be opened for."""
    now = now or clock.now()
    return list(
        db.session.scalars(
            select(Appointment)
            .where(
                Appointment.doctor_id == doctor.id,
                Appointment.status != AppointmentStatus.cancelled,
                Appointment.start_at >= now - timedelta(hours=12),
                Appointment.start_at <= now + ENCOUNTER_OPENS_BEFORE,
            )
            .options(
                joinedload(Appointment.patient).joinedload(Patient.user), joinedload(Appointment.hospital)
            )
            .order_by(Appointment.start_at)
            .limit(50)
        )
    )


# ---------------------------------------------------------------- audit


def audit(
    action: str,
    record_type: str,
    record_id: int | None,
    *,
    patient_id: int | None,
    hospital_id: int | None = None,
    outcome: str = "success",
    detail: str | None = None,
) -> AuditEvent:
    """One audit row for a clinical record (who and from where come from the request)."""
    return record_event(
        action,
        record_type,
        record_id,
        patient_id=patient_id,
        hospital_id=hospital_id,
        outcome=outcome,
        detail=detail,
    )


def record_access_log(patient_id: int, page: int = 1, per_page: int = 30) -> tuple[list[AuditEvent], int]:
    """Who viewed or changed the patient's records, newest first (from the audit log)."""
    query = select(AuditEvent).where(AuditEvent.patient_id == patient_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(AuditEvent.id.desc()).limit(per_page).offset(max(page - 1, 0) * per_page)
    ).all()
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_({r.user_id for r in rows})))}
    for row in rows:
        row.actor = users.get(row.user_id)  # type: ignore[attr-defined]
    return list(rows), total


# ---------------------------------------------------------------- ICD-10


@lru_cache(maxsize=1)
def icd10_codes() -> dict[str, str]:
    """The shipped list of common ICD-10 codes (hms/data/icd10.csv): code → title."""
    with ICD10_FILE.open(encoding="utf-8", newline="") as handle:
        return {row["code"]: row["title"] for row in csv.DictReader(handle)}


def normalize_icd10(value: str) -> str:
    """An ICD-10 code in canonical form (J069 and j06.9 → J06.9); Invalid when it is not one."""
    code = re.sub(r"\s+", "", value or "").upper()
    if len(code) > 3 and "." not in code:
        code = f"{code[:3]}.{code[3:]}"
    if not ICD10_CODE.match(code):
        raise Invalid(
            N_("Enter an ICD-10 code such as J06.9 (a letter, two digits, then a dot and more)."), "code"
        )
    return code


def search_icd10(query: str, limit: int = 10) -> list[tuple[str, str]]:
    """Codes whose code starts with the query, then codes whose title holds every word of it."""
    text = (query or "").strip()[:60]
    if len(text) < 2:
        return []
    codes = icd10_codes()
    key = text.upper().replace(" ", "")
    by_code = [(c, t) for c, t in codes.items() if c.replace(".", "").startswith(key.replace(".", ""))]
    words = text.lower().split()
    by_title = [(c, t) for c, t in codes.items() if all(w in t.lower() for w in words)]
    seen: set[str] = set()
    found = []
    for code, title in sorted(by_code) + by_title:
        if code not in seen:
            seen.add(code)
            found.append((code, title))
    return found[:limit]


# ---------------------------------------------------------------- medical history

HISTORY_FIELDS = ("kind", "title", "detail", "reaction", "severity", "relation", "since")


def history_entries(patient_id: int) -> list[MedicalHistoryEntry]:
    return list(
        db.session.scalars(
            select(MedicalHistoryEntry)
            .where(MedicalHistoryEntry.patient_id == patient_id, MedicalHistoryEntry.removed_at.is_(None))
            .options(joinedload(MedicalHistoryEntry.recorded_by))
            .order_by(MedicalHistoryEntry.kind, MedicalHistoryEntry.id)
        )
    )


def history_by_kind(patient_id: int) -> dict[HistoryKind, list[MedicalHistoryEntry]]:
    grouped: dict[HistoryKind, list[MedicalHistoryEntry]] = {kind: [] for kind in HistoryKind}
    for entry in history_entries(patient_id):
        grouped[entry.kind].append(entry)
    return grouped


def can_edit_history(entry: MedicalHistoryEntry, user: User) -> bool:
    """A patient edits what he wrote himself; a doctor edits what he wrote."""
    if entry.removed_at is not None:
        return False
    if user.role == Role.patient:
        return (
            entry.source == EntrySource.patient
            and user.patient is not None
            and (entry.patient_id == user.patient.id)
        )
    return entry.recorded_by_id == user.id


def _clean_history(values: dict[str, Any]) -> dict[str, Any]:
    kind = values.get("kind")
    try:
        kind = HistoryKind(kind)
    except ValueError as error:
        raise Invalid(N_("Choose what kind of entry this is."), "kind") from error
    title = (values.get("title") or "").strip()
    if not title:
        raise Invalid(N_("Name the condition, substance, medicine or operation."), "title")
    if len(title) > 200:
        raise Invalid(N_("Keep the name under 200 characters."), "title")
    severity = values.get("severity") or None
    if severity is not None:
        try:
            severity = AllergySeverity(severity)
        except ValueError as error:
            raise Invalid(N_("Choose mild, moderate or severe."), "severity") from error
    since = values.get("since")
    if since is not None and since > clock.now().date():
        raise Invalid(N_("The date cannot be in the future."), "since")
    clean = {
        "kind": kind,
        "title": title,
        "detail": (values.get("detail") or "").strip()[:1000] or None,
        "reaction": None,
        "severity": None,
        "relation": None,
        "since": since,
    }
    if kind == HistoryKind.allergy:
        clean["reaction"] = (values.get("reaction") or "").strip()[:200] or None
        clean["severity"] = severity
    if kind == HistoryKind.family_history:
        clean["relation"] = (values.get("relation") or "").strip()[:60] or None
    return clean


def add_history_entry(patient: Patient, actor: User, values: dict[str, Any]) -> MedicalHistoryEntry:
    clean = _clean_history(values)
    entry = MedicalHistoryEntry(
        patient_id=patient.id,
        source=EntrySource.patient if actor.role == Role.patient else EntrySource.practitioner,
        recorded_by_id=actor.id,
        **clean,
    )
    db.session.add(entry)
    db.session.flush()
    audit("create", "medical_history", entry.id, patient_id=patient.id, detail=entry.kind.value)
    return entry


def _check_version(record: Any, version: int | None) -> None:
    if version is None or int(version) != record.version:
        raise StaleRecord(record)


def _flush_versioned(record: Any) -> None:
    try:
        db.session.flush()
    except StaleDataError as error:  # a concurrent save committed between our read and our write
        raise StaleRecord(record) from error


def update_history_entry(
    entry: MedicalHistoryEntry, actor: User, values: dict[str, Any], version: int | None
) -> MedicalHistoryEntry:
    if not can_edit_history(entry, actor):
        raise NotAllowed(N_("Only the person who wrote this entry can change it."))
    clean = _clean_history(values)
    _check_version(entry, version)
    changed = [name for name, value in clean.items() if getattr(entry, name) != value]
    for name, value in clean.items():
        setattr(entry, name, value)
    _flush_versioned(entry)
    audit(
        "update", "medical_history", entry.id, patient_id=entry.patient_id, detail=",".join(changed) or None
    )
    return entry


def remove_history_entry(entry: MedicalHistoryEntry, actor: User) -> None:
    """Mark the entry removed (kept for the record, hidden everywhere)."""
    if entry.removed_at is not None:
        return
    if not can_edit_history(entry, actor):
        raise NotAllowed(N_("Only the person who wrote this entry can remove it."))
    entry.removed_at = clock.now()
    entry.removed_by_id = actor.id
    _flush_versioned(entry)
    audit("delete", "medical_history", entry.id, patient_id=entry.patient_id)


# ---------------------------------------------------------------- encounters

ENCOUNTER_FIELDS = (
    "chief_complaint",
    "bp_systolic",
    "bp_diastolic",
    "pulse",
    "temperature_c",
    "weight_kg",
    "height_cm",
    "notes",
)


def can_open_encounter(appointment: Appointment, now: datetime | None = None) -> bool:
    now = now or clock.now()
    return appointment.status != AppointmentStatus.cancelled and now >= (
        appointment.start_at - ENCOUNTER_OPENS_BEFORE
    )


def encounter_for_appointment(appointment_id: int) -> Encounter | None:
    return db.session.scalar(select(Encounter).where(Encounter.appointment_id == appointment_id))


def open_encounter(appointment: Appointment, doctor: Doctor) -> Encounter:
    """The appointment's encounter, created on first opening (one per appointment)."""
    if appointment.doctor_id != doctor.id:
        raise NotAllowed(N_("This is another doctor's appointment."))
    existing = encounter_for_appointment(appointment.id)
    if existing is not None:
        return existing
    if appointment.status == AppointmentStatus.cancelled:
        raise Conflict(N_("This appointment was cancelled; there is no visit to record."))
    if not can_open_encounter(appointment):
        raise Conflict(N_("The visit can be recorded from 12 hours before the appointment."))
    encounter = Encounter(
        appointment_id=appointment.id,
        patient_id=appointment.patient_id,
        doctor_id=doctor.id,
        hospital_id=appointment.hospital_id,
        chief_complaint=(appointment.reason or "")[:500],
        notes="",
    )
    # The nurse's triage, when she took one, fills the complaint and the vitals (hms.services.triage).
    for name, value in triage.encounter_prefill(appointment.id).items():
        setattr(encounter, name, value)
    try:
        with db.session.begin_nested():  # added inside: begin_nested() flushes what is pending outside it
            db.session.add(encounter)
    except IntegrityError:  # a double click created it first
        found = encounter_for_appointment(appointment.id)
        if found is None:
            raise
        return found
    audit(
        "create",
        "encounter",
        encounter.id,
        patient_id=encounter.patient_id,
        hospital_id=encounter.hospital_id,
    )
    return encounter


def _clean_encounter(values: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    complaint = (values.get("chief_complaint") or "").strip()
    if len(complaint) > 500:
        raise Invalid(N_("Keep the chief complaint under 500 characters."), "chief_complaint")
    clean["chief_complaint"] = complaint
    notes = (values.get("notes") or "").strip()
    if len(notes) > NOTES_MAX:
        raise Invalid(gettext("Notes can hold at most %(num)s characters.", num=f"{NOTES_MAX:,}"), "notes")
    clean["notes"] = notes
    for name, (low, high, unit) in VITAL_RANGES.items():
        value = values.get(name)
        if value is None or value == "":
            clean[name] = None
            continue
        number = Decimal(str(value))
        if not low <= number <= high:
            raise Invalid(
                gettext("Enter a value from %(low)s to %(high)s %(unit)s.", low=low, high=high, unit=unit),
                name,
            )
        clean[name] = int(number) if name in ("bp_systolic", "bp_diastolic", "pulse") else number
    systolic, diastolic = clean["bp_systolic"], clean["bp_diastolic"]
    if (systolic is None) != (diastolic is None):
        raise Invalid(N_("Enter both blood pressure values, or neither."), "bp_diastolic")
    if systolic is not None and diastolic >= systolic:
        raise Invalid(N_("The diastolic pressure must be lower than the systolic."), "bp_diastolic")
    return clean


def update_encounter(
    encounter: Encounter, doctor: Doctor, values: dict[str, Any], version: int | None
) -> Encounter:
    if encounter.doctor_id != doctor.id:
        raise NotAllowed(N_("Only the doctor of this visit can change its record."))
    clean = _clean_encounter(values)
    _check_version(encounter, version)
    changed = [name for name, value in clean.items() if getattr(encounter, name) != value]
    for name, value in clean.items():
        setattr(encounter, name, value)
    _flush_versioned(encounter)
    audit(
        "update",
        "encounter",
        encounter.id,
        patient_id=encounter.patient_id,
        hospital_id=encounter.hospital_id,
        detail=",".join(changed) or None,
    )
    return encounter


def add_diagnosis(encounter: Encounter, doctor: Doctor, code: str, text: str) -> Diagnosis:
    if encounter.doctor_id != doctor.id:
        raise NotAllowed(N_("Only the doctor of this visit can change its record."))
    code = normalize_icd10(code)
    text = (text or "").strip()
    if not text:
        text = icd10_codes().get(code, "")
    if not text:
        raise Invalid(N_("This code is not in our list: describe the diagnosis in words."), "text")
    if len(text) > 255:
        raise Invalid(N_("Keep the description under 255 characters."), "text")
    if any(d.code == code for d in encounter.diagnoses):
        raise Invalid(gettext("%(code)s is already recorded for this visit.", code=code), "code")
    if len(encounter.diagnoses) >= MAX_DIAGNOSES:
        raise Invalid(gettext("A visit can have at most %(num)d diagnoses.", num=MAX_DIAGNOSES), "code")
    diagnosis = Diagnosis(encounter=encounter, code=code, text=text)
    db.session.add(diagnosis)
    db.session.flush()
    audit(
        "create",
        "diagnosis",
        diagnosis.id,
        patient_id=encounter.patient_id,
        hospital_id=encounter.hospital_id,
    )
    return diagnosis


def remove_diagnosis(diagnosis: Diagnosis, doctor: Doctor) -> None:
    encounter = diagnosis.encounter
    if encounter.doctor_id != doctor.id:
        raise NotAllowed(N_("Only the doctor of this visit can change its record."))
    diagnosis_id = diagnosis.id
    encounter.diagnoses.remove(diagnosis)
    db.session.flush()
    audit(
        "delete",
        "diagnosis",
        diagnosis_id,
        patient_id=encounter.patient_id,
        hospital_id=encounter.hospital_id,
    )


def patient_encounters(patient_id: int, *, limit: int = 20, offset: int = 0) -> list[Encounter]:
    """The patient's encounters with every doctor, newest first, with diagnoses and prescriptions."""
    return list(
        db.session.scalars(
            select(Encounter)
            .join(Encounter.appointment)
            .where(Encounter.patient_id == patient_id)
            .options(
                joinedload(Encounter.appointment),
                joinedload(Encounter.hospital),
                joinedload(Encounter.doctor).joinedload(Doctor.user),
                selectinload(Encounter.diagnoses),
                selectinload(Encounter.prescriptions).selectinload(Prescription.items),
            )
            .order_by(Appointment.start_at.desc(), Encounter.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )


def count_encounters(patient_id: int) -> int:
    return db.session.scalar(select(func.count(Encounter.id)).where(Encounter.patient_id == patient_id)) or 0


# ---------------------------------------------------------------- prescriptions

ITEM_FIELDS = PrescriptionItem.EDITABLE
ITEM_LIMITS = {
    "drug": 120,
    "strength": 40,
    "form": 40,
    "dose": 60,
    "route": 40,
    "frequency": 60,
    "duration": 40,
    "instructions": 500,
}


def _lock(*prescriptions: Prescription) -> None:
    """Serialize changes of these prescriptions (items, status) and read their newest state.

    Rows are locked in id order (an older version before its revision), so two writers cannot
    deadlock; everything loaded before is expired, to be read again under the lock."""
    ids = sorted({p.id for p in prescriptions})
    lock_rows(*[(Prescription, pid) for pid in ids])
    db.session.expire_all()


def _lock_draft(prescription: Prescription, doctor: Doctor) -> None:
    if prescription.doctor_id != doctor.id:
        raise NotAllowed(N_("This is another doctor's prescription."))
    _lock(prescription)
    if not prescription.is_draft:
        raise Conflict(N_("This prescription has been issued and can no longer be changed."))


def start_prescription(encounter: Encounter, doctor: Doctor) -> Prescription:
    """A new draft for the visit (the visit's open draft, when there already is one)."""
    if encounter.doctor_id != doctor.id:
        raise NotAllowed(N_("Only the doctor of this visit can prescribe in it."))
    lock_rows((Encounter, encounter.id))
    return _start_draft(
        doctor,
        Prescription.encounter_id == encounter.id,
        encounter_id=encounter.id,
        patient_id=encounter.patient_id,
        hospital_id=encounter.hospital_id,
    )


def start_admission_prescription(admission: Admission, doctor: Doctor) -> Prescription:
    """A new draft written on the ward for an admitted patient, by a treating doctor (admitting or
    attending) while the patient is in a bed; the doctor's open draft for the stay, if he has one."""
    from hms.services import inpatient

    if inpatient.can_write_note(doctor.user, admission) != NoteKind.progress:
        raise NotAllowed(N_("Only the patient's doctors prescribe on the ward while he is in a bed."))
    lock_rows((Admission, admission.id))
    return _start_draft(
        doctor,
        (Prescription.admission_id == admission.id) & (Prescription.doctor_id == doctor.id),
        admission_id=admission.id,
        patient_id=admission.patient_id,
        hospital_id=admission.hospital_id,
    )


def _start_draft(doctor: Doctor, owner: Any, **fields: Any) -> Prescription:
    """The open (not revising) draft of this visit or stay, or a new one; called under the owner's lock."""
    draft = db.session.scalar(
        select(Prescription).where(
            owner,
            Prescription.status == PrescriptionStatus.draft,
            Prescription.supersedes_id.is_(None),
        )
    )
    if draft is not None:
        return draft
    prescription = Prescription(doctor_id=doctor.id, status=PrescriptionStatus.draft, note="", **fields)
    db.session.add(prescription)
    db.session.flush()
    audit(
        "create",
        "prescription",
        prescription.id,
        patient_id=prescription.patient_id,
        hospital_id=prescription.hospital_id,
    )
    return prescription


def admission_prescriptions_for_patient(admission_id: int) -> list[Prescription]:
    """The issued prescriptions of a stay with their medicines, for the patient (two statements)."""
    return list(
        db.session.scalars(
            select(Prescription)
            .where(Prescription.admission_id == admission_id, Prescription.status != PrescriptionStatus.draft)
            .options(
                selectinload(Prescription.items), joinedload(Prescription.doctor).joinedload(Doctor.user)
            )
            .order_by(Prescription.issued_at, Prescription.id)
        )
    )


def patient_link(prescription: Prescription) -> str:
    """Where the patient reads the prescription: his visits, or the stay it was written in."""
    if prescription.admission_id is not None:
        return f"/patient/admissions/{prescription.admission_id}"
    return "/patient/encounters"


def can_read_prescription(doctor: Doctor, prescription: Prescription) -> bool:
    """Its doctor; for a prescription written on the ward, the admission's treating doctors too
    (issued ones: a draft is its author's alone)."""
    if prescription.doctor_id == doctor.id:
        return True
    admission = prescription.admission
    return (
        admission is not None
        and not prescription.is_draft
        and doctor.id in (admission.admitting_doctor_id, admission.attending_doctor_id)
    )


def save_prescription_note(
    prescription: Prescription, doctor: Doctor, note: str, version: int | None
) -> Prescription:
    _lock_draft(prescription, doctor)
    note = (note or "").strip()
    if len(note) > 1000:
        raise Invalid(N_("Keep the note under 1,000 characters."), "note")
    _check_version(prescription, version)
    prescription.note = note
    _flush_versioned(prescription)
    audit(
        "update",
        "prescription",
        prescription.id,
        patient_id=prescription.patient_id,
        hospital_id=prescription.hospital_id,
    )
    return prescription


def _clean_item(values: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for name, limit in ITEM_LIMITS.items():
        value = (values.get(name) or "").strip()
        if len(value) > limit:
            raise Invalid(gettext("Keep this under %(num)d characters.", num=limit), name)
        clean[name] = value
    if not clean["drug"]:
        raise Invalid(N_("Name the medicine."), "drug")
    quantity = values.get("quantity")
    if quantity in (None, ""):
        clean["quantity"] = None
    else:
        try:
            quantity = int(quantity)
        except (TypeError, ValueError) as error:
            raise Invalid(N_("Enter the quantity as a whole number."), "quantity") from error
        if not 1 <= quantity <= MAX_QUANTITY:
            raise Invalid(gettext("Enter a quantity from 1 to %(num)s.", num=f"{MAX_QUANTITY:,}"), "quantity")
        clean["quantity"] = quantity
    return clean


def _item_audit(action: str, prescription: Prescription, item_id: int) -> None:
    audit(
        action,
        "prescription_item",
        item_id,
        patient_id=prescription.patient_id,
        hospital_id=prescription.hospital_id,
        detail=f"prescription {prescription.id}",
    )


def _folded(value: Any) -> str:
    return " ".join(str(value or "").split()).casefold()


def add_item(prescription: Prescription, doctor: Doctor, values: dict[str, Any]) -> PrescriptionItem:
    clean = _clean_item(values)
    _lock_draft(prescription, doctor)
    if len(prescription.items) >= MAX_ITEMS:
        raise Invalid(gettext("A prescription can hold at most %(num)d medicines.", num=MAX_ITEMS), "drug")
    # The same line twice is a double submission (or duplicate therapy): refuse it under the lock.
    same = ("drug", "strength", "dose", "route", "frequency")
    if any(all(_folded(getattr(i, n)) == _folded(clean.get(n)) for n in same) for i in prescription.items):
        raise Conflict(
            gettext(
                "This prescription already lists this medicine with the same dose; edit that line instead."
            ),
            "drug",
        )
    position = max((i.position for i in prescription.items), default=-1) + 1
    item = PrescriptionItem(position=position, **clean)
    prescription.items.append(item)
    db.session.flush()
    _item_audit("create", prescription, item.id)
    return item


def update_item(
    item: PrescriptionItem, doctor: Doctor, values: dict[str, Any], version: int | None
) -> PrescriptionItem:
    clean = _clean_item(values)
    prescription = item.prescription
    _lock_draft(prescription, doctor)
    db.session.refresh(item)
    _check_version(item, version)
    for name, value in clean.items():
        setattr(item, name, value)
    _flush_versioned(item)
    _item_audit("update", prescription, item.id)
    return item


def remove_item(item: PrescriptionItem, doctor: Doctor) -> None:
    prescription = item.prescription
    _lock_draft(prescription, doctor)
    item_id = item.id
    prescription.items.remove(item)
    db.session.flush()
    _item_audit("delete", prescription, item_id)


def move_item(item: PrescriptionItem, doctor: Doctor, direction: str) -> None:
    """Swap the item with its neighbour above ("up") or below ("down")."""
    if direction not in ("up", "down"):
        raise Invalid(N_("Move an item up or down."))
    prescription = item.prescription
    _lock_draft(prescription, doctor)
    items = sorted(prescription.items, key=lambda i: (i.position, i.id))
    index = items.index(item)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(items):
        return
    items[index], items[other] = items[other], items[index]
    for position, row in enumerate(items):
        if row.position != position:
            row.position = position
    db.session.flush()
    db.session.expire(prescription, ["items"])
    _item_audit("update", prescription, item.id)


def _next_number(prescription: Prescription, now: datetime) -> str:
    """RX-<year>-<id>: unique because the id is, and readable over the phone."""
    return f"RX-{now:%Y}-{prescription.id:06d}"


def issue_prescription(prescription: Prescription, doctor: Doctor) -> Prescription:
    """Make the draft an issued, numbered, read-only prescription; supersede its older version."""
    if prescription.doctor_id != doctor.id:
        raise NotAllowed(N_("This is another doctor's prescription."))
    old = prescription.supersedes
    _lock(*[p for p in (prescription, old) if p is not None])
    if not prescription.is_draft:
        raise Conflict(N_("This prescription has already been issued."))
    if not prescription.items:
        raise Invalid(N_("Add at least one medicine before issuing."), "drug")
    now = clock.now()
    prescription.status = PrescriptionStatus.active
    prescription.issued_at = now
    prescription.number = _next_number(prescription, now)
    _flush_versioned(prescription)
    if old is not None and old.status == PrescriptionStatus.active:
        old.status = PrescriptionStatus.superseded
        _flush_versioned(old)
        audit(
            "supersede",
            "prescription",
            old.id,
            patient_id=old.patient_id,
            hospital_id=old.hospital_id,
            detail=f"by {prescription.number}",
        )
    audit(
        "issue",
        "prescription",
        prescription.id,
        patient_id=prescription.patient_id,
        hospital_id=prescription.hospital_id,
        detail=prescription.number,
    )
    patient_user = prescription.patient.user
    with in_language_of(patient_user):
        if old is not None:
            text = gettext(
                "Dr %(name)s issued prescription %(number)s, replacing %(old)s.",
                name=doctor.name,
                number=prescription.number,
                old=old.number,
            )
        else:
            text = gettext(
                "Dr %(name)s issued prescription %(number)s.", name=doctor.name, number=prescription.number
            )
    notify(
        patient_user,
        "prescription_issued",
        text,
        link=patient_link(prescription),
        hospital_id=prescription.hospital_id,
    )
    return prescription


def cancel_prescription(prescription: Prescription, doctor: Doctor, reason: str) -> Prescription:
    if prescription.doctor_id != doctor.id:
        raise NotAllowed(N_("This is another doctor's prescription."))
    reason = (reason or "").strip()
    if len(reason) < 3:
        raise Invalid(N_("Give the reason for cancelling; the patient will see it."), "reason")
    if len(reason) > 500:
        raise Invalid(N_("Keep the reason under 500 characters."), "reason")
    _lock(prescription)
    if prescription.status == PrescriptionStatus.cancelled:
        return prescription
    if prescription.status != PrescriptionStatus.active:
        raise Conflict(N_("Only an issued, current prescription can be cancelled."))
    prescription.status = PrescriptionStatus.cancelled
    prescription.cancelled_at = clock.now()
    prescription.cancelled_by_id = doctor.user_id
    prescription.cancel_reason = reason
    _flush_versioned(prescription)
    audit(
        "cancel",
        "prescription",
        prescription.id,
        patient_id=prescription.patient_id,
        hospital_id=prescription.hospital_id,
    )
    patient_user = prescription.patient.user
    with in_language_of(patient_user):
        text = gettext(
            "Dr %(name)s cancelled prescription %(number)s: %(reason)s",
            name=doctor.name,
            number=prescription.number,
            reason=reason,
        )
    notify(
        patient_user,
        "prescription_cancelled",
        text,
        link=patient_link(prescription),
        hospital_id=prescription.hospital_id,
    )
    return prescription


def revise_prescription(prescription: Prescription, doctor: Doctor) -> Prescription:
    """A new draft that copies the issued prescription's items and will supersede it when issued."""
    if prescription.doctor_id != doctor.id:
        raise NotAllowed(N_("This is another doctor's prescription."))
    _lock(prescription)
    if prescription.status != PrescriptionStatus.active:
        raise Conflict(N_("Only an issued, current prescription can be revised."))
    existing = db.session.scalar(
        select(Prescription).where(
            Prescription.supersedes_id == prescription.id, Prescription.status == PrescriptionStatus.draft
        )
    )
    if existing is not None:
        return existing
    draft = Prescription(
        encounter_id=prescription.encounter_id,
        admission_id=prescription.admission_id,
        patient_id=prescription.patient_id,
        doctor_id=prescription.doctor_id,
        hospital_id=prescription.hospital_id,
        status=PrescriptionStatus.draft,
        note=prescription.note,
        supersedes_id=prescription.id,
        items=[
            PrescriptionItem(position=n, **{name: getattr(item, name) for name in ITEM_FIELDS})
            for n, item in enumerate(prescription.items)
        ],
    )
    db.session.add(draft)
    db.session.flush()
    audit(
        "create",
        "prescription",
        draft.id,
        patient_id=draft.patient_id,
        hospital_id=draft.hospital_id,
        detail=f"revises {prescription.number}",
    )
    return draft


def draft_revision(prescription: Prescription) -> Prescription | None:
    return db.session.scalar(
        select(Prescription).where(
            Prescription.supersedes_id == prescription.id, Prescription.status == PrescriptionStatus.draft
        )
    )
