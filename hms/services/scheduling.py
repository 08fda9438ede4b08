"""Schedules, slots and appointments: compute free slots, book, reschedule, cancel, never double-book.

Slots are computed, never stored: the doctor's weekly rules at a hospital, minus breaks, time off,
live appointments (at any hospital) and the past. Rules are wall-clock times in the hospital's time
zone; each working block is turned into real UTC instants and cut into slots, so a block that spans a
daylight-saving change has as many slots as it has real time (one hour fewer in spring, one more in
autumn), each labelled with its local time and UTC offset."""

from __future__ import annotations

import functools
import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import NamedTuple
from zoneinfo import ZoneInfo

from flask_babel import gettext
from sqlalchemy import Date, Integer, and_, any_, bindparam, func, null, or_, select, type_coerce, union_all
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import contains_eager, joinedload

from hms import clock, events
from hms.database import lock_rows, read_columns, savepoint
from hms.extensions import db
from hms.i18n import N_
from hms.models import (
    Appointment,
    AppointmentStatus,
    Doctor,
    Hospital,
    HospitalStatus,
    Membership,
    MembershipStatus,
    Patient,
    Role,
    ScheduleBreak,
    ScheduleRule,
    TimeOff,
    User,
)
from hms.models.types import UTCDateTime
from hms.services.audit import record_event
from hms.services.errors import Conflict, Invalid, NotAllowed

PICKER_DAYS = 14
NEAREST = 3  # free slots offered in place of a taken one
# No visit lasts longer: every "overlaps [start, end)" query also bounds start_at from below by it, so
# that the (doctor_id, start_at) and (patient_id, start_at) indexes read only the days around, however
# many years of appointments lie before them.
LONGEST_VISIT = timedelta(days=1)
SLOT_LENGTHS = (10, 15, 20, 30, 45, 60)
LIVE = (AppointmentStatus.booked, AppointmentStatus.arrived)
_SLOT_KEY = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$")


class SlotTaken(Conflict):
    """The slot at `around` was booked by someone else. The nearest free slots are worked out only when
    asked for, after the booking's transaction (and its locks) ended: `nearest_in` takes them from the
    calendar the picker shown again reads anyway; `alternatives` reads them on its own. A walk-in
    that just tries the next time asks for neither."""

    def __init__(self, doctor_id: int, hospital: Hospital, around: datetime, now: datetime) -> None:
        super().__init__(N_("Sorry, someone has just booked that time. Please pick another."), field="slot")
        self.doctor_id, self.hospital, self.around, self.now = doctor_id, hospital, around, now

    @functools.cached_property
    def alternatives(self) -> list[Slot]:
        return nearest_free_slots(self.doctor_id, self.hospital, self.around, now=self.now)

    def nearest_in(self, calendar: Calendar, now: datetime) -> list[Slot]:
        """The nearest free slots, from `calendar` (the picker's fortnight) when it holds all of them."""
        found = calendar.nearest_free(self.around, now)
        return found if len(found) == NEAREST else self.alternatives


@dataclass(frozen=True)
class Slot:
    start: datetime  # aware UTC
    end: datetime
    tz: ZoneInfo
    free: bool = True

    # Worked out once per slot: the schedule's slots are kept per process (`_schedule_slots`), and a
    # picker reads each slot's key and local time several times.
    @functools.cached_property
    def key(self) -> str:
        return Appointment.slot_key(self.start)

    @functools.cached_property
    def local_start(self) -> datetime:
        return self.start.astimezone(self.tz)

    @property
    def local_end(self) -> datetime:
        return self.end.astimezone(self.tz)


# ---------------------------------------------------------------- slot computation


def parse_slot_key(value: str | None) -> datetime:
    """The UTC start a slot key names; Invalid for anything malformed."""
    if not value or not _SLOT_KEY.match(value):
        raise Invalid(N_("Choose a time from the list."), field="slot")
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)
    except ValueError as error:
        raise Invalid(N_("Choose a time from the list."), field="slot") from error


def _utc(day: date, wall: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, wall, tzinfo=tz).astimezone(UTC)


def _overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


class Hours(NamedTuple):
    """One weekly rule as a plain value: a weekday's working block, its slot length and its breaks
    (pairs of wall-clock times). Hashable, so that a day's slots are worked out once per process for
    the same hours (`_schedule_slots`); a changed rule is another value, so nothing goes stale."""

    weekday: int
    start_time: time
    end_time: time
    slot_minutes: int
    breaks: tuple[tuple[time, time], ...] = ()


# A weekly rule's columns, outer-joined with its breaks (a row per rule and break), for statements that
# read weekly hours as plain rows (`_hours_from_rows`) instead of ScheduleRule objects, which cost more
# to build than everything else done with them.
_HOURS_COLUMNS = (
    ScheduleRule.id,
    ScheduleRule.weekday,
    ScheduleRule.start_time,
    ScheduleRule.end_time,
    ScheduleRule.slot_minutes,
    ScheduleBreak.start_time,
    ScheduleBreak.end_time,
)


def _hours_from_rows(rows: Iterable[tuple], owners: int = 1) -> dict[object, tuple[Hours, ...]]:  # type: ignore[type-arg]
    """Weekly hours by owner (in `weekly_hours`' order) from rows of (owner, *_HOURS_COLUMNS), or of
    (*owner, *_HOURS_COLUMNS) where the owner is `owners` columns (then a tuple of them); a row
    without a rule (the outer join found none) gives nothing. The same rows give the same hours, so
    they are worked out once per process for each owner's rows (`_hours_of_rows`): a page of search
    results reads seventy rules on every request, and building them was a fifth of its next free times."""
    by_owner: dict[object, list[tuple]] = defaultdict(list)  # type: ignore[type-arg]
    for row in rows:
        if row[owners] is not None:
            by_owner[row[:owners] if owners > 1 else row[0]].append(tuple(row[owners:]))
    # Sorted, so that the same rules read in another order are the same key (a rule id comes first,
    # and the rows of one rule differ only by their break's times).
    return {owner: _hours_of_rows(tuple(sorted(rules))) for owner, rules in by_owner.items()}


@functools.lru_cache(maxsize=4096)
def _hours_of_rows(rows: tuple[tuple, ...]) -> tuple[Hours, ...]:  # type: ignore[type-arg]
    """One owner's weekly hours from his rows of _HOURS_COLUMNS (a row per rule and break)."""
    by_rule: dict[int, Hours] = {}
    for rule_id, weekday, start, end, minutes, b0, b1 in rows:
        known = by_rule.get(rule_id)
        breaks = (known.breaks if known else ()) + (((b0, b1),) if b0 is not None else ())
        by_rule[rule_id] = Hours(weekday, start, end, minutes, tuple(sorted(breaks)))
    return tuple(sorted(by_rule.values()))


