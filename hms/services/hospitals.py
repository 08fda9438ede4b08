"""Hospital lifecycle on the platform (approve, suspend, reactivate) and the hospital's profile."""

from __future__ import annotations

from flask_babel import gettext
from sqlalchemy import func, select

from hms import clock, events
from hms.extensions import db
from hms.i18n import N_
from hms.models import Appointment, Bill, Hospital, HospitalStatus, Membership, User
from hms.services.audit import record_event
from hms.services.errors import Conflict


def patients_of_hospital(hospital_id: int):  # type: ignore[no-untyped-def]
    """The ids of the patients a hospital's administrators see: those who ever booked there."""
    return select(Appointment.patient_id).where(Appointment.hospital_id == hospital_id)


def approve_hospital(hospital: Hospital, actor: User) -> Hospital:
    """Make a pending or suspended hospital active; approving an active one changes nothing."""
    if hospital.status == HospitalStatus.active:
        return hospital
    previous = hospital.status
    hospital.status = HospitalStatus.active
    hospital.status_changed_at = clock.now()
    action = "approve" if previous == HospitalStatus.pending else "reactivate"
    record_event(action, "hospital", hospital.id, hospital_id=hospital.id, user_id=actor.id)
    events.hospital_status_changed.send(hospital, actor=actor, status=hospital.status)
    return hospital


def suspend_hospital(hospital: Hospital, actor: User) -> Hospital:
    """Stop an active hospital taking bookings; suspending twice changes nothing."""
    if hospital.status == HospitalStatus.suspended:
        return hospital
    if hospital.status == HospitalStatus.pending:
        raise Conflict(N_("A pending hospital cannot be suspended; approve it first."))
    hospital.status = HospitalStatus.suspended
    hospital.status_changed_at = clock.now()
    record_event("suspend", "hospital", hospital.id, hospital_id=hospital.id, user_id=actor.id)
    events.hospital_status_changed.send(hospital, actor=actor, status=hospital.status)
    return hospital


PROFILE_FIELDS = (
    "name",
    "address",
    "city",
    "phone",
    "email",
    "timezone",
    "currency",
    "cancel_cutoff_minutes",
    "idle_timeout_minutes",
)


def update_hospital_profile(hospital: Hospital, actor: User, **values: object) -> list[str]:
    """Change the hospital's profile; returns the names of the fields that changed.

    The currency cannot change while doctors have fees in the old one: the amounts would change meaning."""
    unknown = set(values) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"not profile fields: {sorted(unknown)}")
    if "currency" in values and values["currency"] != hospital.currency:
        billed = db.session.scalar(select(func.count(Bill.id)).where(Bill.hospital_id == hospital.id))
        if billed:
            raise Conflict(
                gettext(
                    "This hospital has bills in %(currency)s; its currency can no longer change.",
                    currency=hospital.currency,
                ),
                field="currency",
            )
        priced = db.session.scalar(
            select(func.count(Membership.id)).where(
                Membership.hospital_id == hospital.id, Membership.fee_minor > 0
            )
        )
        if priced:
            raise Conflict(
                gettext(
                    "Doctors' fees here are in %(currency)s. "
                    "Set their fees to zero before changing the currency.",
                    currency=hospital.currency,
                ),
                field="currency",
            )
    changed = []
    for name, value in values.items():
        if isinstance(value, str):
            value = value.strip() or None if name in ("phone", "email") else value.strip()
        if getattr(hospital, name) != value:
            setattr(hospital, name, value)
            changed.append(name)
    if changed:
        db.session.flush()
        record_event(
            "update",
            "hospital",
            hospital.id,
            hospital_id=hospital.id,
            user_id=actor.id,
            detail=",".join(changed),
        )
    return changed
