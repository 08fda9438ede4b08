"""Calendar periods (day, week, month) in SQL, the same on SQLite, PostgreSQL and MariaDB.

`period_start(column, unit, tz, lo, hi, dialect)` is an SQL expression giving, for a UTC timestamp
column, the first day of its period in the time zone `tz` (text 'YYYY-MM-DD' on SQLite and MariaDB, a
timestamp at midnight on PostgreSQL), so that GROUP BY happens in the database. Weeks start on Monday (ISO).

Time zones: SQLite has no time-zone data and MariaDB has it only when its tables are loaded, so the
zone is applied as UTC offsets computed here, in Python, from the IANA database: one offset for each
stretch of [lo, hi) between two transitions (summer time), as a CASE over the column. Day boundaries
are therefore the hospital's local midnight, also across a change of summer time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Interval, case, func, literal_column, type_coerce
from sqlalchemy.sql.elements import ColumnElement

UNITS = ("day", "week", "month")


def offsets(tz: ZoneInfo, lo: datetime, hi: datetime) -> list[tuple[datetime, int]]:
    """[(from, minutes east of UTC)] covering [lo, hi): the first entry starts at `lo`."""

    def minutes(moment: datetime) -> int:
        return int(moment.astimezone(tz).utcoffset().total_seconds() // 60)  # type: ignore[union-attr]

    result = [(lo, minutes(lo))]
    day = lo
    while day < hi:
        following = min(day + timedelta(days=1), hi)
        if minutes(following) != result[-1][1]:
            # A transition within this day: find its minute by bisection.
            before, after = day, following
            while after - before > timedelta(minutes=1):
                middle = before + (after - before) / 2
                middle = middle.replace(second=0, microsecond=0)
                if middle <= before:
                    break
                if minutes(middle) == result[-1][1]:
                    before = middle
                else:
                    after = middle
            result.append((after, minutes(after)))
        day = following
    return result


def _shift(column: ColumnElement, minutes: int, dialect: str) -> ColumnElement:
    if minutes == 0:
        return column
    minutes = int(minutes)
    if dialect == "sqlite":
        return func.datetime(column, f"{minutes:+d} minutes")
    if dialect == "postgresql":
        return type_coerce(column, DateTime()) + literal_column(f"interval '{minutes} minutes'", Interval())
    return func.timestampadd(literal_column("MINUTE"), minutes, column)


def _truncate(moment: ColumnElement, unit: str, dialect: str) -> ColumnElement:
    if dialect == "sqlite":
        if unit == "day":
            return func.date(moment)
        if unit == "week":
            return func.date(moment, "weekday 0", "-6 days")
        return func.strftime("%Y-%m-01", moment)
    if dialect == "postgresql":
        # A timestamp (formatting every row with to_char would cost more than the grouping).
        return func.date_trunc(unit, moment)
    if unit == "day":
        return func.date_format(moment, "%Y-%m-%d")
    if unit == "week":
        return func.date_format(func.subdate(func.date(moment), func.weekday(moment)), "%Y-%m-%d")
    return func.date_format(moment, "%Y-%m-01")


def period_start(
    column: ColumnElement, unit: str, tz: ZoneInfo, lo: datetime, hi: datetime, dialect: str
) -> ColumnElement:
    """The first local day of the `unit` holding `column` (UTC), for rows in [lo, hi)."""
    if unit not in UNITS:
        raise ValueError(unit)
    stretches = offsets(tz, lo, hi)
    if len(stretches) == 1:
        local = _shift(column, stretches[0][1], dialect)
    else:
        branches = [
            (column < until, _shift(column, minutes, dialect))
            for (_, minutes), (until, _) in zip(stretches, stretches[1:], strict=False)
        ]
        local = case(*branches, else_=_shift(column, stretches[-1][1], dialect))
    return _truncate(local, unit, dialect)


def local_bounds(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants of local midnight starting `first` and ending `last`: [lo, hi)."""
    lo = datetime.combine(first, datetime.min.time(), tzinfo=tz).astimezone(UTC)
    hi = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=tz).astimezone(UTC)
    return lo, hi


def first_day(day: date, unit: str) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def periods(first: date, last: date, unit: str) -> Iterator[date]:
    """The first day of every `unit` from the one holding `first` to the one holding `last`."""
    current = first_day(first, unit)
    while current <= last:
        yield current
        if unit == "day":
            current += timedelta(days=1)
        elif unit == "week":
            current += timedelta(days=7)
        else:
            current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
