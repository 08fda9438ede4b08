"""In Chromium: a receptionist finds a patient as she types, registers a walk-in who has no email,
is warned of a likely duplicate (same name and date of birth) and registers him anyway as a
different person; his desk page shows his new medical record number, and the search finds him by it."""

from __future__ import annotations

from datetime import date

from playwright.sync_api import expect

from hms.extensions import db
from tests.e2e.conftest import log_in


def test_a_walk_in_without_email_is_registered_at_the_desk(page, live_server, make):
    hospital = make.hospital(name="Riverside General", timezone="Africa/Nairobi")
    make.staff(hospital, email="reception@example.org")
    earlier = make.patient(name="Baraka Otieno", date_of_birth=date(1990, 6, 15), phone="+254 733 100 200")
    earlier.patient.registered_hospital_id = hospital.id
    db.session.commit()

    log_in(page, live_server, "reception@example.org")
    page.get_by_role("button", name="Open the registration desk").click()

    # The results come as she types (debounced), without a page load.
    page.get_by_label("Find a patient").fill("otieno bar")
    expect(page.locator("#desk-results")).to_contain_text(earlier.patient.mrn)

    page.get_by_role("button", name="Register a new patient").click()
    page.get_by_label("Full name").fill("Baraka  OTIENO")
    page.get_by_label("Date of birth").fill("1990-06-15")
    page.get_by_label("Sex").select_option("male")
    page.get_by_label("Phone", exact=True).fill("0722 555 666")
    page.get_by_label("Address").fill("Kisumu Road 12")
    page.get_by_role("button", name="Register", exact=True).click()

    warning = page.get_by_role("alert")
    expect(warning).to_contain_text("This patient may already be registered")
    expect(warning).to_contain_text(earlier.patient.mrn)
    expect(warning).to_contain_text("Same name and date of birth")
    expect(page.get_by_label("Address")).to_have_value("Kisumu Road 12")  # the form is kept

    page.get_by_role("button", name="These are different people: register anyway").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Baraka OTIENO")
    expect(page.get_by_text("Registered at the desk, not claimed yet")).to_be_visible()
    mrn = page.locator("hgroup .mrn").inner_text()
    assert mrn.startswith("P") and mrn != earlier.patient.mrn

    page.get_by_role("link", name="Back to the desk").click()
    page.get_by_label("Find a patient").fill(mrn)
    results = page.locator("#desk-results")
    expect(results).to_contain_text("Baraka OTIENO")
    expect(results).not_to_contain_text(earlier.patient.mrn)
    assert page.js_errors == []
