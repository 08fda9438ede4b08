"""Jinja globals and filters: navigation per role, money and time formatting for the reader's locale."""

from __future__ import annotations

import functools
import re
from datetime import date, datetime, time, tzinfo
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time, get_day_names
from flask import Flask, current_app, request
from flask_babel import get_locale, get_translations, gettext
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from hms import clock
from hms.i18n import LANGUAGES, locale_code, text_direction
from hms.models import Role
from hms.money import format_money
from hms.navigation import shell_markup
from hms.url_cache import keep

# strftime directives and their CLDR (Unicode date pattern) equivalents, so that existing formats
# keep their shape while weekday and month names follow the reader's language. %Z is the zone's
# abbreviation from zoneinfo ("EAT", "CET"); CLDR's "z" would print "GMT+3" or "+0300".
_CLDR = {
    "a": "EEE", "A": "EEEE", "d": "dd", "-d": "d", "e": "d", "b": "MMM", "B": "MMMM", "m": "MM",
    "-m": "M", "y": "yy", "Y": "y", "H": "HH", "-H": "H", "I": "hh", "-I": "h", "M": "mm",
    "S": "ss", "p": "a", "%": "'%'",
}  # fmt: skip
_DIRECTIVE = re.compile(r"%(-?[a-zA-Z%])")


@functools.lru_cache(maxsize=1024)
def cldr_pattern(strftime_format: str, zone_abbreviation: str = "") -> str:
    """A strftime format as a CLDR pattern; literal text is quoted. Worked out once per format (a
    page uses a few formats, dozens of times each)."""
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


# A moment on a page: day, time and the zone's own abbreviation, e.g. "Tue 08 Jan 2030, 09:00 EST".
MOMENT = "%a %d %b %Y, %H:%M %Z"


def local_time(value: datetime | None, tz: str | ZoneInfo, fmt: str = MOMENT) -> str:
    """A UTC datetime shown in a hospital's time zone, with names in the reader's language; by default
    with the zone's label, so that no time on a page leaves its clock unsaid."""
    if value is None:
        return ""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    return _formatted_moment(value, zone, fmt, locale_code())


@functools.lru_cache(maxsize=8192)
def _formatted_moment(value: datetime, zone: ZoneInfo, fmt: str, locale: str) -> str:
    """A moment in a zone, format and language, formatted once per process: lists show the same
    moments on every request (a search page's next free times, a day's agenda)."""
    local = value.astimezone(zone)
    pattern = cldr_pattern(fmt, local.tzname() or "")
    return format_datetime(local, pattern, tzinfo=zone, locale=locale)


def zoned_time(value: datetime | None, tz: str | ZoneInfo, day_format: str = "%a %d %b %Y") -> str:
    """A moment as a notice, an email or a PDF writes it, where no page around it says which clock: the
    day and the time on the hospital's wall (the visit's hospital, for a patient of several) with that
    zone's own abbreviation, in the language of the moment, e.g. "Tue 03 Mar 2026 at 10:00 EST".
    Callers writing to someone else pick his language with `hms.i18n.in_language_of`."""
    if value is None:
        return ""
    return gettext(
        "%(day)s at %(time)s", day=local_time(value, tz, day_format), time=local_time(value, tz, "%H:%M %Z")
    )


def time_tag(value: datetime | None, tz: str | ZoneInfo, fmt: str = MOMENT) -> Markup:
    """A moment as a <time> element: the text on the hospital's clock in the reader's language, the
    datetime attribute the same moment with its UTC offset, for machines (e.g. 2030-01-08T09:00-05:00),
    or the local day when only the day is shown."""
    if value is None:
        return Markup("")
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    local = value.astimezone(zone)
    # A day shown without its time is dated by that day of the hospital's calendar.
    machine = local.isoformat(timespec="minutes") if re.search(r"%-?[HIM]", fmt) else local.date().isoformat()
    return Markup('<time datetime="{}">{}</time>').format(machine, local_time(value, zone, fmt))


def date_tag(value: date | None, fmt: str = "%d %b %Y") -> Markup:
    """A calendar day as a <time> element: written in the reader's language, dated ISO for machines."""
    if value is None:
        return Markup("")
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), local_date(value, fmt))


def zone_abbreviation(tz: str | tzinfo, days: list[date] | tuple[date, ...] = ()) -> str:
    """The label of a zone over some days ("EST"; "EST/EDT" for a week the clocks change in), for a
    heading above times written without it; today when no day is given."""
    zone = tz if isinstance(tz, tzinfo) else ZoneInfo(tz)
    moments = [datetime.combine(d, time(12), tzinfo=zone) for d in days] or [clock.now().astimezone(zone)]
    names = [m.tzname() or "" for m in moments]
    return "/".join(dict.fromkeys(names))


