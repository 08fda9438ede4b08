"""All models, imported here so that Alembic and the app see every table."""

from hms.models.audit import AuditChainHead, AuditEvent
from hms.models.clinical import (
    AllergySeverity,
    Diagnosis,
    Encounter,
    EntrySource,
    HistoryKind,
    MedicalHistoryEntry,
    Prescription,
    PrescriptionItem,
    PrescriptionStatus,
)
from hms.models.hospitals import (
    Department,
    Hospital,
    HospitalAdmin,
    HospitalStatus,
    Membership,
    MembershipStatus,
)
from hms.models.invitations import Invitation, InvitationState
from hms.models.messaging import Notification
from hms.models.scheduling import (
    WEEKDAYS,
    Appointment,
    AppointmentStatus,
    ScheduleBreak,
    ScheduleRule,
    TimeOff,
)
from hms.models.users import Doctor, Patient, Role, Sex, Staff, StaffKind, User

__all__ = [
    "WEEKDAYS",
    "Appointment",
    "AppointmentStatus",
    "ScheduleBreak",
    "ScheduleRule",
    "TimeOff",
    "AuditChainHead",
    "AuditEvent",
    "AllergySeverity",
    "Diagnosis",
    "Encounter",
    "EntrySource",
    "HistoryKind",
    "MedicalHistoryEntry",
    "Prescription",
    "PrescriptionItem",
    "PrescriptionStatus",
    "Department",
    "Doctor",
    "Hospital",
    "HospitalAdmin",
    "HospitalStatus",
    "Invitation",
    "InvitationState",
    "Membership",
    "Notification",
    "MembershipStatus",
    "Patient",
    "Role",
    "Sex",
    "Staff",
    "StaffKind",
    "User",
]
