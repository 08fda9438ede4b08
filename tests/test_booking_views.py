"""The patient's booking pages: search, the live slot picker, booking, my appointments, cancel, move."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from hms import clock
from hms.extensions import db
from hms.models import Appointment, AppointmentStatus, MembershipStatus

NOW = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)  # Monday 09:00 in Nairobi
DAY = date(2027, 3, 3)
HTMX = {"HX-Request": "true"}


@pytest.fixture
def setup(make, login_as):
    clock.set_frozen(NOW)
    hospital = make.hospital(name="Riverside", city="Nairobi", timezone="Africa/Nairobi")
    doctor = make.doctor_at(hospital, name="Chinedu Okafor", specialty="Cardiology")
    make.schedule(doctor, hospital, start="09:00", end="12:00")
    patient = make.patient(name="Amina Hassan")
    login_as(patient)
    return hospital, doctor, patient


def key(hospital, hh_mm: str, day: date = DAY) -> str:  # type: ignore[no-untyped-def]
    return Appointment.slot_key(
        datetime.combine(day, time.fromisoformat(hh_mm), tzinfo=hospital.tz).astimezone(UTC)
    )


def page_url(doctor, hospital) -> str:  # type: ignore[no-untyped-def]
    return f"/patient/doctors/{doctor.doctor.id}/at/{hospital.id}"


def book(client, doctor, hospital, slot, reason="Chest pain", form_key="k" * 24, headers=None):  # type: ignore[no-untyped-def]
    return client.post(
        page_url(doctor, hospital) + "/book",
        data={"slot": slot, "reason": reason, "key": form_key},
        headers=headers or {},
    )


def count_appointments() -> int:
    return db.session.scalar(select(func.count()).select_from(Appointment))


def test_search_page_and_live_results_fragment(client, setup):
    page = client.get("/patient/doctors")
    assert page.status_code == 200
    assert b"Dr Chinedu Okafor" in page.data
    fragment = client.get("/patient/doctors?q=cardio", headers=HTMX)
    assert b"<html" not in fragment.data and b"Dr Chinedu Okafor" in fragment.data
    assert len(fragment.data) < 5000
    assert b"No doctor matches" in client.get("/patient/doctors?q=zzz", headers=HTMX).data


def test_search_ignores_nonsense_parameters(client, setup):
    for query in ["?page=-3", "?page=abc", "?hospital=xyz", "?q=" + "x" * 500, "?q=%27%3B--"]:
        assert client.get("/patient/doctors" + query).status_code == 200


def test_doctor_page_shows_a_14_day_strip_and_the_first_free_day(client, setup):
    hospital, doctor, _ = setup
    page = client.get(page_url(doctor, hospital))
    assert page.status_code == 200
    html = page.data.decode()
    assert len(re.findall(r'class="day( full)?"', html)) == 14
    assert "Africa/Nairobi (EAT, UTC+03:00)" in html
    assert 'value="' + key(hospital, "09:00", date(2027, 3, 1)) + '"' not in html  # already past at 09:00
    assert 'value="' + key(hospital, "09:30", date(2027, 3, 1)) + '"' in html
    assert 'aria-label="Monday 1 March 2027, 09:30 (Africa/Nairobi)"' in html  # a screen reader's full name


def test_clicking_a_day_loads_only_its_slots(client, setup):
    hospital, doctor, _ = setup
    fragment = client.get(page_url(doctor, hospital) + f"?day={DAY.isoformat()}", headers=HTMX)
    assert fragment.status_code == 200
    assert b"<html" not in fragment.data and b"day-strip" not in fragment.data
    assert fragment.data.count(b'name="slot"') == 6
    assert len(fragment.data) < 5000
    for bad in ["2027-13-45", "yesterday", "1900-01-01", "2099-01-01"]:
        assert client.get(page_url(doctor, hospital) + f"?day={bad}", headers=HTMX).status_code == 200


def test_booking_then_confirmation_and_my_appointments(client, setup):
    hospital, doctor, patient = setup
    response = book(client, doctor, hospital, key(hospital, "10:00"))
    assert response.status_code == 303
    appointment = db.session.scalar(select(Appointment))
    assert response.headers["Location"] == f"/patient/appointments/{appointment.id}"
    confirmation = client.get(response.headers["Location"])
    assert b"Your appointment is booked." in confirmation.data
    assert b"Wed 03 Mar 2027, 10:00" in confirmation.data
    listing = client.get("/patient/appointments")
    assert b"Dr Chinedu Okafor" in listing.data and b"Wed 03 Mar 2027, 10:00" in listing.data
    # The slot is gone from the picker.
    fragment = client.get(page_url(doctor, hospital) + f"?day={DAY.isoformat()}", headers=HTMX)
    assert key(hospital, "10:00").encode() not in fragment.data


def test_htmx_booking_answers_with_the_confirmation_page_itself(client, setup):
    """No redirect round trip on a slow network: htmx swaps the page's <main> and pushes its URL."""
    hospital, doctor, _ = setup
    response = book(client, doctor, hospital, key(hospital, "10:00"), headers=HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Push-Url"].startswith("/patient/appointments/")
    assert (response.headers["HX-Retarget"], response.headers["HX-Reselect"]) == ("#main", "#main")
    assert response.headers["HX-Reswap"] == "outerHTML"
    assert b"Your appointment is booked." in response.data and b"Appointment with Dr" in response.data
    # Only what htmx keeps is sent: the page's <main> and its title (htmx sets the tab's title from it),
    # not the header, the footer or the document around them.
    answer = response.get_data(as_text=True)
    assert answer.startswith('<title>Appointment · HMS</title>\n<main class="container" id="main"')
    assert answer.rstrip().endswith("</main>")
    # The flash was shown once: the page itself no longer carries it.
    page = client.get(response.headers["HX-Push-Url"]).get_data(as_text=True)
    assert "Your appointment is booked." not in page
    assert page.startswith("<!doctype html>") and '<header class="shell">' in page and "<footer" in page
    assert len(answer.encode()) < len(page.encode()) * 0.6


def test_double_click_books_once(client, setup):
    hospital, doctor, _ = setup
    first = book(client, doctor, hospital, key(hospital, "10:00"), form_key="same-key-1234567890")
    second = book(client, doctor, hospital, key(hospital, "10:00"), form_key="same-key-1234567890")
    assert first.headers["Location"] == second.headers["Location"]
    assert count_appointments() == 1


def test_a_taken_slot_answers_409_marks_it_offers_others_and_keeps_the_reason(client, setup, make, login_as):
    hospital, doctor, _ = setup
    rival = make.patient()
    make.appointment(rival, doctor, hospital, datetime.fromisoformat("2027-03-03T07:00+00:00"))  # 10:00 local
    response = book(client, doctor, hospital, key(hospital, "10:00"), reason="My knee hurts", headers=HTMX)
    assert response.status_code == 409
    html = response.data.decode()
    assert "someone has just booked that time" in html
    assert "My knee hurts" in html
    assert "Nearest free times" in html
    assert re.search(
        r'class="slot taken"><input type="radio" name="slot" value="2027-03-03T07:00Z" disabled', html
    )
    assert re.search(r"Wed 03 Mar, 10:30", html)
    assert response.headers["HX-Trigger"] == '{"slotsChanged": true}'
    assert count_appointments() == 1


def test_a_slot_only_the_unique_key_refuses_answers_409_with_the_nearest_free_times(
    client, setup, make, monkeypatch
):
    """The unique keys are the last guard, behind the checks made under the lock: when only they refuse
    (here the check is made to miss the rival's booking), the INSERT ran inside its savepoint, so the
    transaction stays usable and the patient gets the same 409 with the nearest free times, not a 500
    (PostgreSQL refuses every statement of a transaction whose INSERT failed outside a savepoint)."""
    from hms.services import scheduling

    hospital, doctor, _ = setup
    rival = make.patient()
    make.appointment(rival, doctor, hospital, datetime.fromisoformat("2027-03-03T07:00+00:00"))  # 10:00 local
    real_around = scheduling._around

    def around_missing_the_rival(*args):  # type: ignore[no-untyped-def]
        made, _doctors, patients = real_around(*args)
        return made, [], patients

    monkeypatch.setattr(scheduling, "_around", around_missing_the_rival)
    response = book(client, doctor, hospital, key(hospital, "10:00"), reason="My knee hurts", headers=HTMX)
    assert response.status_code == 409
    html = response.data.decode()
    assert "Nearest free times" in html and "My knee hurts" in html
    assert re.search(r"Wed 03 Mar, 10:30", html)
    assert count_appointments() == 1
    monkeypatch.setattr(scheduling, "_around", real_around)
    assert book(client, doctor, hospital, key(hospital, "10:30"), form_key="m" * 24).status_code == 303


@pytest.mark.parametrize(
    "slot",
    [
        "",
        "garbage",
        "2027-03-03T07:10Z",
        "2027-02-03T07:00Z",
        "2027-03-03T07:00",
        "9999-99-99T99:99Z",
        "2027-03-03T07:00Z' OR 1=1 --",
        "<script>alert(1)</script>",
    ],
)
def test_tampered_or_malformed_slots_are_a_clear_4xx(client, setup, slot):
    hospital, doctor, _ = setup
    response = book(client, doctor, hospital, slot)
    assert response.status_code == 422
    assert b"<script>alert(1)</script>" not in response.data
    assert count_appointments() == 0


def test_missing_reason_is_422_and_keeps_the_choice(client, setup):
    hospital, doctor, _ = setup
    response = book(client, doctor, hospital, key(hospital, "10:00"), reason="", headers=HTMX)
    assert response.status_code == 422
    assert b"Tell the doctor briefly why you come." in response.data
    assert b"checked" in response.data


def test_unknown_or_inactive_doctor_pages_are_404(client, setup, make):
    hospital, doctor, _ = setup
    elsewhere = make.hospital()  # one he does not work at (a fixed id may be his own on PostgreSQL)
    assert client.get(f"/patient/doctors/{doctor.doctor.id}/at/{elsewhere.id}").status_code == 404
    doctor.doctor.memberships[0].status = MembershipStatus.inactive
    db.session.commit()
    assert client.get(page_url(doctor, hospital)).status_code == 404
    assert book(client, doctor, hospital, key(hospital, "10:00")).status_code == 404


def test_html_in_the_reason_is_shown_escaped(client, setup):
    hospital, doctor, _ = setup
    response = book(
        client, doctor, hospital, key(hospital, "10:00"), reason="<b>bold</b><script>x()</script>"
    )
    page = client.get(response.headers["Location"])
    assert b"<script>x()</script>" not in page.data
    assert b"&lt;script&gt;" in page.data


def test_cancel_inline_frees_the_slot(client, setup):
    hospital, doctor, _ = setup
    book(client, doctor, hospital, key(hospital, "10:00"))
    appointment = db.session.scalar(select(Appointment))
    response = client.post(f"/patient/appointments/{appointment.id}/cancel", headers=HTMX)
    assert response.status_code == 200
    assert response.data.lstrip().startswith(f'<tr id="appointment-{appointment.id}"'.encode())
    assert b"The time is free for others again." in response.data
    assert appointment.status == AppointmentStatus.cancelled
    fragment = client.get(page_url(doctor, hospital) + f"?day={DAY.isoformat()}", headers=HTMX)
    assert key(hospital, "10:00").encode() in fragment.data


def test_cancel_after_the_cut_off_is_refused(client, setup):
    hospital, doctor, _ = setup
    book(client, doctor, hospital, key(hospital, "10:00"))
    appointment = db.session.scalar(select(Appointment))
    clock.set_frozen(appointment.start_at - timedelta(minutes=90))
    response = client.post(f"/patient/appointments/{appointment.id}/cancel", headers=HTMX)
    assert response.status_code == 409
    assert b"until 2 hours before" in response.data
    assert appointment.status == AppointmentStatus.booked


def test_another_patients_appointment_is_404(client, setup, make):
    hospital, doctor, _ = setup
    other = make.appointment(make.patient(), doctor, hospital, NOW + timedelta(days=2))
    assert client.get(f"/patient/appointments/{other.id}").status_code == 404
    assert client.post(f"/patient/appointments/{other.id}/cancel").status_code == 404
    assert client.get(f"/patient/appointments/{other.id}/reschedule").status_code == 404
    assert other.status == AppointmentStatus.booked


def test_reschedule_moves_the_appointment(client, setup):
    hospital, doctor, _ = setup
    book(client, doctor, hospital, key(hospital, "10:00"))
    old = db.session.scalar(select(Appointment))
    page = client.get(f"/patient/appointments/{old.id}/reschedule?day={DAY.isoformat()}")
    assert page.status_code == 200 and b"Move my appointment" in page.data
    response = client.post(
        f"/patient/appointments/{old.id}/reschedule", data={"slot": key(hospital, "11:30"), "key": "m" * 24}
    )
    assert response.status_code == 303
    new = db.session.scalar(select(Appointment).where(Appointment.id != old.id))
    assert new.rescheduled_from_id == old.id and new.status == AppointmentStatus.booked
    assert old.status == AppointmentStatus.cancelled


def test_htmx_reschedule_answers_with_the_moved_visits_page_itself(client, setup):
    """As a booking does: no redirect round trip; htmx swaps in <main> and pushes the new visit's URL."""
    hospital, doctor, _ = setup
    book(client, doctor, hospital, key(hospital, "10:00"))
    old = db.session.scalar(select(Appointment))
    response = client.post(
        f"/patient/appointments/{old.id}/reschedule",
        data={"slot": key(hospital, "11:30"), "key": "m" * 24},
        headers=HTMX,
    )
    assert response.status_code == 200
    new = db.session.scalar(select(Appointment).where(Appointment.id != old.id))
    assert response.headers["HX-Push-Url"] == f"/patient/appointments/{new.id}"
    assert (response.headers["HX-Retarget"], response.headers["HX-Reselect"]) == ("#main", "#main")
    answer = response.get_data(as_text=True)
    assert answer.startswith("<title>Appointment · HMS</title>") and 'header class="shell"' not in answer
    assert "Your appointment is moved." in answer and "11:30" in answer
    assert old.status == AppointmentStatus.cancelled and new.status == AppointmentStatus.booked


def test_a_failed_reschedule_keeps_the_old_booking(client, setup, make):
    hospital, doctor, _ = setup
    book(client, doctor, hospital, key(hospital, "10:00"))
    old = db.session.scalar(select(Appointment))
    make.appointment(make.patient(), doctor, hospital, datetime.fromisoformat("2027-03-03T08:00+00:00"))
    response = client.post(
        f"/patient/appointments/{old.id}/reschedule",
        data={"slot": key(hospital, "11:00"), "key": "m" * 24},
        headers=HTMX,
    )
    assert response.status_code == 409
    assert old.status == AppointmentStatus.booked and old.active_slot


def test_a_form_sent_back_keeps_the_chosen_time_and_adds_nothing_to_the_kept_pieces(app, client, setup):
    """A day's times are kept by hms.templating.cached_markup under what they show; a refused form's
    time is what the request sent, so that form is drawn each time: made-up times cannot fill the kept
    pieces (and empty them for everyone), and a real chosen time is still shown chosen."""
    hospital, doctor, _ = setup
    pieces = app.extensions["hms_markup"]
    pieces.clear()  # the app is the session's: other tests' pieces may be there
    assert client.get(page_url(doctor, hospital) + f"?day={DAY.isoformat()}", headers=HTMX).status_code == 200
    kept = set(pieces)
    for n in range(3):
        refused = book(client, doctor, hospital, f"made-up-{n}", headers=HTMX)
        assert refused.status_code == 422
    chosen = key(hospital, "10:30")
    no_reason = book(client, doctor, hospital, chosen, reason="", headers=HTMX)
    assert no_reason.status_code == 422 and b"Tell the doctor briefly why you come." in no_reason.data
    assert re.search(rf'value="{re.escape(chosen)}" required checked', no_reason.get_data(as_text=True))
    times = [k for k in set(pieces) - kept if k[0] == "patient/_slot_times.html"]
    assert times == []
    assert count_appointments() == 0