def account_zone() -> ZoneInfo:
    """The clock of the account pages (sessions, API tokens, calendar feed): the reader's hospital's
    zone when he has one hospital (a hospital admin, a staff member, a doctor whose hospitals share one
    zone, a patient registered at a hospital's desk); otherwise UTC, which the pages then name."""
    from flask import g

    if "account_zone" not in g:
        g.account_zone = _account_zone()
    return g.account_zone


def _account_zone() -> ZoneInfo:
    from hms.extensions import db
    from hms.models import Hospital

    user = current_user
    if not getattr(user, "is_authenticated", False):
        return ZoneInfo("UTC")
    zones: set[str] = set()
    if user.hospital_admin is not None:
        zones.add(user.hospital_admin.hospital.timezone)
    elif user.staff is not None:
        zones.add(user.staff.hospital.timezone)
    elif user.doctor is not None:
        zones = {m.hospital.timezone for m in user.doctor.memberships if m.status.value == "active"}
    elif user.patient is not None and user.patient.registered_hospital_id is not None:
        hospital = db.session.get(Hospital, user.patient.registered_hospital_id)
        zones = {hospital.timezone} if hospital is not None else set()
    return ZoneInfo(zones.pop()) if len(zones) == 1 else ZoneInfo("UTC")


def local_date(value: date | None, fmt: str = "%a %d %b %Y") -> str:
    """A calendar day (no time zone involved), e.g. the agenda's heading."""
    if value is None:
        return ""
    return _formatted_day(value, fmt, locale_code())


@functools.lru_cache(maxsize=4096)
def _formatted_day(value: date, fmt: str, locale: str) -> str:
    """A day in a format and language, formatted once per process: the doctor page's strip writes
    each of its 14 days twice, on every request, and Babel's formatting is the costly part."""
    return format_date(value, cldr_pattern(fmt), locale=locale)


def clock_time(value: time | None, fmt: str = "%H:%M") -> str:
    """A wall-clock time of a schedule (already in the hospital's time)."""
    if value is None:
        return ""
    if value.tzinfo is not None:
        return format_time(value, cldr_pattern(fmt), locale=locale_code())
    return _formatted_clock(value, fmt, locale_code())


@functools.lru_cache(maxsize=4096)
def _formatted_clock(value: time, fmt: str, locale: str) -> str:
    return format_time(value, cldr_pattern(fmt), locale=locale)


def spoken_time(value: datetime) -> str:
    """A local datetime in full words for screen readers, e.g. "Tuesday 1 December 2026, 09:30".

    The same text as Babel's `format_datetime(value, "EEEE d MMMM y, HH:mm")`, for a fraction of the
    cost: a day of the slot picker has up to 36 times on one date, so the date's words are formatted
    once per date and language (`_spoken_day`) and the clock time, which CLDR writes as two-digit
    hours and minutes in every language we serve, is added to it (tests/test_i18n.py compares both)."""
    return f"{_spoken_day(value.date(), locale_code())}, {value.hour:02d}:{value.minute:02d}"


@functools.lru_cache(maxsize=512)
def _spoken_day(day: date, locale: str) -> str:
    return format_date(day, "EEEE d MMMM y", locale=locale)


def qr_svg(text: str, label: str) -> Markup:
    """`text` as a QR code, drawn here as inline SVG (no script, no image request, no outside service):
    the two-factor set-up's otpauth:// address, for the phone's camera."""
    import segno

    svg = segno.make(text, error="m").svg_inline(scale=4, border=2, dark="#000", light="#fff", title=label)
    # segno escapes the title it writes; the label is escaped here: the markup is safe.
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1))  # noqa: S704


def money(amount_minor: int, currency: str) -> str:
    """An amount in the bill's currency, written the reader's way (₹1,500.00, 1.500,00 INR)."""
    return format_money(amount_minor, currency, locale_code())


def translate(message: object) -> str:
    """A message decided at run time (a flashed message, an error) in the reader's language; unlike
    `_()`, it neither marks the text safe nor applies % formatting, so user input in it stays inert."""
    text = str(message or "")
    return get_translations().ugettext(text) if text else ""


def _catalog():  # type: ignore[no-untyped-def]
    """The request's catalog for templates' `_()` and `ngettext()`: Flask-Babel's own, looked up once
    per request and locale instead of once per text (each lookup walked `g` three times and spelled
    the locale out again; a page has dozens of texts). `force_locale` changes the locale object, so a
    text made inside it still gets that language's catalog."""
    from flask import g

    try:
        context = g._flask_babel
    except (AttributeError, RuntimeError):  # no locale chosen yet in this request, or no app context
        return get_translations()
    locale = getattr(context, "babel_locale", None)
    cached = getattr(context, "hms_catalog", None)
    if locale is not None and cached is not None and cached[0] is locale:
        return cached[1]
    catalog = get_translations()
    locale = getattr(context, "babel_locale", None)  # chosen by the lookup when it was not yet
    if locale is not None:
        context.hms_catalog = (locale, catalog)
    return catalog


