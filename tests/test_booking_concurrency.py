"""Many people booking at once: the database lets exactly one through (run on every database; the
point is PostgreSQL and MariaDB, where transactions really run in parallel)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import func, select

from hms import clock
from hms.extensions import db
from hms.models import Appointment, AppointmentStatus, Patient
from hms.services import scheduling
from tests.concurrency import run_at_once as _run_at_once

pytestmark = pytest.mark.concurrency

THREADS = 20
NOW = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)
DAY = date(2027, 3, 3)


def run_at_once(app, jobs):  # type: ignore[no-untyped-def]
    return _run_at_once(app, jobs, done="booked")


def booking_job(patient_id, doctor_id, hospital_id, start):  # type: ignore[no-untyped-def]
    def job():  # type: ignore[no-untyped-def]
        patient = db.session.get(Patient, patient_id)
        scheduling.book_appointment(
            patient=patient,
            doctor_id=doctor_id,
            hospital_id=hospital_id,
            start=start,
            reason="Race",
            booked_by=patient.user,
        )
        db.session.commit()

    return job


def test_twenty_patients_race_for_one_slot_and_one_wins(app, make):
    clock.set_frozen(NOW)
    hospital = make.hospital(timezone="Africa/Nairobi")
    doctor = make.doctor_at(hospital)
    make.schedule(doctor, hospital, start="09:00", end="12:00")
    patients = [make.patient() for _ in range(THREADS)]
    start = datetime.combine(DAY, time(9), tzinfo=hospital.tz).astimezone(UTC)
    jobs = [booking_job(p.patient.id, doctor.doctor.id, hospital.id, start) for p in patients]

    outcomes = run_at_once(app, jobs)

    assert outcomes.count("booked") == 1, outcomes
    assert outcomes.count("SlotTaken") == THREADS - 1, outcomes
    db.session.rollback()
    live = db.session.scalar(
        select(func.count()).select_from(Appointment).where(Appointment.status == AppointmentStatus.booked)
    )
    assert live == 1


def test_one_patient_racing_two_doctors_for_overlapping_slots_gets_one(app, make):
    clock.set_frozen(NOW)
    hospital = make.hospital(timezone="Africa/Nairobi")
    doctors = [make.doctor_at(hospital) for _ in range(THREADS)]
    for i, doctor in enumerate(doctors):
        # Different grids: 30-minute slots from 09:00 and 20-minute slots from 09:10 overlap.
        make.schedule(
            doctor,
            hospital,
            start="09:00" if i % 2 == 0 else "09:10",
            end="12:00",
            slot_minutes=30 if i % 2 == 0 else 20,
        )
    patient = make.patient()
    starts = [time(9) if i % 2 == 0 else time(9, 10) for i in range(THREADS)]
    jobs = [
        booking_job(
            patient.patient.id,
            d.doctor.id,
            hospital.id,
            datetime.combine(DAY, s, tzinfo=hospital.tz).astimezone(UTC),
        )
        for d, s in zip(doctors, starts, strict=True)
    ]

    outcomes = run_at_once(app, jobs)

    assert outcomes.count("booked") == 1, outcomes
    assert all(o in ("booked", "Conflict") for o in outcomes), outcomes
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 1
