"""Reminders 24 hours and 1 hour before each appointment: once each, whatever restarts or runs at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from hms import clock
from hms.extensions import db
from hms.models import (
    AppointmentReminder,
    AppointmentStatus,
    Notification,
    NotificationPreference,
    OutboxEmail,
)
from hms.services import reminders

START = datetime(2030, 1, 8, 6, 0, tzinfo=UTC)  # 09:00 in Nairobi


def booked(make, start_at=START, created_at=START - timedelta(days=5), hospital=None, **fields):  # type: ignore[no-untyped-def]
    """A patient's appointment with a doctor, booked at `created_at`."""
    hospital = hospital or make.hospital()
    doctor = make.doctor_at(hospital)
    return make.appointment(make.patient(), doctor, hospital, start_at, created_at=created_at, **fields)


def booked_long_ago(make, **fields):  # type: ignore[no-untyped-def]
    return booked(make, **fields)


def reminder_texts(user) -> list[str]:  # type: ignore[no-untyped-def]
    return list(
        db.session.scalars(
            select(Notification.text)
            .where(Notification.user_id == user.id, Notification.kind == "appointment_reminder")
            .order_by(Notification.id)
        )
    )


def run_at(moment: datetime) -> int:
    clock.set_frozen(moment)
    count = reminders.send_reminders()
    db.session.commit()
    return count


def test_a_day_before_and_an_hour_before_each_once(make):
    appointment = booked_long_ago(make)
    patient = appointment.patient.user
    assert run_at(START - timedelta(hours=25)) == 0
    assert run_at(START - timedelta(hours=24)) == 1
    assert run_at(START - timedelta(hours=23)) == 0  # a restarted worker sends nothing again
    assert run_at(START - timedelta(hours=2)) == 0
    assert run_at(START - timedelta(minutes=60)) == 1
    assert run_at(START - timedelta(minutes=30)) == 0
    assert run_at(START + timedelta(minutes=5)) == 0
    texts = reminder_texts(patient)
    assert len(texts) == 2
    assert "on Tue 08 Jan 2030 at 09:00 EAT (in about 1 day)" in texts[0]
    assert "(in about 1 hour)" in texts[1]
    offsets = db.session.scalars(select(AppointmentReminder.offset_minutes).order_by(AppointmentReminder.id))
    assert list(offsets) == [1440, 60]


def test_reminder_email_carries_the_invitation_in_hospital_time(make):
    appointment = booked_long_ago(make)
    run_at(START - timedelta(hours=20))
    mail = db.session.scalar(select(OutboxEmail).where(OutboxEmail.kind == "appointment_reminder"))
    assert mail.to == appointment.patient.user.email
    assert mail.subject == "Reminder: appointment on Tue 08 Jan 2030 at 09:00 EAT"
    assert "DTSTART:20300108T060000Z" in mail.ics


def test_times_follow_each_hospitals_time_zone(make):
    hospital = make.hospital(timezone="America/Lima")
    booked(make, hospital=hospital)
    run_at(START - timedelta(hours=20))
    (text,) = db.session.scalars(select(Notification.text).where(Notification.kind == "appointment_reminder"))
    assert "on Tue 08 Jan 2030 at 01:00 -05 " in text


def test_a_worker_that_was_down_sends_only_the_nearest_reminder(make):
    appointment = booked_long_ago(make)
    assert run_at(START - timedelta(minutes=40)) == 1
    (text,) = reminder_texts(appointment.patient.user)
    assert "(in about 40 minutes)" in text
    assert run_at(START - timedelta(minutes=20)) == 0


def test_no_day_before_reminder_for_a_booking_made_within_the_day(make):
    appointment = booked(make, created_at=START - timedelta(hours=5))
    assert run_at(START - timedelta(hours=4)) == 0
    assert run_at(START - timedelta(minutes=59)) == 1
    assert len(reminder_texts(appointment.patient.user)) == 1


def test_no_reminders_for_cancelled_or_past_appointments(make):
    booked_long_ago(make, status=AppointmentStatus.cancelled)
    booked(make, start_at=START - timedelta(hours=2), created_at=START - timedelta(days=3))
    assert run_at(START - timedelta(hours=1)) == 0


def test_reminders_follow_the_patients_preferences_but_always_reach_the_bell(make):
    appointment = booked_long_ago(make)
    patient = appointment.patient.user
    db.session.add(
        NotificationPreference(user_id=patient.id, kind="appointment_reminder", email=False, sms=False)
    )
    db.session.commit()
    run_at(START - timedelta(hours=3))
    assert len(reminder_texts(patient)) == 1
    assert db.session.scalar(select(func.count(OutboxEmail.id))) == 0
    assert run_at(START - timedelta(hours=2)) == 0  # no email does not mean "send again"


def test_offsets_come_from_the_configuration(app, make, monkeypatch):
    monkeypatch.setitem(app.config, "REMINDER_OFFSETS_MINUTES", [180])
    booked_long_ago(make)
    assert run_at(START - timedelta(hours=4)) == 0
    assert run_at(START - timedelta(hours=3)) == 1
    assert run_at(START - timedelta(minutes=30)) == 0


def test_send_reminders_command(app, make):
    booked_long_ago(make)
    clock.set_frozen(START - timedelta(hours=23))
    runner = app.test_cli_runner()
    assert "1 reminders queued." in runner.invoke(args=["hms", "send-reminders"]).output
    assert "0 reminders queued." in runner.invoke(args=["hms", "send-reminders"]).output


@pytest.mark.concurrency
def test_two_workers_at_once_send_each_reminder_once(app, make):
    for _ in range(8):
        booked_long_ago(make)
    clock.set_frozen(START - timedelta(hours=23))
    counts: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def work() -> None:
        with app.app_context():
            try:
                barrier.wait()
                counts.append(reminders.send_reminders())
                db.session.commit()
            except BaseException as error:  # surfaced below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(counts) == 8
    db.session.rollback()
    assert db.session.scalar(select(func.count(AppointmentReminder.id))) == 8
    kind = Notification.kind == "appointment_reminder"
    assert db.session.scalar(select(func.count(Notification.id)).where(kind)) == 8
