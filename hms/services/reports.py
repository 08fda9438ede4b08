"""Reports: one parameter schema, metrics aggregated in SQL (GROUP BY), results as rows and series.

A report is `ReportParams` (metric, date range, grouping, filters) run in a `Scope`: one hospital
(its administrator's, never taken from the request) or the whole platform. Hospital reports count
that hospital's rows only; its time zone sets the day boundaries. Platform reports use UTC.

The same code draws the dashboards (`hospital_dashboard`, `platform_dashboard`)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, literal, literal_column, or_, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from hms import clock
from hms.extensions import db
from hms.i18n import N_
from hms.models import (
    Admission,
    AdmissionStatus,
    Appointment,
    AppointmentStatus,
    Bed,
    BedStatus,
    BedStay,
    Bill,
    Department,
    Doctor,
    Feedback,
    Hospital,
    HospitalStatus,
    InventoryItem,
    LabOrder,
    LabOrderItem,
    LabResult,
    LabTest,
    Membership,
    MovementKind,
    Patient,
    Payment,
    PaymentStatus,
    SavedReport,
    StockMovement,
    User,
    Ward,
)
from hms.models.types import UTCDateTime
from hms.money import minor_to_decimal
from hms.periods import UNITS, local_bounds, period_start, periods
from hms.services.errors import Invalid

MAX_YEARS = 5
MAX_DAYS_BY_DAY = 366
NAME_MAX = 120

PERIODS = ("day", "week", "month")
BY_ENTITY = ("doctor", "department")


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    groups: tuple[str, ...]
    filters: tuple[str, ...]


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric(
            "appointments",
            N_("Appointments by status"),
            PERIODS + BY_ENTITY + ("hospital",),
            ("doctor", "department", "hospital"),
        ),
        Metric(
            "bookings",
            N_("Bookings made"),
            PERIODS + BY_ENTITY + ("hospital",),
            ("doctor", "department", "hospital"),
        ),
        Metric(
            "noshow_rate",
            N_("No-show rate"),
            PERIODS + BY_ENTITY + ("hospital",),
            ("doctor", "department", "hospital"),
        ),
        Metric(
            "revenue",
            N_("Revenue"),
            PERIODS + BY_ENTITY + ("hospital",),
            ("doctor", "department", "hospital"),
        ),
        Metric("new_patients", N_("New patients"), PERIODS, ()),
        Metric(
            "rating",
            N_("Average rating"),
            PERIODS + BY_ENTITY + ("hospital",),
            ("doctor", "department", "hospital"),
        ),
        Metric("stock_usage", N_("Stock usage"), PERIODS + ("item", "hospital"), ("hospital",)),
        Metric("lab_turnaround", N_("Lab turnaround"), PERIODS + ("test", "hospital"), ("hospital",)),
        Metric(
            "lab_criticals", N_("Share of critical lab values"), PERIODS + ("test", "hospital"), ("hospital",)
        ),
        Metric("bed_occupancy", N_("Bed occupancy rate"), PERIODS + ("ward", "hospital"), ("hospital",)),
        Metric("length_of_stay", N_("Average length of stay"), PERIODS + ("ward", "hospital"), ("hospital",)),
    )
}

GROUP_LABELS = {
    "day": N_("Day"),
    "week": N_("Week"),
    "month": N_("Month"),
    "doctor": N_("Doctor"),
    "department": N_("Department"),
    "hospital": N_("Hospital"),
    "item": N_("Item"),
    "test": N_("Lab test"),
    "ward": N_("Ward"),
}


@dataclass(frozen=True)
class Scope:
    """What a report may see: one hospital (`hospital` set) or the whole platform."""

    hospital: Hospital | None = None

    @property
    def tz(self) -> ZoneInfo:
        return self.hospital.tz if self.hospital else ZoneInfo("UTC")

    @property
    def is_platform(self) -> bool:
        return self.hospital is None

    def metrics(self) -> list[Metric]:
        return list(METRICS.values())

    def groups(self, metric: Metric) -> tuple[str, ...]:
        return metric.groups if self.is_platform else tuple(g for g in metric.groups if g != "hospital")

    def filters(self, metric: Metric) -> tuple[str, ...]:
        return metric.filters if self.is_platform else tuple(f for f in metric.filters if f != "hospital")


class InvalidReport(Invalid):
    """Bad report parameters: `errors` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        first = next(iter(errors.items()))
        super().__init__(first[1], field=first[0])
        self.errors = errors


@dataclass(frozen=True)
class ReportParams:
    metric: str
    start: date
    end: date
    group: str
    doctor: int | None = None
    department: int | None = None
    hospital: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "group": self.group,
            "doctor": self.doctor,
            "department": self.department,
            "hospital": self.hospital,
        }

    def query(self) -> dict[str, str]:
        """The parameters as URL query values (empty filters left out)."""
        return {k: str(v) for k, v in self.to_json().items() if v not in (None, "")}


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ID = re.compile(r"\d{1,10}")


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    return str(value).strip()[:40]


