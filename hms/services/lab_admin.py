"""The hospital administrator's side of the laboratory: the catalogue's tests (with their reference
ranges) and panels edited, and the hospital's critical values waiting for an acknowledgement.

Every function takes rows already looked up through the admin's hospital; codes are unique per
hospital (a duplicate is refused on the form, and a race is caught by the unique constraint). Lab
numbers fit the columns (hms.models.lab.LabNumber: 10 digits before the point, 4 after)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from hms.database import savepoint
from hms.extensions import db
from hms.i18n import N_
from hms.models import (
    Doctor,
    Hospital,
    LabOrder,
    LabOrderItem,
    LabPanel,
    LabPanelTest,
    LabReferenceRange,
    LabResult,
    LabTest,
    Patient,
    ResultKind,
    Sex,
    SpecimenKind,
    User,
)
from hms.services.audit import record_event
from hms.services.errors import Invalid

CODE = re.compile(r"[A-Z0-9][A-Z0-9_.-]{0,15}")
LOINC = re.compile(r"\d{1,7}-\d")
NUMBER_LIMIT = Decimal(10) ** 10
MAX_CHOICES = 20
MAX_TURNAROUND = 60 * 24 * 30  # a month
MAX_PRICE_MINOR = 10**13
MAX_AGE_YEARS = 150
DAYS_PER_YEAR = Decimal("365.25")
MAX_PANEL_TESTS = 60


@dataclass(frozen=True)
class TestFields:
    """What the catalogue form holds for a test (numbers already Decimal or None)."""

    code: str
    name: str
    loinc: str | None
    specimen: str
    kind: str
    unit: str | None = None
    decimals: int = 0
    choices: str | None = None
    critical_low: Decimal | None = None
    critical_high: Decimal | None = None
    physical_low: Decimal | None = None
    physical_high: Decimal | None = None
    turnaround_minutes: int = 60
    price_minor: int = 0


# ---------------------------------------------------------------- checks


def clean_code(code: str | None) -> str:
    code = (code or "").strip().upper()
    if not CODE.fullmatch(code):
        raise Invalid(N_("Use 1 to 16 letters, digits, dots or dashes."), field="code")
    return code


def clean_name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > 120:
        raise Invalid(N_("Enter a name of at most 120 characters."), field="name")
    return name


def clean_loinc(loinc: str | None) -> str | None:
    loinc = (loinc or "").strip()
    if not loinc:
        return None
    if not LOINC.fullmatch(loinc):
        raise Invalid(N_("A LOINC code looks like 2823-3."), field="loinc")
    return loinc


def lab_number(value: Decimal | None, field: str) -> Decimal | None:
    """A number the lab's columns hold, or an error on `field`."""
    if value is None:
        return None
    if not value.is_finite() or abs(value) >= NUMBER_LIMIT:
        raise Invalid(N_("Enter a number below 10000000000."), field=field)
    if value != value.quantize(Decimal("0.0001")):
        raise Invalid(N_("Use at most 4 decimals."), field=field)
    return value


def _low_high(low: Decimal | None, high: Decimal | None, field: str) -> None:
    if low is not None and high is not None and low >= high:
        raise Invalid(N_("The low limit must be below the high one."), field=field)


def _clean_choices(kind: ResultKind, choices: str | None) -> str | None:
    words = [" ".join(w.split()) for w in re.split(r"[|\n,]", choices or "")]
    words = list(dict.fromkeys(w for w in words if w))
    if kind != ResultKind.choice:
        return None
    if len(words) < 2:
        raise Invalid(N_("List at least two choices, separated by commas."), field="choices")
    if len(words) > MAX_CHOICES or any(len(w) > 60 for w in words) or len("|".join(words)) > 500:
        raise Invalid(N_("Keep to 20 short choices."), field="choices")
    return "|".join(words)


