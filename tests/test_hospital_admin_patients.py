"""The hospital admin's patients (those who booked here, never clinical notes) and the doctors' week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import AppointmentStatus, AuditEvent, TimeOff

HX = {"HX-Request": "true"}
MONDAY = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 09:00 in Nairobi


@pytest.fixture
def hospital(make):
    return make.hospital(name="Riverside", timezone="Africa/Nairobi")


@pytest.fixture
def admin(make, hospital, login_as):
    clock.set_frozen(MONDAY - timedelta(days=3))
    user = make.hospital_admin(hospital)
    login_as(user)
    return user


def test_patients_list_shows_only_patients_who_booked_here(client, make, hospital, admin):
    doctor = make.doctor_at(hospital)
    amina = make.patient(name="Amina Hassan", allergies="Penicillin", blood_group="O+")
    make.appointment(amina, doctor, hospital, MONDAY)
    make.appointment(amina, doctor, hospital, MONDAY + timedelta(days=1))
    elsewhere = make.hospital()
    stranger = make.patient(name="Someone Else")
    make.appointment(stranger, make.doctor_at(elsewhere), elsewhere, MONDAY)
    make.patient(name="Never Booked")
    page = client.get("/hospital/patients").data.decode()
    assert "Amina Hassan" in page
    assert "Someone Else" not in page and "Never Booked" not in page
    assert "Penicillin" not in page and "O+" not in page
    assert "Mon 02 Mar 2026, 09:00" in page  # next visit, in the hospital's time


def test_patients_search_by_name_or_mrn(client, make, hospital, admin):
    doctor = make.doctor_at(hospital)
    amina = make.patient(name="Amina Hassan", mrn="PAAAA11111")
    john = make.patient(name="John Mwangi", mrn="PBBBB22222")
    for p in (amina, john):
        make.appointment(p, doctor, hospital, MONDAY + timedelta(hours=len(p.full_name)))
    by_name = client.get("/hospital/patients?q=amina&fragment=table", headers=HX).data.decode()
    assert "Amina Hassan" in by_name and "John Mwangi" not in by_name and "<html" not in by_name
    by_mrn = client.get("/hospital/patients?q=pbbbb").data.decode()
    assert "John Mwangi" in by_mrn and "Amina Hassan" not in by_mrn
    assert client.get("/hospital/patients?q=%25&page=x").status_code == 200


def test_patient_page_shows_demographics_and_visits_here_and_is_audited(client, make, hospital, admin):
    doctor = make.doctor_at(hospital, name="Chinedu Okafor")
    amina = make.patient(name="Amina Hassan", allergies="Penicillin")
    make.appointment(amina, doctor, hospital, MONDAY, reason="Chest pain since Sunday")
    other = make.hospital(name="Lakeside")
    make.appointment(amina, make.doctor_at(other), other, MONDAY + timedelta(days=1))
    page = client.get(f"/hospital/patients/{amina.patient.id}").data.decode()
    assert "Amina Hassan" in page and amina.patient.mrn in page and "Dr Chinedu Okafor" in page
    assert "Lakeside" not in page
    assert "Penicillin" not in page and "Chest pain" not in page
    event = db.session.scalar(select(AuditEvent))
    assert (event.action, event.record_type, event.patient_id, event.hospital_id, event.user_id) == (
        "view",
        "patient",
        amina.patient.id,
        hospital.id,
        admin.id,
    )


def test_admin_cannot_open_a_patient_who_never_booked_here(client, make, hospital, admin):
    elsewhere = make.hospital()
    stranger = make.patient()
    make.appointment(stranger, make.doctor_at(elsewhere), elsewhere, MONDAY)
    assert client.get(f"/hospital/patients/{stranger.patient.id}").status_code == 404
    assert client.get(f"/hospital/patients/{make.patient().patient.id}").status_code == 404
    assert client.get("/hospital/patients/99999999999").status_code == 404
    assert db.session.scalars(select(AuditEvent)).all() == []


def test_week_shows_each_doctors_hours_time_off_and_bookings(client, make, hospital, admin):
    doctor = make.doctor_at(hospital, name="Chinedu Okafor")
    make.schedule(doctor, hospital, weekdays=[0, 1], start="09:00", end="13:00")
    db.session.add(
        TimeOff(
            doctor=doctor.doctor,
            start_date=MONDAY.date() + timedelta(days=1),
            end_date=MONDAY.date() + timedelta(days=1),
        )
    )
    db.session.commit()
    make.appointment(make.patient(name="Amina Hassan"), doctor, hospital, MONDAY + timedelta(minutes=30))
    make.appointment(
        make.patient(name="Cancelled Person"),
        doctor,
        hospital,
        MONDAY + timedelta(hours=1),
        status=AppointmentStatus.cancelled,
    )
    other = make.hospital()
    make.doctor_at(other, name="Foreign Doctor")
    page = client.get("/hospital/week?start=2026-03-04").data.decode()  # a Wednesday: the week starts Monday
    assert "Mon 2" in page and "Sun 8" in page
    assert "Dr Chinedu Okafor" in page and "Foreign Doctor" not in page
    assert "09:00–13:00" in page
    assert "09:30</time> Amina Hassan" in page
    assert "Cancelled Person" not in page
    assert "time off" in page
    grid = client.get("/hospital/week?start=2026-03-09&fragment=grid", headers=HX).data.decode()
    assert "<html" not in grid and "Amina Hassan" not in grid and "Mon 9" in grid


@pytest.mark.parametrize("start", ["garbage", "0001-01-01", "9999-12-31", ""])
def test_week_survives_odd_dates(client, hospital, admin, start):
    assert client.get(f"/hospital/week?start={start}&department=abc&page=-4").status_code == 200


def test_patient_names_are_escaped_in_the_week_and_list(client, make, hospital, admin):
    doctor = make.doctor_at(hospital)
    make.schedule(doctor, hospital, weekdays=[0])
    make.appointment(make.patient(name="<b>Bold</b>"), doctor, hospital, MONDAY)
    for url in ("/hospital/week?start=2026-03-02", "/hospital/patients"):
        html = client.get(url).data
        assert b"<b>Bold</b>" not in html and b"&lt;b&gt;Bold&lt;/b&gt;" in html