def _parse_date(raw: str, errors: dict[str, str], key: str) -> date | None:
    if not raw:
        errors[key] = N_("Enter a date.")
        return None
    try:
        if not _ISO_DATE.fullmatch(raw):
            raise ValueError(raw)
        value = date.fromisoformat(raw)
    except ValueError:
        errors[key] = N_("Enter a date.")  # from the date picker, which shows its own format
        return None
    if not 2000 <= value.year <= 2100:
        errors[key] = N_("Enter a date between 2000 and 2100.")
        return None
    return value


def _parse_id(raw: Any, errors: dict[str, str], key: str) -> int | None:
    if raw is None or raw == "" or raw == 0:
        return None
    text = str(raw).strip()
    if text in ("", "0"):
        return None
    if isinstance(raw, bool) or not _ID.fullmatch(text) or int(text) > 2**31 - 1:
        errors[key] = _UNKNOWN[key]
        return None
    return int(text)


_UNKNOWN = {
    "doctor": N_("Choose a doctor from the list."),
    "department": N_("Choose a department from the list."),
    "hospital": N_("Choose a hospital from the list."),
}


def _filter_exists(key: str, value: int, scope: Scope) -> bool:
    if key == "doctor":
        query = select(Doctor.id).where(Doctor.id == value)
        if scope.hospital is not None:
            query = query.join(Membership, Membership.doctor_id == Doctor.id).where(
                Membership.hospital_id == scope.hospital.id
            )
    elif key == "department":
        query = select(Department.id).where(Department.id == value)
        if scope.hospital is not None:
            query = query.where(Department.hospital_id == scope.hospital.id)
    else:
        query = select(Hospital.id).where(Hospital.id == value)
    return db.session.scalar(query.limit(1)) is not None


def parse_params(data: Mapping[str, Any], scope: Scope) -> ReportParams:
    """The one schema for report parameters, from a form, a URL or saved JSON; raises InvalidReport.

    Only what the scope allows is read: a hospital's report has no `hospital` parameter at all (its
    hospital is the scope's), and a doctor or department must belong to the scope's hospital."""
    if not isinstance(data, Mapping):
        raise InvalidReport({"metric": N_("Choose a report.")})
    errors: dict[str, str] = {}
    metric = METRICS.get(_text(data, "metric"))
    if metric is None:
        errors["metric"] = N_("Choose a report from the list.")
    start = _parse_date(_text(data, "start"), errors, "start")
    end = _parse_date(_text(data, "end"), errors, "end")
    if start and end:
        if end < start:
            errors["end"] = N_("The end date is before the start date.")
        elif end >= _add_years(start, MAX_YEARS):
            errors["end"] = N_("A report covers at most 5 years.")
    group = _text(data, "group")
    if metric is not None:
        if group not in scope.groups(metric):
            errors["group"] = N_("This report cannot be grouped that way.")
        elif group == "day" and start and end and (end - start).days >= MAX_DAYS_BY_DAY:
            errors["group"] = N_("Group by week or month for more than a year.")
    filters: dict[str, int | None] = {}
    for key in ("doctor", "department", "hospital"):
        if key == "hospital" and not scope.is_platform:
            continue  # never from the request: the scope is the admin's hospital
        value = _parse_id(data.get(key), errors, key)
        if value is None:
            filters[key] = None
            continue
        if metric is not None and key not in scope.filters(metric):
            errors[key] = N_("This report cannot be filtered that way.")
        elif not _filter_exists(key, value, scope):
            errors[key] = _UNKNOWN[key]
        filters[key] = value
    if errors:
        raise InvalidReport(errors)
    assert metric is not None and start is not None and end is not None  # noqa: S101  (no errors)
    return ReportParams(metric=metric.key, start=start, end=end, group=group, **filters)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def default_params(scope: Scope, metric: str = "appointments") -> ReportParams:
    """This month so far, by day."""
    today = clock.now().astimezone(scope.tz).date()
    return ReportParams(metric=metric, start=today.replace(day=1), end=today, group="day")


# --- Results ---------------------------------------------------------------------------------------


@dataclass
class Series:
    """One column of the result: `kind` is count, money (minor units of `currency`), percent, rating
    (an average of 1–5 stars, two decimals) or days (one decimal)."""

    name: str
    values: list[float | int]
    kind: str = "count"
    currency: str | None = None
    charted: bool = True
    total: float | int | None = None


@dataclass
class ReportResult:
    params: ReportParams
    group: str
    keys: list[Any]
    labels: list[str]
    series: list[Series] = field(default_factory=list)

    @property
    def metric(self) -> Metric:
        return METRICS[self.params.metric]

    @property
    def is_empty(self) -> bool:
        return not any(v for s in self.series for v in s.values)

    def csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        head = [self.group]
        for s in self.series:
            head.append(f"{s.name} ({s.currency})" if s.currency else s.name)
        writer.writerow(head)
        for index, label in enumerate(self.labels):
            writer.writerow([_csv_cell(label)] + [_csv_value(s, s.values[index]) for s in self.series])
        writer.writerow(["total"] + [_csv_value(s, s.total) for s in self.series])
        return buffer.getvalue()


