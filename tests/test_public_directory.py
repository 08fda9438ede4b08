"""The public doctor directory: anyone searches doctors and sees each one's next free time; "Book" asks
to log in or register and comes back to the chosen time. Also the picker's states that follow from it:
a move opens on the visit's day, and a "taken" answer brings the day counts up to date."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import Appointment
from tests.factories import PASSWORD
from tests.statements import recorded
from tests.test_auth import confirmation_link, patient_form

NOW = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)  # Monday 09:00 in Nairobi
DAY = date(2027, 3, 3)  # Wednesday
HTMX = {"HX-Request": "true"}


@pytest.fixture
def world(make):  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)
    hospital = make.hospital(name="Riverside", city="Nairobi", timezone="Africa/Nairobi")
    doctor = make.doctor_at(hospital, name="Chinedu Okafor", specialty="Cardiology")
    make.schedule(doctor, hospital, start="09:00", end="12:00")
    return hospital, doctor


def key(hospital, hh_mm: str, day: date = DAY) -> str:  # type: ignore[no-untyped-def]
    local = datetime.combine(day, time.fromisoformat(hh_mm), tzinfo=hospital.tz)
    return Appointment.slot_key(local.astimezone(UTC))


def public_page(doctor, hospital) -> str:  # type: ignore[no-untyped-def]
    return f"/doctors/{doctor.doctor.id}/at/{hospital.id}"


def patient_page(doctor, hospital) -> str:  # type: ignore[no-untyped-def]
    return f"/patient/doctors/{doctor.doctor.id}/at/{hospital.id}"


def test_the_home_page_searches_doctors_without_an_account(client, world):
    home = client.get("/").data.decode()
    assert re.search(r'<form method="get" action="/doctors"', home)
    page = client.get("/doctors?q=cardio")
    assert page.status_code == 200
    html = page.data.decode()
    assert "Dr Chinedu Okafor" in html and "Cardiology" in html
    assert 'href="/doctors/' in html and "/patient/" not in html  # links stay on the public pages


def test_a_card_is_drawn_once_for_what_it_shows_and_again_in_another_language_or_when_that_changes(
    app, client, world, make
):
    """The search's cards (and the strip's days) are kept by `hms.templating.cached_markup` under
    everything they show: asked again, a card is reused; in Spanish, or once the doctor's name or next
    free time changed, it is drawn anew, never an old one shown."""
    hospital, doctor = world
    pieces = app.extensions["hms_markup"]
    pieces.clear()  # the app is the session's: other tests' pieces may be there
    results = {"HX-Request": "true"}
    first = client.get("/doctors", headers=results).data.decode()
    kept = len(pieces)
    assert kept == 1 and "Next free: Mon 01 Mar, 09:30" in first
    assert client.get("/doctors", headers=results).data.decode() == first
    assert len(pieces) == kept  # the same card, not drawn again
    spanish = client.get("/doctors", headers=results | {"Accept-Language": "es"}).data.decode()
    assert "Próximo hueco libre" in spanish and len(pieces) == kept + 1
    doctor.full_name = "Chinedu Okafor-Eze"
    db.session.commit()
    assert "Dr Chinedu Okafor-Eze" in client.get("/doctors", headers=results).data.decode()
    make.appointment(make.patient(), doctor, hospital, datetime(2027, 3, 1, 6, 30, tzinfo=UTC))
    assert "Next free: Mon 01 Mar, 10:00" in client.get("/doctors", headers=results).data.decode()
    page = client.get(patient_page(doctor, hospital).replace("/patient", "")).data.decode()
    assert re.search(r'class="day" aria-current="date"\s+aria-label="Monday 01 March: 4 free times"', page)


def test_each_doctor_shows_his_next_free_time(client, world, make):
    hospital, doctor = world
    # 09:00 has passed; 09:30 is the first free time, until someone books it.
    assert "Next free: Mon 01 Mar, 09:30" in client.get("/doctors").data.decode()
    make.appointment(make.patient(), doctor, hospital, datetime(2027, 3, 1, 6, 30, tzinfo=UTC))
    html = client.get("/doctors").data.decode()
    assert "Next free: Mon 01 Mar, 10:00" in html
    assert f'href="{public_page(doctor, hospital)}?day=2027-03-01" class="next-free"' in html
    idle = make.doctor_at(hospital, name="Ada Idle", specialty="Cardiology")  # no schedule: never free
    assert idle
    html = client.get("/doctors?q=Idle").data.decode()
    assert "Dr Ada Idle" in html and "No free time in the next 14 days" in html


def test_the_search_fragment_is_small_and_answers_odd_input(client, world):
    fragment = client.get("/doctors?q=cardio", headers=HTMX)
    assert fragment.status_code == 200 and b"<html" not in fragment.data and len(fragment.data) < 5000
    for query in ["?page=-3", "?hospital=xyz", "?hospital=2147483648", "?q=" + "x" * 500, "?q=%27%3B--"]:
        assert client.get("/doctors" + query).status_code == 200


def test_a_patient_is_sent_to_his_own_search_and_picker(client, world, make, login_as):
    hospital, doctor = world
    login_as(make.patient())
    response = client.get("/doctors?q=cardio")
    assert response.status_code == 302 and response.headers["Location"] == "/patient/doctors?q=cardio"
    response = client.get(public_page(doctor, hospital) + "?day=2027-03-03")
    assert response.headers["Location"] == patient_page(doctor, hospital) + "?day=2027-03-03"


def test_the_public_picker_books_nothing_and_leads_to_logging_in(client, world):
    hospital, doctor = world
    page = client.get(public_page(doctor, hospital) + "?day=2027-03-03")
    assert page.status_code == 200
    html = page.data.decode()
    assert f'<form method="get" action="{public_page(doctor, hospital)}/book" id="booking-form">' in html
    assert f'value="{key(hospital, "10:00")}"' in html
    assert "You log in or register, then come back to the time you chose." in html
    day = client.get(public_page(doctor, hospital) + "?day=2027-03-04", headers=HTMX)
    assert day.status_code == 200 and b"<html" not in day.data
    assert key(hospital, "10:00", date(2027, 3, 4)).encode() in day.data
    assert client.get(f"/doctors/{doctor.doctor.id}/at/999999").status_code == 404


def test_book_logs_in_and_comes_back_to_the_chosen_time(client, world, make):
    hospital, doctor = world
    make.patient(email="amina@example.org")
    slot = key(hospital, "10:00")
    response = client.get(public_page(doctor, hospital) + "/book", query_string={"slot": slot})
    assert response.status_code == 303
    login = urlsplit(response.headers["Location"])
    assert login.path == "/login"
    target = parse_qs(login.query)["next"][0]
    assert target == f"{patient_page(doctor, hospital)}?day=2027-03-03&slot={slot}"
    assert b"Log in or register to book this time" in client.get(response.headers["Location"]).data
    logged_in = client.post(
        "/login", query_string={"next": target}, data={"email": "amina@example.org", "password": PASSWORD}
    )
    assert logged_in.status_code == 303 and logged_in.headers["Location"] == target
    html = client.get(target).data.decode()
    assert re.search(rf'value="{slot}" required checked', html)  # the chosen time is selected
    assert 'aria-current="date"' in html and "Wednesday 03 March 2027" in html


def test_a_time_taken_while_logging_in_is_said_plainly(client, world, make, login_as):
    hospital, doctor = world
    slot = key(hospital, "10:00")
    make.appointment(make.patient(), doctor, hospital, datetime(2027, 3, 3, 7, 0, tzinfo=UTC))
    login_as(make.patient())
    html = client.get(patient_page(doctor, hospital), query_string={"day": "2027-03-03", "slot": slot}).data
    assert b"The time you chose was taken meanwhile: choose another." in html
    assert b" checked" not in html


@pytest.mark.parametrize("slot", ["", "garbage", "2027-02-30T07:00Z", "<script>"])
def test_book_without_a_good_time_goes_back_to_the_picker(client, world, slot):
    hospital, doctor = world
    response = client.get(public_page(doctor, hospital) + "/book", query_string={"slot": slot})
    assert response.status_code == 303 and response.headers["Location"] == public_page(doctor, hospital)
    assert b"Choose a time." in client.get(public_page(doctor, hospital)).data


def test_other_roles_are_told_visits_are_booked_from_a_patients_account(client, world, make, login_as):
    hospital, doctor = world
    login_as(make.doctor())
    slot = key(hospital, "10:00")
    response = client.get(public_page(doctor, hospital) + "/book", query_string={"slot": slot})
    assert response.headers["Location"] == public_page(doctor, hospital) + "?day=2027-03-03"
    assert b"Visits are booked from a patient&#39;s account." in client.get(response.headers["Location"]).data


def test_registering_from_book_comes_back_to_the_chosen_time(client, world):
    hospital, doctor = world
    target = f"{patient_page(doctor, hospital)}?day=2027-03-03&slot={key(hospital, '10:00')}"
    login = client.get("/login", query_string={"next": target}).data.decode()
    assert re.search(r'href="/register\?next=[^"]+"', login)  # the register link keeps where to go
    sent = client.post("/register", query_string={"next": target}, data=patient_form())
    assert sent.status_code == 303
    done = client.post(confirmation_link("amina@example.org"))
    assert done.status_code == 303 and done.headers["Location"] == target


def test_registration_does_not_carry_a_foreign_target(client, world):
    client.post("/register", query_string={"next": "//evil.example/x"}, data=patient_form())
    done = client.post(confirmation_link("amina@example.org"))
    assert done.headers["Location"] == "/patient/"


def test_moving_a_visit_opens_on_its_day_with_the_visit_marked(client, world, make, login_as):
    hospital, doctor = world
    patient = make.patient()
    visit = make.appointment(patient, doctor, hospital, datetime(2027, 3, 5, 8, 0, tzinfo=UTC))  # Fri 11:00
    login_as(patient)
    html = client.get(f"/patient/appointments/{visit.id}/reschedule").data.decode()
    assert re.search(r'href="[^"]*\?day=2027-03-05"[^>]*aria-current="date"', html, re.S)
    assert "Friday 05 March 2027" in html
    current = r'class="slot current"><input type="radio" name="slot" value="2027-03-05T08:00Z" disabled'
    assert re.search(current, html)
    assert "your visit now" in html and "Move to this time" in html


def test_a_taken_answer_brings_the_day_counts_up_to_date(client, world, make, login_as):
    hospital, doctor = world
    login_as(make.patient())
    page = client.get(patient_page(doctor, hospital) + "?day=2027-03-03").data.decode()
    assert "Wednesday 03 March: 6 free times" in page
    make.appointment(make.patient(), doctor, hospital, datetime(2027, 3, 3, 7, 0, tzinfo=UTC))  # 10:00
    make.appointment(make.patient(), doctor, hospital, datetime(2027, 3, 3, 8, 0, tzinfo=UTC))  # 11:00
    response = client.post(
        patient_page(doctor, hospital) + "/book",
        data={"slot": key(hospital, "10:00"), "reason": "Chest pain", "key": "k" * 24},
        headers=HTMX,
    )
    assert response.status_code == 409
    html = response.data.decode()
    assert 'class="day-strip"' in html  # the strip is inside the swapped form
    assert "Wednesday 03 March: 4 free times" in html


def test_the_directory_reads_a_fixed_number_of_statements_whatever_its_size(client, world, make):
    hospital, _ = world

    def count() -> int:
        client.get("/doctors")
        with recorded() as seen:
            assert client.get("/doctors").status_code == 200
        return len(seen)

    few = count()
    for n in range(6):
        other = make.doctor_at(hospital, name=f"Doctor {n}", specialty="Cardiology")
        make.schedule(other, hospital, start="09:00", end="12:00")
        make.appointment(make.patient(), other, hospital, NOW + timedelta(hours=1))
    assert count() == few <= 6
    assert db.session.scalar(select(Appointment.id).limit(1))
