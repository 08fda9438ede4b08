"""The visit record: opened from the appointment, vitals checked, ICD-10 diagnoses, optimistic locking."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hms import clock
from hms.extensions import db
from hms.models import AppointmentStatus, AuditEvent, Encounter
from hms.services import clinical
from hms.services.errors import Invalid

HX = {"HX-Request": "true"}


@pytest.fixture
def today(make):
    hospital = make.hospital()
    doctor = make.doctor_at(hospital)
    patient = make.patient(name="Amina Hassan")
    start = clock.now().replace(second=0, microsecond=0) + timedelta(minutes=10)
    appointment = make.appointment(patient, doctor, hospital, start_at=start, reason="Sore throat and fever")
    return {"doctor": doctor, "patient": patient, "appointment": appointment, "hospital": hospital}


def audit_rows(record_type: str | None = None) -> list[tuple[str, str, str]]:
    query = select(AuditEvent).order_by(AuditEvent.id)
    if record_type:
        query = query.where(AuditEvent.record_type == record_type)
    return [(e.action, e.record_type, e.outcome) for e in db.session.scalars(query)]


def test_doctor_opens_one_encounter_per_appointment(client, login_as, today):
    login_as(today["doctor"])
    appointment_id = today["appointment"].id
    start = client.get(f"/doctor/appointments/{appointment_id}/encounter")
    assert b"Start the visit record" in start.data
    first = client.post(f"/doctor/appointments/{appointment_id}/encounter")
    second = client.post(f"/doctor/appointments/{appointment_id}/encounter")  # a double click
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    encounter = db.session.scalar(select(Encounter))
    assert encounter.chief_complaint == "Sore throat and fever"
    assert db.session.scalar(select(Encounter.id).where(Encounter.id != encounter.id)) is None
    assert (
        client.get(f"/doctor/appointments/{appointment_id}/encounter")
        .headers["Location"]
        .endswith(f"/doctor/encounters/{encounter.id}")
    )
    assert audit_rows("encounter") == [("create", "encounter", "success")]


def test_an_encounter_cannot_be_opened_days_ahead_or_for_a_cancelled_visit(client, make, login_as, today):
    later = make.appointment(
        today["patient"], today["doctor"], today["hospital"], start_at=clock.now() + timedelta(days=2)
    )
    cancelled = make.appointment(
        today["patient"], today["doctor"], today["hospital"], status=AppointmentStatus.cancelled
    )
    login_as(today["doctor"])
    for appointment in (later, cancelled):
        response = client.post(f"/doctor/appointments/{appointment.id}/encounter")
        assert response.status_code == 303
        assert "/encounter" in response.headers["Location"]
    assert db.session.scalar(select(Encounter)) is None


def test_saving_vitals_and_notes_records_an_update(client, make, login_as, today):
    encounter = make.encounter(today["appointment"])
    login_as(today["doctor"])
    response = client.post(
        f"/doctor/encounters/{encounter.id}",
        data={
            "version": "1",
            "chief_complaint": "Sore throat",
            "bp_systolic": "128",
            "bp_diastolic": "82",
            "pulse": "88",
            "temperature_c": "38.4",
            "weight_kg": "70",
            "height_cm": "175",
            "notes": "Red tonsils, no exudate.",
        },
        headers=HX,
    )
    assert response.status_code == 200
    assert b"Visit record saved." in response.data
    assert b"<html" not in response.data
    db.session.refresh(encounter)
    assert (encounter.bp_systolic, encounter.bp_diastolic, encounter.pulse) == (128, 82, 88)
    assert encounter.temperature_c == Decimal("38.4")
    assert encounter.bmi == Decimal("22.9")
    assert encounter.version == 2
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "update")).one()
    assert event.record_type == "encounter" and event.patient_id == today["patient"].patient.id
    assert "notes" in event.detail and "Red tonsils" not in event.detail  # field names, never content


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("bp_systolic", "400", b"from 50 to 260"),
        ("pulse", "5", b"from 20 to 250"),
        ("temperature_c", "52", b"from 30.0 to 45.0"),
        ("temperature_c", "hot", b"Not a valid decimal"),
        ("weight_kg", "-3", b"from 0.3 to 400"),
        ("height_cm", "900", b"from 20 to 250"),
        ("notes", "x" * 10_001, b"10000"),
        ("chief_complaint", "x" * 501, b"500"),
    ],
)
def test_implausible_vitals_and_oversized_text_are_refused(
    client, make, login_as, today, field, value, message
):
    encounter = make.encounter(today["appointment"])
    login_as(today["doctor"])
    response = client.post(
        f"/doctor/encounters/{encounter.id}", data={"version": "1", field: value}, headers=HX
    )
    assert response.status_code == 422
    assert message in response.data
    db.session.refresh(encounter)
    assert encounter.version == 1
    assert encounter.chief_complaint == "Sore throat"


def test_diastolic_must_be_below_systolic(client, make, login_as, today):
    encounter = make.encounter(today["appointment"])
    login_as(today["doctor"])
    response = client.post(
        f"/doctor/encounters/{encounter.id}",
        data={"version": "1", "bp_systolic": "90", "bp_diastolic": "120"},
    )
    assert response.status_code == 422
    assert b"must be lower than the systolic" in response.data


def test_html_in_notes_is_stored_as_typed_and_shown_escaped(client, make, login_as, today):
    encounter = make.encounter(today["appointment"])
    login_as(today["doctor"])
    script = "<script>alert('x')</script>"
    client.post(
        f"/doctor/encounters/{encounter.id}",
        data={"version": "1", "notes": script, "chief_complaint": script},
    )
    page = client.get(f"/doctor/patients/{today['patient'].patient.id}").data
    assert b"<script>alert" not in page
    assert b"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page


def test_the_second_of_two_concurrent_saves_gets_a_conflict_and_keeps_its_text(client, make, login_as, today):
    encounter = make.encounter(today["appointment"])
    login_as(today["doctor"])
    first = client.post(
        f"/doctor/encounters/{encounter.id}", data={"version": "1", "notes": "First tab's notes"}, headers=HX
    )
    assert first.status_code == 200
    second = client.post(
        f"/doctor/encounters/{encounter.id}",
        data={"version": "1", "notes": "Second tab's careful notes", "pulse": "72"},
        headers=HX,
    )
    assert second.status_code == 409
    assert b"Someone else saved this record" in second.data
    assert b"First tab&#39;s notes" in second.data  # the newer version is shown
    assert b"Second tab&#39;s careful notes" in second.data  # and nothing typed is lost
    assert b'name="version" type="hidden" value="2"' in second.data
    db.session.refresh(encounter)
    assert encounter.notes == "First tab's notes"
    again = client.post(
        f"/doctor/encounters/{encounter.id}",
        data={"version": "2", "notes": "Second tab's careful notes", "pulse": "72"},
        headers=HX,
    )
    assert again.status_code == 200
    db.session.refresh(encounter)
    assert (encounter.notes, encounter.pulse, encounter.version) == ("Second tab's careful notes", 72, 3)


@pytest.mark.commits  # the other save runs on a connection of its own
def test_a_save_racing_past_the_version_check_is_caught_by_the_database(make, today):
    """Both saves read version 1; the other commits first; our UPDATE then matches no row."""
    encounter = make.encounter(today["appointment"])
    doctor = today["doctor"].doctor
    assert encounter.version == 1
    db.session.expunge(encounter)  # keep our copy at version 1, as a request that read it earlier
    db.session.commit()
    with Session(db.engine) as other:
        theirs = other.get(Encounter, encounter.id)
        theirs.notes = "theirs"
        other.commit()
    db.session.add(encounter)
    with pytest.raises(clinical.StaleRecord):
        clinical.update_encounter(encounter, doctor, {"notes": "mine"}, version=1)
    db.session.rollback()
    assert db.session.get(Encounter, encounter.id).notes == "theirs"


def test_icd10_search_fragment_finds_codes_and_words(client, make, login_as, today):
    encounter = make.encounter(today["appointment"])
    login_as(today["doctor"])
    by_code = client.get(f"/doctor/encounters/{encounter.id}/icd10?q=j06", headers=HX)
    assert by_code.status_code == 200 and b"<html" not in by_code.data
    assert b"J06.9" in by_code.data and b"Acute upper respiratory infection" in by_code.data
    by_words = client.get(f"/doctor/encounters/{encounter.id}/icd10?q=pharyngitis", headers=HX).data
    assert b"J02.9" in by_words and b"J02.0" in by_words
    nothing = client.get(f"/doctor/encounters/{encounter.id}/icd10?q=zzzz", headers=HX).data
    assert b"No listed code matches" in nothing
    without_js = client.get(f"/doctor/encounters/{encounter.id}/icd10?q=asthma")
    assert b"<html" in without_js.data and b"J45.9" in without_js.data


def test_listed_code_takes_its_title_and_free_text_needs_a_well_formed_code(client, make, login_as, today):
    encounter = make.encounter(today["appointment"])
    login_as(today["doctor"])
    url = f"/doctor/encounters/{encounter.id}/diagnoses"
    listed = client.post(url, data={"code": "j069"}, headers=HX)
    assert listed.status_code == 200
    assert b"J06.9" in listed.data and b"Acute upper respiratory infection unspecified" in listed.data
    unlisted = client.post(
        url, data={"code": "K35.2", "text": "Acute appendicitis with generalized peritonitis"}
    )
    assert unlisted.status_code == 303
    needs_text = client.post(url, data={"code": "K35.3"}, headers=HX)
    assert needs_text.status_code == 422 and b"describe the diagnosis in words" in needs_text.data
    for bad in ("123", "J0", "JJ6.9", "J06.99999", "<b>"):
        response = client.post(url, data={"code": bad, "text": "Something"}, headers=HX)
        assert response.status_code == 422, bad
        assert (
            b"Enter an ICD-10 code such as J06.9" in response.data
            or b"Field cannot be longer" in response.data
        )
    twice = client.post(url, data={"code": "J06.9"}, headers=HX)
    assert twice.status_code == 422 and b"already recorded" in twice.data
    db.session.refresh(encounter)
    assert [(d.code, d.text) for d in encounter.diagnoses] == [
        ("J06.9", "Acute upper respiratory infection unspecified"),
        ("K35.2", "Acute appendicitis with generalized peritonitis"),
    ]
    removed = client.post(f"{url}/{encounter.diagnoses[0].id}/delete", headers=HX)
    assert removed.status_code == 200 and b"J06.9" not in removed.data.split(b"Find an ICD-10 code")[0]
    assert audit_rows("diagnosis") == [
        ("create", "diagnosis", "success"),
        ("create", "diagnosis", "success"),
        ("delete", "diagnosis", "success"),
    ]


def test_normalize_icd10():
    assert clinical.normalize_icd10(" j06.9 ") == "J06.9"
    assert clinical.normalize_icd10("E119") == "E11.9"
    assert clinical.normalize_icd10("I10") == "I10"
    with pytest.raises(Invalid):
        clinical.normalize_icd10("6A70")


def test_shipped_icd10_list_is_well_formed():
    codes = clinical.icd10_codes()
    assert len(codes) >= 300
    assert all(clinical.ICD10_CODE.match(code) for code in codes)
    assert all(title and len(title) <= 255 for title in codes.values())


def test_viewing_an_encounter_is_audited(client, make, login_as, today):
    encounter = make.encounter(today["appointment"])
    login_as(today["doctor"])
    assert client.get(f"/doctor/encounters/{encounter.id}").status_code == 200
    event = db.session.scalars(select(AuditEvent)).one()
    assert (event.action, event.record_type, event.record_id, event.user_id, event.ip) == (
        "view",
        "encounter",
        encounter.id,
        today["doctor"].id,
        "127.0.0.1",
    )
    assert event.hospital_id == today["hospital"].id


def test_malformed_ids_are_404_not_500(client, login_as, today):
    login_as(today["doctor"])
    for url in ["/doctor/encounters/abc", "/doctor/encounters/-1", "/doctor/encounters/99999999999999999999"]:
        assert client.get(url).status_code == 404, url


def test_the_agenda_links_each_visit_to_its_record(client, login_as, today):
    login_as(today["doctor"])
    appointment = today["appointment"]
    day = appointment.start_at.astimezone(appointment.hospital.tz).date().isoformat()
    agenda = client.get(f"/doctor/agenda?day={day}").data
    assert f'href="/doctor/appointments/{appointment.id}/encounter"'.encode() in agenda
