"""The read-only FHIR R4 API: every resource validates against the R4 models of fhir.resources
(the R4B package, FHIR 4.3, which keeps R4's shape for these resources; the package's top level is R5),
search parameters and paging, and the access rules of the pages, with Bearer tokens only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import (
    AllergySeverity,
    AppointmentStatus,
    AuditEvent,
    BillStatus,
    HistoryKind,
    HospitalStatus,
    PrescriptionStatus,
)
from hms.services import api_tokens

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)  # a Monday, 11:00 in Nairobi


def bearer(user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    _, secret = api_tokens.create_api_token(user, "tests")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def validate(body: dict) -> object:
    """Parse the JSON with the R4(B) model of its resourceType: raises on anything invalid."""
    return get_fhir_model_class(body["resourceType"]).model_validate(body)


@pytest.fixture
def world(make):  # type: ignore[no-untyped-def]
    """A hospital with a doctor who saw a patient (encounter, diagnosis, prescription, history, bill),
    and, elsewhere, another doctor with another patient."""
    clock.set_frozen(NOW)
    hospital = make.hospital(name="Riverside General")
    doctor = make.doctor(name="Grace Okafor")
    membership = make.membership(doctor, hospital)
    make.schedule(doctor, hospital, start="09:00", end="12:00", breaks=[("10:00", "10:30")])
    patient = make.patient(name="Amina Hassan")
    visit = make.appointment(
        patient, doctor, hospital, start_at=NOW - timedelta(days=1), status=AppointmentStatus.fulfilled
    )
    upcoming = make.appointment(patient, doctor, hospital, start_at=NOW + timedelta(days=1))
    encounter = make.encounter(
        visit,
        chief_complaint="Sore throat",
        bp_systolic=128,
        bp_diastolic=84,
        pulse=92,
        temperature_c=Decimal("38.4"),
    )
    diagnosis = make.diagnosis(encounter)
    prescription = make.prescription(encounter, items=2, status=PrescriptionStatus.active)
    draft = make.prescription(encounter, items=1)
    condition = make.history_entry(patient, kind=HistoryKind.condition, title="Asthma")
    allergy = make.history_entry(
        patient,
        kind=HistoryKind.allergy,
        title="Penicillin",
        by=doctor,
        reaction="Hives",
        severity=AllergySeverity.severe,
    )
    bill = make.bill(patient, hospital)
    draft_bill = make.bill(patient, hospital, status=BillStatus.draft)

    other_hospital = make.hospital(name="Hillside Clinic", timezone="Europe/Berlin", currency="EUR")
    other_doctor = make.doctor(name="Ravi Mehta")
    make.membership(other_doctor, other_hospital)
    other_patient = make.patient(name="John Doe")
    other_visit = make.appointment(
        other_patient,
        other_doctor,
        other_hospital,
        start_at=NOW - timedelta(days=2),
        status=AppointmentStatus.fulfilled,
    )
    other_encounter = make.encounter(other_visit)
    other_bill = make.bill(other_patient, other_hospital)
    return {
        "hospital": hospital,
        "doctor": doctor,
        "membership": membership,
        "patient": patient,
        "visit": visit,
        "upcoming": upcoming,
        "encounter": encounter,
        "diagnosis": diagnosis,
        "prescription": prescription,
        "draft": draft,
        "condition": condition,
        "allergy": allergy,
        "bill": bill,
        "draft_bill": draft_bill,
        "other_hospital": other_hospital,
        "other_doctor": other_doctor,
        "other_patient": other_patient,
        "other_visit": other_visit,
        "other_encounter": other_encounter,
        "other_bill": other_bill,
        "admin": make.hospital_admin(hospital),
        "super": make.super_admin(),
        "staff": make.staff(hospital),
    }


def get(client, url, user=None, headers=None):  # type: ignore[no-untyped-def]
    return client.get(url, headers=headers if headers is not None else (bearer(user) if user else {}))


# ---------------------------------------------------------------- every resource validates


def resource_urls(w) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    item = w["prescription"].items[0]
    return [
        (f"/fhir/Patient/{w['patient'].patient.id}", "doctor"),
        (f"/fhir/Practitioner/{w['doctor'].doctor.id}", "patient"),
        (f"/fhir/PractitionerRole/{w['membership'].id}", "patient"),
        (f"/fhir/Organization/{w['hospital'].id}", "patient"),
        (f"/fhir/Schedule/{w['membership'].id}", "patient"),
        (f"/fhir/Appointment/{w['visit'].id}", "patient"),
        (f"/fhir/Appointment/{w['upcoming'].id}", "doctor"),
        (f"/fhir/Encounter/{w['encounter'].id}", "doctor"),
        (f"/fhir/Observation/bp-{w['encounter'].id}", "patient"),
        (f"/fhir/Observation/temperature-{w['encounter'].id}", "doctor"),
        (f"/fhir/Condition/dx-{w['diagnosis'].id}", "patient"),
        (f"/fhir/Condition/h-{w['condition'].id}", "doctor"),
        (f"/fhir/AllergyIntolerance/{w['allergy'].id}", "patient"),
        (f"/fhir/MedicationRequest/{item.id}", "patient"),
        (f"/fhir/Invoice/{w['bill'].id}", "patient"),
        (f"/fhir/Invoice/{w['bill'].id}", "admin"),
    ]


def test_every_resource_type_reads_as_valid_fhir_r4_json(client, world):  # type: ignore[no-untyped-def]
    for url, who in resource_urls(world):
        response = get(client, url, world[who])
        assert response.status_code == 200, (url, response.json)
        assert response.mimetype == "application/fhir+json"
        assert "Set-Cookie" not in response.headers  # no session: nothing to ride a CSRF on
        body = response.json
        assert url.endswith(f"/{body['resourceType']}/{body['id']}")
        validate(body)


def test_every_search_answers_a_valid_searchset_bundle(client, world):  # type: ignore[no-untyped-def]
    headers = bearer(world["doctor"])
    schedule = world["membership"].id
    for resource_type in [
        "Patient",
        "Practitioner",
        "PractitionerRole",
        "Organization",
        "Schedule",
        "Appointment",
        "Encounter",
        "Observation",
        "Condition",
        "AllergyIntolerance",
        "MedicationRequest",
        f"Slot?schedule={schedule}",
    ]:
        response = client.get(f"/fhir/{resource_type}", headers=headers)
        assert response.status_code == 200, (resource_type, response.json)
        bundle = validate(response.json)
        assert bundle.type == "searchset" and bundle.total >= 1, resource_type
        for entry in response.json["entry"]:
            validate(entry["resource"])
    invoices = get(client, "/fhir/Invoice", world["admin"])
    assert validate(invoices.json).total == 2  # the draft too: the hospital writes them


def test_capability_statement_lists_every_resource_and_needs_no_token(client, world):  # type: ignore[no-untyped-def]
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    statement = validate(response.json)
    assert statement.fhirVersion == "4.0.1"
    served = {r["type"] for r in response.json["rest"][0]["resource"]}
    assert served == {
        "Patient",
        "Practitioner",
        "PractitionerRole",
        "Organization",
        "Schedule",
        "Slot",
        "Appointment",
        "Encounter",
        "Observation",
        "Condition",
        "AllergyIntolerance",
        "MedicationRequest",
        "Invoice",
        "ServiceRequest",
        "Specimen",
        "DiagnosticReport",
        "Location",
    }


# ---------------------------------------------------------------- mapping


def test_resources_carry_our_data_in_fhir_terms(client, world):  # type: ignore[no-untyped-def]
    headers = bearer(world["patient"])
    patient = get(client, f"/fhir/Patient/{world['patient'].patient.id}", headers=headers).json
    assert patient["identifier"][0]["value"] == world["patient"].patient.mrn
    assert patient["name"][0]["family"] == "Hassan" and patient["birthDate"] == "1990-01-01"
    appointment = get(client, f"/fhir/Appointment/{world['visit'].id}", headers=headers).json
    assert appointment["status"] == "fulfilled" and appointment["start"] == "2030-01-06T08:00:00Z"
    encounter = get(client, f"/fhir/Encounter/{world['encounter'].id}", headers=headers).json
    assert encounter["status"] == "finished"
    assert encounter["diagnosis"][0]["condition"]["reference"] == f"Condition/dx-{world['diagnosis'].id}"
    condition = get(client, f"/fhir/Condition/dx-{world['diagnosis'].id}", headers=headers).json
    assert condition["code"]["coding"][0] == {
        "system": "http://hl7.org/fhir/sid/icd-10",
        "code": "J02.9",
        "display": "Acute pharyngitis",
    }
    allergy = get(client, f"/fhir/AllergyIntolerance/{world['allergy'].id}", headers=headers).json
    assert allergy["reaction"][0]["severity"] == "severe" and allergy["criticality"] == "high"
    assert allergy["recorder"]["reference"] == f"Practitioner/{world['doctor'].doctor.id}"
    invoice = get(client, f"/fhir/Invoice/{world['bill'].id}", headers=headers).json
    assert invoice["totalGross"] == {"value": 2500.0, "currency": "KES"} and invoice["status"] == "issued"
    requests = get(
        client, f"/fhir/MedicationRequest?patient={world['patient'].patient.id}", headers=headers
    ).json
    assert requests["total"] == 2  # the issued prescription's two medicines; never the draft
    assert {e["resource"]["groupIdentifier"]["value"] for e in requests["entry"]} == {
        world["prescription"].number
    }


def test_slots_are_computed_free_or_busy_from_the_schedule(client, world, make):  # type: ignore[no-untyped-def]
    headers = bearer(world["patient"])
    schedule = world["membership"].id
    # Tomorrow (Tuesday) 09:00-12:00 Nairobi, 30-minute slots, a break 10:00-10:30; 11:00 is booked.
    response = get(
        client,
        f"/fhir/Slot?schedule=Schedule/{schedule}&start=ge2030-01-08&start=lt2030-01-09",
        headers=headers,
    )
    slots = [(e["resource"]["start"], e["resource"]["status"]) for e in response.json["entry"]]
    assert slots == [
        ("2030-01-08T06:00:00Z", "free"),
        ("2030-01-08T06:30:00Z", "free"),
        ("2030-01-08T07:30:00Z", "free"),
        ("2030-01-08T08:00:00Z", "busy"),
        ("2030-01-08T08:30:00Z", "free"),
    ]
    busy = get(
        client,
        f"/fhir/Slot?schedule={schedule}&start=ge2030-01-08&start=lt2030-01-09&status=busy",
        headers=headers,
    )
    assert busy.json["total"] == 1
    slot_id = busy.json["entry"][0]["resource"]["id"]
    read = get(client, f"/fhir/Slot/{slot_id}", headers=headers)
    assert read.status_code == 200 and read.json["status"] == "busy"
    validate(read.json)
    assert get(client, f"/fhir/Slot/{schedule}-203001080615", headers=headers).status_code == 404
    assert get(client, "/fhir/Slot", headers=headers).status_code == 400  # a schedule is required


# ---------------------------------------------------------------- search parameters and paging


def test_appointments_search_by_patient_practitioner_date_and_status(client, world):  # type: ignore[no-untyped-def]
    headers = bearer(world["doctor"])
    patient_id, doctor_id = world["patient"].patient.id, world["doctor"].doctor.id

    def ids(query: str) -> set[int]:
        response = client.get(f"/fhir/Appointment?{query}", headers=headers)
        assert response.status_code == 200, response.json
        return {int(e["resource"]["id"]) for e in response.json["entry"]}

    both = {world["visit"].id, world["upcoming"].id}
    assert ids(f"patient=Patient/{patient_id}") == both
    assert ids(f"practitioner={doctor_id}") == both
    assert ids("status=fulfilled") == {world["visit"].id}
    assert ids("status=booked,arrived") == {world["upcoming"].id}
    assert ids("date=2030-01-06") == {world["visit"].id}
    assert ids("date=ge2030-01-07") == {world["upcoming"].id}
    assert ids("date=ge2030-01-01&date=lt2030-02") == both
    assert ids(f"patient={world['other_patient'].patient.id}") == set()  # not his: nothing, not an error


def test_clinical_searches_by_patient_status_and_date(client, world):  # type: ignore[no-untyped-def]
    headers = bearer(world["doctor"])
    patient_id = world["patient"].patient.id
    assert (
        client.get(f"/fhir/Encounter?patient={patient_id}&status=finished", headers=headers).json["total"]
        == 1
    )
    assert (
        client.get(f"/fhir/Encounter?patient={patient_id}&status=in-progress", headers=headers).json["total"]
        == 0
    )
    assert client.get("/fhir/Encounter?date=2030-01-06", headers=headers).json["total"] == 1
    conditions = client.get(f"/fhir/Condition?patient={patient_id}", headers=headers).json
    assert [e["resource"]["id"] for e in conditions["entry"]] == [
        f"dx-{world['diagnosis'].id}",
        f"h-{world['condition'].id}",
    ]
    assert client.get("/fhir/Condition?category=problem-list-item", headers=headers).json["total"] == 1
    assert client.get(f"/fhir/AllergyIntolerance?patient={patient_id}", headers=headers).json["total"] == 1
    # The doctor sees his own draft as well as the issued prescription.
    assert client.get("/fhir/MedicationRequest?status=draft", headers=headers).json["total"] == 1
    assert client.get("/fhir/MedicationRequest?status=active", headers=headers).json["total"] == 2


def test_a_searchset_pages_with_a_bounded_count_and_links(client, world, make):  # type: ignore[no-untyped-def]
    for day in range(2, 7):
        make.appointment(
            world["patient"], world["doctor"], world["hospital"], start_at=NOW + timedelta(days=day)
        )
    headers = bearer(world["patient"])
    first = client.get("/fhir/Appointment?_count=3", headers=headers).json
    assert first["total"] == 7 and len(first["entry"]) == 3
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert "_offset=3" in links["next"] and "previous" not in links and "_offset=6" in links["last"]
    path = links["next"].split("/fhir/", 1)[1]
    second = client.get(f"/fhir/{path}", headers=headers).json
    assert len(second["entry"]) == 3
    assert not {e["resource"]["id"] for e in first["entry"]} & {e["resource"]["id"] for e in second["entry"]}
    huge = client.get("/fhir/Appointment?_count=100000", headers=headers).json
    assert "_count=50" in huge["link"][0]["url"]  # bounded


@pytest.mark.parametrize(
    "query",
    [
        "Appointment?date=yesterday",
        "Appointment?date=2030-13-45",
        "Appointment?date=ap2030-01-01",
        "Appointment?status=lost",
        "Appointment?patient=Patient/abc",
        "Appointment?patient=99999999999999999999",
        "Appointment?_count=-1",
        "Appointment?_count=9999999999999",
        "Appointment?colour=red",
        "Appointment?_format=xml",
        "Slot?schedule=x",
        "Patient?birthdate=1990-02-30",
        "Appointment?date=%00",
    ],
)
def test_bad_search_input_is_a_400_operation_outcome(client, world, query):  # type: ignore[no-untyped-def]
    response = get(client, f"/fhir/{query}", world["patient"])
    assert response.status_code == 400
    outcome = validate(response.json)
    assert outcome.issue[0].severity == "error"


# ---------------------------------------------------------------- access


def test_no_token_or_a_bad_token_is_a_401_operation_outcome(client, world):  # type: ignore[no-untyped-def]
    url = f"/fhir/Patient/{world['patient'].patient.id}"
    for headers in (
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer hms_nope"},
        {"Authorization": "Basic eDp5"},
    ):
        response = client.get(url, headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        validate(response.json)


def test_a_session_cookie_is_not_a_credential_for_the_api(client, world, login_as):  # type: ignore[no-untyped-def]
    login_as(world["patient"])
    assert client.get(f"/fhir/Patient/{world['patient'].patient.id}").status_code == 401


def test_a_revoked_or_expired_token_is_refused(client, world):  # type: ignore[no-untyped-def]
    token, secret = api_tokens.create_api_token(world["patient"], "script", 30)
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/fhir/Appointment", headers=headers).status_code == 200
    assert token.last_used_at == NOW
    clock.set_frozen(NOW + timedelta(days=31))
    assert client.get("/fhir/Appointment", headers=headers).status_code == 401
    clock.set_frozen(NOW)
    api_tokens.revoke_token(world["patient"], token.id)
    db.session.commit()
    assert client.get("/fhir/Appointment", headers=headers).status_code == 401


def test_only_a_hash_of_the_token_is_stored(world):  # type: ignore[no-untyped-def]
    token, secret = api_tokens.create_api_token(world["patient"], "script")
    assert secret.startswith("hms_") and len(secret) > 40
    assert token.token_hash == api_tokens.hash_token(secret) and secret not in token.token_hash


# (reader, url, expected): another patient's or hospital's records are 404; a role with no access 403.
def access_rows(w):  # type: ignore[no-untyped-def]
    own_patient, other_patient = w["patient"].patient.id, w["other_patient"].patient.id
    return [
        ("patient", f"/fhir/Patient/{own_patient}", 200),
        ("patient", f"/fhir/Patient/{other_patient}", 404),
        ("patient", f"/fhir/Encounter/{w['other_encounter'].id}", 404),
        ("patient", f"/fhir/Appointment/{w['other_visit'].id}", 404),
        ("patient", f"/fhir/Invoice/{w['other_bill'].id}", 404),
        ("patient", f"/fhir/Invoice/{w['draft_bill'].id}", 404),
        ("patient", f"/fhir/MedicationRequest/{w['draft'].items[0].id}", 404),
        ("doctor", f"/fhir/Patient/{own_patient}", 200),
        ("doctor", f"/fhir/Patient/{other_patient}", 404),
        ("doctor", f"/fhir/Encounter/{w['other_encounter'].id}", 404),
        ("doctor", f"/fhir/Appointment/{w['other_visit'].id}", 404),
        ("doctor", f"/fhir/Invoice/{w['bill'].id}", 403),
        ("other_doctor", f"/fhir/Encounter/{w['encounter'].id}", 404),
        ("other_doctor", f"/fhir/Observation/bp-{w['encounter'].id}", 404),
        ("patient", f"/fhir/Observation/bp-{w['other_encounter'].id}", 404),
        ("patient", f"/fhir/Observation/weight-{w['encounter'].id}", 404),  # not measured
        ("patient", f"/fhir/Observation/pulse-{w['encounter'].id}", 404),  # no such kind
        ("admin", f"/fhir/Observation/bp-{w['encounter'].id}", 403),
        ("other_doctor", f"/fhir/Condition/dx-{w['diagnosis'].id}", 404),
        ("other_doctor", f"/fhir/Condition/h-{w['condition'].id}", 404),
        ("other_doctor", f"/fhir/AllergyIntolerance/{w['allergy'].id}", 404),
        ("admin", f"/fhir/Patient/{own_patient}", 200),
        ("admin", f"/fhir/Patient/{other_patient}", 404),
        ("admin", f"/fhir/Appointment/{w['visit'].id}", 200),
        ("admin", f"/fhir/Appointment/{w['other_visit'].id}", 404),
        ("admin", f"/fhir/Invoice/{w['other_bill'].id}", 404),
        ("admin", f"/fhir/Organization/{w['other_hospital'].id}", 404),
        ("admin", f"/fhir/Encounter/{w['encounter'].id}", 403),
        ("admin", "/fhir/Condition", 403),
        ("staff", f"/fhir/Patient/{own_patient}", 403),
        ("staff", f"/fhir/Organization/{w['hospital'].id}", 200),
        ("super", f"/fhir/Patient/{other_patient}", 200),
        ("super", f"/fhir/Organization/{w['other_hospital'].id}", 200),
        ("super", f"/fhir/Encounter/{w['encounter'].id}", 403),
        ("super", "/fhir/Appointment", 403),
        ("patient", "/fhir/Patient/999999", 404),
        ("patient", "/fhir/Patient/99999999999999999999", 404),
        ("patient", "/fhir/Patient/-1", 404),
        ("patient", "/fhir/Condition/x-1", 404),
        ("patient", "/fhir/Slot/1-2", 404),
        ("patient", "/fhir/Nothing/1", 404),
        ("patient", "/fhir/Patient/1/_history/1", 404),
    ]


def test_access_matrix_follows_the_pages_rules(client, world):  # type: ignore[no-untyped-def]
    headers = {
        who: bearer(world[who]) for who in ("patient", "doctor", "other_doctor", "admin", "staff", "super")
    }
    failures = []
    for who, url, expected in access_rows(world):
        response = client.get(url, headers=headers[who])
        if response.status_code != expected:
            failures.append((who, url, expected, response.status_code))
        elif expected != 200:
            validate(response.json)  # an OperationOutcome
    assert not failures


def test_pending_hospitals_are_not_in_a_patients_directory(client, world, make):  # type: ignore[no-untyped-def]
    pending = make.hospital(status=HospitalStatus.pending)
    assert get(client, f"/fhir/Organization/{pending.id}", world["patient"]).status_code == 404


def test_the_api_is_read_only(client, world):  # type: ignore[no-untyped-def]
    headers = bearer(world["patient"])
    for method in ("post", "put", "delete"):
        response = getattr(client, method)("/fhir/Patient", headers=headers, json={}, csrf=False)
        assert response.status_code == 405
        validate(response.json)


def test_reading_clinical_records_is_audited_and_a_denied_read_too(client, world):  # type: ignore[no-untyped-def]
    get(client, f"/fhir/Encounter/{world['encounter'].id}", world["doctor"])
    get(client, f"/fhir/Encounter/{world['encounter'].id}", world["other_doctor"])
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.record_type == "encounter").order_by(AuditEvent.id)
    ).all()
    assert [(e.user_id, e.outcome) for e in events] == [
        (world["doctor"].id, "success"),
        (world["other_doctor"].id, "denied"),
    ]
    assert all(e.patient_id == world["patient"].patient.id for e in events)


def test_the_api_is_rate_limited_with_an_operation_outcome(client, world):  # type: ignore[no-untyped-def]
    statuses = [client.get("/fhir/metadata").status_code for _ in range(121)]
    assert statuses[:120] == [200] * 120 and statuses[120] == 429
    response = client.get("/fhir/metadata")
    assert response.mimetype == "application/fhir+json"
    validate(response.json)


def test_vital_signs_are_loinc_observations_of_the_encounter(client, world):  # type: ignore[no-untyped-def]
    headers = bearer(world["patient"])
    encounter = world["encounter"]
    bp = client.get(f"/fhir/Observation/bp-{encounter.id}", headers=headers).json
    assert bp["code"]["coding"][0]["code"] == "85354-9"
    assert bp["category"][0]["coding"][0]["code"] == "vital-signs"
    assert [(c["code"]["coding"][0]["code"], c["valueQuantity"]["value"]) for c in bp["component"]] == [
        ("8480-6", 128),
        ("8462-4", 84),
    ]
    assert bp["component"][0]["valueQuantity"]["code"] == "mm[Hg]"
    assert bp["subject"]["reference"] == f"Patient/{world['patient'].patient.id}"
    assert bp["encounter"]["reference"] == f"Encounter/{encounter.id}"
    assert bp["effectiveDateTime"].startswith(world["visit"].start_at.strftime("%Y-%m-%dT%H:%M"))
    temperature = client.get(f"/fhir/Observation/temperature-{encounter.id}", headers=headers).json
    assert temperature["valueQuantity"] == {
        "value": 38.4,
        "unit": "Cel",
        "system": "http://unitsofmeasure.org",
        "code": "Cel",
    }

    def ids(query: str) -> list[str]:
        response = client.get(f"/fhir/Observation?{query}", headers=headers)
        assert response.status_code == 200, response.json
        validate(response.json)
        return [e["resource"]["id"] for e in response.json.get("entry", [])]

    every = [f"bp-{encounter.id}", f"heart-rate-{encounter.id}", f"temperature-{encounter.id}"]
    assert ids("") == every  # weight and height were not measured
    assert ids(f"patient={world['patient'].patient.id}&category=vital-signs") == every
    assert ids("code=http://loinc.org|8867-4") == [f"heart-rate-{encounter.id}"]
    assert ids("code=8480-6,8310-5") == [f"bp-{encounter.id}", f"temperature-{encounter.id}"]
    assert ids(f"encounter={world['other_encounter'].id}") == []  # not his
    day = world["visit"].start_at.date()
    assert ids(f"date={day.isoformat()}") == every
    assert ids(f"date=gt{day.isoformat()}") == []
    assert ids("_count=2&_offset=2") == [f"temperature-{encounter.id}"]
    assert ids("code=1234-5") == []  # any LOINC code: laboratory results too (tests/test_fhir_lab.py)
    for bad in ("code=pulse", "category=imaging", "date=yesterday"):
        response = client.get(f"/fhir/Observation?{bad}", headers=headers)
        assert response.status_code == 400, bad
        validate(response.json)
