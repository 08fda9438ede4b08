"""In Chromium: a lab technician opens a stat order from her work list, collects its specimen (the
label page follows), enters an impossible potassium (refused in its row, what she typed kept), then a
critical one, which comes back flagged HH and red; on a phone no page is wider than the screen."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import log_in


def _log_in(page, live_server: str, email: str) -> None:  # type: ignore[no-untyped-def]
    log_in(page, live_server, email)


def test_the_technician_collects_a_specimen_and_enters_a_critical_value_inline(page, live_server, make):
    hospital = make.hospital(name="Riverside General", timezone="Africa/Nairobi")
    make.lab_technician(hospital, email="lab@example.org")
    visit = make.encounter(make.appointment(make.patient(name="Amina Hassan"), None, hospital))
    order = make.lab_order(visit, tests=[make.lab_test(hospital, "K")], priority="stat")

    _log_in(page, live_server, "lab@example.org")
    page.get_by_role("button", name="Open the work list").click()
    row = page.locator(f"#lab-order-{order.id}")
    expect(row).to_contain_text("stat")
    row.get_by_role("link", name="Amina Hassan").click()
    page.get_by_role("button", name="Collect specimen").click()
    page.wait_for_url(f"**/staff/lab/orders/{order.id}/label")
    expect(page.locator(".lab-label")).to_contain_text(f"L{order.id:06d}-1")
    page.get_by_role("button", name="Enter results", exact=True).click()

    page.get_by_role("button", name="Enter result", exact=True).click()
    value = page.get_by_label("Potassium (mmol/L)")
    value.fill("80")
    page.get_by_role("button", name="Save result").click()
    expect(page.locator(".field-error")).to_contain_text("is not a possible value of Potassium")
    expect(page.get_by_label("Potassium (mmol/L)")).to_have_value("80")
    page.get_by_label("Potassium (mmol/L)").fill("7.4")
    page.get_by_role("button", name="Save result").click()
    item = page.locator("tr.lab-critical")
    expect(item.locator(".lab-flag")).to_have_text("HH")
    expect(item).to_contain_text("7.4 mmol/L")
    assert "/edit" not in page.url  # swapped in place, no page load

    page.set_viewport_size({"width": 360, "height": 800})
    here = f"/staff/lab/orders/{order.id}"
    for path in ("/staff/", "/staff/lab", here, f"{here}/label"):
        page.goto(f"{live_server}{path}")
        assert not page.evaluate("document.documentElement.scrollWidth > innerWidth"), path
    page.goto(f"{live_server}/staff/lab")
    expect(page.locator(".lab-criticals")).to_contain_text("7.4 mmol/L HH")
    assert page.js_errors == []
