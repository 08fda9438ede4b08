"""iCalendar: an appointment's .ics download and the private, revocable feed of each patient and doctor,
parsed with the icalendar package: local times with TZID and a VTIMEZONE, cancellations marked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest

from hms import clock
from hms.extensions import db
from hms.services import api_tokens, scheduling

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)


@pytest.fixture
def visits(make):  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)
    hospital = make.hospital(name="Riverside, General", timezone="Africa/Nairobi")
    doctor = make.doctor_at(hospital, name="Grace Okafor")
    patient = make.patient(name="Amina Hassan")
    booked = make.appointment(
        patient, doctor, hospital, start_at=NOW + timedelta(days=1), reason="Cough; fever"
    )
    cancelled = make.appointment(patient, doctor, hospital, start_at=NOW + timedelta(days=2))
    scheduling.cancel_appointment(cancelled, patient, "")
    db.session.commit()
    other = make.appointment(start_at=NOW + timedelta(days=1))  # someone else's
    return {
        "hospital": hospital,
        "doctor": doctor,
        "patient": patient,
        "booked": booked,
        "cancelled": cancelled,
        "other": other,
    }


def events(body: bytes) -> list[icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(body)
    return list(calendar.walk("VEVENT"))


def feed_url(user) -> str:  # type: ignore[no-untyped-def]
    _, secret = api_tokens.rotate_calendar_feed(user)
    db.session.commit()
    return f"/calendar/{secret}.ics"


def test_a_patient_downloads_his_appointment_with_the_hospitals_time_zone(client, visits, login_as):  # type: ignore[no-untyped-def]
    login_as(visits["patient"])
    response = client.get(f"/appointments/{visits['booked'].id}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]
    calendar = icalendar.Calendar.from_ical(response.data)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Africa/Nairobi"]
    (event,) = events(response.data)
    assert event["DTSTART"].params["TZID"] == "Africa/Nairobi"
    assert event.decoded("DTSTART") == NOW + timedelta(days=1)  # 11:00 in Nairobi is 08:00 UTC
    assert event.decoded("DTSTART").strftime("%H:%M") == "11:00"
    assert str(event["LOCATION"]).startswith("Riverside, General")
    assert "Reason: Cough; fever" in str(event["DESCRIPTION"])
    assert str(event["STATUS"]) == "CONFIRMED"
    assert b"DTSTART;TZID=Africa/Nairobi:20300108T110000" in response.data


def test_the_same_event_as_the_emailed_invitation(client, visits, login_as):  # type: ignore[no-untyped-def]
    login_as(visits["doctor"])
    (event,) = events(client.get(f"/appointments/{visits['booked'].id}.ics").data)
    assert str(event["UID"]) == f"appointment-{visits['booked'].id}@hms.local"


def test_someone_elses_appointment_is_404_and_other_roles_403(client, visits, login_as, make):  # type: ignore[no-untyped-def]
    login_as(visits["patient"])
    assert client.get(f"/appointments/{visits['other'].id}.ics").status_code == 404
    assert client.get("/appointments/99999999999.ics").status_code == 404
    login_as(make.hospital_admin(visits["hospital"]))
    assert client.get(f"/appointments/{visits['booked'].id}.ics").status_code == 403


def test_a_patients_feed_lists_his_appointments_and_marks_cancelled_ones(client, visits):  # type: ignore[no-untyped-def]
    response = client.get(feed_url(visits["patient"]))
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    found = {str(e["UID"]): e for e in events(response.data)}
    assert set(found) == {
        f"appointment-{visits['booked'].id}@hms.local",
        f"appointment-{visits['cancelled'].id}@hms.local",
    }
    cancelled = found[f"appointment-{visits['cancelled'].id}@hms.local"]
    assert str(cancelled["STATUS"]) == "CANCELLED" and cancelled["SEQUENCE"] == 1
    for event in found.values():
        assert event["DTSTART"].params["TZID"] == "Africa/Nairobi"
    assert icalendar.Calendar.from_ical(response.data).walk("VTIMEZONE")


def test_a_doctors_feed_lists_his_appointments_only(client, visits):  # type: ignore[no-untyped-def]
    found = events(client.get(feed_url(visits["doctor"])).data)
    assert len(found) == 2 and all("Okafor" in str(e["SUMMARY"]) for e in found)


def test_a_moved_appointment_is_one_event_at_its_new_time(client, visits, make):  # type: ignore[no-untyped-def]
    doctor, hospital, start = make.bookable_slot(visits["hospital"])
    patient = make.patient()
    first = scheduling.book_appointment(
        patient=patient.patient,
        doctor_id=doctor.doctor.id,
        hospital_id=hospital.id,
        start=start,
        reason="",
        booked_by=patient,
    )
    db.session.commit()
    moved = scheduling.reschedule_appointment(first, start + timedelta(minutes=30), patient)
    db.session.commit()
    (event,) = events(client.get(feed_url(patient)).data)
    assert str(event["UID"]) == f"appointment-{first.id}@hms.local"
    assert event.decoded("DTSTART") == moved.start_at and event["SEQUENCE"] == 2


def test_rotating_the_feed_address_ends_the_old_one_and_revoking_ends_all(client, visits):  # type: ignore[no-untyped-def]
    old = feed_url(visits["patient"])
    new = feed_url(visits["patient"])
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    api_tokens.revoke_calendar_feed(visits["patient"])
    db.session.commit()
    assert client.get(new).status_code == 404


def test_unknown_or_api_tokens_are_no_feed(client, visits):  # type: ignore[no-untyped-def]
    _, api_secret = api_tokens.create_api_token(visits["patient"], "script")
    db.session.commit()
    for token in (api_secret, "cal_guess", "x" * 500, "cal_%00"):
        assert client.get(f"/calendar/{token}.ics").status_code in (400, 404)


def test_the_feed_is_rate_limited(client, visits, app):  # type: ignore[no-untyped-def]
    url = feed_url(visits["patient"])
    statuses = [client.get(url).status_code for _ in range(31)]
    assert statuses[:30] == [200] * 30 and statuses[30] == 429


def test_the_feed_is_written_in_its_owners_language(client, visits):  # type: ignore[no-untyped-def]
    patient = visits["patient"]
    patient.locale = "es"
    db.session.commit()
    booked = next(e for e in events(client.get(feed_url(patient)).data) if e["STATUS"] != "CANCELLED")
    assert str(booked["SUMMARY"]) == "Cita: Dr. Grace Okafor / Amina Hassan"
    assert "Motivo: Cough; fever" in str(booked["DESCRIPTION"])


def test_after_a_move_the_new_booking_always_has_the_higher_sequence(client, visits, make, login_as):  # type: ignore[no-untyped-def]
    """The sweep: /appointments/<old>.ics and /appointments/<new>.ics carried one UID and one SEQUENCE
    with opposite statuses; a calendar importing both could not tell which is newer. Every state the
    .ics files show, in the order they happened, now has a higher SEQUENCE than the one before."""
    doctor, hospital, start = make.bookable_slot(visits["hospital"])
    patient = make.patient()
    login_as(patient)

    def ics(visit):  # type: ignore[no-untyped-def]
        (event,) = events(client.get(f"/appointments/{visit.id}.ics").data)
        return str(event["UID"]), int(event["SEQUENCE"]), str(event.get("STATUS"))

    first = scheduling.book_appointment(
        patient=patient.patient,
        doctor_id=doctor.doctor.id,
        hospital_id=hospital.id,
        start=start,
        reason="",
        booked_by=patient,
    )
    db.session.commit()
    seen = [ics(first)]
    second = scheduling.reschedule_appointment(first, start + timedelta(minutes=30), patient)
    db.session.commit()
    seen += [ics(first), ics(second)]
    third = scheduling.reschedule_appointment(second, start + timedelta(minutes=60), patient)
    db.session.commit()
    seen += [ics(second), ics(third)]
    scheduling.cancel_appointment(third, patient, "Feeling better")
    db.session.commit()
    seen.append(ics(third))
    assert len({uid for uid, _seq, _status in seen}) == 1
    assert [seq for _uid, seq, _status in seen] == [0, 1, 2, 3, 4, 5]
    assert [status for _uid, _seq, status in seen] == ["CONFIRMED", "CANCELLED"] * 3
