"""An admission's page on the ward (hms/ward/admission.py): who sees it (its doctors, the hospital's
nurses while it is open; 404 for everyone else), notes prepended in place, vitals rounds with the
triage's validation, transfers (same bed 422, a taken bed 409 with other beds offered), hand-over, the
discharge summary and the discharge with its room nights; with and without HTMX; a fixed number of
statements whatever the stay's length; the doctor's list of his inpatients; the summary's PDF."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from hms import clock
from hms.extensions import db
from hms.models import (
    Admission,
    AdmissionNote,
    AdmissionStatus,
    AuditEvent,
    Bed,
    BedStatus,
    StaffKind,
    VitalSigns,
)
from hms.services import inpatient
from tests.statements import recorded

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 12:00 in Nairobi
HX = {"HX-Request": "true"}


@pytest.fixture
def world(make):  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)
    hospital = make.hospital(timezone="Africa/Nairobi", currency="KES", name="Riverside General")
    doctor = make.doctor_at(hospital, name="Chinedu Okafor")
    patient = make.patient(name="Amina Hassan", allergies="Penicillin")
    visit = make.appointment(patient, doctor, hospital, start_at=NOW)
    encounter = make.encounter(visit)
    general = make.ward(hospital, "General", beds=3, daily_rate_minor=300000)
    icu = make.ward(hospital, "ICU", beds=2, daily_rate_minor=1500000)
    admission = inpatient.admit_patient(
        hospital=hospital,
        patient=patient.patient,
        ward_id=general.id,
        bed_id=general.beds[0].id,
        doctor_id=None,
        actor=doctor,
        reason="Pneumonia, needs IV antibiotics",
        expected_days=3,
        encounter=encounter,
    )
    db.session.commit()
    return {
        "hospital": hospital,
        "doctor": doctor,
        "patient": patient,
        "admission": admission,
        "general": general,
        "icu": icu,
        "nurse": make.staff(hospital, StaffKind.nurse),
        "desk": make.staff(hospital, StaffKind.receptionist),
    }


def _url(world, tail: str = "") -> str:  # type: ignore[no-untyped-def]
    return f"/ward/admissions/{world['admission'].id}{tail}"


def _fresh(world) -> Admission:  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return db.session.get(Admission, world["admission"].id)


# ---------------------------------------------------------------- who sees the page


def test_the_doctor_sees_the_admission_and_the_view_is_audited(client, login_as, world):  # type: ignore[no-untyped-def]
    login_as(world["doctor"])
    response = client.get(_url(world))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for text in ("Amina Hassan", "Penicillin", "General", "B1", "Pneumonia", "Dr Chinedu Okafor", "3 days"):
        assert text in page, text
    assert "Add progress note" in page and "Order the discharge" in page and "Transfer" in page
    assert db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.record_type == "admission",
            AuditEvent.record_id == world["admission"].id,
            AuditEvent.action == "view",
            AuditEvent.outcome == "success",
        )
    )


def test_a_nurse_of_the_hospital_sees_it_while_open_but_cannot_order_the_discharge(client, login_as, world):  # type: ignore[no-untyped-def]
    login_as(world["nurse"])
    page = client.get(_url(world)).get_data(as_text=True)
    assert "Add nursing note" in page and "Transfer" in page
    assert "Order the discharge" not in page and "Hand over" not in page
    response = client.post(_url(world, "/discharge-summary"), data={"discharge_diagnoses": "J18.9"})
    assert response.status_code == 403
    assert _fresh(world).status == AdmissionStatus.admitted


@pytest.mark.parametrize("who", ["desk", "stranger_doctor", "other_nurse", "patient", "admin"])
def test_anyone_else_gets_404_and_a_denied_audit(client, login_as, world, make, who):  # type: ignore[no-untyped-def]
    users = {
        "desk": lambda: world["desk"],
        "stranger_doctor": lambda: make.doctor_at(world["hospital"]),
        "other_nurse": lambda: make.staff(make.hospital(), StaffKind.nurse),
        "patient": lambda: world["patient"],
        "admin": lambda: make.hospital_admin(world["hospital"]),
    }
    login_as(users[who]())
    expected = 403 if who == "patient" else 404  # patients are not in the ward's blueprint
    assert client.get(_url(world)).status_code == expected
    assert client.post(_url(world, "/notes"), data={"text": "x"}).status_code == expected
    assert client.get(_url(world, "/summary.pdf")).status_code == expected
    assert client.get("/ward/admissions/999999").status_code == expected
    if expected == 404:
        assert db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.record_type == "admission", AuditEvent.outcome == "denied"
            )
        )


def test_a_nurse_no_longer_sees_it_once_discharged(client, login_as, world):  # type: ignore[no-untyped-def]
    admission = world["admission"]
    inpatient.order_discharge(admission, world["doctor"], {"discharge_diagnoses": "J18.9 Pneumonia"})
    inpatient.discharge_patient(admission, world["doctor"])
    db.session.commit()
    login_as(world["nurse"])
    assert client.get(_url(world)).status_code == 404
    login_as(world["doctor"])
    assert client.get(_url(world)).status_code == 200


# ---------------------------------------------------------------- notes and vitals


def test_a_note_is_prepended_in_place_with_htmx_and_a_fresh_form(client, login_as, world):  # type: ignore[no-untyped-def]
    login_as(world["nurse"])
    first = client.post(_url(world, "/notes"), data={"text": "Slept well"}, headers=HX)
    assert first.status_code == 200
    body = first.get_data(as_text=True)
    assert "Slept well" in body and 'hx-swap-oob="true"' in body and "<html" not in body
    client.post(_url(world, "/notes"), data={"text": "Ate breakfast"}, headers=HX)
    page = client.get(_url(world)).get_data(as_text=True)
    assert page.index("Ate breakfast") < page.index("Slept well")  # newest first


def test_an_empty_note_is_422_with_the_form(client, login_as, world):  # type: ignore[no-untyped-def]
    login_as(world["doctor"])
    response = client.post(_url(world, "/notes"), data={"text": "   "}, headers=HX)
    assert response.status_code == 422
    assert "Write the note." in response.get_data(as_text=True)
    assert response.headers["HX-Retarget"] == "#note-form"
    plain = client.post(_url(world, "/notes"), data={"text": ""})
    assert plain.status_code == 422 and "<html" in plain.get_data(as_text=True)
    assert db.session.scalar(select(func.count(AdmissionNote.id))) == 0


def test_a_note_without_javascript_redirects_to_the_page(client, login_as, world):  # type: ignore[no-untyped-def]
    login_as(world["doctor"])
    response = client.post(_url(world, "/notes"), data={"text": "Chest clearer"})
    assert response.status_code == 303
    assert response.headers["Location"].startswith(_url(world))
    assert "Chest clearer" in client.get(_url(world)).get_data(as_text=True)


def test_a_vitals_round_is_recorded_and_bad_values_are_422_with_field_errors(client, login_as, world):  # type: ignore[no-untyped-def]
    login_as(world["nurse"])
    bad = client.post(_url(world, "/vitals"), data={"pulse": "900", "temperature_c": "abc"}, headers=HX)
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert 'aria-invalid="true"' in body and 'value="900"' in body
    empty = client.post(_url(world, "/vitals"), data={})
    assert empty.status_code == 422 and "Enter at least one vital sign." in empty.get_data(as_text=True)
    good = client.post(_url(world, "/vitals"), data={"pulse": "88", "temperature_c": "37,9"}, headers=HX)
    assert good.status_code == 200 and "37.9" in good.get_data(as_text=True)
    [vitals] = db.session.scalars(select(VitalSigns).where(VitalSigns.admission_id == world["admission"].id))
    assert vitals.pulse == 88
    plain = client.post(_url(world, "/vitals"), data={"spo2": "97"})
    assert plain.status_code == 303


# ---------------------------------------------------------------- transfer and hand-over


def test_a_nurse_transfers_the_patient_without_javascript(client, login_as, world):  # type: ignore[no-untyped-def]
    login_as(world["nurse"])
    page = client.get(_url(world)).get_data(as_text=True)
    target = world["icu"].beds[0]
    assert f'value="{target.id}"' in page
    response = client.post(
        _url(world, "/transfer"),
        data={"bed_id": str(target.id), "reason": "Needs ICU", "version": str(world["admission"].version)},
    )
    assert response.status_code == 303
    admission = _fresh(world)
    assert admission.bed_id == target.id
    page = client.get(_url(world)).get_data(as_text=True)
    assert "Needs ICU" in page and "ICU · B1" in page
    assert db.session.get(Bed, world["general"].beds[0].id).status == BedStatus.cleaning


def test_same_bed_is_422_and_a_taken_bed_is_409_offering_others(client, login_as, world, make):  # type: ignore[no-untyped-def]
    login_as(world["doctor"])
    version = str(world["admission"].version)
    same = client.post(
        _url(world, "/transfer"),
        data={"bed_id": str(world["general"].beds[0].id), "reason": "x", "version": version},
        headers=HX,
    )
    assert same.status_code == 422 and "already in this bed" in same.get_data(as_text=True)
    taken = world["general"].beds[1]
    other = make.patient()
    inpatient.admit_patient(
        hospital=world["hospital"],
        patient=other.patient,
        ward_id=None,
        bed_id=taken.id,
        doctor_id=None,
        actor=world["doctor"],
        reason="Observation",
    )
    db.session.commit()
    response = client.post(
        _url(world, "/transfer"), data={"bed_id": str(taken.id), "reason": "Quieter", "version": version}
    )
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "no longer free" in body and f'value="{world["general"].beds[2].id}"' in body
    assert 'value="Quieter"' in body or "Quieter" in body  # the reason is kept
    assert _fresh(world).bed_id == world["general"].beds[0].id


def test_a_stale_version_is_409(client, login_as, world):  # type: ignore[no-untyped-def]
    login_as(world["doctor"])
    response = client.post(
        _url(world, "/transfer"),
        data={"bed_id": str(world["icu"].beds[0].id), "reason": "x", "version": "99"},
        headers=HX,
    )
    assert response.status_code == 409 and "Someone else changed" in response.get_data(as_text=True)


def test_hand_over_to_another_doctor_of_the_hospital(client, login_as, world, make):  # type: ignore[no-untyped-def]
    colleague = make.doctor_at(world["hospital"], name="Grace Mwangi")
    outsider = make.doctor_at(make.hospital())
    login_as(world["doctor"])
    page = client.get(_url(world)).get_data(as_text=True)
    assert "Dr Grace Mwangi" in page
    version = str(world["admission"].version)
    refused = client.post(
        _url(world, "/attending"), data={"doctor_id": str(outsider.doctor.id), "version": version}
    )
    assert refused.status_code == 422
    garbage = client.post(_url(world, "/attending"), data={"doctor_id": "x' or 1=1", "version": "abc"})
    assert garbage.status_code == 422
    done = client.post(
        _url(world, "/attending"), data={"doctor_id": str(colleague.doctor.id), "version": version}
    )
    assert done.status_code == 303
    assert _fresh(world).attending_doctor_id == colleague.doctor.id
    login_as(colleague)
    assert client.get(_url(world)).status_code == 200


# ---------------------------------------------------------------- discharge


def test_the_summary_is_required_then_the_discharge_bills_the_room_nights(client, login_as, world, make):  # type: ignore[no-untyped-def]
    soon = make.appointment(
        world["patient"], world["doctor"], world["hospital"], start_at=NOW + timedelta(days=14)
    )
    login_as(world["doctor"])
    assert f'value="{soon.id}"' in client.get(_url(world)).get_data(as_text=True)
    version = str(world["admission"].version)
    empty = client.post(
        _url(world, "/discharge-summary"),
        data={"discharge_procedures": "None", "version": version},
        headers=HX,
    )
    assert empty.status_code == 422 and "Write the diagnoses on discharge." in empty.get_data(as_text=True)
    foreign = make.appointment(None, world["doctor"], world["hospital"], start_at=NOW + timedelta(days=15))
    wrong = client.post(
        _url(world, "/discharge-summary"),
        data={"discharge_diagnoses": "J18.9", "follow_up": str(foreign.id), "version": version},
    )
    assert wrong.status_code == 422
    summary = {
        "discharge_diagnoses": "J18.9 Pneumonia",
        "discharge_procedures": "Chest X-ray",
        "discharge_medicines": "Amoxicillin 500 mg three times a day for 5 days",
        "discharge_advice": "Rest, drink plenty",
        "follow_up": str(soon.id),
        "version": version,
    }
    assert client.post(_url(world, "/discharge-summary"), data=summary).status_code == 303
    admission = _fresh(world)
    assert (
        admission.status == AdmissionStatus.discharge_ordered
        and admission.follow_up_appointment_id == soon.id
    )
    assert db.session.get(Bed, world["general"].beds[0].id).status == BedStatus.occupied
    clock.set_frozen(NOW + timedelta(days=2, hours=3))
    login_as(world["nurse"])
    page = client.get(_url(world)).get_data(as_text=True)
    assert "Patient has left" in page
    stale = client.post(_url(world, "/discharge"), data={"version": str(admission.version - 1)})
    assert stale.status_code == 409
    left = client.post(_url(world, "/discharge"), data={"version": str(admission.version)}, headers=HX)
    assert left.status_code == 204 and left.headers["HX-Redirect"].startswith(_url(world))
    again = client.post(_url(world, "/discharge"), data={"version": str(admission.version)})
    assert again.status_code == 404  # a nurse no longer sees a closed admission
    login_as(world["doctor"])
    twice = client.post(_url(world, "/discharge"), data={})
    assert twice.status_code == 409
    page = client.get(_url(world)).get_data(as_text=True)
    assert "Room nights: General" in page and "2 nights" in page and "6,000.00" in page
    assert db.session.get(Bed, world["general"].beds[0].id).status == BedStatus.cleaning


def test_the_doctor_downloads_the_summary_pdf(client, login_as, world):  # type: ignore[no-untyped-def]
    login_as(world["doctor"])
    assert client.get(_url(world, "/summary.pdf")).status_code == 404  # nothing written yet
    inpatient.order_discharge(world["admission"], world["doctor"], {"discharge_diagnoses": "J18.9 Pneumonia"})
    db.session.commit()
    response = client.get(_url(world, "/summary.pdf"))
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    for expected in ("Riverside General", "Amina Hassan", "J18.9 Pneumonia", "Discharge summary", "B1"):
        assert expected in text, expected
    login_as(world["nurse"])
    assert client.get(_url(world, "/summary.pdf")).status_code == 404


def test_garbage_never_500s(client, login_as, world):  # type: ignore[no-untyped-def]
    login_as(world["doctor"])
    junk = {"bed_id": "-1", "doctor_id": "9" * 40, "version": "1e9", "follow_up": "abc", "text": "x" * 9000}
    for tail in ("/notes", "/vitals", "/transfer", "/attending", "/discharge-summary", "/discharge"):
        response = client.post(_url(world, tail), data=junk)
        assert response.status_code in (303, 400, 403, 409, 422), (tail, response.status_code)
    assert client.post(_url(world, "/notes"), data={"text": "x"}, csrf=False).status_code == 400


# ---------------------------------------------------------------- statements and the doctor's list


def _grow(world, make, n: int) -> None:  # type: ignore[no-untyped-def]
    admission = world["admission"]
    for i in range(n):
        inpatient.add_note(admission, world["nurse"], f"Round {i}")
        inpatient.add_note(admission, world["doctor"], f"Progress {i}")
        inpatient.record_round_vitals(admission, world["nurse"], {"pulse": str(70 + i)})
        beds = [world["icu"].beds[i % 2], world["general"].beds[1 + i % 2]]
        db.session.commit()
        for bed in beds:
            if bed.status == BedStatus.cleaning:
                db.session.execute(
                    Bed.__table__.update().where(Bed.id == bed.id).values(status=BedStatus.free)
                )
        db.session.commit()
        target = next(
            b for b in beds if db.session.get(Bed, b.id).status == BedStatus.free and b.id != admission.bed_id
        )
        db.session.refresh(admission)
        inpatient.transfer_patient(admission, target.id, world["nurse"], f"Move {i}")
        db.session.commit()


def test_the_page_sends_the_same_statements_whatever_the_stay(client, login_as, world, make):  # type: ignore[no-untyped-def]
    login_as(world["doctor"])
    _grow(world, make, 1)
    client.get(_url(world))
    with recorded() as few:
        assert client.get(_url(world)).status_code == 200
    _grow(world, make, 4)
    with recorded() as many:
        page = client.get(_url(world))
    assert page.status_code == 200 and "Progress 3" in page.get_data(as_text=True)
    assert len(many) == len(few), "\n".join(many)


def test_my_inpatients_lists_the_doctors_open_admissions(client, login_as, world, make):  # type: ignore[no-untyped-def]
    login_as(world["doctor"])
    page = client.get("/ward/admissions/mine").get_data(as_text=True)
    assert "Amina Hassan" in page and _url(world) in page
    assert "My inpatients" in page  # the menu's link
    login_as(make.doctor_at(world["hospital"]))
    assert "Amina Hassan" not in client.get("/ward/admissions/mine").get_data(as_text=True)
    login_as(world["nurse"])
    assert client.get("/ward/admissions/mine").status_code == 404


def test_a_too_long_note_is_422_with_one_message(client, login_as, world):  # type: ignore[no-untyped-def]
    login_as(world["doctor"])
    response = client.post(_url(world, "/notes"), data={"text": "x" * 4001}, headers=HX)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert body.count('class="field-error"') == 1 and "<html" not in body


def test_a_taken_bed_with_htmx_answers_the_transfer_form_alone(client, login_as, world, make):  # type: ignore[no-untyped-def]
    taken = world["icu"].beds[0]
    inpatient.admit_patient(
        hospital=world["hospital"],
        patient=make.patient().patient,
        ward_id=None,
        bed_id=taken.id,
        doctor_id=None,
        actor=world["doctor"],
        reason="Observation",
    )
    db.session.commit()
    login_as(world["nurse"])
    response = client.post(
        _url(world, "/transfer"), data={"bed_id": str(taken.id), "reason": "Needs ICU"}, headers=HX
    )
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "<html" not in body and "no longer free" in body and "Needs ICU" in body
    assert f'value="{world["icu"].beds[1].id}"' in body  # the ICU's other bed is offered


def test_an_order_waiting_for_a_bed_shows_without_forms(client, login_as, world, make):  # type: ignore[no-untyped-def]
    waiting = inpatient.admit_patient(
        hospital=world["hospital"],
        patient=make.patient(name="Baraka Otieno").patient,
        ward_id=world["general"].id,
        bed_id=None,
        doctor_id=None,
        actor=world["doctor"],
        reason="Elective surgery",
    )
    db.session.commit()
    login_as(world["doctor"])
    page = client.get(f"/ward/admissions/{waiting.id}").get_data(as_text=True)
    assert "Waiting for a bed" in page and "No bed given yet." in page
    assert "Add progress note" not in page and "Order the discharge" not in page and "Hand over" in page