def weekly_hours(rules: Iterable[ScheduleRule | Hours]) -> tuple[Hours, ...]:
    """The rules (ORM rows with their breaks, or Hours already) as Hours, in a stable order."""
    return tuple(
        sorted(
            rule
            if isinstance(rule, Hours)
            else Hours(
                rule.weekday,
                rule.start_time,
                rule.end_time,
                rule.slot_minutes,
                tuple(sorted((b.start_time, b.end_time) for b in rule.breaks)),
            )
            for rule in rules
        )
    )


@functools.lru_cache(maxsize=8192)
def _schedule_slots(hours: tuple[Hours, ...], day: date, tz: ZoneInfo) -> tuple[Slot, ...]:
    """Every slot the weekly hours give on `day` (local date), ignoring bookings and the clock. The
    same hours give the same slots, so each doctor's day is computed once per process (a doctor page
    lays out 14 days of them on every request). Slots are frozen: sharing them is safe."""
    slots: list[Slot] = []
    for rule in hours:
        if rule.weekday != day.weekday():
            continue
        block_start, block_end = _utc(day, rule.start_time, tz), _utc(day, rule.end_time, tz)
        breaks = [(_utc(day, b0, tz), _utc(day, b1, tz)) for b0, b1 in rule.breaks]
        step = timedelta(minutes=rule.slot_minutes)
        start = block_start
        while start + step <= block_end:
            end = start + step
            if not any(_overlaps(start, end, b0, b1) for b0, b1 in breaks):
                slots.append(Slot(start, end, tz))
            start = end
    return tuple(sorted(slots, key=lambda s: s.start))


# The calendar's statements, built once per process with bound parameters (building them took more CPU
# than the rest of their work in Python on the slot picker's day fragment).
@functools.cache
def _time_off_statement():  # type: ignore[no-untyped-def]
    """The doctor's time off over the days from :first to :last, as (first day, last day) rows."""
    return select(TimeOff.start_date, TimeOff.end_date).where(
        TimeOff.doctor_id == bindparam("doctor_id"), *_time_off_bound()
    )


def _time_off_bound():  # type: ignore[no-untyped-def]
    """Time off over any of the days from :first to :last."""
    return TimeOff.start_date <= bindparam("last"), TimeOff.end_date >= bindparam("first")


def _among(column, name: str, arrays: bool):  # type: ignore[no-untyped-def]
    """`column` among the ids bound as :name (a list). With `arrays` (PostgreSQL), one array parameter
    (`= ANY (:name)`): the statement's text is the same for every number of ids, one prepared statement
    serves them all, and nothing is rendered per execution (an expanding IN renders a parameter and
    its cast per id on every execution: a sixth of a search page's next free times); elsewhere an
    expanding IN."""
    if arrays:
        return column == any_(bindparam(name, type_=ARRAY(Integer)))
    return column.in_(bindparam(name, expanding=True))


def _arrays() -> bool:
    """Whether the database takes an array parameter (`_among`)."""
    return db.session.get_bind().dialect.name == "postgresql"


@functools.cache
def _unavailable_statement(page: bool, arrays: bool = False):  # type: ignore[no-untyped-def]
    """When the doctor (`page`: each of :doctor_ids) cannot be booked, in one statement (one round trip
    instead of two): his live appointments overlapping [:start, :end) (`_live_overlapping_bound`) and
    his time off over the days from :first to :last, as rows of (doctor, start, end, first day off, last
    day off) where either the pair of moments or the pair of days is set. The columns that a branch
    leaves empty carry their type, so that every database reads the moments and days as it would in
    statements of their own."""
    moment, day = type_coerce(null(), UTCDateTime()), type_coerce(null(), Date())
    if page:
        busy_of = _among(Appointment.doctor_id, "doctor_ids", arrays)
        off_of = _among(TimeOff.doctor_id, "doctor_ids", arrays)
    else:
        busy_of, off_of = (
            Appointment.doctor_id == bindparam("doctor_id"),
            TimeOff.doctor_id == bindparam("doctor_id"),
        )
    return union_all(
        select(Appointment.doctor_id, Appointment.start_at, Appointment.end_at, day, day).where(
            busy_of, *_live_overlapping_bound()
        ),
        select(TimeOff.doctor_id, moment, moment, TimeOff.start_date, TimeOff.end_date).where(
            off_of, *_time_off_bound()
        ),
    )


def _split_unavailable(rows: Iterable[tuple]) -> tuple[dict[int, list], dict[int, list]]:  # type: ignore[type-arg]
    """`_unavailable_statement`'s rows as (busy moments by doctor, days off by doctor)."""
    busy_of: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    time_off_of: dict[int, list[tuple[date, date]]] = defaultdict(list)
    for doctor_id, b0, b1, off_first, off_last in rows:
        if b0 is not None:
            busy_of[doctor_id].append((b0, b1))
        else:
            time_off_of[doctor_id].append((off_first, off_last))
    return busy_of, time_off_of


def _busy_window(first: date, last: date, tz: ZoneInfo) -> dict[str, datetime]:
    """The parameters of `_live_overlapping_bound` for the local days `first` to `last` in `tz`, with a
    day's margin on each side."""
    return _overlap_window(
        _utc(first, time(0), tz) - timedelta(days=1), _utc(last, time(0), tz) + timedelta(days=2)
    )


def _overlap_window(start: datetime, end: datetime) -> dict[str, datetime]:
    """The parameters of `_live_overlapping_bound` for appointments overlapping [start, end)."""
    return {"start": start, "floor": start - LONGEST_VISIT, "end": end}


def _live_overlapping_bound():  # type: ignore[no-untyped-def]
    """Live appointments overlapping [:start, :end), as an index range with bound parameters: start_at
    within (:floor, :end) and end_at after :start, where :floor is :start less LONGEST_VISIT, the longest
    visit (computed by the caller, `_overlap_window`: SQLite cannot subtract an interval from a
    parameter)."""
    return (
        Appointment.status.in_(LIVE),
        Appointment.start_at < bindparam("end"),
        Appointment.start_at > bindparam("floor"),
        Appointment.end_at > bindparam("start"),
    )


