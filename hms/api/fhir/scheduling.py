"""Schedule (a doctor's weekly hours at one hospital), Slot (computed, free or busy) and Appointment."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from hms import clock
from hms.api.fhir import access
from hms.api.fhir.common import (
    FhirError,
    Forbidden,
    ResourceType,
    Search,
    clean,
    instant,
    parse_id,
    reference,
    table_resource,
)
from hms.api.fhir.people import DAY_CODES, weekly_rules
from hms.extensions import db
from hms.models import (
    Appointment,
    AppointmentStatus,
    Doctor,
    HospitalStatus,
    Membership,
    MembershipStatus,
    Patient,
    Role,
    User,
)
from hms.services import scheduling
from hms.services.errors import Invalid

PLANNING_DAYS = scheduling.PICKER_DAYS
MAX_SLOT_DAYS = 31
SLOT_ID = re.compile(r"^(\d{1,10})-(\d{12})$")


def _tokens(search: Search, name: str, allowed: set[str]) -> list[str]:
    values = [v for item in search.getlist(name) for v in item.split(",") if v]
    for value in values:
        if value not in allowed:
            raise FhirError(400, f"{name} is one of: {', '.join(sorted(allowed))}.")
    return values


# ---------------------------------------------------------------- Schedule


def schedule_resource(membership: Membership) -> dict[str, Any]:
    doctor, hospital = membership.doctor, membership.hospital
    now = clock.now()
    hours = "; ".join(
        f"{DAY_CODES[r.weekday].capitalize()} {r.start_time:%H:%M}-{r.end_time:%H:%M}"
        f" ({r.slot_minutes} min slots)"
        for r in sorted(weekly_rules(membership), key=lambda r: (r.weekday, r.start_time))
    )
    return {
        "resourceType": "Schedule",
        "id": str(membership.id),
        "active": membership.status == MembershipStatus.active and hospital.status == HospitalStatus.active,
        "specialty": [{"text": doctor.specialty}],
        "actor": [
            reference("PractitionerRole", membership.id),
            reference("Practitioner", doctor.id, f"Dr {doctor.user.full_name}"),
        ],
        "planningHorizon": {"start": instant(now), "end": instant(now + timedelta(days=PLANNING_DAYS))},
        "comment": f"Weekly hours in {hospital.timezone}: {hours}" if hours else "No weekly hours yet.",
    }


def _schedule_filters(search: Search) -> list[Any]:
    clauses = []
    for actor in search.getlist("actor"):
        if actor.startswith("PractitionerRole/"):
            clauses.append(Membership.id == parse_id(actor, "PractitionerRole"))
        else:
            clauses.append(Membership.doctor_id == parse_id(actor, "Practitioner"))
    if active := search.get("active"):
        clauses.append(
            (Membership.status == MembershipStatus.active)
            if active == "true"
            else (Membership.status != MembershipStatus.active)
        )
    return clauses


_MEMBERSHIP_OPTIONS = (
    joinedload(Membership.doctor).joinedload(Doctor.user),
    joinedload(Membership.hospital),
    selectinload(Membership.rules),
)

SCHEDULE = table_resource(
    "Schedule",
    Membership,
    params=("actor", "active"),
    scope=access.memberships_clause,
    filters=_schedule_filters,
    to_fhir=schedule_resource,
    order_by=lambda: (Membership.id,),
    options=_MEMBERSHIP_OPTIONS,
    documentation="One per doctor and hospital (the PractitionerRole's id).",
)


# ---------------------------------------------------------------- Slot


def _membership(user: User, membership_id: int) -> Membership | None:
    return db.session.scalar(
        select(Membership)
        .where(Membership.id == membership_id, access.memberships_clause(user))
        .options(*_MEMBERSHIP_OPTIONS)
    )


def slot_resource(membership: Membership, slot: scheduling.Slot) -> dict[str, Any]:
    return clean(
        {
            "resourceType": "Slot",
            "id": f"{membership.id}-{slot.start:%Y%m%d%H%M}",
            "schedule": reference("Schedule", membership.id),
            "status": "free" if slot.free else "busy",
            "start": instant(slot.start),
            "end": instant(slot.end),
        }
    )


def read_slot(user: User, raw_id: str) -> dict[str, Any] | None:
    match = SLOT_ID.match(raw_id)
    if not match:
        return None
    membership = _membership(user, int(match.group(1))) if int(match.group(1)) < 2**31 else None
    if membership is None:
        return None
    try:
        start = scheduling.parse_slot_key(
            f"{match.group(2)[:4]}-{match.group(2)[4:6]}-{match.group(2)[6:8]}T"
            f"{match.group(2)[8:10]}:{match.group(2)[10:12]}Z"
        )
    except Invalid:
        return None
    day = start.astimezone(membership.hospital.tz).date()
    for slot in scheduling.slots_between(membership.doctor_id, membership.hospital, day, day):
        if slot.start == start:
            return slot_resource(membership, slot)
    return None


def search_slots(user: User, search: Search) -> tuple[list[dict[str, Any]], int]:
    schedule = search.get("schedule")
    if schedule is None:
        raise FhirError(400, "Slots are searched per schedule: give schedule=Schedule/<id>.")
    membership = _membership(user, parse_id(schedule, "Schedule"))
    if membership is None:
        return [], 0
    now = clock.now()
    low, high = now, now + timedelta(days=PLANNING_DAYS)
    for when in search.dates("start"):
        if when.prefix in ("eq", "ge"):
            low = max(low, when.start)
        if when.prefix == "gt":
            low = max(low, when.end)
        if when.prefix in ("eq", "le"):
            high = min(high, when.end)
        if when.prefix == "lt":
            high = min(high, when.start)
    high = min(high, low + timedelta(days=MAX_SLOT_DAYS))
    statuses = set(_tokens(search, "status", {"free", "busy"})) or {"free", "busy"}
    if high <= low:
        return [], 0
    tz = membership.hospital.tz
    slots = [
        slot
        for slot in scheduling.slots_between(
            membership.doctor_id,
            membership.hospital,
            low.astimezone(tz).date(),
            high.astimezone(tz).date(),
            now,
        )
        if low <= slot.start < high and ("free" if slot.free else "busy") in statuses
    ]
    page = slots[search.offset : search.offset + search.count]
    return [slot_resource(membership, slot) for slot in page], len(slots)


SLOT = ResourceType(
    "Slot",
    ("schedule", "start", "status"),
    read_slot,
    search_slots,
    "Computed from the weekly hours, breaks, time off and bookings; future slots only, 31 days at most.",
)


# ---------------------------------------------------------------- Appointment


def appointment_resource(appointment: Appointment) -> dict[str, Any]:
    doctor, patient, hospital = appointment.doctor, appointment.patient, appointment.hospital
    return {
        "resourceType": "Appointment",
        "id": str(appointment.id),
        "status": appointment.status.value,
        "cancelationReason": {"text": appointment.cancel_reason} if appointment.cancel_reason else None,
        "specialty": [{"text": doctor.specialty}],
        "description": appointment.reason,
        "supportingInformation": [reference("Organization", hospital.id, hospital.name)],
        "start": instant(appointment.start_at),
        "end": instant(appointment.end_at),
        "minutesDuration": int(appointment.duration.total_seconds() // 60),
        "created": instant(appointment.created_at),
        "participant": [
            {
                "actor": reference("Patient", patient.id, patient.user.full_name),
                "required": "required",
                "status": "declined" if appointment.status == AppointmentStatus.cancelled else "accepted",
            },
            {
                "actor": reference("Practitioner", doctor.id, f"Dr {doctor.user.full_name}"),
                "required": "required",
                "status": "declined" if appointment.status == AppointmentStatus.cancelled else "accepted",
            },
        ],
    }


def appointments_clause(user: User) -> Any:
    """A patient's own, a doctor's own, a hospital's for its administrators (as on their pages)."""
    if user.role == Role.patient and user.patient is not None:
        return Appointment.patient_id == user.patient.id
    if user.role == Role.doctor and user.doctor is not None:
        return Appointment.doctor_id == user.doctor.id
    if user.role == Role.hospital_admin and access.hospital_id_of(user):
        return Appointment.hospital_id == access.hospital_id_of(user)
    raise Forbidden("Appointment")


def _appointment_filters(search: Search) -> list[Any]:
    clauses = search.ids(Appointment.id)
    clauses += search.refers(Appointment.patient_id, "Patient", "patient")
    clauses += search.refers(Appointment.doctor_id, "Practitioner", "practitioner")
    for when in search.dates("date"):
        clauses.append(when.clause(Appointment.start_at))
    if statuses := _tokens(search, "status", {s.value for s in AppointmentStatus}):
        clauses.append(Appointment.status.in_([AppointmentStatus(s) for s in statuses]))
    return clauses


APPOINTMENT = table_resource(
    "Appointment",
    Appointment,
    params=("_id", "patient", "practitioner", "date", "status"),
    scope=appointments_clause,
    filters=_appointment_filters,
    to_fhir=appointment_resource,
    order_by=lambda: (Appointment.start_at, Appointment.id),
    options=(
        joinedload(Appointment.patient).joinedload(Patient.user),
        joinedload(Appointment.doctor).joinedload(Doctor.user),
        joinedload(Appointment.hospital),
    ),
)
