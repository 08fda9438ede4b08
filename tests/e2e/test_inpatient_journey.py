"""In Chromium: a doctor admits his patient from the visit into a bed; the bed board shows the bed taken;
a nurse writes a note (prepended in place) and moves the patient to the ICU; the doctor, from his
inpatients, writes the discharge summary and the patient leaves; the bill holds the room night; the
patient reads his stay and downloads the discharge summary. Every page fits a 360 px phone.

The admitting page and the bed board are another module's (hms/ward/admit.py, hms/ward/board.py): when
the app has no such page the journey admits through the service and skips the board (see `_has`)."""

from __future__ import annotations

import io

from flask import current_app
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import Admission, StaffKind
from hms.services import inpatient
from tests.e2e.axe import violations
from tests.e2e.conftest import follow, log_in, log_out


def _log_in(page, live_server: str, email: str) -> None:  # type: ignore[no-untyped-def]
    log_in(page, live_server, email)


def _fits_a_phone(page, live_server: str, paths: list[str]) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 360, "height": 800})
    for path in paths:
        page.goto(f"{live_server}{path}")
        assert not page.evaluate("document.documentElement.scrollWidth > innerWidth"), path
    page.set_viewport_size({"width": 1280, "height": 800})


def _has(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def _admit(page, live_server: str, world: dict) -> Admission:  # type: ignore[no-untyped-def]
    """The doctor admits from the visit into General's first bed."""
    encounter, general = world["encounter"], world["general"]
    if _has("ward.admit_from_encounter"):
        page.goto(f"{live_server}/ward/encounters/{encounter.id}/admit")
        page.get_by_label("Reason").fill("Pneumonia, needs IV antibiotics")
        page.get_by_label("Ward", exact=True).select_option(label="General")
        expect(page.locator("#beds")).not_to_contain_text("ICU")  # the ward's free beds, swapped in
        page.locator("#beds").get_by_role("radio", name="B1 General").check()
        page.get_by_role("button", name="Admit", exact=True).click()
        page.wait_for_url("**/ward/admissions/*")
        db.session.rollback()
        return db.session.scalar(select(Admission).where(Admission.encounter_id == encounter.id))
    # TODO(admit): without the admitting page, the admission is made through the service.
    admission = inpatient.admit_patient(
        hospital=world["hospital"],
        patient=encounter.patient,
        ward_id=general.id,
        bed_id=general.beds[0].id,
        doctor_id=None,
        actor=world["doctor"],
        reason="Pneumonia, needs IV antibiotics",
        encounter=encounter,
    )
    db.session.commit()
    page.goto(f"{live_server}/ward/admissions/{admission.id}")
    return admission


def test_a_patient_is_admitted_moved_discharged_billed_and_reads_his_summary(page, live_server, make):  # type: ignore[no-untyped-def]
    hospital = make.hospital(name="Riverside General", currency="KES", timezone="Africa/Nairobi")
    doctor = make.doctor_at(hospital, email="dr.okafor@example.org", name="Chinedu Okafor")
    patient = make.patient(email="amina@example.org", name="Amina Hassan")
    encounter = make.encounter(
        make.appointment(patient, doctor, hospital, start_at=clock.now().replace(microsecond=0))
    )
    general = make.ward(hospital, "General", beds=2, daily_rate_minor=300000)
    icu = make.ward(hospital, "ICU", beds=1, daily_rate_minor=1500000)
    make.staff(hospital, StaffKind.nurse, email="nurse@example.org")
    world = {"hospital": hospital, "doctor": doctor, "encounter": encounter, "general": general}

    _log_in(page, live_server, "dr.okafor@example.org")
    admission = _admit(page, live_server, world)
    expect(page.locator("h1")).to_contain_text("Admission of Amina Hassan")
    expect(page.locator("#bed-history")).to_contain_text("General · B1")
    if _has("ward.bed_board"):
        page.goto(f"{live_server}/ward/beds")
        bed = page.locator(f"#bed-{general.beds[0].id}")
        expect(bed).to_contain_text("Amina Hassan")
        expect(bed).to_have_class("bed bed-occupied")
    # TODO(board): without the bed board, the bed's state is read on the admission page only.
    log_out(page)

    _log_in(page, live_server, "nurse@example.org")
    admission_url = f"{live_server}/ward/admissions/{admission.id}"
    page.goto(admission_url)
    page.get_by_role("textbox", name="Note").fill("Febrile 38.4, oxygen 2 L")
    page.get_by_role("button", name="Add nursing note").click()
    expect(page.locator("#note-list li").first).to_contain_text("Febrile 38.4")
    expect(page.get_by_role("textbox", name="Note")).to_have_value("")  # a fresh form, swapped in place
    assert page.url == admission_url
    page.locator("#vitals summary").click()  # the round's form opens from its summary
    page.get_by_label("Pulse (/min)").fill("112")
    page.get_by_role("button", name="Record vital signs").click()
    expect(page.locator("#vitals")).to_contain_text("pulse 112/min")
    transfer = page.locator("#transfer")
    transfer.locator("summary").click()
    transfer.get_by_label("Ward", exact=True).select_option(label="ICU")  # the picker shows the ICU's beds
    expect(transfer.locator(".bed-pick")).not_to_contain_text("General")
    transfer.get_by_role("radio", name="B1 ICU").check()
    page.get_by_label("Reason for the transfer").fill("Falling saturation, needs ICU")
    page.get_by_role("button", name="Transfer").click()
    expect(page.locator("#bed-history")).to_contain_text("ICU · B1")
    expect(page.locator("#bed-history")).to_contain_text("Falling saturation, needs ICU")
    log_out(page)

    _log_in(page, live_server, "dr.okafor@example.org")
    follow(page, "My inpatients")
    page.get_by_role("link", name="Amina Hassan").click()
    page.get_by_label("Diagnoses on discharge").fill("J18.9 Community-acquired pneumonia")
    page.get_by_label("Medicines on discharge").fill("Amoxicillin 500 mg three times a day for 5 days")
    page.get_by_label("Follow-up advice").fill("Review at the clinic in two weeks")
    page.get_by_role("button", name="Order the discharge").click()
    expect(page.locator("#discharge")).to_contain_text("J18.9 Community-acquired pneumonia")
    assert violations(page) == []  # the doctor's page with every form on it
    page.get_by_role("button", name="Patient has left — discharge").click()
    discharge = page.locator("#discharge")
    expect(discharge).to_contain_text("Room nights: General")
    expect(discharge).to_contain_text("1 night")
    assert icu.beds  # the day case is charged one night at the ward of admission (the midnight census)
    _fits_a_phone(page, live_server, [f"/ward/admissions/{admission.id}", "/ward/admissions/mine"])
    log_out(page)

    _log_in(page, live_server, "amina@example.org")
    follow(page, "My bills")
    expect(page.locator("main")).to_contain_text("3,000.00")
    follow(page, "Hospital stays")
    page.get_by_role("link", name="Riverside General").click()
    expect(page.locator("main")).to_contain_text("Amoxicillin 500 mg")
    assert violations(page) == []
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    with open(download_info.value.path(), "rb") as handle:
        pdf = handle.read()
    assert pdf.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    for expected in ("Riverside General", "Amina Hassan", "J18.9", "ICU", "Dr Chinedu Okafor"):
        assert expected in text, expected
    _fits_a_phone(page, live_server, ["/patient/admissions", f"/patient/admissions/{admission.id}"])
    assert page.js_errors == []
