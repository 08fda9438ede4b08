"""A small iCalendar (RFC 5545) writer for appointment invitations and cancellations (RFC 5546 iTIP)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

LINE_OCTETS = 75  # RFC 5545 §3.1: lines longer than 75 octets are folded


def escape_text(value: str) -> str:
    """TEXT value escaping (§3.3.11): backslash, semicolon, comma and newlines."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def _param(value: str) -> str:
    """A parameter value (§3.2): quoted, with the characters a quoted value cannot hold removed."""
    return '"' + "".join(c for c in value if c not in '"\r\n' and (c >= " " or c == "\t")) + '"'


def fold(line: str) -> str:
    """Fold a content line into chunks of at most 75 octets, never inside a UTF-8 character."""
    if len(line) <= LINE_OCTETS and line.isascii():  # most lines: nothing to fold, nothing to count
        return line
    out: list[str] = []
    current, size = "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        limit = LINE_OCTETS if not out else LINE_OCTETS - 1  # continuation lines start with a space
        if size + width > limit:
            out.append(current)
            current, size = "", 0
        current += char
        size += width
    out.append(current)
    return "\r\n ".join(out)


def utc_stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def appointment_event(
    *,
    uid: str,
    start: datetime,
    end: datetime,
    stamp: datetime,
    summary: str,
    location: str,
    description: str,
    organizer_name: str,
    organizer_email: str,
    attendee_name: str,
    attendee_email: str,
    sequence: int = 0,
    cancelled: bool = False,
) -> str:
    """A VCALENDAR with one VEVENT: METHOD:REQUEST for a booking, METHOD:CANCEL for a cancellation.
    A later REQUEST with the same UID and a higher SEQUENCE moves the event in the calendar."""
    method = "CANCEL" if cancelled else "REQUEST"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//HMS//Appointments//EN",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{escape_text(uid)}",
        f"DTSTAMP:{utc_stamp(stamp)}",
        f"DTSTART:{utc_stamp(start)}",
        f"DTEND:{utc_stamp(end)}",
        f"SEQUENCE:{sequence}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        f"SUMMARY:{escape_text(summary)}",
        f"LOCATION:{escape_text(location)}",
        f"DESCRIPTION:{escape_text(description)}",
        f"ORGANIZER;CN={_param(organizer_name)}:mailto:{organizer_email}",
        f"ATTENDEE;CN={_param(attendee_name)};ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:{attendee_email}",
        "TRANSP:OPAQUE",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(fold(line) + "\r\n" for line in lines)


def method_of(ics: str) -> str:
    for line in ics.splitlines():
        if line.startswith("METHOD:"):
            return line.split(":", 1)[1].strip()
    return "PUBLISH"


# ---------------------------------------------------------------- downloads and feeds (RFC 5545 PUBLISH)


@dataclass(frozen=True)
class FeedEvent:
    """One appointment as a calendar event, its times in the hospital's zone (written with TZID)."""

    uid: str
    start: datetime
    end: datetime
    tzid: str
    stamp: datetime
    summary: str
    location: str
    description: str
    sequence: int = 0
    cancelled: bool = False


def publish(name: str, events: list[FeedEvent]) -> bytes:
    """A VCALENDAR (METHOD:PUBLISH) of `events` with local times and a VTIMEZONE for each zone used,
    for a one-off .ics download or a subscribed feed. Built with the icalendar package, which also
    derives the VTIMEZONE rules from the IANA database."""
    import icalendar

    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//HMS//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for item in events:
        zone = ZoneInfo(item.tzid)
        event = icalendar.Event()
        event.add("uid", item.uid)
        event.add("dtstamp", item.stamp.astimezone(UTC))
        event.add("dtstart", item.start.astimezone(zone))
        event.add("dtend", item.end.astimezone(zone))
        event.add("sequence", item.sequence)
        event.add("status", "CANCELLED" if item.cancelled else "CONFIRMED")
        event.add("summary", item.summary)
        event.add("location", item.location)
        event.add("description", item.description)
        event.add("transp", "TRANSPARENT" if item.cancelled else "OPAQUE")
        calendar.add_component(event)
    if events:
        first = min(e.start for e in events).date() - timedelta(days=366)
        last = max(e.end for e in events).date() + timedelta(days=366)
        calendar.add_missing_timezones(first_date=first, last_date=last)
    return calendar.to_ical()
