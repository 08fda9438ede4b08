"""The agenda's week as a time grid: where each visit sits (grid lines computed here, drawn by CSS classes).

The page's Content-Security-Policy forbids inline styles, so a block cannot say `grid-row: 14 / 20`
itself: it carries classes from a small fixed set in static/css/app.css. A row is half an hour
(`tg-s<line>`, `tg-e<line>`: the lines of the half hours a visit touches, at most 48 a day), and the
visit's own minutes are margins inside them (`tg-mt<k>`, `tg-mb<k>`: k × 5 minutes). `tg-c<n>` is the
day's column, `tg-p<n>` its column on a phone, where the days before today are left out, and
`tg-lane<i>of<n>` puts visits that overlap side by side.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from hms.models import Appointment, AppointmentStatus, ScheduleRule

UNIT_MINUTES = 5  # the margin step inside a row; every slot length is a multiple of it
ROW_MINUTES = 30  # a grid row, its time label and its line
DAY_MINUTES = 24 * 60
MAX_LANES = 3  # overlapping visits side by side; more than that share the last lane
DEFAULT_HOURS = (8 * 60, 17 * 60)  # a week with no schedule and no visit


@dataclass
class Block:
    """One visit, from `start` to `end` minutes after the grid's first time, in lane `lane` of `lanes`."""

    appointment: Appointment
    start: int
    end: int
    lane: int = 0
    lanes: int = 1

    @property
    def classes(self) -> str:
        first_row, top = divmod(self.start, ROW_MINUTES)
        last_row, bottom = divmod(-self.end, ROW_MINUTES)  # rounds the end up to its row's end
        names = [
            f"tg-s{first_row + 2}",
            f"tg-e{-last_row + 2}",
            f"tg-mt{top // UNIT_MINUTES}",
            f"tg-mb{bottom // UNIT_MINUTES}",
            f"tg-visit-{self.appointment.status.value}",
        ]
        if self.lanes > 1:
            names.append(f"tg-lane{self.lane}of{self.lanes}")
        if self.end - self.start < 20:
            names.append("tg-short")
        return " ".join(names)


@dataclass
class Day:
    day: date
    column: int  # the grid column (1 is the time labels)
    phone_column: int | None  # on a phone; None when the day is before today (hidden there)
    is_today: bool
    blocks: list[Block] = field(default_factory=list)

    @property
    def classes(self) -> str:
        names = [f"tg-c{self.column}"]
        names.append("tg-before" if self.phone_column is None else f"tg-p{self.phone_column}")
        return " ".join(names)


@dataclass
class WeekGrid:
    days: list[Day]
    labels: list[tuple[int, time]]  # (the row's first line, its wall-clock time), every half hour
    last_line: int  # the line under the last row
    first_minute: int  # minutes after midnight at line 2 (line 1 is the day headings)

    @property
    def is_empty(self) -> bool:
        return not any(day.blocks for day in self.days)

    @property
    def hides_days_on_phones(self) -> bool:
        """This week, from Tuesday on: a phone shows the days from today."""
        return any(day.phone_column is None for day in self.days)


def _local_minutes(appointment: Appointment) -> tuple[date, int, int]:
    """(local day, start and end in minutes after that day's midnight, the end cut at midnight)."""
    tz = appointment.hospital.tz
    start = appointment.start_at.astimezone(tz)
    end = appointment.end_at.astimezone(tz)
    start_minute = start.hour * 60 + start.minute
    end_minute = DAY_MINUTES if end.date() > start.date() else end.hour * 60 + end.minute
    return start.date(), start_minute, max(end_minute, start_minute + UNIT_MINUTES)


