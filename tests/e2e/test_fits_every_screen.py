"""Every page of every role fits a phone (360 and 390 px), a tablet (768 px) and a desktop (1,280 px):
the document is never wider than the window (wide tables scroll inside their own box). The pages are
all the GET rules of the app that answer a page for that role, with the busy hospital's ids filled in,
so a new page is checked without being listed here."""

from __future__ import annotations

import re

import pytest

from hms.extensions import db
from hms.models import StaffKind
from tests import busy_hospital, factories
from tests.e2e import axe
from tests.e2e.conftest import CHROMIUM_ARGS  # noqa: F401  (the browser fixture's settings)
from tests.factories import PASSWORD

WIDTHS = (360, 390, 768, 1280)
SKIPPED = ("/static/", "/fhir", "/calendar/", "/dev/", "/healthz", "/notifications/bell")
# The document's width beyond the window, and the first elements that stick out (to find the cause).
OVERFLOW = """() => {
  const doc = document.documentElement;
  if (doc.scrollWidth <= innerWidth) return null;
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + (typeof e.className === 'string' && e.className ? '.' + e.className.split(' ').join('.') : '');
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > innerWidth + 1).map(name);
  return doc.scrollWidth + ' > ' + innerWidth + ': ' + wide.slice(0, 6).join(', ');
}"""


def _ids(busy) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {
        "appointment_id": busy.bill.appointment_id,
        "bill_id": busy.bill.id,
        "prescription_id": busy.prescription.id,
        "hospital_id": busy.hospital.id,
        "doctor_id": busy.doctor.doctor.id,
        "membership_id": busy.membership.id,
        "patient_id": busy.patient.patient.id,
        "encounter_id": busy.prescription.encounter_id,
    }


def _lab_ids(busy, technician) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A collected order of the busy hospital's visit with a critical value entered (its pages at their
    fullest: the critical on top of the work list, a flagged row, a label)."""
    from hms.models import Encounter
    from hms.services import lab

    order = factories.lab_order(db.session.get(Encounter, busy.prescription.encounter_id), priority="stat")
    lab.collect_specimen(order, technician)
    lab.enter_result(order.items[0], technician, "7.5")
    return {"order_id": order.id, "item_id": order.items[0].id}


def _lab_admin_ids(busy, technician) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The hospital admin's laboratory at its fullest: the standard catalogue (a test's page with its
    ranges) and a critical value waiting for an acknowledgement."""
    from sqlalchemy import select

    from hms.models import LabReferenceRange, LabTest
    from hms.services import lab

    lab.install_catalogue(busy.hospital)
    _lab_ids(busy, technician)
    test = db.session.scalars(
        select(LabTest).join(LabReferenceRange).where(LabTest.hospital_id == busy.hospital.id).limit(1)
    ).first()
    return {"test_id": test.id}