class Calendar:
    """What slot computation needs for one doctor at one hospital over a date range, loaded once per
    request: the weekly rules (given when already loaded with the membership), the time off and the
    booked appointments. Every day of the range is computed from it without another query."""

    def __init__(
        self,
        doctor_id: int,
        hospital: Hospital,
        first: date,
        last: date,
        rules: Iterable[ScheduleRule | Hours] | None = None,
        busy: list[tuple[datetime, datetime]] | None = None,
        time_off: list[tuple[date, date]] | None = None,
    ) -> None:
        self.tz = hospital.tz
        self.first, self.last = first, last
        if rules is None:
            rules = (
                db.session.scalars(
                    select(ScheduleRule)
                    .where(ScheduleRule.doctor_id == doctor_id, ScheduleRule.hospital_id == hospital.id)
                    .options(joinedload(ScheduleRule.breaks))
                )
                .unique()
                .all()
            )
        # A tuple is weekly hours already in order (`_hours_from_rows`, `weekly_hours`, a PickerCard's).
        self.hours = rules if isinstance(rules, tuple) else weekly_hours(rules)
        if time_off is None and busy is None:
            window = {"doctor_id": doctor_id, "first": first, "last": last} | _busy_window(
                first, last, self.tz
            )
            busy_of, time_off_of = _split_unavailable(read_columns(_unavailable_statement(False), window))
            busy, time_off = busy_of[doctor_id], time_off_of[doctor_id]
        if time_off is None:
            time_off = read_columns(
                _time_off_statement(), {"doctor_id": doctor_id, "first": first, "last": last}
            ).all()
        self.time_off = [(off_first, off_last) for off_first, off_last in time_off]  # days, inclusive
        # Sorted by start, with the longest length: a slot looks only at the few that can overlap it
        # (a busy doctor's fortnight has hundreds; comparing each slot with all was most of the cost).
        self.busy = sorted((b0, b1) for b0, b1 in busy)
        self._starts = [b0 for b0, _b1 in self.busy]
        self._longest = max((b1 - b0 for b0, b1 in self.busy), default=timedelta(0))

    def taken(self, start: datetime, end: datetime) -> bool:
        """Whether a live appointment overlaps [start, end)."""
        first = bisect_left(self._starts, start - self._longest)
        last = bisect_left(self._starts, end)
        return any(b1 > start for _b0, b1 in self.busy[first:last])

    def is_off(self, day: date) -> bool:
        """Whether the doctor has time off on `day`."""
        return any(off_first <= day <= off_last for off_first, off_last in self.time_off)

    def slots(self, day: date, now: datetime) -> list[Slot]:
        """The day's schedule slots in the future, each marked free or taken."""
        if self.is_off(day):
            return []
        result = []
        for slot in _schedule_slots(self.hours, day, self.tz):
            if slot.start <= now:
                continue
            result.append(slot if not self.taken(slot.start, slot.end) else replace(slot, free=False))
        return result

    def strip(self, now: datetime) -> list[tuple[date, int]]:
        """(day, number of free slots) for every day of the range."""
        days = (self.last - self.first).days + 1
        out = []
        for offset in range(max(days, 0)):
            day = self.first + timedelta(days=offset)
            out.append((day, sum(1 for s in self.slots(day, now) if s.free)))
        return out

    def free_slots(self, now: datetime, around: datetime | None = None) -> Iterator[Slot]:
        """The free slots in the future (from `around` on, when given), in order, within the calendar's
        days: the schedule's slots are looked at one by one, and no day's list of slots marked free or
        taken is made (a busy doctor's first days have only taken ones)."""
        around = around or now
        day = max(self.first, around.astimezone(self.tz).date())
        while day <= self.last:
            if not self.is_off(day):
                for slot in _schedule_slots(self.hours, day, self.tz):
                    if slot.start > now and slot.start >= around and not self.taken(slot.start, slot.end):
                        yield slot
            day += timedelta(days=1)

    def first_free(self, now: datetime) -> Slot | None:
        """The first free slot in the future (a search result's "next free time")."""
        return next(self.free_slots(now), None)

    def covers(self, day: date) -> bool:
        return self.first <= day <= self.last

    def nearest_free(self, around: datetime, now: datetime, count: int = NEAREST) -> list[Slot]:
        """The first `count` free slots from `around` on, within the calendar's days."""
        return list(islice(self.free_slots(now, around), count))


def calendar_for(membership: Membership | PickerCard, first: date, last: date) -> Calendar:
    """The calendar of a doctor at a hospital; the membership's weekly hours are used when already
    loaded (`bookable_membership` reads them with it), else read once."""
    rules: Iterable[ScheduleRule | Hours] | None = getattr(membership, "loaded_hours", None)
    if rules is None and "rules" in sa_inspect(membership).dict:
        rules = list(membership.rules)
    return Calendar(membership.doctor_id, membership.hospital, first, last, rules=rules)


def local_today(hospital: Hospital, now: datetime | None = None) -> date:
    return (now or clock.now()).astimezone(hospital.tz).date()


def day_slots(doctor_id: int, hospital: Hospital, day: date, now: datetime | None = None) -> list[Slot]:
    now = now or clock.now()
    return Calendar(doctor_id, hospital, day, day).slots(day, now)


def slots_between(
    doctor_id: int, hospital: Hospital, first: date, last: date, now: datetime | None = None
) -> list[Slot]:
    """Every future schedule slot from `first` to `last` (local dates), each marked free or taken."""
    now = now or clock.now()
    calendar = Calendar(doctor_id, hospital, first, last)
    days = (last - first).days + 1
    return [slot for n in range(max(days, 0)) for slot in calendar.slots(first + timedelta(days=n), now)]


def day_strip(
    doctor_id: int, hospital: Hospital, first: date, days: int = PICKER_DAYS, now: datetime | None = None
) -> list[tuple[date, int]]:
    """(day, number of free slots) for `days` days from `first`."""
    now = now or clock.now()
    return Calendar(doctor_id, hospital, first, first + timedelta(days=days - 1)).strip(now)


def nearest_free_slots(
    doctor_id: int, hospital: Hospital, around: datetime, count: int = NEAREST, now: datetime | None = None
) -> list[Slot]:
    """The first `count` free slots from `around` on, within the picker's horizon."""
    now = now or clock.now()
    first = around.astimezone(hospital.tz).date()
    last = local_today(hospital, now) + timedelta(days=PICKER_DAYS)
    if first > last:
        return []
    return Calendar(doctor_id, hospital, first, last).nearest_free(around, now, count)


# The rules' statement of a page of search results, built once per process (building it cost more
# than running it). The weekly hours come as plain rows, a rule once per break, not as ORM objects: a
# page of ten doctors has seventy rules, and building them as objects cost more than the rest.
@functools.cache
def _page_rules_statement(arrays: bool):  # type: ignore[no-untyped-def]
    return (
        select(ScheduleRule.doctor_id, ScheduleRule.hospital_id, *_HOURS_COLUMNS)
        .outerjoin(ScheduleBreak, ScheduleBreak.rule_id == ScheduleRule.id)
        .where(
            _among(ScheduleRule.doctor_id, "doctor_ids", arrays),
            _among(ScheduleRule.hospital_id, "hospital_ids", arrays),
        )
    )