@pass_context
def _template_gettext(context: Context, string: str, **variables: object) -> str:
    """Templates' `_()` and `gettext()`: what Jinja's newstyle gettext does (the text marked safe when
    autoescaping, then always %-formatted, so the variables are escaped), without its two indirect
    calls per text (Jinja's `_` alias resolves `gettext`, which calls the catalog lookup)."""
    text = _catalog().ugettext(string)
    if context.eval_ctx.autoescape:
        text = Markup(text)  # noqa: S704 - our catalog's text, as Jinja's own gettext trusts it
    return text % variables


@pass_context
def _template_ngettext(context: Context, singular: str, plural: str, num: int, **variables: object) -> str:
    variables.setdefault("num", num)
    text = _catalog().ungettext(singular, plural, num)
    if context.eval_ctx.autoescape:
        text = Markup(text)  # noqa: S704 - our catalog's text, as Jinja's own ngettext trusts it
    return text % variables


def unread_notifications() -> int:
    """The bell's count, rendered with the page (the bell then only polls, no request on load)."""
    from hms.auth.session import bell_count

    return bell_count(current_user) if current_user.is_authenticated else 0


def weekday_short(weekday: int) -> str:
    """A weekday (0 = Monday) abbreviated the reader's way ("Mon", "lun", "الاثنين"): Babel's, not a cut."""
    return get_day_names("abbreviated", locale=locale_code())[weekday]


# Stored status values whose word on a page differs from the value (the value stays the FHIR code).
_STATE_WORDS = {"fulfilled": "done", "noshow": "no-show"}


def state_word(value: object) -> str:
    """A status as a reader says it, in his language: `{{ a.status|state }}` ("done", not "fulfilled")."""
    raw = getattr(value, "value", value)
    return gettext(_STATE_WORDS.get(str(raw), str(raw)))


def cached_markup(template: str, **values: object) -> Markup:
    """A small template drawn with `values` (hashable: plain values, named tuples, dates; or lists of
    them), kept per app and reused by later requests: for pieces that many requests draw the same and
    that were most of their page's work (the ten cards of a search's results, the fourteen days of the
    slot picker's strip, a day's times). The key is everything the piece shows (the template, the
    values, the reader's language and the address the app is served under), so a changed value is
    another entry and nothing goes stale; the piece must read nothing else (no user, no clock, no CSRF
    token), and its values must come from the server, not from what a request sent (each would be another
    entry). Another app (the tests make many) has its own pieces; 4,096 at most (`keep`), from about 600
    bytes (a card) to about 10 KB (a long day's times) each."""
    key = (
        template,
        locale_code(),
        request.script_root,
        *((name, tuple(value) if isinstance(value, list) else value) for name, value in values.items()),
    )
    return keep(
        current_app.extensions["hms_markup"],
        key,
        lambda: Markup(current_app.jinja_env.get_template(template).render(values)),  # noqa: S704 - our template's autoescaped output
    )


def register(app: Flask) -> None:
    app.extensions["hms_markup"] = {}
    from hms.services.consultations import call_is_open

    app.jinja_env.globals.update(
        shell_markup=shell_markup,
        qr_svg=qr_svg,
        Role=Role,
        get_locale=get_locale,
        video_call_open=call_is_open,
        languages=LANGUAGES,
        text_direction=text_direction,
        unread_notifications=unread_notifications,
        account_zone=account_zone,
        zone_abbreviation=zone_abbreviation,
        cached_markup=cached_markup,
    )
    app.jinja_env.filters.update(
        local_time=local_time,
        zoned_time=zoned_time,
        local_date=local_date,
        clock_time=clock_time,
        money=money,
        translate=translate,
        spoken_time=spoken_time,
        time_tag=time_tag,
        date_tag=date_tag,
        state=state_word,
        weekday_short=weekday_short,
    )
    app.jinja_env.install_gettext_callables(  # Flask-Babel's, with the catalog looked up once (_catalog)
        gettext=lambda s: _catalog().ugettext(s),
        ngettext=lambda s, p, n: _catalog().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _catalog().upgettext(c, s),
        npgettext=lambda c, s, p, n: _catalog().unpgettext(c, s, p, n),
    )
    app.jinja_env.globals.update(gettext=_template_gettext, _=_template_gettext, ngettext=_template_ngettext)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