def _clean(fields: TestFields) -> dict:
    try:
        specimen = SpecimenKind(fields.specimen)
    except ValueError:
        raise Invalid(N_("Choose a specimen."), field="specimen") from None
    try:
        kind = ResultKind(fields.kind)
    except ValueError:
        raise Invalid(N_("Choose a kind of result."), field="kind") from None
    values = {
        "code": clean_code(fields.code),
        "name": clean_name(fields.name),
        "loinc": clean_loinc(fields.loinc),
        "specimen": specimen,
        "kind": kind,
        "unit": " ".join((fields.unit or "").split())[:24] or None,
        "decimals": fields.decimals if kind == ResultKind.numeric else 0,
        "choices": _clean_choices(kind, fields.choices),
        "turnaround_minutes": fields.turnaround_minutes,
        "price_minor": fields.price_minor,
    }
    if not 0 <= fields.decimals <= 4:
        raise Invalid(N_("Use 0 to 4 decimals."), field="decimals")
    if not 1 <= fields.turnaround_minutes <= MAX_TURNAROUND:
        raise Invalid(N_("Enter a turnaround between 1 and 43200 minutes."), field="turnaround_minutes")
    if not 0 <= fields.price_minor <= MAX_PRICE_MINOR:
        raise Invalid(N_("Enter a price of zero or more."), field="price")
    for name in ("critical_low", "critical_high", "physical_low", "physical_high"):
        number = lab_number(getattr(fields, name), name)
        values[name] = number if kind == ResultKind.numeric else None
    _low_high(values["critical_low"], values["critical_high"], "critical_high")
    _low_high(values["physical_low"], values["physical_high"], "physical_high")
    return values


def _code_taken(model: type, hospital_id: int, code: str, but: int | None = None) -> bool:
    query = select(model.id).where(model.hospital_id == hospital_id, model.code == code)
    if but is not None:
        query = query.where(model.id != but)
    return db.session.scalar(query.limit(1)) is not None


def _code_used() -> Invalid:
    """The 422 of a code seen taken, or taken by a concurrent request since (`savepoint`)."""
    return Invalid(N_("This code is already used."), field="code")


# ---------------------------------------------------------------- tests


def search_tests(hospital_id: int, query: str = "") -> Select:
    """The hospital's tests by name (retired ones last), matching `query` in the code, name or LOINC."""
    statement = select(LabTest).where(LabTest.hospital_id == hospital_id)
    words = query.strip()
    if words:
        needle = words.lower()
        statement = statement.where(
            or_(
                func.lower(LabTest.name).contains(needle, autoescape=True),
                func.lower(LabTest.code).contains(needle, autoescape=True),
                func.lower(func.coalesce(LabTest.loinc, "")).contains(needle, autoescape=True),
            )
        )
    return statement.options(selectinload(LabTest.ranges)).order_by(
        LabTest.active.desc(), func.lower(LabTest.name), LabTest.id
    )


def has_catalogue(hospital_id: int) -> bool:
    return (
        db.session.scalar(select(LabTest.id).where(LabTest.hospital_id == hospital_id).limit(1)) is not None
    )


def create_test(hospital: Hospital, fields: TestFields, actor: User) -> LabTest:
    """A new test in the hospital's catalogue. Flushes; the caller commits."""
    values = _clean(fields)
    if _code_taken(LabTest, hospital.id, values["code"]):
        raise _code_used()
    test = LabTest(hospital_id=hospital.id, active=True, **values)
    with savepoint(_code_used()):
        db.session.add(test)
    record_event("create", "lab_test", test.id, hospital_id=hospital.id, detail=test.code)
    return test


def update_test(test: LabTest, fields: TestFields, actor: User) -> bool:
    """Change a test's definition (orders already placed keep their results); True if anything
    changed. Flushes; the caller commits."""
    values = _clean(fields)
    if values["code"] != test.code and _code_taken(LabTest, test.hospital_id, values["code"], test.id):
        raise _code_used()
    changed = [name for name, value in values.items() if getattr(test, name) != value]
    if changed:
        with savepoint(_code_used()):
            for name in changed:
                setattr(test, name, values[name])
        record_event("update", "lab_test", test.id, hospital_id=test.hospital_id, detail=",".join(changed))
    return bool(changed)