def _csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    # Spreadsheet formula injection: a cell starting with these would run as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_value(series: Series, value: float | int | None) -> str:
    if value is None:
        return ""
    if series.kind == "money":
        return str(minor_to_decimal(int(value), series.currency or "XXX"))
    if series.kind in ("percent", "days"):
        return f"{value:.1f}"
    if series.kind == "rating":
        return f"{value:.2f}"
    return str(int(value))


# --- SQL ---------------------------------------------------------------------------------------------


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _department_join(doctor_col: ColumnElement, hospital_col: ColumnElement) -> Any:
    """The doctor's membership at that hospital: his department there (as it is now)."""
    return Membership, (Membership.doctor_id == doctor_col) & (Membership.hospital_id == hospital_col)


def _group_key(
    params: ReportParams,
    scope: Scope,
    moment: ColumnElement,
    doctor_col: ColumnElement,
    hospital_col: ColumnElement,
) -> ColumnElement:
    if params.group in UNITS:
        lo, hi = _bounds(params, scope)
        return period_start(moment, params.group, scope.tz, lo, hi, _dialect())
    if params.group == "doctor":
        return doctor_col
    if params.group == "department":
        return Membership.department_id
    return hospital_col


def _bounds(params: ReportParams, scope: Scope) -> tuple[datetime, datetime]:
    return local_bounds(params.start, params.end, scope.tz)


def _where(
    query: Any,
    params: ReportParams,
    scope: Scope,
    moment: ColumnElement,
    doctor_col: ColumnElement,
    hospital_col: ColumnElement,
) -> Any:
    lo, hi = _bounds(params, scope)
    query = query.where(moment >= lo, moment < hi)
    if scope.hospital is not None:
        query = query.where(hospital_col == scope.hospital.id)
    elif params.hospital is not None:
        query = query.where(hospital_col == params.hospital)
    if params.doctor is not None:
        query = query.where(doctor_col == params.doctor)
    if params.department is not None:
        query = query.where(Membership.department_id == params.department)
    needs_department = params.group == "department" or params.department is not None
    if needs_department:
        query = query.outerjoin(*_department_join(doctor_col, hospital_col))
    return query


def _appointment_rows(params: ReportParams, scope: Scope, moment: ColumnElement, extra: list) -> Any:
    key = _group_key(params, scope, moment, Appointment.doctor_id, Appointment.hospital_id)
    inner = select(key.label("k"), *extra).select_from(Appointment)
    return _where(inner, params, scope, moment, Appointment.doctor_id, Appointment.hospital_id)


def _appointments(params: ReportParams, scope: Scope) -> dict[Any, dict[str, int]]:
    sub = _appointment_rows(params, scope, Appointment.start_at, [Appointment.status.label("s")]).subquery()
    rows = db.session.execute(select(sub.c.k, sub.c.s, func.count()).group_by(sub.c.k, sub.c.s)).all()
    found: dict[Any, dict[str, int]] = {}
    for key, status, count in rows:
        found.setdefault(key, {})[AppointmentStatus(status).value] = int(count)
    return found


def _bookings(params: ReportParams, scope: Scope) -> dict[Any, dict[str, int]]:
    sub = _appointment_rows(params, scope, Appointment.created_at, [Appointment.id.label("i")]).subquery()
    rows = db.session.execute(select(sub.c.k, func.count()).group_by(sub.c.k)).all()
    return {key: {"bookings": int(count)} for key, count in rows}


SEEN = (AppointmentStatus.fulfilled, AppointmentStatus.arrived, AppointmentStatus.noshow)


def _noshows(params: ReportParams, scope: Scope) -> dict[Any, dict[str, int]]:
    inner = _appointment_rows(params, scope, Appointment.start_at, [Appointment.status.label("s")])
    sub = inner.where(Appointment.status.in_(SEEN)).subquery()
    noshow = func.count(case((sub.c.s == AppointmentStatus.noshow, 1)))
    rows = db.session.execute(select(sub.c.k, noshow, func.count()).group_by(sub.c.k)).all()
    return {key: {"noshow": int(n), "due": int(total)} for key, n, total in rows}


def _revenue(params: ReportParams, scope: Scope) -> dict[Any, dict[str, int]]:
    """Money received, net of what went back, by the day it was received; one column per currency."""
    moment = Payment.settled_at
    key = _group_key(params, scope, moment, Bill.doctor_id, Bill.hospital_id)
    inner = (
        select(
            key.label("k"),
            Payment.currency.label("c"),
            (Payment.amount_minor - Payment.refunded_minor).label("a"),
        )
        .select_from(Payment)
        .join(Bill, Bill.id == Payment.bill_id)
        .where(Payment.status.in_([PaymentStatus.succeeded, PaymentStatus.refunded]))
    )
    sub = _where(inner, params, scope, moment, Bill.doctor_id, Bill.hospital_id).subquery()
    rows = db.session.execute(select(sub.c.k, sub.c.c, func.sum(sub.c.a)).group_by(sub.c.k, sub.c.c)).all()
    found: dict[Any, dict[str, int]] = {}
    for key_value, currency, amount in rows:
        found.setdefault(key_value, {})[currency] = int(amount or 0)
    return found


