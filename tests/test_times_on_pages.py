"""Times on pages are on the hospital's clock with that zone's own label (EST in January, EDT in July
for New York), and days are written in the reader's language: no page shows a raw ISO date or a time
on the server's clock (issue 20)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from hms import clock
from hms.extensions import db

WINTER = datetime(2030, 1, 8, 14, 0, tzinfo=UTC)  # 09:00 EST in New York
SUMMER = datetime(2030, 7, 9, 13, 0, tzinfo=UTC)  # 09:00 EDT in New York
JANUARY = {"en": "Jan", "es": "ene", "ar": "يناير"}
TUESDAY = {"en": "Tue", "es": "mar", "ar": "الثلاثاء"}
ISO_DAY = re.compile(r">[^<>]*\b\d{4}-\d{2}-\d{2}\b[^<>]*<")  # an ISO date in a page's text


@pytest.fixture
def new_york(make):  # type: ignore[no-untyped-def]
    clock.set_frozen(datetime(2030, 1, 8, 13, 0, tzinfo=UTC))  # 08:00 in New York
    return make.hospital(name="Hudson Clinic", timezone="America/New_York", currency="USD")


def _reader(user, language: str):  # type: ignore[no-untyped-def]
    user.locale = language
    db.session.commit()
    return user


def _page(client, url: str) -> str:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    text = response.get_data(as_text=True)
    assert not ISO_DAY.search(text), ISO_DAY.search(text).group(0)  # type: ignore[union-attr]
    return text


# ---------------------------------------------------------------- the doctor


@pytest.mark.parametrize("language", ["en", "es", "ar"])
def test_the_doctors_patients_list_shows_visits_on_the_hospitals_clock(
    client, login_as, make, new_york, language
):
    doctor = _reader(make.doctor_at(new_york), language)
    patient = make.patient(name="Amina Hassan", date_of_birth=date(1990, 1, 1))
    make.appointment(patient, doctor, new_york, start_at=WINTER)
    login_as(doctor)
    page = _page(client, "/doctor/patients")
    assert '<time datetime="2030-01-08T09:00-05:00">09:00 EST</time>' in page  # today's visits
    assert f'<time datetime="1990-01-01">01 {JANUARY[language]} 1990</time>' in page  # born
    assert f'<time datetime="2030-01-08">08 {JANUARY[language]} 2030</time>' in page  # last visit
    assert "14:00" not in page


def test_a_late_visit_is_dated_on_its_hospitals_day_not_utcs(client, login_as, make, new_york):
    doctor = make.doctor_at(new_york)
    patient = make.patient()
    make.appointment(patient, doctor, new_york, start_at=datetime(2030, 1, 9, 2, 0, tzinfo=UTC))
    login_as(doctor)
    page = _page(client, "/doctor/patients?q=" + patient.full_name.split()[0])
    assert ">08 Jan 2030</time>" in page  # 21:00 on the 8th in New York, the 9th in UTC
    assert "09 Jan 2030" not in page


@pytest.mark.parametrize("language", ["en", "es", "ar"])
def test_the_patient_record_dates_birth_and_visits_in_the_readers_language(
    client, login_as, make, new_york, language
):
    doctor = _reader(make.doctor_at(new_york), language)
    patient = make.patient(date_of_birth=date(1990, 1, 1))
    make.encounter(make.appointment(patient, doctor, new_york, start_at=SUMMER))
    login_as(doctor)
    page = _page(client, f"/doctor/patients/{patient.patient.id}")
    assert f">01 {JANUARY[language]} 1990</time>" in page
    assert '<time datetime="2030-07-09T09:00-04:00">' in page
    assert "09:00 EDT</time>" in page
    day = {"en": "Tue 09 Jul 2030", "es": "mar 09 jul 2030", "ar": "الثلاثاء 09 يوليو 2030"}
    assert day[language] in page


# ---------------------------------------------------------------- inventory


@pytest.mark.parametrize("language", ["en", "es", "ar"])
def test_inventory_dates_batches_in_the_readers_language_and_moves_on_the_hospitals_clock(
    client, login_as, make, new_york, language
):
    admin = _reader(make.hospital_admin(new_york), language)
    item = make.inventory_item(
        new_york, name="Insulin", kind="medicine", batches=[("IN-1", date(2030, 1, 20), 2)], by=admin
    )
    login_as(admin)
    alerts = _page(client, "/hospital/inventory/alerts")
    assert f'<time datetime="2030-01-20">20 {JANUARY[language]} 2030</time>' in alerts
    page = _page(client, f"/hospital/inventory/{item.id}")
    assert f'<time datetime="2030-01-20">20 {JANUARY[language]} 2030</time>' in page
    assert f">08 {JANUARY[language]} 2030, 08:00 EST</time>" in page  # received now, 13:00 UTC
    assert f"IN-1 · 20 {JANUARY[language]} 2030 · 2" in page  # the batch to dispense from


# ---------------------------------------------------------------- the platform administrator


@pytest.mark.parametrize("language", ["en", "es", "ar"])
def test_the_platform_pages_date_a_hospital_on_its_clock_and_an_account_in_utc(
    client, login_as, make, new_york, language
):
    doctor = make.doctor_at(new_york)
    doctor.last_login_at = SUMMER
    patient = make.patient(date_of_birth=date(1990, 1, 1))
    login_as(_reader(make.super_admin(), language))
    month = JANUARY[language]

    hospital = _page(client, f"/admin/hospitals/{new_york.id}")
    assert f"{TUESDAY[language]} 08 {month} 2030, 08:00 EST</time>" in hospital
    assert '<time datetime="2030-01-08T08:00-05:00">' in hospital
    assert f">08 {month} 2030<" in _page(client, "/admin/hospitals")

    doctor_page = _page(client, f"/admin/doctors/{doctor.doctor.id}")
    assert f">08 {month} 2030</time>" in doctor_page  # registered, joined the hospital
    assert '<time datetime="2030-07-09T13:00+00:00">' in doctor_page and "13:00 UTC</time>" in doctor_page

    patient_page = _page(client, f"/admin/patients/{patient.patient.id}")
    assert f'<time datetime="1990-01-01">01 {month} 1990</time>' in patient_page
    assert f">08 {month} 2030</time>" in _page(client, "/admin/patients")


# ---------------------------------------------------------------- the hospital administrator


@pytest.mark.parametrize("language", ["en", "es", "ar"])
def test_the_hospitals_week_appointments_and_patient_pages_are_on_its_clock(
    client, login_as, make, new_york, language
):
    admin = _reader(make.hospital_admin(new_york), language)
    doctor = make.doctor_at(new_york, name="Chinedu Okafor")
    make.schedule(doctor, new_york, weekdays=[1], start="09:00", end="13:00")
    patient = make.patient(name="Amina Hassan", date_of_birth=date(1990, 1, 1))
    make.appointment(patient, doctor, new_york, start_at=WINTER)
    login_as(admin)
    month = JANUARY[language]

    week = _page(client, "/hospital/week?start=2030-01-08")
    assert f"07 {month}" in week and f"13 {month} 2030" in week and "EST" in week  # the caption
    assert "America/New_York" not in week
    assert f'<time datetime="2030-01-08">{TUESDAY[language]} 8</time>' in week
    assert '<time datetime="2030-01-08T09:00-05:00">09:00</time> Amina Hassan' in week
    assert "09:00–13:00" in week

    listing = _page(client, "/hospital/appointments")
    assert f"{TUESDAY[language]} 08 {month} 2030, 09:00 EST</time>" in listing
    assert "14:00" not in listing

    record = _page(client, f"/hospital/patients/{patient.patient.id}")
    assert f'<time datetime="1990-01-01">01 {month} 1990</time>' in record
    assert f"{TUESDAY[language]} 08 {month} 2030, 09:00 EST</time>" in record
    assert f"{TUESDAY[language]} 08 {month} 2030, 09:00 EST</time>" in _page(client, "/hospital/patients")


def test_a_week_the_clocks_change_in_names_both_labels(client, login_as, make, new_york):
    login_as(make.hospital_admin(new_york))
    week = _page(client, "/hospital/week?start=2030-03-05")  # New York springs forward on Sunday 10 March
    assert "EST/EDT" in week


def test_an_invitations_expiry_is_on_the_hospitals_clock_with_its_label(client, login_as, make, new_york):
    login_as(make.hospital_admin(new_york))
    invite = {"full_name": "Ann Lee", "email": "ann@example.org", "specialty": "Surgery", "department": "0"}
    inline = client.post("/hospital/doctors/invitations", data=invite, headers={"HX-Request": "true"}).text
    assert "08:00 EST</time>" in inline  # in seven days, on New York's clock
    flashed = client.post(
        "/hospital/doctors/invitations", data=invite | {"email": "bo@example.org", "full_name": "Bo Li"}
    )
    assert flashed.status_code == 303
    page = _page(client, "/hospital/doctors")
    assert re.search(r"until \w{3} \d\d Jan 2030, 08:00 EST", page), page


# ---------------------------------------------------------------- reports


@pytest.mark.parametrize("language", ["en", "es", "ar"])
def test_a_reports_range_and_periods_are_days_in_the_readers_language(
    client, login_as, make, new_york, language
):
    make.appointment(make.patient(), make.doctor_at(new_york), new_york, start_at=WINTER)
    login_as(_reader(make.hospital_admin(new_york), language))
    run = {"metric": "appointments", "start": "2030-01-01", "end": "2030-01-10", "group": "week"}
    response = client.get("/hospital/reports", query_string=run, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert not ISO_DAY.search(html), ISO_DAY.search(html).group(0)  # type: ignore[union-attr]
    month = JANUARY[language]
    assert (
        f'<time datetime="2030-01-01">01 {month} 2030</time> – <time datetime="2030-01-10">10 {month} 2030'
        in html
    )
    assert (
        f'<th scope="row"><time datetime="2030-01-07">07 {month} 2030</time></th>' in html
    )  # the second week
    by_month = client.get(
        "/hospital/reports", query_string=run | {"group": "month"}, headers={"HX-Request": "true"}
    )
    january = {"en": "January", "es": "enero", "ar": "يناير"}[language]
    assert f'<time datetime="2030-01-01">{january} 2030</time></th>' in by_month.get_data(as_text=True)


# ---------------------------------------------------------------- account pages


def _token_and_session(client, login_as, user):  # type: ignore[no-untyped-def]
    login_as(user)
    created = client.post("/account/tokens", data={"name": "Laptop", "expires": "30"})
    assert created.status_code in (200, 303), created.status_code


@pytest.mark.parametrize("language", ["en", "es", "ar"])
def test_account_pages_are_on_the_clock_of_the_readers_hospital(client, login_as, make, new_york, language):
    admin = _reader(make.hospital_admin(new_york), language)
    _token_and_session(client, login_as, admin)
    sessions = _page(client, "/account/security")
    assert f"08 {JANUARY[language]} 2030, 08:00 EST</time>" in sessions  # signed in at 13:00 UTC
    assert '<time datetime="2030-01-08T08:00-05:00">' in sessions
    tokens = _page(client, "/account/tokens")
    assert f'<time datetime="2030-01-08">08 {JANUARY[language]} 2030</time>' in tokens


def test_a_doctor_of_one_zone_reads_its_clock_one_of_several_reads_utc(client, login_as, make, new_york):
    doctor = make.doctor_at(new_york)
    login_as(doctor)
    assert "08:00 EST</time>" in _page(client, "/account/security")
    make.membership(doctor, make.hospital(timezone="Asia/Kolkata"))
    page = _page(client, "/account/security")
    assert "13:00 UTC</time>" in page and "EST" not in page


def test_an_account_without_a_hospital_reads_utc_named(client, login_as, make, new_york):
    login_as(make.patient())
    assert '<time datetime="2030-01-08T13:00+00:00">08 Jan 2030, 13:00 UTC</time>' in _page(
        client, "/account/security"
    )


# ---------------------------------------------------------------- the bill export


def test_the_bill_export_names_the_zone_of_its_times(client, login_as, make, new_york):
    make.bill(make.patient(name="Amina Hassan"), new_york, items=[("Visit", 1, 5000)])
    login_as(make.hospital_admin(new_york))
    rows = client.get("/hospital/bills.csv").data.decode().splitlines()
    assert rows[0].startswith("bill,created (EST/EDT),status")
    assert ",2030-01-08 08:00," in rows[1]  # made at 13:00 UTC

    nairobi = make.hospital(timezone="Africa/Nairobi")
    login_as(make.hospital_admin(nairobi))
    assert client.get("/hospital/bills.csv").data.decode().startswith("bill,created (EAT),status")


# ---------------------------------------------------------------- the patient


@pytest.mark.parametrize("language", ["es", "ar"])
def test_the_patients_birth_and_record_access_log_are_in_his_language(
    client, login_as, make, new_york, language
):
    patient = _reader(make.patient(date_of_birth=date(1990, 1, 1)), language)
    doctor = make.doctor_at(new_york)
    make.appointment(patient, doctor, new_york, start_at=WINTER)
    login_as(patient)
    assert f'<time datetime="1990-01-01">01 {JANUARY[language]} 1990</time>' in _page(client, "/patient/")
    login_as(doctor)
    client.get(f"/doctor/patients/{patient.patient.id}")  # logged as a view of his record
    login_as(patient)
    log = _page(client, "/patient/record-access")
    assert f'<time datetime="2030-01-08T13:00+00:00">08 {JANUARY[language]} 2030, 13:00</time>' in log
