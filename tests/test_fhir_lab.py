"""The laboratory through the FHIR API: ServiceRequest, Specimen, laboratory Observations and
DiagnosticReport validate against fhir.resources' R4(B) models and carry the orders' data in FHIR terms;
searches and paging; the laboratory's access rule (the ordering doctor, doctors with a care
relationship, the hospital's lab technicians, the patient with verified results only; others 404 or
absent); every read audited; a fixed number of statements per search page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import AppointmentStatus, AuditEvent, LabPriority
from hms.services import lab
from tests.statements import recorded
from tests.test_fhir_api import bearer, validate

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


@pytest.fixture
def w(make, app, monkeypatch):  # type: ignore[no-untyped-def]
    """At Riverside: an order of a kidney panel (potassium, creatinine) and a malaria test, verified,
    its potassium amended since; a second order resulted but not verified; a stat order waiting for
    its specimen; a cancelled one. At Hillside: another doctor's patient with a verified order."""
    monkeypatch.setitem(app.config, "FHIR_RATE_LIMIT", "10000 per minute")
    clock.set_frozen(NOW)
    hospital = make.hospital(name="Riverside General")
    doctor = make.doctor_at(hospital, name="Grace Okafor")
    patient = make.patient(name="Amina Hassan")
    visit = make.appointment(
        patient, doctor, hospital, start_at=NOW - timedelta(hours=2), status=AppointmentStatus.fulfilled
    )
    encounter = make.encounter(visit)
    technician = make.lab_technician(hospital)
    verifier = make.lab_technician(hospital, email="verifier@example.org", senior=True)
    potassium = make.lab_test(hospital, "K", name="Potassium")
    creatinine = make.lab_test(
        hospital,
        "CREA",
        name="Creatinine",
        loinc="2160-0",
        unit="mg/dL",
        ranges=[(None, 0, None, "0.6", "1.2")],
        critical_low=None,
        critical_high=None,
        physical_low=None,
        physical_high=None,
    )
    malaria = make.lab_choice_test(hospital, "MAL")
    local = make.lab_test(
        hospital,
        "ESR",
        name="Erythrocyte sedimentation rate",
        loinc=None,
        unit="mm/h",
        ranges=[],
        critical_low=None,
        critical_high=None,
    )
    panel = make.lab_panel(hospital, [potassium, creatinine], "KFT", loinc="24362-6")

    verified = make.collected_lab_order(
        encounter, tests=[malaria], panels=[panel], collector=technician, clinical_note="Fever, weak"
    )
    by_test = {item.test.code: item for item in verified.items}
    for code, value in (("K", "5.8"), ("CREA", "0.9"), ("MAL", "positive")):
        lab.enter_result(by_test[code], technician, value)
        lab.verify_result(by_test[code], verifier)
    db.session.commit()
    replaced = by_test["K"].result
    amended = lab.amend_result(by_test["K"], verifier, "7.0", "Haemolysed sample re-run")
    db.session.commit()

    pending = make.collected_lab_order(encounter, tests=[potassium, local], collector=technician)
    for item, value in zip(pending.items, ("2.1", "12"), strict=True):
        lab.enter_result(item, technician, value)
    db.session.commit()
    waiting = make.lab_order(encounter, tests=[creatinine], priority=LabPriority.stat)
    cancelled = make.lab_order(encounter, tests=[creatinine])
    lab.cancel_order(cancelled, doctor, "Ordered twice")
    db.session.commit()

    elsewhere = make.hospital(name="Hillside Clinic")
    other_doctor = make.doctor_at(elsewhere, name="Ravi Mehta")
    other_patient = make.patient(name="John Doe")
    other_encounter = make.encounter(
        make.appointment(
            other_patient,
            other_doctor,
            elsewhere,
            start_at=NOW - timedelta(hours=3),
            status=AppointmentStatus.fulfilled,
        )
    )
    other_technician = make.lab_technician(elsewhere)
    other_order = make.collected_lab_order(
        other_encounter, tests=[make.lab_test(elsewhere, "K")], collector=other_technician
    )
    lab.enter_result(other_order.items[0], other_technician, "4.0")
    lab.verify_result(
        other_order.items[0], make.lab_technician(elsewhere, email="v2@example.org", senior=True)
    )
    db.session.commit()
    return {
        "hospital": hospital,
        "doctor": doctor,
        "patient": patient,
        "encounter": encounter,
        "technician": technician,
        "verifier": verifier,
        "verified": verified,
        "by_test": by_test,
        "replaced": replaced,
        "amended": amended,
        "pending": pending,
        "waiting": waiting,
        "cancelled": cancelled,
        "other_doctor": other_doctor,
        "other_patient": other_patient,
        "other_technician": other_technician,
        "other_order": other_order,
        "nurse": make.staff(hospital),
        "admin": make.hospital_admin(hospital),
        "super": make.super_admin(),
    }


