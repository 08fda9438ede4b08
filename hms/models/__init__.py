"""All models, imported here so that Alembic and the app see every table."""

from hms.models.audit import AuditEvent
from hms.models.hospitals import (
    Department,
    Hospital,
    HospitalAdmin,
    HospitalStatus,
    Membership,
    MembershipStatus,
)
from hms.models.users import Doctor, Patient, Role, Sex, Staff, StaffKind, User

__all__ = [
    "AuditEvent",
    "Department",
    "Doctor",
    "Hospital",
    "HospitalAdmin",
    "HospitalStatus",
    "Membership",
    "MembershipStatus",
    "Patient",
    "Role",
    "Sex",
    "Staff",
    "StaffKind",
    "User",
]