def _ratings(params: ReportParams, scope: Scope) -> dict[Any, dict[str, int]]:
    """Patients' ratings (1–5) by the day they were given: their sum and number, averaged afterwards."""
    moment = Feedback.created_at
    key = _group_key(params, scope, moment, Feedback.doctor_id, Feedback.hospital_id)
    inner = select(key.label("k"), Feedback.rating.label("r")).select_from(Feedback)
    sub = _where(inner, params, scope, moment, Feedback.doctor_id, Feedback.hospital_id).subquery()
    rows = db.session.execute(select(sub.c.k, func.sum(sub.c.r), func.count()).group_by(sub.c.k)).all()
    return {key_value: {"stars": int(total or 0), "ratings": int(n)} for key_value, total, n in rows}


def _new_patients(params: ReportParams, scope: Scope) -> dict[Any, dict[str, int]]:
    """Platform: patients who registered. Hospital: patients whose first visit there (not cancelled)
    falls in the range."""
    lo, hi = _bounds(params, scope)
    if scope.hospital is None:
        moment: ColumnElement = User.created_at
        base = select(User.created_at.label("m")).join(Patient, Patient.user_id == User.id)
    else:
        base = (
            select(func.min(Appointment.start_at).label("m"))
            .where(
                Appointment.hospital_id == scope.hospital.id,
                Appointment.status != AppointmentStatus.cancelled,
            )
            .group_by(Appointment.patient_id)
        )
    firsts = base.subquery()
    moment = firsts.c.m
    key = period_start(moment, params.group, scope.tz, lo, hi, _dialect())
    sub = select(key.label("k")).where(moment >= lo, moment < hi).subquery()
    rows = db.session.execute(select(sub.c.k, func.count()).group_by(sub.c.k)).all()
    return {k: {"patients": int(count)} for k, count in rows}


def _stock_usage(params: ReportParams, scope: Scope) -> dict[Any, dict[str, int]]:
    """Units dispensed (hms.services.inventory's dispense movements), per period, item or hospital."""
    moment = StockMovement.created_at
    lo, hi = _bounds(params, scope)
    if params.group in UNITS:
        key: ColumnElement = period_start(moment, params.group, scope.tz, lo, hi, _dialect())
    elif params.group == "item":
        key = StockMovement.item_id
    else:
        key = StockMovement.hospital_id
    inner = select(key.label("k"), (-StockMovement.quantity).label("q")).where(
        StockMovement.kind == MovementKind.dispense, moment >= lo, moment < hi
    )
    if scope.hospital is not None:
        inner = inner.where(StockMovement.hospital_id == scope.hospital.id)
    elif params.hospital is not None:
        inner = inner.where(StockMovement.hospital_id == params.hospital)
    sub = inner.subquery()
    rows = db.session.execute(select(sub.c.k, func.sum(sub.c.q)).group_by(sub.c.k)).all()
    return {k: {"units": int(units or 0)} for k, units in rows}


def _seconds_between(start: ColumnElement, end: ColumnElement) -> ColumnElement:
    """`end - start` in seconds, on each database its own way."""
    dialect = _dialect()
    if dialect == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400
    if dialect == "postgresql":
        return func.extract("epoch", end - start)
    return func.timestampdiff(literal_column("SECOND"), start, end)


def _lab_rows(params: ReportParams, scope: Scope, moment: ColumnElement, *columns: ColumnElement) -> Any:
    """First results (not amendments) of the scope's lab orders, keyed by period, test or hospital."""
    lo, hi = _bounds(params, scope)
    if params.group in UNITS:
        key: ColumnElement = period_start(moment, params.group, scope.tz, lo, hi, _dialect())
    elif params.group == "test":
        key = LabOrderItem.test_id
    else:
        key = LabOrder.hospital_id
    inner = (
        select(key.label("k"), *columns)
        .select_from(LabResult)
        .join(LabOrderItem, LabOrderItem.id == LabResult.item_id)
        .join(LabOrder, LabOrder.id == LabOrderItem.order_id)
        .where(LabResult.amends_id.is_(None), moment >= lo, moment < hi)
    )
    if scope.hospital is not None:
        inner = inner.where(LabOrder.hospital_id == scope.hospital.id)
    elif params.hospital is not None:
        inner = inner.where(LabOrder.hospital_id == params.hospital)
    return inner.subquery()


def _lab_turnaround(params: ReportParams, scope: Scope) -> dict[Any, dict[str, int]]:
    """Minutes from the order to the verification of its first results, by the day they were verified:
    their sum and number (averaged afterwards)."""
    seconds = _seconds_between(LabOrder.ordered_at, LabResult.verified_at)
    sub = _lab_rows(params, scope, LabResult.verified_at, seconds.label("s"))
    rows = db.session.execute(select(sub.c.k, func.sum(sub.c.s), func.count()).group_by(sub.c.k)).all()
    return {k: {"seconds": int(total or 0), "verified": int(n)} for k, total, n in rows}