def _get(client, url: str, headers: dict) -> dict:  # type: ignore[type-arg]
    response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.json)
    assert response.mimetype == "application/fhir+json"
    validate(response.json)
    return response.json


def _ids(client, query: str, headers: dict) -> list[str]:  # type: ignore[type-arg]
    bundle = _get(client, f"/fhir/{query}", headers)
    for entry in bundle.get("entry", []):
        validate(entry["resource"])
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


# ---------------------------------------------------------------- every resource validates


def test_every_lab_resource_reads_and_searches_as_valid_fhir(client, w):  # type: ignore[no-untyped-def]
    headers = bearer(w["doctor"])
    order = w["verified"]
    specimen = order.specimens[0]
    for url in (
        f"/fhir/ServiceRequest/{order.id}",
        f"/fhir/ServiceRequest/{w['waiting'].id}",
        f"/fhir/ServiceRequest/{w['cancelled'].id}",
        f"/fhir/Specimen/{specimen.id}",
        f"/fhir/Observation/lab-{w['amended'].id}",
        f"/fhir/Observation/lab-{w['replaced'].id}",
        f"/fhir/Observation/lab-{w['by_test']['MAL'].result.id}",
        f"/fhir/Observation/lab-{w['pending'].items[1].result.id}",
        f"/fhir/DiagnosticReport/{order.id}",
        f"/fhir/DiagnosticReport/{w['pending'].id}",
    ):
        body = _get(client, url, headers)
        assert url.endswith(f"/{body['resourceType']}/{body['id']}")
    for query in ("ServiceRequest", "Specimen", "Observation?category=laboratory", "DiagnosticReport"):
        bundle = _get(client, f"/fhir/{query}", headers)
        assert bundle["total"] >= 1, query
        for entry in bundle["entry"]:
            validate(entry["resource"])


def test_the_capability_statement_lists_the_lab_resources(client):  # type: ignore[no-untyped-def]
    statement = client.get("/fhir/metadata").json
    validate(statement)
    served = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert {"ServiceRequest", "Specimen", "DiagnosticReport", "Observation"} <= set(served)
    params = {p["name"]: p["type"] for p in served["ServiceRequest"]["searchParam"]}
    assert params["patient"] == "reference" and params["status"] == "token" and params["_count"] == "number"
    assert {p["name"] for p in served["Observation"]["searchParam"]} >= {"code", "category", "date", "status"}
    assert "laboratory" in served["Observation"]["documentation"]


# ---------------------------------------------------------------- mappings


def test_an_order_is_a_service_request(client, w):  # type: ignore[no-untyped-def]
    headers = bearer(w["doctor"])
    order = w["verified"]
    body = _get(client, f"/fhir/ServiceRequest/{order.id}", headers)
    assert body["status"] == "completed" and body["intent"] == "order" and body["priority"] == "routine"
    assert body["identifier"][0]["value"] == order.number
    codings = [(c["system"], c["code"]) for c in body["code"]["coding"]]
    assert ("http://loinc.org", "24362-6") in codings  # the panel's LOINC
    assert ("http://loinc.org", "70569-9") in codings  # the malaria test's
    assert (f"urn:hms:hospital:{w['hospital'].id}:lab-code", "KFT") in codings
    assert body["code"]["text"] == "Kidney function, Malaria rapid test"
    assert body["subject"]["reference"] == f"Patient/{w['patient'].patient.id}"
    assert body["encounter"]["reference"] == f"Encounter/{w['encounter'].id}"
    assert body["requester"] == {
        "reference": f"Practitioner/{w['doctor'].doctor.id}",
        "display": "Dr Grace Okafor",
    }
    assert body["authoredOn"] == "2030-01-07T08:00:00Z"
    assert body["note"] == [{"text": "Fever, weak"}]
    waiting = _get(client, f"/fhir/ServiceRequest/{w['waiting'].id}", headers)
    assert waiting["status"] == "active" and waiting["priority"] == "stat" and "note" not in waiting
    pending = _get(client, f"/fhir/ServiceRequest/{w['pending'].id}", headers)
    assert pending["status"] == "active"
    local = next(c for c in pending["code"]["coding"] if c["code"] == "ESR")  # no LOINC: our code only
    assert local["system"].startswith("urn:hms:hospital:")
    assert _get(client, f"/fhir/ServiceRequest/{w['cancelled'].id}", headers)["status"] == "revoked"