def next_free_slots(
    memberships: list[Membership] | list[DoctorCard], now: datetime | None = None
) -> dict[int, Slot | None]:
    """The first free slot within the picker's horizon of each doctor-at-hospital (by membership id),
    for a page of search results: two statements whatever the page's length (the rules with their
    breaks; the live appointments and the time off of all its doctors), then computed here."""
    now = now or clock.now()
    if not memberships:
        return {}
    doctor_ids = {m.doctor_id for m in memberships}
    firsts = {m.id: local_today(m.hospital, now) for m in memberships}
    first, last = min(firsts.values()), max(firsts.values()) + timedelta(days=PICKER_DAYS - 1)
    ids = {"doctor_ids": list(doctor_ids), "hospital_ids": list({m.hospital_id for m in memberships})}
    arrays = _arrays()
    hours_of = _hours_from_rows(read_columns(_page_rules_statement(arrays), ids), owners=2)
    busy_of, time_off_of = _split_unavailable(
        read_columns(
            _unavailable_statement(True, arrays),
            ids | {"first": first, "last": last} | _busy_window(first, last, UTC),
        )
    )
    found: dict[int, Slot | None] = {}
    for m in memberships:
        calendar = Calendar(
            m.doctor_id,
            m.hospital,
            firsts[m.id],
            firsts[m.id] + timedelta(days=PICKER_DAYS - 1),
            rules=hours_of.get((m.doctor_id, m.hospital_id), ()),
            busy=busy_of[m.doctor_id],
            time_off=time_off_of[m.doctor_id],
        )
        found[m.id] = calendar.first_free(now)
    return found


# ---------------------------------------------------------------- finding doctors


def _like(value: str) -> str:
    escaped = value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _memberships_with_doctor():  # type: ignore[no-untyped-def]
    """Memberships joined with their hospital, their doctor and his account."""
    return select(Membership).join(Membership.hospital).join(Membership.doctor).join(Doctor.user)


def bookable_memberships():  # type: ignore[no-untyped-def]
    """A query of memberships that take bookings: active, at an active hospital."""
    return _memberships_with_doctor().where(
        Membership.status == MembershipStatus.active,
        Hospital.status == HospitalStatus.active,
        User.active.is_(True),
    )


# What pages of bookable doctors show of the doctor's account: his name (not his password hash, his
# second factor or his settings; fewer columns make a measurably cheaper statement on PostgreSQL).
DOCTOR_NAME = (User.id, User.full_name, User.active, User.role, User.email)


@functools.cache
def _search_query(text: bool, specialty: bool, city: bool, hospital: bool):  # type: ignore[no-untyped-def]
    """The search's filters for the ones given, with bound parameters (:text, :specialty, :city,
    :hospital_id): built once per process for each combination (building cost more than running)."""
    query = bookable_memberships()
    if text:
        pattern = bindparam("text")
        query = query.where(
            or_(
                func.lower(User.full_name).like(pattern, escape="\\"),
                func.lower(Doctor.specialty).like(pattern, escape="\\"),
                func.lower(Hospital.name).like(pattern, escape="\\"),
            )
        )
    if specialty:
        query = query.where(func.lower(Doctor.specialty).like(bindparam("specialty"), escape="\\"))
    if city:
        query = query.where(func.lower(Hospital.city).like(bindparam("city"), escape="\\"))
    if hospital:
        query = query.where(Membership.hospital_id == bindparam("hospital_id"))
    return query


class HospitalCard(NamedTuple):
    """A hospital as a page of search results shows it."""

    id: int
    name: str
    city: str
    currency: str
    timezone: str

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class DoctorCard(NamedTuple):
    """A bookable doctor at a hospital as a page of search results shows him (`id` is the membership's),
    as plain values: building ten memberships with their doctors, accounts and hospitals as ORM objects
    cost the CPU of two statements more than reading the same values."""

    id: int
    doctor_id: int
    hospital_id: int
    fee_minor: int | None
    name: str
    specialty: str
    hospital: HospitalCard


@functools.cache
def _search_page_statement(text: bool, specialty: bool, city: bool, hospital: bool):  # type: ignore[no-untyped-def]
    """A page of the search as the values of its cards and the number of all matches in one statement
    (a window count on every row), with :limit and :offset bound."""
    return (
        _search_query(text, specialty, city, hospital)
        .with_only_columns(
            Membership.id,
            Membership.doctor_id,
            Membership.hospital_id,
            Membership.fee_minor,
            User.full_name,
            Doctor.specialty,
            Hospital.name,
            Hospital.city,
            Hospital.currency,
            Hospital.timezone,
            func.count().over().label("total"),
        )
        .order_by(User.full_name, Hospital.name, Membership.id)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


def search_doctors(
    *,
    text: str = "",
    specialty: str = "",
    hospital_id: int | None = None,
    city: str = "",
    page: int = 1,
    per_page: int = 10,
) -> tuple[list[DoctorCard], int]:
    """Bookable doctor-at-hospital pairs matching every given filter, and the total count."""
    values: dict[str, object] = {"limit": per_page, "offset": max(page - 1, 0) * per_page}
    if text.strip():
        values["text"] = _like(text.strip())
    if specialty.strip():
        values["specialty"] = _like(specialty.strip())
    if city.strip():
        values["city"] = _like(city.strip())
    if hospital_id:
        values["hospital_id"] = hospital_id
    given = ("text" in values, "specialty" in values, "city" in values, "hospital_id" in values)
    found = read_columns(_search_page_statement(*given), values).all()
    if found:
        hospitals: dict[int, HospitalCard] = {}
        cards = []
        for m_id, doctor_id, h_id, fee, name, doctor_specialty, *place, _total in found:
            hospital = hospitals.get(h_id) or hospitals.setdefault(h_id, HospitalCard(h_id, *place))
            cards.append(DoctorCard(m_id, doctor_id, h_id, fee, name, doctor_specialty, hospital))
        return cards, found[0].total
    # Only a page past the end, which has no row to carry the count, counts on its own.
    query = _search_query(*given)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()), values) or 0
    return [], total


def _bookable_with_hours():  # type: ignore[no-untyped-def]
    """The membership of :doctor_id at :hospital_id if it takes bookings, outer-joined with his weekly
    rules there and their breaks (a row per rule and break): the picker's statements select from it."""
    return (
        bookable_memberships()
        .outerjoin(
            ScheduleRule,
            (ScheduleRule.doctor_id == Membership.doctor_id)
            & (ScheduleRule.hospital_id == Membership.hospital_id),
        )
        .outerjoin(ScheduleBreak, ScheduleBreak.rule_id == ScheduleRule.id)
        .where(
            Membership.doctor_id == bindparam("doctor_id"), Membership.hospital_id == bindparam("hospital_id")
        )
    )


@functools.cache
def _bookable_membership_statement():  # type: ignore[no-untyped-def]
    """`bookable_membership`'s statement, built once per process (its loader options cost more CPU to
    build on every request than the rest of the statement's work in Python). The weekly hours come as
    plain columns, a row per rule and break, not as ORM objects (building those cost more than the rest
    of the statement)."""
    return (
        _bookable_with_hours()
        .add_columns(*_HOURS_COLUMNS)
        .options(
            contains_eager(Membership.hospital),
            contains_eager(Membership.doctor).contains_eager(Doctor.user).load_only(*DOCTOR_NAME),
        )
    )


