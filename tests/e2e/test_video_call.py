"""In Chromium with fake camera and microphone: the patient and the doctor join the same video call
and both peer connections reach "connected"; camera toggle and hang-up work; a third user is refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from hms import clock
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, expect_logged_in
from tests.factories import PASSWORD

MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(scope="module")
def media_browser(browser) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A second Chromium, from the same Playwright, with a fake camera and microphone and
    permission prompts answered yes."""
    chromium = browser.browser_type.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *MEDIA_ARGS], headless=True
    )
    yield chromium
    chromium.close()


def log_in(context, live_server: str, email: str):  # type: ignore[no-untyped-def]
    tab = context.new_page()
    tab.set_default_timeout(20000)
    tab.js_errors = []
    tab.on("pageerror", lambda exc: tab.js_errors.append(str(exc)))
    # Script errors and CSP violations; an expected 4xx answer is logged as "Failed to load resource".
    tab.on(
        "console",
        lambda msg: (
            tab.js_errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    tab.goto(f"{live_server}/login")
    tab.get_by_label("Email").fill(email)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Log in").click()
    expect_logged_in(tab)
    return tab


def test_patient_and_doctor_connect_and_a_third_user_is_refused(media_browser, live_server, make):
    hospital = make.hospital()
    doctor = make.doctor_at(hospital, email="dr.video@example.org", name="Chinedu Okafor")
    patient = make.patient(email="video.patient@example.org", name="Amina Hassan")
    make.patient(email="stranger@example.org")
    start = (clock.now() + timedelta(minutes=5)).replace(second=0, microsecond=0)
    appointment = make.appointment(patient, doctor, hospital, start_at=start)
    contexts = [media_browser.new_context(locale="en-GB", timezone_id="UTC") for _ in range(3)]
    try:
        patient_tab = log_in(contexts[0], live_server, "video.patient@example.org")
        doctor_tab = log_in(contexts[1], live_server, "dr.video@example.org")
        stranger_tab = log_in(contexts[2], live_server, "stranger@example.org")

        patient_tab.goto(f"{live_server}/appointments/{appointment.id}/chat")
        patient_tab.get_by_role("button", name="Join video call").click()
        call = patient_tab.locator("#video-call")
        expect(patient_tab.locator("#call-status")).to_have_text("Waiting for Dr Chinedu Okafor to join…")

        doctor_tab.goto(f"{live_server}/appointments/{appointment.id}/video")
        doctor_call = doctor_tab.locator("#video-call")
        expect(call).to_have_attribute("data-connection-state", "connected", timeout=30000)
        expect(doctor_call).to_have_attribute("data-connection-state", "connected", timeout=30000)
        expect(doctor_tab.locator("#call-status")).to_have_text("Connected")
        # Real frames arrive from the fake camera on both sides.
        for tab in (patient_tab, doctor_tab):
            tab.wait_for_function("document.getElementById('remote-video').videoWidth > 0", timeout=20000)

        camera = patient_tab.locator("#toggle-camera")
        camera.click()
        expect(camera).to_have_attribute("aria-pressed", "false")
        expect(camera).to_have_text("Camera off")
        assert (
            patient_tab.evaluate(
                "document.getElementById('local-video').srcObject.getVideoTracks()[0].enabled"
            )
            is False
        )
        camera.click()
        expect(camera).to_have_attribute("aria-pressed", "true")

        response = stranger_tab.goto(f"{live_server}/appointments/{appointment.id}/video")
        assert response.status == 404
        expect(stranger_tab.locator("#video-call")).to_have_count(0)
        probe = stranger_tab.evaluate(
            "fetch(arguments_url).then(r => r.status)".replace(
                "arguments_url", f"'{live_server}/appointments/{appointment.id}/video/signals?after=0'"
            )
        )
        assert probe == 404

        doctor_tab.get_by_role("button", name="Hang up").click()
        expect(doctor_call).to_have_attribute("data-connection-state", "closed")
        expect(call).to_have_attribute("data-connection-state", "closed", timeout=15000)
        expect(patient_tab.locator("#call-status")).to_have_text("Dr Chinedu Okafor left the call.")

        # The doctor joins again: the two connect afresh.
        doctor_tab.get_by_role("button", name="Join again").click()
        expect(doctor_tab.locator("#video-call")).to_have_attribute(
            "data-connection-state", "connected", timeout=30000
        )
        expect(call).to_have_attribute("data-connection-state", "connected", timeout=30000)
        assert patient_tab.js_errors == [] and doctor_tab.js_errors == []
    finally:
        for context in contexts:
            context.close()