def _lab_criticals(params: ReportParams, scope: Scope) -> dict[Any, dict[str, int]]:
    """Results entered, and how many of them were critical, by the day they were entered."""
    sub = _lab_rows(params, scope, LabResult.entered_at, LabResult.critical.label("c"))
    critical = func.count(case((sub.c.c.is_(True), 1)))
    rows = db.session.execute(select(sub.c.k, critical, func.count()).group_by(sub.c.k)).all()
    return {k: {"critical": int(n), "results": int(total)} for k, n, total in rows}


# --- Inpatient care: bed occupancy and length of stay -------------------------------------------------

DAY_SECONDS = 86400


def _at(moment: datetime) -> ColumnElement:
    """A UTC instant as an SQL value stored like the timestamp columns (naive UTC)."""
    return literal(moment, UTCDateTime())


def _overlap_seconds(start: ColumnElement, end: ColumnElement, lo: ColumnElement, hi: ColumnElement) -> Any:
    """Seconds of [start, end) inside [lo, hi), for rows where the two overlap (CASE, not GREATEST
    and LEAST, which SQLite lacks); NULL when `start` is (an outer join's missing stay)."""
    return _seconds_between(case((start <= lo, lo), else_=start), case((end >= hi, hi), else_=end))


def _ward_scope(query: Any, params: ReportParams, scope: Scope) -> Any:
    if scope.hospital is not None:
        return query.where(Ward.hospital_id == scope.hospital.id)
    if params.hospital is not None:
        return query.where(Ward.hospital_id == params.hospital)
    return query


def _open_beds(ward_id: ColumnElement) -> Any:
    """The ward's beds that are not retired, counted as available while the ward is open."""
    beds = select(func.count(Bed.id)).where(Bed.ward_id == ward_id, Bed.retired.is_(False)).scalar_subquery()
    return case((Ward.active.is_(True), beds), else_=0)


def _report_window(params: ReportParams, scope: Scope) -> tuple[datetime, datetime]:
    """The range's [lo, hi) cut at now: the future is neither occupied nor available."""
    lo, hi = _bounds(params, scope)
    return lo, max(lo, min(hi, clock.now()))


def _bed_occupancy(params: ReportParams, scope: Scope) -> dict[Any, dict[str, float]]:
    """Occupied and available bed-seconds in one GROUP BY: per ward or hospital over the range, or per
    period (a derived table of the periods' UTC bounds, which bed stays join by overlap). A stay still
    open counts until now; available is the open wards' beds (not retired, as they are now) times the
    time covered."""
    now = clock.now()
    stay_end = func.coalesce(BedStay.ended_at, _at(now))
    if params.group in UNITS:
        lo, hi = _report_window(params, scope)
        windows = []
        for first in periods(params.start, params.end, params.group):
            p_lo, p_hi = local_bounds(first, _period_last(first, params.group), scope.tz)
            p_lo, p_hi = max(p_lo, lo), min(p_hi, hi)
            windows.append((first, p_lo, max(p_lo, p_hi)))
        table = union_all(
            *(
                select(literal(n).label("n"), _at(p_lo).label("lo"), _at(p_hi).label("hi"))
                for n, (_first, p_lo, p_hi) in enumerate(windows)
            )
        ).subquery()
        stays = _ward_scope(
            select(BedStay.started_at.label("s"), stay_end.label("e")).join(Ward, Ward.id == BedStay.ward_id),
            params,
            scope,
        ).subquery()
        beds = _ward_scope(
            select(func.count(Bed.id))
            .join(Ward, Ward.id == Bed.ward_id)
            .where(Bed.retired.is_(False), Ward.active.is_(True)),
            params,
            scope,
        ).scalar_subquery()
        occupied = func.coalesce(func.sum(_overlap_seconds(stays.c.s, stays.c.e, table.c.lo, table.c.hi)), 0)
        rows = db.session.execute(
            select(table.c.n, occupied, func.max(beds))
            .select_from(table)
            .outerjoin(stays, and_(stays.c.s < table.c.hi, stays.c.e > table.c.lo))
            .group_by(table.c.n)
        ).all()
        found: dict[Any, dict[str, float]] = {}
        for n, seconds, bed_count in rows:
            first, p_lo, p_hi = windows[int(n)]
            span = (p_hi - p_lo).total_seconds()
            found[first] = {"occupied": float(seconds or 0), "available": float(bed_count or 0) * span}
        return found
    lo, hi = _report_window(params, scope)
    occupied = func.coalesce(func.sum(_overlap_seconds(BedStay.started_at, stay_end, _at(lo), _at(hi))), 0)
    per_ward = _ward_scope(
        select(
            Ward.id.label("ward_id"),
            Ward.hospital_id.label("hospital_id"),
            _open_beds(Ward.id).label("beds"),
            occupied.label("occupied"),
        )
        .select_from(Ward)
        .outerjoin(
            BedStay,
            and_(BedStay.ward_id == Ward.id, BedStay.started_at < _at(hi), stay_end > _at(lo)),
        )
        .where(or_(Ward.active.is_(True), BedStay.id.is_not(None)))
        .group_by(Ward.id, Ward.hospital_id, Ward.active),
        params,
        scope,
    )
    span = (hi - lo).total_seconds()
    if params.group == "ward":
        rows = db.session.execute(per_ward).all()
    else:
        sub = per_ward.subquery()
        rows = db.session.execute(
            select(sub.c.hospital_id, func.sum(sub.c.beds), func.sum(sub.c.occupied)).group_by(
                sub.c.hospital_id
            )
        ).all()
        rows = [(key, None, bed_count, seconds) for key, bed_count, seconds in rows]
    return {row[0]: {"occupied": float(row[3] or 0), "available": float(row[2] or 0) * span} for row in rows}