def bookable_membership(doctor_id: int, hospital_id: int) -> Membership | None:
    """The membership if it takes bookings, with its hospital, doctor and weekly hours (kept on it as
    `loaded_hours` for `calendar_for`): one statement."""
    rows = db.session.execute(
        _bookable_membership_statement(), {"doctor_id": doctor_id, "hospital_id": hospital_id}
    ).all()
    if not rows:
        return None
    membership = rows[0][0]
    membership.loaded_hours = _hours_from_rows(rows).get(membership, ())
    return membership


class DoctorInfo(NamedTuple):
    """What the slot picker shows of a doctor."""

    id: int
    name: str
    specialty: str
    qualifications: str | None
    bio: str | None


class PickerCard(NamedTuple):
    """A bookable doctor at a hospital as the slot picker shows him (`id` is the membership's), with his
    weekly hours, as plain values for the picker's pages, which only read: building the membership
    with its hospital, doctor and account as ORM objects cost more CPU than the statement itself. A
    booking reads the Membership itself, under its lock."""

    id: int
    doctor_id: int
    hospital_id: int
    fee_minor: int | None
    doctor: DoctorInfo
    hospital: HospitalCard
    loaded_hours: tuple[Hours, ...]


@functools.cache
def _picker_card_statement():  # type: ignore[no-untyped-def]
    """`picker_card`'s statement, built once per process: the card's values on every row, with the
    weekly hours' columns (a row per rule and break)."""
    return _bookable_with_hours().with_only_columns(
        Membership.id,
        Membership.fee_minor,
        User.full_name,
        Doctor.specialty,
        Doctor.qualifications,
        Doctor.bio,
        Hospital.name,
        Hospital.city,
        Hospital.currency,
        Hospital.timezone,
        *_HOURS_COLUMNS,
    )


def picker_card(doctor_id: int, hospital_id: int) -> PickerCard | None:
    """The doctor at the hospital as the slot picker shows him, if he takes bookings there: one
    statement, plain values (`PickerCard`)."""
    rows = read_columns(_picker_card_statement(), {"doctor_id": doctor_id, "hospital_id": hospital_id}).all()
    if not rows:
        return None
    m_id, fee, name, specialty, qualifications, bio, *place = rows[0][:10]
    hours = _hours_from_rows((None, *row[10:]) for row in rows).get(None, ())
    return PickerCard(
        m_id,
        doctor_id,
        hospital_id,
        fee,
        DoctorInfo(doctor_id, name, specialty, qualifications, bio),
        HospitalCard(hospital_id, *place),
        hours,
    )


def specialties() -> list[str]:
    return list(db.session.scalars(select(Doctor.specialty).distinct().order_by(Doctor.specialty)))


# ---------------------------------------------------------------- booking


@functools.cache
def _bookable_statement():  # type: ignore[no-untyped-def]
    """The membership with its hospital, doctor and weekly hours, built once per process (its eager
    loads cost as much to build as to run)."""
    return (
        _memberships_with_doctor()
        .where(
            Membership.doctor_id == bindparam("doctor_id"), Membership.hospital_id == bindparam("hospital_id")
        )
        .options(
            contains_eager(Membership.hospital),
            contains_eager(Membership.doctor).contains_eager(Doctor.user),
            joinedload(Membership.rules).joinedload(ScheduleRule.breaks),
        )
    )


def _check_bookable(doctor_id: int, hospital_id: int) -> Membership:
    """The membership with its hospital, doctor and weekly hours (one statement), if it takes bookings."""
    membership = (
        db.session.scalars(_bookable_statement(), {"doctor_id": doctor_id, "hospital_id": hospital_id})
        .unique()
        .first()
    )
    if membership is None:
        raise Invalid(N_("This doctor does not work at that hospital."), field="slot")
    if not membership.takes_bookings or not membership.doctor.user.active:
        raise Conflict(N_("This doctor takes no new bookings at this hospital at the moment."), field="slot")
    return membership


def _schedule_slot(membership: Membership, start: datetime, busy: list[tuple[datetime, datetime]]) -> Slot:
    """The schedule's slot starting at `start` (rules, breaks and time off), marked free or taken by
    `busy`; Invalid when the schedule has no such slot."""
    hospital = membership.hospital
    day = start.astimezone(hospital.tz).date()
    calendar = Calendar(membership.doctor_id, hospital, day, day, rules=list(membership.rules), busy=busy)
    for slot in calendar.slots(day, datetime.min.replace(tzinfo=UTC)):
        if slot.start == start:
            return slot
    raise Invalid(N_("That time is not on the doctor's schedule. Choose a time from the list."), field="slot")


@functools.cache
def _around_statement(with_key: bool):  # type: ignore[no-untyped-def]
    """`_around`'s statement, built once per process: live appointments of the doctor or the patient
    overlapping the window, or (`with_key`) the one made with the form's idempotency key."""
    nearby = and_(
        *_live_overlapping_bound(),
        (Appointment.doctor_id == bindparam("doctor_id"))
        | (Appointment.patient_id == bindparam("patient_id")),
    )
    return select(Appointment).where(
        or_(nearby, Appointment.idempotency_key == bindparam("key")) if with_key else nearby
    )


def _around(
    doctor_id: int, patient_id: int, start: datetime, key: str | None, exclude_id: int | None
) -> tuple[Appointment | None, list[Appointment], list[Appointment]]:
    """One statement for what a booking must know about other appointments: the one this form already
    made (its idempotency key), and the doctor's and the patient's live appointments that day."""
    parameters = _overlap_window(start - timedelta(days=1), start + timedelta(days=1))
    parameters |= {"doctor_id": doctor_id, "patient_id": patient_id} | ({"key": key} if key else {})
    rows = db.session.scalars(_around_statement(bool(key)), parameters).all()
    made = next((a for a in rows if key and a.idempotency_key == key), None)
    others = [a for a in rows if a.id != exclude_id and a.is_live]
    return (
        made,
        [a for a in others if a.doctor_id == doctor_id],
        [a for a in others if a.patient_id == patient_id],
    )


