"""In Chromium with axe-core: every main page of every role, in English and (two of them) in Arabic,
right to left, has no serious or critical accessibility violation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from hms import clock
from hms.extensions import db
from hms.models import HospitalStatus, PrescriptionStatus
from hms.services import lab
from hms.services.notifications import notify
from tests.e2e import axe
from tests.e2e.conftest import log_in, log_out
from tests.factories import PASSWORD


def audit(page, live_server: str, paths: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Open each path, let HTMX load what it loads on page load, and run axe; fail with every finding."""
    found: dict[str, list[str]] = {}
    for path in paths:
        answer = page.goto(f"{live_server}{path}")
        assert answer is not None and answer.status == 200, f"{path} answered {answer and answer.status}"
        page.wait_for_load_state("networkidle")
        axe.check(page, path, found)
    assert not found, "axe found serious or critical violations:\n" + axe.report(found)
    assert page.js_errors == []


@pytest.fixture
def clinic(make):  # type: ignore[no-untyped-def]
    """A hospital with every role, a doctor with a schedule, and a patient with a past visit (diagnosis,
    a draft and an issued prescription), a future booking with its bill, a paid bill, and notices."""
    hospital = make.hospital(name="Riverside General", city="Nairobi", timezone="Africa/Nairobi")
    doctor = make.doctor_at(
        hospital, email="doctor@example.org", name="Chinedu Okafor", specialty="Cardiology"
    )
    make.schedule(doctor, hospital, start="09:00", end="12:00")
    make.department(hospital, "Cardiology")
    patient = make.patient(email="patient@example.org", name="Amina Hassan")
    admin = make.hospital_admin(hospital, email="admin@example.org")
    receptionist = make.staff(hospital, email="desk@example.org")
    make.super_admin(email="root@example.org")
    make.hospital(status=HospitalStatus.pending, name="Lakeside Hospital")

    now = clock.now().replace(second=0, microsecond=0)
    visit = make.appointment(patient, doctor, hospital, start_at=now, reason="Sore throat")
    encounter = make.encounter(visit, notes="Inflamed tonsils")
    make.diagnosis(encounter)
    draft = make.prescription(encounter, items=2)
    make.prescription(encounter, status=PrescriptionStatus.active)
    fresh = make.appointment(patient, doctor, hospital, start_at=now + timedelta(hours=2))
    booked = make.booking(patient_user=patient, doctor_user=doctor, hospital_row=hospital)
    bill = make.consultation_bill(booked)
    paid = make.bill(patient, hospital)
    make.desk_payment(paid, receptionist)
    make.history_entry(patient)
    notify(patient, "bill_issued", "Your bill is ready.")
    # The laboratory: a technician; a kidney panel collected, its potassium entered critical (waiting
    # for the doctor) and its creatinine still to enter; a potassium out of range, verified (the patient's).
    technician = make.lab_technician(hospital, email="lab@example.org")
    potassium = make.lab_test(hospital, "K", name="Potassium")
    creatinine = make.lab_test(
        hospital, "CREA", name="Creatinine", unit="µmol/L", decimals=0,
        ranges=[(None, 0, None, "45", "90")], critical_low=None, critical_high=Decimal("800"),
        physical_low=Decimal("5"), physical_high=Decimal("3000"),
    )  # fmt: skip
    panel = make.lab_panel(hospital, [potassium, creatinine], "KFT", name="Kidney function")
    critical = make.collected_lab_order(encounter, panels=[panel], collector=technician)
    lab.enter_result(critical.items[0], technician, "7.1")
    verified = make.collected_lab_order(encounter, tests=[potassium], collector=technician)
    lab.enter_result(verified.items[0], technician, "5.8")
    lab.verify_result(verified.items[0], doctor)
    db.session.commit()
    return {
        "hospital": hospital.id,
        "doctor": doctor.doctor.id,
        "patient": patient.patient.id,
        "visit": visit.id,
        "fresh": fresh.id,
        "booked": booked.id,
        "encounter": encounter.id,
        "draft": draft.id,
        "bill": bill.id,
        "paid": paid.id,
        "admin": admin.id,
        "lab_test": potassium.id,
        "critical_order": critical.id,
        "pending_item": critical.items[1].id,
        "verified_order": verified.id,
    }