def _period_last(first: date, unit: str) -> date:
    if unit == "day":
        return first
    if unit == "week":
        return first + timedelta(days=6)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return following - timedelta(days=1)


def _length_of_stay(params: ReportParams, scope: Scope) -> dict[Any, dict[str, float]]:
    """Admissions discharged in the range: the sum of their stays (admission to discharge, in seconds)
    and their number, by the day of discharge, the ward they left from or the hospital."""
    lo, hi = _bounds(params, scope)
    moment = Admission.discharged_at
    if params.group in UNITS:
        key: ColumnElement = period_start(moment, params.group, scope.tz, lo, hi, _dialect())
    elif params.group == "ward":
        key = Admission.ward_id
    else:
        key = Admission.hospital_id
    inner = select(key.label("k"), _seconds_between(Admission.admitted_at, moment).label("s")).where(
        Admission.status == AdmissionStatus.discharged, moment >= lo, moment < hi
    )
    if scope.hospital is not None:
        inner = inner.where(Admission.hospital_id == scope.hospital.id)
    elif params.hospital is not None:
        inner = inner.where(Admission.hospital_id == params.hospital)
    sub = inner.subquery()
    rows = db.session.execute(select(sub.c.k, func.sum(sub.c.s), func.count()).group_by(sub.c.k)).all()
    return {k: {"seconds": float(total or 0), "discharged": int(n)} for k, total, n in rows}


QUERIES = {
    "appointments": _appointments,
    "bookings": _bookings,
    "noshow_rate": _noshows,
    "revenue": _revenue,
    "new_patients": _new_patients,
    "stock_usage": _stock_usage,
    "rating": _ratings,
    "lab_turnaround": _lab_turnaround,
    "lab_criticals": _lab_criticals,
    "bed_occupancy": _bed_occupancy,
    "length_of_stay": _length_of_stay,
}


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _keys_and_labels(
    params: ReportParams, found: dict[Any, Any], platform: bool
) -> tuple[list[Any], list[str]]:
    """Every period of the range (empty ones too), or the doctors/departments/hospitals found."""
    if params.group in UNITS:
        keys = list(periods(params.start, params.end, params.group))
        return keys, [k.isoformat() for k in keys]
    ids = [k for k in found if k is not None]
    names: dict[int, str] = {}
    if ids and params.group == "doctor":
        names = dict(
            db.session.execute(
                select(Doctor.id, User.full_name)
                .join(User, User.id == Doctor.user_id)
                .where(Doctor.id.in_(ids))
            ).all()
        )
    elif ids and params.group == "department":
        # Across the platform, department names repeat: name the hospital too.
        rows = db.session.execute(
            select(Department.id, Department.name, Hospital.name)
            .join(Hospital, Hospital.id == Department.hospital_id)
            .where(Department.id.in_(ids))
        ).all()
        names = {i: f"{d} ({h})" if platform else d for i, d, h in rows}
    elif ids and params.group == "item":
        rows = db.session.execute(
            select(InventoryItem.id, InventoryItem.name, InventoryItem.unit, Hospital.name)
            .join(Hospital, Hospital.id == InventoryItem.hospital_id)
            .where(InventoryItem.id.in_(ids))
        ).all()
        names = {i: f"{n} ({unit}, {h})" if platform else f"{n} ({unit})" for i, n, unit, h in rows}
    elif ids and params.group == "test":
        rows = db.session.execute(
            select(LabTest.id, LabTest.name, LabTest.code, Hospital.name)
            .join(Hospital, Hospital.id == LabTest.hospital_id)
            .where(LabTest.id.in_(ids))
        ).all()
        names = {i: f"{n} ({code}, {h})" if platform else f"{n} ({code})" for i, n, code, h in rows}
    elif ids and params.group == "ward":
        rows = db.session.execute(
            select(Ward.id, Ward.name, Hospital.name)
            .join(Hospital, Hospital.id == Ward.hospital_id)
            .where(Ward.id.in_(ids))
        ).all()
        names = {i: f"{n} ({h})" if platform else n for i, n, h in rows}
    elif ids and params.group == "hospital":
        names = dict(db.session.execute(select(Hospital.id, Hospital.name).where(Hospital.id.in_(ids))).all())
    none_label = "—"
    keyed = sorted(found, key=lambda k: (k is None, names.get(k, "").casefold(), k or 0))
    return keyed, [names.get(k, str(k)) if k is not None else none_label for k in keyed]


