"""Times written outside a page (the bell, emails, the reminder job, PDFs) are on the clock of the
visit's hospital, labelled with that zone's own abbreviation, in the reader's language: a patient with
visits in New York and in Kolkata reads 09:00 EST for one and 09:00 IST for the other."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import Notification, PrescriptionStatus
from hms.services import outbox, reminders, scheduling
from tests.test_billing_desk import pdf_text

MONDAY = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)  # 01:00 in New York, 11:30 in Kolkata

# Tomorrow's 09:00 on each hospital's wall, as each language writes it.
NEW_YORK = {
    "en": "Tue 08 Jan 2030 at 09:00 EST",
    "es": "mar 08 ene 2030 a las 09:00 EST",
    "ar": "الثلاثاء 08 يناير 2030 الساعة 09:00 EST",
}
KOLKATA = {
    "en": "Tue 08 Jan 2030 at 09:00 IST",
    "es": "mar 08 ene 2030 a las 09:00 IST",
    "ar": "الثلاثاء 08 يناير 2030 الساعة 09:00 IST",
}


def _book_in(make, hospital, patient):  # type: ignore[no-untyped-def]
    doctor, _, start = make.bookable_slot(hospital)
    doctor.locale = patient.locale  # the doctor's notice is written in his language when the visit is booked
    appointment = scheduling.book_appointment(
        patient=patient.patient,
        doctor_id=doctor.doctor.id,
        hospital_id=hospital.id,
        start=start,
        reason="Check-up",
        booked_by=patient,
    )
    db.session.commit()
    return appointment, doctor


@pytest.fixture
def two_hospitals(make):  # type: ignore[no-untyped-def]
    clock.set_frozen(MONDAY)
    new_york = make.hospital(name="Hudson Clinic", timezone="America/New_York", currency="USD")
    kolkata = make.hospital(name="Salt Lake Hospital", timezone="Asia/Kolkata", currency="INR")
    return new_york, kolkata


def _notice_text(user) -> str:  # type: ignore[no-untyped-def]
    rows = db.session.scalars(
        select(Notification).where(Notification.user_id == user.id, Notification.kind == "appointment_booked")
    )
    return " ".join(n.text for n in rows)


@pytest.mark.parametrize("language", ["en", "es", "ar"])
def test_notices_and_emails_give_each_visit_its_hospitals_time_and_zone(
    make, two_hospitals, smtp_server, language
):
    new_york, kolkata = two_hospitals
    patient = make.patient(name="Amina Hassan")
    patient.locale = language
    ny_visit, ny_doctor = _book_in(make, new_york, patient)
    kol_visit, kol_doctor = _book_in(make, kolkata, patient)
    assert ny_visit.start_at == datetime(2030, 1, 8, 14, 0, tzinfo=UTC)
    assert kol_visit.start_at == datetime(2030, 1, 8, 3, 30, tzinfo=UTC)

    # The doctors' bells (the notice is written when the visit is booked, in the doctor's language).
    ny_doctor_text, kol_doctor_text = _notice_text(ny_doctor), _notice_text(kol_doctor)
    assert NEW_YORK[language] in ny_doctor_text and "14:00" not in ny_doctor_text
    assert KOLKATA[language] in kol_doctor_text and "03:30" not in kol_doctor_text

    # The patient's confirmations, through a real SMTP server.
    outbox.deliver_all_due("test-worker")
    bodies = [
        m.get_body(preferencelist=("plain",)).get_content()
        for m in smtp_server.messages
        if m["To"] == patient.email and m["Subject"] and "HMS" in m["Subject"]
    ]
    assert any(NEW_YORK[language] in body for body in bodies), bodies
    assert any(KOLKATA[language] in body for body in bodies), bodies


def test_the_bell_dates_a_notice_on_its_hospitals_clock(client, login_as, make, two_hospitals):
    _, kolkata = two_hospitals
    patient = make.patient()
    _, doctor = _book_in(make, kolkata, patient)
    login_as(doctor)
    page = client.get("/notifications/").get_data(as_text=True)
    assert "07 Jan 2030 at 11:30 IST" in page  # when the notice came: 06:00 UTC, on Kolkata's clock


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "Wed 09 Jan 2030 at 09:00 IST"), ("ar", "الأربعاء 09 يناير 2030 الساعة 09:00 IST")],
)
def test_the_reminder_says_the_visits_local_time_and_zone(make, two_hospitals, language, expected):
    _, kolkata = two_hospitals
    patient = make.patient()
    patient.locale = language
    start = datetime(2030, 1, 9, 3, 30, tzinfo=UTC)  # booked two days ahead
    appointment = make.appointment(patient, make.doctor_at(kolkata), kolkata, start_at=start)
    clock.set_frozen(datetime(2030, 1, 8, 20, 0, tzinfo=UTC))  # 7½ hours before the visit
    assert reminders.send_reminders() == 1
    db.session.commit()
    notice = db.session.scalar(
        select(Notification).where(
            Notification.user_id == patient.id, Notification.kind == "appointment_reminder"
        )
    )
    assert expected in notice.text
    assert notice.timezone == "Asia/Kolkata" and appointment.hospital_id == kolkata.id


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "08 January 2030 at 09:00 IST"),
        ("es", "08 enero 2030 a las 09:00 IST"),
        ("ar", "IST"),  # the Arabic line is laid out right to left; its words are checked below
    ],
)
def test_a_prescription_pdf_is_dated_on_the_hospitals_clock_with_its_zone(
    client, login_as, make, two_hospitals, language, expected
):
    _, kolkata = two_hospitals
    doctor = make.doctor_at(kolkata)
    patient = make.patient()
    visit = make.appointment(patient, doctor, kolkata, start_at=datetime(2030, 1, 8, 3, 30, tzinfo=UTC))
    clock.set_frozen(datetime(2030, 1, 8, 3, 30, tzinfo=UTC))
    prescription = make.prescription(make.encounter(visit), status=PrescriptionStatus.active)
    patient.locale = language
    db.session.commit()
    login_as(patient)
    text = pdf_text(client.get(f"/patient/prescriptions/{prescription.id}.pdf").data)
    assert expected in text and "09:00" in text and "03:30" not in text
    assert "Asia/Kolkata" not in text  # the label a reader knows, not the database's name
    if language == "ar":
        assert "يناير" in text and "الساعة" in text


@pytest.mark.parametrize(
    ("language", "expected"), [("en", "08 Jan 2030 at 09:00 EST"), ("es", "08 ene 2030 a las 09:00 EST")]
)
def test_a_receipt_is_dated_on_the_hospitals_clock_with_its_zone(
    client, login_as, make, two_hospitals, language, expected
):
    new_york, _ = two_hospitals
    patient = make.patient()
    patient.locale = language
    bill = make.bill(patient, new_york, items=[("Consultation", 1, 5000)])
    clock.set_frozen(datetime(2030, 1, 8, 14, 0, tzinfo=UTC))
    payment = make.desk_payment(bill, make.staff(new_york))
    login_as(patient)
    text = pdf_text(client.get(f"/patient/payments/{payment.id}/receipt.pdf").data)
    assert expected in text and "America/New_York" not in text