def test_public_pages_have_no_serious_violations(page, live_server, clinic):
    audit(
        page,
        live_server,
        [
            "/",
            "/login",
            "/register",
            "/register/doctor",
            "/register/hospital",
            "/forgot-password",
            "/doctors",  # the public directory and a doctor's public picker
            f"/doctors/{clinic['doctor']}/at/{clinic['hospital']}",
        ],
    )
    # A form sent back with its errors (422) too.
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("nobody@example.org")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".field-error, [role=alert]").first).to_be_visible()
    found: dict[str, list[str]] = {}
    axe.check(page, "/login with errors", found)
    assert not found, axe.report(found)


def test_patient_pages_have_no_serious_violations(page, live_server, clinic):
    log_in(page, live_server, "patient@example.org")
    audit(
        page,
        live_server,
        [
            "/patient/",
            "/patient/doctors",
            f"/patient/doctors/{clinic['doctor']}/at/{clinic['hospital']}",
            "/patient/appointments",
            f"/patient/appointments/{clinic['booked']}",
            "/patient/records",
            "/patient/encounters",
            "/patient/record-access",
            "/patient/bills",
            f"/patient/bills/{clinic['bill']}",
            f"/patient/bills/{clinic['paid']}",
            "/patient/payments",
            "/notifications/",
            "/notifications/preferences",
            "/consultations/",
            f"/appointments/{clinic['booked']}/chat",
        ],
    )


def test_doctor_pages_have_no_serious_violations(page, live_server, clinic):
    log_in(page, live_server, "doctor@example.org")
    audit(
        page,
        live_server,
        [
            "/doctor/",
            "/doctor/agenda",
            "/doctor/schedule",
            "/doctor/hospitals",
            "/doctor/patients",
            f"/doctor/patients/{clinic['patient']}",
            f"/doctor/appointments/{clinic['fresh']}/encounter",
            f"/doctor/encounters/{clinic['encounter']}",
            f"/doctor/prescriptions/{clinic['draft']}",
            "/consultations/",
            f"/appointments/{clinic['booked']}/chat",
        ],
    )


def test_hospital_admin_pages_have_no_serious_violations(page, live_server, clinic):
    log_in(page, live_server, "admin@example.org")
    audit(
        page,
        live_server,
        [
            "/hospital/",
            "/hospital/desk/merges",  # merges of records, with undo
            "/hospital/doctors",
            "/hospital/departments",
            "/hospital/staff",
            "/hospital/appointments",
            "/hospital/week",
            "/hospital/patients",
            f"/hospital/patients/{clinic['patient']}",
            "/hospital/bills",
            "/hospital/bills/new",
            f"/hospital/bills/{clinic['bill']}",
            "/hospital/refunds",
            "/hospital/profile",
            "/hospital/billing/settings",
            "/hospital/sms/",
            "/hospital/reports",
            "/hospital/reports?metric=appointments&group=day&start=2026-01-01&end=2026-01-31",
            "/hospital/inventory",
            "/hospital/inventory/alerts",
            "/account/security",
            "/account/tokens",
        ],
    )


def test_desk_and_platform_pages_have_no_serious_violations(page, live_server, clinic):
    log_in(page, live_server, "desk@example.org")
    audit(
        page,
        live_server,
        [
            "/staff/",
            "/staff/bills",
            "/staff/bills/new",
            f"/staff/bills/{clinic['paid']}",
            "/staff/refunds",
            "/staff/desk",
            "/staff/desk?q=Amina",
            "/staff/desk/register",
            f"/staff/desk/patients/{clinic['patient']}",
            f"/staff/desk/patients/{clinic['patient']}/book",
            f"/staff/desk/patients/{clinic['patient']}/book/{clinic['doctor']}",
            f"/staff/desk/patients/{clinic['patient']}/visits/{clinic['booked']}/move",
            f"/staff/desk/patients/{clinic['patient']}/visits/{clinic['booked']}/cancel",
            f"/staff/desk/patients/{clinic['patient']}/merge?q=Amina",  # merging two records: the pick
        ],
    )
    log_out(page)
    log_in(page, live_server, "root@example.org")
    audit(
        page,
        live_server,
        [
            "/admin/",
            "/admin/hospitals",
            f"/admin/hospitals/{clinic['hospital']}",
            "/admin/doctors",
            f"/admin/doctors/{clinic['doctor']}",
            "/admin/patients",
            f"/admin/patients/{clinic['patient']}",
            "/admin/reports",
            "/admin/outbox",
        ],
    )


