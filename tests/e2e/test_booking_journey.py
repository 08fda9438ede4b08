"""In Chromium: a patient searches, opens a doctor, picks a day and a time, books, sees the visit in
"My appointments", cancels it, and the time shows free again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in


def test_patient_books_and_cancels_a_visit(page, live_server, make):
    hospital = make.hospital(name="Riverside General", city="Nairobi", timezone="Africa/Nairobi")
    doctor = make.doctor_at(hospital, name="Chinedu Okafor", specialty="Cardiology")
    make.doctor_at(hospital, name="Priya Mehta", specialty="Paediatrics")
    make.schedule(doctor, hospital, start="09:00", end="12:00")
    make.patient(email="amina@example.org", name="Amina Hassan")

    log_in(
        page, live_server, "amina@example.org"
    )  # the login page's own header also offers "Find a doctor" (the public one)
    page.get_by_role("link", name="Find a doctor").first.click()

    # Live search: typing narrows the list without a page load.
    expect(page.get_by_text("2 doctors found")).to_be_visible()
    page.get_by_label("Name, specialty or hospital").fill("cardio")
    expect(page.get_by_text("1 doctor found")).to_be_visible()
    page.get_by_role("link", name="Dr Chinedu Okafor").click()
    expect(page.get_by_role("heading", name="Dr Chinedu Okafor")).to_be_visible()

    # Pick the third day of the strip; its times arrive as a fragment.
    day = page.locator(".day-strip .day").nth(2)
    day_label = day.get_attribute("aria-label").split(":")[0]
    day.click()
    expect(day).to_have_attribute("aria-current", "date")
    expect(page.locator("#slots legend")).to_contain_text(day_label)
    slot = page.locator("#slots input[name=slot]").first
    slot_label = slot.get_attribute("aria-label")
    slot_value = slot.get_attribute("value")
    assert slot_label.endswith("09:00 (Africa/Nairobi)")
    slot.check()
    page.get_by_label("Reason for the visit").fill("Chest pain when climbing stairs")
    page.get_by_role("button", name="Book this time").click()

    expect(page.get_by_text("Your appointment is booked.")).to_be_visible()
    expect(page.get_by_text("Chest pain when climbing stairs")).to_be_visible()
    # The answer was the confirmation's <main> and title alone: the address, the tab's title and the
    # page around it (one header, one footer) are those of the appointment's page.
    expect(page).to_have_url(re.compile(r"/patient/appointments/\d+$"))
    expect(page).to_have_title("Appointment · HMS")
    expect(page.locator("header.shell")).to_have_count(1)
    expect(page.locator("body > footer")).to_have_count(1)
    expect(page.locator("main#main")).to_have_count(1)

    page.get_by_role("link", name="My appointments", exact=True).click()
    row = page.locator("table.appointments tbody tr").first
    expect(row).to_contain_text("Dr Chinedu Okafor")
    # Cancelling first asks, in place (no browser dialog): what happens to the bill, a reason, and a
    # choice; keeping it puts the buttons back.
    page.on("dialog", lambda dialog: pytest.fail(f"a browser dialog opened: {dialog.message}"))
    row.get_by_role("button", name="Cancel…").click()
    panel = row.locator(".confirm-panel")
    expect(panel).to_contain_text("Cancel your visit with Dr Chinedu Okafor")
    expect(panel).to_contain_text("still to pay on its bill is cancelled")
    panel.get_by_role("button", name="Keep the appointment").click()
    expect(row.get_by_role("button", name="Cancel…")).to_be_visible()
    row.get_by_role("button", name="Cancel…").click()
    row.get_by_label("Reason (optional)").fill("Feeling better")
    row.get_by_role("button", name="Cancel the appointment").click()
    expect(row).to_contain_text("The time is free for others again.")
    expect(row).to_contain_text("cancelled")

    # Back on the doctor's page the same time is offered again.
    page.goto(f"{live_server}/patient/doctors/{doctor.doctor.id}/at/{hospital.id}")
    page.locator(".day-strip .day").nth(2).click()
    expect(page.locator(f'#slots input[value="{slot_value}"]')).to_be_visible()
    assert page.js_errors == []
