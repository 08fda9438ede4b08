"""Who may see clinical records: the "has or had an appointment" rule, and never admins or staff."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import AppointmentStatus, AuditEvent, PrescriptionStatus
from hms.services import clinical


@pytest.fixture
def visit(make):
    """A doctor, his patient with a visit today (encounter with notes), and a stranger doctor."""
    hospital = make.hospital()
    doctor = make.doctor_at(hospital)
    patient = make.patient(name="Amina Hassan")
    appointment = make.appointment(patient, doctor, hospital, start_at=clock.now().replace(microsecond=0))
    encounter = make.encounter(appointment, notes="SECRET-NOTE-4711 patient reports stress at work")
    prescription = make.prescription(encounter, status=PrescriptionStatus.active)
    return {
        "hospital": hospital,
        "doctor": doctor,
        "patient": patient,
        "appointment": appointment,
        "encounter": encounter,
        "prescription": prescription,
        "stranger": make.doctor_at(hospital),
    }


def test_doctor_sees_a_patient_before_the_booked_appointment(client, make, login_as):
    hospital = make.hospital()
    doctor, patient = make.doctor_at(hospital), make.patient()
    make.appointment(patient, doctor, hospital, start_at=clock.now() + timedelta(days=3))
    make.history_entry(patient, title="Type 2 diabetes")
    assert clinical.can_doctor_see_patient(doctor.doctor, patient.patient.id)
    login_as(doctor)
    page = client.get(f"/doctor/patients/{patient.patient.id}")
    assert page.status_code == 200
    assert b"Type 2 diabetes" in page.data


@pytest.mark.parametrize(
    "status", [AppointmentStatus.fulfilled, AppointmentStatus.noshow, AppointmentStatus.arrived]
)
def test_doctor_still_sees_the_patient_after_the_appointment(client, make, login_as, status):
    hospital = make.hospital()
    doctor, patient = make.doctor_at(hospital), make.patient()
    make.appointment(patient, doctor, hospital, start_at=clock.now() - timedelta(days=30), status=status)
    login_as(doctor)
    assert client.get(f"/doctor/patients/{patient.patient.id}").status_code == 200


def test_a_cancelled_appointment_gives_no_access(client, make, login_as):
    hospital = make.hospital()
    doctor, patient = make.doctor_at(hospital), make.patient()
    make.appointment(patient, doctor, hospital, status=AppointmentStatus.cancelled)
    assert not clinical.can_doctor_see_patient(doctor.doctor, patient.patient.id)
    login_as(doctor)
    assert client.get(f"/doctor/patients/{patient.patient.id}").status_code == 404
    assert b"No patient matches" in client.get("/doctor/patients").data


def test_a_doctor_who_never_saw_the_patient_gets_404_and_the_attempt_is_audited(client, login_as, visit):
    login_as(visit["stranger"])
    patient_id = visit["patient"].patient.id
    response = client.get(f"/doctor/patients/{patient_id}")
    assert response.status_code == 404
    assert b"SECRET-NOTE" not in response.data
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.record_type, event.patient_id, event.outcome, event.user_id) == (
        "view",
        "patient_record",
        patient_id,
        "denied",
        visit["stranger"].id,
    )
    assert event.ip == "127.0.0.1"


def test_a_stranger_doctor_cannot_reach_any_record_by_url(client, login_as, visit):
    login_as(visit["stranger"])
    encounter, prescription = visit["encounter"], visit["prescription"]
    for url in [
        f"/doctor/encounters/{encounter.id}",
        f"/doctor/encounters/{encounter.id}/icd10?q=J06",
        f"/doctor/prescriptions/{prescription.id}",
        f"/doctor/prescriptions/{prescription.id}.pdf",
        f"/doctor/appointments/{visit['appointment'].id}/encounter",
    ]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"SECRET-NOTE" not in response.data
    posts = {
        f"/doctor/encounters/{encounter.id}": {"version": "1", "notes": "overwritten"},
        f"/doctor/encounters/{encounter.id}/diagnoses": {"code": "J06.9"},
        f"/doctor/encounters/{encounter.id}/prescriptions": {},
        f"/doctor/prescriptions/{prescription.id}/cancel": {"reason": "Because"},
        f"/doctor/prescriptions/{prescription.id}/revise": {},
    }
    for url, data in posts.items():
        assert client.post(url, data=data).status_code == 404, url
    db.session.refresh(encounter)
    db.session.refresh(prescription)
    assert encounter.notes.startswith("SECRET-NOTE")
    assert encounter.diagnoses == []
    assert prescription.status == PrescriptionStatus.active
    assert len(encounter.prescriptions) == 1


def test_search_finds_only_my_patients_by_name_mrn_and_birth_date(client, make, login_as):
    from datetime import date

    hospital = make.hospital()
    doctor = make.doctor_at(hospital)
    amina = make.patient(name="Amina Hassan", date_of_birth=date(1988, 4, 12))
    john = make.patient(name="John Mwangi", date_of_birth=date(1975, 11, 3))
    elsewhere = make.patient(name="Amina Other")
    make.appointment(amina, doctor, hospital)
    make.appointment(john, doctor, hospital, start_at=clock.now() + timedelta(hours=3))
    make.appointment(elsewhere, make.doctor_at(hospital), hospital)
    login_as(doctor)
    everyone = client.get("/doctor/patients").data
    assert b"Amina Hassan" in everyone and b"John Mwangi" in everyone and b"Amina Other" not in everyone
    by_name = client.get("/doctor/patients?q=amina", headers={"HX-Request": "true"})
    assert (
        b"Amina Hassan" in by_name.data and b"John" not in by_name.data and b"Amina Other" not in by_name.data
    )
    assert b"<html" not in by_name.data
    hx = {"HX-Request": "true"}
    by_mrn = client.get(f"/doctor/patients?q={john.patient.mrn.lower()}", headers=hx).data
    assert b"John Mwangi" in by_mrn and b"Amina Hassan" not in by_mrn
    by_birth = client.get("/doctor/patients?born=1988-04-12", headers=hx).data
    assert b"Amina Hassan" in by_birth and b"John Mwangi" not in by_birth
    wildcard = client.get("/doctor/patients?q=%25", headers=hx).data
    assert b"0 patients" in wildcard
    assert client.get("/doctor/patients?born=not-a-date&page=x").status_code == 200


def test_my_patients_is_paginated(client, make, login_as):
    hospital = make.hospital()
    doctor = make.doctor_at(hospital)
    start = clock.now().replace(second=0, microsecond=0)
    for n in range(23):
        make.appointment(
            make.patient(name=f"Patient {n:02d}"), doctor, hospital, start_at=start + timedelta(hours=n)
        )
    login_as(doctor)
    first = client.get("/doctor/patients", headers={"HX-Request": "true"}).data
    assert b"23 patients" in first and b"Patient 00" in first and b"Patient 22" not in first
    assert b"Page 1 of 2" in first
    second = client.get("/doctor/patients?page=2", headers={"HX-Request": "true"}).data
    assert b"Patient 22" in second and b"Patient 00" not in second


@pytest.mark.parametrize("role", ["hospital_admin", "staff", "super_admin"])
def test_admins_and_staff_never_see_clinical_notes(client, make, login_as, visit, role):
    user = {
        "hospital_admin": lambda: make.hospital_admin(visit["hospital"]),
        "staff": lambda: make.staff(visit["hospital"]),
        "super_admin": make.super_admin,
    }[role]()
    login_as(user)
    encounter, patient_id = visit["encounter"], visit["patient"].patient.id
    own_pages = {"hospital_admin": "/hospital/", "staff": "/staff/", "super_admin": "/admin/"}
    dashboard = client.get(own_pages[role])
    assert dashboard.status_code == 200
    assert b"SECRET-NOTE" not in dashboard.data
    for url in [
        "/doctor/patients",
        f"/doctor/patients/{patient_id}",
        f"/doctor/encounters/{encounter.id}",
        f"/doctor/prescriptions/{visit['prescription'].id}.pdf",
        "/patient/records",
        "/patient/encounters",
        f"/patient/prescriptions/{visit['prescription'].id}.pdf",
    ]:
        response = client.get(url)
        assert response.status_code == 403, url
        assert b"SECRET-NOTE" not in response.data


def test_patients_see_only_their_own_prescriptions(client, make, login_as, visit):
    other = make.patient()
    login_as(other)
    assert client.get(f"/patient/prescriptions/{visit['prescription'].id}.pdf").status_code == 404
    assert b"SECRET" not in client.get("/patient/encounters").data
    assert b"Amina" not in client.get("/patient/record-access").data


def test_patients_do_not_see_the_doctors_notes(client, login_as, visit):
    login_as(visit["patient"])
    page = client.get("/patient/encounters")
    assert page.status_code == 200
    assert b"SECRET-NOTE" not in page.data
    assert visit["prescription"].number.encode() in page.data