def test_arabic_pages_are_right_to_left_without_serious_violations(page, live_server, clinic):
    page.context.add_cookies([{"name": "locale", "value": "ar", "url": live_server}])
    audit(page, live_server, ["/", "/register"])
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    page.goto(f"{live_server}/login")
    page.locator("input[type=email]").fill("patient@example.org")
    page.locator("input[type=password]").fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page.locator("#bell")).to_be_visible()
    audit(page, live_server, ["/patient/", f"/patient/doctors/{clinic['doctor']}/at/{clinic['hospital']}"])
    expect(page.locator("html")).to_have_attribute("dir", "rtl")


def test_the_axe_check_finds_a_planted_violation(page, live_server):
    page.goto(f"{live_server}/login")
    page.evaluate(
        "() => { document.querySelector('main').insertAdjacentHTML('beforeend', '<button></button>') }"
    )
    found = axe.violations(page)
    assert any(line.startswith("[critical] button-name") for line in found), found


def test_nurse_triage_pages_have_no_serious_violations(page, live_server, clinic, make):  # type: ignore[no-untyped-def]
    from hms.models import AppointmentStatus, Hospital

    hospital = db.session.get(Hospital, clinic["hospital"])
    nurse = make.nurse(hospital, email="nurse@example.org")
    waiting = make.checked_in(hospital, make.patient(name="Baraka Otieno"))
    triaged = make.checked_in(hospital, make.patient(name="Halima Mohamed"))
    make.vitals(triaged, nurse, spo2=96, respiratory_rate=16, weight_kg=70, height_cm=170)
    assert waiting.status == AppointmentStatus.arrived
    log_in(page, live_server, "nurse@example.org")
    audit(
        page,
        live_server,
        ["/staff/", "/staff/triage", f"/staff/triage/{waiting.id}", f"/staff/triage/{triaged.id}"],
    )
    # the form with its errors shown
    page.goto(f"{live_server}/staff/triage/{waiting.id}")
    page.get_by_label("SpO₂ (%)").fill("140")
    page.get_by_role("button", name="Record triage").click()
    expect(page.locator("#spo2-error")).to_be_visible()
    found: dict[str, list[str]] = {}
    axe.check(page, "triage form with errors", found)
    assert not found, axe.report(found)


def test_flow_board_and_doctors_queue_have_no_serious_violations(page, live_server, clinic, make):  # type: ignore[no-untyped-def]
    from hms.models import AppointmentStatus, FlowState, Hospital, QueuePriority, User
    from hms.services import flow

    hospital = db.session.get(Hospital, clinic["hospital"])
    doctor = db.session.scalar(db.select(User).where(User.email == "doctor@example.org"))
    desk = db.session.scalar(db.select(User).where(User.email == "desk@example.org"))
    arrived = clock.now().replace(second=0, microsecond=0) - timedelta(minutes=5)
    for n, (name, to) in enumerate(
        [("Baraka Otieno", None), ("Halima Mohamed", FlowState.triage), ("Juma Kamau", FlowState.ready)]
    ):
        visit = make.appointment(
            make.patient(name=name), doctor, hospital, start_at=arrived + timedelta(minutes=n),
            status=AppointmentStatus.arrived,
        )  # fmt: skip
        priority = QueuePriority.urgent if n == 2 else QueuePriority.normal
        entry = flow.check_in(hospital=hospital, appointment_id=visit.id, actor=desk, priority=priority)
        if to is not None:
            flow.move_visit(entry, to, desk)
    db.session.commit()
    log_in(page, live_server, "desk@example.org")
    audit(
        page,
        live_server,
        [
            "/staff/flow",
            "/staff/flow?wall=1",
            "/staff/arrivals",
            f"/staff/desk/patients/{clinic['patient']}/walk-in",
        ],
    )
    log_out(page)
    log_in(page, live_server, "doctor@example.org")
    audit(page, live_server, ["/doctor/queue", "/doctor/agenda"])
    log_out(page)
    # The waiting room's wall screen, at its secret address, without a login; on a phone too.
    from hms.services import wall_display

    secret = wall_display.rotate_display_link(
        db.session.scalar(db.select(User).where(User.email == "admin@example.org"))
    )
    db.session.commit()
    audit(page, live_server, [f"/display/{secret}"])
    expect(page.locator("#wall-board")).to_contain_text("J. K.")
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")


