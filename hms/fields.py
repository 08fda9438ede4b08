"""Form fields that only hold what the database and the calendar can: every form takes its dates,
times and numbers from here, not from WTForms directly (a date in year 9999 has no next day; 2**31 fits
no INTEGER column; Decimal("NaN") compares with nothing). The check runs first when the form validates,
and its message is the field's only one.

Dates and times are the browser's own pickers (`<input type=date>` and `type=time`): on a phone they
open the system's calendar and clock wheel, in the phone's language and digits, nothing to type wrong,
and they send ISO text whatever they show. So an empty field is told "Enter a date." with no format in
it (the picker shows its own). Only a browser without pickers shows a text box, where a person types
the date his way: the field then reads the reader's language's way too (Babel's short date and time,
31/12/2026 in Spanish, 12/31/2026 in English, Arabic-Indic digits and ص/م in Arabic), and a text it
cannot read is answered with an example in that same way ("Write the date like 31/12/2026.")."""

from __future__ import annotations

import re
from datetime import date, time
from decimal import Decimal
from functools import lru_cache

import wtforms
from babel import Locale
from babel.dates import format_date, format_time
from flask_babel import gettext
from wtforms.validators import StopValidation

from hms.i18n import N_
from hms.query import MAX_ID, MAX_YEAR, MIN_YEAR
from hms.templating import locale_code

MAX_DECIMAL = Decimal(10) ** 12

_EXAMPLE_DAY = date(2026, 12, 31)  # a day whose day, month and year cannot be mistaken for each other
_EXAMPLE_TIME = time(15, 30)  # an afternoon time, so a 12-hour clock shows its PM
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_CLOCK = re.compile(r"(\d{1,2})(?:\s*[:.]\s*(\d{2}))?(?:\s*[:.]\s*(\d{2}))?\s*(.*)")
# Arabic-Indic and Extended Arabic-Indic (Persian, Urdu) digits as ASCII; bidi marks dropped.
_PLAIN = str.maketrans(
    {**{chr(0x660 + n): str(n) for n in range(10)}, **{chr(0x6F0 + n): str(n) for n in range(10)}}
    | {"\u200e": None, "\u200f": None, "\u061c": None, "\u066b": ":", "\u060c": ","}
)


def _plain(text: str) -> str:
    return " ".join(text.translate(_PLAIN).split())


def _short_date_pattern(locale: str) -> str:
    """The language's short date with a four-digit year (12/31/2026 rather than 12/31/26)."""
    pattern = Locale.parse(locale).date_formats["short"].pattern
    return re.sub(r"(?<!y)y{1,2}(?!y)", "y", pattern)


def date_example(locale: str | None = None) -> str:
    """31 December 2026 written the reader's way, short: what a typed date should look like."""
    locale = locale or locale_code()
    return format_date(_EXAMPLE_DAY, _short_date_pattern(locale), locale=locale)


def time_example(locale: str | None = None) -> str:
    """15:30 written the reader's way, short ("3:30 PM", "15:30", "3:30 م")."""
    return format_time(_EXAMPLE_TIME, "short", locale=locale or locale_code())


@lru_cache(maxsize=32)
def _date_order(locale: str) -> str:
    """The order of day, month and year in the language's short date: "Mdy", "dMy", "yMd"."""
    pattern = re.sub(r"'[^']*'", "", Locale.parse(locale).date_formats["short"].pattern)
    return "".join(dict.fromkeys(c for c in pattern if c in "dMy"))


def _fold(word: str) -> str:
    return word.casefold().replace(".", "").replace(" ", "").replace("\xa0", "")


@lru_cache(maxsize=32)
def _month_names(locale: str) -> dict[str, int]:
    months = Locale.parse(locale).months
    return {
        _fold(name): number
        for context in ("format", "stand-alone")
        for width in ("wide", "abbreviated")
        for number, name in months[context][width].items()
    }


@lru_cache(maxsize=32)
def _day_periods(locale: str) -> dict[str, str]:
    """Each way the language writes AM and PM ("a. m.", "ص", "PM"), and the Latin am/pm, folded."""
    periods = {"am": "am", "pm": "pm"}
    for width in ("abbreviated", "wide", "narrow"):
        for key, name in Locale.parse(locale).day_periods["format"][width].items():
            if key in ("am", "pm"):
                periods[_fold(name)] = key
    return periods


