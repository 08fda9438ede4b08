"""The patient flow: walk-ins queued into free time, booked visits checked in, numbers per day, the
urgent first, cards moved one state at a time (audited, a stale card refused)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    FlowState,
    MembershipStatus,
    QueueEntry,
    QueuePriority,
    StaffKind,
)
from hms.services import flow
from hms.services.errors import Conflict, NotFound

# Monday 2 March 2026, 08:00 in Nairobi (UTC+3)
NOW = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen():  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)


def local(hospital, hour: int, minute: int = 0, days: int = 0) -> datetime:  # type: ignore[no-untyped-def]
    day = NOW.astimezone(hospital.tz).date() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), tzinfo=hospital.tz).astimezone(UTC)


@pytest.fixture
def desk(make):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    doctor = make.doctor_at(hospital)
    make.schedule(doctor, hospital, start="09:00", end="12:00")
    receptionist = make.staff(hospital, StaffKind.receptionist)
    return hospital, doctor, receptionist


def walk_in(make, hospital, doctor, receptionist, **kwargs):  # type: ignore[no-untyped-def]
    entry = flow.join_queue(
        hospital=hospital,
        patient=make.patient().patient,
        actor=receptionist,
        doctor_id=doctor.doctor.id,
        **kwargs,
    )
    db.session.commit()
    return entry


# ---------------------------------------------------------------- walk-ins


def test_a_walk_in_is_fitted_into_the_first_free_time_and_never_over_a_booked_visit(make, desk):
    hospital, doctor, receptionist = desk
    booked = make.appointment(make.patient(), doctor, hospital, local(hospital, 9))
    entry = walk_in(make, hospital, doctor, receptionist)
    visit = entry.appointment
    assert visit.start_at == local(hospital, 9, 30)
    assert visit.status == AppointmentStatus.arrived
    assert entry.walk_in and entry.state == FlowState.waiting and entry.number == 1
    second = walk_in(make, hospital, doctor, receptionist)
    assert second.appointment.start_at == local(hospital, 10)
    assert booked.start_at not in (visit.start_at, second.appointment.start_at)


def test_queue_numbers_count_per_hospital_and_start_again_the_next_day(make, desk):
    hospital, doctor, receptionist = desk
    other = make.hospital()
    other_doctor = make.doctor_at(other)
    make.schedule(other_doctor, other, start="09:00", end="12:00")
    numbers = [walk_in(make, hospital, doctor, receptionist).number for _ in range(3)]
    assert numbers == [1, 2, 3]
    assert walk_in(make, other, other_doctor, make.staff(other)).number == 1
    clock.set_frozen(NOW + timedelta(days=1))
    assert walk_in(make, hospital, doctor, receptionist).number == 1


def test_urgent_and_emergency_go_first_then_by_number(make, desk):
    hospital, doctor, receptionist = desk
    normal = walk_in(make, hospital, doctor, receptionist)
    urgent = walk_in(make, hospital, doctor, receptionist, priority=QueuePriority.urgent)
    emergency = walk_in(make, hospital, doctor, receptionist, priority=QueuePriority.emergency)
    later = walk_in(make, hospital, doctor, receptionist)
    order = flow.board_entries(hospital, flow.BoardFilter())
    assert [e.id for e in order] == [emergency.id, urgent.id, normal.id, later.id]


def test_a_walk_in_for_an_inactive_doctor_or_a_full_day_is_refused_plainly(make, desk):
    hospital, doctor, receptionist = desk
    membership = doctor.doctor.memberships[0]
    membership.status = MembershipStatus.inactive
    db.session.commit()
    with pytest.raises(Conflict, match="takes no patients here"):
        walk_in(make, hospital, doctor, receptionist)
    db.session.rollback()
    membership.status = MembershipStatus.active
    db.session.commit()
    clock.set_frozen(local(hospital, 11, 40))  # the last slot (11:30) has begun
    with pytest.raises(Conflict, match="no free time left today"):
        walk_in(make, hospital, doctor, receptionist)


def test_a_department_walk_in_goes_to_its_doctor_free_soonest(make):
    hospital = make.hospital()
    department = make.department(hospital)
    busy, free = make.doctor(), make.doctor()
    for d in (busy, free):
        make.membership(d, hospital, department_row=department)
        make.schedule(d, hospital, start="09:00", end="12:00")
    make.appointment(make.patient(), busy, hospital, local(hospital, 9))
    entry = flow.join_queue(
        hospital=hospital,
        patient=make.patient().patient,
        actor=make.staff(hospital),
        department_id=department.id,
    )
    assert entry.doctor_id == free.doctor.id
    assert entry.department_id == department.id


def test_a_patient_already_waiting_is_not_queued_twice(make, desk):
    hospital, doctor, receptionist = desk
    patient = make.patient()
    flow.join_queue(
        hospital=hospital, patient=patient.patient, actor=receptionist, doctor_id=doctor.doctor.id
    )
    with pytest.raises(Conflict, match="already in today's queue"):
        flow.join_queue(
            hospital=hospital, patient=patient.patient, actor=receptionist, doctor_id=doctor.doctor.id
        )


# ---------------------------------------------------------------- check-in


def test_a_booked_visit_of_today_is_checked_in_once(make, desk):
    hospital, doctor, receptionist = desk
    visit = make.appointment(make.patient(), doctor, hospital, local(hospital, 10))
    entry = flow.check_in(hospital=hospital, appointment_id=visit.id, actor=receptionist)
    db.session.commit()
    assert visit.status == AppointmentStatus.arrived
    assert entry.state == FlowState.waiting and not entry.walk_in and entry.number == 1
    again = flow.check_in(hospital=hospital, appointment_id=visit.id, actor=receptionist)
    assert again.id == entry.id


def test_check_in_refuses_a_cancelled_visit_another_days_and_another_hospitals(make, desk):
    hospital, doctor, receptionist = desk
    cancelled = make.appointment(
        make.patient(), doctor, hospital, local(hospital, 10), status=AppointmentStatus.cancelled
    )
    with pytest.raises(Conflict, match="was cancelled"):
        flow.check_in(hospital=hospital, appointment_id=cancelled.id, actor=receptionist)
    db.session.rollback()
    tomorrow = make.appointment(make.patient(), doctor, hospital, local(hospital, 10, days=1))
    with pytest.raises(Conflict, match="not today"):
        flow.check_in(hospital=hospital, appointment_id=tomorrow.id, actor=receptionist)
    db.session.rollback()
    elsewhere = make.appointment(start_at=local(hospital, 10))
    with pytest.raises(NotFound):
        flow.check_in(hospital=hospital, appointment_id=elsewhere.id, actor=receptionist)
    assert db.session.scalar(select(QueueEntry)) is None


# ---------------------------------------------------------------- moves


def test_a_card_moves_through_the_day_with_the_minutes_in_each_state_and_every_move_audited(make, desk):
    hospital, doctor, receptionist = desk
    entry = walk_in(make, hospital, doctor, receptionist)
    nurse = make.staff(hospital, StaffKind.nurse)
    clock.set_frozen(NOW + timedelta(minutes=12))
    flow.move_visit(entry, FlowState.triage, nurse, version=entry.version)
    clock.set_frozen(NOW + timedelta(minutes=20))
    flow.mark_triaged(entry.appointment_id, nurse)
    clock.set_frozen(NOW + timedelta(minutes=45))
    flow.move_visit(entry, FlowState.consultation, doctor)
    clock.set_frozen(NOW + timedelta(minutes=60))
    flow.move_visit(entry, FlowState.done, doctor)
    db.session.commit()
    assert entry.state == FlowState.done
    assert entry.appointment.status == AppointmentStatus.fulfilled
    assert entry.minutes_waited(clock.now()) == {
        FlowState.waiting: 12,
        FlowState.triage: 8,
        FlowState.ready: 25,
        FlowState.consultation: 15,
    }
    moves = db.session.scalars(
        select(AuditEvent.detail).where(AuditEvent.action == "move").order_by(AuditEvent.id)
    ).all()
    assert moves == ["waiting -> triage", "triage -> ready", "ready -> consultation", "consultation -> done"]


def test_a_move_from_a_stale_card_is_refused_with_the_fresh_card(make, desk):
    hospital, doctor, receptionist = desk
    entry = walk_in(make, hospital, doctor, receptionist)
    seen = entry.version
    flow.move_visit(entry, FlowState.triage, receptionist, version=seen)
    db.session.commit()
    with pytest.raises(flow.StaleCard) as refused:
        flow.move_visit(entry, FlowState.left, receptionist, version=seen)
    assert refused.value.entry.state == FlowState.triage
    assert refused.value.status == 409


def test_a_move_the_state_does_not_allow_is_refused(make, desk):
    hospital, doctor, receptionist = desk
    entry = walk_in(make, hospital, doctor, receptionist)
    with pytest.raises(Conflict, match="cannot move"):
        flow.move_visit(entry, FlowState.done, receptionist)


def test_a_patient_who_left_is_a_no_show_and_his_time_is_free_again(make, desk):
    hospital, doctor, receptionist = desk
    entry = walk_in(make, hospital, doctor, receptionist)
    start = entry.appointment.start_at
    flow.move_visit(entry, FlowState.left, receptionist)
    db.session.commit()
    assert entry.appointment.status == AppointmentStatus.noshow
    assert entry.appointment.active_slot is None
    assert walk_in(make, hospital, doctor, receptionist).appointment.start_at == start
    assert flow.move_refusal(entry, FlowState.waiting) is not None


def test_the_board_stamp_changes_with_any_move_and_not_otherwise(make, desk):
    hospital, doctor, receptionist = desk
    entry = walk_in(make, hospital, doctor, receptionist)
    first = flow.board_stamp(hospital, flow.BoardFilter())
    assert flow.board_stamp(hospital, flow.BoardFilter()) == first
    flow.move_visit(entry, FlowState.triage, receptionist)
    db.session.commit()
    assert flow.board_stamp(hospital, flow.BoardFilter()) != first
    assert db.session.get(Appointment, entry.appointment_id).status == AppointmentStatus.arrived


def test_vital_signs_recorded_by_the_nurse_move_the_card_to_ready(make, desk):
    from hms.services import triage

    hospital, doctor, receptionist = desk
    entry = walk_in(make, hospital, doctor, receptionist)
    nurse = make.staff(hospital, StaffKind.nurse)
    flow.move_visit(entry, FlowState.triage, nurse)
    triage.record_triage(
        entry.appointment, nurse, {"chief_complaint": "Headache", "pulse": "80", "triage_level": "4"}
    )
    db.session.commit()
    assert entry.state == FlowState.ready and entry.ready_at == clock.now()
