"""In Chromium, three people at once: a receptionist registers a walk-in at the desk and queues him,
and checks in a booked patient; a nurse has the flow board open in another browser and sees both cards
appear and move between its columns without reloading (its 5-second poll) as the desk sends him to
triage; she sends him on to the doctor, who calls him in from his queue and is done with him, and the
card follows on her board."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from hms import clock
from hms.models import StaffKind
from tests.e2e.conftest import expect_logged_in, follow
from tests.factories import PASSWORD

POLL = 12_000  # ms: the board polls every 5 s; twice that and some


def local_midday_zone() -> str:
    """A fixed-offset zone where it is about noon now, so that 'today' has time left whatever the hour
    the suite runs at."""
    offset = 12 - clock.now().hour
    return "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def log_in(context, live_server: str, email: str):  # type: ignore[no-untyped-def]
    tab = context.new_page()
    tab.goto(f"{live_server}/login")
    tab.get_by_label("Email").fill(email)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Log in").click()
    expect_logged_in(tab)
    return tab


def test_a_walk_in_moves_across_the_board_in_another_browser_and_the_doctor_calls_him_in(
    page, browser, live_server, make
):
    hospital = make.hospital(name="Riverside General", timezone=local_midday_zone())
    make.staff(hospital, email="reception@example.org")
    make.staff(hospital, StaffKind.nurse, email="nurse@example.org")
    doctor = make.doctor_at(hospital, name="Grace Otieno", email="dr.otieno@example.org")
    make.schedule(doctor, hospital, start="00:00", end="23:45", slot_minutes=15)
    start = clock.now().replace(second=0, microsecond=0) + timedelta(minutes=30)
    booked = make.appointment(make.patient(name="Wanjiru Booked"), doctor, hospital, start_at=start)

    nurse_context = browser.new_context(locale="en-GB", timezone_id="UTC")
    nurse_context.set_default_timeout(15000)
    doctor_context = browser.new_context(locale="en-GB", timezone_id="UTC")
    doctor_context.set_default_timeout(15000)
    try:
        board = log_in(nurse_context, live_server, "nurse@example.org")
        follow(board, "Flow board")
        board.evaluate("window.boardNeverReloaded = true")
        expect(board.locator(".flow-waiting")).to_contain_text("Nobody")

        # The desk: a walk-in registered (no email) and queued for Dr Otieno.
        page.goto(f"{live_server}/login")
        page.get_by_label("Email").fill("reception@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect_logged_in(page)
        follow(page, "Registration desk")
        page.get_by_role("button", name="Register a new patient").click()
        page.get_by_label("Full name").fill("Juma Walkin")
        page.get_by_label("Date of birth").fill("1985-03-04")
        page.get_by_label("Sex").select_option("male")
        page.get_by_label("Phone", exact=True).fill("0722 987 654")
        page.get_by_role("button", name="Register", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Juma Walkin")
        page.get_by_role("button", name="Walk-in: add to today's queue").click()
        page.get_by_label("Doctor").select_option(label="Grace Otieno")
        page.get_by_label("Reason for the visit").fill("Fever for two days")
        page.get_by_role("button", name="Add to today's queue").click()
        expect(page.get_by_text("is number 1 in today's queue")).to_be_visible()

        # ... and a booked patient checked in from today's arrivals.
        page.get_by_role("link", name="Today's arrivals").click()
        page.get_by_role("button", name="Check in Wanjiru Booked").click()
        expect(page.locator(f"#arrival-{booked.id}")).to_contain_text("Checked in: number 2.")

        # The nurse's board shows both cards, waiting, without a reload.
        waiting = board.locator(".flow-waiting")
        expect(waiting).to_contain_text("Juma Walkin", timeout=POLL)
        expect(waiting).to_contain_text("Wanjiru Booked", timeout=POLL)

        # The receptionist sends the walk-in to the nurse: it moves to Triage on the nurse's board.
        page.get_by_role("link", name="Flow board").first.click()
        page.get_by_role("button", name="Move 1 Juma Walkin to Triage").click()
        expect(page.locator(".flow-triage")).to_contain_text("Juma Walkin")
        expect(board.locator(".flow-triage")).to_contain_text("Juma Walkin", timeout=POLL)
        expect(waiting).not_to_contain_text("Juma Walkin")

        # The nurse is done with him (vital signs taken): one click on her board, ready for the doctor.
        board.get_by_role("button", name="Move 1 Juma Walkin to Ready for doctor").click()
        expect(board.locator(".flow-ready")).to_contain_text("Juma Walkin")

        # The doctor calls him in from his queue; the nurse's board follows.
        desk = log_in(doctor_context, live_server, "dr.otieno@example.org")
        follow(desk, "My queue")
        queue = desk.locator("#doctor-queue")
        expect(queue.locator("li").first).to_contain_text("Juma Walkin")
        desk.get_by_role("button", name="Call in 1 Juma Walkin").click()
        expect(queue.locator("li").first).to_contain_text("In consultation")
        expect(board.locator(".flow-consultation")).to_contain_text("Juma Walkin", timeout=POLL)
        expect(board.locator(".flow-ready")).not_to_contain_text("Juma Walkin")

        desk.get_by_role("button", name="Done with 1 Juma Walkin").click()
        expect(board.locator(".flow-done")).to_contain_text("Juma Walkin", timeout=POLL)
        assert board.evaluate("window.boardNeverReloaded") is True
        assert page.js_errors == []
    finally:
        nurse_context.close()
        doctor_context.close()
