"""Patient, Practitioner and PractitionerRole from our patients, doctors and memberships."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from hms.api.fhir import access
from hms.api.fhir.common import (
    MRN_SYSTEM,
    FhirError,
    Search,
    audited_record,
    fhir_date,
    like_pattern,
    reference,
    table_resource,
)
from hms.models import (
    Appointment,
    Doctor,
    Membership,
    MembershipStatus,
    Patient,
    Role,
    ScheduleRule,
    User,
)

DAY_CODES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def human_name(full_name: str) -> dict[str, Any]:
    parts = full_name.split()
    name: dict[str, Any] = {"text": full_name}
    if len(parts) > 1:
        name["family"] = parts[-1]
        name["given"] = parts[:-1]
    elif parts:
        name["given"] = parts
    return name


# ---------------------------------------------------------------- Patient


def patient_resource(patient: Patient) -> dict[str, Any]:
    telecom = [{"system": "phone", "value": patient.phone, "use": "mobile"}]
    if patient.user.email:  # none for a patient registered at the front desk
        telecom.append({"system": "email", "value": patient.user.email})
    return {
        "resourceType": "Patient",
        "id": str(patient.id),
        "identifier": [{"system": MRN_SYSTEM, "value": patient.mrn}],
        "active": patient.user.active,
        "name": [human_name(patient.user.full_name)],
        "telecom": telecom,
        "gender": patient.sex.value,
        "birthDate": fhir_date(patient.date_of_birth),
        "address": [{"text": patient.address}] if patient.address else None,
        # A record merged into another (hms/services/merge.py) answers as FHIR's merge does: inactive,
        # with a link of type replaced-by to the record to use instead.
        "link": [{"other": reference("Patient", patient.merged_into_id), "type": "replaced-by"}]
        if patient.merged_into_id is not None
        else None,
    }


def _name_clauses(search: Search, user_id_column: Any) -> list[Any]:
    """`name=`: part of the person's full name, whatever its case."""
    if name := search.get("name"):
        users = select(User.id).where(func.lower(User.full_name).like(like_pattern(name), escape="\\"))
        return [user_id_column.in_(users)]
    return []


def _patient_filters(search: Search) -> list[Any]:
    clauses = search.ids(Patient.id) + _name_clauses(search, Patient.user_id)
    if identifier := search.get("identifier"):
        value = identifier.split("|", 1)[-1]
        clauses.append(Patient.mrn == value.upper()[:16])
    for when in search.dates("birthdate"):
        clauses.append(when.date_clause(Patient.date_of_birth))
    return clauses


PATIENT = table_resource(
    "Patient",
    Patient,
    params=("_id", "name", "identifier", "birthdate"),
    # A merged record is readable by whoever may read the record it was merged into.
    scope=lambda user: access.patients_clause(
        user, func.coalesce(Patient.merged_into_id, Patient.id), "Patient", clinical_record=False
    ),
    filters=_patient_filters,
    to_fhir=patient_resource,
    order_by=lambda: (Patient.id,),
    options=(joinedload(Patient.user),),
    # Opening a patient's demographics is written to the audit log, as on the pages.
    audited=lambda patient: audited_record("patient", patient.id, patient.id),
    documentation="A patient sees himself; a doctor his patients; a hospital those who booked there.",
)


# ---------------------------------------------------------------- Practitioner


def practitioner_resource(doctor: Doctor) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": str(doctor.id),
        "identifier": [{"system": "urn:hms:license", "value": doctor.license_number}]
        if doctor.license_number
        else None,
        "active": doctor.user.active,
        "name": [human_name(doctor.user.full_name) | {"prefix": ["Dr"]}],
        "qualification": [{"code": {"text": doctor.qualifications}}] if doctor.qualifications else None,
    }


def practitioners_clause(user: User) -> Any:
    visible = Doctor.id.in_(select(Membership.doctor_id).where(access.memberships_clause(user)))
    if user.role == Role.patient and user.patient is not None:
        seen = select(Appointment.doctor_id).where(Appointment.patient_id == user.patient.id)
        return visible | Doctor.id.in_(seen)
    if user.role == Role.doctor and user.doctor is not None:
        return visible | (Doctor.id == user.doctor.id)
    return visible


def _practitioner_filters(search: Search) -> list[Any]:
    return search.ids(Doctor.id) + _name_clauses(search, Doctor.user_id)


PRACTITIONER = table_resource(
    "Practitioner",
    Doctor,
    params=("_id", "name"),
    scope=practitioners_clause,
    filters=_practitioner_filters,
    to_fhir=practitioner_resource,
    order_by=lambda: (Doctor.id,),
    options=(joinedload(Doctor.user),),
)


# ---------------------------------------------------------------- PractitionerRole


def available_times(rules: list[ScheduleRule]) -> list[dict[str, Any]]:
    return [
        {
            "daysOfWeek": [DAY_CODES[rule.weekday]],
            "availableStartTime": rule.start_time.strftime("%H:%M:%S"),
            "availableEndTime": rule.end_time.strftime("%H:%M:%S"),
        }
        for rule in sorted(rules, key=lambda r: (r.weekday, r.start_time))
    ]


def weekly_rules(membership: Membership) -> list[ScheduleRule]:
    """The membership's weekly hours: loaded for a whole page at once (selectinload of `rules`)."""
    return list(membership.rules)


def practitioner_role_resource(membership: Membership) -> dict[str, Any]:
    doctor, hospital = membership.doctor, membership.hospital
    return {
        "resourceType": "PractitionerRole",
        "id": str(membership.id),
        "active": membership.status == MembershipStatus.active,
        "period": {"start": membership.since.strftime("%Y-%m-%dT%H:%M:%SZ")},
        "practitioner": reference("Practitioner", doctor.id, f"Dr {doctor.user.full_name}"),
        "organization": reference("Organization", hospital.id, hospital.name),
        "code": [{"text": "Doctor"}],
        "specialty": [{"text": doctor.specialty}],
        "availableTime": available_times(weekly_rules(membership)),
        "availabilityExceptions": f"Times are local to the hospital ({hospital.timezone}).",
    }


def _role_filters(search: Search) -> list[Any]:
    clauses = search.refers(Membership.doctor_id, "Practitioner", "practitioner")
    clauses += search.refers(Membership.hospital_id, "Organization", "organization")
    if (active := search.get("active")) is not None:
        if active not in ("true", "false"):
            raise FhirError(400, "active is true or false.")
        clauses.append(
            (Membership.status == MembershipStatus.active)
            if active == "true"
            else (Membership.status != MembershipStatus.active)
        )
    if specialty := search.get("specialty"):
        clauses.append(
            Membership.doctor_id.in_(
                select(Doctor.id).where(
                    func.lower(Doctor.specialty).like(like_pattern(specialty), escape="\\")
                )
            )
        )
    return clauses


PRACTITIONER_ROLE = table_resource(
    "PractitionerRole",
    Membership,
    params=("practitioner", "organization", "active", "specialty"),
    scope=access.memberships_clause,
    filters=_role_filters,
    to_fhir=practitioner_role_resource,
    order_by=lambda: (Membership.id,),
    options=(
        joinedload(Membership.doctor).joinedload(Doctor.user),
        joinedload(Membership.hospital),
        selectinload(Membership.department),
        selectinload(Membership.rules),
    ),
)
