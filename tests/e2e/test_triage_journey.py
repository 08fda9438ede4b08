"""In Chromium: a nurse opens a checked-in patient from her dashboard, types his vital signs (an
impossible oxygen saturation is refused in place, what she typed kept), records the triage, and the
doctor, starting the visit record, finds the vitals filled in and marked as taken by the nurse."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from hms import clock
from hms.models import AppointmentStatus
from tests.e2e.conftest import log_in, log_out


def _log_in(page, live_server: str, email: str) -> None:  # type: ignore[no-untyped-def]
    log_in(page, live_server, email)


def test_the_doctor_finds_the_nurses_vitals_in_his_encounter(page, live_server, make):
    hospital = make.hospital(name="Riverside General", timezone="Africa/Nairobi")
    make.nurse(hospital, email="nurse@example.org")
    doctor = make.doctor_at(hospital, email="doctor@example.org", name="Chinedu Okafor")
    patient = make.patient(name="Amina Hassan", allergies="Penicillin")
    start = clock.now().replace(second=0, microsecond=0) - timedelta(minutes=5)
    visit = make.appointment(
        patient, doctor, hospital, start_at=start, status=AppointmentStatus.arrived, reason="Fever"
    )

    _log_in(page, live_server, "nurse@example.org")
    page.get_by_role("link", name="Amina Hassan").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Triage of Amina Hassan")
    expect(page.get_by_text("Penicillin")).to_be_visible()
    page.get_by_label("Systolic pressure (mmHg)").fill("132")
    page.get_by_label("Diastolic pressure (mmHg)").fill("84")
    page.get_by_label("Pulse (/min)").fill("96")
    page.get_by_label("Respiratory rate (/min)").fill("18")
    page.get_by_label("SpO₂ (%)").fill("140")
    page.get_by_label("Temperature (°C)").fill("38.6")
    page.get_by_label("Weight (kg)").fill("64")
    page.get_by_label("Height (cm)").fill("168")
    page.get_by_label("Triage level").select_option("3")
    page.get_by_role("button", name="Record triage").click()
    expect(page.locator("#spo2-error")).to_have_text("Enter an oxygen saturation from 0 to 100 percent.")
    expect(page.get_by_label("Pulse (/min)")).to_have_value("96")  # what she typed is kept
    page.get_by_label("SpO₂ (%)").fill("97")
    page.get_by_role("button", name="Record triage").click()
    expect(page.get_by_role("status")).to_contain_text("Triage recorded")
    expect(page.locator(".triage-current")).to_contain_text("BMI 22.7")
    page.set_viewport_size({"width": 360, "height": 800})  # a phone: nothing wider than the screen
    for path in ("/staff/", "/staff/triage", f"/staff/triage/{visit.id}"):
        page.goto(f"{live_server}{path}")
        assert not page.evaluate("document.documentElement.scrollWidth > innerWidth"), path
    page.set_viewport_size({"width": 1280, "height": 800})
    log_out(page)

    _log_in(page, live_server, "doctor@example.org")
    page.goto(f"{live_server}/doctor/appointments/{visit.id}/encounter")
    page.get_by_role("button", name="Start the visit record").click()
    expect(page.locator(".triage-for-doctor")).to_contain_text("Taken by nurse")
    expect(page.locator(".triage-for-doctor")).to_contain_text("SpO₂ 97 %")
    expect(page.get_by_label("Pulse (/min)")).to_have_value("96")
    expect(page.get_by_label("Chief complaint")).to_have_value("Fever")
    assert page.js_errors == []
