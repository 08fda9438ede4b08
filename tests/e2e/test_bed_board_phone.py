"""In Chromium on a 360 px phone: a full bed board (40 beds, long names, every status) and the admitting
pages fit the screen with no serious axe finding; a nurse's "Cleaned" swaps the board in place; the
desk gives a waiting patient a bed after the picker followed the ward chosen."""

from __future__ import annotations

from playwright.sync_api import expect

from hms.extensions import db
from hms.models import BedStatus, StaffKind
from hms.services import inpatient
from tests.e2e import axe
from tests.e2e.conftest import log_in, log_out
from tests.e2e.test_fits_every_screen import OVERFLOW


def _log_in(page, live_server: str, email: str) -> None:  # type: ignore[no-untyped-def]
    log_in(page, live_server, email)


def _fits(page, path: str, found: dict[str, list[str]]) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate(OVERFLOW) is None, (path, page.evaluate(OVERFLOW))
    axe.check(page, path, found)


def test_the_board_and_admitting_fit_a_phone_and_work_in_place(page, live_server, make):  # type: ignore[no-untyped-def]
    hospital = make.hospital(name="Riverside General", timezone="Africa/Nairobi")
    doctor = make.doctor_at(hospital, name="Chinedu Okafor-Wanjiru Abdullahi", email="doctor@example.org")
    encounter = make.encounter(make.appointment(make.patient(name="Halima Yusuf"), doctor, hospital))
    make.staff(hospital, StaffKind.nurse, email="nurse@example.org")
    make.staff(hospital, StaffKind.receptionist, email="desk@example.org")
    wards = [make.ward(hospital, f"Surgical ward for adults and adolescents {n}", beds=9) for n in range(4)]
    cleaning = make.bed(wards[0], "Side room 12-B", status=BedStatus.cleaning)
    make.bed(wards[1], "Window-4", status=BedStatus.out_of_service)
    for n, ward in enumerate(wards):
        for bed in ward.beds[:5]:
            inpatient.admit_patient(
                hospital=hospital,
                patient=make.patient(name=f"Maria-Fernanda Hernández Oyelaran {n}{bed.label}").patient,
                ward_id=None,
                bed_id=bed.id,
                doctor_id=None,
                actor=doctor,
                reason="Observation",
            )
    waiting = make.patient(name="Baraka Mwangi")
    inpatient.admit_patient(
        hospital=hospital,
        patient=waiting.patient,
        ward_id=wards[0].id,
        bed_id=None,
        doctor_id=None,
        actor=doctor,
        reason="Needs a bed",
    )
    db.session.commit()

    page.set_viewport_size({"width": 360, "height": 800})
    found: dict[str, list[str]] = {}
    _log_in(page, live_server, "nurse@example.org")
    page.goto(f"{live_server}/ward/beds")
    _fits(page, "/ward/beds", found)
    card = page.locator(f"#bed-{cleaning.id}")
    card.get_by_role("button", name="Cleaned").click()
    expect(page.locator("#bed-board [role=status]")).to_contain_text("ready for the next patient")
    expect(page.locator(f"#bed-{cleaning.id}")).to_have_class("bed bed-free")
    assert page.url.endswith("/ward/beds")  # swapped in place
    log_out(page)

    _log_in(page, live_server, "desk@example.org")
    for path in ("/ward/admissions", f"/ward/admit?mrn={waiting.patient.mrn}"):
        page.goto(f"{live_server}{path}")
        _fits(page, path, found)
    page.goto(f"{live_server}/ward/admissions")
    order = page.locator("article.waiting-order")
    order.get_by_label("Ward", exact=True).select_option(label=wards[2].name)
    free = order.locator("fieldset.bed-pick")
    expect(free).not_to_contain_text(wards[0].name)  # the chosen ward's free beds, swapped in
    free.get_by_role("radio").first.check()
    order.get_by_role("button", name="Give a bed").click()
    expect(page.locator(".flash-success, [role=status]").first).to_contain_text("Baraka Mwangi is admitted")
    log_out(page)

    _log_in(page, live_server, "doctor@example.org")
    path = f"/ward/encounters/{encounter.id}/admit"
    page.goto(f"{live_server}{path}")
    _fits(page, path, found)
    page.get_by_role("button", name="Admit", exact=True).click()  # nothing filled in: the errors shown
    expect(page.locator("#admit-form .field-error").first).to_be_visible()
    _fits(page, f"{path} (errors)", found)
    assert not found, axe.report(found)
