"""In Chromium: a pharmacist finds a medicine by typing, dispenses more than is left (refused in place, what
he typed kept), then the right amount; the stock and the movements update themselves without a reload."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from hms import clock
from hms.models import StaffKind
from tests.factories import PASSWORD


def test_a_pharmacist_finds_a_medicine_and_dispenses_it_in_place(page, live_server, make):
    hospital = make.hospital(name="Riverside General")
    today = clock.now().astimezone(hospital.tz).date()
    make.inventory_item(
        hospital,
        name="Amoxicillin 500 mg",
        kind="medicine",
        unit="capsule",
        batches=[("AMX-1", today + timedelta(days=200), 12)],
    )
    make.inventory_item(hospital, name="Gauze swabs", stock=40)
    make.staff(hospital, StaffKind.pharmacist, email="pharmacy@example.org")

    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("pharmacy@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Inventory").click()

    page.get_by_label("Search items").press_sequentially("amox")
    expect(page.locator("#item-list")).not_to_contain_text("Gauze swabs")
    page.get_by_role("link", name="Amoxicillin 500 mg").click()
    url = page.url

    form = page.locator("#move-dispense")
    form.get_by_label("Quantity").fill("13")
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#move-dispense")).to_contain_text("Only 12 capsule left.")
    expect(page.locator("#move-dispense").get_by_label("Quantity")).to_have_value("13")

    page.locator("#move-dispense").get_by_label("Quantity").fill("5")
    page.locator("#move-dispense").get_by_role("button", name="Save").click()
    expect(page.locator("#move-dispense")).to_contain_text("Dispensed 5 capsule.")
    expect(page.locator("#stock")).to_contain_text("On hand: 7 capsule")
    expect(page.locator("#history")).to_contain_text("Dispensed")
    assert page.url == url
    assert page.js_errors == []