def run_report(params: ReportParams, scope: Scope) -> ReportResult:
    """Run the report: one aggregate query, then the rows arranged as labelled series."""
    raw = QUERIES[params.metric](params, scope)
    found = {_as_date(k): v for k, v in raw.items() if k is not None} if params.group in UNITS else raw
    keys, labels = _keys_and_labels(params, found, scope.is_platform)
    result = ReportResult(params=params, group=params.group, keys=keys, labels=labels)

    def column(name: str) -> list[int]:
        return [found.get(k, {}).get(name, 0) for k in keys]

    if params.metric == "appointments":
        for status in AppointmentStatus:
            values = column(status.value)
            result.series.append(Series(status.value, values, total=sum(values)))
    elif params.metric == "bookings":
        values = column("bookings")
        result.series.append(Series("bookings", values, total=sum(values)))
    elif params.metric == "new_patients":
        values = column("patients")
        result.series.append(Series("new patients", values, total=sum(values)))
    elif params.metric == "stock_usage":
        values = column("units")
        result.series.append(Series("units dispensed", values, total=sum(values)))
    elif params.metric == "noshow_rate":
        noshow, due = column("noshow"), column("due")
        rates = [round(100 * n / d, 1) if d else 0.0 for n, d in zip(noshow, due, strict=True)]
        total_rate = round(100 * sum(noshow) / sum(due), 1) if sum(due) else 0.0
        result.series += [
            Series("no-show rate", rates, kind="percent", total=total_rate),
            Series("no-shows", noshow, charted=False, total=sum(noshow)),
            Series("attended or no-show", due, charted=False, total=sum(due)),
        ]
    elif params.metric == "rating":
        stars, ratings = column("stars"), column("ratings")
        averages = [round(s / n, 2) if n else 0.0 for s, n in zip(stars, ratings, strict=True)]
        overall = round(sum(stars) / sum(ratings), 2) if sum(ratings) else 0.0
        result.series += [
            Series("average rating", averages, kind="rating", total=overall),
            Series("ratings", ratings, charted=False, total=sum(ratings)),
        ]
    elif params.metric == "lab_turnaround":
        seconds, verified = column("seconds"), column("verified")
        minutes = [round(s / n / 60) if n else 0 for s, n in zip(seconds, verified, strict=True)]
        overall = round(sum(seconds) / sum(verified) / 60) if sum(verified) else 0
        result.series += [
            Series("average turnaround", minutes, total=overall),
            Series("verified results", verified, charted=False, total=sum(verified)),
        ]
    elif params.metric == "lab_criticals":
        critical, results = column("critical"), column("results")
        shares = [round(100 * c / n, 1) if n else 0.0 for c, n in zip(critical, results, strict=True)]
        overall_share = round(100 * sum(critical) / sum(results), 1) if sum(results) else 0.0
        result.series += [
            Series("critical share", shares, kind="percent", total=overall_share),
            Series("critical values", critical, charted=False, total=sum(critical)),
            Series("results", results, charted=False, total=sum(results)),
        ]
    elif params.metric == "bed_occupancy":
        occupied, available = column("occupied"), column("available")
        rates = [round(100 * o / a, 1) if a else 0.0 for o, a in zip(occupied, available, strict=True)]
        overall_rate = round(100 * sum(occupied) / sum(available), 1) if sum(available) else 0.0
        result.series += [
            Series("occupancy rate", rates, kind="percent", total=overall_rate),
            Series(
                "occupied bed-days", _days(occupied), kind="days", charted=False, total=_days_of(occupied)
            ),
            Series(
                "available bed-days", _days(available), kind="days", charted=False, total=_days_of(available)
            ),
        ]
    elif params.metric == "length_of_stay":
        seconds, discharged = column("seconds"), column("discharged")
        means = [
            round(s / n / DAY_SECONDS, 1) if n else 0.0 for s, n in zip(seconds, discharged, strict=True)
        ]
        overall_mean = round(sum(seconds) / sum(discharged) / DAY_SECONDS, 1) if sum(discharged) else 0.0
        result.series += [
            Series("average stay", means, kind="days", total=overall_mean),
            Series("discharges", discharged, charted=False, total=sum(discharged)),
        ]
    elif params.metric == "revenue":
        currencies = sorted({c for v in found.values() for c in v})
        if not currencies:
            currencies = [scope.hospital.currency] if scope.hospital else []
        for currency in currencies:
            values = column(currency)
            result.series.append(
                Series(f"revenue {currency}", values, kind="money", currency=currency, total=sum(values))
            )
    return result


def _days(seconds: list[float]) -> list[float]:
    return [round(s / DAY_SECONDS, 1) for s in seconds]


def _days_of(seconds: list[float]) -> float:
    return round(sum(seconds) / DAY_SECONDS, 1)


# --- Dashboards --------------------------------------------------------------------------------------


