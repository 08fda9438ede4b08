"""Prescription and receipt PDFs come in the reader's language: Spanish with its month names and
money format, Arabic shaped and laid out right to left, and English when no font can show the script."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from hms import clock
from hms.extensions import db
from hms.models import PrescriptionStatus
from tests.test_billing_desk import pdf_text

ISSUED = datetime(2026, 11, 3, 7, 30, tzinfo=UTC)  # 10:30 in Nairobi


def placed_texts(data: bytes) -> list[tuple[str, float]]:
    """(text, x of its start on the page) of each piece of text on the first page."""
    found: list[tuple[str, float]] = []

    def visit(text, cm, tm, font, size):  # type: ignore[no-untyped-def]
        if text.strip():
            found.append((text.strip(), tm[4] * cm[0] + cm[4]))

    PdfReader(io.BytesIO(data)).pages[0].extract_text(visitor_text=visit)
    return found


def x_of(texts: list[tuple[str, float]], wanted: str) -> float:
    return next(x for text, x in texts if wanted in text)


@pytest.fixture
def issued(make):  # type: ignore[no-untyped-def]
    clock.set_frozen(ISSUED)
    hospital = make.hospital(name="Riverside General", timezone="Africa/Nairobi", currency="KES")
    doctor = make.doctor_at(hospital, name="Chinedu Okafor")
    patient = make.patient(name="Sofía García")
    visit = make.appointment(patient, doctor, hospital, start_at=ISSUED)
    return make.prescription(make.encounter(visit), items=1, status=PrescriptionStatus.active)


def download(client, login_as, prescription, locale):  # type: ignore[no-untyped-def]
    user = prescription.patient.user
    user.locale = locale
    db.session.commit()
    login_as(user)
    response = client.get(f"/patient/prescriptions/{prescription.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return response.data


def test_a_spanish_reader_gets_a_spanish_prescription(client, login_as, issued):
    text = pdf_text(download(client, login_as, issued, "es"))
    for expected in ("Receta", f"Número: {issued.number}", "03 noviembre 2026", "Paciente", "Prescriptor"):
        assert expected in text, expected
    assert "Medicamento" in text and "Medicine 1 500 mg tablet" in text
    assert "Prescription" not in text and "November" not in text


def test_an_arabic_reader_gets_a_right_to_left_prescription(client, login_as, issued):
    data = download(client, login_as, issued, "ar")
    text = pdf_text(data)
    assert "وصفة طبية" in text and issued.number in text and "Sofía García" in text
    assert "نوفمبر" in text  # the month in Arabic
    placed = placed_texts(data)
    # Right to left: the patient's column (read first) is on the right of the prescriber's, and
    # the table's medicine column is on the right of its instructions column.
    assert x_of(placed, "المريض") > x_of(placed, "الطبيب الواصف")
    assert x_of(placed, "الدواء") > x_of(placed, "after food")


def test_without_a_font_for_arabic_the_prescription_is_in_english(
    app, client, login_as, issued, monkeypatch, tmp_path
):
    monkeypatch.setitem(app.config, "PDF_FONT", str(tmp_path / "missing.ttf"))
    text = pdf_text(download(client, login_as, issued, "ar"))
    assert "Prescription" in text and "03 November 2026" in text and "Sofía García" in text
    assert "وصفة" not in text


def test_a_spanish_reader_gets_a_spanish_receipt(client, make, login_as):
    hospital = make.hospital(name="Riverside General", currency="KES", timezone="Africa/Nairobi")
    patient = make.patient(name="Sofía García")
    patient.locale = "es"
    bill = make.bill(patient, hospital, items=[("Dressing", 2, 35050)])
    clock.set_frozen(ISSUED)
    payment = make.desk_payment(bill, make.staff(hospital), amount_minor=50000)
    login_as(patient)
    text = pdf_text(client.get(f"/patient/payments/{payment.id}/receipt.pdf").data)
    assert f"Recibo {payment.receipt_number}" in text and "Importe pagado" in text
    assert "500,00" in text and "03 nov 2026 a las 10:30 EAT" in text  # the hospital's clock, labelled
    assert "Amount paid" not in text


def test_an_arabic_reader_gets_a_right_to_left_receipt(client, make, login_as):
    hospital = make.hospital(name="Riverside General", currency="KES")
    patient = make.patient(name="Amina Hassan")
    patient.locale = "ar"
    bill = make.bill(patient, hospital, items=[("Dressing", 1, 50000)])
    payment = make.desk_payment(bill, make.staff(hospital), amount_minor=50000)
    login_as(patient)
    data = client.get(f"/patient/payments/{payment.id}/receipt.pdf").data
    assert "المبلغ المدفوع" in pdf_text(data)
    placed = placed_texts(data)
    assert x_of(placed, "المبلغ المدفوع") > x_of(placed, "500")  # the label on the right, the figure left
