"""Date and time inputs are the browser's pickers (which show the phone's own format and send ISO); a
browser without pickers shows a text box, where a date or time typed the reader's way is read that way,
and what cannot be read is answered with an example written that same way, never with "YYYY-MM-DD"."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.fields import date_example, parse_typed_date, parse_typed_time, time_example
from hms.models import ScheduleRule, TimeOff

HX = {"HX-Request": "true"}
NOW = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)
RLM = "\u200f"  # Babel's Arabic short date marks each separator right-to-left

EXAMPLES = {
    "en": ("12/31/2026", "3:30\u202fPM"),
    "es": ("31/12/2026", "15:30"),
    "ar": (f"31{RLM}/12{RLM}/2026", "3:30 م"),
}


def _message(app, language: str, what: str) -> str:  # type: ignore[no-untyped-def]
    """The message in the language's catalog (English until the catalog has the sentence)."""
    with app.test_request_context(), force_locale(language):
        if what == "date":
            return gettext("Write the date like %(example)s.", example=date_example())
        return gettext("Write the time like %(example)s.", example=time_example())


@pytest.mark.parametrize("language", ["en", "es", "ar"])
def test_the_example_is_the_languages_short_way_with_a_full_year(app, language):
    with app.test_request_context(), force_locale(language):
        assert (date_example(), time_example()) == EXAMPLES[language]


@pytest.mark.parametrize(
    ("language", "typed", "expected"),
    [
        ("en", "2026-12-31", date(2026, 12, 31)),  # what every date picker sends
        ("es", "2026-12-31", date(2026, 12, 31)),
        ("en", "12/31/2026", date(2026, 12, 31)),
        ("en", "4/12/1988", date(1988, 4, 12)),
        ("es", "12/4/1988", date(1988, 4, 12)),
        ("es", "31-12-26", date(2026, 12, 31)),
        ("es", "31 dic 2026", date(2026, 12, 31)),
        ("es", "31 de diciembre de 2026", date(2026, 12, 31)),
        ("en", "Dec 31, 2026", date(2026, 12, 31)),
        ("ar", f"31{RLM}/12{RLM}/2026", date(2026, 12, 31)),  # copied from the example
        ("ar", "٣١/١٢/٢٠٢٦", date(2026, 12, 31)),  # Arabic-Indic digits
        ("ar", "31 ديسمبر 2026", date(2026, 12, 31)),
        ("en", "31/12/2026", None),  # not the English order
        ("en", "soon", None),
        ("en", "1/2", None),
        ("en", "99999999999999999999/1/1", None),
    ],
)
def test_a_typed_date_is_read_the_readers_way(language, typed, expected):
    assert parse_typed_date(typed, language) == expected


@pytest.mark.parametrize(
    ("language", "typed", "expected"),
    [
        ("en", "14:30", time(14, 30)),  # what every time picker sends
        ("en", "14:30:00", time(14, 30)),
        ("en", "2:30 PM", time(14, 30)),
        ("en", "12:05 am", time(0, 5)),
        ("es", "2:30 p. m.", time(14, 30)),
        ("ar", "2:30 م", time(14, 30)),
        ("ar", "9:00 ص", time(9, 0)),
        ("ar", "١٤:٣٠", time(14, 30)),
        ("en", "nine", None),
        ("en", "9", None),
        ("en", "25:00", None),
        ("en", "13:00 PM", None),
    ],
)
def test_a_typed_time_is_read_the_readers_way(language, typed, expected):
    assert parse_typed_time(typed, language) == expected


@pytest.fixture
def doctor_in(make, login_as):  # type: ignore[no-untyped-def]
    def sign_in(language: str):  # type: ignore[no-untyped-def]
        clock.set_frozen(NOW)
        hospital = make.hospital(name="Riverside", timezone="Africa/Nairobi")
        doctor = make.doctor_at(hospital)
        doctor.locale = language
        db.session.commit()
        login_as(doctor)
        return hospital, doctor

    return sign_in


@pytest.mark.parametrize("language", ["en", "es", "ar"])
def test_time_off_answers_a_date_it_cannot_read_with_the_languages_example(app, client, doctor_in, language):
    doctor_in(language)
    response = client.post(
        "/doctor/time-off", data={"start_date": "soon", "end_date": "2027-03-05"}, headers=HX
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert _message(app, language, "date") in page and EXAMPLES[language][0] in page
    assert "YYYY" not in page
    assert db.session.scalar(select(TimeOff)) is None


@pytest.mark.parametrize("language", ["en", "es", "ar"])
def test_time_off_left_empty_asks_for_a_date_without_claiming_a_format(app, client, doctor_in, language):
    doctor_in(language)
    response = client.post("/doctor/time-off", data={"start_date": "", "end_date": ""}, headers=HX)
    assert response.status_code == 422
    with app.test_request_context(), force_locale(language):
        expected = gettext("Enter a date.")
    page = response.get_data(as_text=True)
    assert expected in page and "YYYY" not in page
    if language != "en":
        assert "Enter a date." not in page  # the catalog has this one


def test_time_off_typed_the_spanish_way_is_taken(client, doctor_in):
    doctor_in("es")
    response = client.post(
        "/doctor/time-off", data={"start_date": "5/3/2027", "end_date": "6 mar 2027"}, headers=HX
    )
    assert response.status_code == 200
    off = db.session.scalar(select(TimeOff))
    assert (off.start_date, off.end_date) == (date(2027, 3, 5), date(2027, 3, 6))


@pytest.mark.parametrize("language", ["en", "es", "ar"])
def test_the_schedule_answers_a_time_it_cannot_read_with_the_languages_example(
    app, client, doctor_in, language
):
    hospital, _ = doctor_in(language)
    p = f"h{hospital.id}-"
    data = {p + "weekday": "0", p + "start_time": "nine", p + "end_time": "12:00", p + "slot_minutes": "30"}
    response = client.post(f"/doctor/schedule/{hospital.id}/rules", data=data, headers=HX)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert _message(app, language, "time") in page and EXAMPLES[language][1] in page
    assert "HH:MM" not in page
    assert db.session.scalar(select(ScheduleRule)) is None


def test_the_schedule_reads_an_arabic_afternoon(client, doctor_in):
    hospital, _ = doctor_in("ar")
    p = f"h{hospital.id}-"
    data = {
        p + "weekday": "0",
        p + "start_time": "2:00 م",
        p + "end_time": "٥:٠٠ م",
        p + "slot_minutes": "30",
    }
    response = client.post(f"/doctor/schedule/{hospital.id}/rules", data=data, headers=HX)
    assert response.status_code == 200
    rule = db.session.scalar(select(ScheduleRule))
    assert (rule.start_time, rule.end_time) == (time(14, 0), time(17, 0))


@pytest.mark.parametrize("language", ["en", "es", "ar"])
def test_the_medical_history_date_answers_with_the_languages_example(app, client, make, login_as, language):
    patient = make.patient()
    patient.locale = language
    db.session.commit()
    login_as(patient)
    response = client.post(
        "/patient/records/history",
        data={"kind": "condition", "title": "Asthma", "since": "last spring"},
        headers=HX,
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert _message(app, language, "date") in page and "YYYY" not in page
