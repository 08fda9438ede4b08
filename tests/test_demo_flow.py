"""The demo data's day on the flow board (hms/demo.py), loaded at a fixed moment, a Wednesday at 10:40
in Nairobi: the demo doctor's patients checked in through the flow service in every state, and the
walk-ins queued, the urgent one first."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from hms import clock, demo
from hms.extensions import db
from hms.models import AppointmentStatus, AuditEvent, FlowState, Hospital, QueueEntry, QueuePriority, User
from hms.services import flow

MOMENT = datetime(2026, 3, 11, 10, 40, tzinfo=ZoneInfo("Africa/Nairobi"))


@pytest.fixture(scope="module")
def seeded_at(app, module_transaction):  # type: ignore[no-untyped-def]
    with app.app_context(), clock.frozen(MOMENT):
        demo.seed()
        db.session.commit()
    return MOMENT


@pytest.fixture
def riverside(seeded_at) -> Hospital:  # type: ignore[no-untyped-def]
    clock.set_frozen(seeded_at)
    return db.session.scalar(select(Hospital).where(Hospital.name == demo.DEMO_HOSPITAL))


def test_the_demo_doctors_checked_in_patients_are_on_the_board_in_every_state(riverside):
    """The 09:00 patient was seen (done), the 10:00 one waits for the doctor, and of those still to come
    one is with the nurse and one waiting: each checked in through the flow service (numbered, audited)."""
    doctor = db.session.scalar(select(User).where(User.email == demo.DEMO_DOCTOR))
    booked = sorted((e for e in flow.doctor_queue(doctor.doctor.id) if not e.walk_in), key=lambda e: e.number)
    assert [e.state for e in booked] == [FlowState.done, FlowState.ready, FlowState.triage, FlowState.waiting]
    assert [e.number for e in booked] == [1, 2, 3, 4]
    assert booked[0].appointment.status == AppointmentStatus.fulfilled
    assert {e.appointment.status for e in booked[1:]} == {AppointmentStatus.arrived}
    for entry in booked:
        audited = select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "queue", AuditEvent.record_id == entry.appointment_id
        )
        assert db.session.scalar(audited) == 1


def test_the_demo_desk_has_walk_ins_in_the_queue_the_urgent_one_first(riverside):
    walk_ins = db.session.scalar(
        select(func.count(QueueEntry.id)).where(
            QueueEntry.walk_in.is_(True), QueueEntry.hospital_id == riverside.id
        )
    )
    assert walk_ins >= 2
    board = flow.board_entries(riverside, flow.BoardFilter())
    assert board[0].priority == QueuePriority.urgent and board[0].patient.name == "Baraka Otieno"
    assert board[0].walk_in and board[0].state == FlowState.waiting


def test_the_demo_nurse_has_a_patient_waiting_for_triage_and_one_triaged(riverside):
    from hms.services import triage

    nurse = db.session.scalar(select(User).where(User.email == "nurse@example.org"))
    rows = triage.triage_queue(nurse.staff.hospital)
    assert len(rows) >= 2
    assert rows[0].vitals is None  # waiting first
    triaged = [r.vitals for r in rows if r.vitals is not None]
    assert len(triaged) == 1 and triaged[0].triage_level == 2 and triaged[0].recorded_by_id == nurse.id
