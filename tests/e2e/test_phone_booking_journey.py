"""In Chromium: a receptionist books a visit by phone for a patient registered at the desk (the same
live slot picker as the patient's), sends him an invitation by email; he claims his account from the
emailed link, logs in and finds the visit, marked as booked by the front desk."""

from __future__ import annotations

from datetime import date

from playwright.sync_api import expect

from hms.extensions import db
from hms.models import Sex
from hms.services import desk
from tests.e2e.conftest import emailed_link, expect_logged_in, log_in, log_out

NEW_PASSWORD = "river stone lantern morning"


def test_a_phone_booking_appears_in_the_patients_account_after_he_claims_it(page, live_server, make):
    hospital = make.hospital(name="Riverside General", timezone="Africa/Nairobi")
    receptionist = make.staff(hospital, email="reception@example.org")
    doctor = make.doctor_at(hospital, name="Achieng Odhiambo")
    make.schedule(doctor, hospital)
    patient = desk.register_patient(
        hospital=hospital,
        actor=receptionist,
        full_name="Otieno Kamau",
        sex=Sex.male,
        phone="+254700123456",
        date_of_birth=date(1975, 2, 3),
    )
    db.session.commit()

    log_in(page, live_server, "reception@example.org")
    page.goto(f"{live_server}/staff/desk/patients/{patient.id}")
    page.get_by_role("button", name="Book a visit (phone)").click()
    page.get_by_role("link", name="Dr Achieng Odhiambo").click()
    page.get_by_label("Reason for the visit").fill("Back pain, called this morning")
    page.locator("#slots input[name=slot]").first.check()
    page.locator("#slots .slot-go:visible").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Otieno Kamau")
    expect(page.get_by_text("booked by the front desk")).to_be_visible()

    page.get_by_label("His email (optional: without one the link goes by SMS)").fill("otieno@example.org")
    page.get_by_role("button", name="Send an invitation to claim the account").click()
    expect(page.get_by_text("The invitation is on its way by email.")).to_be_visible()
    log_out(page)

    page.goto(live_server + emailed_link("otieno@example.org", kind="account_claim"))
    expect(page.get_by_role("heading", name="Set up your account")).to_be_visible()
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save and go to the login").click()

    expect(page.get_by_text("Your account is ready.")).to_be_visible()
    page.get_by_label("Email").fill("otieno@example.org")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect_logged_in(page)
    page.goto(f"{live_server}/patient/appointments")
    row = page.locator("tr").filter(has_text="Dr Achieng Odhiambo").first
    row.get_by_role("link").first.click()
    expect(page.get_by_text("booked by the front desk")).to_be_visible()
    expect(page.get_by_text("Back pain, called this morning")).to_be_visible()
    assert page.js_errors == []
