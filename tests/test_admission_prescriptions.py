"""Prescriptions written on the ward for an admission (hms.services.clinical.start_admission_prescription,
the admission page's "Start a prescription", the inline editor at /doctor/prescriptions/<id>): who may
start, edit and read them, issuing and the PDF, the patient's stay page, the pharmacist dispensing
against the number, FHIR's encounter reference; and the stay's other bills on both admission pages."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from hms import clock
from hms.extensions import db
from hms.models import (
    AuditEvent,
    MovementKind,
    Notification,
    Prescription,
    PrescriptionStatus,
    StaffKind,
    StockMovement,
)
from hms.services import clinical, inpatient
from hms.services.errors import NotAllowed
from tests.statements import recorded

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 12:00 in Nairobi
HX = {"HX-Request": "true"}
ITEM = {
    "drug": "Ceftriaxone",
    "strength": "1 g",
    "form": "vial",
    "dose": "1 g",
    "route": "IV",
    "frequency": "once a day",
    "duration": "5 days",
    "quantity": "5",
}


@pytest.fixture
def world(make):  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)
    hospital = make.hospital(timezone="Africa/Nairobi", currency="KES", name="Riverside General")
    doctor = make.doctor_at(hospital, name="Chinedu Okafor")
    patient = make.patient(name="Amina Hassan", allergies="Penicillin")
    visit = make.appointment(patient, doctor, hospital, start_at=NOW)
    encounter = make.encounter(visit)
    general = make.ward(hospital, "General", beds=3, daily_rate_minor=300000)
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
        "encounter": encounter,
        "admission": admission,
        "nurse": make.staff(hospital, StaffKind.nurse),
    }


def _page(world) -> str:  # type: ignore[no-untyped-def]
    return f"/ward/admissions/{world['admission'].id}"


def _start(client, world):  # type: ignore[no-untyped-def]
    response = client.post(_page(world) + "/prescriptions")
    assert response.status_code == 303, response.status_code
    return db.session.scalar(
        select(Prescription)
        .where(Prescription.admission_id == world["admission"].id)
        .order_by(Prescription.id.desc())
    )


def _issued(world) -> Prescription:  # type: ignore[no-untyped-def]
    doctor = world["doctor"].doctor
    prescription = clinical.start_admission_prescription(world["admission"], doctor)
    clinical.add_item(prescription, doctor, ITEM)
    clinical.issue_prescription(prescription, doctor)
    db.session.commit()
    return prescription


# ---------------------------------------------------------------- the doctor writes it


def test_the_treating_doctor_starts_edits_and_issues_a_prescription_on_the_ward(client, login_as, world):  # type: ignore[no-untyped-def]
    login_as(world["doctor"])
    page = client.get(_page(world)).get_data(as_text=True)
    assert "Start a prescription" in page and "No prescription written on the ward yet." in page
    prescription = _start(client, world)
    assert prescription.encounter_id is None and prescription.is_draft
    assert prescription.patient_id == world["patient"].patient.id
    assert _start(client, world).id == prescription.id  # his open draft, not a second one
    url = f"/doctor/prescriptions/{prescription.id}"
    editor = client.get(url).get_data(as_text=True)
    assert f'href="{_page(world)}"' in editor and "Visit record" not in editor
    added = client.post(url + "/items", data=ITEM, headers=HX)
    assert added.status_code == 200 and "Ceftriaxone" in added.get_data(as_text=True)
    assert client.post(url + "/note", data={"note": "Review on day 3", "version": "1"}).status_code == 303
    issued = client.post(url + "/issue")
    assert issued.status_code == 303
    db.session.expire_all()
    prescription = db.session.get(Prescription, prescription.id)
    assert prescription.status == PrescriptionStatus.active and prescription.number.startswith("RX-2026-")
    notice = db.session.scalar(
        select(Notification)
        .where(Notification.user_id == world["patient"].id)
        .order_by(Notification.id.desc())
    )
    assert notice.link == f"/patient/admissions/{world['admission'].id}"
    actions = set(
        db.session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.record_type == "prescription", AuditEvent.record_id == prescription.id
            )
        )
    )
    assert {"create", "update", "issue", "view"} <= actions
    page = client.get(_page(world)).get_data(as_text=True)
    assert prescription.number in page and "1 medicine" in page
    pdf = client.get(url + ".pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert prescription.number in text and "Ceftriaxone" in text and "Amina Hassan" in text


def test_a_revision_stays_on_the_admission_and_supersedes(client, login_as, world):  # type: ignore[no-untyped-def]
    prescription = _issued(world)
    login_as(world["doctor"])
    assert client.post(f"/doctor/prescriptions/{prescription.id}/revise").status_code == 303
    draft = db.session.scalar(select(Prescription).where(Prescription.supersedes_id == prescription.id))
    assert draft.admission_id == world["admission"].id and draft.encounter_id is None
    assert client.post(f"/doctor/prescriptions/{draft.id}/issue").status_code == 303
    db.session.expire_all()
    assert db.session.get(Prescription, prescription.id).status == PrescriptionStatus.superseded


def test_the_attending_doctor_reads_but_only_the_author_edits(client, login_as, world, make):  # type: ignore[no-untyped-def]
    prescription = _issued(world)
    colleague = make.doctor_at(world["hospital"], name="Grace Wanjiru")
    inpatient.set_attending_doctor(world["admission"], colleague.doctor.id, world["doctor"])
    db.session.commit()
    login_as(colleague)
    url = f"/doctor/prescriptions/{prescription.id}"
    page = client.get(url)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Ceftriaxone" in body and "Cancel prescription" not in body and "New version" not in body
    assert client.get(url + ".pdf").status_code == 200
    assert client.post(url + "/cancel", data={"reason": "Not needed"}).status_code == 404
    assert client.post(url + "/revise").status_code == 404
    # He writes his own: a draft of his, which the admitting doctor does not see.
    mine = _start(client, world)
    assert mine.doctor_id == colleague.doctor.id and mine.id != prescription.id
    login_as(world["doctor"])
    assert client.get(f"/doctor/prescriptions/{mine.id}").status_code == 404
    assert f"/doctor/prescriptions/{mine.id}" not in client.get(_page(world)).get_data(as_text=True)


@pytest.mark.parametrize("who", ["stranger_doctor", "nurse", "patient", "other_patient"])
def test_nobody_else_starts_or_reads_them(client, login_as, world, make, who):  # type: ignore[no-untyped-def]
    prescription = _issued(world)
    users = {
        "stranger_doctor": lambda: make.doctor_at(world["hospital"]),
        "nurse": lambda: world["nurse"],
        "patient": lambda: world["patient"],
        "other_patient": lambda: make.patient(),
    }
    login_as(users[who]())
    started = client.post(_page(world) + "/prescriptions")
    assert started.status_code in (403, 404)
    read = client.get(f"/doctor/prescriptions/{prescription.id}")
    assert read.status_code in (403, 404)  # patients and nurses are outside the doctor's blueprint
    if who == "stranger_doctor":
        assert read.status_code == 404 and started.status_code == 404
    if who == "nurse":
        page = client.get(_page(world)).get_data(as_text=True)
        assert prescription.number in page and "Start a prescription" not in page
    if who == "other_patient":
        assert client.get(f"/patient/prescriptions/{prescription.id}.pdf").status_code == 404
        assert client.get(f"/patient/admissions/{world['admission'].id}").status_code == 404
    assert db.session.scalar(select(Prescription.id).where(Prescription.id > prescription.id)) is None


def test_no_new_prescription_once_the_patient_left_the_bed(client, login_as, world):  # type: ignore[no-untyped-def]
    inpatient.order_discharge(world["admission"], world["doctor"], {"discharge_diagnoses": "J18.9"})
    db.session.commit()
    assert clinical.start_admission_prescription(world["admission"], world["doctor"].doctor).is_draft
    db.session.rollback()
    inpatient.discharge_patient(world["admission"], world["nurse"])
    db.session.commit()
    with pytest.raises(NotAllowed):
        clinical.start_admission_prescription(world["admission"], world["doctor"].doctor)
    db.session.rollback()
    login_as(world["doctor"])
    assert "Start a prescription" not in client.get(_page(world)).get_data(as_text=True)
    response = client.post(_page(world) + "/prescriptions")
    assert response.status_code == 303 and response.headers["Location"].endswith(_page(world))


def test_the_database_wants_a_visit_or_an_admission_not_both(world):  # type: ignore[no-untyped-def]
    base = {
        "patient_id": world["patient"].patient.id,
        "doctor_id": world["doctor"].doctor.id,
        "hospital_id": world["hospital"].id,
        "status": PrescriptionStatus.draft,
        "note": "",
    }
    for where in ({}, {"encounter_id": world["encounter"].id, "admission_id": world["admission"].id}):
        with pytest.raises(DBAPIError), db.session.begin_nested():  # MariaDB: error 4025
            db.session.add(Prescription(**base, **where))
            db.session.flush()


# ---------------------------------------------------------------- the patient, the pharmacy, FHIR


def test_the_patient_sees_his_issued_inpatient_prescription_on_his_stay(client, login_as, world):  # type: ignore[no-untyped-def]
    doctor = world["doctor"].doctor
    draft = clinical.start_admission_prescription(world["admission"], doctor)
    clinical.add_item(draft, doctor, {"drug": "Secret draft"})
    db.session.commit()
    login_as(world["patient"])
    assert "Secret draft" not in client.get(f"/patient/admissions/{world['admission'].id}").get_data(
        as_text=True
    )
    clinical.issue_prescription(draft, doctor)
    db.session.commit()
    page = client.get(f"/patient/admissions/{world['admission'].id}").get_data(as_text=True)
    assert draft.number in page and "Secret draft" in page
    pdf = client.get(f"/patient/prescriptions/{draft.id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert client.get("/patient/encounters").status_code == 200  # his visits still render


def test_the_pharmacist_dispenses_against_its_number(client, login_as, world, make):  # type: ignore[no-untyped-def]
    prescription = _issued(world)
    admin = make.hospital_admin(world["hospital"])
    item = make.inventory_item(
        world["hospital"],
        name="Ceftriaxone 1 g vial",
        kind="medicine",
        batches=[("C1", date(2027, 1, 1), 20)],
        by=admin,
    )
    login_as(make.staff(world["hospital"], StaffKind.pharmacist))
    response = client.post(
        f"/staff/inventory/{item.id}/dispense",
        data={"dispense-quantity": "5", "dispense-prescription": prescription.number},
    )
    assert response.status_code == 303
    movement = db.session.scalar(select(StockMovement).where(StockMovement.kind == MovementKind.dispense))
    assert (movement.prescription_id, movement.quantity) == (prescription.id, -5)
    page = client.get(f"/staff/inventory/{item.id}").get_data(as_text=True)
    assert prescription.number in page


def test_fhir_medication_request_refers_to_the_admission(client, world):  # type: ignore[no-untyped-def]
    from tests.test_fhir_api import bearer

    prescription = _issued(world)
    headers = bearer(world["doctor"])
    found = client.get(f"/fhir/MedicationRequest?encounter=adm-{world['admission'].id}", headers=headers)
    assert found.status_code == 200, found.get_data(as_text=True)
    entries = found.get_json()["entry"]
    assert [e["resource"]["encounter"]["reference"] for e in entries] == [
        f"Encounter/adm-{world['admission'].id}"
    ]
    assert entries[0]["resource"]["groupIdentifier"]["value"] == prescription.number


# ---------------------------------------------------------------- the stay's bills, statements


def test_the_stays_bills_are_listed_on_both_pages_without_billing_again(client, login_as, world, make):  # type: ignore[no-untyped-def]
    from hms.models import Bill

    before = make.lab_order(world["encounter"])  # ordered at the visit, before the admission? same minute
    clock.set_frozen(NOW + timedelta(hours=5))
    visit = make.appointment(
        world["patient"], world["doctor"], world["hospital"], start_at=NOW + timedelta(hours=5)
    )
    during = make.lab_order(make.encounter(visit))
    elsewhere = make.lab_order()  # another hospital, another patient
    db.session.commit()
    bills_before = db.session.scalar(select(db.func.count(Bill.id)))
    inpatient.order_discharge(world["admission"], world["doctor"], {"discharge_diagnoses": "J18.9"})
    clock.set_frozen(NOW + timedelta(days=2))
    inpatient.discharge_patient(world["admission"], world["nurse"])
    db.session.commit()
    admission = db.session.get(type(world["admission"]), world["admission"].id)
    listed = [b.id for b in inpatient.stay_bills(admission)]
    assert during.bill_id in listed and admission.bill_id in listed and elsewhere.bill_id not in listed
    assert before.bill_id not in listed or before.bill.created_at >= admission.admitted_at
    login_as(world["doctor"])
    page = client.get(_page(world)).get_data(as_text=True)
    assert "Bills of the stay" in page and f"B{during.bill_id:06d}" in page
    login_as(world["patient"])
    page = client.get(f"/patient/admissions/{admission.id}").get_data(as_text=True)
    assert f"B{during.bill_id:06d}" in page and f"/patient/bills/{admission.bill_id}" in page
    assert db.session.scalar(select(db.func.count(Bill.id))) == bills_before + 1  # only the room nights


def test_the_page_sends_the_same_statements_whatever_the_prescriptions(client, login_as, world):  # type: ignore[no-untyped-def]
    login_as(world["doctor"])
    _issued(world)
    client.get(_page(world))
    with recorded() as few:
        assert client.get(_page(world)).status_code == 200
    for _ in range(3):
        _issued(world)
    with recorded() as many:
        page = client.get(_page(world))
    assert page.status_code == 200 and page.get_data(as_text=True).count("1 medicine") == 4
    assert len(many) == len(few), "\n".join(many)


# ---------------------------------------------------------------- the migration


def test_the_migration_round_trip_drops_only_the_admissions_prescriptions(make):  # type: ignore[no-untyped-def]
    """Upgrade a scratch database, write a visit's and a stay's prescriptions, downgrade to 0022 (the
    stay's go, with their lines and the stock's link to them) and upgrade again."""
    import os

    import flask_migrate
    from sqlalchemy import create_engine, text

    from config import TestConfig
    from hms import create_app
    from tests.conftest import _create_database

    base = os.environ.get("HMS_TEST_DATABASE_URL")
    if base:
        url, drop = _create_database(base)
    else:
        import tempfile

        folder = tempfile.mkdtemp()
        url, drop = f"sqlite:///{folder}/rx.sqlite3", lambda: None
    app = create_app(type("RxMigrationConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url}))
    engine = create_engine(url)
    try:
        with app.app_context():
            flask_migrate.upgrade()
            clock.set_frozen(NOW)
            hospital = make.hospital(timezone="Africa/Nairobi")
            doctor = make.doctor_at(hospital)
            patient = make.patient()
            encounter = make.encounter(make.appointment(patient, doctor, hospital, start_at=NOW))
            ward = make.ward(hospital, "General", beds=1)
            admission = inpatient.admit_patient(
                hospital=hospital,
                patient=patient.patient,
                ward_id=ward.id,
                bed_id=ward.beds[0].id,
                doctor_id=None,
                actor=doctor,
                reason="Observation",
                encounter=encounter,
            )
            for owner in (encounter, admission):
                start = (
                    clinical.start_prescription
                    if owner is encounter
                    else clinical.start_admission_prescription
                )
                rx = start(owner, doctor.doctor)
                clinical.add_item(rx, doctor.doctor, ITEM)
                clinical.issue_prescription(rx, doctor.doctor)
            db.session.commit()
            from hms.services import inventory

            medicine = make.inventory_item(
                hospital, name="Ceftriaxone 1 g", kind="medicine", batches=[("C1", date(2027, 1, 1), 20)]
            )
            pharmacist = make.staff(hospital, StaffKind.pharmacist)
            for number in db.session.scalars(select(Prescription.number)):
                inventory.dispense_stock(medicine, quantity=2, actor=pharmacist, prescription_number=number)
            db.session.commit()
            revised = clinical.revise_prescription(rx, doctor.doctor)  # a draft superseding the stay's
            db.session.commit()
            assert revised.admission_id == admission.id
            db.session.remove()
            flask_migrate.downgrade(revision="0022_inpatient")
            linked = "SELECT count(*) FROM stock_movements WHERE prescription_id IS NOT NULL"
            for step in ("down", "up"):
                with engine.connect() as conn:
                    assert conn.execute(text("SELECT count(*) FROM prescriptions")).scalar() == 1, step
                    assert conn.execute(text("SELECT count(*) FROM prescription_items")).scalar() == 1, step
                    assert conn.execute(text(linked)).scalar() == 1, step
                    assert conn.execute(text("SELECT count(*) FROM stock_movements")).scalar() >= 3, step
                if step == "down":
                    flask_migrate.upgrade()
    finally:
        engine.dispose()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop()
