"""Who sees which FHIR resources: the pages' access rules expressed as SQL conditions.

The rules themselves live with the pages' services and are called from here, never copied:
clinical records through `clinical.doctor_sees_patient_clause`, a hospital's patients through
`hospitals.patients_of_hospital`, the booking directory through `scheduling.bookable_memberships`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, select, true

from hms.api.fhir.common import Forbidden
from hms.models import Hospital, HospitalStatus, Membership, Role, User
from hms.services import clinical
from hms.services.hospitals import patients_of_hospital
from hms.services.scheduling import bookable_memberships


def hospital_id_of(user: User) -> int | None:
    """The one hospital a hospital administrator or staff member belongs to."""
    if user.role == Role.hospital_admin and user.hospital_admin is not None:
        return user.hospital_admin.hospital_id
    if user.role == Role.staff and user.staff is not None:
        return user.staff.hospital_id
    return None


def patients_clause(user: User, column: Any, resource_type: str, *, clinical_record: bool) -> Any:
    """Rows whose patient id (`column`) the user may see. Clinical records: the patient himself and
    doctors with a care relationship. Demographics also: the hospitals he booked with, the platform."""
    if user.role == Role.patient and user.patient is not None:
        return column == user.patient.id
    if user.role == Role.doctor and user.doctor is not None:
        return clinical.doctor_sees_patient_clause(user.doctor.id, column)
    if not clinical_record:
        if user.role == Role.hospital_admin and hospital_id_of(user):
            return column.in_(patients_of_hospital(hospital_id_of(user)))
        if user.role == Role.super_admin:
            return true()
    raise Forbidden(resource_type)


def memberships_clause(user: User) -> Any:
    """Doctor-at-hospital links (PractitionerRole, Schedule) the user may see: a hospital's own for its
    administrators and staff, all for the platform admin, the bookable directory (and a doctor's own
    links) for patients and doctors."""
    if user.role == Role.super_admin:
        return true()
    hospital_id = hospital_id_of(user)
    if hospital_id is not None:
        return Membership.hospital_id == hospital_id
    if user.role in (Role.patient, Role.doctor):
        bookable = Membership.id.in_(bookable_memberships().with_only_columns(Membership.id))
        if user.role == Role.doctor and user.doctor is not None:
            return bookable | (Membership.doctor_id == user.doctor.id)
        return bookable
    return false()


def hospitals_clause(user: User) -> Any:
    """Organizations: every hospital for the platform admin, one's own hospital for its people, the
    active ones (and a doctor's own) for patients and doctors."""
    if user.role == Role.super_admin:
        return true()
    hospital_id = hospital_id_of(user)
    if hospital_id is not None:
        return Hospital.id == hospital_id
    clause = Hospital.status == HospitalStatus.active
    if user.role == Role.doctor and user.doctor is not None:
        own = select(Membership.hospital_id).where(Membership.doctor_id == user.doctor.id)
        clause = clause | Hospital.id.in_(own)
    return clause
