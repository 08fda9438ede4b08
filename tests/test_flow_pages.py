"""The flow's pages: the board (filters, wall screen, one-click moves with and without htmx, a stale card
answered 409 with the fresh board), its poll (304 with no body when nothing changed), today's arrivals
with their check-in, the walk-in form (422/409 with the form kept)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from hms import clock
from hms.extensions import db
from hms.models import AppointmentStatus, FlowState, MembershipStatus, QueueEntry, StaffKind
from hms.services import flow

NOW = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # 08:00 in Nairobi
HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _frozen():  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)


def at(hospital, hour: int, days: int = 0) -> datetime:  # type: ignore[no-untyped-def]
    day = NOW.astimezone(hospital.tz).date() + timedelta(days=days)
    return datetime.combine(day, time(hour), tzinfo=hospital.tz).astimezone(UTC)


@pytest.fixture
def day(make):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    doctor = make.doctor_at(hospital, name="Grace Otieno")
    make.schedule(doctor, hospital, start="09:00", end="12:00")
    receptionist = make.staff(hospital, StaffKind.receptionist)
    return hospital, doctor, receptionist


def queued(make, hospital, doctor, receptionist, name="Baraka Mwangi"):  # type: ignore[no-untyped-def]
    entry = flow.join_queue(
        hospital=hospital,
        patient=make.patient(name=name).patient,
        actor=receptionist,
        doctor_id=doctor.doctor.id,
    )
    db.session.commit()
    return entry


def test_the_board_shows_each_card_in_its_column(client, login_as, make, day):
    hospital, doctor, receptionist = day
    queued(make, hospital, doctor, receptionist)
    login_as(receptionist)
    page = client.get("/staff/flow").get_data(as_text=True)
    assert "Baraka Mwangi" in page and "Dr Grace Otieno" in page
    assert 'hx-trigger="every 5s"' in page
    assert client.get("/staff/flow?wall=1").status_code == 200
    assert client.get(f"/staff/flow?doctor={doctor.doctor.id}&department=99").status_code == 200


def test_a_nurse_sees_the_board_and_a_pharmacist_does_not(client, login_as, make, day):
    hospital, *_ = day
    login_as(make.staff(hospital, StaffKind.nurse))
    assert client.get("/staff/flow").status_code == 200
    login_as(make.staff(hospital, StaffKind.pharmacist))
    assert client.get("/staff/flow").status_code == 403


def test_an_unchanged_board_answers_304_with_no_body_and_a_move_changes_it(client, login_as, make, day):
    hospital, doctor, receptionist = day
    entry = queued(make, hospital, doctor, receptionist)
    login_as(receptionist)
    first = client.get("/staff/flow/board", headers=HX)
    assert first.status_code == 200 and first.headers["ETag"]
    etag = first.headers["ETag"]

    again = client.get("/staff/flow/board", headers={**HX, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    size = len(again.data) + sum(len(k) + len(v) + 4 for k, v in again.headers.items())
    assert size <= 300, again.headers
    flow.move_visit(db.session.get(QueueEntry, entry.id), FlowState.triage, receptionist)
    db.session.commit()
    moved = client.get("/staff/flow/board", headers={**HX, "If-None-Match": etag})
    assert moved.status_code == 200 and moved.headers["ETag"] != etag
    clock.set_frozen(NOW + timedelta(minutes=1))  # the minutes on the cards change
    assert (
        client.get("/staff/flow/board", headers={**HX, "If-None-Match": moved.headers["ETag"]}).status_code
        == 200
    )


def test_a_card_moves_with_one_click_with_and_without_htmx(client, login_as, make, day):
    hospital, doctor, receptionist = day
    entry = queued(make, hospital, doctor, receptionist)
    login_as(receptionist)
    response = client.post(f"/staff/flow/{entry.id}/move", data={"to": "triage", "version": entry.version})
    assert response.status_code == 303 and response.headers["Location"].endswith("/staff/flow")
    db.session.refresh(entry)
    assert entry.state == FlowState.triage
    response = client.post(
        f"/staff/flow/{entry.id}/move", data={"to": "ready", "version": entry.version}, headers=HX
    )
    assert response.status_code == 200 and 'id="flow-board"' in response.get_data(as_text=True)
    db.session.refresh(entry)
    assert entry.state == FlowState.ready


def test_a_move_on_a_stale_card_is_409_with_the_fresh_board(client, login_as, make, day):
    hospital, doctor, receptionist = day
    entry = queued(make, hospital, doctor, receptionist)
    stale = entry.version
    login_as(receptionist)
    client.post(f"/staff/flow/{entry.id}/move", data={"to": "triage", "version": stale})
    response = client.post(f"/staff/flow/{entry.id}/move", data={"to": "left", "version": stale}, headers=HX)
    assert response.status_code == 409
    assert "Someone else has just moved this patient" in response.get_data(as_text=True)
    db.session.refresh(entry)
    assert entry.state == FlowState.triage
    bad = client.post(f"/staff/flow/{entry.id}/move", data={"to": "nowhere", "version": "x"}, headers=HX)
    assert bad.status_code == 422


def test_another_hospitals_card_is_404(client, login_as, make, day):
    hospital, doctor, receptionist = day
    entry = queued(make, hospital, doctor, receptionist)
    login_as(make.staff(make.hospital()))
    assert client.post(f"/staff/flow/{entry.id}/move", data={"to": "triage", "version": 1}).status_code == 404


def test_todays_arrivals_are_checked_in_with_a_row_swap(client, login_as, make, day):
    hospital, doctor, receptionist = day
    visit = make.appointment(make.patient(name="Wanjiku Njeri"), doctor, hospital, at(hospital, 10))
    cancelled = make.appointment(
        make.patient(name="Otieno Cancelled"),
        doctor,
        hospital,
        at(hospital, 11),
        status=AppointmentStatus.cancelled,
    )
    make.appointment(make.patient(name="Tomorrow Person"), doctor, hospital, at(hospital, 10, days=1))
    login_as(receptionist)
    page = client.get("/staff/arrivals").get_data(as_text=True)
    assert "Wanjiku Njeri" in page and "Otieno Cancelled" in page and "Tomorrow Person" not in page
    assert f"/staff/arrivals/{cancelled.id}/check-in" not in page
    assert "Wanjiku" in client.get("/staff/arrivals?q=wanjiku", headers=HX).get_data(as_text=True)
    response = client.post(f"/staff/arrivals/{visit.id}/check-in", data={"priority": "urgent"}, headers=HX)
    assert response.status_code == 200
    assert "Checked in: number 1." in response.get_data(as_text=True)
    refused = client.post(f"/staff/arrivals/{cancelled.id}/check-in", headers=HX)
    assert refused.status_code == 409 and "was cancelled" in refused.get_data(as_text=True)
    plain = client.post(f"/staff/arrivals/{cancelled.id}/check-in")
    assert plain.status_code == 303
    other = make.appointment(start_at=at(hospital, 10))
    assert client.post(f"/staff/arrivals/{other.id}/check-in").status_code == 404


def test_a_walk_in_joins_the_queue_from_the_patients_desk_page(client, login_as, make, day):
    hospital, doctor, receptionist = day
    patient = make.patient(name="Juma Walker", registered_hospital_id=hospital.id)
    login_as(receptionist)
    assert "/walk-in" in client.get(f"/staff/desk/patients/{patient.patient.id}").get_data(as_text=True)
    url = f"/staff/desk/patients/{patient.patient.id}/walk-in"
    assert client.get(url).status_code == 200
    assert client.post(url, data={"doctor": "", "department": "", "priority": "normal"}).status_code == 422
    response = client.post(url, data={"doctor": str(doctor.doctor.id), "priority": "urgent"})
    assert response.status_code == 303
    again = client.post(url, data={"doctor": str(doctor.doctor.id), "priority": "urgent"})
    assert again.status_code == 409 and "already in today&#39;s queue" in again.get_data(as_text=True)


def test_a_walk_in_for_an_inactive_doctor_is_409_with_the_form_kept(client, login_as, make, day):
    hospital, doctor, receptionist = day
    patient = make.patient(registered_hospital_id=hospital.id)
    doctor.doctor.memberships[0].status = MembershipStatus.inactive
    db.session.commit()
    login_as(receptionist)
    response = client.post(
        f"/staff/desk/patients/{patient.patient.id}/walk-in",
        data={"doctor": str(doctor.doctor.id), "priority": "normal"},
    )
    # an inactive doctor is not offered: the choice itself is refused
    assert response.status_code == 422


def test_the_hospital_admin_has_the_same_pages(client, login_as, make, day):
    hospital, doctor, receptionist = day
    entry = queued(make, hospital, doctor, receptionist)
    login_as(make.hospital_admin(hospital))
    assert client.get("/hospital/flow").status_code == 200
    assert client.get("/hospital/arrivals").status_code == 200
    response = client.post(f"/hospital/flow/{entry.id}/move", data={"to": "left", "version": entry.version})
    assert response.status_code == 303