def _full_year(year: int, digits: int) -> int:
    if digits > 2:
        return year
    this_year = date.today().year  # a two-digit year is the nearest one not far in the future
    year += 2000
    return year if year <= this_year + 20 else year - 100


def parse_typed_date(text: str, locale: str) -> date | None:
    """A date typed in ISO (what the picker sends) or the language's short way, with digits or a month
    name (31/12/2026, 31 dic 2026, ٣١/١٢/٢٠٢٦); None when it is not one."""
    text = _plain(text)
    try:
        if match := _ISO_DATE.fullmatch(text):
            return date(*(int(part) for part in match.groups()))
        numbers = re.findall(r"\d+", text)
        if any(len(n) > 4 for n in numbers):
            return None
        words = [_fold(w) for w in re.findall(r"[^\W\d_]+\.?", text)]
        month = next((_month_names(locale)[w] for w in words if w in _month_names(locale)), None)
        order = _date_order(locale)
        if month is not None and len(numbers) == 2:
            day_first = order.index("d") < order.index("y")
            day, year = numbers if day_first else numbers[::-1]
            return date(_full_year(int(year), len(year)), month, int(day))
        if month is None and len(numbers) == 3 and not words and len(order) == 3:
            parts = dict(zip(order, numbers, strict=True))
            return date(_full_year(int(parts["y"]), len(parts["y"])), int(parts["M"]), int(parts["d"]))
    except (ValueError, OverflowError):
        return None
    return None


def parse_typed_time(text: str, locale: str) -> time | None:
    """A time typed as the picker sends it (14:30, 14:30:00) or the language's way (2:30 PM, 2:30 م,
    ١٤:٣٠); None when it is not one."""
    match = _CLOCK.fullmatch(_plain(text))
    if match is None:
        return None
    hour, minute, second = int(match[1]), int(match[2] or 0), int(match[3] or 0)
    period = _fold(match[4])
    if period:
        if period not in _day_periods(locale) or not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if _day_periods(locale)[period] == "pm" else 0)
    elif match[2] is None:
        return None  # "9" alone is not a time
    try:
        return time(hour, minute, second)
    except (ValueError, OverflowError):
        return None


class DateField(wtforms.DateField):
    """A date within the years 1890–2200, from the date picker or typed the reader's way."""

    def process_formdata(self, valuelist):  # type: ignore[no-untyped-def]
        if not valuelist:
            return
        text = " ".join(valuelist).strip()
        self.data = parse_typed_date(text, locale_code()) if text else None
        if text and self.data is None:
            raise ValueError(gettext("Write the date like %(example)s.", example=date_example()))

    def pre_validate(self, form):  # type: ignore[no-untyped-def]
        if self.data is not None and not MIN_YEAR <= self.data.year <= MAX_YEAR:
            raise StopValidation(N_("Enter a date between the years 1890 and 2200."))
        if self.process_errors:
            raise StopValidation()  # the process error (the example) is the field's one message


class TimeField(wtforms.TimeField):
    """A time of day, from the time picker or typed the reader's way."""

    def process_formdata(self, valuelist):  # type: ignore[no-untyped-def]
        if not valuelist:
            return
        text = " ".join(valuelist).strip()
        self.data = parse_typed_time(text, locale_code()) if text else None
        if text and self.data is None:
            raise ValueError(gettext("Write the time like %(example)s.", example=time_example()))

    def pre_validate(self, form):  # type: ignore[no-untyped-def]
        if self.process_errors:
            raise StopValidation()


class IntegerField(wtforms.IntegerField):
    """A whole number that fits an INTEGER column."""

    def pre_validate(self, form):  # type: ignore[no-untyped-def]
        if self.data is not None and not -MAX_ID <= self.data <= MAX_ID:
            raise StopValidation(N_("Enter a smaller number."))


class DecimalField(wtforms.DecimalField):
    """A finite decimal number below a trillion (no NaN, no Infinity)."""

    def pre_validate(self, form):  # type: ignore[no-untyped-def]
        if self.data is not None and (not self.data.is_finite() or abs(self.data) >= MAX_DECIMAL):
            raise StopValidation(N_("Enter a smaller number."))
