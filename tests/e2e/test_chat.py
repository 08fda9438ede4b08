"""In Chromium: a patient and a doctor chat about an appointment; new messages appear without reload."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from hms import clock
from tests.e2e.conftest import log_in


def test_messages_appear_on_the_other_side_without_reload(browser, live_server, make):
    hospital = make.hospital()
    doctor = make.doctor_at(hospital, email="dr.okafor@example.org", name="Chinedu Okafor")
    patient = make.patient(email="amina@example.org", name="Amina Hassan")
    appointment = make.appointment(patient, doctor, hospital, start_at=clock.now() + timedelta(days=1))
    contexts = [browser.new_context(locale="en-GB", timezone_id="UTC") for _ in range(2)]
    try:
        patient_page, doctor_page = (context.new_page() for context in contexts)
        errors: list[str] = []
        for tab in (patient_page, doctor_page):
            tab.set_default_timeout(15000)
            tab.on("pageerror", lambda exc: errors.append(str(exc)))
        log_in(patient_page, live_server, "amina@example.org")
        log_in(doctor_page, live_server, "dr.okafor@example.org")
        chat = f"{live_server}/appointments/{appointment.id}/chat"
        patient_page.goto(chat)
        doctor_page.goto(chat)
        doctor_url = doctor_page.url

        patient_page.get_by_label("Message").fill("Should I bring my X-ray? <b>yes</b>")
        patient_page.get_by_role("button", name="Send").click()
        expect(patient_page.locator("#chat-log .message.mine")).to_have_count(1)
        expect(patient_page.get_by_label("Message")).to_have_value("")
        incoming = doctor_page.locator("#chat-log .message.theirs")
        expect(incoming).to_have_count(1)
        expect(incoming.locator(".body")).to_have_text("Should I bring my X-ray? <b>yes</b>")
        expect(incoming.locator(".new-marker")).to_be_visible()
        assert doctor_page.url == doctor_url  # no reload

        doctor_page.get_by_label("Message").fill("Yes, please.")
        doctor_page.keyboard.press("Tab")
        doctor_page.get_by_role("button", name="Send").click()
        expect(patient_page.locator("#chat-log .message.theirs .body")).to_have_text("Yes, please.")
        expect(patient_page.locator("#chat-log .message")).to_have_count(2)
        expect(doctor_page.locator("#chat-log .message")).to_have_count(2)  # no duplicates
        patient_page.wait_for_timeout(4000)  # a few more polls change nothing
        expect(patient_page.locator("#chat-log .message")).to_have_count(2)
        assert errors == []
    finally:
        for context in contexts:
            context.close()
