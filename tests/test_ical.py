"""The iCalendar writer follows RFC 5545: CRLF lines of at most 75 octets, escaped text, UTC times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hms import ical

START = datetime(2030, 1, 8, 6, 0, tzinfo=UTC)


def event(**overrides) -> str:  # type: ignore[no-untyped-def]
    values = {
        "uid": "appointment-7@hms.local",
        "start": START,
        "end": START + timedelta(minutes=30),
        "stamp": START - timedelta(days=1),
        "summary": "Appointment: Dr Okafor / Amina",
        "location": "Riverside, 12 River Road; Nairobi",
        "description": "General practice.\nReason: cough, fever\\chills",
        "organizer_name": "Riverside General",
        "organizer_email": "no-reply@hms.local",
        "attendee_name": 'Amina "Ami" Hassan',
        "attendee_email": "amina@example.org",
    } | overrides
    return ical.appointment_event(**values)


def unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def test_lines_end_in_crlf_and_fold_at_75_octets_without_splitting_characters():
    text = event(description="Ünïcödé-lïne " * 20)
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    for line in text.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75
    description = next(line for line in unfold(text) if line.startswith("DESCRIPTION:"))
    assert description == "DESCRIPTION:" + ("Ünïcödé-lïne " * 20).replace(",", "\\,")


def test_text_is_escaped_and_times_are_utc():
    lines = unfold(event(start=datetime(2030, 1, 8, 9, 0, tzinfo=timezone(timedelta(hours=3)))))
    assert "DTSTART:20300108T060000Z" in lines
    assert "DTEND:20300108T063000Z" in lines
    assert "LOCATION:Riverside\\, 12 River Road\\; Nairobi" in lines
    assert "DESCRIPTION:General practice.\\nReason: cough\\, fever\\\\chills" in lines
    assert (
        'ATTENDEE;CN="Amina Ami Hassan";ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:amina@example.org'
        in lines
    )
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"


def test_a_cancellation_is_a_cancel_with_a_higher_sequence():
    lines = unfold(event(cancelled=True, sequence=2))
    assert "METHOD:CANCEL" in lines and "STATUS:CANCELLED" in lines and "SEQUENCE:2" in lines
    assert ical.method_of(event()) == "REQUEST"