def test_a_specimen_carries_its_type_label_collector_and_request(client, w):  # type: ignore[no-untyped-def]
    headers = bearer(w["technician"])
    order = w["verified"]
    kinds = {s.kind.value: s for s in order.specimens}
    serum = _get(client, f"/fhir/Specimen/{kinds['serum'].id}", headers)
    assert serum["type"]["coding"][0] == {
        "system": "http://snomed.info/sct",
        "code": "119364003",
        "display": "Serum specimen",
    }
    assert {"system": "http://terminology.hl7.org/CodeSystem/v2-0487", "code": "SER"} in serum["type"][
        "coding"
    ]
    assert serum["type"]["text"] == "Serum specimen"
    assert serum["accessionIdentifier"]["value"] == kinds["serum"].label
    assert serum["request"] == [{"reference": f"ServiceRequest/{order.id}"}]
    assert serum["collection"]["collector"] == {"display": w["technician"].full_name}
    assert serum["collection"]["collectedDateTime"] == "2030-01-07T08:00:00Z"
    blood = _get(client, f"/fhir/Specimen/{kinds['blood'].id}", headers)
    assert blood["type"]["coding"][0]["code"] == "119297000"
    assert _ids(client, f"Specimen?request=ServiceRequest/{order.id}", headers) == [
        str(s.id) for s in order.specimens
    ]


def test_results_are_laboratory_observations(client, w):  # type: ignore[no-untyped-def]
    headers = bearer(w["doctor"])
    order, by_test = w["verified"], w["by_test"]
    creatinine = _get(client, f"/fhir/Observation/lab-{by_test['CREA'].result.id}", headers)
    assert creatinine["status"] == "final"
    assert creatinine["category"][0]["coding"][0]["code"] == "laboratory"
    assert creatinine["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "2160-0",
        "display": "Creatinine",
    }
    assert creatinine["code"]["text"] == "Creatinine"
    assert creatinine["valueQuantity"] == {
        "value": 0.9,
        "unit": "mg/dL",
        "system": "http://unitsofmeasure.org",
        "code": "mg/dL",
    }
    assert creatinine["referenceRange"][0]["low"]["value"] == 0.6
    assert creatinine["referenceRange"][0]["high"]["value"] == 1.2
    assert creatinine["interpretation"][0]["coding"][0] == {
        "system": INTERPRETATION,
        "code": "N",
        "display": "Normal",
    }
    assert creatinine["performer"][0] == {"display": w["verifier"].full_name}
    assert creatinine["basedOn"] == [{"reference": f"ServiceRequest/{order.id}"}]
    assert creatinine["specimen"]["reference"] == f"Specimen/{by_test['CREA'].specimen_id}"
    assert creatinine["subject"]["reference"] == f"Patient/{w['patient'].patient.id}"
    assert creatinine["issued"] == "2030-01-07T08:00:00Z"
    malaria = _get(client, f"/fhir/Observation/lab-{by_test['MAL'].result.id}", headers)
    assert malaria["valueCodeableConcept"] == {"text": "positive"} and "interpretation" not in malaria

    amended = _get(client, f"/fhir/Observation/lab-{w['amended'].id}", headers)
    assert amended["status"] == "amended" and amended["valueQuantity"]["value"] == 7.0
    assert amended["interpretation"][0]["coding"][0]["code"] == "HH"
    assert amended["extension"][0]["valueReference"] == {"reference": f"Observation/lab-{w['replaced'].id}"}
    assert "Haemolysed sample re-run" in amended["note"][0]["text"]
    replaced = _get(client, f"/fhir/Observation/lab-{w['replaced'].id}", headers)
    assert replaced["valueQuantity"]["value"] == 5.8
    assert replaced["interpretation"][0]["coding"][0]["code"] == "H"
    low = w["pending"].items[0].result
    preliminary = _get(client, f"/fhir/Observation/lab-{low.id}", headers)
    assert preliminary["status"] == "preliminary"
    assert preliminary["interpretation"][0]["coding"][0]["code"] == "LL"
    esr = _get(client, f"/fhir/Observation/lab-{w['pending'].items[1].result.id}", headers)
    assert esr["valueQuantity"]["unit"] == "mm/h" and esr["code"]["coding"][0]["code"] == "ESR"
    assert "interpretation" not in esr  # a number with no reference range is not called normal