def set_test_active(test: LabTest, active: bool, actor: User) -> bool:
    """Retire a test (no new orders name it; old ones keep it) or bring it back."""
    if test.active == active:
        return False
    test.active = active
    db.session.flush()
    record_event("retire" if not active else "restore", "lab_test", test.id, hospital_id=test.hospital_id)
    return True


def add_range(
    test: LabTest,
    actor: User,
    *,
    sex: str | None,
    from_years: int,
    to_years: int | None,
    low: Decimal | None,
    high: Decimal | None,
) -> LabReferenceRange:
    """A reference range for a sex (None: anyone) and an age band [from, to) given in years, kept in
    days. Flushes; the caller commits."""
    if test.kind != ResultKind.numeric:
        raise Invalid(N_("Only a numeric test has reference ranges."))
    try:
        chosen = Sex(sex) if sex else None
    except ValueError:
        raise Invalid(N_("Choose a sex, or anyone."), field="sex") from None
    if not 0 <= from_years <= MAX_AGE_YEARS:
        raise Invalid(N_("Enter an age between 0 and 150 years."), field="age_from")
    if to_years is not None and not from_years < to_years <= MAX_AGE_YEARS:
        raise Invalid(N_("The band must end after it starts, by 150 years."), field="age_to")
    low, high = lab_number(low, "low"), lab_number(high, "high")
    if low is None and high is None:
        raise Invalid(N_("Enter a low or a high limit."), field="low")
    _low_high(low, high, "high")
    band = LabReferenceRange(
        sex=chosen,
        age_from_days=years_to_days(from_years),
        age_to_days=years_to_days(to_years) if to_years is not None else None,
        low=low,
        high=high,
    )
    test.ranges.append(band)
    db.session.flush()
    record_event("update", "lab_test", test.id, hospital_id=test.hospital_id, detail=f"range {band.id} added")
    return band


def remove_range(band: LabReferenceRange, actor: User) -> None:
    test = band.test
    test.ranges.remove(band)
    db.session.flush()
    record_event(
        "update", "lab_test", test.id, hospital_id=test.hospital_id, detail=f"range {band.id} removed"
    )


def years_to_days(years: int) -> int:
    return int(Decimal(years) * DAYS_PER_YEAR)


def days_to_years(days: int | None) -> int | None:
    return None if days is None else int((Decimal(days) / DAYS_PER_YEAR).to_integral_value())


def hospital_range(hospital_id: int, test_id: int, range_id: int) -> LabReferenceRange | None:
    return db.session.scalar(
        select(LabReferenceRange)
        .join(LabTest, LabTest.id == LabReferenceRange.test_id)
        .where(
            LabReferenceRange.id == range_id,
            LabReferenceRange.test_id == test_id,
            LabTest.hospital_id == hospital_id,
        )
    )


# ---------------------------------------------------------------- panels


def hospital_panels(hospital_id: int) -> list[LabPanel]:
    return list(
        db.session.scalars(
            select(LabPanel)
            .where(LabPanel.hospital_id == hospital_id)
            .options(selectinload(LabPanel.members).joinedload(LabPanelTest.test))
            .order_by(LabPanel.active.desc(), func.lower(LabPanel.name), LabPanel.id)
        )
    )


def _panel_tests(hospital_id: int, test_ids: Sequence[int]) -> list[LabTest]:
    ids = list(dict.fromkeys(test_ids))
    if len(ids) < 2:
        raise Invalid(N_("Choose at least two tests."), field="tests")
    if len(ids) > MAX_PANEL_TESTS:
        raise Invalid(N_("A panel holds at most 60 tests."), field="tests")
    tests = db.session.scalars(
        select(LabTest).where(LabTest.id.in_(ids), LabTest.hospital_id == hospital_id)
    ).all()
    if len(tests) != len(ids):
        raise Invalid(N_("This test is not in the hospital's catalogue."), field="tests")
    return sorted(tests, key=lambda t: ids.index(t.id))


def _panel_values(hospital_id: int, code: str, name: str, loinc: str | None, price_minor: int) -> dict:
    if not 0 <= price_minor <= MAX_PRICE_MINOR:
        raise Invalid(N_("Enter a price of zero or more."), field="price")
    return {
        "code": clean_code(code),
        "name": clean_name(name),
        "loinc": clean_loinc(loinc),
        "price_minor": price_minor,
    }


