"""In Chromium, with the keyboard alone (Tab, Shift+Tab, Enter, Space and typing; no clicks): a patient
books a visit from the doctor's page, and after each HTMX swap the focus is on the swapped content."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import expect_logged_in
from tests.factories import PASSWORD


def focused(locator) -> bool:  # type: ignore[no-untyped-def]
    return bool(locator.evaluate("el => el === document.activeElement"))


def tab_to(page, locator, *, backwards: bool = False, limit: int = 80) -> None:  # type: ignore[no-untyped-def]
    """Press Tab (or Shift+Tab) until `locator` has the focus, as a keyboard user would."""
    for _ in range(limit):
        if focused(locator):
            return
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    raise AssertionError(f"{limit} Tabs never reached {locator}")


def test_patient_books_with_the_keyboard_alone(page, live_server, make):
    hospital = make.hospital(name="Riverside General", timezone="Europe/Berlin")
    doctor = make.doctor_at(hospital, name="Chinedu Okafor", specialty="Cardiology")
    make.schedule(doctor, hospital, start="09:00", end="11:00")
    make.patient(email="amina@example.org", name="Amina Hassan")

    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("amina@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect_logged_in(page)
    page.goto(f"{live_server}/patient/doctors/{doctor.doctor.id}/at/{hospital.id}")
    expect(page.get_by_role("heading", name="Dr Chinedu Okafor")).to_be_visible()

    # Booking without a time: the form comes back (422) and the focus is on its error.
    book = page.get_by_role("button", name="Book this time")
    tab_to(page, book)
    page.keyboard.press("Enter")
    error = page.locator("#booking-form #slot-error")
    expect(error).to_be_visible()
    expect(error).to_be_focused()

    # Back up to the day strip; Enter on the third day swaps its times in and focuses their legend.
    day = page.locator(".day-strip .day").nth(2)
    day_name = day.get_attribute("aria-label").split(":")[0]
    tab_to(page, day, backwards=True)
    page.keyboard.press("Enter")
    legend = page.locator("#slots legend")
    expect(legend).to_contain_text(day_name)
    expect(legend).to_be_focused()
    expect(day).to_have_attribute("aria-current", "date")

    # Tab enters the group of times at the first one, announced with its full date, time and zone.
    first = page.locator("#slots input[name=slot]").first
    page.keyboard.press("Tab")
    expect(first).to_be_focused()
    weekday, number, month = day_name.split()
    expect(first).to_have_attribute(
        "aria-label", re.compile(rf"^{weekday} {int(number)} {month} \d{{4}}, 09:00 \(Europe/Berlin\)$")
    )
    page.keyboard.press("Space")
    expect(first).to_be_checked()
    tab_to(page, page.get_by_label("Reason for the visit"))
    page.keyboard.type("Palpitations at night")
    tab_to(page, book)
    page.keyboard.press("Enter")

    # Booked: the new page starts at its message.
    message = page.get_by_text("Your appointment is booked.")
    expect(message).to_be_visible()
    expect(message).to_be_focused()
    expect(page.get_by_text("Palpitations at night")).to_be_visible()
    assert page.js_errors == []
