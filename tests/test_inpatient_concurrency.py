"""Two people admitting at the same moment (the point is PostgreSQL and MariaDB, where the transactions
really run in parallel): two receptionists putting two patients into one bed (exactly one is admitted,
the other is told the bed is taken, and the bed has one holder); one patient put into two beds at once
(exactly one admission); and the same races through a bed given to two waiting orders."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from hms import clock
from hms.extensions import db
from hms.models import Admission, AdmissionStatus, Bed, BedStatus, BedStay, Hospital, Patient, StaffKind, User
from hms.services import inpatient
from tests.concurrency import run_at_once

pytestmark = pytest.mark.concurrency

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def ward_world(make):  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)
    hospital = make.hospital(timezone="Africa/Nairobi")
    doctor = make.doctor_at(hospital)
    ward = make.ward(hospital, "General", beds=2)
    return {
        "hospital_id": hospital.id,
        "doctor_id": doctor.doctor.id,
        "ward_id": ward.id,
        "beds": [b.id for b in ward.beds],
        "desks": [make.staff(hospital, StaffKind.receptionist).id for _ in range(2)],
        "patients": [make.patient().patient.id for _ in range(2)],
        "doctor_user_id": doctor.id,
    }


def _admit(world, desk_id: int, patient_id: int, bed_id: int):  # type: ignore[no-untyped-def]
    def job() -> None:
        inpatient.admit_patient(
            hospital=db.session.get(Hospital, world["hospital_id"]),
            patient=db.session.get(Patient, patient_id),
            ward_id=world["ward_id"],
            bed_id=bed_id,
            doctor_id=world["doctor_id"],
            actor=db.session.get(User, desk_id),
            reason="Race",
        )
        db.session.commit()

    return job


def _holders(bed_id: int) -> list[int]:
    return list(db.session.scalars(select(Admission.id).where(Admission.bed_id == bed_id)))


def _open_stays(bed_id: int) -> int:
    return db.session.scalar(
        select(func.count(BedStay.id)).where(BedStay.bed_id == bed_id, BedStay.ended_at.is_(None))
    )


def test_two_receptionists_admitting_two_patients_into_one_bed_admit_exactly_one(app, ward_world):
    bed_id = ward_world["beds"][0]
    jobs = [
        _admit(ward_world, desk, patient, bed_id)
        for desk, patient in zip(ward_world["desks"], ward_world["patients"], strict=True)
    ]
    outcomes = run_at_once(app, jobs, frozen_at=NOW)
    assert sorted(outcomes) == ["BedTaken", "done"], outcomes
    db.session.rollback()
    assert len(_holders(bed_id)) == 1 and _open_stays(bed_id) == 1
    assert db.session.get(Bed, bed_id).status == BedStatus.occupied
    admissions = list(db.session.scalars(select(Admission)))
    assert [a.status for a in admissions] == [AdmissionStatus.admitted]  # the refused one left nothing


def test_one_patient_admitted_into_two_beds_at_once_is_admitted_once(app, ward_world):
    patient = ward_world["patients"][0]
    jobs = [
        _admit(ward_world, desk, patient, bed)
        for desk, bed in zip(ward_world["desks"], ward_world["beds"], strict=True)
    ]
    outcomes = run_at_once(app, jobs, frozen_at=NOW)
    assert sorted(outcomes) == ["Conflict", "done"], outcomes
    db.session.rollback()
    admissions = list(db.session.scalars(select(Admission).where(Admission.patient_id == patient)))
    assert len(admissions) == 1 and admissions[0].status == AdmissionStatus.admitted
    statuses = sorted(db.session.get(Bed, b).status.value for b in ward_world["beds"])
    assert statuses == ["free", "occupied"]  # the other bed was not taken on the way


def test_one_bed_given_to_two_waiting_orders_at_once_goes_to_one(app, ward_world):
    orders = []
    for patient in ward_world["patients"]:
        orders.append(
            inpatient.admit_patient(
                hospital=db.session.get(Hospital, ward_world["hospital_id"]),
                patient=db.session.get(Patient, patient),
                ward_id=ward_world["ward_id"],
                bed_id=None,
                doctor_id=None,
                actor=db.session.get(User, ward_world["doctor_user_id"]),
                reason="Waiting",
            ).id
        )
        db.session.commit()
    bed_id = ward_world["beds"][0]

    def give(desk_id: int, admission_id: int):  # type: ignore[no-untyped-def]
        def job() -> None:
            inpatient.assign_bed(
                db.session.get(Admission, admission_id), bed_id, db.session.get(User, desk_id)
            )
            db.session.commit()

        return job

    jobs = [give(desk, order) for desk, order in zip(ward_world["desks"], orders, strict=True)]
    outcomes = run_at_once(app, jobs, frozen_at=NOW)
    assert sorted(outcomes) == ["BedTaken", "done"], outcomes
    db.session.rollback()
    assert len(_holders(bed_id)) == 1 and _open_stays(bed_id) == 1
    statuses = sorted(db.session.get(Admission, a).status.value for a in orders)
    assert statuses == ["admitted", "ordered"]  # the other still waits, for another bed


def test_closing_a_ward_while_a_patient_is_put_in_its_bed_never_leaves_him_in_a_closed_ward(
    app, make, ward_world
):  # type: ignore[no-untyped-def]
    from hms.models import Ward
    from hms.services import wards

    admin_id = make.hospital_admin(db.session.get(Hospital, ward_world["hospital_id"])).id
    bed_id = ward_world["beds"][0]

    def close() -> None:
        wards.set_ward_active(
            db.session.get(Ward, ward_world["ward_id"]), False, db.session.get(User, admin_id)
        )
        db.session.commit()

    outcomes = run_at_once(
        app,
        [_admit(ward_world, ward_world["desks"][0], ward_world["patients"][0], bed_id), close],
        frozen_at=NOW,
    )
    db.session.rollback()
    ward = db.session.get(Ward, ward_world["ward_id"])
    held = _holders(bed_id)
    # Either the patient is in (and the closing was refused) or the ward closed (and he was refused).
    assert sorted(outcomes) in (["Conflict", "done"], ["Invalid", "done"]), outcomes
    assert (ward.active and held) or (not ward.active and not held), (outcomes, ward.active, held)
