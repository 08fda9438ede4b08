"""In Chromium: a doctor orders a kidney panel from the visit (debounced search, added to the draft,
placed: the bill's line shown), the patient's bill holds it; the lab technician, in her own browser,
collects the specimen and types a critical and an out-of-range value into their rows; the doctor gets
the notice and the critical flag, acknowledges it and verifies the values; the patient sees the flagged
results and downloads the report. Every page fits a 360 px phone."""

from __future__ import annotations

import io
from decimal import Decimal

from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import LabOrder
from tests.e2e.conftest import follow, log_in, log_out


def _log_in(page, live_server: str, email: str) -> None:  # type: ignore[no-untyped-def]
    log_in(page, live_server, email)


def _fits_a_phone(page, live_server: str, paths: list[str]) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 360, "height": 800})
    for path in paths:
        page.goto(f"{live_server}{path}")
        assert not page.evaluate("document.documentElement.scrollWidth > innerWidth"), path
    page.set_viewport_size({"width": 1280, "height": 800})


def _technician_enters(tech, live_server: str, order: LabOrder, values: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """The lab technician, in her own browser: the order from her work list, its specimen collected
    (the label page follows), then each value typed into its row, saved in place."""
    _log_in(tech, live_server, "lab@example.org")
    tech.get_by_role("button", name="Open the work list").click()
    row = tech.locator(f"#lab-order-{order.id}")
    expect(row).to_contain_text("urgent")
    row.get_by_role("link", name="Amina Hassan").click()
    tech.get_by_role("button", name="Collect specimen").click()
    tech.wait_for_url(f"**/staff/lab/orders/{order.id}/label")
    expect(tech.locator(".lab-label")).to_contain_text(f"L{order.id:06d}-1")
    tech.get_by_role("button", name="Enter results", exact=True).click()
    for label, value in values.items():
        test = label.split(" (")[0]
        tech.locator("tr", has_text=test).get_by_role("button", name="Enter result", exact=True).click()
        tech.get_by_label(label).fill(value)
        tech.get_by_role("button", name="Save result").click()
        expect(tech.locator("tr", has_text=test).locator(".lab-value")).to_contain_text(value)
    assert "/edit" not in tech.url  # swapped in place, no page load


def test_a_panel_is_ordered_resulted_verified_and_read_by_the_patient(page, browser, live_server, make):
    hospital = make.hospital(name="Riverside General", currency="KES")
    doctor = make.doctor_at(hospital, email="dr.okafor@example.org", name="Chinedu Okafor")
    patient = make.patient(email="amina@example.org", name="Amina Hassan")
    visit = make.encounter(
        make.appointment(patient, doctor, hospital, start_at=clock.now().replace(microsecond=0))
    )
    potassium = make.lab_test(hospital, "K", name="Potassium")
    creatinine = make.lab_test(
        hospital, "CREA", name="Creatinine", unit="µmol/L", decimals=0,
        ranges=[(None, 0, None, "45", "90")], critical_low=None, critical_high=Decimal("800"),
        physical_low=Decimal("5"), physical_high=Decimal("3000"), price_minor=50000,
    )  # fmt: skip
    make.lab_panel(hospital, [potassium, creatinine], "KFT", name="Kidney function", price_minor=150000)
    make.lab_technician(hospital, email="lab@example.org")

    _log_in(page, live_server, "dr.okafor@example.org")
    page.goto(f"{live_server}/doctor/encounters/{visit.id}")
    section = page.locator("#lab")
    section.get_by_label("Find a test or panel").fill("kidn")  # debounced search, swapped in by HTMX
    section.get_by_role("button", name="Add Kidney function").click()
    expect(section.locator("fieldset.lab-chosen")).to_contain_text("Kidney function")
    section.get_by_label("Priority").select_option("urgent")
    section.get_by_label("Clinical note").fill("Oedema, on ACE inhibitor")
    encounter_url = page.url
    section.get_by_role("button", name="Place order").click()
    placed = section.get_by_role("status")
    expect(placed).to_contain_text("added to bill B")
    expect(placed).to_contain_text("Lab: Kidney function")
    assert page.url == encounter_url  # swapped in place
    db.session.rollback()
    order = db.session.scalar(select(LabOrder).where(LabOrder.encounter_id == visit.id))
    log_out(page)

    _log_in(page, live_server, "amina@example.org")
    follow(page, "My bills")
    expect(page.locator("main")).to_contain_text("1,500.00")
    log_out(page)

    tech_context = browser.new_context(locale="en-GB", timezone_id="UTC")
    tech_context.set_default_timeout(15000)
    try:
        tech = tech_context.new_page()
        tech_errors: list[str] = []
        tech.on("pageerror", lambda exc: tech_errors.append(str(exc)))
        _technician_enters(
            tech, live_server, order, {"Potassium (mmol/L)": "7.1", "Creatinine (µmol/L)": "120"}
        )
        potassium_row = tech.locator("tr", has_text="Potassium")
        expect(potassium_row.locator(".lab-flag")).to_have_text("HH")  # critical: the doctor is told
        expect(potassium_row).to_contain_text("Critical: waiting for the doctor's acknowledgement")
        expect(tech.locator("tr", has_text="Creatinine").locator(".lab-flag")).to_have_text("H")
        expect(tech.locator("tr", has_text="Creatinine")).to_contain_text("Another person verifies it.")
        assert tech_errors == []
    finally:
        tech_context.close()

    _log_in(page, live_server, "dr.okafor@example.org")
    expect(page.locator("#bell .badge")).to_be_visible()  # the critical value's notice
    page.locator("#bell").click()
    page.get_by_role("button", name="Critical result: Potassium 7.1 mmol/L for Amina Hassan").click()
    page.wait_for_url(f"**/doctor/lab/{order.id}")
    page.goto(f"{live_server}/doctor/")
    page.get_by_role("link", name="1 critical laboratory result waits for your acknowledgement").click()
    expect(page.locator("main")).to_contain_text("Potassium: 7.1 mmol/L")
    page.get_by_role("link", name=f"Open order {order.number}").click()
    potassium_row = page.locator("tr", has_text="Potassium")
    expect(potassium_row.locator(".result-flag")).to_contain_text("HH")
    expect(potassium_row).to_contain_text("Critically high")  # a word, not colour alone
    potassium_row.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#lab-results")).to_contain_text("Critical result acknowledged.")
    page.locator("tr", has_text="Potassium").get_by_role("button", name="Verify Potassium").click()
    expect(page.locator("#lab-results")).to_contain_text("Result verified.")
    page.locator("tr", has_text="Creatinine").get_by_role("button", name="Verify Creatinine").click()
    expect(page.locator("tr", has_text="Creatinine")).to_contain_text("final")
    _fits_a_phone(
        page, live_server, [f"/doctor/encounters/{visit.id}", f"/doctor/lab/{order.id}", "/doctor/"]
    )
    log_out(page)

    _log_in(page, live_server, "amina@example.org")
    follow(page, "Test results")
    results = page.locator(f"#lab-order-{order.id}")
    expect(results.locator("tr", has_text="Potassium")).to_contain_text("7.1")
    expect(results.locator("tr", has_text="Creatinine")).to_contain_text("120")
    expect(results.locator("tr", has_text="Creatinine")).to_contain_text("High")
    with page.expect_download() as download_info:
        results.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"{order.number}.pdf"
    with open(download.path(), "rb") as handle:
        pdf = handle.read()
    assert pdf.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    for expected in ("Riverside General", "Amina Hassan", order.number, "7.1", "HH Critically high", "45–90"):
        assert expected in text, expected
    _fits_a_phone(page, live_server, ["/patient/lab", f"/patient/lab/{order.id}", "/patient/encounters"])
    assert page.js_errors == []
