"""The doctor's schedule editor (inline, with collisions) and agenda."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import AppointmentStatus, Notification, ScheduleBreak, ScheduleRule, TimeOff

NOW = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)
HTMX = {"HX-Request": "true"}


@pytest.fixture
def doc(make, login_as):
    clock.set_frozen(NOW)
    hospital = make.hospital(name="Riverside", timezone="Africa/Nairobi")
    doctor = make.doctor_at(hospital)
    login_as(doctor)
    return hospital, doctor


def rule_data(hospital, **kw):  # type: ignore[no-untyped-def]
    p = f"h{hospital.id}-"
    return {
        p + "weekday": "0",
        p + "start_time": "09:00",
        p + "end_time": "12:00",
        p + "slot_minutes": "30",
    } | {p + k: v for k, v in kw.items()}


def test_schedule_page_lists_each_active_hospital(client, doc):
    hospital, _ = doc
    page = client.get("/doctor/schedule")
    assert page.status_code == 200
    assert b"Riverside" in page.data and b"No working hours here yet" in page.data


def test_add_a_rule_inline(client, doc):
    hospital, doctor = doc
    response = client.post(f"/doctor/schedule/{hospital.id}/rules", data=rule_data(hospital), headers=HTMX)
    assert response.status_code == 200
    assert response.data.lstrip().startswith(f'<section id="schedule-{hospital.id}"'.encode())
    assert b"09:00\xe2\x80\x9312:00" in response.data
    assert b"Schedule saved" in response.data
    assert response.headers["HX-Trigger"] == '{"slotsChanged": true}'
    rule = db.session.scalar(select(ScheduleRule))
    assert (rule.weekday, rule.start_time, rule.end_time) == (0, time(9), time(12))


def test_add_a_rule_without_javascript_redirects(client, doc):
    hospital, _ = doc
    response = client.post(f"/doctor/schedule/{hospital.id}/rules", data=rule_data(hospital))
    assert response.status_code == 303


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"end_time": "08:00"}, b"The end must be after the start."),
        ({"start_time": "nine"}, b"Write the time like 3:30\xe2\x80\xafPM."),
        ({"slot_minutes": "7"}, b"Not a valid choice"),
        ({"weekday": "9"}, b"Not a valid choice"),
    ],
)
def test_bad_rules_are_422_with_field_errors(client, doc, data, message):
    hospital, _ = doc
    response = client.post(
        f"/doctor/schedule/{hospital.id}/rules", data=rule_data(hospital, **data), headers=HTMX
    )
    assert response.status_code == 422
    assert message in response.data
    assert db.session.scalar(select(ScheduleRule)) is None


def test_overlap_with_another_hospital_is_a_field_error(client, doc, make):
    hospital, doctor = doc
    other = make.hospital(name="Hillside", timezone="Africa/Nairobi")
    make.membership(doctor, other)
    make.schedule(doctor, other, weekdays=[0], start="11:00", end="15:00")
    response = client.post(f"/doctor/schedule/{hospital.id}/rules", data=rule_data(hospital), headers=HTMX)
    assert response.status_code == 422
    assert b"overlaps your Monday 11:00\xe2\x80\x9315:00 schedule at Hillside" in response.data


def test_edit_a_rule_in_place(client, doc, make):
    hospital, doctor = doc
    rule = make.schedule(doctor, hospital, weekdays=[0])[0]
    form = client.get(f"/doctor/schedule/rules/{rule.id}/edit", headers=HTMX)
    assert f'name="e{rule.id}-start_time"'.encode() in form.data
    response = client.post(
        f"/doctor/schedule/rules/{rule.id}",
        data={
            f"e{rule.id}-weekday": "1",
            f"e{rule.id}-start_time": "10:00",
            f"e{rule.id}-end_time": "13:00",
            f"e{rule.id}-slot_minutes": "20",
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    db.session.refresh(rule)
    assert (rule.weekday, rule.start_time, rule.slot_minutes) == (1, time(10), 20)


def test_shortening_hours_over_a_booking_asks_then_cancels(client, doc, make):
    hospital, doctor = doc
    rule = make.schedule(doctor, hospital, weekdays=[2])[0]
    patient = make.patient()
    appointment = make.appointment(
        patient, doctor, hospital, datetime(2027, 3, 3, 12, 0, tzinfo=UTC)
    )  # 15:00 local
    data = {
        f"e{rule.id}-weekday": "2",
        f"e{rule.id}-start_time": "09:00",
        f"e{rule.id}-end_time": "12:00",
        f"e{rule.id}-slot_minutes": "30",
    }
    asked = client.post(f"/doctor/schedule/rules/{rule.id}", data=data, headers=HTMX)
    assert asked.status_code == 409
    assert b"This change touches 1 booked appointment" in asked.data
    assert patient.full_name.encode() in asked.data
    db.session.refresh(rule)
    assert rule.end_time == time(17)  # nothing saved yet
    done = client.post(
        f"/doctor/schedule/rules/{rule.id}",
        data=data
        | {f"e{rule.id}-on_collision": "cancel", f"e{rule.id}-cancel_reason": "Clinic closes early"},
        headers=HTMX,
    )
    assert done.status_code == 200
    db.session.refresh(rule)
    assert rule.end_time == time(12)
    assert appointment.status == AppointmentStatus.cancelled
    assert "Clinic closes early" in db.session.scalar(
        select(Notification.text).where(Notification.user_id == patient.id)
    )


def test_breaks_inline(client, doc, make):
    hospital, doctor = doc
    rule = make.schedule(doctor, hospital, weekdays=[0])[0]
    outside = client.post(
        f"/doctor/schedule/rules/{rule.id}/breaks",
        data={f"r{rule.id}-break_start": "08:00", f"r{rule.id}-break_end": "08:30"},
        headers=HTMX,
    )
    assert outside.status_code == 422
    assert b"A break must lie inside the working hours 09:00\xe2\x80\x9317:00." in outside.data
    added = client.post(
        f"/doctor/schedule/rules/{rule.id}/breaks",
        data={f"r{rule.id}-break_start": "13:00", f"r{rule.id}-break_end": "14:00"},
        headers=HTMX,
    )
    assert added.status_code == 200 and b"Break added." in added.data
    item = db.session.scalar(select(ScheduleBreak))
    removed = client.post(f"/doctor/schedule/breaks/{item.id}/delete", headers=HTMX)
    assert removed.status_code == 200
    assert db.session.scalar(select(ScheduleBreak)) is None


def test_time_off_with_a_collision_can_keep_the_booking(client, doc, make):
    hospital, doctor = doc
    make.schedule(doctor, hospital)
    appointment = make.appointment(make.patient(), doctor, hospital, datetime(2027, 3, 3, 7, 0, tzinfo=UTC))
    data = {"start_date": "2027-03-03", "end_date": "2027-03-04", "reason": "Conference"}
    asked = client.post("/doctor/time-off", data=data, headers=HTMX)
    assert asked.status_code == 409
    assert b"This change touches 1 booked appointment" in asked.data
    kept = client.post("/doctor/time-off", data=data | {"on_collision": "keep"}, headers=HTMX)
    assert kept.status_code == 200 and b"Time off added." in kept.data
    assert appointment.status == AppointmentStatus.booked
    assert db.session.scalar(select(TimeOff)).reason == "Conference"


def test_time_off_bad_dates(client, doc):
    response = client.post(
        "/doctor/time-off", data={"start_date": "2027-03-05", "end_date": "2027-03-01"}, headers=HTMX
    )
    assert response.status_code == 422
    assert b"The last day must not be before the first." in response.data
    assert (
        client.post("/doctor/time-off", data={"start_date": "soon", "end_date": ""}, headers=HTMX).status_code
        == 422
    )


def test_another_doctors_rules_breaks_and_time_off_are_404(client, doc, make):
    hospital, _ = doc
    other = make.doctor_at(hospital)
    rule = make.schedule(other, hospital, weekdays=[0], breaks=[("12:00", "13:00")])[0]
    off = TimeOff(doctor_id=other.doctor.id, start_date=date(2027, 4, 1), end_date=date(2027, 4, 2))
    db.session.add(off)
    db.session.commit()
    assert client.get(f"/doctor/schedule/rules/{rule.id}/edit").status_code == 404
    assert client.post(f"/doctor/schedule/rules/{rule.id}", data={}).status_code == 404
    assert client.post(f"/doctor/schedule/rules/{rule.id}/delete").status_code == 404
    assert client.post(f"/doctor/schedule/breaks/{rule.breaks[0].id}/delete").status_code == 404
    assert client.post(f"/doctor/time-off/{off.id}/delete").status_code == 404
    # A hospital he does not work at (a fixed id such as 999 can be his own once the database's
    # sequences have run that far: PostgreSQL's do not roll back with the tests' transactions).
    elsewhere = make.hospital()
    assert client.post(f"/doctor/schedule/{elsewhere.id}/rules", data={}).status_code == 404


def test_agenda_day_and_week(client, doc, make):
    hospital, doctor = doc
    patient = make.patient(name="Amina Hassan")
    make.appointment(patient, doctor, hospital, datetime(2027, 3, 3, 7, 0, tzinfo=UTC), reason="Chest pain")
    day = client.get("/doctor/agenda?day=2027-03-03")
    assert b"Amina Hassan" in day.data and b"10:00\xe2\x80\x9310:30" in day.data
    week = client.get("/doctor/agenda?day=2027-03-05&view=week")
    assert b"Monday 01 March 2027" in week.data and b"Amina Hassan" in week.data
    assert client.get("/doctor/agenda?day=garbage").status_code == 200


def test_the_agenda_and_dashboard_open_on_the_doctors_local_today_not_utcs(client, doc, make):
    """At 22:30 UTC it is already tomorrow in Nairobi: the agenda opens on Nairobi's date."""
    hospital, doctor = doc
    clock.set_frozen(datetime(2027, 3, 1, 22, 30, tzinfo=UTC))  # 01:30 on 2 March in Nairobi
    patient = make.patient(name="Amina Hassan")
    make.appointment(patient, doctor, hospital, datetime(2027, 3, 2, 6, 0, tzinfo=UTC))  # 09:00 local
    agenda = client.get("/doctor/agenda")
    assert b"Tuesday 02 March 2027" in agenda.data and b"Amina Hassan" in agenda.data
    assert b"Amina Hassan" in client.get("/doctor/").data


