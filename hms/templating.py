"""Jinja globals and filters: navigation per role, money and time formatting for the reader's locale."""

from __future__ import annotations

import functools
import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from flask import Flask
from flask_babel import get_locale, get_translations
from flask_login import current_user

from hms.i18n import LANGUAGES, N_, text_direction
from hms.models import Role, StaffKind
from hms.money import format_money

NAVIGATION: dict[Role, list[tuple[str, str]]] = {
    Role.patient: [
        ("patient.dashboard", N_("Dashboard")),
        ("patient.find_doctors", N_("Find a doctor")),
        ("patient.appointments", N_("My appointments")),
        ("patient.records", N_("Medical history")),
        ("patient.encounters", N_("My visits")),
        ("patient.record_access", N_("Record access")),
        ("patient.bills", N_("My bills")),
        ("consult.index", N_("Messages")),
    ],
    Role.doctor: [
        ("doctor.dashboard", N_("Dashboard")),
        ("doctor.agenda", N_("Agenda")),
        ("doctor.schedule", N_("My schedule")),
        ("doctor.hospitals", N_("My hospitals")),
        ("doctor.patients", N_("My patients")),
        ("consult.index", N_("Messages")),
    ],
    Role.hospital_admin: [
        ("hospital_admin.dashboard", N_("Dashboard")),
        ("hospital_admin.doctors", N_("Doctors")),
        ("hospital_admin.appointments", N_("Appointments")),
        ("hospital_admin.week", N_("Week")),
        ("hospital_admin.patients", N_("Patients")),
        ("hospital_admin.desk_bills", N_("Bills")),
        ("hospital_admin.inventory", N_("Inventory")),
        ("hospital_admin.departments", N_("Departments")),
        ("hospital_admin.staff", N_("Staff")),
        ("hospital_admin.reports", N_("Reports")),
        ("hospital_admin.profile", N_("Profile")),
        ("hospital_sms.settings", N_("Text messages")),
    ],
    Role.staff: [
        ("staff.dashboard", N_("Dashboard")),
        ("staff.desk_bills", N_("Billing desk")),
        ("staff.inventory", N_("Inventory")),
    ],
    Role.super_admin: [
        ("super_admin.dashboard", N_("Dashboard")),
        ("super_admin.hospitals", N_("Hospitals")),
        ("super_admin.doctors", N_("Doctors")),
        ("super_admin.patients", N_("Patients")),
        ("super_admin.reports", N_("Reports")),
        ("super_admin.outbox_status", N_("Mail queue")),
    ],
}


# Every role's own settings: API tokens and (patients, doctors) the calendar feed.
ACCOUNT_LINK = ("api_tokens.tokens", N_("API and calendar"))

# Links only some staff may follow (the page itself checks too).
STAFF_KIND_ONLY = {"staff.desk_bills": StaffKind.receptionist, "staff.inventory": StaffKind.pharmacist}


def navigation() -> list[tuple[str, str]]:
    if not current_user.is_authenticated:
        return []
    links = NAVIGATION.get(current_user.role, [])
    if current_user.role == Role.staff:
        kind = current_user.staff.kind if current_user.staff else None
        links = [(e, label) for e, label in links if STAFF_KIND_ONLY.get(e, kind) == kind]
    return [*links, ACCOUNT_LINK]


def locale_code() -> str:
    return str(get_locale() or "en")


# strftime directives and their CLDR (Unicode date pattern) equivalents, so that existing formats
# keep their shape while weekday and month names follow the reader's language. %Z is the zone's
# abbreviation from zoneinfo ("EAT", "CET"); CLDR's "z" would print "GMT+3" or "+0300".
_CLDR = {
    "a": "EEE", "A": "EEEE", "d": "dd", "-d": "d", "e": "d", "b": "MMM", "B": "MMMM", "m": "MM",
    "-m": "M", "y": "yy", "Y": "y", "H": "HH", "-H": "H", "I": "hh", "-I": "h", "M": "mm",
    "S": "ss", "p": "a", "%": "'%'",
}  # fmt: skip
_DIRECTIVE = re.compile(r"%(-?[a-zA-Z%])")


