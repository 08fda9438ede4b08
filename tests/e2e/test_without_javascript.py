"""With JavaScript switched off, every role still gets its work done: plain links, form posts and
redirects (one journey per role, in Chromium with java_script_enabled=False)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from hms import clock
from hms.models import HospitalStatus
from tests.e2e.conftest import log_in


@pytest.fixture
def page(browser, request) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A browser tab that runs no script at all (htmx and app.js are never executed)."""
    context = browser.new_context(locale="en-GB", timezone_id="UTC", java_script_enabled=False)
    context.set_default_timeout(15000)
    tab = context.new_page()
    yield tab
    context.close()


def test_scripts_really_are_off(page, live_server):
    page.goto(f"{live_server}/login")
    assert page.evaluate("typeof window.htmx") == "undefined"


def test_a_patient_books_a_visit_without_javascript(page, live_server, make):
    hospital = make.hospital(name="Riverside General", timezone="Africa/Nairobi")
    doctor = make.doctor_at(hospital, name="Chinedu Okafor")
    make.schedule(doctor, hospital, start="09:00", end="12:00")
    make.patient(email="amina@example.org")
    log_in(page, live_server, "amina@example.org")

    page.goto(f"{live_server}/patient/doctors/{doctor.doctor.id}/at/{hospital.id}")
    day = page.locator(".day-strip .day").nth(2)
    href = day.get_attribute("href")
    day.click()  # a plain link: the whole page comes back with that day's times
    expect(page).to_have_url(f"{live_server}{href}")
    label = page.locator("#slots label.slot").first
    label.click()
    page.get_by_label("Reason for the visit").fill("Headache for three days")
    page.get_by_role("button", name="Book this time").click()

    expect(page.get_by_text("Your appointment is booked.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/patient/appointments/[0-9]+$"))
    expect(page.get_by_text("Headache for three days")).to_be_visible()


def test_a_doctor_marks_arrived_and_edits_a_prescription_without_javascript(page, live_server, make):
    hospital = make.hospital(timezone="Africa/Nairobi")
    doctor = make.doctor_at(hospital, email="dr.okafor@example.org", name="Chinedu Okafor")
    patient = make.patient(name="Amina Hassan")
    # In three hours, whatever the time of day: check-in opens 12 hours before a visit.
    start = (clock.now() + timedelta(hours=3)).replace(second=0, microsecond=0)
    make.appointment(patient, doctor, hospital, start_at=start)
    visit = make.appointment(doctor_user=doctor, hospital_row=hospital)
    prescription = make.prescription(make.encounter(visit))
    log_in(page, live_server, "dr.okafor@example.org")

    page.goto(f"{live_server}/doctor/agenda?day={start.astimezone(hospital.tz).date().isoformat()}")
    row = page.locator("tr", has_text="Amina Hassan")
    row.get_by_role("button", name="Arrived").click()
    expect(page).to_have_url(re.compile(r"/doctor/agenda(\?day=[0-9-]+)?$"))
    expect(page.locator("tr", has_text="Amina Hassan")).to_contain_text("arrived")

    page.goto(f"{live_server}/doctor/prescriptions/{prescription.id}")
    page.get_by_role("button", name="Edit").first.click()  # a link to the page with that row as a form
    page.locator("input[name=edit-strength]").fill("250 mg")
    page.get_by_role("button", name="Save medicine").click()
    expect(page).to_have_url(f"{live_server}/doctor/prescriptions/{prescription.id}")
    expect(page.locator("table.items")).to_contain_text("250 mg")


def test_a_hospital_admin_switches_a_doctor_off_without_javascript(page, live_server, make):
    hospital = make.hospital()
    make.hospital_admin(hospital, email="grace@example.org")
    doctor = make.doctor_at(hospital, name="Priya Mehta")
    log_in(page, live_server, "grace@example.org")

    page.goto(f"{live_server}/hospital/doctors")
    switch = page.get_by_role("switch", name="Dr Priya Mehta takes bookings here")
    expect(switch).to_have_attribute("aria-checked", "true")
    switch.click()
    expect(page).to_have_url(f"{live_server}/hospital/doctors")
    expect(page.get_by_role("switch", name="Dr Priya Mehta takes bookings here")).to_have_attribute(
        "aria-checked", "false"
    )
    assert doctor.doctor.id


def test_the_platform_admin_approves_a_hospital_without_javascript(page, live_server, make):
    make.super_admin(email="root@example.org")
    make.hospital(name="Hillside Community Clinic", status=HospitalStatus.pending)
    log_in(page, live_server, "root@example.org")

    page.goto(f"{live_server}/admin/hospitals")
    row = page.locator("tr", has_text="Hillside Community Clinic")
    expect(row).to_contain_text("pending")
    row.get_by_role("button", name="Approve").click()
    expect(page.locator("tr", has_text="Hillside Community Clinic")).to_contain_text("active")


def test_the_desk_records_a_payment_without_javascript(page, live_server, make):
    hospital = make.hospital(currency="KES")
    make.staff(hospital, email="desk@example.org")
    bill = make.bill(make.patient(name="John Mwangi"), hospital, items=[("X-ray, chest", 1, 250000)])
    log_in(page, live_server, "desk@example.org")

    page.goto(f"{live_server}/staff/bills/{bill.id}")
    page.locator("#desk-payment input[name=amount]").fill("2500")
    page.get_by_role("button", name="Record payment").click()
    expect(page).to_have_url(f"{live_server}/staff/bills/{bill.id}")
    expect(page.get_by_text("Payment recorded.")).to_be_visible()
    expect(page.locator("#bill-money")).to_contain_text("paid")
