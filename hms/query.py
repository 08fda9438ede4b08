"""One reader for query parameters (`?q=…&doctor=…&date=…&page=…`), used by every list and filter.

What the address bar holds is whatever anyone typed; none of it may reach the database as something it
cannot hold or a view as something it does not expect. So every value is read one way:
- whitespace around a value is dropped, and a value of only whitespace counts as absent;
- an id is a whole number from 1 to MAX_ID (the largest INTEGER key on every supported database);
- a number is bounded by the caller, a page number by MAX_PAGE;
- a date is ISO (YYYY-MM-DD) within the years 1890 to 2200 (so the day after it still exists);
- a choice is one of the caller's choices (an enum's values, or a set of words);
- text is cut to a length.
Anything else reads as absent (None, the default), never as an error page. Forms bound to the query
string (search forms with field errors to show) get their values through `cleaned()`, and their date
fields take `sane_date` (hms/forms.py)."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date
from typing import TypeVar

from flask import request
from werkzeug.datastructures import MultiDict

MAX_ID = 2**31 - 1
MAX_PAGE = 10_000
MIN_YEAR, MAX_YEAR = 1890, 2200
E = TypeVar("E", bound=enum.Enum)


def _raw(name: str) -> str | None:
    value = request.args.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def text(name: str, max_length: int = 80) -> str:
    """The text typed, cut to `max_length`; "" when absent."""
    return (_raw(name) or "")[:max_length]


def number(name: str, low: int, high: int, default: int | None = None) -> int | None:
    """A whole number within [low, high]; `default` when absent or not a number, the bound when outside."""
    value = _raw(name)
    if value is None or len(value) > 20 or not value.lstrip("-").isascii() or not value.lstrip("-").isdigit():
        return default
    return min(max(int(value), low), high)


def record_id(name: str) -> int | None:
    """A database id: 1 to MAX_ID, else None (so a filter on it is simply not applied)."""
    value = _raw(name)
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 10:
        return None
    number_ = int(value)
    return number_ if 1 <= number_ <= MAX_ID else None


def page() -> int:
    """`?page=`: 1 to MAX_PAGE (a crafted page must not become an offset the database cannot hold)."""
    return number("page", 1, MAX_PAGE, default=1) or 1


def parse_date(value: str | None) -> date | None:
    if not value or len(value) != 10:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return day if MIN_YEAR <= day.year <= MAX_YEAR else None


def day(name: str) -> date | None:
    """An ISO date within sane years, else None."""
    return parse_date(_raw(name))


def choice(name: str, choices: Iterable[str], default: str | None = None) -> str | None:
    """One of `choices`, else `default`."""
    value = _raw(name)
    return value if value is not None and value in set(choices) else default


def enum_value(name: str, enum_class: type[E]) -> E | None:
    """A member of `enum_class` by its value, else None."""
    value = choice(name, (member.value for member in enum_class))
    return enum_class(value) if value is not None else None


def flag(name: str, word: str) -> bool:
    """True when the parameter is exactly `word` (`?fragment=table`, `?view=week`)."""
    return _raw(name) == word


def cleaned() -> MultiDict:
    """The query string for a form to read: values stripped, whitespace-only values dropped (WTForms'
    Optional() would otherwise let "  " through a choice list as if it were a choice)."""
    kept = MultiDict()
    for key, value in request.args.items(multi=True):
        value = value.strip()
        if value:
            kept.add(key, value)
    return kept


def without(*names: str) -> dict[str, str]:
    """The query string's non-empty values but `names`, for links to other pages of a list."""
    return {k: v for k, v in cleaned().items() if k not in names}
