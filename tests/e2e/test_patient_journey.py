"""In Chromium, a patient's whole way through: she registers, books a visit, pays its bill at the desk (the
receptionist records the cash and she sees it paid, with its receipt), and after the doctor has issued her
prescription she downloads it as a PDF."""

from __future__ import annotations

import io

from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from hms.extensions import db
from hms.models import Appointment, Bill, PrescriptionStatus, User
from tests.e2e.conftest import confirm_registration, follow
from tests.factories import PASSWORD


def pdf_text(download) -> str:  # type: ignore[no-untyped-def]
    with open(download.path(), "rb") as handle:
        return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(handle.read())).pages)


def test_patient_registers_books_pays_at_the_desk_and_gets_her_prescription(page, browser, live_server, make):
    hospital = make.hospital(
        name="Riverside General", city="Nairobi", timezone="Africa/Nairobi", currency="KES"
    )
    doctor = make.doctor(email="dr.okafor@example.org", name="Chinedu Okafor", specialty="Cardiology")
    make.membership(doctor, hospital, fee_minor=150000)
    make.schedule(doctor, hospital, start="09:00", end="12:00")
    make.staff(hospital, email="reception@example.org")

    # Registration.
    page.goto(f"{live_server}/")
    page.get_by_role("link", name="Register", exact=True).click()
    page.get_by_label("Full name").fill("Amina Hassan")
    page.get_by_label("Email").fill("amina@example.org")
    page.get_by_label("Date of birth").fill("1988-04-12")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Phone").fill("+254 700 000 001")
    page.get_by_label("Password", exact=True).fill("blue kettle on the hill")
    page.get_by_label("Repeat the password").fill("blue kettle on the hill")
    page.get_by_role("button", name="Create my account").click()
    confirm_registration(page, live_server, "amina@example.org")
    expect(page.get_by_role("heading", name="Hello, Amina")).to_be_visible()

    # Booking: search, the doctor's page, a day, a time.
    page.get_by_role("link", name="Find a doctor").first.click()
    page.get_by_role("link", name="Dr Chinedu Okafor").click()
    page.locator(".day-strip .day").nth(1).click()
    expect(page.locator("#slots legend")).to_be_focused()
    page.locator("#slots input[name=slot]").first.check()
    page.get_by_label("Reason for the visit").fill("Palpitations at night")
    page.get_by_role("button", name="Book this time").click()
    expect(page.get_by_text("Your appointment is booked.")).to_be_visible()

    db.session.rollback()  # see what the server committed
    amina = db.session.scalar(select(User).where(User.email == "amina@example.org"))
    bill = db.session.scalar(select(Bill).where(Bill.patient_id == amina.patient.id))
    page.get_by_role("link", name="My bills").click()
    row = page.locator(f"#bill-{bill.id}")
    expect(row).to_contain_text("KES")
    expect(row).to_contain_text("Pay at the desk")

    # At the desk, in another browser: the receptionist records her cash.
    desk_context = browser.new_context(locale="en-GB", timezone_id="UTC")
    desk = desk_context.new_page()
    desk.set_default_timeout(15000)
    desk.goto(f"{live_server}/login")
    desk.get_by_label("Email").fill("reception@example.org")
    desk.get_by_label("Password").fill(PASSWORD)
    desk.get_by_role("button", name="Log in").click()
    desk.get_by_role("link", name="Billing desk").click()
    desk.get_by_label("Patient (name or MRN)").fill("Amina Hassan")
    desk.get_by_role("button", name="Filter").click()
    desk.get_by_role("link", name=bill.number).click()
    desk.get_by_label("Amount received").fill("1500")
    desk.get_by_label("Paid by").select_option("cash")
    desk.get_by_role("button", name="Record payment").click()
    expect(desk.get_by_text("Payment recorded. Receipt")).to_be_visible()
    desk_context.close()

    # She sees the bill paid and keeps the receipt.
    page.reload()
    expect(row).to_contain_text("paid")
    page.get_by_role("link", name=bill.number).click()
    with page.expect_download() as receipt:
        page.get_by_role("link", name="Receipt").first.click()
    text = pdf_text(receipt.value)
    assert "Amina Hassan" in text and "Riverside General" in text

    # The doctor saw her and issued a prescription (his own journey drives that page); she downloads it.
    appointment_id = bill.appointment_id
    db.session.rollback()  # a fresh snapshot: the server has written since
    appointment = db.session.get(Appointment, appointment_id)
    prescription = make.prescription(make.encounter(appointment), status=PrescriptionStatus.active)
    follow(page, "My visits")
    visit = page.locator("article.encounter").first
    expect(visit).to_contain_text("Dr Chinedu Okafor")
    with page.expect_download() as download:
        visit.get_by_role("link", name="Download PDF").click()
    assert download.value.suggested_filename == f"{prescription.number}.pdf"
    text = pdf_text(download.value)
    assert "Amina Hassan" in text and prescription.number in text and "Medicine 1" in text
    assert page.js_errors == []