def book_appointment(
    *,
    patient: Patient,
    doctor_id: int,
    hospital_id: int,
    start: datetime,
    reason: str,
    booked_by: User,
    idempotency_key: str | None = None,
    rescheduled_from: Appointment | None = None,
) -> Appointment:
    """Book `start` with the doctor at the hospital, re-checking every rule under a lock.

    Raises SlotTaken (with the nearest free slots), Conflict, or Invalid; the caller commits. A form
    sent twice (its idempotency key) returns the first booking, also when the second waited for the
    lock. What it reads takes four statements: the lock, the membership with its hospital and hours,
    the doctor's time off, and the appointments around the time (see `_around`)."""
    now = clock.now()
    lock_rows((Doctor, doctor_id), (Patient, patient.id))
    exclude = rescheduled_from.id if rescheduled_from else None
    made, doctors, patients = _around(doctor_id, patient.id, start, idempotency_key, exclude)
    if made is not None:  # a double click (that may have waited for the lock) finds the first booking
        if made.patient_id != patient.id:
            raise Invalid(N_("This form was already used. Reload the page."))
        return made
    membership = _check_bookable(doctor_id, hospital_id)
    hospital = membership.hospital
    if start <= now:
        raise Invalid(N_("That time has already passed. Choose a later time."), field="slot")
    if start.astimezone(hospital.tz).date() > local_today(hospital, now) + timedelta(days=PICKER_DAYS * 13):
        raise Invalid(N_("Bookings open at most six months ahead."), field="slot")
    slot = _schedule_slot(membership, start, [(a.start_at, a.end_at) for a in doctors])
    if not slot.free:
        raise SlotTaken(doctor_id, hospital, slot.start, now)
    clash = next((a for a in patients if _overlaps(a.start_at, a.end_at, slot.start, slot.end)), None)
    if clash is not None:
        raise Conflict(
            gettext(
                "You already have an appointment at that time (with Dr %(name)s). Choose another time.",
                name=clash.doctor.name,
            ),
            field="slot",
        )
    # The unique keys catch what the checks could not: the same refusal, the transaction still usable.
    # Built inside the block, so that it is written inside the savepoint; when rescheduling, so is the
    # old appointment, which points at it.
    with savepoint(SlotTaken(doctor_id, hospital, slot.start, now)):
        appointment = Appointment(
            patient=patient,
            doctor_id=doctor_id,
            hospital_id=hospital.id,
            start_at=slot.start,
            end_at=slot.end,
            reason=reason.strip()[:500],
            status=AppointmentStatus.booked,
            active_slot=Appointment.slot_key(slot.start),
            booked_by_id=booked_by.id,
            idempotency_key=idempotency_key or None,
            rescheduled_from=rescheduled_from,
            status_changed_at=now,
        )
        appointment.doctor, appointment.hospital = membership.doctor, hospital
        db.session.add(appointment)
    record_event(
        "create",
        "appointment",
        appointment.id,
        patient_id=patient.id,
        hospital_id=hospital.id,
        user_id=booked_by.id,
        detail="booked by the front desk for the patient" if booked_by.id != patient.user_id else None,
    )
    if rescheduled_from is None:
        events.appointment_booked.send(appointment, actor=booked_by, fee_minor=membership.fee_minor)
    return appointment


def _release(appointment: Appointment, status: AppointmentStatus, now: datetime) -> None:
    appointment.status = status
    appointment.active_slot = None
    appointment.status_changed_at = now


def can_cancel(appointment: Appointment, actor: User, now: datetime) -> bool:
    if not appointment.is_live or appointment.end_at <= now:
        return False
    if actor.role == Role.patient:
        return appointment.can_patient_change(now)
    return True


def cancel_appointment(appointment: Appointment, actor: User, reason: str = "") -> Appointment:
    """Cancel a live appointment and free its slot at once; patients only before the cut-off."""
    now = clock.now()
    if appointment.status == AppointmentStatus.cancelled:
        return appointment
    if not appointment.is_live or appointment.end_at <= now:
        raise Conflict(N_("This appointment can no longer be cancelled."))
    if actor.role == Role.patient and not appointment.can_patient_change(now):
        hours = appointment.hospital.cancel_cutoff_minutes / 60
        raise Conflict(
            gettext(
                "Appointments can be cancelled online until %(hours)s hours before they start. "
                "Please call the hospital.",
                hours=f"{hours:g}",
            )
        )
    if actor.role != Role.patient and not reason.strip():
        raise Invalid(N_("Give a reason; the patient will see it."), field="reason")
    _release(appointment, AppointmentStatus.cancelled, now)
    appointment.cancelled_by_id = actor.id
    appointment.cancelled_at = now
    appointment.cancel_reason = reason.strip()[:500] or None
    db.session.flush()
    record_event(
        "cancel",
        "appointment",
        appointment.id,
        patient_id=appointment.patient_id,
        hospital_id=appointment.hospital_id,
        user_id=actor.id,
    )
    events.appointment_cancelled.send(appointment, actor=actor, reason=appointment.cancel_reason or "")
    return appointment


def reschedule_appointment(
    appointment: Appointment, new_start: datetime, actor: User, idempotency_key: str | None = None
) -> Appointment:
    """Book the new time and release the old one in the same transaction, or change nothing."""
    now = clock.now()
    if actor.role == Role.patient and not appointment.can_patient_change(now):
        raise Conflict(N_("This appointment can no longer be changed online. Please call the hospital."))
    if not appointment.is_live or appointment.status != AppointmentStatus.booked:
        raise Conflict(N_("Only a booked appointment can be moved."))
    new = book_appointment(
        patient=appointment.patient,
        doctor_id=appointment.doctor_id,
        hospital_id=appointment.hospital_id,
        start=new_start,
        reason=appointment.reason,
        booked_by=actor,
        idempotency_key=idempotency_key,
        rescheduled_from=appointment,
    )
    if new.rescheduled_from_id != appointment.id:  # the idempotency key found an unrelated booking
        raise Invalid(N_("This form was already used. Reload the page."))
    if appointment.is_live:
        _release(appointment, AppointmentStatus.cancelled, now)
        appointment.cancelled_by_id = actor.id
        appointment.cancelled_at = now
        appointment.cancel_reason = "Rescheduled"
        db.session.flush()
        record_event(
            "reschedule",
            "appointment",
            appointment.id,
            patient_id=appointment.patient_id,
            hospital_id=appointment.hospital_id,
            user_id=actor.id,
            detail=f"to {new.id}",
        )
    events.appointment_rescheduled.send(new, old=appointment, actor=actor)
    return new


def set_appointment_status(appointment: Appointment, status: AppointmentStatus, actor: User) -> Appointment:
    """Check a patient in, mark the visit done, or record a no-show (`Appointment.status_refusal`)."""
    now = clock.now()
    if appointment.status == status:
        return appointment
    refusal = appointment.status_refusal(status, now)
    if refusal is not None:
        raise Conflict(
            gettext(refusal, current=gettext(appointment.status.value), wanted=gettext(status.value))
        )
    appointment.status = status
    appointment.status_changed_at = now
    if not status.is_live:
        appointment.active_slot = None
    db.session.flush()
    record_event(
        status.value,
        "appointment",
        appointment.id,
        patient_id=appointment.patient_id,
        hospital_id=appointment.hospital_id,
        user_id=actor.id,
    )
    events.appointment_status_changed.send(appointment, actor=actor, status=status)
    return appointment


# ---------------------------------------------------------------- schedules


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def _check_member(doctor: Doctor, hospital_id: int) -> Membership:
    membership = db.session.scalar(
        select(Membership).where(Membership.doctor_id == doctor.id, Membership.hospital_id == hospital_id)
    )
    if membership is None or membership.status != MembershipStatus.active:
        raise NotAllowed(N_("You can set a schedule only where you are an active member."))
    return membership