def test_an_order_has_a_diagnostic_report(client, w):  # type: ignore[no-untyped-def]
    headers = bearer(w["doctor"])
    order, by_test = w["verified"], w["by_test"]
    report = _get(client, f"/fhir/DiagnosticReport/{order.id}", headers)
    assert report["status"] == "amended"
    assert report["category"][0]["coding"][0]["code"] == "LAB"
    assert report["code"]["text"] == "Kidney function, Malaria rapid test"
    assert [r["reference"] for r in report["result"]] == [
        f"Observation/lab-{by_test[code].result.id}" for code in ("K", "CREA", "MAL")
    ]
    assert report["result"][0]["reference"] == f"Observation/lab-{w['amended'].id}"  # the current value
    assert {s["reference"] for s in report["specimen"]} == {f"Specimen/{s.id}" for s in order.specimens}
    assert report["basedOn"] == [{"reference": f"ServiceRequest/{order.id}"}]
    assert report["resultsInterpreter"] == [{"display": w["verifier"].full_name}]
    assert report["issued"] == "2030-01-07T08:00:00Z"
    pending = _get(client, f"/fhir/DiagnosticReport/{w['pending'].id}", headers)
    assert pending["status"] == "partial" and "resultsInterpreter" not in pending
    waiting = _get(client, f"/fhir/DiagnosticReport/{w['waiting'].id}", headers)
    assert waiting["status"] == "registered" and "result" not in waiting


# ---------------------------------------------------------------- searches


def test_service_requests_search_by_patient_encounter_and_status(client, w):  # type: ignore[no-untyped-def]
    headers = bearer(w["doctor"])
    patient = w["patient"].patient.id
    every = [str(o.id) for o in (w["verified"], w["pending"], w["waiting"], w["cancelled"])]
    assert _ids(client, f"ServiceRequest?patient=Patient/{patient}", headers) == every
    assert _ids(client, f"ServiceRequest?encounter={w['encounter'].id}", headers) == every
    assert _ids(client, "ServiceRequest?status=active", headers) == every[1:3]
    assert _ids(client, "ServiceRequest?status=completed,revoked", headers) == [every[0], every[3]]
    assert _ids(client, f"ServiceRequest?patient={w['other_patient'].patient.id}", headers) == []
    first = _get(client, "/fhir/ServiceRequest?_count=2", headers)
    assert first["total"] == 4 and len(first["entry"]) == 2
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert "_offset=2" in links["next"]
    assert _ids(client, links["next"].split("/fhir/", 1)[1], headers) == every[2:]


def test_observations_search_by_code_category_date_and_status(client, w, make):  # type: ignore[no-untyped-def]
    make.encounter(
        make.appointment(w["patient"], w["doctor"], w["hospital"], start_at=NOW - timedelta(days=3)),
        pulse=80,
    )
    headers = bearer(w["doctor"])
    by_test, pending = w["by_test"], w["pending"]
    k, crea, mal = (f"lab-{by_test[c].result.id}" for c in ("K", "CREA", "MAL"))
    unverified = [f"lab-{item.result.id}" for item in pending.items]
    lab_ids = _ids(client, "Observation?category=laboratory", headers)
    assert lab_ids == [crea, mal, k, *unverified]  # in the order written; the replaced value only by id
    everything = _ids(client, f"Observation?patient={w['patient'].patient.id}", headers)
    assert everything[-5:] == lab_ids and everything[0].startswith("heart-rate-")  # vitals first
    assert _ids(client, "Observation?category=vital-signs", headers) == everything[:1]
    assert _ids(client, "Observation?code=http://loinc.org|2823-3", headers) == [k, unverified[0]]
    assert _ids(client, "Observation?code=2160-0,70569-9", headers) == [crea, mal]
    assert _ids(client, "Observation?code=8867-4&category=laboratory", headers) == []
    assert _ids(client, "Observation?category=laboratory&status=preliminary", headers) == unverified
    assert _ids(client, "Observation?status=amended", headers) == [k]
    assert _ids(client, "Observation?category=laboratory&date=2030-01-07", headers) == lab_ids
    assert _ids(client, "Observation?category=laboratory&date=lt2030-01-07", headers) == []
    assert _ids(client, "Observation?category=laboratory&_count=2&_offset=4", headers) == unverified[1:]
    paged = _get(client, "/fhir/Observation?category=laboratory&_count=2&_offset=40", headers)
    assert paged["total"] == 5 and not paged.get("entry")
    for bad in ("code=potassium", "category=imaging", "status=lost", "date=yesterday"):
        response = client.get(f"/fhir/Observation?{bad}", headers=headers)
        assert response.status_code == 400, bad
        validate(response.json)


