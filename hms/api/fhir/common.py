"""What every FHIR resource family shares: errors as OperationOutcome, search parameters, paging,
Bundles, references and the JSON response itself."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from flask import Response, make_response
from werkzeug.datastructures import MultiDict

from hms.lookup import MAX_ID
from hms.models import User

FHIR_JSON = "application/fhir+json"
DEFAULT_COUNT = 20
MAX_COUNT = 50  # every clinical record returned is audited: keep a page small
MAX_OFFSET = 10_000
GENERAL_PARAMS = {"_count", "_offset", "_format"}
ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
MRN_SYSTEM = "urn:hms:mrn"
ISSUE_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported"}


class FhirError(Exception):
    """Answered as an OperationOutcome with `status`."""

    def __init__(self, status: int, diagnostics: str) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.diagnostics = diagnostics


class Forbidden(FhirError):
    def __init__(self, resource_type: str) -> None:
        super().__init__(403, f"Your account has no access to {resource_type} resources.")


def fhir_response(body: dict[str, Any], status: int = 200) -> Response:
    response = make_response(dumps(body), status)
    response.headers["Content-Type"] = f"{FHIR_JSON}; charset=utf-8"
    return response


def operation_outcome(status: int, diagnostics: str) -> Response:
    code = ISSUE_CODES.get(status, "throttled" if status == 429 else "exception")
    severity = "error" if status < 500 else "fatal"
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }
    response = fhir_response(body, status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="hms-fhir"'
    return response


# ---------------------------------------------------------------- values


def instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fhir_date(value: date | None) -> str | None:
    return value.isoformat() if value else None


def reference(resource_type: str, resource_id: int | str, display: str | None = None) -> dict[str, str]:
    ref = {"reference": f"{resource_type}/{resource_id}"}
    if display:
        ref["display"] = display
    return ref


def money(amount_minor: int, currency: str) -> dict[str, Any]:
    from hms.money import minor_to_decimal

    return {"value": minor_to_decimal(amount_minor, currency), "currency": currency}


def text(value: str | None) -> dict[str, str] | None:
    return {"text": value} if value else None


def clean(resource: dict[str, Any]) -> dict[str, Any]:
    """Drop empty values: FHIR forbids empty strings, lists and objects."""
    out = {}
    for key, value in resource.items():
        if isinstance(value, dict):
            value = clean(value)
        elif isinstance(value, list):
            value = [clean(v) if isinstance(v, dict) else v for v in value]
            value = [v for v in value if v not in (None, "", {}, [])]
        if value in (None, "", {}, []):
            continue
        out[key] = value
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value))


def dumps(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=_json_default)


# ---------------------------------------------------------------- search parameters


def parse_id(value: str, resource_type: str | None = None) -> int:
    """An integer id from "12" or "Patient/12" (for reference parameters); 400 when it is not one."""
    raw = value.strip()
    if resource_type and raw.startswith(f"{resource_type}/"):
        raw = raw[len(resource_type) + 1 :]
    if not raw.isdigit() or len(raw) > 10 or not 0 < int(raw) <= MAX_ID:
        raise FhirError(400, f"'{value[:40]}' is not a {resource_type or 'resource'} id.")
    return int(raw)


def read_id(value: str) -> int | None:
    """A logical id in a read URL; None (so 404) for anything that is not one of ours."""
    if not value.isdigit() or len(value) > 10 or not 0 < int(value) <= MAX_ID:
        return None
    return int(value)


_DATE = re.compile(
    r"^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


@dataclass(frozen=True)
class DateRange:
    """A FHIR date search value: a prefix and the half-open interval [start, end) it names."""

    prefix: str
    start: datetime
    end: datetime

    def clause(self, column: Any) -> Any:
        """The SQL condition on a UTC datetime column."""
        return {
            "eq": (column >= self.start) & (column < self.end),
            "ge": column >= self.start,
            "gt": column >= self.end,
            "le": column < self.end,
            "lt": column < self.start,
        }[self.prefix]

    def date_clause(self, column: Any) -> Any:
        """The SQL condition on a DATE column (the range's UTC days)."""
        first, last = self.start.date(), self.end.date()
        if self.end.time() != time(0):
            last = last + timedelta(days=1)
        return {
            "eq": (column >= first) & (column < last),
            "ge": column >= first,
            "gt": column >= last,
            "le": column < last,
            "lt": column < first,
        }[self.prefix]

    def matches(self, value: datetime) -> bool:
        return {
            "eq": self.start <= value < self.end,
            "ge": value >= self.start,
            "gt": value >= self.end,
            "le": value < self.end,
            "lt": value < self.start,
        }[self.prefix]


def parse_date(value: str) -> DateRange:
    match = _DATE.match(value.strip())
    if not match:
        raise FhirError(
            400, f"'{value[:40]}' is not a FHIR date (e.g. ge2030-01-31 or 2030-01-31T09:00:00Z)."
        )
    prefix, year, month, day, hour, minute, second, zone = match.groups()
    prefix = prefix or "eq"
    if prefix not in ("eq", "ge", "gt", "le", "lt"):
        raise FhirError(400, f"The date prefix '{prefix}' is not supported (use eq, ge, gt, le or lt).")
    try:
        if hour is None:
            first = date(int(year), int(month or 1), int(day or 1))
            if day:
                last = first + timedelta(days=1)
            elif month:
                last = date(first.year + first.month // 12, first.month % 12 + 1, 1)
            else:
                last = date(first.year + 1, 1, 1)
            start = datetime.combine(first, time(0), tzinfo=UTC)
            end = datetime.combine(last, time(0), tzinfo=UTC)
        else:
            tz = UTC
            if zone and zone != "Z":
                sign = 1 if zone[0] == "+" else -1
                tz_offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
                from datetime import timezone

                tz = timezone(sign * tz_offset)
            start = datetime(
                int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=tz
            ).astimezone(UTC)
            end = start + timedelta(seconds=1 if second else 60)
    except (ValueError, OverflowError) as error:
        raise FhirError(400, f"'{value[:40]}' is not a valid date.") from error
    return DateRange(prefix, start, end)


@dataclass
class Search:
    """The parsed query string of a search: parameters by name (each may repeat), count and offset."""

    params: MultiDict[str, str]
    count: int = DEFAULT_COUNT
    offset: int = 0
    used: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        value = self.params.get(name)
        return value.strip() if value is not None and value.strip() else None

    def getlist(self, name: str) -> list[str]:
        return [v.strip() for v in self.params.getlist(name) if v.strip()]

    def dates(self, name: str) -> list[DateRange]:
        return [parse_date(v) for v in self.getlist(name)]

    def ids(self, column: Any) -> list[Any]:
        """`_id=1&_id=2`: the clause on the resource's id column (none when not asked)."""
        ids = self.getlist("_id")
        return [column.in_([parse_id(v) for v in ids])] if ids else []

    def refers(self, column: Any, resource_type: str, *names: str) -> list[Any]:
        """A reference parameter (the first of `names` given, e.g. patient or subject) as a clause
        on the column holding that reference's id: ?patient=Patient/7 → column == 7."""
        value = next((v for v in map(self.get, names) if v), None)
        return [column == parse_id(value, resource_type)] if value else []


def like_pattern(value: str) -> str:
    """A case-insensitive "contains" pattern for LIKE … ESCAPE '\\' (the text's own % and _ literal)."""
    escaped = value.lower()[:120].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def parse_search(args: MultiDict[str, str], supported: Iterable[str]) -> Search:
    allowed = set(supported) | GENERAL_PARAMS
    unknown = sorted({name for name in args if name not in allowed})
    if unknown:
        names = ", ".join(sorted(set(supported))) or "none"
        raise FhirError(400, f"Unsupported search parameter: {unknown[0][:40]}. Supported: {names}.")
    search = Search(params=args)
    search.count = _bounded_int(args.get("_count"), DEFAULT_COUNT, MAX_COUNT, "_count")
    search.offset = _bounded_int(args.get("_offset"), 0, MAX_OFFSET, "_offset")
    fmt = args.get("_format")
    if fmt and fmt not in ("json", FHIR_JSON, "application/json"):
        raise FhirError(400, "Only JSON is served (_format=json).")
    return search


def _bounded_int(value: str | None, default: int, maximum: int, name: str) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit() or len(value) > 9:
        raise FhirError(400, f"{name} must be a whole number from 0 to {maximum}.")
    return min(int(value), maximum)


def searchset(
    resource_type: str, resources: list[dict[str, Any]], total: int, search: Search, base: str
) -> dict[str, Any]:
    """A searchset Bundle with the total and self/first/previous/next/last links."""

    def link(relation: str, offset: int) -> dict[str, str]:
        query = [(k, v) for k, v in search.params.items(multi=True) if k not in ("_count", "_offset")]
        query += [("_count", str(search.count)), ("_offset", str(offset))]
        return {"relation": relation, "url": f"{base}/{resource_type}?{urlencode(query)}"}

    links = [link("self", search.offset), link("first", 0)]
    if search.count:
        if search.offset > 0:
            links.append(link("previous", max(search.offset - search.count, 0)))
        if search.offset + search.count < total:
            links.append(link("next", search.offset + search.count))
        last = max((total - 1) // search.count * search.count, 0) if total else 0
        links.append(link("last", last))
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


@dataclass(frozen=True)
class ResourceType:
    """One FHIR resource type we serve: how to read one by id and how to search, for a user.
    `read` returns None for a miss (404); both raise Forbidden for a role that has no access at all."""

    name: str
    params: tuple[str, ...]
    read: Callable[[User, str], dict[str, Any] | None]
    search: Callable[[User, Search], tuple[list[dict[str, Any]], int]]
    documentation: str = ""


def audit_views(records: list[dict[str, Any]]) -> None:
    """Every record an API answer shows, in the audit log as a view through FHIR: one statement."""
    from hms.services.audit import record_events

    record_events("view", [record | {"detail": "FHIR"} for record in records])


def audited_record(record_type: str, record_id: int, patient_id: int | None, hospital_id: int | None = None):  # type: ignore[no-untyped-def]
    return {
        "record_type": record_type,
        "record_id": record_id,
        "patient_id": patient_id,
        "hospital_id": hospital_id,
    }


def table_resource(
    name: str,
    model: Any,
    *,
    params: tuple[str, ...],
    scope: Callable[[User], Any],
    filters: Callable[[Search], list[Any]],
    to_fhir: Callable[[Any], dict[str, Any]],
    order_by: Callable[[], tuple[Any, ...]],
    options: tuple[Any, ...] = (),
    audited: Callable[[Any], dict[str, Any]] | None = None,
    on_miss: Callable[[User, int], None] | None = None,
    documentation: str = "",
) -> ResourceType:
    """A resource type backed by one table, with read and search restricted by `scope(user)`.
    `audited(row)` names the audit record of every row returned (record_type, record_id, patient_id,
    hospital_id): a search page writes them all in one statement. `on_miss` runs for a read that
    found nothing."""
    from sqlalchemy import func, select

    from hms.extensions import db

    def read(user: User, raw_id: str) -> dict[str, Any] | None:
        row_id = read_id(raw_id)
        if row_id is None:
            return None
        clause = scope(user)
        row = db.session.scalar(select(model).where(model.id == row_id, clause).options(*options))
        if row is None:
            if on_miss:
                on_miss(user, row_id)
            return None
        if audited:
            audit_views([audited(row)])
        return clean(to_fhir(row))

    def search(user: User, query: Search) -> tuple[list[dict[str, Any]], int]:
        statement = select(model).where(scope(user), *filters(query))
        total = db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        rows = db.session.scalars(
            statement.options(*options).order_by(*order_by()).limit(query.count).offset(query.offset)
        ).all()
        if audited:
            audit_views([audited(row) for row in rows])
        return [clean(to_fhir(row)) for row in rows], total

    return ResourceType(name, params, read, search, documentation)
