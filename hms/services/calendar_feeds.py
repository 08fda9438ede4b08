"""Calendars of appointments: one appointment as an .ics download, and a patient's or doctor's feed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import aliased, joinedload

from hms import clock, ical
from hms.extensions import db
from hms.models import Appointment, AppointmentStatus, Doctor, Patient, Role, User
from hms.services.notifications import calendar_identity, calendar_texts

FEED_PAST_DAYS = 90
FEED_FUTURE_DAYS = 366
FEED_MAX_EVENTS = 1000


def appointment_event(appointment: Appointment, reader: User) -> ical.FeedEvent:
    cancelled = appointment.status == AppointmentStatus.cancelled
    uid, sequence = calendar_identity(appointment, cancelled=cancelled)
    texts = calendar_texts(appointment, reader)
    return ical.FeedEvent(
        uid=uid,
        start=appointment.start_at,
        end=appointment.end_at,
        tzid=appointment.hospital.timezone,
        stamp=appointment.status_changed_at or appointment.created_at,
        summary=texts.summary,
        location=texts.location,
        description=texts.description,
        sequence=sequence,
        cancelled=cancelled,
    )


def appointment_for(user: User, appointment_id: int) -> Appointment | None:
    """The appointment when it is the user's own (his visit as patient or as doctor); None otherwise."""
    if not 0 < appointment_id <= 2**31 - 1:
        return None
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        return None
    if user.role == Role.patient and user.patient and appointment.patient_id == user.patient.id:
        return appointment
    if user.role == Role.doctor and user.doctor and appointment.doctor_id == user.doctor.id:
        return appointment
    return None


def appointment_ics(appointment: Appointment, reader: User) -> bytes:
    return ical.publish("HMS appointment", [appointment_event(appointment, reader)])


def feed_appointments(user: User) -> list[Appointment]:
    """A doctor's or a patient's appointments from 90 days ago to a year ahead, cancelled ones too
    (calendars then show them as cancelled), but not the old halves of moved ones."""
    now = clock.now()
    moved = aliased(Appointment)
    statement = (
        select(Appointment)
        .where(
            Appointment.start_at >= now - timedelta(days=FEED_PAST_DAYS),
            Appointment.start_at < now + timedelta(days=FEED_FUTURE_DAYS),
            # The old half of a move shares its event (UID) with the new one: leave it out.
            ~exists().where(moved.rescheduled_from_id == Appointment.id),
        )
        .options(
            joinedload(Appointment.hospital),
            joinedload(Appointment.doctor).joinedload(Doctor.user),
            joinedload(Appointment.patient).joinedload(Patient.user),
        )
        .order_by(Appointment.start_at, Appointment.id)
        .limit(FEED_MAX_EVENTS)
    )
    if user.role == Role.doctor and user.doctor is not None:
        statement = statement.where(Appointment.doctor_id == user.doctor.id)
    elif user.role == Role.patient and user.patient is not None:
        statement = statement.where(Appointment.patient_id == user.patient.id)
    else:
        return []
    return list(db.session.scalars(statement))


def feed_ics(user: User) -> bytes:
    return ical.publish(
        f"HMS: {user.full_name}", [appointment_event(a, user) for a in feed_appointments(user)]
    )