def test_the_account_claim_page_has_no_serious_violations(page, live_server, make):
    """The page of a desk-registered patient's claim link (email and password to choose)."""
    import re
    from datetime import date

    from hms.models import Sex
    from hms.services import claims, desk

    hospital = make.hospital(timezone="Africa/Nairobi")
    receptionist = make.staff(hospital)
    patient = desk.register_patient(
        hospital=hospital,
        actor=receptionist,
        full_name="Zawadi Njeri",
        sex=Sex.female,
        phone="+254700555111",
        date_of_birth=date(1992, 8, 9),
    )
    claims.send_claim_invitation(hospital, patient, receptionist)
    from hms.models import OutboxEmail

    body = db.session.query(OutboxEmail.body).filter(OutboxEmail.kind == claims.KIND).one()[0]
    db.session.commit()
    audit(page, live_server, [re.search(r"(/claim/[A-Za-z0-9_-]+)", body).group(1)])


def test_laboratory_pages_of_every_role_have_no_serious_violations(page, live_server, clinic):
    """The technician's work list, order (a row in edit mode) and label; the doctor's lab section,
    order and criticals; the patient's results and order; the administrator's catalogue and criticals."""
    critical, verified = clinic["critical_order"], clinic["verified_order"]
    here = f"/staff/lab/orders/{critical}"
    log_in(page, live_server, "lab@example.org")
    audit(page, live_server, ["/staff/", "/staff/lab", here, f"{here}/label"])
    # the creatinine's row as a form, swapped in by HTMX as the technician does it
    page.goto(f"{live_server}{here}")
    row = page.locator(f"#lab-item-{clinic['pending_item']}")
    row.get_by_role("button", name="Enter result", exact=True).click()
    expect(page.get_by_label("Creatinine (µmol/L)")).to_be_visible()
    found: dict[str, list[str]] = {}
    axe.check(page, f"{here} with a row in edit mode", found)
    # the row sent back with its error (an impossible value)
    page.get_by_label("Creatinine (µmol/L)").fill("99999")
    page.get_by_role("button", name="Save result").click()
    expect(row.locator(".field-error")).to_be_visible()
    axe.check(page, f"{here} with a refused value", found)
    assert not found, axe.report(found)
    audit(page, live_server, [f"{here}/items/{clinic['pending_item']}/edit"])  # the same without JavaScript
    log_out(page)

    log_in(page, live_server, "doctor@example.org")
    audit(
        page,
        live_server,
        [
            f"/doctor/encounters/{clinic['encounter']}",  # its Laboratory section with both orders
            f"/doctor/encounters/{clinic['encounter']}/lab/search?q=pot",  # matches of the search
            f"/doctor/lab/{critical}",
            f"/doctor/lab/{verified}",
            "/doctor/lab/criticals",
        ],
    )
    log_out(page)

    log_in(page, live_server, "patient@example.org")
    audit(page, live_server, ["/patient/lab", f"/patient/lab/{verified}"])
    log_out(page)

    log_in(page, live_server, "admin@example.org")
    audit(
        page,
        live_server,
        [
            "/hospital/lab/tests",
            f"/hospital/lab/tests/{clinic['lab_test']}",
            "/hospital/lab/panels",
            "/hospital/lab/criticals",
        ],
    )
