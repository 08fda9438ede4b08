"""Prescriptions: inline item editing (HTMX fragments and plain posts), issue, cancel, new versions, PDF."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from hms.extensions import db
from hms.models import AuditEvent, Notification, Prescription, PrescriptionItem, PrescriptionStatus
from hms.services import prescription_pdf

HX = {"HX-Request": "true"}
ITEM = {
    "drug": "Amoxicillin",
    "strength": "500 mg",
    "form": "capsule",
    "dose": "1 capsule",
    "route": "oral",
    "frequency": "three times a day",
    "duration": "7 days",
    "quantity": "21",
    "instructions": "Finish the course",
}


@pytest.fixture
def draft(make):
    hospital = make.hospital(name="Riverside General Hospital", address="12 River Road", phone="+254 20 555")
    doctor = make.doctor_at(hospital, name="Chinedu Okafor")
    patient = make.patient(name="Sofía García-Łukasz")
    appointment = make.appointment(patient, doctor, hospital)
    encounter = make.encounter(appointment)
    return make.prescription(encounter, items=0)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def drugs(prescription: Prescription) -> list[str]:
    db.session.expire_all()
    return [i.drug for i in db.session.get(Prescription, prescription.id).items]


def test_starting_a_prescription_twice_gives_the_same_draft(client, make, login_as):
    encounter = make.encounter()
    login_as(encounter.doctor.user)
    first = client.post(f"/doctor/encounters/{encounter.id}/prescriptions")
    second = client.post(f"/doctor/encounters/{encounter.id}/prescriptions")
    assert first.headers["Location"] == second.headers["Location"]
    assert len(db.session.scalars(select(Prescription)).all()) == 1


def test_add_edit_remove_and_reorder_items_as_htmx_fragments(client, login_as, draft):
    login_as(draft.doctor.user)
    base = f"/doctor/prescriptions/{draft.id}"
    for drug in ("Amoxicillin", "Paracetamol", "Cetirizine"):
        added = client.post(f"{base}/items", data=ITEM | {"drug": drug}, headers=HX)
        assert added.status_code == 200
        assert b"<html" not in added.data and b'<table class="items">' in added.data
        assert drug.encode() in added.data
        assert b'name="drug" required type="text" value=""' in added.data  # a fresh add form
    assert drugs(draft) == ["Amoxicillin", "Paracetamol", "Cetirizine"]
    amox, para, ceti = db.session.get(Prescription, draft.id).items

    edit = client.get(f"{base}/items/{para.id}/edit", headers=HX)
    assert edit.status_code == 200
    assert edit.data.lstrip().startswith(f'<tr id="item-{para.id}" class="editing">'.encode())
    assert b'name="edit-drug"' in edit.data and b'value="Paracetamol"' in edit.data
    saved = client.post(
        f"{base}/items/{para.id}",
        data={f"edit-{k}": v for k, v in (ITEM | {"drug": "Paracetamol", "strength": "1 g"}).items()}
        | {"edit-version": "1"},
        headers=HX,
    )
    assert saved.status_code == 200
    assert saved.data.lstrip().startswith(f'<tr id="item-{para.id}">'.encode())
    assert b"1 g" in saved.data
    cancel = client.get(f"{base}/items/{para.id}", headers=HX)
    assert cancel.data.lstrip().startswith(f'<tr id="item-{para.id}">'.encode())

    moved = client.post(f"{base}/items/{ceti.id}/move", data={"direction": "up"}, headers=HX)
    assert moved.status_code == 200
    assert drugs(draft) == ["Amoxicillin", "Cetirizine", "Paracetamol"]
    client.post(f"{base}/items/{amox.id}/move", data={"direction": "up"}, headers=HX)  # already first
    client.post(f"{base}/items/{ceti.id}/move", data={"direction": "down"}, headers=HX)
    assert drugs(draft) == ["Amoxicillin", "Paracetamol", "Cetirizine"]
    assert (
        client.post(f"{base}/items/{ceti.id}/move", data={"direction": "sideways"}, headers=HX).status_code
        == 422
    )

    removed = client.post(f"{base}/items/{amox.id}/delete", headers=HX)
    assert removed.status_code == 200 and b"Amoxicillin" not in removed.data
    assert drugs(draft) == ["Paracetamol", "Cetirizine"]
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.record_type == "prescription_item").order_by(AuditEvent.id)
    ).all()
    assert actions == ["create", "create", "create", "update", "update", "update", "delete"]


def test_items_work_without_javascript(client, login_as, draft):
    login_as(draft.doctor.user)
    base = f"/doctor/prescriptions/{draft.id}"
    response = client.post(f"{base}/items", data=ITEM)
    assert response.status_code == 303 and response.headers["Location"].endswith(base)
    item = db.session.get(Prescription, draft.id).items[0]
    page = client.get(f"{base}/items/{item.id}/edit")
    assert b"<html" in page.data and b'name="edit-drug"' in page.data
    assert client.post(f"{base}/items/{item.id}/delete").status_code == 303
    assert drugs(draft) == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("drug", "", b"Name the medicine."),
        ("drug", "   ", b"Name the medicine."),
        ("quantity", "-5", b"Enter a quantity from 1 to 10,000."),
        ("quantity", "0", b"Enter a quantity from 1 to 10,000."),
        ("quantity", "many", b"Not a valid integer value."),
        ("instructions", "x" * 501, b"500"),
        ("drug", "x" * 121, b"120"),
    ],
)
def test_bad_items_are_refused_and_keep_what_was_typed(client, login_as, draft, field, value, message):
    login_as(draft.doctor.user)
    response = client.post(f"/doctor/prescriptions/{draft.id}/items", data=ITEM | {field: value}, headers=HX)
    assert response.status_code == 422
    assert message in response.data
    assert b'value="Finish the course"' in response.data or field == "instructions"
    assert drugs(draft) == []


def test_html_in_item_fields_is_escaped(client, login_as, draft):
    login_as(draft.doctor.user)
    client.post(
        f"/doctor/prescriptions/{draft.id}/items", data=ITEM | {"drug": "<img src=x onerror=alert(1)>"}
    )
    page = client.get(f"/doctor/prescriptions/{draft.id}").data
    assert b"<img src=x" not in page and b"&lt;img src=x onerror=alert(1)&gt;" in page


def test_concurrent_item_edit_gets_409_with_the_newer_version(client, make, login_as):
    prescription = make.prescription(items=1)
    item = prescription.items[0]
    login_as(prescription.doctor.user)
    url = f"/doctor/prescriptions/{prescription.id}/items/{item.id}"
    mine = {f"edit-{k}": v for k, v in ITEM.items()}
    assert (
        client.post(url, data=mine | {"edit-drug": "Ibuprofen", "edit-version": "1"}, headers=HX).status_code
        == 200
    )
    late = client.post(url, data=mine | {"edit-drug": "Naproxen", "edit-version": "1"}, headers=HX)
    assert late.status_code == 409
    assert b"Someone else changed this medicine" in late.data
    assert b"<strong>Ibuprofen</strong>" in late.data  # their version
    assert b'value="Naproxen"' in late.data  # what I typed
    assert b'name="edit-version" type="hidden" value="2"' in late.data
    assert drugs(prescription) == ["Ibuprofen"]


def test_issue_numbers_locks_and_notifies(client, login_as, draft):
    login_as(draft.doctor.user)
    base = f"/doctor/prescriptions/{draft.id}"
    empty = client.post(f"{base}/issue")
    assert empty.status_code == 303
    assert db.session.get(Prescription, draft.id).status == PrescriptionStatus.draft
    client.post(f"{base}/items", data=ITEM)
    assert client.post(f"{base}/issue").status_code == 303
    db.session.expire_all()
    issued = db.session.get(Prescription, draft.id)
    assert issued.status == PrescriptionStatus.active
    assert re.fullmatch(r"RX-\d{4}-\d{6}", issued.number)
    notice = db.session.scalars(select(Notification)).one()
    assert notice.user_id == issued.patient.user_id and issued.number in notice.text
    page = client.get(base).data
    assert b"Issue prescription" not in page and b'name="drug"' not in page and b"Download PDF" in page
    item = issued.items[0]
    for url, data in [
        (f"{base}/items", ITEM),
        (f"{base}/items/{item.id}", {"edit-drug": "Changed", "edit-version": "1"}),
        (f"{base}/items/{item.id}/delete", {}),
        (f"{base}/items/{item.id}/move", {"direction": "down"}),
        (f"{base}/note", {"note": "x", "version": "2"}),
    ]:
        assert client.post(url, data=data, headers=HX).status_code == 409, url
    assert client.get(f"{base}/items/{item.id}/edit", headers=HX).status_code == 409
    assert client.post(f"{base}/issue").status_code == 303  # again: refused, nothing changes
    db.session.expire_all()
    again = db.session.get(Prescription, draft.id)
    assert (again.number, [i.drug for i in again.items]) == (issued.number, ["Amoxicillin"])
    assert len(db.session.scalars(select(Notification)).all()) == 1


def test_save_draft_note(client, login_as, draft):
    login_as(draft.doctor.user)
    response = client.post(
        f"/doctor/prescriptions/{draft.id}/note",
        data={"note": "Review in a week", "version": "1"},
        headers=HX,
    )
    assert response.status_code == 200 and b"Draft saved." in response.data
    stale = client.post(
        f"/doctor/prescriptions/{draft.id}/note", data={"note": "Other", "version": "1"}, headers=HX
    )
    assert stale.status_code == 409 and b"Review in a week" in stale.data and b"Other" in stale.data


def test_cancel_needs_a_reason_and_notifies(client, make, login_as):
    prescription = make.prescription(status=PrescriptionStatus.active)
    login_as(prescription.doctor.user)
    url = f"/doctor/prescriptions/{prescription.id}/cancel"
    assert client.post(url, data={"reason": ""}).status_code == 422
    assert client.post(url, data={"reason": "Wrong patient weight used"}).status_code == 303
    db.session.refresh(prescription)
    assert prescription.status == PrescriptionStatus.cancelled
    assert prescription.cancel_reason == "Wrong patient weight used"
    assert "cancelled" in db.session.scalars(select(Notification.text)).one()
    assert client.post(f"/doctor/prescriptions/{prescription.id}/revise").status_code == 303
    assert len(db.session.scalars(select(Prescription)).all()) == 1  # a cancelled one is not revised


def test_a_new_version_copies_items_and_supersedes_the_old_one_when_issued(client, make, login_as):
    old = make.prescription(items=2, status=PrescriptionStatus.active)
    login_as(old.doctor.user)
    response = client.post(f"/doctor/prescriptions/{old.id}/revise")
    new = db.session.scalar(select(Prescription).where(Prescription.id != old.id))
    assert response.headers["Location"].endswith(f"/doctor/prescriptions/{new.id}")
    assert (
        client.post(f"/doctor/prescriptions/{old.id}/revise").headers["Location"]
        == response.headers["Location"]
    )
    assert (new.status, new.supersedes_id) == (PrescriptionStatus.draft, old.id)
    assert [i.drug for i in new.items] == ["Medicine 1", "Medicine 2"]
    assert {i.id for i in new.items}.isdisjoint({i.id for i in old.items})
    client.post(f"/doctor/prescriptions/{new.id}/items/{new.items[1].id}/delete")
    db.session.refresh(old)
    assert old.status == PrescriptionStatus.active and len(old.items) == 2  # the issued one is untouched
    client.post(f"/doctor/prescriptions/{new.id}/issue")
    db.session.expire_all()
    old, new = db.session.get(Prescription, old.id), db.session.get(Prescription, new.id)
    assert old.status == PrescriptionStatus.superseded
    assert new.status == PrescriptionStatus.active and new.number != old.number
    assert "replacing" in db.session.scalars(select(Notification.text)).one()
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.record_type == "prescription").order_by(AuditEvent.id)
    ).all()
    assert actions == ["create", "supersede", "issue"]


def test_pdf_holds_hospital_doctor_patient_date_number_and_items(client, login_as, draft):
    login_as(draft.doctor.user)
    base = f"/doctor/prescriptions/{draft.id}"
    client.post(f"{base}/items", data=ITEM)
    client.post(f"{base}/items", data=ITEM | {"drug": "Paracetamol", "strength": "500 mg", "quantity": "12"})
    client.post(f"{base}/issue")
    prescription = db.session.get(Prescription, draft.id)
    login_as(prescription.patient.user)
    response = client.get(f"/patient/prescriptions/{draft.id}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert f'filename="{prescription.number}.pdf"' in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    for expected in (
        "Riverside General Hospital",
        "12 River Road",
        "Dr Chinedu Okafor",
        "Sofía García-Łukasz",
        prescription.patient.mrn,
        prescription.number,
        f"{prescription.issued_at.astimezone(prescription.hospital.tz):%d %B %Y}",
        "Amoxicillin 500 mg capsule",
        "three times a day",
        "Finish the course",
        "Paracetamol",
    ):
        assert expected in text, expected
    assert text.index("Amoxicillin") < text.index("Paracetamol")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "download")).one()
    assert (event.user_id, event.record_id) == (prescription.patient.user_id, prescription.id)


def test_pdf_falls_back_to_helvetica_without_the_font(app, make, monkeypatch, tmp_path):
    prescription = make.prescription(items=1, status=PrescriptionStatus.active)
    prescription.patient.user.full_name = "Łukasz Żółć"
    monkeypatch.setitem(app.config, "PDF_FONT", str(tmp_path / "missing.ttf"))
    text = pdf_text(prescription_pdf.prescription_pdf(prescription))
    assert "Lukasz Zólc" in text  # ó is in Latin-1; Ł and Ż are not
    assert prescription.number in text and "Medicine 1" in text


def test_cancelled_and_superseded_pdfs_say_so(make):
    cancelled = make.prescription(items=1, status=PrescriptionStatus.cancelled)
    cancelled.cancel_reason = "Allergy found"
    assert "CANCELLED" in pdf_text(prescription_pdf.prescription_pdf(cancelled))
    superseded = make.prescription(items=1, status=PrescriptionStatus.superseded)
    assert "SUPERSEDED" in pdf_text(prescription_pdf.prescription_pdf(superseded))


def test_an_item_id_of_another_prescription_is_404(client, make, login_as):
    mine = make.prescription(items=1)
    other = make.prescription(make.encounter(make.appointment(doctor_user=mine.doctor.user)), items=1)
    login_as(mine.doctor.user)
    other_item = db.session.scalars(
        select(PrescriptionItem).where(PrescriptionItem.prescription_id == other.id)
    ).one()
    response = client.post(
        f"/doctor/prescriptions/{mine.id}/items/{other_item.id}", data={"edit-drug": "X", "edit-version": "1"}
    )
    assert response.status_code == 404
    assert drugs(other) == ["Medicine 1"]


def test_a_double_submitted_medicine_is_added_once_and_the_form_says_why(client, login_as, draft):
    login_as(draft.doctor.user)
    url = f"/doctor/prescriptions/{draft.id}/items"
    assert client.post(url, data=ITEM, headers=HX).status_code == 200
    again = client.post(url, data=ITEM | {"drug": " amoxicillin ", "instructions": "other"}, headers=HX)
    assert again.status_code == 409
    assert b"already lists this medicine with the same dose" in again.data
    assert b'value=" amoxicillin "' in again.data or b'value="amoxicillin"' in again.data  # input kept
    assert drugs(draft) == ["Amoxicillin"]
    # The same medicine at another dose is a deliberate line (e.g. a tapering course).
    assert client.post(url, data=ITEM | {"dose": "2 capsules"}, headers=HX).status_code == 200
    assert drugs(draft) == ["Amoxicillin", "Amoxicillin"]
    # Without JavaScript the refusal is the whole page, with the same message.
    page = client.post(url, data=ITEM)
    assert page.status_code == 409 and b"<html" in page.data and b"already lists this medicine" in page.data