def test_reports_and_specimens_search_by_patient_status_and_category(client, w):  # type: ignore[no-untyped-def]
    headers = bearer(w["doctor"])
    patient = w["patient"].patient.id
    orders = [str(o.id) for o in (w["verified"], w["pending"], w["waiting"], w["cancelled"])]
    assert _ids(client, f"DiagnosticReport?patient={patient}&category=LAB", headers) == orders
    assert _ids(client, "DiagnosticReport?status=amended", headers) == orders[:1]
    assert _ids(client, "DiagnosticReport?status=final", headers) == []
    assert _ids(client, "DiagnosticReport?status=partial,registered", headers) == orders[1:3]
    assert _ids(client, "DiagnosticReport?status=cancelled", headers) == orders[3:]
    assert client.get("/fhir/DiagnosticReport?category=RAD", headers=headers).status_code == 400
    specimens = _ids(client, f"Specimen?patient={patient}", headers)
    assert specimens == [str(s.id) for o in (w["verified"], w["pending"]) for s in o.specimens]


# ---------------------------------------------------------------- access


def test_the_patient_sees_only_verified_results(client, w):  # type: ignore[no-untyped-def]
    headers = bearer(w["patient"])
    by_test, pending = w["by_test"], w["pending"]
    released = [f"lab-{by_test[c].result.id}" for c in ("CREA", "MAL", "K")]
    assert _ids(client, "Observation?category=laboratory", headers) == released
    assert _ids(client, "Observation", headers) == released
    assert _ids(client, "DiagnosticReport", headers) == [str(w["verified"].id)]
    assert len(_ids(client, "ServiceRequest", headers)) == 4  # his orders, pending ones too
    _get(client, f"/fhir/Observation/lab-{w['replaced'].id}", headers)  # verified before its amendment
    for url in (
        f"/fhir/Observation/lab-{pending.items[0].result.id}",
        f"/fhir/DiagnosticReport/{pending.id}",
        f"/fhir/Observation/lab-{w['other_order'].items[0].result.id}",
        f"/fhir/ServiceRequest/{w['other_order'].id}",
        f"/fhir/Specimen/{w['other_order'].specimens[0].id}",
        f"/fhir/DiagnosticReport/{w['other_order'].id}",
    ):
        response = client.get(url, headers=headers)
        assert response.status_code == 404, url
        validate(response.json)


def test_access_follows_the_laboratorys_rule(client, w):  # type: ignore[no-untyped-def]
    mine, theirs = w["verified"], w["other_order"]
    theirs_result = theirs.items[0].result.id
    rows = [
        ("doctor", f"/fhir/ServiceRequest/{mine.id}", 200),
        ("doctor", f"/fhir/ServiceRequest/{theirs.id}", 404),
        ("doctor", f"/fhir/Observation/lab-{theirs_result}", 404),
        ("doctor", f"/fhir/DiagnosticReport/{theirs.id}", 404),
        ("doctor", f"/fhir/Specimen/{theirs.specimens[0].id}", 404),
        ("technician", f"/fhir/DiagnosticReport/{mine.id}", 200),
        ("technician", f"/fhir/Observation/lab-{w['amended'].id}", 200),
        ("technician", f"/fhir/ServiceRequest/{theirs.id}", 404),
        ("technician", f"/fhir/Observation/lab-{theirs_result}", 404),
        ("technician", f"/fhir/Encounter/{w['encounter'].id}", 403),  # the lab, not the clinical record
        ("other_technician", f"/fhir/ServiceRequest/{theirs.id}", 200),
        ("other_technician", f"/fhir/ServiceRequest/{mine.id}", 404),
        ("other_doctor", f"/fhir/DiagnosticReport/{mine.id}", 404),
        ("other_doctor", f"/fhir/DiagnosticReport/{theirs.id}", 200),
        ("nurse", f"/fhir/ServiceRequest/{mine.id}", 403),
        ("admin", f"/fhir/ServiceRequest/{mine.id}", 403),
        ("admin", "/fhir/Observation?category=laboratory", 403),
        ("super", "/fhir/DiagnosticReport", 403),
        ("super", f"/fhir/Specimen/{mine.specimens[0].id}", 403),
        ("doctor", "/fhir/ServiceRequest/99999999999", 404),
        ("doctor", "/fhir/Observation/lab-x", 404),
        ("doctor", "/fhir/Observation/lab-0", 404),
    ]
    headers = {who: bearer(w[who]) for who in {row[0] for row in rows}}
    failures = []
    for who, url, expected in rows:
        response = client.get(url, headers=headers[who])
        validate(response.json)
        if response.status_code != expected:
            failures.append((who, url, expected, response.status_code))
    assert not failures
    assert _ids(client, "ServiceRequest", headers["other_doctor"]) == [str(theirs.id)]
    assert _ids(client, "Observation", headers["other_technician"]) == [f"lab-{theirs_result}"]
    assert _ids(client, "Observation?category=vital-signs", headers["doctor"]) == []
    response = client.get("/fhir/Observation?category=vital-signs", headers=headers["technician"])
    assert response.status_code == 200 and response.json["total"] == 0


