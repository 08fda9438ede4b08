"""Every HTMX interaction shows that it is busy while its request is in flight on a slow network.

The rule is global (static/js/app.js, part 3): whatever sends a request a person started gets
aria-busy="true", and so does a form's submit button; Pico draws a spinner in busy buttons and links,
app.css dims busy forms and rows. Here the network is throttled over CDP so that each request takes
more than a second, and the indicator is checked while it is in flight and gone once it is answered."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import log_in

IN_FLIGHT_MS = 1500  # each request waits this long; the indicator must show well within it


def throttle(page) -> None:  # type: ignore[no-untyped-def]
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": IN_FLIGHT_MS, "downloadThroughput": 50_000, "uploadThroughput": 50_000},
    )


def spinner(locator) -> str:  # type: ignore[no-untyped-def]
    """The image Pico draws before a busy button or link ('none' when there is none)."""
    return locator.evaluate("el => getComputedStyle(el, '::before').backgroundImage")


def test_the_patient_sees_the_day_and_the_booking_busy(page, live_server, make):
    hospital = make.hospital(timezone="Africa/Nairobi")
    doctor = make.doctor_at(hospital, name="Chinedu Okafor")
    make.schedule(doctor, hospital, start="09:00", end="12:00")
    make.patient(email="amina@example.org")
    log_in(page, live_server, "amina@example.org")
    page.goto(f"{live_server}/patient/doctors/{doctor.doctor.id}/at/{hospital.id}")
    throttle(page)

    day = page.locator(".day-strip .day").nth(2)
    day.click()
    expect(day).to_have_attribute("aria-busy", "true", timeout=IN_FLIGHT_MS // 2)
    assert "url(" in spinner(day)
    expect(page.locator("#slots legend")).to_contain_text(day.get_attribute("aria-label").split(":")[0])
    expect(day).not_to_have_attribute("aria-busy", "true")
    assert spinner(day) == "none"

    page.locator("#slots label.slot").first.click()
    page.get_by_label("Reason for the visit").fill("Cough")
    button = page.get_by_role("button", name="Book this time")
    button.click()
    expect(button).to_have_attribute("aria-busy", "true", timeout=IN_FLIGHT_MS // 2)
    expect(page.locator("#booking-form")).to_have_attribute("aria-busy", "true")
    assert "url(" in spinner(button)
    expect(page.get_by_text("Your appointment is booked.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/patient/appointments/[0-9]+$"))
    expect(page).to_have_title(re.compile("Appointment"))
    assert page.js_errors == []


def test_the_live_doctor_search_shows_it_is_searching(page, live_server, make):
    hospital = make.hospital()
    make.doctor_at(hospital, name="Chinedu Okafor", specialty="Cardiology")
    make.patient(email="amina@example.org")
    log_in(page, live_server, "amina@example.org")
    page.get_by_role("link", name="Find a doctor").first.click()
    throttle(page)
    page.get_by_label("Name, specialty or hospital").fill("cardio")
    search = page.get_by_role("button", name="Search")
    expect(search).to_have_attribute("aria-busy", "true", timeout=IN_FLIGHT_MS)
    expect(page.get_by_text("1 doctor found")).to_be_visible()
    expect(search).not_to_have_attribute("aria-busy", "true")


def test_the_doctor_sees_the_inline_prescription_edit_busy(page, live_server, make):
    hospital = make.hospital()
    doctor = make.doctor_at(hospital, email="dr.okafor@example.org")
    visit = make.appointment(doctor_user=doctor, hospital_row=hospital)
    prescription = make.prescription(make.encounter(visit), items=2)
    log_in(page, live_server, "dr.okafor@example.org")
    page.goto(f"{live_server}/doctor/prescriptions/{prescription.id}")
    throttle(page)

    edit = page.locator("table.items tbody tr").nth(1).get_by_role("button", name="Edit")
    edit.click()
    expect(edit).to_have_attribute("aria-busy", "true", timeout=IN_FLIGHT_MS // 2)
    assert "url(" in spinner(edit)
    strength = page.locator("input[name=edit-strength]")
    expect(strength).to_be_visible()
    strength.fill("1 g")
    save = page.get_by_role("button", name="Save medicine")
    save.click()
    expect(save).to_have_attribute("aria-busy", "true", timeout=IN_FLIGHT_MS // 2)
    expect(page.locator("table.items")).to_contain_text("1 g")
    expect(page.locator("table.items [aria-busy]")).to_have_count(0)
    assert page.js_errors == []


def test_the_hospital_admin_sees_the_membership_switch_busy(page, live_server, make):
    hospital = make.hospital()
    make.hospital_admin(hospital, email="grace@example.org")
    make.doctor_at(hospital, name="Priya Mehta")
    log_in(page, live_server, "grace@example.org")
    page.goto(f"{live_server}/hospital/doctors")
    throttle(page)

    switch = page.get_by_role("switch", name="Dr Priya Mehta takes bookings here")
    form = page.locator("form", has=switch)
    switch.click()
    # The switch keeps its look; its form is dimmed and says it is busy.
    expect(form).to_have_attribute("aria-busy", "true", timeout=IN_FLIGHT_MS // 2)
    assert float(form.evaluate("el => getComputedStyle(el).opacity")) < 1
    expect(page.get_by_role("switch", name="Dr Priya Mehta takes bookings here")).to_have_attribute(
        "aria-checked", "false"
    )
    assert page.js_errors == []


def test_the_desk_sees_the_payment_busy(page, live_server, make):
    hospital = make.hospital(currency="KES")
    make.staff(hospital, email="desk@example.org")
    bill = make.bill(make.patient(), hospital, items=[("X-ray, chest", 1, 250000)])
    log_in(page, live_server, "desk@example.org")
    page.goto(f"{live_server}/staff/bills/{bill.id}")
    throttle(page)

    page.locator("#desk-payment input[name=amount]").fill("1000")
    button = page.get_by_role("button", name="Record payment")
    button.click()
    expect(button).to_have_attribute("aria-busy", "true", timeout=IN_FLIGHT_MS // 2)
    assert "url(" in spinner(button)
    expect(page.get_by_text("Payment recorded.")).to_be_visible()
    assert page.js_errors == []