def test_mark_arrived_and_done_inline_and_cancel_with_reason(client, doc, make):
    hospital, doctor = doc
    patient = make.patient()
    appointment = make.appointment(patient, doctor, hospital, NOW + timedelta(hours=1))
    arrived = client.post(
        f"/doctor/appointments/{appointment.id}/status", data={"status": "arrived"}, headers=HTMX
    )
    assert arrived.status_code == 200 and b"Marked arrived." in arrived.data
    bogus = client.post(
        f"/doctor/appointments/{appointment.id}/status", data={"status": "teleported"}, headers=HTMX
    )
    assert bogus.status_code == 400
    noshow = client.post(
        f"/doctor/appointments/{appointment.id}/status", data={"status": "noshow"}, headers=HTMX
    )
    assert noshow.status_code == 409
    second = make.appointment(make.patient(), doctor, hospital, NOW + timedelta(days=1))
    no_reason = client.post(f"/doctor/appointments/{second.id}/cancel", data={"reason": ""}, headers=HTMX)
    assert no_reason.status_code == 422
    cancelled = client.post(f"/doctor/appointments/{second.id}/cancel", data={"reason": "Ill"}, headers=HTMX)
    assert cancelled.status_code == 200
    assert second.status == AppointmentStatus.cancelled


def test_another_doctors_appointment_is_404(client, doc, make):
    hospital, _ = doc
    other = make.doctor_at(hospital)
    appointment = make.appointment(make.patient(), other, hospital, NOW + timedelta(hours=1))
    assert (
        client.post(f"/doctor/appointments/{appointment.id}/status", data={"status": "arrived"}).status_code
        == 404
    )
    assert (
        client.post(f"/doctor/appointments/{appointment.id}/cancel", data={"reason": "x"}).status_code == 404
    )
    assert appointment.status == AppointmentStatus.booked
