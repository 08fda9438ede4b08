"""Two people at once on the flow board: two moves of one card (one wins, the other is told the card
moved), two clerks checking in one visit (one entry), walk-ins racing for a doctor's time and for the
day's numbers (no overlap, no repeated number). The point is PostgreSQL and MariaDB."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from hms import clock
from hms.extensions import db
from hms.models import Appointment, AppointmentStatus, AuditEvent, FlowState, Patient, QueueEntry, User
from hms.services import flow
from tests.concurrency import run_at_once

pytestmark = pytest.mark.concurrency

NOW = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # 08:00 in Nairobi


def _day(make):  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)
    hospital = make.hospital()
    doctor = make.doctor_at(hospital)
    make.schedule(doctor, hospital, start="09:00", end="17:00")
    return hospital, doctor, make.staff(hospital), make.staff(hospital)


def test_two_moves_of_one_card_at_once_one_wins_and_the_other_is_refused(app, make):
    hospital, doctor, first, second = _day(make)
    entry = flow.join_queue(
        hospital=hospital, patient=make.patient().patient, actor=first, doctor_id=doctor.doctor.id
    )
    db.session.commit()
    entry_id, version = entry.id, entry.version

    def mover(user_id: int, to: FlowState):  # type: ignore[no-untyped-def]
        def job():  # type: ignore[no-untyped-def]
            card = db.session.get(QueueEntry, entry_id)
            flow.move_visit(card, to, db.session.get(User, user_id), version=version)
            db.session.commit()

        return job

    outcomes = run_at_once(
        app, [mover(first.id, FlowState.triage), mover(second.id, FlowState.left)], frozen_at=NOW
    )
    assert sorted(outcomes) == ["StaleCard", "done"], outcomes
    db.session.rollback()
    card = db.session.get(QueueEntry, entry_id)
    assert card.version == version + 1
    moves = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "move"))
    assert moves == 1
    expected = AppointmentStatus.noshow if card.state == FlowState.left else AppointmentStatus.arrived
    assert db.session.get(Appointment, card.appointment_id).status == expected


def test_two_clerks_checking_in_one_visit_make_one_entry(app, make):
    hospital, doctor, first, second = _day(make)
    start = datetime.combine(NOW.astimezone(hospital.tz).date(), time(10), tzinfo=hospital.tz)
    visit = make.appointment(make.patient(), doctor, hospital, start.astimezone(UTC))
    hospital_id, visit_id = hospital.id, visit.id

    def clerk(user_id: int):  # type: ignore[no-untyped-def]
        def job():  # type: ignore[no-untyped-def]
            from hms.models import Hospital

            flow.check_in(
                hospital=db.session.get(Hospital, hospital_id),
                appointment_id=visit_id,
                actor=db.session.get(User, user_id),
            )
            db.session.commit()

        return job

    outcomes = run_at_once(app, [clerk(first.id), clerk(second.id)], frozen_at=NOW)
    assert outcomes == ["done", "done"], outcomes
    db.session.rollback()
    entries = db.session.scalars(select(QueueEntry)).all()
    assert len(entries) == 1 and entries[0].number == 1


def test_walk_ins_racing_never_overlap_and_never_share_a_number(app, make):
    hospital, doctor, first, _second = _day(make)
    patients = [make.patient().patient.id for _ in range(6)]
    hospital_id, doctor_id, clerk_id = hospital.id, doctor.doctor.id, first.id

    def walk_in(patient_id: int):  # type: ignore[no-untyped-def]
        def job():  # type: ignore[no-untyped-def]
            from hms.models import Hospital

            flow.join_queue(
                hospital=db.session.get(Hospital, hospital_id),
                patient=db.session.get(Patient, patient_id),
                actor=db.session.get(User, clerk_id),
                doctor_id=doctor_id,
            )
            db.session.commit()

        return job

    outcomes = run_at_once(app, [walk_in(p) for p in patients], frozen_at=NOW)
    assert all(o in ("done", "Conflict") for o in outcomes), outcomes
    db.session.rollback()
    entries = db.session.scalars(select(QueueEntry)).all()
    assert len(entries) == outcomes.count("done") >= 1
    assert len({e.number for e in entries}) == len(entries)
    starts = sorted(db.session.get(Appointment, e.appointment_id).start_at for e in entries)
    assert all(b - a >= timedelta(minutes=30) for a, b in zip(starts, starts[1:], strict=False))


def test_the_days_first_numbers_taken_at_once_are_all_different(app, make):
    """Clerks of one hospital taking the day's first numbers at the same moment (for different doctors,
    so nothing else serializes them): every one gets a number, none twice, and another hospital's day
    counts on its own."""
    hospital, other = make.hospital(), make.hospital()
    db.session.commit()
    day = NOW.date()
    taken: list[int] = []

    def take(hospital_id: int):  # type: ignore[no-untyped-def]
        def job():  # type: ignore[no-untyped-def]
            number = flow.next_number(hospital_id, day)
            db.session.commit()
            taken.append(number)

        return job

    outcomes = run_at_once(app, [take(hospital.id)] * 8 + [take(other.id)] * 2, frozen_at=NOW)
    assert outcomes == ["done"] * 10, outcomes
    assert sorted(taken) == [1, 1, 2, 2, 3, 4, 5, 6, 7, 8]
    db.session.rollback()  # end the read that loaded the hospitals' ids, before the others wrote
    assert flow.next_number(hospital.id, day) == 9 and flow.next_number(other.id, day) == 3
