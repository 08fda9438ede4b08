"""Bookings by phone: the front desk books, moves and cancels a patient's visits at its hospital with
the same race-free booking service as the patient's own picker (hms/services/scheduling.py); the
appointment's `booked_by` is the receptionist, and the audit names her as actor for the patient."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from hms import clock
from hms.extensions import db
from hms.i18n import N_
from hms.models import Appointment, Doctor, Hospital, Membership, MembershipStatus, Patient, User
from hms.services import scheduling
from hms.services.errors import Conflict


def desk_doctors(hospital: Hospital) -> list[Membership]:
    """The doctors the desk can book with: the hospital's active members, by name. One statement."""
    return list(
        db.session.scalars(
            select(Membership)
            .join(Membership.doctor)
            .join(Doctor.user)
            .where(Membership.hospital_id == hospital.id, Membership.status == MembershipStatus.active)
            .options(joinedload(Membership.doctor).joinedload(Doctor.user), joinedload(Membership.hospital))
            .order_by(User.full_name, Doctor.id)
        ).unique()
    )


def patient_appointment(hospital: Hospital, patient: Patient, appointment_id: int) -> Appointment | None:
    """The patient's visit at this hospital (None: not his, or at another hospital: a 404)."""
    return db.session.scalar(
        select(Appointment).where(
            Appointment.id == appointment_id,
            Appointment.patient_id == patient.id,
            Appointment.hospital_id == hospital.id,
        )
    )


def book_on_behalf(
    *,
    hospital: Hospital,
    patient: Patient,
    doctor_id: int,
    start: datetime,
    reason: str,
    actor: User,
    idempotency_key: str | None = None,
) -> Appointment:
    """Book for `patient` with a doctor of `hospital` (the desk's own): `scheduling.book_appointment`
    with `booked_by` the receptionist. Raises what it raises (SlotTaken with the nearest free times).
    The patient is told by the booking's own notification, in his language. Flushes."""
    return scheduling.book_appointment(
        patient=patient,
        doctor_id=doctor_id,
        hospital_id=hospital.id,
        start=start,
        reason=reason,
        booked_by=actor,
        idempotency_key=idempotency_key,
    )


def move_on_behalf(
    appointment: Appointment, new_start: datetime, actor: User, idempotency_key: str | None = None
) -> Appointment:
    """Move the patient's visit to another free time of the same doctor (the patient's cut-off does
    not bind the desk: the patient is on the phone). Flushes."""
    return scheduling.reschedule_appointment(appointment, new_start, actor, idempotency_key)


def cancel_on_behalf(appointment: Appointment, actor: User, reason: str) -> Appointment:
    """Cancel the patient's visit; a reason is required (the patient sees it). Flushes."""
    if not scheduling.can_cancel(appointment, actor, clock.now()):
        raise Conflict(N_("This appointment can no longer be cancelled."))
    return scheduling.cancel_appointment(appointment, actor, reason)
