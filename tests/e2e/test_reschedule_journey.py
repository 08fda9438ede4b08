"""In Chromium: a patient moves a booked visit to another time from its page; the moved visit's page
comes in the same answer (no second round trip), with its own address and title."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from playwright.sync_api import expect

from hms import clock
from hms.models import Appointment
from tests.e2e.conftest import log_in


def test_patient_moves_a_visit_to_another_time(page, live_server, make):
    hospital = make.hospital(name="Riverside General", city="Nairobi", timezone="Africa/Nairobi")
    doctor = make.doctor_at(hospital, name="Chinedu Okafor", specialty="Cardiology")
    make.schedule(doctor, hospital, start="09:00", end="12:00")
    patient = make.patient(email="amina@example.org", name="Amina Hassan")
    day = clock.now().astimezone(hospital.tz).date() + timedelta(days=2)
    start = datetime.combine(day, time(10, 0), tzinfo=hospital.tz).astimezone(UTC)
    visit = make.appointment(patient, doctor, hospital, start)

    log_in(page, live_server, "amina@example.org")
    page.goto(f"{live_server}/patient/appointments/{visit.id}")
    page.get_by_role("button", name="Move", exact=True).click()  # a link drawn as a button
    expect(page.get_by_role("heading", name="Move my appointment")).to_be_visible()

    # The picker opens on the visit's day, the visit's own time marked and not offered.
    expect(page.locator("#slots label.slot.current")).to_contain_text("10:00")
    later = datetime.combine(day, time(11, 30), tzinfo=hospital.tz).astimezone(UTC)
    page.locator(f'#slots input[value="{Appointment.slot_key(later)}"]').check()
    sent: list[str] = []
    page.on("request", lambda request: sent.append(f"{request.method} {request.url}"))
    page.get_by_role("button", name="Move to this time").click()

    expect(page.get_by_text("Your appointment is moved.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/patient/appointments/\d+$"))
    assert not page.url.endswith(f"/appointments/{visit.id}")
    # One round trip: the moved visit's page came in the answer to the move, not fetched after it.
    assert [s for s in sent if "/appointments/" in s] == [
        f"POST {live_server}/patient/appointments/{visit.id}/reschedule"
    ], sent
    expect(page).to_have_title("Appointment · HMS")
    expect(page.locator("header.shell")).to_have_count(1)
    expect(page.locator("main#main")).to_contain_text("11:30")
    page.get_by_role("link", name="My appointments", exact=True).click()
    rows = page.locator("table.appointments tbody tr")
    expect(rows.filter(has_text="11:30")).to_have_count(1)
    assert page.js_errors == []
