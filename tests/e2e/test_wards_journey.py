"""In Chromium: a hospital administrator adds a ward from the menu, edits it in its row (a rate with too
many decimals is refused with what he typed kept), adds a range of beds, takes one out of service (the
row and the counts change in place), removes another after confirming; a bed a patient lies in offers no
action. axe finds nothing serious on either page, and both fit a 360 px phone."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import Admission, AdmissionStatus, Bed, BedStatus, Ward
from tests.e2e import axe
from tests.e2e.conftest import follow, log_in


def _log_in(page, live_server: str, email: str) -> None:  # type: ignore[no-untyped-def]
    log_in(page, live_server, email)


def _occupy(make, ward: Ward, label: str) -> None:  # type: ignore[no-untyped-def]
    """A patient admitted into the ward's bed `label` (the rows the admission service writes)."""
    bed = db.session.scalar(select(Bed).where(Bed.ward_id == ward.id, Bed.label == label))
    doctor, patient = make.doctor_at(ward.hospital), make.patient()
    db.session.add(
        Admission(
            hospital_id=ward.hospital_id,
            patient_id=patient.patient.id,
            open_patient_id=patient.patient.id,
            ward_id=ward.id,
            bed_id=bed.id,
            admitting_doctor_id=doctor.doctor.id,
            attending_doctor_id=doctor.doctor.id,
            status=AdmissionStatus.admitted,
            reason="Observation",
            ordered_by_id=doctor.id,
            admitted_at=clock.now(),
        )
    )
    bed.status = BedStatus.occupied
    db.session.commit()


def test_an_admin_sets_up_a_ward_and_its_beds_in_place(page, live_server, make):  # type: ignore[no-untyped-def]
    hospital = make.hospital(name="Riverside General")
    make.hospital_admin(hospital, email="admin@example.org")
    _log_in(page, live_server, "admin@example.org")
    follow(page, "Wards and beds")
    expect(page.get_by_role("heading", name="Wards and beds")).to_be_visible()

    page.get_by_label("Name").fill("General ward")
    page.get_by_label("Rate per night").fill("3500")
    page.get_by_role("button", name="Add ward").click()
    expect(page.get_by_role("heading", name="General ward")).to_be_visible()
    expect(page.get_by_text("General ward added. Add its beds here.")).to_be_visible()

    page.get_by_label("Beds").fill("A1-A6")
    page.get_by_role("button", name="Add beds").click()
    expect(page.get_by_text("6 beds added.")).to_be_visible()
    expect(page.locator("#bed-counts")).to_contain_text("6 beds")
    ward = db.session.scalar(select(Ward).where(Ward.hospital_id == hospital.id))
    _occupy(make, ward, "A6")
    page.reload()
    occupied = page.locator("tr", has=page.get_by_label("Label of bed A6"))
    expect(occupied).to_contain_text("A patient lies in this bed.")
    expect(occupied.get_by_role("button")).to_have_count(1)  # only Rename
    url = page.url

    row = page.locator("tr", has=page.get_by_label("Label of bed A2"))
    row.get_by_role("button", name="Out of service").click()
    expect(row.get_by_role("button", name="Back in service")).to_be_visible()
    expect(page.locator("#bed-counts")).to_contain_text("Out of service 1")
    assert page.url == url  # swapped in place

    row = page.locator("tr", has=page.get_by_label("Label of bed A3"))
    row.get_by_role("button", name="Remove").click()
    expect(page.get_by_text("Remove bed A3?")).to_be_visible()
    page.get_by_role("button", name="Remove the bed").click()
    expect(page.get_by_text("A3 removed.")).to_be_visible()
    expect(page.get_by_label("Label of bed A3")).to_have_count(0)
    found: dict[str, list[str]] = {}
    axe.check(page, "ward page", found)

    follow(page, "Wards and beds")
    ward_row = page.locator(f"#ward-{ward.id}")
    expect(ward_row).to_contain_text("5 beds")
    ward_row.get_by_role("button", name="Edit").click()
    form = page.locator(f"#ward-{ward.id} form")
    form.get_by_label("Name").fill("General ward east")
    form.get_by_label("Rate per night").fill("3500.555")
    form.get_by_role("button", name="Save").click()
    expect(page.locator(f"#ward-{ward.id}")).to_contain_text("at most 2 decimals")
    expect(page.locator(f"#ward-{ward.id} form").get_by_label("Name")).to_have_value("General ward east")
    page.locator(f"#ward-{ward.id} form").get_by_label("Rate per night").fill("3600")
    page.locator(f"#ward-{ward.id} form").get_by_role("button", name="Save").click()
    expect(page.locator(f"#ward-{ward.id}")).to_contain_text("Saved.")
    expect(page.locator(f"#ward-{ward.id}")).to_contain_text("General ward east")
    axe.check(page, "wards page", found)
    assert not found, axe.report(found)
    assert page.js_errors == []

    page.set_viewport_size({"width": 360, "height": 800})
    for path in ("/hospital/wards", f"/hospital/wards/{ward.id}"):
        page.goto(f"{live_server}{path}")
        assert not page.evaluate("document.documentElement.scrollWidth > innerWidth"), path
    db.session.rollback()
    assert db.session.get(Ward, ward.id).daily_rate_minor == 360000