def create_panel(
    hospital: Hospital,
    actor: User,
    *,
    code: str,
    name: str,
    loinc: str | None,
    price_minor: int,
    test_ids: Sequence[int],
) -> LabPanel:
    values = _panel_values(hospital.id, code, name, loinc, price_minor)
    if _code_taken(LabPanel, hospital.id, values["code"]):
        raise _code_used()
    tests = _panel_tests(hospital.id, test_ids)
    panel = LabPanel(hospital_id=hospital.id, active=True, **values)
    panel.members = [LabPanelTest(test=t, position=n) for n, t in enumerate(tests)]
    with savepoint(_code_used()):
        db.session.add(panel)
    record_event("create", "lab_panel", panel.id, hospital_id=hospital.id, detail=panel.code)
    return panel


def update_panel(
    panel: LabPanel,
    actor: User,
    *,
    code: str,
    name: str,
    loinc: str | None,
    price_minor: int,
    test_ids: Sequence[int],
    active: bool,
) -> bool:
    values = _panel_values(panel.hospital_id, code, name, loinc, price_minor)
    if values["code"] != panel.code and _code_taken(LabPanel, panel.hospital_id, values["code"], panel.id):
        raise _code_used()
    tests = _panel_tests(panel.hospital_id, test_ids)
    values["active"] = active
    changed = [name for name, value in values.items() if getattr(panel, name) != value]
    # Read before any change: loading the members would flush the changes outside the savepoint.
    new_tests = [t.id for t in panel.tests] != [t.id for t in tests]
    if not changed and not new_tests:
        return False
    with savepoint(_code_used()):
        for name in changed:
            setattr(panel, name, values[name])
        if new_tests:
            panel.members.clear()
            db.session.flush()  # the old rows go first: a test is in a panel once
            panel.members.extend(LabPanelTest(test=t, position=n) for n, t in enumerate(tests))
            changed.append("tests")
    record_event("update", "lab_panel", panel.id, hospital_id=panel.hospital_id, detail=",".join(changed))
    return True


# ---------------------------------------------------------------- critical values


def _open_criticals(hospital_id: int) -> Select:
    return (
        select(LabResult)
        .join(LabOrderItem, LabOrderItem.id == LabResult.item_id)
        .join(LabOrder, LabOrder.id == LabOrderItem.order_id)
        .where(
            LabOrder.hospital_id == hospital_id,
            LabResult.critical.is_(True),
            LabResult.acknowledged_at.is_(None),
        )
    )


def open_criticals(hospital_id: int, limit: int = 200) -> list[LabResult]:
    """The hospital's critical values waiting for an acknowledgement: escalated ones first, then the
    oldest; with their test, order, patient and doctor loaded in the same few statements."""
    escalated_first = LabResult.escalated_at.is_(None)
    return list(
        db.session.scalars(
            _open_criticals(hospital_id)
            .options(
                joinedload(LabResult.item).joinedload(LabOrderItem.test),
                joinedload(LabResult.item)
                .joinedload(LabOrderItem.order)
                .joinedload(LabOrder.patient)
                .joinedload(Patient.user),
                joinedload(LabResult.item)
                .joinedload(LabOrderItem.order)
                .joinedload(LabOrder.doctor)
                .joinedload(Doctor.user),
            )
            .order_by(escalated_first, LabResult.entered_at, LabResult.id)
            .limit(limit)
        ).unique()
    )


def count_open_criticals(hospital_id: int) -> Select:
    """The statement counting the hospital's critical values waiting for an acknowledgement (the
    dashboard runs it with its other badges, in one statement)."""
    return _open_criticals(hospital_id).with_only_columns(func.count(LabResult.id))


def hospital_result(hospital_id: int, result_id: int) -> LabResult | None:
    return db.session.scalar(
        select(LabResult)
        .join(LabOrderItem, LabOrderItem.id == LabResult.item_id)
        .join(LabOrder, LabOrder.id == LabOrderItem.order_id)
        .where(LabResult.id == result_id, LabOrder.hospital_id == hospital_id)
    )
