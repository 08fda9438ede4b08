"""Bookings by phone at the front desk: the same booking service as the patient's own picker, with
`booked_by` the receptionist; the patient told and seeing the visit; refusals; who may do it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import func, select

from hms import clock
from hms.extensions import db
from hms.models import Appointment, AppointmentStatus, AuditEvent, Notification, Patient, Sex, StaffKind
from hms.services import desk, desk_booking, scheduling
from tests.concurrency import run_at_once

NOW = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)  # a Monday, 09:00 in Nairobi
DAY = date(2027, 3, 3)


@pytest.fixture(autouse=True)
def _frozen():  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)


def _setup(make):  # type: ignore[no-untyped-def]
    hospital = make.hospital(timezone="Africa/Nairobi")
    receptionist = make.staff(hospital, StaffKind.receptionist)
    doctor = make.doctor_at(hospital)
    make.schedule(doctor, hospital, start="09:00", end="12:00")
    patient = desk.register_patient(
        hospital=hospital,
        actor=receptionist,
        full_name="Juma Otieno",
        sex=Sex.male,
        phone="+254711000222",
        date_of_birth=date(1980, 1, 2),
    )
    db.session.commit()
    return hospital, receptionist, doctor, patient


def _at(hospital, hour, minute=0):  # type: ignore[no-untyped-def]
    return datetime.combine(DAY, time(hour, minute), tzinfo=hospital.tz).astimezone(UTC)


def _key(start):  # type: ignore[no-untyped-def]
    return Appointment.slot_key(start)


# ---------------------------------------------------------------- service


def test_book_on_behalf_records_the_receptionist_and_tells_the_patient(make):  # type: ignore[no-untyped-def]
    hospital, receptionist, doctor, patient = _setup(make)
    appointment = desk_booking.book_on_behalf(
        hospital=hospital,
        patient=patient,
        doctor_id=doctor.doctor.id,
        start=_at(hospital, 9),
        reason="Phone call",
        actor=receptionist,
    )
    db.session.commit()
    assert appointment.booked_by_id == receptionist.id
    assert appointment.booked_at_desk
    assert db.session.scalar(
        select(Notification).where(
            Notification.user_id == patient.user_id, Notification.kind == "appointment_booked"
        )
    )
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.record_type == "appointment", AuditEvent.record_id == appointment.id
        )
    )
    assert event.user_id == receptionist.id and event.patient_id == patient.id
    assert "front desk" in event.detail


def test_a_self_booking_is_not_marked_as_booked_by_the_desk(make):  # type: ignore[no-untyped-def]
    hospital = make.hospital(timezone="Africa/Nairobi")
    doctor = make.doctor_at(hospital)
    make.schedule(doctor, hospital, start="09:00", end="12:00")
    user = make.patient()
    appointment = scheduling.book_appointment(
        patient=user.patient,
        doctor_id=doctor.doctor.id,
        hospital_id=hospital.id,
        start=_at(hospital, 9),
        reason="Myself",
        booked_by=user,
    )
    assert not appointment.booked_at_desk


@pytest.mark.concurrency
def test_two_receptionists_booking_one_slot_for_two_patients_one_wins(app, make):  # type: ignore[no-untyped-def]
    hospital, first, doctor, patient = _setup(make)
    second = make.staff(hospital, StaffKind.receptionist)
    other = make.patient()
    start = _at(hospital, 10)
    ids = [(first.id, patient.id), (second.id, other.patient.id)]
    hospital_id, doctor_id = hospital.id, doctor.doctor.id

    def job(actor_id, patient_id):  # type: ignore[no-untyped-def]
        def run():  # type: ignore[no-untyped-def]
            from hms.models import Hospital, User

            desk_booking.book_on_behalf(
                hospital=db.session.get(Hospital, hospital_id),
                patient=db.session.get(Patient, patient_id),
                doctor_id=doctor_id,
                start=start,
                reason="Race",
                actor=db.session.get(User, actor_id),
            )
            db.session.commit()

        return run

    outcomes = run_at_once(app, [job(a, p) for a, p in ids], done="booked", frozen_at=NOW)

    assert sorted(outcomes) == ["SlotTaken", "booked"], outcomes
    db.session.rollback()
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Appointment)
            .where(Appointment.doctor_id == doctor_id, Appointment.status == AppointmentStatus.booked)
        )
        == 1
    )


# ---------------------------------------------------------------- pages


def test_the_desk_books_by_phone_through_the_picker(client, login_as, make):  # type: ignore[no-untyped-def]
    hospital, receptionist, doctor, patient = _setup(make)
    login_as(receptionist)
    page = client.get(f"/staff/desk/patients/{patient.id}")
    assert b"Book a visit (phone)" in page.data
    choose = client.get(f"/staff/desk/patients/{patient.id}/book")
    assert choose.status_code == 200 and doctor.full_name.encode() in choose.data
    url = f"/staff/desk/patients/{patient.id}/book/{doctor.doctor.id}"
    picker = client.get(f"{url}?day={DAY.isoformat()}")
    assert picker.status_code == 200 and f"{url}?day=".encode() in picker.data
    fragment = client.get(f"{url}?day={DAY.isoformat()}", headers={"HX-Request": "true"})
    assert (
        fragment.status_code == 200
        and b"<html" not in fragment.data
        and _key(_at(hospital, 9)).encode() in fragment.data
    )
    answer = client.post(url, data={"slot": _key(_at(hospital, 9)), "reason": "Cough", "key": "k" * 20})
    assert answer.status_code == 303
    appointment = db.session.scalar(select(Appointment).where(Appointment.patient_id == patient.id))
    assert appointment.booked_by_id == receptionist.id and appointment.reason == "Cough"
    page = client.get(f"/staff/desk/patients/{patient.id}")
    assert b"booked by the front desk" in page.data


def test_a_taken_slot_answers_409_with_the_next_free_times(client, login_as, make):  # type: ignore[no-untyped-def]
    hospital, receptionist, doctor, patient = _setup(make)
    make.appointment(make.patient(), doctor, hospital, _at(hospital, 9))
    login_as(receptionist)
    url = f"/staff/desk/patients/{patient.id}/book/{doctor.doctor.id}"
    answer = client.post(
        url,
        data={"slot": _key(_at(hospital, 9)), "reason": "Cough", "key": "k" * 20},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 409
    assert b"Nearest free times" in answer.data and _key(_at(hospital, 9, 30)).encode() in answer.data


def test_the_desk_moves_and_cancels_a_visit(client, login_as, make):  # type: ignore[no-untyped-def]
    hospital, receptionist, doctor, patient = _setup(make)
    login_as(receptionist)
    first = desk_booking.book_on_behalf(
        hospital=hospital,
        patient=patient,
        doctor_id=doctor.doctor.id,
        start=_at(hospital, 9),
        reason="x",
        actor=receptionist,
    )
    db.session.commit()
    move = f"/staff/desk/patients/{patient.id}/visits/{first.id}/move"
    assert client.get(move).status_code == 200
    assert client.post(move, data={"slot": _key(_at(hospital, 11)), "key": "m" * 20}).status_code == 303
    db.session.expire_all()
    moved = db.session.scalar(
        select(Appointment).where(
            Appointment.patient_id == patient.id, Appointment.status == AppointmentStatus.booked
        )
    )
    assert moved.start_at == _at(hospital, 11) and moved.booked_by_id == receptionist.id
    assert db.session.scalar(
        select(Notification).where(
            Notification.user_id == patient.user_id, Notification.kind == "appointment_rescheduled"
        )
    )
    cancel = f"/staff/desk/patients/{patient.id}/visits/{moved.id}/cancel"
    assert client.post(cancel, data={"reason": ""}).status_code == 422
    assert client.post(cancel, data={"reason": "Patient called"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Appointment, moved.id).status == AppointmentStatus.cancelled
    assert db.session.get(Appointment, moved.id).cancelled_by_id == receptionist.id


def test_another_hospitals_doctor_patient_or_visit_is_404(client, login_as, make):  # type: ignore[no-untyped-def]
    hospital, receptionist, doctor, patient = _setup(make)
    elsewhere = make.hospital()
    stranger_doctor = make.doctor_at(elsewhere)
    stranger = make.patient()
    their_visit = make.appointment(patient.user, stranger_doctor, elsewhere, _at(elsewhere, 9))
    login_as(receptionist)
    base = f"/staff/desk/patients/{patient.id}"
    assert client.get(f"{base}/book/{stranger_doctor.doctor.id}").status_code == 404
    assert client.post(f"{base}/book/{stranger_doctor.doctor.id}", data={}).status_code == 404
    assert client.get(f"/staff/desk/patients/{stranger.patient.id}/book").status_code == 404
    assert (
        client.get(f"/staff/desk/patients/{stranger.patient.id}/book/{doctor.doctor.id}").status_code == 404
    )
    assert client.get(f"{base}/visits/{their_visit.id}/move").status_code == 404
    assert client.post(f"{base}/visits/{their_visit.id}/cancel", data={"reason": "x"}).status_code == 404


@pytest.mark.parametrize("kind", [StaffKind.nurse, StaffKind.pharmacist])
def test_other_staff_may_not_book_by_phone(client, login_as, make, kind):  # type: ignore[no-untyped-def]
    hospital, _, doctor, patient = _setup(make)
    login_as(make.staff(hospital, kind))
    assert client.get(f"/staff/desk/patients/{patient.id}/book").status_code == 403


def test_the_hospital_admin_books_by_phone_too(client, login_as, make):  # type: ignore[no-untyped-def]
    hospital, _, doctor, patient = _setup(make)
    admin = make.hospital_admin(hospital)
    login_as(admin)
    url = f"/hospital/desk/patients/{patient.id}/book/{doctor.doctor.id}"
    assert client.get(f"/hospital/desk/patients/{patient.id}/book").status_code == 200
    assert (
        client.post(
            url, data={"slot": _key(_at(hospital, 9)), "reason": "Cough", "key": "a" * 20}
        ).status_code
        == 303
    )
    appointment = db.session.scalar(select(Appointment).where(Appointment.patient_id == patient.id))
    assert appointment.booked_by_id == admin.id


def test_the_patient_sees_the_desk_booking_in_his_account(client, login_as, make):  # type: ignore[no-untyped-def]
    hospital, receptionist, doctor, patient = _setup(make)
    appointment = desk_booking.book_on_behalf(
        hospital=hospital,
        patient=patient,
        doctor_id=doctor.doctor.id,
        start=_at(hospital, 9),
        reason="Phone call",
        actor=receptionist,
    )
    db.session.commit()
    patient.user.email = "juma@example.org"  # as after claiming his account
    patient.user.password_hash = "x"
    db.session.commit()
    login_as(patient.user)
    assert doctor.full_name.encode() in client.get("/patient/appointments").data
    page = client.get(f"/patient/appointments/{appointment.id}")
    assert page.status_code == 200 and b"booked by the front desk" in page.data