def _reference_utc(weekday: int, wall: time, tz: ZoneInfo) -> datetime:
    """The instant of `weekday` at `wall` in a fixed reference week (for comparing time zones)."""
    monday = date(2030, 1, 7)
    return _utc(monday + timedelta(days=weekday), wall, tz)


def _check_rule(
    doctor: Doctor,
    hospital: Hospital,
    weekday: int,
    start: time,
    end: time,
    slot_minutes: int,
    exclude_id: int | None,
) -> None:
    if weekday not in range(7):
        raise Invalid(N_("Choose a day of the week."), field="weekday")
    if _minutes(end) <= _minutes(start):
        raise Invalid(N_("The end must be after the start."), field="end_time")
    if slot_minutes not in SLOT_LENGTHS:
        raise Invalid(N_("Choose a slot length from the list."), field="slot_minutes")
    if _minutes(end) - _minutes(start) < slot_minutes:
        raise Invalid(N_("The working time is shorter than one slot."), field="end_time")
    mine = (_reference_utc(weekday, start, hospital.tz), _reference_utc(weekday, end, hospital.tz))
    others = db.session.scalars(
        select(ScheduleRule)
        .where(ScheduleRule.doctor_id == doctor.id)
        .options(joinedload(ScheduleRule.hospital))
    ).all()
    for other in others:
        if other.id == exclude_id:
            continue
        theirs = (
            _reference_utc(other.weekday, other.start_time, other.hospital.tz),
            _reference_utc(other.weekday, other.end_time, other.hospital.tz),
        )
        if _overlaps(*mine, *theirs):
            times = {
                "day": gettext(other.weekday_name),
                "start": f"{other.start_time:%H:%M}",
                "end": f"{other.end_time:%H:%M}",
            }
            if other.hospital_id == hospital.id:
                message = gettext("This overlaps your %(day)s %(start)s–%(end)s schedule here.", **times)
            else:
                message = gettext(
                    "This overlaps your %(day)s %(start)s–%(end)s schedule at %(hospital)s.",
                    hospital=other.hospital.name,
                    **times,
                )
            raise Invalid(message, field="start_time")


def future_appointments(
    doctor_id: int, hospital_id: int | None = None, after: datetime | None = None
) -> list[Appointment]:
    query = select(Appointment).where(
        Appointment.doctor_id == doctor_id,
        Appointment.status.in_(LIVE),
        Appointment.start_at > (after or clock.now()),
    )
    if hospital_id is not None:
        query = query.where(Appointment.hospital_id == hospital_id)
    return list(db.session.scalars(query.order_by(Appointment.start_at)))