def _window(spans: Iterable[tuple[int, int]]) -> tuple[int, int]:
    """The half hours from the earliest start to the latest end (the whole day at most)."""
    spans = list(spans)
    if not spans:
        return DEFAULT_HOURS
    first = min(s for s, _ in spans) // ROW_MINUTES * ROW_MINUTES
    last = -(-max(e for _, e in spans) // ROW_MINUTES) * ROW_MINUTES
    return max(0, first), min(DAY_MINUTES, max(last, first + ROW_MINUTES))


def _assign_lanes(blocks: list[Block]) -> None:
    """Visits that overlap (a cancelled one and the booking that took its time) sit side by side."""
    cluster: list[Block] = []
    cluster_end = 0
    lane_ends: list[int] = []

    def close() -> None:
        for block in cluster:
            block.lanes = min(len(lane_ends), MAX_LANES)
            block.lane = min(block.lane, MAX_LANES - 1)

    for block in blocks:
        if cluster and block.start >= cluster_end:
            close()
            cluster, lane_ends = [], []
        lane = next((i for i, end in enumerate(lane_ends) if end <= block.start), None)
        if lane is None:
            lane = len(lane_ends)
            lane_ends.append(block.end)
        else:
            lane_ends[lane] = block.end
        block.lane = lane
        cluster.append(block)
        cluster_end = max(cluster_end, block.end) if len(cluster) > 1 else block.end
    if cluster:
        close()


def build(
    first: date,
    appointments: Sequence[Appointment],
    rules: Sequence[ScheduleRule],
    today: date,
) -> WeekGrid:
    """The week from `first` (seven days): rows from the earliest start to the latest end of its working
    hours and visits, a column per day. On a phone the current week starts from `today`."""
    dates = [first + timedelta(days=i) for i in range(7)]
    placed = [(a, *_local_minutes(a)) for a in appointments]
    placed = [p for p in placed if first <= p[1] <= dates[-1]]
    spans = [(s, e) for _, _, s, e in placed]
    weekdays = {d.weekday() for d in dates}
    for rule in rules:
        if rule.weekday in weekdays:
            spans.append((rule.start_time.hour * 60 + rule.start_time.minute, _rule_end(rule)))
    first_minute, last_minute = _window(spans)

    def offset(minute: int) -> int:
        """Minutes after the grid's first time, on a 5-minute step, inside the grid."""
        return (min(max(minute, first_minute), last_minute) - first_minute) // UNIT_MINUTES * UNIT_MINUTES

    this_week = first <= today <= dates[-1]
    days = []
    for index, day in enumerate(dates):
        phone = index + 2 if not this_week else (index - (today - first).days + 2 if day >= today else None)
        days.append(Day(day=day, column=index + 2, phone_column=phone, is_today=day == today))
    by_date = {d.day: d for d in days}
    # Live visits first, so that a cancelled one beside them takes the second lane.
    placed.sort(key=lambda p: (p[1], p[2], p[0].status == AppointmentStatus.cancelled, p[0].id))
    for appointment, day, start, end in placed:
        top = offset(start)
        by_date[day].blocks.append(Block(appointment, top, max(offset(end), top + UNIT_MINUTES)))
    for day in days:
        _assign_lanes(day.blocks)
    labels = [
        (offset(minute) // ROW_MINUTES + 2, time(minute // 60, minute % 60))
        for minute in range(first_minute, last_minute, ROW_MINUTES)
    ]
    last_line = (last_minute - first_minute) // ROW_MINUTES + 2
    return WeekGrid(days=days, labels=labels, last_line=last_line, first_minute=first_minute)


def _rule_end(rule: ScheduleRule) -> int:
    end = rule.end_time.hour * 60 + rule.end_time.minute
    return end or DAY_MINUTES  # a rule ending at midnight


def moved_times(appointment: Appointment) -> tuple[datetime | None, datetime | None]:
    """(where the visit moved to, where it came from): the start of the next and previous booking of
    its reschedule chain (both loaded with the agenda)."""
    moved_to = appointment.rescheduled_to.start_at if appointment.rescheduled_to is not None else None
    moved_from = appointment.rescheduled_from.start_at if appointment.rescheduled_from is not None else None
    return moved_to, moved_from
