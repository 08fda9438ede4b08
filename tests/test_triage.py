"""Nurse triage: vital signs checked against physical limits (every bad value answered 422 with its
field's message, the values kept), BMI worked out, who may triage whom (the nurses' rule: her hospital,
checked in, today), the doctor's encounter filled from the triage, the patient's records, audit rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import AppointmentStatus, AuditEvent, Encounter, StaffKind, VitalSigns
from hms.services import triage
from hms.services.errors import NotAllowed

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 12:00 in Nairobi


@pytest.fixture(autouse=True)
def _frozen():  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)


GOOD = {
    "bp_systolic": "132",
    "bp_diastolic": "84",
    "pulse": "88",
    "respiratory_rate": "18",
    "spo2": "97",
    "temperature_c": "38,4",  # a decimal comma, as a Spanish keypad types it
    "weight_kg": "70",
    "height_cm": "175",
    "chief_complaint": "Fever for two days",
    "triage_level": "3",
}


def _ward(make):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    nurse = make.nurse(hospital)
    visit = make.checked_in(hospital)
    return hospital, nurse, visit


# ---------------------------------------------------------------- the service


def test_record_triage_keeps_the_values_and_works_out_bmi(make):  # type: ignore[no-untyped-def]
    _hospital, nurse, visit = _ward(make)
    vitals = triage.record_triage(visit, nurse, GOOD)
    db.session.commit()
    row = db.session.get(VitalSigns, vitals.id)
    assert (row.bp_systolic, row.bp_diastolic, row.pulse, row.respiratory_rate, row.spo2) == (
        132,
        84,
        88,
        18,
        97,
    )
    assert row.temperature_c == Decimal("38.4")
    assert row.bmi == Decimal("22.9")  # 70 / 1.75²
    assert row.level == 3 and row.recorded_by_id == nurse.id and row.taken_at == NOW


def test_bmi_needs_weight_and_height(make):  # type: ignore[no-untyped-def]
    _hospital, nurse, visit = _ward(make)
    assert make.vitals(visit, nurse, weight_kg=Decimal("12.5"), height_cm=None).bmi is None
    assert make.vitals(visit, nurse, weight_kg=Decimal("12.5"), height_cm=Decimal(90)).bmi == Decimal("15.4")


BAD = [
    ("bp_systolic", "39", "Enter a systolic pressure from 40 to 300 mmHg."),
    ("bp_systolic", "301", "Enter a systolic pressure from 40 to 300 mmHg."),
    ("bp_diastolic", "19", "Enter a diastolic pressure from 20 to 200 mmHg."),
    ("bp_diastolic", "140", "The diastolic pressure must be lower than the systolic."),
    ("pulse", "19", "Enter a pulse from 20 to 300 beats a minute."),
    ("pulse", "301", "Enter a pulse from 20 to 300 beats a minute."),
    ("pulse", "80.5", "Enter a pulse from 20 to 300 beats a minute."),
    ("respiratory_rate", "81", "Enter a respiratory rate from 4 to 80 breaths a minute."),
    ("spo2", "101", "Enter an oxygen saturation from 0 to 100 percent."),
    ("spo2", "-1", "Enter an oxygen saturation from 0 to 100 percent."),
    ("temperature_c", "24.9", "Enter a temperature from 25 to 45 °C."),
    ("temperature_c", "45.1", "Enter a temperature from 25 to 45 °C."),
    ("temperature_c", "hot", "Enter a temperature from 25 to 45 °C."),
    ("weight_kg", "0.2", "Enter a weight from 0.3 to 500 kg."),
    ("weight_kg", "501", "Enter a weight from 0.3 to 500 kg."),
    ("height_cm", "19", "Enter a height from 20 to 260 cm."),
    ("height_cm", "261", "Enter a height from 20 to 260 cm."),
    ("triage_level", "6", "Choose a triage level from 1 to 5."),
    ("triage_level", "", "Choose a triage level from 1 to 5."),
]


@pytest.mark.parametrize(("name", "value", "message"), BAD)
def test_a_value_outside_physical_limits_is_422_with_the_fields_message_and_values_kept(
    make, login_as, client, name, value, message
):  # type: ignore[no-untyped-def]
    _hospital, nurse, visit = _ward(make)
    login_as(nurse)
    response = client.post(f"/staff/triage/{visit.id}", data=GOOD | {name: value})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{name}-error"' in page
    assert message.replace("'", "&#39;") in page
    assert "Fever for two days</textarea>" in page  # the rest is kept
    assert 'value="88"' in page or name == "pulse"
    assert db.session.scalar(select(VitalSigns.id)) is None


def test_every_bad_value_is_named_at_once(make):  # type: ignore[no-untyped-def]
    _hospital, nurse, visit = _ward(make)
    with pytest.raises(triage.VitalsInvalid) as refused:
        triage.record_triage(visit, nurse, GOOD | {"pulse": "500", "spo2": "120", "height_cm": "5"})
    assert set(refused.value.errors) == {"pulse", "spo2", "height_cm"}


def test_one_blood_pressure_value_alone_is_refused(make):  # type: ignore[no-untyped-def]
    _hospital, nurse, visit = _ward(make)
    with pytest.raises(triage.VitalsInvalid) as refused:
        triage.record_triage(visit, nurse, GOOD | {"bp_diastolic": ""})
    assert refused.value.errors == {"bp_diastolic": "Enter both blood pressure values, or neither."}


def test_a_triage_needs_a_complaint_or_a_measurement(make):  # type: ignore[no-untyped-def]
    _hospital, nurse, visit = _ward(make)
    with pytest.raises(triage.VitalsInvalid) as refused:
        triage.record_triage(visit, nurse, {"triage_level": "4"})
    assert "chief_complaint" in refused.value.errors


def test_recording_is_audited(make):  # type: ignore[no-untyped-def]
    hospital, nurse, visit = _ward(make)
    vitals = triage.record_triage(visit, nurse, GOOD)
    db.session.commit()
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.record_type == "vital_signs"))
    assert (event.action, event.record_id, event.patient_id, event.hospital_id, event.detail) == (
        "create",
        vitals.id,
        visit.patient_id,
        hospital.id,
        "level 3",
    )


# ---------------------------------------------------------------- the nurses' access rule


def test_nurse_sees_a_patient_checked_in_today_at_her_hospital(make):  # type: ignore[no-untyped-def]
    _hospital, nurse, visit = _ward(make)
    assert triage.nurse_can_see(nurse, visit)
    assert triage.nurse_can_see(nurse, visit.patient)
    visit.status = AppointmentStatus.fulfilled  # a later state of today's visit
    assert triage.nurse_can_see(nurse, visit)


def test_nurse_does_not_see_other_hospitals_booked_or_yesterdays_visits(make):  # type: ignore[no-untyped-def]
    hospital, nurse, visit = _ward(make)
    assert not triage.nurse_can_see(make.nurse(), visit)
    assert not triage.nurse_can_see(make.staff(hospital, StaffKind.receptionist), visit)
    booked = make.appointment(hospital_row=hospital, start_at=NOW)
    assert not triage.nurse_can_see(nurse, booked)
    yesterday = make.checked_in(hospital)
    yesterday.start_at = NOW - timedelta(days=1)
    assert not triage.nurse_can_see(nurse, yesterday)
    with pytest.raises(NotAllowed):
        triage.record_triage(yesterday, nurse, GOOD)


def test_today_is_the_hospitals_day_not_utcs(make):  # type: ignore[no-untyped-def]
    hospital, nurse, visit = _ward(make)
    visit.start_at = datetime(2026, 3, 1, 21, 30, tzinfo=UTC)  # 00:30 on 2 March in Nairobi
    assert triage.nurse_can_see(nurse, visit)
    visit.start_at = datetime(2026, 3, 1, 20, 30, tzinfo=UTC)  # 23:30 on 1 March in Nairobi
    assert not triage.nurse_can_see(nurse, visit)


@pytest.mark.parametrize("case", ["other hospital", "not checked in", "yesterday", "no such visit"])
def test_triage_page_is_404_and_audited_outside_the_rule(make, login_as, client, case):  # type: ignore[no-untyped-def]
    hospital, nurse, visit = _ward(make)
    if case == "other hospital":
        visit = make.checked_in()
    elif case == "not checked in":
        visit = make.appointment(hospital_row=hospital, start_at=NOW)
    elif case == "yesterday":
        visit.start_at = NOW - timedelta(days=1)
        db.session.commit()
    visit_id = 999_999 if case == "no such visit" else visit.id
    login_as(nurse)
    assert client.get(f"/staff/triage/{visit_id}").status_code == 404
    assert client.post(f"/staff/triage/{visit_id}", data=GOOD).status_code == 404
    denied = db.session.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).all()
    assert [e.record_id for e in denied] == [visit_id, visit_id]
    assert db.session.scalar(select(VitalSigns.id)) is None


@pytest.mark.parametrize("kind", [StaffKind.receptionist, StaffKind.pharmacist, StaffKind.lab_technician])
def test_other_staff_are_refused_triage_pages(make, login_as, client, kind):  # type: ignore[no-untyped-def]
    hospital, _nurse, visit = _ward(make)
    login_as(make.staff(hospital, kind))
    assert client.get("/staff/triage").status_code == 403
    assert client.get(f"/staff/triage/{visit.id}").status_code == 403


# ---------------------------------------------------------------- pages


def test_nurse_records_triage_without_javascript(make, login_as, client):  # type: ignore[no-untyped-def]
    _hospital, nurse, visit = _ward(make)
    visit.patient.allergies = "Penicillin"
    db.session.commit()
    login_as(nurse)
    page = client.get(f"/staff/triage/{visit.id}").get_data(as_text=True)
    assert visit.patient.name in page and "Penicillin" in page
    assert page.count('inputmode="decimal"') == 8 and "(mmHg)" in page and "(°C)" in page
    view = db.session.scalar(select(AuditEvent).where(AuditEvent.record_type == "triage"))
    assert (view.action, view.record_id, view.patient_id) == ("view", visit.id, visit.patient_id)

    response = client.post(f"/staff/triage/{visit.id}", data=GOOD)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/staff/triage/{visit.id}")
    page = client.get(f"/staff/triage/{visit.id}").get_data(as_text=True)
    assert "BP 132/84 mmHg" in page and "SpO₂ 97 %" in page and "BMI 22.9" in page
    assert f"Taken by nurse {nurse.full_name} at" in page


def test_htmx_submit_answers_the_form_fragment(make, login_as, client):  # type: ignore[no-untyped-def]
    _hospital, nurse, visit = _ward(make)
    login_as(nurse)
    response = client.post(f"/staff/triage/{visit.id}", data=GOOD, headers={"HX-Request": "true"})
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment and "Triage recorded" in fragment and "Urgent" in fragment
    bad = client.post(
        f"/staff/triage/{visit.id}", data=GOOD | {"spo2": "150"}, headers={"HX-Request": "true"}
    )
    assert bad.status_code == 422 and "<html" not in bad.get_data(as_text=True)


def test_triage_page_shows_the_last_vitals_of_an_earlier_visit(make, login_as, client):  # type: ignore[no-untyped-def]
    hospital, nurse, visit = _ward(make)
    earlier = make.appointment(
        hospital_row=hospital, start_at=NOW - timedelta(days=30), status=AppointmentStatus.fulfilled
    )
    earlier.patient_id = visit.patient_id
    db.session.commit()
    make.vitals(earlier, nurse, pulse=64, taken_at=NOW - timedelta(days=30))
    login_as(nurse)
    page = client.get(f"/staff/triage/{visit.id}").get_data(as_text=True)
    assert "pulse 64/min" in page


def test_triage_list_puts_waiting_patients_first(make, login_as, client):  # type: ignore[no-untyped-def]
    hospital, nurse, waiting = _ward(make)
    triaged = make.checked_in(hospital)
    make.vitals(triaged, nurse, triage_level=2)
    make.checked_in()  # another hospital's
    make.appointment(hospital_row=hospital, start_at=NOW)  # booked, not checked in
    login_as(nurse)
    page = client.get("/staff/triage").get_data(as_text=True)
    assert "1 patient waiting for triage" in page
    assert page.index(waiting.patient.name) < page.index("Triaged today") < page.index(triaged.patient.name)
    assert "Emergent" in page
    dashboard = client.get("/staff/").get_data(as_text=True)
    assert waiting.patient.name in dashboard and f"/staff/triage/{waiting.id}" in dashboard


# ---------------------------------------------------------------- the doctor and the patient


def test_doctor_finds_the_triage_in_his_new_encounter(make, login_as, client):  # type: ignore[no-untyped-def]
    hospital, nurse, visit = _ward(make)
    triage.record_triage(visit, nurse, GOOD)
    db.session.commit()
    login_as(visit.doctor.user)
    response = client.post(f"/doctor/appointments/{visit.id}/encounter")
    assert response.status_code == 303
    encounter = db.session.scalar(select(Encounter).where(Encounter.appointment_id == visit.id))
    assert (encounter.bp_systolic, encounter.bp_diastolic, encounter.pulse) == (132, 84, 88)
    assert encounter.temperature_c == Decimal("38.4") and encounter.chief_complaint == "Fever for two days"
    page = client.get(f"/doctor/encounters/{encounter.id}").get_data(as_text=True)
    assert (
        f"Taken by nurse {nurse.full_name} at" in page and 'datetime="2026-03-02T12:00+03:00">12:00<' in page
    )
    assert 'value="132"' in page and "respiration 18/min" in page


def test_patient_and_doctor_see_the_vitals_in_the_records(make, login_as, client):  # type: ignore[no-untyped-def]
    _hospital, nurse, visit = _ward(make)
    triage.record_triage(visit, nurse, GOOD)
    db.session.commit()
    login_as(visit.doctor.user)
    record = client.get(f"/doctor/patients/{visit.patient_id}").get_data(as_text=True)
    assert "SpO₂ 97 %" in record and f"Taken by nurse {nurse.full_name}" in record
    login_as(visit.patient.user)
    own = client.get("/patient/encounters").get_data(as_text=True)
    assert "SpO₂ 97 %" in own and "BMI 22.9" in own


# ---------------------------------------------------------------- FHIR


def test_triage_vitals_are_fhir_vital_signs_observations(make, client):  # type: ignore[no-untyped-def]
    from tests.test_fhir_api import bearer, validate

    _hospital, nurse, visit = _ward(make)
    vitals = triage.record_triage(visit, nurse, GOOD)
    db.session.commit()
    headers = bearer(visit.patient.user)
    response = client.get(f"/fhir/Observation?patient={visit.patient_id}", headers=headers)
    assert response.status_code == 200, response.json
    validate(response.json)
    observations = {e["resource"]["id"]: e["resource"] for e in response.json["entry"]}
    kinds = [
        "bp",
        "heart-rate",
        "temperature",
        "weight",
        "height",
        "respiratory-rate",
        "oxygen-saturation",
        "bmi",
    ]
    assert list(observations) == [f"{kind}-t{vitals.id}" for kind in kinds]
    for body in observations.values():
        validate(body)
        assert body["category"][0]["coding"][0]["code"] == "vital-signs"
        assert body["effectiveDateTime"] == "2026-03-02T09:00:00Z"
        assert body["performer"] == [{"display": nurse.full_name}]

    def coded(kind: str) -> tuple[list[str], dict]:
        body = observations[f"{kind}-t{vitals.id}"]
        return [c["code"] for c in body["code"]["coding"]], body.get("valueQuantity")

    ucum = "http://unitsofmeasure.org"
    assert coded("heart-rate") == (["8867-4"], {"value": 88, "unit": "/min", "system": ucum, "code": "/min"})
    assert coded("respiratory-rate") == (
        ["9279-1"],
        {"value": 18, "unit": "/min", "system": ucum, "code": "/min"},
    )
    assert coded("oxygen-saturation") == (
        ["59408-5", "2708-6"],
        {"value": 97, "unit": "%", "system": ucum, "code": "%"},
    )
    assert coded("temperature") == (["8310-5"], {"value": 38.4, "unit": "Cel", "system": ucum, "code": "Cel"})
    assert coded("weight")[0] == ["29463-7"] and coded("weight")[1]["code"] == "kg"
    assert coded("height")[0] == ["8302-2"] and coded("height")[1]["code"] == "cm"
    assert coded("bmi") == (["39156-5"], {"value": 22.9, "unit": "kg/m2", "system": ucum, "code": "kg/m2"})
    bp = observations[f"bp-t{vitals.id}"]
    assert bp["code"]["coding"][0]["code"] == "85354-9"
    assert [
        (c["code"]["coding"][0]["code"], c["valueQuantity"]["value"], c["valueQuantity"]["code"])
        for c in bp["component"]
    ] == [
        ("8480-6", 132, "mm[Hg]"),
        ("8462-4", 84, "mm[Hg]"),
    ]

    read = client.get(f"/fhir/Observation/oxygen-saturation-t{vitals.id}", headers=headers)
    assert read.status_code == 200 and validate(read.json)
    only = client.get("/fhir/Observation?code=http://loinc.org|9279-1", headers=headers).json
    assert [e["resource"]["id"] for e in only["entry"]] == [f"respiratory-rate-t{vitals.id}"]
    audited = db.session.scalars(
        select(AuditEvent.record_id).where(
            AuditEvent.record_type == "vital_signs", AuditEvent.action == "view"
        )
    ).all()
    assert vitals.id in audited


def test_fhir_triage_observations_follow_the_clinical_access_rules(make, client):  # type: ignore[no-untyped-def]
    from tests.test_fhir_api import bearer

    _hospital, nurse, visit = _ward(make)
    vitals = triage.record_triage(visit, nurse, GOOD)
    db.session.commit()
    url = f"/fhir/Observation/bp-t{vitals.id}"
    assert client.get(url, headers=bearer(visit.doctor.user)).status_code == 200  # his patient
    assert client.get(url, headers=bearer(make.doctor())).status_code == 404
    assert client.get(url, headers=bearer(make.patient())).status_code == 404
    stranger = client.get("/fhir/Observation", headers=bearer(make.patient())).json
    assert stranger["total"] == 0
    denied = db.session.scalars(
        select(AuditEvent).where(AuditEvent.record_type == "vital_signs", AuditEvent.outcome == "denied")
    ).all()
    assert len(denied) == 2
    # A visit the doctor then opens: the triage's Observations point to its encounter.
    login_doctor = bearer(visit.doctor.user)
    from hms.services import clinical

    encounter = clinical.open_encounter(visit, visit.doctor)
    db.session.commit()
    body = client.get(url, headers=login_doctor).json
    assert body["encounter"]["reference"] == f"Encounter/{encounter.id}"


def test_recording_triage_moves_the_flow_card_to_ready_for_the_doctor(make):  # type: ignore[no-untyped-def]
    from hms.services import flow

    hospital = make.hospital()
    nurse = make.nurse(hospital)
    receptionist = make.staff(hospital, StaffKind.receptionist)
    visit = make.appointment(hospital_row=hospital, start_at=NOW + timedelta(minutes=10))
    entry = flow.check_in(hospital=hospital, appointment_id=visit.id, actor=receptionist)
    db.session.commit()
    assert entry.state == flow.FlowState.waiting
    triage.record_triage(visit, nurse, GOOD)
    db.session.commit()
    db.session.refresh(entry)
    assert entry.state == flow.FlowState.ready


def test_no_value_in_any_triage_field_answers_a_5xx(make, login_as, client):  # type: ignore[no-untyped-def]
    """The fuzz crawl's staff member is a receptionist: the nurse's form gets the same nasty values here."""
    from tests.test_fuzz import NASTY

    _hospital, nurse, visit = _ward(make)
    login_as(nurse)
    fields = [*triage.MEASUREMENTS, "chief_complaint", "triage_level"]
    for n, value in enumerate([*NASTY, "37,5", "1" * 600, "\x00", "٣٧٫٥"]):
        name = fields[n % len(fields)]
        for data in (GOOD | {name: value}, {name: value}, GOOD | {fields[(n + 3) % len(fields)]: value}):
            response = client.post(f"/staff/triage/{visit.id}", data=data)
            assert response.status_code < 500, (name, value, response.status_code)
    assert client.get("/staff/triage").status_code == 200


def test_a_patient_sent_past_triage_without_vitals_no_longer_waits_for_the_nurse(make):  # type: ignore[no-untyped-def]
    from hms.services import flow

    hospital = make.hospital()
    receptionist = make.staff(hospital, StaffKind.receptionist)
    queued = []
    for minutes in (10, 40):
        visit = make.appointment(hospital_row=hospital, start_at=NOW + timedelta(minutes=minutes))
        queued.append((visit, flow.check_in(hospital=hospital, appointment_id=visit.id, actor=receptionist)))
    db.session.commit()
    (skipped, entry), (still, _entry) = queued
    flow.move_visit(entry, flow.FlowState.ready, receptionist, version=entry.version)
    db.session.commit()
    waiting = [row.appointment.id for row in triage.triage_queue(hospital)]
    assert waiting == [still.id]  # the one sent straight to the doctor left the nurse's list
    assert skipped.status.value == "arrived"