def cldr_pattern(strftime_format: str, zone_abbreviation: str = "") -> str:
    """A strftime format as a CLDR pattern; literal text is quoted."""
    out, pos = [], 0
    for match in _DIRECTIVE.finditer(strftime_format):
        out.append(_quote(strftime_format[pos : match.start()]))
        code = match.group(1)
        out.append(_quote(zone_abbreviation) if code == "Z" else _CLDR.get(code, ""))
        pos = match.end()
    out.append(_quote(strftime_format[pos:]))
    return "".join(out)


def _quote(text: str) -> str:
    if not text:
        return ""
    return "'" + text.replace("'", "''") + "'" if re.search(r"[A-Za-z']", text) else text


def local_time(value: datetime | None, tz: str | ZoneInfo, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    """A UTC datetime shown in a hospital's time zone, with names in the reader's language."""
    if value is None:
        return ""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    local = value.astimezone(zone)
    pattern = cldr_pattern(fmt, local.tzname() or "")
    return format_datetime(local, pattern, tzinfo=zone, locale=locale_code())


def local_date(value: date | None, fmt: str = "%a %d %b %Y") -> str:
    """A calendar day (no time zone involved), e.g. the agenda's heading."""
    if value is None:
        return ""
    return format_date(value, cldr_pattern(fmt), locale=locale_code())


def clock_time(value: time | None, fmt: str = "%H:%M") -> str:
    """A wall-clock time of a schedule (already in the hospital's time)."""
    if value is None:
        return ""
    return format_time(value, cldr_pattern(fmt), locale=locale_code())


def spoken_time(value: datetime) -> str:
    """A local datetime in full words for screen readers, e.g. "Tuesday 1 December 2026, 09:30".

    The same text as Babel's `format_datetime(value, "EEEE d MMMM y, HH:mm")`, for a fraction of the
    cost: a day of the slot picker has up to 36 times on one date, so the date's words are formatted
    once per date and language (`_spoken_day`) and the clock time, which CLDR writes as two-digit
    hours and minutes in every language we serve, is added to it (tests/test_i18n.py compares both)."""
    return f"{_spoken_day(value.date(), str(get_locale() or 'en'))}, {value.hour:02d}:{value.minute:02d}"


@functools.lru_cache(maxsize=512)
def _spoken_day(day: date, locale: str) -> str:
    return format_date(day, "EEEE d MMMM y", locale=locale)


def money(amount_minor: int, currency: str) -> str:
    """An amount in the bill's currency, written the reader's way (₹1,500.00, 1.500,00 INR)."""
    return format_money(amount_minor, currency, locale_code())


def translate(message: object) -> str:
    """A message decided at run time (a flashed message, an error) in the reader's language; unlike
    `_()`, it neither marks the text safe nor applies % formatting, so user input in it stays inert."""
    text = str(message or "")
    return get_translations().ugettext(text) if text else ""


def unread_notifications() -> int:
    """The bell's count, rendered with the page (the bell then only polls, no request on load)."""
    from flask import g

    from hms.services.notifications import unread_count

    if g.get("main_only") or not current_user.is_authenticated:
        return 0  # an answer of which htmx keeps only <main> (hms.htmx.show_page)
    return unread_count(current_user)


def register(app: Flask) -> None:
    from hms.services.consultations import call_is_open

    app.jinja_env.globals.update(
        navigation=navigation,
        Role=Role,
        get_locale=get_locale,
        video_call_open=call_is_open,
        languages=LANGUAGES,
        text_direction=text_direction,
        unread_notifications=unread_notifications,
    )
    app.jinja_env.filters.update(
        local_time=local_time,
        local_date=local_date,
        clock_time=clock_time,
        money=money,
        translate=translate,
        spoken_time=spoken_time,
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
