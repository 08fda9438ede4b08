"""Appointment reminders (by default 24 hours and 1 hour before), each sent once per appointment.

A reminder is "due" for offset K while the appointment starts within K minutes but not yet within
the next smaller offset, so a worker that was down sends only the nearest reminder, not a stale
"tomorrow" one. Each reminder first inserts its AppointmentReminder row (unique per appointment and
offset) in a savepoint: a second worker, or the same one after a restart, fails on the key and skips."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext, ngettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from hms import clock
from hms.database import lock_rows
from hms.extensions import db
from hms.i18n import in_language_of
from hms.models import Appointment, AppointmentReminder, AppointmentStatus, Doctor, Patient
from hms.services.notifications import appointment_ics, appointment_link, notify, when_text


def _in_about(delta: timedelta) -> str:
    """The time left, said roughly: "1 day", "5 hours", "55 minutes"."""
    minutes = max(1, round(delta.total_seconds() / 60))
    if minutes >= 20 * 60:
        days = max(1, round(minutes / 1440))
        return ngettext("%(num)d day", "%(num)d days", days)
    if minutes >= 90:
        return ngettext("%(num)d hour", "%(num)d hours", round(minutes / 60))
    if minutes >= 55:
        return ngettext("%(num)d hour", "%(num)d hours", 1)
    return ngettext("%(num)d minute", "%(num)d minutes", minutes)


def _due(offset: int, smaller: int, now: datetime) -> list[Appointment]:
    already = select(AppointmentReminder.id).where(
        AppointmentReminder.appointment_id == Appointment.id, AppointmentReminder.offset_minutes == offset
    )
    rows = db.session.scalars(
        select(Appointment)
        .where(
            Appointment.status == AppointmentStatus.booked,
            Appointment.start_at > now + timedelta(minutes=smaller),
            Appointment.start_at <= now + timedelta(minutes=offset),
            ~already.exists(),
        )
        .options(
            joinedload(Appointment.hospital),
            joinedload(Appointment.doctor).joinedload(Doctor.user),
            joinedload(Appointment.patient).joinedload(Patient.user),
        )
        .order_by(Appointment.start_at, Appointment.id)
    ).all()
    # Booked inside the window (say 3 hours ahead): the booking confirmation was the reminder.
    return [a for a in rows if a.created_at <= a.start_at - timedelta(minutes=offset)]


def _claim(appointment: Appointment, offset: int, now: datetime) -> bool:
    try:
        with db.session.begin_nested():
            db.session.add(
                AppointmentReminder(appointment_id=appointment.id, offset_minutes=offset, sent_at=now)
            )
            db.session.flush()
    except IntegrityError:
        return False
    return True


def send_reminders(now: datetime | None = None) -> int:
    """Queue every due reminder (in-app, email with the .ics, text message as the patient chose);
    returns how many. Flushes; the caller commits."""
    now = now or clock.now()
    lock_rows()  # SQLite: take the write lock first, so that concurrent runs queue up instead of failing
    offsets = sorted(set(current_app.config["REMINDER_OFFSETS_MINUTES"]))
    sent = 0
    for i, offset in enumerate(offsets):
        smaller = offsets[i - 1] if i else 0
        for appointment in _due(offset, smaller, now):
            if not _claim(appointment, offset, now):
                continue
            patient = appointment.patient.user
            hospital = appointment.hospital
            with in_language_of(patient):
                text = gettext(
                    "Reminder: your appointment with Dr %(doctor)s at %(hospital)s is on %(when)s "
                    "(in about %(left)s).",
                    doctor=appointment.doctor.name,
                    hospital=hospital.name,
                    when=when_text(appointment),
                    left=_in_about(appointment.start_at - now),
                )
                subject = gettext("Reminder: appointment on %(when)s", when=when_text(appointment))
            notify(
                patient,
                "appointment_reminder",
                text,
                link=appointment_link(appointment, patient),
                subject=subject,
                ics=appointment_ics(appointment, patient),
                hospital_id=hospital.id,
            )
            sent += 1
    db.session.flush()
    return sent
