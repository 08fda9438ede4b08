"""The patient's hospital stays (hms/patient/admissions.py): his admissions newest first, one stay's
discharge summary once it is written, the summary's PDF in his language (Spanish, Arabic right to
left); another patient's admission is a 404."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from hms import clock
from hms.extensions import db
from hms.models import StaffKind
from hms.services import inpatient

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(make):  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW - timedelta(days=40))
    hospital = make.hospital(timezone="Africa/Nairobi", currency="KES", name="Riverside General")
    doctor = make.doctor_at(hospital, name="Chinedu Okafor")
    patient = make.patient(name="Amina Hassan")
    ward = make.ward(hospital, "General", beds=2, daily_rate_minor=300000)

    def admit(bed):  # type: ignore[no-untyped-def]
        return make.admitted(hospital, patient, bed, doctor, "Pneumonia")

    earlier = admit(ward.beds[0])
    inpatient.order_discharge(
        earlier,
        doctor,
        {"discharge_diagnoses": "J18.9 Pneumonia", "discharge_medicines": "Amoxicillin 500 mg"},
    )
    clock.set_frozen(NOW - timedelta(days=37))
    inpatient.discharge_patient(earlier, doctor)
    db.session.commit()
    clock.set_frozen(NOW)
    current = admit(ward.beds[1])
    return {
        "hospital": hospital,
        "doctor": doctor,
        "patient": patient,
        "earlier": earlier,
        "current": current,
        "nurse": make.staff(hospital, StaffKind.nurse),
    }


def test_the_patient_lists_his_stays_newest_first(client, login_as, world):  # type: ignore[no-untyped-def]
    login_as(world["patient"])
    response = client.get("/patient/admissions")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    current, earlier = (
        f"/patient/admissions/{world['current'].id}",
        f"/patient/admissions/{world['earlier'].id}",
    )
    assert page.index(current) < page.index(earlier)
    assert "Riverside General" in page and "Discharged" in page and "Admitted" in page
    assert "Hospital stays" in page  # the menu's link


def test_the_summary_shows_once_written_and_the_pdf_downloads(client, login_as, world):  # type: ignore[no-untyped-def]
    login_as(world["patient"])
    page = client.get(f"/patient/admissions/{world['earlier'].id}").get_data(as_text=True)
    assert "J18.9 Pneumonia" in page and "Amoxicillin 500 mg" in page and "Download PDF" in page
    response = client.get(f"/patient/admissions/{world['earlier'].id}.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    for expected in ("Riverside General", "Amina Hassan", "J18.9 Pneumonia", "Dr Chinedu Okafor"):
        assert expected in text, expected
    waiting = client.get(f"/patient/admissions/{world['current'].id}").get_data(as_text=True)
    assert "Download PDF" not in waiting and "discharge summary" in waiting
    assert client.get(f"/patient/admissions/{world['current'].id}.pdf").status_code == 404


@pytest.mark.parametrize("language", ["es", "ar"])
def test_the_pdf_is_written_in_the_patients_language(client, login_as, world, language):  # type: ignore[no-untyped-def]
    world["patient"].locale = language
    db.session.commit()
    login_as(world["patient"])
    response = client.get(f"/patient/admissions/{world['earlier'].id}.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    assert "J18.9" in text
    assert {"es": "Paciente", "ar": "المريض"}[language] in text


def test_another_patients_stay_is_404(client, login_as, world, make):  # type: ignore[no-untyped-def]
    login_as(make.patient())
    for tail in ("", ".pdf"):
        assert client.get(f"/patient/admissions/{world['earlier'].id}{tail}").status_code == 404
    assert client.get("/patient/admissions/999999").status_code == 404
    assert "Riverside General" not in client.get("/patient/admissions").get_data(as_text=True)


@pytest.mark.parametrize("who", ["doctor", "nurse"])
def test_staff_do_not_reach_the_patients_pages(client, login_as, world, who):  # type: ignore[no-untyped-def]
    login_as(world[who])
    assert client.get(f"/patient/admissions/{world['earlier'].id}").status_code == 403


def test_the_visit_that_led_to_the_stay_links_to_it(client, login_as, make):  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)
    hospital = make.hospital(name="Riverside General")
    doctor = make.doctor_at(hospital)
    patient = make.patient()
    encounter = make.encounter(make.appointment(patient, doctor, hospital, start_at=NOW))
    admission = inpatient.admit_patient(
        hospital=hospital,
        patient=patient.patient,
        ward_id=None,
        bed_id=make.ward(hospital, beds=1).beds[0].id,
        doctor_id=None,
        actor=doctor,
        reason="Observation",
        encounter=encounter,
    )
    db.session.commit()
    login_as(patient)
    page = client.get("/patient/encounters").get_data(as_text=True)
    assert f"/patient/admissions/{admission.id}" in page and "Hospital stay at Riverside General" in page
