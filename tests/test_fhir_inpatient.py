"""Inpatient care through the FHIR API (hms/api/fhir/inpatient.py): admissions as Encounters of class IMP
(ids adm-<n>, beside the visits' numeric ids) with their bed history as locations, wards and beds as
Locations; both validate against fhir.resources' models. Searches by patient, class, status, type and
partof; the inpatient service's access rules (its predicates and the API's SQL agree), 404 for
strangers, every admission read audited, and a fixed number of statements per search page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hms import clock
from hms.api.fhir.common import Forbidden
from hms.api.fhir.inpatient import admissions_clause, bed_board_clause
from hms.extensions import db
from hms.models import Admission, AuditEvent, Bed, StaffKind, User
from hms.services import inpatient
from tests.statements import recorded
from tests.test_fhir_api import bearer, validate

NOW = datetime(2030, 3, 4, 7, 0, tzinfo=UTC)  # 10:00 in Nairobi
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


@pytest.fixture
def w(make, app, monkeypatch):  # type: ignore[no-untyped-def]
    """At Riverside (General B1-B3, ICU B1-B2): Amina admitted from her visit two days ago into
    General B1, moved to ICU B1 yesterday, discharged today; Baraka admitted by the desk into General B2
    and still there; Chiku waiting for a bed. At Hillside: a nurse, a doctor, a patient."""
    monkeypatch.setitem(app.config, "FHIR_RATE_LIMIT", "10000 per minute")
    clock.set_frozen(NOW - timedelta(days=2))
    hospital = make.hospital(name="Riverside General")
    doctor = make.doctor_at(hospital, name="Grace Okafor")
    visit = make.appointment(doctor_user=doctor, hospital_row=hospital, start_at=clock.now())
    encounter = make.encounter(visit)
    amina = visit.patient
    general = make.ward(hospital, "General", beds=3)
    icu = make.ward(hospital, "ICU", beds=2)
    nurse = make.staff(hospital, StaffKind.nurse)
    desk = make.staff(hospital, StaffKind.receptionist)
    first = inpatient.admit_patient(
        hospital=hospital,
        patient=amina,
        ward_id=None,
        bed_id=general.beds[0].id,
        doctor_id=None,
        actor=doctor,
        reason="Pneumonia, needs IV antibiotics",
        encounter=encounter,
    )
    db.session.commit()
    clock.set_frozen(NOW - timedelta(days=1))
    inpatient.transfer_patient(first, icu.beds[0].id, nurse, "Needs oxygen")
    db.session.commit()
    baraka = make.patient(name="Baraka Otieno")
    second = inpatient.admit_patient(
        hospital=hospital,
        patient=baraka.patient,
        ward_id=None,
        bed_id=general.beds[1].id,
        doctor_id=doctor.doctor.id,
        actor=desk,
        reason="Observation after a fall",
    )
    db.session.commit()
    clock.set_frozen(NOW - timedelta(hours=2))
    inpatient.order_discharge(
        first, doctor, {"discharge_diagnoses": "J18.9 Pneumonia", "discharge_advice": "Rest"}
    )
    db.session.commit()
    clock.set_frozen(NOW)
    inpatient.discharge_patient(first, nurse)
    db.session.commit()
    chiku = make.patient(name="Chiku Mwangi")
    waiting = inpatient.admit_patient(
        hospital=hospital,
        patient=chiku.patient,
        ward_id=general.id,
        bed_id=None,
        doctor_id=None,
        actor=doctor,
        reason="Planned surgery",
    )
    db.session.commit()
    elsewhere = make.hospital(name="Hillside")
    return {
        "hospital": hospital,
        "doctor": doctor,
        "amina": amina.user,
        "baraka": baraka,
        "nurse": nurse,
        "desk": desk,
        "admin": make.hospital_admin(hospital),
        "general": general,
        "icu": icu,
        "first": first,
        "second": second,
        "waiting": waiting,
        "visit_encounter": encounter,
        "stranger_doctor": make.doctor_at(elsewhere),
        "stranger_nurse": make.staff(elsewhere, StaffKind.nurse),
        "stranger_patient": make.patient(),
        "technician": make.staff(hospital, StaffKind.lab_technician),
    }


def get(client, path: str, user):  # type: ignore[no-untyped-def]
    return client.get(path, headers=bearer(user))


def test_an_admission_is_an_inpatient_encounter_with_its_bed_history(client, w):  # type: ignore[no-untyped-def]
    first, general, icu = w["first"], w["general"], w["icu"]
    response = get(client, f"/fhir/Encounter/adm-{first.id}", w["doctor"])
    assert response.status_code == 200, response.json
    body = response.json
    validate(body)
    assert body["id"] == f"adm-{first.id}"
    assert body["class"] == {"system": ACT_CODE, "code": "IMP", "display": "inpatient encounter"}
    assert body["status"] == "finished"
    assert body["subject"]["reference"] == f"Patient/{first.patient_id}"
    doctor_id = w["doctor"].doctor.id
    assert [
        (p["type"][0]["coding"][0]["code"], p["individual"]["reference"]) for p in body["participant"]
    ] == [
        ("ADM", f"Practitioner/{doctor_id}"),
        ("ATND", f"Practitioner/{doctor_id}"),
    ]
    assert body["period"] == {"start": "2030-03-02T07:00:00Z", "end": "2030-03-04T07:00:00Z"}
    assert body["reasonCode"] == [{"text": "Pneumonia, needs IV antibiotics"}]
    assert body["hospitalization"]["dischargeDisposition"]["text"] == "Discharged. Advice: Rest"
    assert body["serviceProvider"]["reference"] == f"Organization/{w['hospital'].id}"
    assert body["partOf"]["reference"] == f"Encounter/{w['visit_encounter'].id}"
    assert [
        (entry["location"]["reference"], entry["location"]["display"], entry["status"], entry["period"])
        for entry in body["location"]
    ] == [
        (
            f"Location/bed-{general.beds[0].id}",
            "General, B1",
            "completed",
            {"start": "2030-03-02T07:00:00Z", "end": "2030-03-03T07:00:00Z"},
        ),
        (
            f"Location/bed-{icu.beds[0].id}",
            "ICU, B1",
            "completed",
            {"start": "2030-03-03T07:00:00Z", "end": "2030-03-04T07:00:00Z"},
        ),
    ]
    current = get(client, f"/fhir/Encounter/adm-{w['second'].id}", w["nurse"]).json
    validate(current)
    assert current["status"] == "in-progress" and "end" not in current["period"]
    assert "hospitalization" not in current
    assert [e["status"] for e in current["location"]] == ["active"]
    planned = get(client, f"/fhir/Encounter/adm-{w['waiting'].id}", w["doctor"]).json
    validate(planned)
    assert planned["status"] == "planned" and "location" not in planned and "period" not in planned


def test_the_visits_encounters_keep_their_ids_and_class(client, w):  # type: ignore[no-untyped-def]
    visit = get(client, f"/fhir/Encounter/{w['visit_encounter'].id}", w["doctor"]).json
    assert visit["class"]["code"] == "AMB" and visit["id"] == str(w["visit_encounter"].id)
    both = get(client, f"/fhir/Encounter?patient=Patient/{w['first'].patient_id}", w["doctor"]).json
    validate(both)
    assert [e["resource"]["id"] for e in both["entry"]] == [
        str(w["visit_encounter"].id),
        f"adm-{w['first'].id}",
    ]
    visits = get(client, f"/fhir/Encounter?patient={w['first'].patient_id}&class=AMB", w["doctor"]).json
    assert [e["resource"]["id"] for e in visits["entry"]] == [str(w["visit_encounter"].id)]


def test_admissions_are_searched_by_patient_class_and_status(client, w):  # type: ignore[no-untyped-def]
    doctor = w["doctor"]

    def ids(query: str) -> list[str]:
        response = get(client, f"/fhir/Encounter?{query}", doctor)
        assert response.status_code == 200, response.json
        validate(response.json)
        return [e["resource"]["id"] for e in response.json.get("entry", [])]

    first, second, waiting = (f"adm-{w[k].id}" for k in ("first", "second", "waiting"))
    assert ids("class=IMP") == [first, second, waiting]
    assert ids(f"class={ACT_CODE}|IMP&status=in-progress") == [second]
    assert ids("class=IMP&status=planned,finished") == [first, waiting]
    assert ids(f"patient=Patient/{w['baraka'].patient.id}&class=IMP") == [second]
    assert ids(f"_id={first}") == [first]
    assert ids(f"location=Location/bed-{w['icu'].beds[0].id}") == [first]
    assert ids(f"class=IMP&practitioner=Practitioner/{doctor.doctor.id}&date=2030-03-03") == [second]
    paged = get(client, "/fhir/Encounter?class=IMP&_count=2&_offset=2", doctor).json
    assert paged["total"] == 3 and [e["resource"]["id"] for e in paged["entry"]] == [waiting]
    assert get(client, "/fhir/Encounter?class=EMER", doctor).status_code == 400


def test_who_sees_an_admission_follows_the_inpatient_service(client, w):  # type: ignore[no-untyped-def]
    first, second = w["first"], w["second"]
    path = f"/fhir/Encounter/adm-{first.id}"
    assert get(client, path, w["amina"]).status_code == 200  # his own
    assert get(client, path, w["nurse"]).status_code == 404  # closed: no longer the ward's
    assert get(client, f"/fhir/Encounter/adm-{second.id}", w["nurse"]).status_code == 200
    for stranger in ("stranger_doctor", "stranger_nurse", "stranger_patient"):
        assert get(client, path, w[stranger]).status_code == 404, stranger
        listed = get(client, "/fhir/Encounter?class=IMP", w[stranger]).json
        assert listed["total"] == 0, stranger
    for outsider in ("admin", "desk", "technician"):
        assert get(client, path, w[outsider]).status_code == 403, outsider
    assert get(client, "/fhir/Encounter/adm-99999999", w["doctor"]).status_code == 404
    assert get(client, "/fhir/Encounter/adm-x", w["doctor"]).status_code == 404
    assert get(client, f"/fhir/Encounter/{w['visit_encounter'].id}", w["nurse"]).status_code == 404
    nurse_sees = get(client, "/fhir/Encounter", w["nurse"]).json
    assert [e["resource"]["id"] for e in nurse_sees["entry"]] == [
        f"adm-{second.id}",
        f"adm-{w['waiting'].id}",
    ]


def test_the_api_and_the_service_agree_on_who_sees_what(w):  # type: ignore[no-untyped-def]
    admissions = list(db.session.scalars(select(Admission)))
    beds_hospitals = {w["hospital"].id}
    for name, user in w.items():
        if not isinstance(user, User):
            continue
        try:
            clause = admissions_clause(user)
        except Forbidden:
            seen: set[int] = set()
        else:
            seen = set(db.session.scalars(select(Admission.id).where(clause)))
        assert seen == {a.id for a in admissions if inpatient.can_see_admission(user, a)}, name
        try:
            board = bed_board_clause(user, Bed.hospital_id)
        except Forbidden:
            visible: set[int] = set()
        else:
            visible = set(db.session.scalars(select(Bed.hospital_id).where(board)))
        assert visible == {h for h in beds_hospitals if inpatient.can_see_bed_board(user, h)}, name


def test_reads_are_audited_and_a_strangers_attempt_is_logged_as_denied(client, w):  # type: ignore[no-untyped-def]
    first = w["first"]
    get(client, f"/fhir/Encounter/adm-{first.id}", w["doctor"])
    get(client, f"/fhir/Encounter/adm-{first.id}", w["stranger_doctor"])
    get(client, "/fhir/Encounter?class=IMP", w["doctor"])
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.record_type == "admission", AuditEvent.detail == "FHIR")
    ).all()
    seen = [(e.user_id, e.record_id, e.outcome) for e in events]
    assert (w["doctor"].id, first.id, "success") in seen
    assert (w["stranger_doctor"].id, first.id, "denied") in seen
    listed = {e.record_id for e in events if e.user_id == w["doctor"].id}
    assert listed == {first.id, w["second"].id, w["waiting"].id}


def test_wards_and_beds_are_locations_for_the_hospitals_people(client, w):  # type: ignore[no-untyped-def]
    general, icu = w["general"], w["icu"]
    ward = get(client, f"/fhir/Location/ward-{general.id}", w["admin"]).json
    validate(ward)
    assert ward["physicalType"]["coding"][0]["code"] == "wa" and ward["name"] == "General"
    bed = get(client, f"/fhir/Location/bed-{general.beds[1].id}", w["nurse"]).json
    validate(bed)
    assert bed["physicalType"]["coding"][0]["code"] == "bd"
    assert bed["partOf"]["reference"] == f"Location/ward-{general.id}"
    assert bed["operationalStatus"] == {
        "system": "http://terminology.hl7.org/CodeSystem/v2-0116",
        "code": "O",
        "display": "Occupied",
    }
    cleaning = get(client, f"/fhir/Location/bed-{icu.beds[0].id}", w["doctor"]).json
    assert cleaning["operationalStatus"]["code"] == "H"

    def ids(query: str, user="desk") -> list[str]:  # type: ignore[no-untyped-def]
        response = get(client, f"/fhir/Location?{query}", w[user])
        assert response.status_code == 200, response.json
        validate(response.json)
        return [e["resource"]["id"] for e in response.json.get("entry", [])]

    assert ids("type=wa") == [f"ward-{general.id}", f"ward-{icu.id}"]
    assert ids(f"partof=Location/ward-{icu.id}") == [f"bed-{b.id}" for b in icu.beds]
    assert ids(f"type=bd&partof=ward-{general.id}&operational-status=U") == [f"bed-{general.beds[2].id}"]
    assert len(ids("")) == 7
    for stranger in ("stranger_doctor", "stranger_nurse"):
        assert get(client, f"/fhir/Location/bed-{general.beds[0].id}", w[stranger]).status_code == 404
        assert ids("", stranger) == []
    for outsider in ("amina", "technician"):
        assert get(client, "/fhir/Location", w[outsider]).status_code == 403
    assert get(client, "/fhir/Location?type=room", w["desk"]).status_code == 400


def test_a_search_page_sends_the_same_few_statements_whatever_its_size(client, w, make):  # type: ignore[no-untyped-def]
    hospital, doctor = w["hospital"], w["doctor"]
    ward = make.ward(hospital, "Surgical", beds=8)
    for bed in ward.beds:
        make.admitted(hospital, make.patient(), bed, doctor, "Surgery")
    for who, query in (
        ("doctor", "Encounter"),
        ("doctor", "Encounter?class=IMP&status=in-progress"),
        ("amina", "Encounter"),
        ("nurse", "Encounter"),
        ("nurse", "Location"),
        ("admin", "Location?type=bd"),
        ("doctor", "Location"),
    ):
        headers = bearer(w[who])
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


def test_vitals_taken_on_the_ward_are_observations_of_the_admission(client, w):  # type: ignore[no-untyped-def]
    vitals = inpatient.record_round_vitals(w["second"], w["nurse"], {"pulse": "104"})
    db.session.commit()
    response = get(client, f"/fhir/Observation/heart-rate-t{vitals.id}", w["doctor"])
    assert response.status_code == 200
    body = response.get_json()
    validate(body)
    assert body["encounter"]["reference"] == f"Encounter/adm-{w['second'].id}"
    assert body["valueQuantity"]["value"] == 104
    assert body["performer"] == [{"display": w["nurse"].full_name}]
    found = get(client, f"/fhir/Observation?patient={w['baraka'].patient.id}", w["doctor"]).get_json()
    assert [e["resource"]["id"] for e in found.get("entry", [])] == [f"heart-rate-t{vitals.id}"]
