"""In Chromium: a patient makes an API token and a calendar feed address in place (HTMX), a program
uses them, and revoking the token ends its access."""

from __future__ import annotations

import icalendar
import requests
from playwright.sync_api import expect

from tests.e2e.conftest import follow
from tests.factories import PASSWORD


def test_a_patient_makes_uses_and_revokes_a_token_and_subscribes_to_his_calendar(page, live_server, make):
    patient = make.patient(email="amina@example.org")
    make.appointment(patient)
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("amina@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    follow(page, "API and calendar")
    url = page.url

    page.get_by_label("Name").fill("My calendar script")
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_label("New token").input_value()
    assert secret.startswith("hms_") and page.url == url
    expect(page.get_by_role("cell", name="My calendar script")).to_be_visible()
    headers = {"Authorization": f"Bearer {secret}"}
    api = requests.get(f"{live_server}/fhir/Appointment", headers=headers, timeout=10)
    assert api.status_code == 200 and api.json()["total"] == 1

    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("cell", name="My calendar script")).to_have_count(0)
    assert requests.get(f"{live_server}/fhir/Appointment", headers=headers, timeout=10).status_code == 401

    page.get_by_role("button", name="Create a feed address").click()
    feed = page.get_by_label("Feed address").input_value()
    path = feed.split("/calendar/", 1)[1]
    response = requests.get(f"{live_server}/calendar/{path}", timeout=10)
    assert response.status_code == 200
    assert len(icalendar.Calendar.from_ical(response.content).walk("VEVENT")) == 1
    assert page.js_errors == []