def _working_intervals(rules: list[ScheduleRule], day: date, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The day's working time as UTC intervals: each block minus its breaks."""
    intervals = []
    for rule in rules:
        if rule.weekday != day.weekday():
            continue
        cursor, block_end = _utc(day, rule.start_time, tz), _utc(day, rule.end_time, tz)
        for b in sorted(rule.breaks, key=lambda b: b.start_time):
            b0, b1 = _utc(day, b.start_time, tz), _utc(day, b.end_time, tz)
            if b0 > cursor:
                intervals.append((cursor, b0))
            cursor = max(cursor, b1)
        if cursor < block_end:
            intervals.append((cursor, block_end))
    return intervals


def _outside_rules(
    appointments: list[Appointment], rules_by_hospital: dict[int, list[ScheduleRule]]
) -> list[Appointment]:
    """The appointments that no longer lie inside working time."""
    out = []
    for appointment in appointments:
        tz = appointment.hospital.tz
        day = appointment.start_at.astimezone(tz).date()
        working = _working_intervals(rules_by_hospital.get(appointment.hospital_id, []), day, tz)
        if not any(w0 <= appointment.start_at and appointment.end_at <= w1 for w0, w1 in working):
            out.append(appointment)
    return out


def collisions_after_rule_change(
    doctor: Doctor, hospital: Hospital, proposed: list[ScheduleRule]
) -> list[Appointment]:
    """Future live appointments at `hospital` that the proposed rules no longer cover."""
    return _outside_rules(future_appointments(doctor.id, hospital.id), {hospital.id: proposed})


def _cancel_all(appointments: list[Appointment], actor: User, reason: str) -> None:
    if appointments and not reason.strip():
        raise Invalid(N_("Give the patients a reason for the cancellation."), field="cancel_reason")
    for appointment in appointments:
        cancel_appointment(appointment, actor, reason)


@dataclass
class Collisions(Exception):
    """The change touches booked appointments: the doctor must choose to cancel them or keep them."""

    appointments: list[Appointment]


def save_schedule_rule(
    *,
    doctor: Doctor,
    hospital_id: int,
    weekday: int,
    start_time: time,
    end_time: time,
    slot_minutes: int,
    rule: ScheduleRule | None = None,
    on_collision: str = "",
    cancel_reason: str = "",
    actor: User,
) -> ScheduleRule:
    """Add a rule or change one. If future bookings fall outside the new schedule, raise Collisions
    unless `on_collision` is "cancel" (cancel them with the reason) or "keep"."""
    membership = _check_member(doctor, hospital_id)
    hospital = membership.hospital
    _check_rule(doctor, hospital, weekday, start_time, end_time, slot_minutes, rule.id if rule else None)
    if rule is None:
        rule = ScheduleRule(doctor=doctor, hospital_id=hospital.id)
        db.session.add(rule)
    elif rule.doctor_id != doctor.id:
        raise NotAllowed(N_("Not your schedule."))
    for b in rule.breaks:
        if not (
            _minutes(start_time) <= _minutes(b.start_time) and _minutes(b.end_time) <= _minutes(end_time)
        ):
            raise Invalid(
                gettext(
                    "The break %(start)s–%(end)s would fall outside these hours; remove it first.",
                    start=f"{b.start_time:%H:%M}",
                    end=f"{b.end_time:%H:%M}",
                ),
                field="start_time",
            )
    rule.weekday, rule.start_time, rule.end_time, rule.slot_minutes = (
        weekday,
        start_time,
        end_time,
        slot_minutes,
    )
    _resolve_collisions(doctor, hospital, on_collision, cancel_reason, actor)
    db.session.flush()
    return rule


def _resolve_collisions(
    doctor: Doctor, hospital: Hospital, on_collision: str, cancel_reason: str, actor: User
) -> None:
    with db.session.no_autoflush:
        rules = [
            r
            for r in db.session.scalars(
                select(ScheduleRule).where(
                    ScheduleRule.doctor_id == doctor.id, ScheduleRule.hospital_id == hospital.id
                )
            )
        ]
        for pending in db.session.new:
            if (
                isinstance(pending, ScheduleRule)
                and pending.hospital_id == hospital.id
                and pending not in rules
            ):
                rules.append(pending)
        rules = [r for r in rules if r not in db.session.deleted]
        hit = collisions_after_rule_change(doctor, hospital, rules)
    if not hit:
        return
    if on_collision == "cancel":
        _cancel_all(hit, actor, cancel_reason)
    elif on_collision != "keep":
        raise Collisions(hit)


def delete_schedule_rule(
    rule: ScheduleRule, *, on_collision: str = "", cancel_reason: str = "", actor: User
) -> None:
    doctor, hospital = rule.doctor, rule.hospital
    db.session.delete(rule)
    _resolve_collisions(doctor, hospital, on_collision, cancel_reason, actor)
    db.session.flush()


def add_break(
    rule: ScheduleRule,
    start_time: time,
    end_time: time,
    *,
    on_collision: str = "",
    cancel_reason: str = "",
    actor: User,
) -> ScheduleBreak:
    if _minutes(end_time) <= _minutes(start_time):
        raise Invalid(N_("The break must end after it starts."), field="break_end")
    if not (
        _minutes(rule.start_time) <= _minutes(start_time) and _minutes(end_time) <= _minutes(rule.end_time)
    ):
        raise Invalid(
            gettext(
                "A break must lie inside the working hours %(start)s–%(end)s.",
                start=f"{rule.start_time:%H:%M}",
                end=f"{rule.end_time:%H:%M}",
            ),
            field="break_start",
        )
    for other in rule.breaks:
        if _minutes(start_time) < _minutes(other.end_time) and _minutes(other.start_time) < _minutes(
            end_time
        ):
            raise Invalid(
                gettext(
                    "This overlaps the break %(start)s–%(end)s.",
                    start=f"{other.start_time:%H:%M}",
                    end=f"{other.end_time:%H:%M}",
                ),
                field="break_start",
            )
    item = ScheduleBreak(start_time=start_time, end_time=end_time)
    rule.breaks.append(item)
    _resolve_collisions(rule.doctor, rule.hospital, on_collision, cancel_reason, actor)
    db.session.flush()
    return item


def delete_break(item: ScheduleBreak) -> None:
    db.session.delete(item)
    db.session.flush()


def appointments_on_days(doctor_id: int, first: date, last: date) -> list[Appointment]:
    """Live appointments of the doctor whose local date (at their hospital) lies in [first, last]."""
    candidates = db.session.scalars(
        select(Appointment)
        .where(
            Appointment.doctor_id == doctor_id,
            Appointment.status.in_(LIVE),
            Appointment.start_at >= datetime.combine(first, time(0), tzinfo=UTC) - timedelta(days=1),
            Appointment.start_at < datetime.combine(last, time(0), tzinfo=UTC) + timedelta(days=2),
            Appointment.start_at > clock.now(),
        )
        .options(joinedload(Appointment.hospital))
        .order_by(Appointment.start_at)
    ).all()
    return [a for a in candidates if first <= a.start_at.astimezone(a.hospital.tz).date() <= last]


def add_time_off(
    *,
    doctor: Doctor,
    start_date: date,
    end_date: date,
    reason: str = "",
    on_collision: str = "",
    cancel_reason: str = "",
    actor: User,
) -> TimeOff:
    if end_date < start_date:
        raise Invalid(N_("The last day must not be before the first."), field="end_date")
    if start_date < clock.now().date() - timedelta(days=1):
        raise Invalid(N_("Time off cannot start in the past."), field="start_date")
    if (end_date - start_date).days > 366:
        raise Invalid(
            N_("Time off can last at most a year; add another period for longer."), field="end_date"
        )
    hit = appointments_on_days(doctor.id, start_date, end_date)
    if hit:
        if on_collision == "cancel":
            _cancel_all(hit, actor, cancel_reason)
        elif on_collision != "keep":
            raise Collisions(hit)
    item = TimeOff(
        doctor=doctor, start_date=start_date, end_date=end_date, reason=reason.strip()[:200] or None
    )
    db.session.add(item)
    db.session.flush()
    return item


def delete_time_off(item: TimeOff) -> None:
    db.session.delete(item)
    db.session.flush()


def agenda(doctor_id: int, first: date, last: date, tz: ZoneInfo | None = None) -> list[Appointment]:
    """All appointments of a doctor from `first` to `last` (inclusive, local dates), any status."""
    start = datetime.combine(first, time(0), tzinfo=tz or UTC).astimezone(UTC) - timedelta(hours=14)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz or UTC).astimezone(UTC) + timedelta(
        hours=14
    )
    rows = db.session.scalars(
        select(Appointment)
        .where(Appointment.doctor_id == doctor_id, Appointment.start_at >= start, Appointment.start_at < end)
        .options(
            joinedload(Appointment.hospital),
            joinedload(Appointment.patient).joinedload(Patient.user),
            # the other ends of a move, for the "moved to/from" hints (joined: no statement per visit)
            joinedload(Appointment.rescheduled_from),
            joinedload(Appointment.rescheduled_to),
        )
        .order_by(Appointment.start_at)
    ).all()
    return [a for a in rows if first <= a.start_at.astimezone(a.hospital.tz).date() <= last]


def working_hours(doctor_id: int, hospital_ids: Iterable[int]) -> list[ScheduleRule]:
    """The doctor's weekly rules at these hospitals (the agenda's week spans their hours)."""
    ids = list(hospital_ids)
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(ScheduleRule)
            .where(ScheduleRule.doctor_id == doctor_id, ScheduleRule.hospital_id.in_(ids))
            .order_by(ScheduleRule.weekday, ScheduleRule.start_time)
        )
    )


def patient_appointments(
    patient_id: int, now: datetime | None = None, past_limit: int = 50
) -> tuple[list[Appointment], list[Appointment]]:
    """(upcoming live appointments soonest first, the `past_limit` newest past, cancelled or ended
    ones). Two bounded statements: whatever a patient's history holds, a page reads what it shows."""
    now = now or clock.now()
    options = (joinedload(Appointment.hospital), joinedload(Appointment.doctor).joinedload(Doctor.user))
    ahead = db.session.scalars(
        select(Appointment)
        .where(Appointment.patient_id == patient_id, Appointment.start_at > now)
        .options(*options)
        .order_by(Appointment.start_at)
    ).all()
    behind = db.session.scalars(
        select(Appointment)
        .where(Appointment.patient_id == patient_id, Appointment.start_at <= now)
        .options(*options)
        .order_by(Appointment.start_at.desc())
        .limit(past_limit + 10)  # and those still going on (a visit is never longer than a day)
    ).all()
    rows = [*ahead, *behind]
    upcoming = sorted((a for a in rows if a.is_upcoming(now)), key=lambda a: a.start_at)
    past = sorted((a for a in rows if not a.is_upcoming(now)), key=lambda a: a.start_at, reverse=True)
    return upcoming, past[:past_limit]
