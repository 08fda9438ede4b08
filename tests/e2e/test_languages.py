"""In Chromium: a patient switches to Arabic with the footer's switcher; the pages turn right-to-left."""

from __future__ import annotations

from playwright.sync_api import expect

from hms.extensions import db
from hms.models import User
from tests.e2e.conftest import ARTIFACTS, log_out
from tests.factories import PASSWORD


def test_patient_switches_to_arabic_and_the_pages_read_right_to_left(page, live_server, make):
    hospital = make.hospital(name="Riverside General Hospital", timezone="Africa/Nairobi", currency="KES")
    patient = make.patient(email="amina@example.org", name="Amina Hassan")
    make.appointment(patient, make.doctor_at(hospital, name="Grace Okafor"), hospital)
    make.bill(patient, hospital, items=[("X-ray, chest", 1, 250000)])

    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("amina@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Hello, Amina")).to_be_visible()

    page.get_by_label("Language").select_option("ar")
    page.get_by_role("button", name="Change language").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    expect(page).to_have_url(f"{live_server}/patient/")  # back where the patient was
    expect(page.get_by_role("link", name="ابحث عن طبيب")).to_be_visible()
    assert db.session.get(User, patient.id).locale == "ar"

    # Right to left for real: the brand sits at the right edge, the main text starts on the right.
    width = page.viewport_size["width"]
    brand = page.locator("a.brand").bounding_box()
    assert brand["x"] > width / 2
    heading = page.get_by_role("heading", level=1).first.bounding_box()
    assert heading["x"] + heading["width"] > width * 0.75
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "arabic-dashboard.png"), full_page=True)

    page.get_by_role("link", name="فواتيري").click()
    expect(page.locator("main")).to_contain_text("2,500.00")
    page.screenshot(path=str(ARTIFACTS / "arabic-bills.png"), full_page=True)

    # The choice is remembered: after logging out the cookie keeps the public pages in Arabic.
    log_out(page)  # "تسجيل الخروج", in the account menu
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    assert page.js_errors == []
