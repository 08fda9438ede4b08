"""The doctor's week as a time grid in Chromium: visits sized by their length and placed by their time,
the page never wider than the screen (the grid scrolls in its own box), the current week starting from
today on a phone, and no serious accessibility violation on a phone or a desktop."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from hms import clock
from hms.extensions import db
from hms.models import AppointmentStatus
from tests.e2e import axe
from tests.e2e.conftest import log_in
from tests.e2e.test_fits_every_screen import OVERFLOW, WIDTHS

# Wednesday 3 March 2027, 09:00 in Nairobi: Monday and Tuesday are before today.
NOW = datetime(2027, 3, 3, 6, 0, tzinfo=UTC)
ROW = 72  # px: half an hour (4.5rem)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 3, day, hour - 3, minute, tzinfo=UTC)


@pytest.fixture
def week(make):  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)
    hospital = make.hospital(name="Riverside General", timezone="Africa/Nairobi")
    doctor = make.doctor_at(hospital, email="doctor@example.org", name="Chinedu Okafor")
    make.schedule(doctor, hospital, weekdays=range(5), start="09:00", end="13:00")
    visits = {
        "monday": make.appointment(make.patient(name="Monday Patient"), doctor, hospital, local(1, 10)),
        "today": make.appointment(make.patient(name="Amina Hassan"), doctor, hospital, local(3, 10)),
        "long": make.appointment(
            make.patient(name="John Mwangi"), doctor, hospital, local(5, 11), minutes=60
        ),
        "gone": make.appointment(
            make.patient(name="Sofia Garcia"),
            doctor,
            hospital,
            local(3, 10),
            status=AppointmentStatus.cancelled,
        ),
    }
    db.session.commit()
    return {name: v.id for name, v in visits.items()}


def test_the_week_grid_fits_every_screen_and_starts_from_today_on_a_phone(page, live_server, week):
    log_in(page, live_server, "doctor@example.org")
    page.goto(f"{live_server}/doctor/agenda?view=week&day=2027-03-03")
    monday, today, long = (
        page.locator(f'a.tg-visit[href$="#appointment-{week[n]}"]') for n in ("monday", "today", "long")
    )
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        assert page.evaluate(OVERFLOW) is None, f"{width}px: {page.evaluate(OVERFLOW)}"
        expect(today).to_be_visible()
        if width < 768:
            expect(monday).to_be_hidden()
            expect(page.locator("h2.tg-head:visible").first).to_contain_text("Wed 03")
            expect(page.get_by_role("link", name="Earlier this week")).to_be_visible()
        else:
            expect(monday).to_be_visible()
            expect(page.get_by_role("link", name="Earlier this week")).to_be_hidden()
    page.set_viewport_size({"width": 1280, "height": 800})
    nine = page.locator(".tg-time").first.bounding_box()
    box, long_box = today.bounding_box(), long.bounding_box()
    assert abs(box["y"] - (nine["y"] + 2 * ROW)) <= 2  # 10:00 is two half hours under 09:00
    assert abs(box["height"] - ROW) <= 2 and abs(long_box["height"] - 2 * ROW) <= 2  # 30 and 60 minutes
    gone = page.locator(f'a.tg-visit[href$="#appointment-{week["gone"]}"]').bounding_box()
    assert gone["x"] >= box["x"] + box["width"] - 1  # the cancelled booking beside the live one, not over it
    expect(today).to_have_text("10:00–10:30 Amina Hassan booked")
    today.click()
    expect(page).to_have_url(f"{live_server}/doctor/agenda?day=2027-03-03#appointment-{week['today']}")
    expect(
        page.locator(f"#appointment-{week['today']}").get_by_role("button", name="Arrived")
    ).to_be_visible()


@pytest.mark.parametrize("width", [390, 1280])
def test_the_week_grid_has_no_serious_accessibility_violation(page, live_server, week, width):
    page.set_viewport_size({"width": width, "height": 800})
    log_in(page, live_server, "doctor@example.org")
    page.goto(f"{live_server}/doctor/agenda?view=week&day=2027-03-03")
    found: dict[str, list[str]] = {}
    axe.check(page, f"week grid at {width}px", found)
    assert not found, axe.report(found)
    small = page.evaluate(
        "() => [...document.querySelectorAll('.tg a')].filter(a => a.offsetParent !== null)"
        ".filter(a => a.getBoundingClientRect().height < 24).map(a => a.textContent.trim())"
    )
    assert small == [], f"links under 24 px tall: {small}"
