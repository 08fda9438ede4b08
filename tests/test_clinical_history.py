"""The patient's own medical history, his visits, and who looked at his records."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import AuditEvent, EntrySource, HistoryKind, MedicalHistoryEntry, PrescriptionStatus

HX = {"HX-Request": "true"}


def entries(patient) -> list[MedicalHistoryEntry]:  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return db.session.scalars(
        select(MedicalHistoryEntry)
        .where(MedicalHistoryEntry.patient_id == patient.patient.id, MedicalHistoryEntry.removed_at.is_(None))
        .order_by(MedicalHistoryEntry.id)
    ).all()


def test_patient_adds_an_allergy_with_reaction_and_severity(client, make, login_as):
    patient = make.patient()
    login_as(patient)
    response = client.post(
        "/patient/records/history",
        data={
            "kind": "allergy",
            "title": "Penicillin",
            "reaction": "Hives",
            "severity": "severe",
            "since": "2010-05-01",
            "relation": "ignored for allergies",
        },
        headers=HX,
    )
    assert response.status_code == 200 and b"<html" not in response.data
    assert b"Penicillin" in response.data and b"Hives" in response.data
    (entry,) = entries(patient)
    assert (entry.kind, entry.severity.value, entry.reaction, entry.relation, entry.source) == (
        HistoryKind.allergy,
        "severe",
        "Hives",
        None,
        EntrySource.patient,
    )
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "create")).one()
    assert (event.record_type, event.record_id, event.patient_id) == (
        "medical_history",
        entry.id,
        patient.patient.id,
    )


def test_every_kind_of_entry(client, make, login_as):
    patient = make.patient()
    login_as(patient)
    for kind, title in [
        ("condition", "Hypertension"),
        ("medication", "Amlodipine 5 mg daily"),
        ("procedure", "Appendectomy"),
        ("family-history", "Diabetes"),
    ]:
        assert client.post("/patient/records/history", data={"kind": kind, "title": title}).status_code == 303
    page = client.get("/patient/records").data
    for text in (
        b"Hypertension",
        b"Amlodipine",
        b"Appendectomy",
        b"Diabetes",
        b"Family history",
        b"Surgeries",
    ):
        assert text in page


def test_bad_history_input_is_refused(client, make, login_as):
    patient = make.patient()
    login_as(patient)
    future = (clock.now().date() + timedelta(days=3)).isoformat()
    for data, message in [
        ({"kind": "condition", "title": ""}, b"Name the condition"),
        ({"kind": "nonsense", "title": "X"}, b"Not a valid choice"),
        ({"kind": "condition", "title": "x" * 201}, b"200"),
        ({"kind": "condition", "title": "X", "since": future}, b"cannot be in the future"),
        ({"kind": "allergy", "title": "X", "severity": "deadly"}, b"Not a valid choice"),
    ]:
        response = client.post("/patient/records/history", data=data, headers=HX)
        assert response.status_code == 422, data
        assert message in response.data, data
    assert entries(patient) == []


def test_patient_edits_and_removes_his_own_entries(client, make, login_as):
    patient = make.patient()
    entry = make.history_entry(patient, title="Asthma")
    login_as(patient)
    form = client.get(f"/patient/records/history/{entry.id}/edit", headers=HX)
    assert form.data.lstrip().startswith(f'<li id="entry-{entry.id}" class="editing">'.encode())
    saved = client.post(
        f"/patient/records/history/{entry.id}",
        data={"edit-kind": "condition", "edit-title": "Asthma, mild", "edit-version": "1"},
        headers=HX,
    )
    assert saved.status_code == 200 and b"Asthma, mild" in saved.data
    assert saved.data.lstrip().startswith(f'<li id="entry-{entry.id}">'.encode())
    removed = client.post(f"/patient/records/history/{entry.id}/delete", headers=HX)
    assert removed.status_code == 200 and b"Asthma" not in removed.data
    assert entries(patient) == []
    assert client.get(f"/patient/records/history/{entry.id}/edit").status_code == 404
    row = db.session.get(MedicalHistoryEntry, entry.id)
    assert row.removed_at is not None and row.removed_by_id == patient.id  # kept for the record
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["update", "delete"]


def test_entries_by_a_doctor_are_marked_and_not_editable_by_the_patient(client, make, login_as):
    hospital = make.hospital()
    doctor = make.doctor_at(hospital, name="Priya Mehta")
    patient = make.patient()
    make.appointment(patient, doctor, hospital)
    login_as(doctor)
    client.post(
        f"/doctor/patients/{patient.patient.id}/history",
        data={"kind": "allergy", "title": "Sulfonamides", "reaction": "Rash"},
    )
    (entry,) = entries(patient)
    assert entry.source == EntrySource.practitioner
    login_as(patient)
    page = client.get("/patient/records").data
    assert b"Added by Dr Priya Mehta" in page
    assert f"/patient/records/history/{entry.id}/edit".encode() not in page
    assert client.get(f"/patient/records/history/{entry.id}/edit").status_code == 403
    edit = {"edit-kind": "allergy", "edit-title": "Nothing", "edit-version": "1"}
    assert client.post(f"/patient/records/history/{entry.id}", data=edit).status_code == 403
    assert client.post(f"/patient/records/history/{entry.id}/delete").status_code == 403
    assert entries(patient)[0].title == "Sulfonamides"


def test_concurrent_edits_of_a_history_entry(client, make, login_as):
    patient = make.patient()
    entry = make.history_entry(patient, title="Migraine")
    login_as(patient)
    url = f"/patient/records/history/{entry.id}"
    first = {"edit-kind": "condition", "edit-title": "Migraine with aura", "edit-version": "1"}
    second = {"edit-kind": "condition", "edit-title": "Migraine, monthly", "edit-version": "1"}
    assert client.post(url, data=first, headers=HX).status_code == 200
    late = client.post(url, data=second, headers=HX)
    assert late.status_code == 409
    assert b"Migraine with aura" in late.data and b'value="Migraine, monthly"' in late.data
    assert entries(patient)[0].title == "Migraine with aura"


def test_html_in_history_is_escaped_for_patient_and_doctor(client, make, login_as):
    hospital = make.hospital()
    doctor = make.doctor_at(hospital)
    patient = make.patient()
    make.appointment(patient, doctor, hospital)
    login_as(patient)
    client.post("/patient/records/history", data={"kind": "condition", "title": "<script>alert(1)</script>"})
    assert b"<script>alert(1)" not in client.get("/patient/records").data
    login_as(doctor)
    page = client.get(f"/doctor/patients/{patient.patient.id}").data
    assert b"<script>alert(1)" not in page and b"&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_my_visits_show_doctor_hospital_diagnosis_and_issued_prescriptions(client, make, login_as):
    hospital = make.hospital(name="Riverside General")
    doctor = make.doctor_at(hospital, name="Chinedu Okafor")
    patient = make.patient()
    encounter = make.encounter(make.appointment(patient, doctor, hospital))
    make.diagnosis(encounter, "J02.9", "Acute pharyngitis")
    issued = make.prescription(encounter, status=PrescriptionStatus.active)
    draft = make.prescription(encounter, items=1)
    login_as(patient)
    page = client.get("/patient/encounters").data
    for text in (
        b"Dr Chinedu Okafor",
        b"Riverside General",
        b"J02.9",
        b"Acute pharyngitis",
        issued.number.encode(),
    ):
        assert text in page
    assert f"/patient/prescriptions/{issued.id}.pdf".encode() in page
    assert f"/patient/prescriptions/{draft.id}.pdf".encode() not in page


def test_record_access_shows_who_viewed_and_changed_my_records(client, make, login_as):
    hospital = make.hospital()
    doctor = make.doctor_at(hospital, name="Lucas Santos")
    patient = make.patient()
    make.appointment(patient, doctor, hospital)
    login_as(doctor)
    client.get(f"/doctor/patients/{patient.patient.id}")
    client.post(
        f"/doctor/patients/{patient.patient.id}/history", data={"kind": "condition", "title": "Anaemia"}
    )
    stranger = make.doctor_at(hospital, name="Nosy Parker")
    login_as(stranger)
    client.get(f"/doctor/patients/{patient.patient.id}")
    login_as(patient)
    page = client.get("/patient/record-access").data
    assert b"Lucas Santos (Doctor)" in page and b"Nosy Parker (Doctor)" in page
    assert page.count(b"<td>view</td>") == 2 and b"<td>create</td>" in page and b"<td>denied</td>" in page


def test_doctor_edits_his_own_entries_but_not_others(client, make, login_as):
    hospital = make.hospital()
    doctor = make.doctor_at(hospital, name="Priya Mehta")
    colleague = make.doctor_at(hospital, name="Ana Santos")
    patient = make.patient()
    stranger = make.patient()
    make.appointment(patient, doctor, hospital)
    make.appointment(patient, colleague, hospital, start_at=clock.now() + timedelta(days=2))
    mine = make.history_entry(patient, kind=HistoryKind.allergy, title="Sulfonamides", by=doctor)
    theirs = make.history_entry(patient, title="Hypertension", by=colleague)
    patients_own = make.history_entry(patient, title="Asthma")
    elsewhere = make.history_entry(stranger, title="Gout")
    base = f"/doctor/patients/{patient.patient.id}/history"
    login_as(doctor)

    page = client.get(f"/doctor/patients/{patient.patient.id}").data
    assert f"{base}/{mine.id}/edit".encode() in page
    assert f"{base}/{theirs.id}/edit".encode() not in page
    assert f"{base}/{patients_own.id}/edit".encode() not in page

    form = client.get(f"{base}/{mine.id}/edit", headers=HX)
    assert form.status_code == 200
    assert form.data.lstrip().startswith(f'<li id="entry-{mine.id}" class="editing">'.encode())
    edit = {"edit-kind": "allergy", "edit-title": "Sulfonamides", "edit-reaction": "Rash"}
    edit["edit-version"] = "1"
    saved = client.post(f"{base}/{mine.id}", data=edit, headers=HX)
    assert saved.status_code == 200 and b"Rash" in saved.data
    assert saved.data.lstrip().startswith(f'<li id="entry-{mine.id}">'.encode())
    # The same save from a stale form (another tab) is a conflict that keeps what was typed.
    stale = client.post(f"{base}/{mine.id}", data=edit | {"edit-reaction": "Hives"}, headers=HX)
    assert stale.status_code == 409 and b'value="Hives"' in stale.data
    # Bad input re-renders the form with the error, nothing saved.
    bad = client.post(f"{base}/{mine.id}", data=edit | {"edit-title": "", "edit-version": "2"}, headers=HX)
    assert bad.status_code == 422 and b"<html" not in bad.data

    # Without JavaScript: the edit link opens the record page with the form, saving redirects back.
    page = client.get(f"{base}/{mine.id}/edit")
    assert page.status_code == 200 and b"<html" in page.data and b'class="editing"' in page.data
    plain = client.post(f"{base}/{mine.id}", data=edit | {"edit-reaction": "Fever", "edit-version": "2"})
    assert plain.status_code == 303
    assert plain.headers["Location"].endswith(f"/doctor/patients/{patient.patient.id}")
    db.session.expire_all()
    assert db.session.get(MedicalHistoryEntry, mine.id).reaction == "Fever"

    for other in (theirs, patients_own):
        assert client.get(f"{base}/{other.id}/edit", headers=HX).status_code == 403
        assert client.post(f"{base}/{other.id}", data=edit | {"edit-version": "1"}).status_code == 403
    # An entry of a patient he has never seen, also under his own patient's URL: not found.
    assert client.get(f"{base}/{elsewhere.id}/edit").status_code == 404
    strangers = f"/doctor/patients/{stranger.patient.id}/history"
    assert client.get(f"{strangers}/{elsewhere.id}/edit").status_code == 404
    assert db.session.get(MedicalHistoryEntry, theirs.id).title == "Hypertension"
