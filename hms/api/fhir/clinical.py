"""Encounter, Condition (diagnoses and the problem list), AllergyIntolerance and MedicationRequest.

Who sees them is the clinical records' one rule (the patient himself; a doctor with a care
relationship); other roles have no clinical access at all (403). Every record returned is written to
the audit log, and a doctor's read of a record he may not see is logged as denied, as on the pages."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from hms.api.fhir import access
from hms.api.fhir.common import (
    FhirError,
    ResourceType,
    Search,
    audit_views,
    audited_record,
    clean,
    fhir_date,
    instant,
    parse_id,
    reference,
    table_resource,
)
from hms.extensions import db
from hms.models import (
    AppointmentStatus,
    Diagnosis,
    Doctor,
    Encounter,
    HistoryKind,
    MedicalHistoryEntry,
    Patient,
    Prescription,
    PrescriptionItem,
    PrescriptionStatus,
    Role,
    User,
)
from hms.models.scheduling import Appointment
from hms.services import clinical

ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
CONDITION_ID = re.compile(r"^(dx|h)-(\d{1,10})$")


def _clinical_scope(user: User, column: Any, resource_type: str) -> Any:
    return access.patients_clause(user, column, resource_type, clinical_record=True)


def _audit(record_type: str, record_id: int, patient_id: int, hospital_id: int | None = None) -> None:
    clinical.audit(
        "view", record_type, record_id, patient_id=patient_id, hospital_id=hospital_id, detail="FHIR"
    )


def _denied(model: Any, record_type: str, patient_of: Any) -> Any:
    """A read that found nothing the user may see: when the record exists, log the attempt."""

    def on_miss(user: User, record_id: int) -> None:
        row = db.session.get(model, record_id)
        if row is not None:
            clinical.audit(
                "view", record_type, record_id, patient_id=patient_of(row), outcome="denied", detail="FHIR"
            )

    return on_miss


def _tokens(search: Search, name: str, allowed: set[str]) -> list[str]:
    values = [v for item in search.getlist(name) for v in item.split(",") if v]
    for value in values:
        if value not in allowed:
            raise FhirError(400, f"{name} is one of: {', '.join(sorted(allowed))}.")
    return values


def _recorder(user: User) -> dict[str, str] | None:
    if user.role == Role.doctor and user.doctor is not None:
        return reference("Practitioner", user.doctor.id, f"Dr {user.full_name}")
    if user.role == Role.patient and user.patient is not None:
        return reference("Patient", user.patient.id, user.full_name)
    return None


# ---------------------------------------------------------------- Encounter

ENCOUNTER_STATUS = {
    AppointmentStatus.fulfilled: "finished",
    AppointmentStatus.cancelled: "cancelled",
}


def encounter_status(encounter: Encounter) -> str:
    return ENCOUNTER_STATUS.get(encounter.appointment.status, "in-progress")


def encounter_resource(encounter: Encounter) -> dict[str, Any]:
    appointment, doctor = encounter.appointment, encounter.doctor
    return {
        "resourceType": "Encounter",
        "id": str(encounter.id),
        "status": encounter_status(encounter),
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
            "display": "ambulatory",
        },
        "subject": reference("Patient", encounter.patient_id, encounter.patient.user.full_name),
        "participant": [{"individual": reference("Practitioner", doctor.id, f"Dr {doctor.user.full_name}")}],
        "appointment": [reference("Appointment", appointment.id)],
        "period": {"start": instant(appointment.start_at), "end": instant(appointment.end_at)},
        "reasonCode": [{"text": encounter.chief_complaint}] if encounter.chief_complaint else None,
        "diagnosis": [
            {"condition": reference("Condition", f"dx-{d.id}", f"{d.code} {d.text}"), "rank": n}
            for n, d in enumerate(encounter.diagnoses, start=1)
        ],
        "serviceProvider": reference("Organization", encounter.hospital_id, encounter.hospital.name),
    }


def _encounter_filters(search: Search) -> list[Any]:
    clauses = search.ids(Encounter.id)
    clauses += search.refers(Encounter.patient_id, "Patient", "patient")
    clauses += search.refers(Encounter.doctor_id, "Practitioner", "practitioner")
    for when in search.dates("date"):
        clauses.append(
            Encounter.appointment_id.in_(select(Appointment.id).where(when.clause(Appointment.start_at)))
        )
    if statuses := _tokens(search, "status", {"finished", "in-progress", "cancelled"}):
        wanted = set()
        for status in statuses:
            if status == "finished":
                wanted.add(AppointmentStatus.fulfilled)
            elif status == "cancelled":
                wanted.add(AppointmentStatus.cancelled)
            else:
                wanted |= {AppointmentStatus.booked, AppointmentStatus.arrived, AppointmentStatus.noshow}
        clauses.append(
            Encounter.appointment_id.in_(select(Appointment.id).where(Appointment.status.in_(wanted)))
        )
    return clauses


ENCOUNTER = table_resource(
    "Encounter",
    Encounter,
    params=("_id", "patient", "practitioner", "date", "status"),
    scope=lambda user: _clinical_scope(user, Encounter.patient_id, "Encounter"),
    filters=_encounter_filters,
    to_fhir=encounter_resource,
    order_by=lambda: (Encounter.created_at, Encounter.id),
    options=(
        joinedload(Encounter.appointment),
        joinedload(Encounter.patient).joinedload(Patient.user),
        joinedload(Encounter.doctor).joinedload(Doctor.user),
        joinedload(Encounter.hospital),
        selectinload(Encounter.diagnoses),
    ),
    audited=lambda e: audited_record("encounter", e.id, e.patient_id, e.hospital_id),
    on_miss=_denied(Encounter, "encounter", lambda e: e.patient_id),
)


# ---------------------------------------------------------------- Condition


def diagnosis_resource(diagnosis: Diagnosis) -> dict[str, Any]:
    encounter = diagnosis.encounter
    return clean(
        {
            "resourceType": "Condition",
            "id": f"dx-{diagnosis.id}",
            "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
            "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": "encounter-diagnosis"}]}],
            "code": {
                "coding": [{"system": ICD10_SYSTEM, "code": diagnosis.code, "display": diagnosis.text}],
                "text": diagnosis.text,
            },
            "subject": reference("Patient", encounter.patient_id),
            "encounter": reference("Encounter", encounter.id),
            "recordedDate": instant(diagnosis.created_at),
            "recorder": reference("Practitioner", encounter.doctor_id),
        }
    )


def history_condition_resource(entry: MedicalHistoryEntry) -> dict[str, Any]:
    return clean(
        {
            "resourceType": "Condition",
            "id": f"h-{entry.id}",
            "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
            "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": "problem-list-item"}]}],
            "code": {"text": entry.title},
            "subject": reference("Patient", entry.patient_id),
            "onsetDateTime": fhir_date(entry.since),
            "recordedDate": instant(entry.created_at),
            "recorder": _recorder(entry.recorded_by),
            "note": [{"text": entry.detail}] if entry.detail else None,
        }
    )


def _visible_diagnoses(user: User) -> Any:
    return select(Diagnosis).where(
        Diagnosis.encounter_id.in_(
            select(Encounter.id).where(_clinical_scope(user, Encounter.patient_id, "Condition"))
        )
    )


def _visible_history(user: User, kind: HistoryKind, resource_type: str) -> Any:
    return select(MedicalHistoryEntry).where(
        MedicalHistoryEntry.kind == kind,
        MedicalHistoryEntry.removed_at.is_(None),
        _clinical_scope(user, MedicalHistoryEntry.patient_id, resource_type),
    )


def read_condition(user: User, raw_id: str) -> dict[str, Any] | None:
    match = CONDITION_ID.match(raw_id)
    if not match or not 0 < int(match.group(2)) < 2**31:
        return None
    record_id = int(match.group(2))
    if match.group(1) == "dx":
        diagnosis = db.session.scalar(_visible_diagnoses(user).where(Diagnosis.id == record_id))
        if diagnosis is None:
            _denied(Diagnosis, "diagnosis", lambda d: d.encounter.patient_id)(user, record_id)
            return None
        _audit("diagnosis", diagnosis.id, diagnosis.encounter.patient_id, diagnosis.encounter.hospital_id)
        return diagnosis_resource(diagnosis)
    entry = db.session.scalar(
        _visible_history(user, HistoryKind.condition, "Condition").where(MedicalHistoryEntry.id == record_id)
    )
    if entry is None:
        _denied(MedicalHistoryEntry, "medical_history", lambda e: e.patient_id)(user, record_id)
        return None
    _audit("medical_history", entry.id, entry.patient_id)
    return history_condition_resource(entry)


def search_conditions(user: User, search: Search) -> tuple[list[dict[str, Any]], int]:
    """Encounter diagnoses first, then the problem list; each in the order it was written."""
    diagnoses = _visible_diagnoses(user)
    history = _visible_history(user, HistoryKind.condition, "Condition")
    if patient := search.get("patient"):
        patient_id = parse_id(patient, "Patient")
        diagnoses = diagnoses.where(
            Diagnosis.encounter_id.in_(select(Encounter.id).where(Encounter.patient_id == patient_id))
        )
        history = history.where(MedicalHistoryEntry.patient_id == patient_id)
    if encounter := search.get("encounter"):
        diagnoses = diagnoses.where(Diagnosis.encounter_id == parse_id(encounter, "Encounter"))
        history = history.where(False)  # noqa: FBT003 (the problem list belongs to no encounter)
    categories = set(_tokens(search, "category", {"encounter-diagnosis", "problem-list-item"}))
    if categories and "encounter-diagnosis" not in categories:
        diagnoses = diagnoses.where(False)  # noqa: FBT003
    if categories and "problem-list-item" not in categories:
        history = history.where(False)  # noqa: FBT003
    for when in search.dates("recorded-date"):
        diagnoses = diagnoses.where(when.clause(Diagnosis.created_at))
        history = history.where(when.clause(MedicalHistoryEntry.created_at))
    n_dx = db.session.scalar(select(func.count()).select_from(diagnoses.subquery())) or 0
    n_history = db.session.scalar(select(func.count()).select_from(history.subquery())) or 0
    resources = []
    if search.offset < n_dx:
        rows = db.session.scalars(
            diagnoses.options(joinedload(Diagnosis.encounter))
            .order_by(Diagnosis.id)
            .limit(search.count)
            .offset(search.offset)
        ).all()
        audit_views(
            [audited_record("diagnosis", r.id, r.encounter.patient_id, r.encounter.hospital_id) for r in rows]
        )
        resources += [diagnosis_resource(row) for row in rows]
    room = search.count - len(resources)
    if room > 0:
        rows = db.session.scalars(
            history.options(joinedload(MedicalHistoryEntry.recorded_by))
            .order_by(MedicalHistoryEntry.id)
            .limit(room)
            .offset(max(search.offset - n_dx, 0))
        ).all()
        audit_views([audited_record("medical_history", r.id, r.patient_id) for r in rows])
        resources += [history_condition_resource(row) for row in rows]
    return resources, n_dx + n_history


CONDITION = ResourceType(
    "Condition",
    ("patient", "encounter", "category", "recorded-date"),
    read_condition,
    search_conditions,
    "Encounter diagnoses (ICD-10, ids dx-N) and the patient's problem list (ids h-N).",
)


# ---------------------------------------------------------------- AllergyIntolerance


def allergy_resource(entry: MedicalHistoryEntry) -> dict[str, Any]:
    reaction = None
    if entry.reaction:
        reaction = [
            {
                "manifestation": [{"text": entry.reaction}],
                "severity": entry.severity.value if entry.severity else None,
            }
        ]
    return {
        "resourceType": "AllergyIntolerance",
        "id": str(entry.id),
        "clinicalStatus": {"coding": [{"system": ALLERGY_CLINICAL, "code": "active"}]},
        "code": {"text": entry.title},
        "patient": reference("Patient", entry.patient_id),
        "onsetDateTime": fhir_date(entry.since),
        "recordedDate": instant(entry.created_at),
        "recorder": _recorder(entry.recorded_by),
        "criticality": "high" if entry.severity and entry.severity.value == "severe" else None,
        "reaction": reaction,
        "note": [{"text": entry.detail}] if entry.detail else None,
    }


def _allergy_filters(search: Search) -> list[Any]:
    clauses = [MedicalHistoryEntry.kind == HistoryKind.allergy, MedicalHistoryEntry.removed_at.is_(None)]
    clauses += search.refers(MedicalHistoryEntry.patient_id, "Patient", "patient")
    for when in search.dates("date"):
        clauses.append(when.clause(MedicalHistoryEntry.created_at))
    return clauses


def _allergy_scope(user: User) -> Any:
    return (
        _clinical_scope(user, MedicalHistoryEntry.patient_id, "AllergyIntolerance")
        & (MedicalHistoryEntry.kind == HistoryKind.allergy)
        & MedicalHistoryEntry.removed_at.is_(None)
    )


ALLERGY = table_resource(
    "AllergyIntolerance",
    MedicalHistoryEntry,
    params=("patient", "date"),
    scope=_allergy_scope,
    filters=_allergy_filters,
    to_fhir=allergy_resource,
    order_by=lambda: (MedicalHistoryEntry.id,),
    options=(joinedload(MedicalHistoryEntry.recorded_by),),
    audited=lambda e: audited_record("medical_history", e.id, e.patient_id),
    on_miss=_denied(MedicalHistoryEntry, "medical_history", lambda e: e.patient_id),
)


# ---------------------------------------------------------------- MedicationRequest

MEDICATION_STATUS = {
    PrescriptionStatus.draft: "draft",
    PrescriptionStatus.active: "active",
    PrescriptionStatus.cancelled: "cancelled",
    PrescriptionStatus.superseded: "stopped",
}


def _dosage_text(item: PrescriptionItem) -> str:
    parts = [item.dose, item.route, item.frequency, f"for {item.duration}" if item.duration else ""]
    text = " ".join(p for p in parts if p)
    return f"{text}; {item.instructions}" if item.instructions else text


def medication_request_resource(item: PrescriptionItem) -> dict[str, Any]:
    prescription = item.prescription
    medicine = " ".join(p for p in (item.drug, item.strength, item.form) if p)
    dosage: dict[str, Any] = {"sequence": 1, "text": _dosage_text(item) or medicine}
    if item.route:
        dosage["route"] = {"text": item.route}
    return {
        "resourceType": "MedicationRequest",
        "id": str(item.id),
        "identifier": [{"system": "urn:hms:prescription-item", "value": str(item.id)}],
        "groupIdentifier": {"system": "urn:hms:prescription", "value": prescription.number}
        if prescription.number
        else None,
        "status": MEDICATION_STATUS[prescription.status],
        "statusReason": {"text": prescription.cancel_reason} if prescription.cancel_reason else None,
        "intent": "order",
        "medicationCodeableConcept": {"text": medicine},
        "subject": reference("Patient", prescription.patient_id),
        "encounter": reference("Encounter", prescription.encounter_id)
        if prescription.encounter_id is not None
        else reference("Encounter", f"adm-{prescription.admission_id}"),
        "authoredOn": instant(prescription.issued_at or prescription.created_at),
        "requester": reference("Practitioner", prescription.doctor_id),
        "note": [{"text": prescription.note}] if prescription.note else None,
        "dosageInstruction": [dosage],
        "dispenseRequest": {"quantity": {"value": item.quantity}} if item.quantity else None,
    }


def _prescriptions_clause(user: User) -> Any:
    """Issued prescriptions of visible patients; drafts only for the doctor writing them."""
    visible = _clinical_scope(user, Prescription.patient_id, "MedicationRequest")
    not_draft = Prescription.status != PrescriptionStatus.draft
    if user.role == Role.doctor and user.doctor is not None:
        return visible & (not_draft | (Prescription.doctor_id == user.doctor.id))
    return visible & not_draft


def _medication_scope(user: User) -> Any:
    return PrescriptionItem.prescription_id.in_(select(Prescription.id).where(_prescriptions_clause(user)))


def _encounter_filter(search: Search) -> list[Any]:
    """?encounter= a visit's id, or an admission's (adm-<id>: prescriptions written on the ward)."""
    value = (search.get("encounter") or "").strip()
    raw = value.removeprefix("Encounter/")
    if raw.startswith("adm-"):
        return [Prescription.admission_id == parse_id(raw.removeprefix("adm-"), "Encounter")]
    return search.refers(Prescription.encounter_id, "Encounter", "encounter")


def _medication_filters(search: Search) -> list[Any]:
    clauses = []
    prescriptions = []
    prescriptions += search.refers(Prescription.patient_id, "Patient", "patient")
    prescriptions += search.refers(Prescription.doctor_id, "Practitioner", "requester", "practitioner")
    prescriptions += _encounter_filter(search)
    if statuses := _tokens(search, "status", set(MEDICATION_STATUS.values())):
        by_fhir = {v: k for k, v in MEDICATION_STATUS.items()}
        prescriptions.append(Prescription.status.in_([by_fhir[s] for s in statuses]))
    for when in search.dates("authoredon") + search.dates("date"):
        prescriptions.append(when.clause(func.coalesce(Prescription.issued_at, Prescription.created_at)))
    if prescriptions:
        clauses.append(PrescriptionItem.prescription_id.in_(select(Prescription.id).where(*prescriptions)))
    return clauses


MEDICATION_REQUEST = table_resource(
    "MedicationRequest",
    PrescriptionItem,
    params=("patient", "requester", "practitioner", "encounter", "status", "authoredon", "date"),
    scope=_medication_scope,
    filters=_medication_filters,
    to_fhir=medication_request_resource,
    order_by=lambda: (PrescriptionItem.prescription_id, PrescriptionItem.position, PrescriptionItem.id),
    options=(joinedload(PrescriptionItem.prescription),),
    audited=lambda i: audited_record(
        "prescription_item", i.id, i.prescription.patient_id, i.prescription.hospital_id
    ),
    on_miss=_denied(PrescriptionItem, "prescription_item", lambda i: i.prescription.patient_id),
    documentation="One per medicine of a prescription; groupIdentifier is the prescription's number.",
)
