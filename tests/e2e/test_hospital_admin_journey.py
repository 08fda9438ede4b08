"""In Chromium: a hospital admin adds a doctor by email, switches his membership off and on inline,
and the doctor leaves and re-enters the patients' doctor search for that hospital; then the admin reads
the figures: the dashboard's counts and the bills export (CSV)."""

from __future__ import annotations

import csv
import re

from playwright.sync_api import expect
from sqlalchemy import select

from hms.extensions import db
from hms.models import AuditEvent, Membership, MembershipStatus
from tests.e2e.conftest import follow, log_in


def test_admin_adds_a_doctor_and_toggles_him_off_and_on(page, browser, live_server, make):
    hospital = make.hospital(name="Riverside General", currency="KES")
    make.hospital_admin(hospital, email="grace@example.org")
    make.department(hospital, "Paediatrics")
    doctor = make.doctor(email="priya@example.org", name="Priya Mehta", specialty="Paediatrics")
    amina = make.patient(email="amina@example.org", name="Amina Hassan")
    bill = make.bill(amina, hospital)

    patient_context = browser.new_context(locale="en-GB", timezone_id="UTC")
    patient = patient_context.new_page()
    log_in(patient, live_server, "amina@example.org")
    search = f"{live_server}/patient/doctors?hospital={hospital.id}"

    def patient_sees_the_doctor() -> bool:
        patient.goto(search)
        return patient.get_by_text("Dr Priya Mehta").count() > 0

    assert not patient_sees_the_doctor()

    log_in(page, live_server, "grace@example.org")
    follow(page, "Doctors")
    expect(page.get_by_role("heading", name="Doctors", exact=True)).to_be_visible()
    add = page.locator("#add-doctor")
    add.get_by_label("Doctor's email").fill("PRIYA@example.org")
    add.get_by_label("Department").select_option(label="Paediatrics")
    add.get_by_label("Consultation fee").fill("1500")
    add.get_by_role("button", name="Add the doctor").click()
    expect(add.get_by_text("Dr Priya Mehta is now linked to Riverside General.")).to_be_visible()
    switch = page.get_by_role("switch", name="Dr Priya Mehta takes bookings here")
    expect(switch).to_have_attribute("aria-checked", "true")  # the table refreshed on doctorsChanged
    assert patient_sees_the_doctor()

    url_before = page.url
    switch.click()
    row = page.locator("#doctor-list tr", has_text="Dr Priya Mehta")
    expect(row.get_by_text("Dr Priya Mehta is now inactive: no new bookings here.")).to_be_visible()
    expect(row.get_by_text("0 future appointments remain booked.")).to_be_visible()
    expect(switch).to_have_attribute("aria-checked", "false")
    expect(switch).to_be_focused()
    assert page.url == url_before  # HTMX swapped the row; no page load
    assert not patient_sees_the_doctor()

    switch.click()
    expect(row.get_by_text("Dr Priya Mehta is active again")).to_be_visible()
    expect(switch).to_have_attribute("aria-checked", "true")
    assert patient_sees_the_doctor()

    # The fee changes in the row itself: the row becomes a form and comes back with the new fee.
    row.get_by_role("link", name="Change terms").click()
    editing = page.locator("#doctor-list tr.editing")
    editing.get_by_label("Consultation fee").fill("1750")
    editing.get_by_role("button", name="Save").click()
    expect(row.get_by_text("KES1,750.00")).to_be_visible()
    expect(row.get_by_text("bookings already made keep their fee")).to_be_visible()
    assert page.url == url_before

    db.session.rollback()  # end the test's read snapshot to see what the server committed
    membership = db.session.scalar(select(Membership).where(Membership.doctor_id == doctor.doctor.id))
    assert (membership.status, membership.fee_minor) == (MembershipStatus.active, 175000)
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.record_type == "membership").order_by(AuditEvent.id)
    ).all()
    assert actions == ["create", "deactivate", "activate", "update"]

    # The figures: the dashboard counts the doctor active again, and the bills export lists the bill.
    main_nav = page.get_by_role("navigation", name="Main")
    main_nav.get_by_role("link", name="Dashboard").click()

    def count(label: str):  # type: ignore[no-untyped-def]
        return page.locator(".stats article", has=page.get_by_text(label, exact=True)).locator(".stat")

    expect(count("Active doctors")).to_have_text("1")
    expect(count("Inactive doctors")).to_have_text("0")
    follow(page, "Bills")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    with open(download.value.path(), newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["bill", "created (EAT)", "status"]  # the heading names the clock
    assert [(r[0], r[3]) for r in rows[1:]] == [(bill.number, "Amina Hassan")]

    # A report: appointments by status this month, as a table and a chart, swapped in without a page load.
    follow(page, "Reports")
    reports_url = page.url
    page.get_by_label("Report").select_option(label="Appointments by status")
    page.get_by_role("button", name="Run report").click()
    result = page.locator("#report-result")
    expect(result.get_by_role("heading", name=re.compile("Appointments by status"))).to_be_visible()
    expect(result.locator("table")).to_be_visible()  # no visit yet: a table of zeros, no chart
    expect(result.get_by_text("Nothing to count in this range.")).to_be_visible()
    assert page.url.startswith(reports_url.split("?")[0])
    assert page.js_errors == []
    patient_context.close()
