"""In Chromium, the doctor's day: she sets weekly working hours, records today's visit with a diagnosis
and an inline-built prescription, issues it, and the patient downloads the PDF."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import Notification, Prescription, PrescriptionStatus, ScheduleRule
from hms.models.scheduling import WEEKDAYS
from tests.e2e.conftest import follow, log_in, log_out


def add_medicine(page, drug, strength, dose, frequency, duration, quantity):  # type: ignore[no-untyped-def]
    form = page.locator("form.add-item")
    form.get_by_label("Medicine").fill(drug)
    form.get_by_label("Strength").fill(strength)
    form.get_by_label("Form").fill("tablet")
    form.get_by_label("Dose").fill(dose)
    form.get_by_label("Route").fill("oral")
    form.get_by_label("Frequency").fill(frequency)
    form.get_by_label("Duration").fill(duration)
    form.get_by_label("Quantity").fill(quantity)
    form.get_by_role("button", name="Add medicine").click()
    expect(page.locator("table.items").get_by_text(drug, exact=True)).to_be_visible()


def test_doctor_prescribes_inline_and_the_patient_downloads_the_pdf(page, live_server, make):
    hospital = make.hospital(name="Riverside General Hospital")
    doctor = make.doctor_at(hospital, email="dr.okafor@example.org", name="Chinedu Okafor")
    patient = make.patient(email="amina@example.org", name="Amina Hassan")
    start = clock.now().replace(second=0, microsecond=0) + timedelta(minutes=15)
    make.appointment(patient, doctor, hospital, start_at=start, reason="Sore throat for three days")

    log_in(page, live_server, "dr.okafor@example.org")

    # Her first weekly hours (not today's weekday) leave today's booked visit outside them: she is asked
    # first, with the focus on the question, and keeps the visit.
    weekday = (clock.now() + timedelta(days=3)).astimezone(hospital.tz).weekday()
    follow(page, "My schedule")
    section = page.locator(f"#schedule-{hospital.id}")
    expect(section.get_by_text("No working hours here yet")).to_be_visible()
    add = section.locator("form.rule-form")
    add.get_by_label("Day").select_option(str(weekday))
    add.get_by_label("From").fill("08:00")
    add.get_by_label("To", exact=True).fill("12:00")
    add.get_by_role("button", name="Add").click()
    question = section.get_by_role("alert")
    expect(question).to_contain_text("This change touches 1 booked appointment")
    expect(question).to_be_focused()
    question.get_by_role("button", name="Keep them").click()
    saved = section.get_by_text("Schedule saved.")
    expect(saved).to_be_visible()
    expect(saved).to_be_focused()  # the swapped section's message takes the focus
    expect(section.locator("table.rules tbody tr").first).to_contain_text(WEEKDAYS[weekday])
    expect(section.locator("table.rules tbody tr").first).to_contain_text("08:00–12:00")
    db.session.rollback()
    assert (
        db.session.scalar(select(ScheduleRule.weekday).where(ScheduleRule.hospital_id == hospital.id))
        == weekday
    )

    page.get_by_role("link", name="My patients").first.click()
    today = page.locator("#today")
    expect(today.get_by_text("Amina Hassan")).to_be_visible()
    today.get_by_role("button", name="Open visit").click()
    page.get_by_role("button", name="Start the visit record").click()
    expect(page.get_by_role("heading", name="Visit of Amina Hassan")).to_be_visible()
    expect(page.get_by_label("Chief complaint")).to_have_value("Sore throat for three days")

    page.get_by_label("BP systolic (mmHg)").fill("124")
    page.get_by_label("BP diastolic (mmHg)").fill("78")
    page.get_by_label("Temperature (°C)").fill("38.2")
    page.get_by_label("Notes").fill("Inflamed tonsils, no exudate.")
    page.get_by_role("button", name="Save visit record").click()
    expect(page.get_by_text("Visit record saved.")).to_be_visible()

    encounter_url = page.url
    page.get_by_label("Find an ICD-10 code").fill("pharyngitis")  # debounced search, swapped in by HTMX
    page.get_by_role("button", name="Add J02.9").click()
    expect(page.locator("ul.diagnoses").get_by_text("Acute pharyngitis unspecified")).to_be_visible()
    assert page.url == encounter_url

    page.get_by_role("button", name="New prescription").click()
    expect(page.get_by_role("heading", name=re.compile("Prescription Draft"))).to_be_visible()
    prescription_url = page.url
    add_medicine(page, "Amoxicillin", "500 mg", "1 tablet", "three times a day", "7 days", "21")
    add_medicine(page, "Paracetamol", "500 mg", "2 tablets", "every 6 hours if needed", "3 days", "24")
    add_medicine(page, "Chlorhexidine", "0.2%", "10 ml", "twice a day", "5 days", "1")
    assert page.url == prescription_url  # no page load: rows were swapped in place

    row = page.locator("table.items tbody tr", has_text="Paracetamol")
    row.get_by_role("button", name="Edit").click()
    editing = page.locator("tr.editing")
    expect(editing.get_by_label("Medicine")).to_have_value("Paracetamol")
    editing.get_by_label("Strength").fill("1 g")
    editing.get_by_label("Dose").fill("1 tablet")
    editing.get_by_role("button", name="Save medicine").click()
    expect(page.locator("tr.editing")).to_have_count(0)
    expect(page.locator("table.items tbody tr", has_text="Paracetamol")).to_contain_text("1 g")

    page.locator("table.items tbody tr", has_text="Chlorhexidine").get_by_role(
        "button", name="Move Chlorhexidine up"
    ).click()
    expect(page.locator("table.items tbody tr").nth(1)).to_contain_text("Chlorhexidine")

    page.get_by_role("button", name="Issue prescription").click()
    expect(page.get_by_text(re.compile(r"Prescription RX-\d{4}-\d{6} issued"))).to_be_visible()
    expect(page.get_by_role("button", name="Add medicine")).to_have_count(0)
    db.session.rollback()
    prescription = db.session.scalar(select(Prescription))
    assert prescription.status == PrescriptionStatus.active
    assert [i.drug for i in prescription.items] == ["Amoxicillin", "Chlorhexidine", "Paracetamol"]
    assert db.session.scalar(select(Notification.user_id)) == patient.id
    log_out(page)

    log_in(page, live_server, "amina@example.org")
    follow(page, "My visits")
    visit = page.locator("article.encounter").first
    expect(visit).to_contain_text("Dr Chinedu Okafor")
    expect(visit).to_contain_text("J02.9")
    expect(visit).not_to_contain_text("Inflamed tonsils")  # the doctor's notes stay with the doctor
    with page.expect_download() as download_info:
        visit.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"{prescription.number}.pdf"
    with open(download.path(), "rb") as handle:
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(handle.read())).pages)
    for expected in (
        "Riverside General Hospital",
        "Dr Chinedu Okafor",
        "Amina Hassan",
        prescription.number,
        "Amoxicillin 500 mg tablet",
        "Paracetamol 1 g tablet",
        "Chlorhexidine 0.2% tablet",
        "every 6 hours if needed",
    ):
        assert expected in text, expected
    assert page.js_errors == []
