"""In Chromium: a patient registers and logs in; the platform admin approves a hospital inline."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from hms.extensions import db
from hms.models import Hospital, HospitalStatus
from tests.e2e.conftest import confirm_registration, log_out
from tests.factories import PASSWORD


def test_patient_registers_logs_out_and_logs_back_in(page, live_server):
    page.goto(f"{live_server}/")
    page.get_by_role("link", name="Register", exact=True).click()
    page.get_by_label("Full name").fill("Amina Hassan")
    page.get_by_label("Email").fill("amina@example.org")
    page.get_by_label("Date of birth").fill("1988-04-12")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Phone").fill("+254 700 000 001")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Repeat the password").fill("short")
    page.get_by_role("button", name="Create my account").click()
    # The form comes back in place with the error and what was typed.
    expect(page.get_by_text("Use at least 10 characters.")).to_be_visible()
    expect(page.get_by_label("Full name")).to_have_value("Amina Hassan")
    # The re-rendered form focuses its autofocus field a frame later; typing before that lands there.
    expect(page.get_by_label("Full name")).to_be_focused()

    page.get_by_label("Password", exact=True).fill("blue kettle on the hill")
    page.get_by_label("Repeat the password").fill("blue kettle on the hill")
    page.get_by_role("button", name="Create my account").click()
    confirm_registration(page, live_server, "amina@example.org")
    expect(page.get_by_role("heading", name="Hello, Amina")).to_be_visible()
    expect(page).to_have_url(f"{live_server}/patient/")

    log_out(page)
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Email").fill("amina@example.org")
    page.get_by_label("Password").fill("blue kettle on the hill")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Hello, Amina")).to_be_visible()
    assert page.js_errors == []


def test_platform_admin_approves_a_hospital_inline(page, live_server, make):
    make.super_admin(email="root@example.org")
    hospital = make.hospital(status=HospitalStatus.pending, name="Lakeside Hospital")
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("root@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Platform")).to_be_visible()
    pending = page.locator(".stats article").first.locator(".stat")
    expect(pending).to_have_text("1")

    url_before = page.url
    row = page.locator(f"#hospital-{hospital.id}")
    row.get_by_role("button", name="Approve").dblclick()  # a double click approves, and only approves
    expect(row.get_by_text("Lakeside Hospital is now active.")).to_be_visible()
    suspend = row.get_by_role("button", name="Suspend Lakeside Hospital")
    expect(suspend).to_be_hidden()  # behind a second, deliberate step
    row.get_by_text("Suspend…").click()
    expect(suspend).to_be_visible()
    expect(pending).to_have_text("0")  # the counts refreshed on the hospitalsChanged event
    assert page.url == url_before  # no page load: HTMX swapped the row
    db.session.rollback()  # end the test's read snapshot to see what the server committed
    assert (
        db.session.scalar(select(Hospital.status).where(Hospital.id == hospital.id)) == HospitalStatus.active
    )
    assert page.js_errors == []
