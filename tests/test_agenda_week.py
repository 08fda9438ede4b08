"""The doctor's agenda week as a time grid: rows of half hours across the week's hours and visits, a
column per day, each visit a link block placed by classes (no inline styles), moved visits saying where
to or from, and on a phone the current week starting from today."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from hms import clock
from hms.doctor import week_grid
from hms.extensions import db
from hms.models import AppointmentStatus
from hms.services import scheduling

# Wednesday 3 March 2027, 06:00 UTC = 09:00 in Nairobi (UTC+3). The week runs Monday 1 – Sunday 7 March.
NOW = datetime(2027, 3, 3, 6, 0, tzinfo=UTC)
MONDAY = date(2027, 3, 1)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A time on March `day` 2027 on Nairobi's clock, in UTC."""
    return datetime(2027, 3, day, hour - 3, minute, tzinfo=UTC)


@pytest.fixture
def doc(make, login_as):  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)
    hospital = make.hospital(name="Riverside", timezone="Africa/Nairobi")
    doctor = make.doctor_at(hospital)
    make.schedule(doctor, hospital, weekdays=range(5), start="09:00", end="13:00")
    login_as(doctor)
    return hospital, doctor


def week(client, day: str = "2027-03-03") -> str:  # type: ignore[no-untyped-def]
    response = client.get(f"/doctor/agenda?view=week&day={day}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def block(html: str, appointment_id: int) -> tuple[set[str], str]:
    """(classes, text) of a visit's block in the week grid."""
    match = re.search(
        rf'<a class="tg-visit ([^"]+)" href="[^"]*#appointment-{appointment_id}">(.*?)</a>', html, re.S
    )
    assert match, f"no block for visit {appointment_id}"
    return set(match.group(1).split()), " ".join(re.sub(r"<[^>]+>", " ", match.group(2)).split())


def test_a_visit_is_a_block_placed_by_its_day_start_and_length(client, doc, make):
    hospital, doctor = doc
    patient = make.patient(name="Amina Hassan")
    visit = make.appointment(patient, doctor, hospital, local(4, 10, 15), minutes=45)  # Thursday
    html = week(client)
    classes, text = block(html, visit.id)
    # rows from 09:00 (line 2) by half hours: 10:00–10:30 is line 4, so 10:15–11:00 spans lines 4 to 6
    assert {"tg-c5", "tg-s4", "tg-e6", "tg-mt3", "tg-mb0", "tg-visit-booked"} <= classes
    assert text == "10:15–11:00 Amina Hassan booked"
    assert ' style="' not in html and "<script" not in html.split("</header>")[1]
    assert f'href="/doctor/agenda?day=2027-03-04#appointment-{visit.id}"' in html


def test_the_rows_span_the_earliest_start_to_the_latest_end_of_hours_and_visits(client, doc, make):
    hospital, doctor = doc
    make.appointment(make.patient(), doctor, hospital, local(6, 7, 40), minutes=30)  # Saturday, off hours
    html = week(client)
    times = re.findall(r'<span class="tg-time tg-s(\d+)" aria-hidden="true">([0-9:]+)</span>', html)
    assert times[0] == ("2", "07:30") and times[-1][1] == "12:30"  # the schedule ends at 13:00
    assert len(times) == 11


def test_an_empty_week_shows_the_schedule_and_says_so(client, doc):
    html = week(client, "2027-03-10")
    assert "No appointments this week." in html
    assert re.findall(r'tg-time tg-s\d+" aria-hidden="true">([0-9:]+)<', html)[0] == "09:00"


def test_overlapping_visits_sit_side_by_side_the_live_one_first(client, doc, make):
    hospital, doctor = doc
    gone = make.appointment(make.patient(), doctor, hospital, local(5, 9), status=AppointmentStatus.cancelled)
    taken = make.appointment(make.patient(), doctor, hospital, local(5, 9))
    alone = make.appointment(make.patient(), doctor, hospital, local(5, 11))
    html = week(client)
    assert "tg-lane0of2" in block(html, taken.id)[0] and "tg-lane1of2" in block(html, gone.id)[0]
    assert not any(c.startswith("tg-lane") for c in block(html, alone.id)[0])


def test_a_moved_visit_says_where_to_and_the_new_one_where_from(client, doc, make):
    hospital, doctor = doc
    patient = make.patient(name="Amina Hassan")
    old = scheduling.book_appointment(
        patient=patient.patient,
        doctor_id=doctor.doctor.id,
        hospital_id=hospital.id,
        start=local(4, 9),
        reason="Check-up",
        booked_by=patient,
    )
    new = scheduling.reschedule_appointment(old, local(5, 11, 30), patient)
    db.session.commit()
    html = week(client)
    assert block(html, old.id)[1] == "09:00–09:30 Amina Hassan moved to Fri 05 Mar 11:30"
    assert block(html, new.id)[1] == "11:30–12:00 Amina Hassan booked moved from Thu 04 Mar 09:00"
    day = client.get("/doctor/agenda?day=2027-03-04").get_data(as_text=True)
    assert "moved to Fri 05 Mar 11:30" in day


def test_on_a_phone_the_current_week_starts_from_today(client, doc, make):
    hospital, doctor = doc
    html = week(client)
    heads = re.findall(r'<h2 class="tg-head ([^"]+)">', html)
    assert [h.split()[:2] for h in heads] == [
        ["tg-c2", "tg-before"],
        ["tg-c3", "tg-before"],
        ["tg-c4", "tg-p2"],  # Wednesday, today, is the phone's first day
        ["tg-c5", "tg-p3"],
        ["tg-c6", "tg-p4"],
        ["tg-c7", "tg-p5"],
        ["tg-c8", "tg-p6"],
    ]
    assert 'aria-current="date"' in html and "Earlier this week" in html
    later = week(client, "2027-03-10")
    assert "tg-before" not in later and "Earlier this week" not in later


def test_the_grid_of_a_week_is_computed_without_the_database():
    """Lanes and rows from plain data: the builder reads only what it is given."""

    nairobi = SimpleNamespace(tz=ZoneInfo("Africa/Nairobi"))

    def visit(ident: int, start: datetime, minutes: int) -> SimpleNamespace:
        end = start + timedelta(minutes=minutes)
        return SimpleNamespace(
            id=ident, hospital=nairobi, status=AppointmentStatus.booked, start_at=start, end_at=end
        )

    visits = [visit(1, local(1, 8), 30), visit(2, local(1, 8, 10), 10), visit(3, local(1, 8, 20), 20)]
    grid = week_grid.build(MONDAY, visits, [], today=date(2027, 3, 1))  # type: ignore[arg-type]
    blocks = {b.appointment.id: b for b in grid.days[0].blocks}
    assert (grid.first_minute, grid.last_line) == (8 * 60, 4)  # 08:00–09:00, two rows
    assert [(blocks[i].lane, blocks[i].lanes) for i in (1, 2, 3)] == [(0, 2), (1, 2), (1, 2)]
    assert "tg-short" in blocks[2].classes and "tg-mt2" in blocks[2].classes and "tg-mb2" in blocks[2].classes