def _ward_ids(busy) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A ward with beds in every status an admin sees (its page, a bed's removal page)."""
    from hms.models import BedStatus

    ward = factories.ward(busy.hospital, "Surgical ward for adults and adolescents", beds=3)
    factories.bed(ward, "Side room 12-B", status=BedStatus.cleaning)
    factories.bed(ward, "Window-4", status=BedStatus.out_of_service)
    return {"ward_id": ward.id, "bed_id": ward.beds[0].id}


def pages_of(app, client, user, ids: dict[str, int]) -> list[str]:  # type: ignore[no-untyped-def]
    """The GET pages `user` can open (200, HTML), found from the url map."""
    from tests.signin import sign_in

    if user is not None:
        sign_in(client, user)
    found = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(SKIPPED):
            continue
        path = rule.rule
        for name in rule.arguments:
            if name not in ids:
                break
            path = re.sub(r"<(?:[^<>]*:)?" + name + ">", str(ids[name]), path)
        else:
            response = client.get(path)
            if response.status_code == 200 and response.mimetype == "text/html":
                found.append(path)
    return sorted(set(found))


@pytest.mark.parametrize(
    "role",
    [
        "anonymous",
        "patient",
        "doctor",
        "hospital_admin",
        "receptionist",
        "nurse",
        "pharmacist",
        "lab_technician",
        "super_admin",
    ],
)
def test_no_page_is_wider_than_the_screen(app, browser, live_server, role):  # type: ignore[no-untyped-def]
    with app.test_request_context():
        busy = busy_hospital.build()
        pharmacist = factories.staff(busy.hospital, StaffKind.pharmacist, email="pharmacy@busy.example.org")
        technician = busy.lab_technician
        ids = _ids(busy) | (_lab_ids(busy, technician) if role == "lab_technician" else {})
        ids |= _lab_admin_ids(busy, technician) | _ward_ids(busy) if role == "hospital_admin" else {}
        db.session.commit()
    user = {
        "pharmacist": pharmacist,
        "lab_technician": technician,
        "nurse": busy.nurse,
        "anonymous": None,
        "patient": busy.patient,
        "doctor": busy.doctor,
        "hospital_admin": busy.admin,
        "receptionist": busy.receptionist,
        "super_admin": busy.super_admin,
    }[role]
    paths = pages_of(app, app.test_client(), user, ids)
    assert len(paths) >= 3, paths
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": 800}, locale="en-GB")
    tab = context.new_page()
    if user is not None:
        tab.goto(f"{live_server}/login")
        tab.fill("input[name=email]", user.email)
        tab.fill("input[name=password]", PASSWORD)
        with tab.expect_navigation():
            tab.click("form button[type=submit]")
        assert "/login" not in tab.url, "the login did not go through"
    problems = []
    for path in paths:
        tab.set_viewport_size({"width": WIDTHS[0], "height": 800})
        tab.goto(live_server + path, wait_until="load")
        assert "/login" not in tab.url or path.startswith(("/login", "/register")) or user is None, path
        for width in WIDTHS:
            tab.set_viewport_size({"width": width, "height": 800})
            wide = tab.evaluate(OVERFLOW)
            if wide:
                problems.append(f"{width}px {path}: {wide}")
    context.close()
    assert not problems, f"{len(problems)} page widths overflow:\n" + "\n".join(problems)


def _log_in(tab, live_server: str, email: str) -> None:  # type: ignore[no-untyped-def]
    tab.goto(f"{live_server}/login")
    tab.fill("input[name=email]", email)
    tab.fill("input[name=password]", PASSWORD)
    with tab.expect_navigation():
        tab.click("form button[type=submit]")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_phone_menu_opens_without_javascript_and_marks_the_page(
    app, browser, live_server, make, javascript
):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    make.hospital_admin(hospital, email="admin@example.org")
    context = browser.new_context(viewport={"width": 390, "height": 800}, java_script_enabled=javascript)
    tab = context.new_page()
    _log_in(tab, live_server, "admin@example.org")
    tab.goto(f"{live_server}/hospital/doctors")
    menu = tab.locator("details.menu")
    doctors = menu.get_by_role("link", name="Doctors", exact=True)
    assert not doctors.is_visible() and not tab.locator(".nav-bar").first.is_visible()
    menu.locator("summary").focus()
    tab.keyboard.press("Enter")  # a keyboard opens it as a click does
    assert doctors.is_visible() and doctors.get_attribute("aria-current") == "page"
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390
    menu.get_by_role("link", name="Inventory").click()
    tab.wait_for_url("**/hospital/inventory")
    tab.locator("details.menu summary").click()
    tab.locator("details.menu").get_by_role("button", name="Log out").click()
    tab.wait_for_url(f"{live_server}/")
    assert tab.locator("details.menu").count() == 0  # signed out: the public header
    context.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_the_shell_is_accessible_with_its_menus_closed_and_open(app, browser, live_server, make, width):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    make.hospital_admin(hospital, email="admin@example.org")
    context = browser.new_context(viewport={"width": width, "height": 800})
    tab = context.new_page()
    _log_in(tab, live_server, "admin@example.org")
    found: dict[str, list[str]] = {}
    axe.check(tab, f"{width}px closed", found)
    summaries = ["details.menu > summary"] if width < 1024 else [".nav-bar details.dropdown > summary"]
    for selector in summaries:
        for n in range(tab.locator(selector).count()):
            summary = tab.locator(selector).nth(n)
            summary.click()
            axe.check(tab, f"{width}px {summary.inner_text()} open", found)
            summary.click()
    assert not found, axe.report(found)
    context.close()