def _month_start(day: date) -> date:
    return day.replace(day=1)


@dataclass(frozen=True)
class WardBeds:
    """A ward's beds now: how many (not retired) and how many a patient lies in."""

    ward_id: int
    name: str
    occupied: int
    total: int


def beds_now(hospital_id: int) -> list[WardBeds]:
    """The open wards' beds, occupied and in all, by ward name (one GROUP BY)."""
    occupied = func.count(case((Bed.status == BedStatus.occupied, 1)))
    rows = db.session.execute(
        select(Ward.id, Ward.name, occupied, func.count(Bed.id))
        .outerjoin(Bed, and_(Bed.ward_id == Ward.id, Bed.retired.is_(False)))
        .where(Ward.hospital_id == hospital_id, Ward.active.is_(True))
        .group_by(Ward.id, Ward.name)
        .order_by(Ward.name)
    ).all()
    return [WardBeds(ward_id, name, int(busy), int(total)) for ward_id, name, busy, total in rows]


def hospital_dashboard(hospital: Hospital) -> dict[str, Any]:
    """Today's appointments by status, this month's revenue and no-shows, the month by day and the beds
    occupied now, ward by ward. (The low-stock tile beside them is inventory's:
    hms.services.inventory.alert_counts.)"""
    scope = Scope(hospital)
    today = clock.now().astimezone(hospital.tz).date()
    first = _month_start(today)
    month = run_report(ReportParams("appointments", first, today, "day"), scope)
    today_counts = {s.name: s.values[-1] for s in month.series}  # the month's last day is today
    revenue = run_report(ReportParams("revenue", first, today, "month"), scope)
    noshows = run_report(ReportParams("noshow_rate", first, today, "month"), scope)
    wards = beds_now(hospital.id)
    return {
        "today": today_counts,
        "today_total": sum(today_counts.values()),
        "month": month,
        "revenue": [(s.currency, s.total) for s in revenue.series],
        "noshows": noshows.series[1].total,
        "noshow_rate": noshows.series[0].total,
        "wards": wards,
        "beds_occupied": sum(w.occupied for w in wards),
        "beds_total": sum(w.total for w in wards),
    }


def bookings_trend(now: datetime, weeks: int = 12) -> ReportResult:
    """Bookings made per week (UTC weeks), the last `weeks` weeks, the platform over."""
    today = now.astimezone(UTC).date()
    start = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    return run_report(ReportParams("bookings", start, today, "week"), Scope())


def platform_counts() -> dict[str, int]:
    by_status = dict(
        db.session.execute(select(Hospital.status, func.count()).group_by(Hospital.status)).all()
    )
    return {
        "pending": by_status.get(HospitalStatus.pending, 0),
        "active": by_status.get(HospitalStatus.active, 0),
        "suspended": by_status.get(HospitalStatus.suspended, 0),
        "doctors": db.session.scalar(select(func.count(Doctor.id))) or 0,
        "patients": db.session.scalar(select(func.count(Patient.id))) or 0,
    }


# --- Saved reports -----------------------------------------------------------------------------------


def _clean_name(name: str | None) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise Invalid(N_("Give the report a name."), field="name")
    if len(cleaned) > NAME_MAX:
        raise Invalid(N_("Use at most 120 characters."), field="name")
    return cleaned


def saved_reports(owner: User, scope: Scope) -> list[SavedReport]:
    query = select(SavedReport).where(SavedReport.owner_id == owner.id)
    if scope.hospital is None:
        query = query.where(SavedReport.hospital_id.is_(None))
    else:
        query = query.where(SavedReport.hospital_id == scope.hospital.id)
    return list(db.session.scalars(query.order_by(SavedReport.name, SavedReport.id)).all())


def owned_report(owner: User, scope: Scope, report_id: int) -> SavedReport | None:
    """The owner's saved report `report_id` in this scope, or None (someone else's is None too)."""
    report = db.session.get(SavedReport, report_id) if 0 < report_id <= 2**31 - 1 else None
    if report is None or report.owner_id != owner.id:
        return None
    expected = scope.hospital.id if scope.hospital else None
    return report if report.hospital_id == expected else None


def load_params(report: SavedReport, scope: Scope) -> ReportParams:
    """The saved parameters, checked again by the schema (a doctor may have left since)."""
    return parse_params(report.params or {}, scope)


def save_report(owner: User, scope: Scope, name: str | None, params: ReportParams) -> SavedReport:
    report = SavedReport(
        owner_id=owner.id,
        hospital_id=scope.hospital.id if scope.hospital else None,
        name=_clean_name(name),
        params=parse_params(params.to_json(), scope).to_json(),
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    db.session.add(report)
    db.session.flush()
    return report


def update_saved_report(
    report: SavedReport, scope: Scope, name: str | None, params: ReportParams
) -> SavedReport:
    report.name = _clean_name(name)
    report.params = parse_params(params.to_json(), scope).to_json()
    report.updated_at = clock.now()
    db.session.flush()
    return report


def delete_saved_report(report: SavedReport) -> None:
    db.session.delete(report)
    db.session.flush()
