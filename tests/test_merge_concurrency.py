"""Two receptionists merging the same record at the same moment: one wins, the others are refused, and
nothing is half-moved (run on PostgreSQL and MariaDB, where the transactions really run in parallel)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from hms import clock
from hms.extensions import db
from hms.models import Appointment, AppointmentStatus, Hospital, Patient, PatientMerge, Sex, StaffKind, User
from hms.services import desk, merge
from tests.concurrency import run_at_once

pytestmark = pytest.mark.concurrency

NOW = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)


def _merge_job(kept_id, merged_id, by_id, hospital_id):  # type: ignore[no-untyped-def]
    def job():  # type: ignore[no-untyped-def]
        merge.merge_patients(
            db.session.get(Patient, kept_id),
            db.session.get(Patient, merged_id),
            db.session.get(User, by_id),
            db.session.get(Hospital, hospital_id),
        )
        db.session.commit()

    return job


def _records(make, count):  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)
    hospital = make.hospital()
    receptionist = make.staff(hospital, StaffKind.receptionist)
    doctor = make.doctor_at(hospital)
    records = []
    for n in range(count):
        patient = desk.register_patient(
            hospital=hospital,
            actor=receptionist,
            full_name=f"Amina Wanjiru {n}",
            sex=Sex.female,
            phone="+254 711 222 333",
            date_of_birth=date(1985, 4, 12),
        )
        db.session.commit()
        for day in (1, 2):
            make.appointment(
                patient.user,
                doctor,
                hospital,
                start_at=NOW - timedelta(days=day * (n + 1)),
                status=AppointmentStatus.fulfilled,
            )
        records.append(patient.id)
    return hospital, receptionist, records


def test_merging_one_record_into_several_at_once_lets_one_win(app, make):  # type: ignore[no-untyped-def]
    hospital, receptionist, (merged, *kept) = _records(make, 4)
    jobs = [_merge_job(k, merged, receptionist.id, hospital.id) for k in kept]
    outcomes = run_at_once(app, jobs, frozen_at=NOW)
    db.session.rollback()  # end the test's read transaction: see what the jobs committed
    assert sorted(outcomes) == ["Conflict", "Conflict", "done"], outcomes
    (winner,) = db.session.scalars(select(PatientMerge.kept_id).where(PatientMerge.merged_id == merged)).all()
    assert db.session.get(Patient, merged).merged_into_id == winner
    visits = dict(
        db.session.execute(
            select(Appointment.patient_id, func.count()).group_by(Appointment.patient_id)
        ).all()
    )
    assert visits == {winner: 4, **{k: 2 for k in kept if k != winner}}


def test_two_desks_merging_a_pair_each_way_at_once(app, make):  # type: ignore[no-untyped-def]
    hospital, receptionist, (a, b) = _records(make, 2)
    jobs = [_merge_job(a, b, receptionist.id, hospital.id), _merge_job(b, a, receptionist.id, hospital.id)]
    outcomes = run_at_once(app, jobs, frozen_at=NOW)
    db.session.rollback()  # end the test's read transaction: see what the jobs committed
    assert sorted(outcomes) == ["Conflict", "done"], outcomes
    (done,) = db.session.scalars(select(PatientMerge)).all()
    assert db.session.get(Patient, done.merged_id).merged_into_id == done.kept_id
    assert db.session.get(Patient, done.kept_id).merged_into_id is None
    count = db.session.scalar(select(func.count()).where(Appointment.patient_id == done.kept_id))
    assert count == 4 and len(done.rows) >= 4