def test_every_read_and_search_is_audited_and_a_refused_read_too(client, w):  # type: ignore[no-untyped-def]
    order, other = w["verified"], w["other_order"]
    released = [w["by_test"][code].result.id for code in ("CREA", "MAL", "K")]
    _get(client, f"/fhir/ServiceRequest/{order.id}", bearer(w["doctor"]))
    client.get(f"/fhir/ServiceRequest/{order.id}", headers=bearer(w["other_doctor"]))
    _get(client, "/fhir/Observation?category=laboratory", bearer(w["patient"]))
    _get(client, f"/fhir/Specimen/{order.specimens[0].id}", bearer(w["technician"]))
    _get(client, f"/fhir/DiagnosticReport/{other.id}", bearer(w["other_technician"]))
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.detail == "FHIR").order_by(AuditEvent.id)
    ).all()
    seen = [(e.user_id, e.record_type, e.record_id, e.outcome) for e in events]
    assert seen == [
        (w["doctor"].id, "lab_order", order.id, "success"),
        (w["other_doctor"].id, "lab_order", order.id, "denied"),
        *[(w["patient"].id, "lab_result", result_id, "success") for result_id in released],
        (w["technician"].id, "lab_specimen", order.specimens[0].id, "success"),
        (w["other_technician"].id, "lab_order", other.id, "success"),
    ]
    assert {e.patient_id for e in events[:5]} == {w["patient"].patient.id}
    assert events[0].hospital_id == w["hospital"].id


# ---------------------------------------------------------------- statement budget


def test_lab_search_pages_take_a_fixed_number_of_statements(client, w, make):  # type: ignore[no-untyped-def]
    """≤ 6 statements for a page of 1 and a page of 50 alike, for each reader."""
    for n in range(6):
        order = make.collected_lab_order(w["encounter"], collector=w["technician"])
        lab.enter_result(order.items[0], w["technician"], f"4.{n}")
        lab.verify_result(order.items[0], w["verifier"])
        make.encounter(
            make.appointment(w["patient"], w["doctor"], w["hospital"], start_at=NOW - timedelta(days=n + 1)),
            pulse=70 + n,
            bp_systolic=120,
            bp_diastolic=80,
        )
    db.session.commit()
    for who in ("patient", "doctor", "technician"):
        headers = bearer(w[who])
        for query in (
            "ServiceRequest",
            "Specimen",
            "DiagnosticReport",
            "Observation",
            "Observation?category=laboratory",
        ):
            counts = {}
            for size in (1, 50):
                sep = "&" if "?" in query else "?"
                path = f"/fhir/{query}{sep}_count={size}"
                client.get(path, headers=headers)
                with recorded() as seen:
                    response = client.get(path, headers=headers)
                assert response.status_code == 200, (who, path, response.json)
                if size == 50:
                    assert len(response.json["entry"]) > 1, (who, path)
                counts[size] = len(seen)
                listing = "\n".join(" ".join(s.split())[:150] for s in seen)
                assert len(seen) <= 6, f"{who} {path}: {len(seen)} > 6\n{listing}"
            assert counts[1] == counts[50], f"{who} {query}: {counts}"
