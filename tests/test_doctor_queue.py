"""The doctor's side of the patient flow: his queue of today (emergency and urgent first, then by
number) with one-click Call in and Done, refused on another doctor's card and on a stale one; his
agenda says where each checked-in patient is on the board and for how long."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hms import clock
from hms.extensions import db
from hms.models import AppointmentStatus, AuditEvent, FlowState, QueueEntry, QueuePriority, StaffKind
from hms.services import flow

NOW = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # 08:00 in Nairobi
HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _frozen():  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)


@pytest.fixture
def day(make):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    doctor = make.doctor_at(hospital, name="Grace Otieno")
    make.schedule(doctor, hospital, start="09:00", end="12:00")
    receptionist = make.staff(hospital, StaffKind.receptionist)
    return hospital, doctor, receptionist


def queued(make, day, name: str, priority=QueuePriority.normal) -> QueueEntry:  # type: ignore[no-untyped-def]
    hospital, doctor, receptionist = day
    entry = flow.join_queue(
        hospital=hospital,
        patient=make.patient(name=name).patient,
        actor=receptionist,
        doctor_id=doctor.doctor.id,
        priority=priority,
    )
    db.session.commit()
    return entry


def test_the_queue_lists_his_patients_of_today_the_urgent_first_then_by_number(client, login_as, make, day):
    hospital, doctor, receptionist = day
    queued(make, day, "Baraka First")
    queued(make, day, "Wanjiru Second")
    queued(make, day, "Otieno Urgent", QueuePriority.urgent)
    other_doctor = make.doctor_at(hospital, name="Someone Else")
    make.schedule(other_doctor, hospital, start="09:00", end="12:00")
    flow.join_queue(
        hospital=hospital,
        patient=make.patient(name="Not His").patient,
        actor=receptionist,
        doctor_id=other_doctor.doctor.id,
    )
    db.session.commit()
    login_as(doctor)
    page = client.get("/doctor/queue").get_data(as_text=True)
    assert page.index("Otieno Urgent") < page.index("Baraka First") < page.index("Wanjiru Second")
    assert "Not His" not in page
    assert 'hx-trigger="every 10s"' in page and "Call in" in page
    assert 'href="/doctor/queue"' in page  # in his navigation
    fragment = client.get("/doctor/queue", headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="doctor-queue"') and "<html" not in fragment


def test_the_doctor_calls_a_patient_in_and_is_done_with_one_click_each(client, login_as, make, day):
    entry = queued(make, day, "Baraka Mwangi")
    login_as(day[1])
    response = client.post(
        f"/doctor/queue/{entry.id}/move", data={"to": "consultation", "version": entry.version}, headers=HX
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "In consultation" in html and "Call in" not in html and ">Done</button>" in html
    db.session.refresh(entry)
    assert entry.state == FlowState.consultation
    response = client.post(f"/doctor/queue/{entry.id}/move", data={"to": "done", "version": entry.version})
    assert response.status_code == 303 and response.headers["Location"].endswith("/doctor/queue")
    db.session.refresh(entry)
    assert entry.state == FlowState.done and entry.appointment.status == AppointmentStatus.fulfilled
    moves = db.session.query(AuditEvent).filter_by(action="move", record_id=entry.appointment_id).count()
    assert moves == 2
    assert "Nobody is waiting for you" in client.get("/doctor/queue").get_data(as_text=True)


def test_the_doctor_cannot_move_a_card_elsewhere_nor_anothers_nor_a_stale_one(client, login_as, make, day):
    hospital, _doctor, receptionist = day
    entry = queued(make, day, "Baraka Mwangi")
    login_as(day[1])
    path = f"/doctor/queue/{entry.id}/move"
    assert client.post(path, data={"to": "left", "version": entry.version}, headers=HX).status_code == 422
    assert client.post(path, data={"to": "done", "version": entry.version}, headers=HX).status_code == 409
    stale = entry.version
    flow.move_visit(entry, FlowState.triage, receptionist)  # the nurse takes him meanwhile
    db.session.commit()
    response = client.post(path, data={"to": "consultation", "version": stale}, headers=HX)
    assert response.status_code == 409 and "Someone else has just moved" in response.get_data(as_text=True)
    login_as(make.doctor_at(hospital))
    assert client.post(path, data={"to": "consultation", "version": entry.version}).status_code == 404
    db.session.refresh(entry)
    assert entry.state == FlowState.triage


def test_the_agenda_shows_where_each_checked_in_patient_is_and_for_how_long(client, login_as, make, day):
    hospital, doctor, receptionist = day
    waiting = queued(make, day, "Baraka Waiting")
    ready = queued(make, day, "Wanjiru Ready")
    flow.move_visit(ready, FlowState.ready, receptionist)
    db.session.commit()
    clock.set_frozen(NOW + timedelta(minutes=12))
    login_as(doctor)
    page = client.get("/doctor/agenda").get_data(as_text=True)
    row = page[page.index(f'id="appointment-{waiting.appointment_id}"') :]
    assert "Waiting</a> · 12 minutes" in row[: row.index("</tr>")]
    row = page[page.index(f'id="appointment-{ready.appointment_id}"') :]
    assert "Ready for doctor</a> · 12 minutes" in row[: row.index("</tr>")]
    tomorrow = (NOW + timedelta(days=1)).astimezone(hospital.tz).date().isoformat()
    assert "flow-where" not in client.get(f"/doctor/agenda?day={tomorrow}").get_data(as_text=True)
