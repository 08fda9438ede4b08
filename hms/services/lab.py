"""The laboratory: orders from encounters (billed through hms.services.billing), specimens, results
checked against the catalogue, verification by a second person (the ordering doctor or a senior lab
technician), amendments, critical values.

Rules:
- A value is flagged by one pure function, `flag_value`: the reference range for the patient's sex and
  age on the day of collection (H/L), the test's critical limits (HH/LL).
- Every change of an item is a conditional UPDATE on its version (`_bump`): of two technicians who
  result or verify the same item at once, one wins and the other is told (Conflict).
- A critical value notifies the ordering doctor at once (in-app, email, text) and waits for an
  acknowledgement; after LAB_CRITICAL_ACK_MINUTES the worker tells the hospital's administrators
  (`escalate_unacknowledged_criticals`), once, and the value stays flagged until acknowledged.
- Who sees an order: `can_see_order`; a patient sees only released (verified or amended) results."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol

from flask import current_app
from flask_babel import gettext
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import joinedload, selectinload

from hms import clock
from hms.database import lock_rows
from hms.extensions import db
from hms.i18n import N_, in_language_of
from hms.models import (
    Doctor,
    Encounter,
    Hospital,
    HospitalAdmin,
    ItemKind,
    LabFlag,
    LabItemStatus,
    LabOrder,
    LabOrderItem,
    LabOrderStatus,
    LabPanel,
    LabPanelTest,
    LabPriority,
    LabReferenceRange,
    LabResult,
    LabSpecimen,
    LabTest,
    Patient,
    ResultKind,
    Role,
    Sex,
    SpecimenKind,
    StaffKind,
    User,
)
from hms.services import billing
from hms.services.audit import record_event
from hms.services.clinical import can_doctor_see_patient
from hms.services.errors import Conflict, Invalid, NotAllowed
from hms.services.notifications import Channels, notify
from hms.services.staff import staff_hospital_id

NOTE_MAX = 500
TEXT_MAX = 500
MAX_ITEMS = 60
URGENT = Channels(email=True, sms=True)  # critical values reach people whatever their preferences

# A lab value has at most 10 digits before the point (`LabNumber`, Numeric(14, 4)).
LAB_NUMBER_LIMIT = Decimal(10) ** 10


# ---------------------------------------------------------------- the flagging rule (pure)


class RangeLike(Protocol):
    sex: Sex | None
    age_from_days: int
    age_to_days: int | None
    low: Decimal | None
    high: Decimal | None


def age_in_days(date_of_birth: date, on: date) -> int:
    return (on - date_of_birth).days


def pick_range(ranges: Iterable[RangeLike], sex: Sex | None, age_days: int) -> RangeLike | None:
    """The reference range for this sex and age: one for the sex first, else one for anyone. An age
    band is [age_from_days, age_to_days): on the day a band ends the next one applies."""
    fitting = [
        r
        for r in ranges
        if r.age_from_days <= age_days and (r.age_to_days is None or age_days < r.age_to_days)
    ]
    own = [r for r in fitting if r.sex is not None and r.sex == sex]
    anyone = [r for r in fitting if r.sex is None]
    return (own or anyone or [None])[0]


def flag_value(
    value: Decimal,
    *,
    sex: Sex | None,
    date_of_birth: date,
    on: date,
    ranges: Iterable[RangeLike],
    critical_low: Decimal | None = None,
    critical_high: Decimal | None = None,
) -> LabFlag | None:
    """The flag of a number collected `on` that day from a patient of this sex and birth date: LL/HH
    below/above the critical limits, else L/H below/above the reference range (its ends are normal),
    else None. No database: the ranges are given."""
    if critical_low is not None and value < critical_low:
        return LabFlag.critical_low
    if critical_high is not None and value > critical_high:
        return LabFlag.critical_high
    reference = pick_range(ranges, sex, age_in_days(date_of_birth, on))
    if reference is None:
        return None
    if reference.low is not None and value < reference.low:
        return LabFlag.low
    if reference.high is not None and value > reference.high:
        return LabFlag.high
    return None


# ---------------------------------------------------------------- who may do what


def is_lab_technician(user: User, hospital_id: int) -> bool:
    return staff_hospital_id(user, StaffKind.lab_technician) == hospital_id


def is_ordering_doctor(user: User, order: LabOrder) -> bool:
    return user.doctor is not None and user.doctor.id == order.doctor_id


def _is_admin_of(user: User, hospital_id: int) -> bool:
    return user.hospital_admin is not None and user.hospital_admin.hospital_id == hospital_id


def can_order(user: User, encounter: Encounter) -> bool:
    """Only the doctor of the visit orders tests from its encounter."""
    return user.doctor is not None and user.doctor.id == encounter.doctor_id


def can_cancel(user: User, order: LabOrder) -> bool:
    """The ordering doctor or the lab, while the specimen is not collected."""
    return order.can_cancel and (
        is_ordering_doctor(user, order) or is_lab_technician(user, order.hospital_id)
    )


def can_collect(user: User, order: LabOrder) -> bool:
    """A lab technician or a nurse of the order's hospital, while the order waits for its specimen."""
    staff_hospital = staff_hospital_id(user, StaffKind.lab_technician, StaffKind.nurse)
    return order.status == LabOrderStatus.ordered and staff_hospital == order.hospital_id


def can_enter_result(user: User, item: LabOrderItem) -> bool:
    """A lab technician of the hospital, once the specimen is collected and until the value is verified."""
    return (
        is_lab_technician(user, item.order.hospital_id)
        and item.order.status in (LabOrderStatus.collected, LabOrderStatus.resulted)
        and item.status in (LabItemStatus.registered, LabItemStatus.preliminary)
    )


def is_senior_lab_technician(user: User, hospital_id: int) -> bool:
    """A lab technician of the hospital whom its administrator made senior (`Staff.senior`)."""
    return is_lab_technician(user, hospital_id) and user.staff.senior


def may_release(user: User, order: LabOrder) -> bool:
    """Who may vouch for the order's values: its ordering doctor or a senior lab technician of its
    hospital (verify a value, amend a verified one)."""
    return is_ordering_doctor(user, order) or is_senior_lab_technician(user, order.hospital_id)


def can_verify(user: User, item: LabOrderItem) -> bool:
    """The ordering doctor or a senior lab technician of the hospital, not the one who entered the value."""
    result = item.result
    return (
        item.status == LabItemStatus.preliminary
        and result is not None
        and result.entered_by_id != user.id
        and may_release(user, item.order)
    )


def can_amend(user: User, item: LabOrderItem) -> bool:
    """The ordering doctor or a senior lab technician of the hospital, once the value is verified: an
    amendment changes a value the patient already reads, so it needs the same authority as verifying
    it. (The amender may be the one who verified or entered it: the amendment is recorded beside the
    old value, with who, when and why.)"""
    return item.status.is_released and may_release(user, item.order)


def can_acknowledge(user: User, result: LabResult) -> bool:
    """A doctor who may see the order, or an administrator of its hospital, while it waits."""
    order = result.item.order
    responsible = _is_admin_of(user, order.hospital_id) or (
        user.doctor is not None and can_see_order(user, order)
    )
    return result.awaits_acknowledgement and responsible


def can_see_order(user: User, order: LabOrder) -> bool:
    """The ordering doctor; a doctor who may see the patient's records (hms.services.clinical's rule);
    the lab technicians of the order's hospital; the patient himself (his released results only:
    `visible_result`)."""
    if user.role == Role.patient:
        return user.patient is not None and user.patient.id == order.patient_id
    if user.doctor is not None:
        return is_ordering_doctor(user, order) or can_doctor_see_patient(user.doctor, order.patient_id)
    return is_lab_technician(user, order.hospital_id)


def visible_result(user: User, item: LabOrderItem) -> LabResult | None:
    """The item's current result as `user` may see it: a patient only once it is verified."""
    if not can_see_order(user, item.order):
        return None
    if user.role == Role.patient and not item.status.is_released:
        return None
    return item.result


def order_loading(*, specimens: bool = False) -> tuple[Any, ...]:
    """Loader options for an order with all its pages show, in a statement per kind of row however many
    tests it has: its hospital, patient and doctor, its tests and panels with their results and who
    entered and verified them; with `specimens`, the specimens too (the lab's own page and label)."""
    item_options = [
        joinedload(LabOrderItem.test),
        joinedload(LabOrderItem.panel),
        selectinload(LabOrderItem.results).options(
            joinedload(LabResult.entered_by), joinedload(LabResult.verified_by)
        ),
    ]
    options = [
        joinedload(LabOrder.hospital),
        joinedload(LabOrder.patient).joinedload(Patient.user),
        joinedload(LabOrder.doctor).joinedload(Doctor.user),
    ]
    if specimens:
        item_options.append(joinedload(LabOrderItem.specimen))
        options.append(selectinload(LabOrder.specimens))
    return (*options, selectinload(LabOrder.items).options(*item_options))


# ---------------------------------------------------------------- ordering


def _clean_note(note: str | None) -> str:
    note = " ".join((note or "").split())
    if len(note) > NOTE_MAX:
        raise Invalid(N_("Keep the clinical note under 500 characters."), field="clinical_note")
    return note


def _priority(value: LabPriority | str) -> LabPriority:
    try:
        return LabPriority(value)
    except ValueError:
        raise Invalid(N_("Choose routine, urgent or stat."), field="priority") from None


def _catalogue_rows(model: Any, ids: Sequence[int], hospital_id: int) -> list[Any]:
    rows = db.session.scalars(select(model).where(model.id.in_(ids), model.hospital_id == hospital_id)).all()
    if len(rows) != len(set(ids)):
        raise Invalid(N_("This test is not in the hospital's catalogue."), field="tests")
    for row in rows:
        if not row.active:
            raise Invalid(
                gettext("%(name)s is retired and can no longer be ordered.", name=row.name), field="tests"
            )
    return sorted(rows, key=lambda r: ids.index(r.id))


@dataclass(frozen=True)
class _Line:
    test: LabTest
    panel: LabPanel | None


def _lines(tests: list[LabTest], panels: list[LabPanel]) -> list[_Line]:
    """A panel's tests, then the tests ordered alone that no panel already holds."""
    lines: list[_Line] = []
    seen: set[int] = set()
    for panel in panels:
        for test in panel.tests:
            if not test.active:
                raise Invalid(
                    gettext("%(name)s is retired and can no longer be ordered.", name=test.name),
                    field="tests",
                )
            if test.id not in seen:
                seen.add(test.id)
                lines.append(_Line(test, panel))
    lines += [_Line(t, None) for t in tests if t.id not in seen]
    if not lines:
        raise Invalid(N_("Choose at least one test or panel."), field="tests")
    if len(lines) > MAX_ITEMS:
        raise Invalid(N_("An order can hold at most 60 tests."), field="tests")
    return lines


def place_order(
    encounter: Encounter,
    doctor_user: User,
    *,
    test_ids: Sequence[int] = (),
    panel_ids: Sequence[int] = (),
    priority: LabPriority | str = LabPriority.routine,
    clinical_note: str = "",
) -> LabOrder:
    """Order tests and panels from the doctor's encounter, and bill them (one bill per order, issued at
    once, through the billing service: a panel is one line at its price, a test alone one line).
    Flushes; the caller commits."""
    if not can_order(doctor_user, encounter):
        raise NotAllowed(N_("Only the doctor of this visit can order tests from it."))
    chosen_priority, note = _priority(priority), _clean_note(clinical_note)
    tests = _catalogue_rows(LabTest, list(test_ids), encounter.hospital_id)
    panels = _catalogue_rows(LabPanel, list(panel_ids), encounter.hospital_id)
    lines = _lines(tests, panels)
    order = LabOrder(
        hospital_id=encounter.hospital_id,
        patient_id=encounter.patient_id,
        encounter_id=encounter.id,
        doctor_id=encounter.doctor_id,
        ordered_by_id=doctor_user.id,
        priority=chosen_priority,
        status=LabOrderStatus.ordered,
        clinical_note=note,
        ordered_at=clock.now(),
    )
    order.items = [LabOrderItem(test=line.test, panel=line.panel) for line in lines]
    db.session.add(order)
    db.session.flush()
    order.bill_id = _bill_order(
        order, panels, [line.test for line in lines if line.panel is None], doctor_user
    )
    db.session.flush()
    record_event(
        "create",
        "lab_order",
        order.id,
        patient_id=order.patient_id,
        hospital_id=order.hospital_id,
        detail=", ".join(line.test.code for line in lines)[:255],
    )
    return order


def _bill_order(order: LabOrder, panels: list[LabPanel], tests: list[LabTest], actor: User) -> int | None:
    """The order's bill: a draft made, filled and issued by the billing service; none if all is free."""
    priced = [(f"Lab: {p.name}", p.price_minor) for p in panels if p.price_minor > 0]
    priced += [(f"Lab: {t.name}", t.price_minor) for t in tests if t.price_minor > 0]
    if not priced:
        return None
    patient = db.session.get(Patient, order.patient_id)
    bill = billing.create_bill(
        hospital=order.hospital, mrn=patient.mrn, actor=actor, note=f"Laboratory order {order.number}"
    )
    for description, price in priced:
        billing.add_item(
            bill, kind=ItemKind.lab, description=description, quantity=1, unit_minor=price, actor=actor
        )
    billing.issue_bill(bill, actor, begin=False)
    return bill.id


def cancel_order(order: LabOrder, actor: User, reason: str) -> LabOrder:
    """Cancel an order whose specimen is not collected yet (its doctor or the lab); its bill is voided
    by the billing service, or, if already paid, refunded in full. Flushes; the caller commits."""
    if not (is_ordering_doctor(actor, order) or is_lab_technician(actor, order.hospital_id)):
        raise NotAllowed(N_("Only the ordering doctor or the laboratory can cancel this order."))
    reason = " ".join((reason or "").split())[:500]
    if not reason:
        raise Invalid(N_("Give a reason for cancelling the order."), field="reason")
    _check_cancellable(order)
    # The bill first: on SQLite its lock ends the read transaction, which must hold none of our writes.
    if order.bill is not None:
        _void_bill(order, actor, reason)
    now = clock.now()
    done = db.session.execute(
        update(LabOrder)
        .where(LabOrder.id == order.id, LabOrder.status == LabOrderStatus.ordered)
        .values(
            status=LabOrderStatus.cancelled, cancelled_at=now, cancelled_by_id=actor.id, cancel_reason=reason
        )
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        db.session.expire(order)
        _check_cancellable(order)
        raise Conflict(N_("The order changed meanwhile; reload it."))
    db.session.execute(
        update(LabOrderItem)
        .where(LabOrderItem.order_id == order.id)
        .values(status=LabItemStatus.cancelled, version=LabOrderItem.version + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(order)
    record_event(
        "cancel",
        "lab_order",
        order.id,
        patient_id=order.patient_id,
        hospital_id=order.hospital_id,
        detail=reason,
    )
    return order


def _check_cancellable(order: LabOrder) -> None:
    if order.status == LabOrderStatus.cancelled:
        raise Conflict(N_("This order is already cancelled."))
    if order.status != LabOrderStatus.ordered:
        raise Conflict(N_("The specimen has been collected: the order can no longer be cancelled."))


def _void_bill(order: LabOrder, actor: User, reason: str) -> None:
    bill = order.bill
    text = f"Laboratory order {order.number} cancelled: {reason}"[:255]
    if bill.can_cancel:
        billing.cancel_bill(bill, actor, text)
    elif bill.refundable_minor > 0:
        billing.refund_part(
            bill, amount_minor=bill.refundable_minor, reason=text, actor=actor, key=billing.new_key()
        )


# ---------------------------------------------------------------- specimens


def specimen_label(order: LabOrder, n: int) -> str:
    """The number printed on the n-th specimen's label: unique, as the order's id is."""
    return f"L{order.id:06d}-{n}"


def collect_specimen(
    order: LabOrder, collector: User, *, collected_at: datetime | None = None
) -> list[LabSpecimen]:
    """Record the specimens taken for the order (one per specimen kind, each with a label number) by a
    lab technician or nurse of its hospital. Flushes; the caller commits."""
    if staff_hospital_id(collector, StaffKind.lab_technician, StaffKind.nurse) != order.hospital_id:
        raise NotAllowed(N_("Only the laboratory or a nurse of this hospital can collect a specimen."))
    now = clock.now()
    collected_at = collected_at or now
    if collected_at > now + timedelta(minutes=5):
        raise Invalid(N_("The collection time cannot be in the future."), field="collected_at")
    if order.status == LabOrderStatus.cancelled:
        raise Conflict(N_("This order was cancelled."))
    done = db.session.execute(
        update(LabOrder)
        .where(LabOrder.id == order.id, LabOrder.status == LabOrderStatus.ordered)
        .values(status=LabOrderStatus.collected, collected_at=collected_at)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise Conflict(N_("The specimen of this order was already collected."))
    specimens: dict[Any, LabSpecimen] = {}
    for item in order.items:
        kind = item.test.specimen
        if kind not in specimens:
            specimens[kind] = LabSpecimen(
                order_id=order.id,
                kind=kind,
                label=specimen_label(order, len(specimens) + 1),
                collected_at=collected_at,
                collected_by_id=collector.id,
            )
            db.session.add(specimens[kind])
        item.specimen = specimens[kind]
    db.session.flush()
    db.session.expire(order, ["status", "collected_at"])
    record_event("collect", "lab_order", order.id, patient_id=order.patient_id, hospital_id=order.hospital_id)
    return list(specimens.values())


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class CleanValue:
    number: Decimal | None = None
    text: str | None = None


def clean_value(test: LabTest, raw: Any, unit: str | None = None) -> CleanValue:
    """The value checked against the test: a number within its physical limits, in its unit, kept at
    its decimals; one of its choices; or a short text."""
    text = "" if raw is None else str(raw).strip()
    if not text:
        raise Invalid(N_("Enter a result."), field="value")
    if test.kind == ResultKind.choice:
        match = next((c for c in test.options if c.casefold() == text.casefold()), None)
        if match is None:
            raise Invalid(
                gettext("Choose one of: %(choices)s.", choices=", ".join(test.options)), field="value"
            )
        return CleanValue(text=match)
    if test.kind == ResultKind.text:
        if len(text) > TEXT_MAX:
            raise Invalid(N_("Keep the result under 500 characters."), field="value")
        return CleanValue(text=text)
    return CleanValue(number=_clean_number(test, text, unit))


def _clean_number(test: LabTest, text: str, unit: str | None) -> Decimal:
    if unit is not None and unit.strip() and (test.unit or "") != unit.strip():
        raise Invalid(gettext("Enter the value in %(unit)s.", unit=test.unit or "—"), field="unit")
    try:
        number = Decimal(text.replace(",", "."))
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or abs(number) >= LAB_NUMBER_LIMIT:  # 1e30 cannot be stored, nor measured
        raise Invalid(N_("Enter a number."), field="value")
    number = number.quantize(Decimal(1).scaleb(-test.decimals), rounding=ROUND_HALF_UP)
    low, high = test.physical_low, test.physical_high
    if (low is not None and number < low) or (high is not None and number > high):
        raise Invalid(
            gettext(
                "%(value)s %(unit)s is not a possible value of %(test)s: check it and enter it again.",
                value=number,
                unit=test.unit or "",
                test=test.name,
            ),
            field="value",
        )
    return number


def _collection_day(item: LabOrderItem) -> date:
    """The day of collection at the hospital (the patient's age is taken on that day)."""
    order = item.order
    moment = item.specimen.collected_at if item.specimen else (order.collected_at or clock.now())
    return moment.astimezone(order.hospital.tz).date()


def _new_result(item: LabOrderItem, user: User, value: CleanValue, **fields: Any) -> LabResult:
    test, patient = item.test, item.order.patient
    flag = None
    reference = None
    if value.number is not None:
        day = _collection_day(item)
        reference = pick_range(test.ranges, patient.sex, age_in_days(patient.date_of_birth, day))
        flag = flag_value(
            value.number,
            sex=patient.sex,
            date_of_birth=patient.date_of_birth,
            on=day,
            ranges=test.ranges,
            critical_low=test.critical_low,
            critical_high=test.critical_high,
        )
    result = LabResult(
        item_id=item.id,
        value_number=value.number,
        value_text=value.text,
        unit=test.unit if value.number is not None else None,
        flag=flag,
        reference_low=reference.low if reference else None,
        reference_high=reference.high if reference else None,
        critical=bool(flag and flag.is_critical),
        entered_by_id=user.id,
        entered_at=clock.now(),
        **fields,
    )
    db.session.add(result)
    return result


def _bump(
    item: LabOrderItem, version: int | None, allowed: Sequence[LabItemStatus], to: LabItemStatus
) -> None:
    """Move the item to `to` if nobody changed it since `version` (the version the user saw)."""
    expected = item.version if version is None else version
    # The item's row lock first (on SQLite: the one writer's lock, waited for), so that the second of
    # two people waits for the first to commit and then finds the version changed, instead of failing
    # with "database is locked". Callers have written nothing before this point.
    lock_rows((LabOrderItem, item.id))
    done = db.session.execute(
        update(LabOrderItem)
        .where(LabOrderItem.id == item.id, LabOrderItem.version == expected, LabOrderItem.status.in_(allowed))
        .values(status=to, version=LabOrderItem.version + 1)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise Conflict(N_("Someone else changed this result meanwhile: reload it and check it."))
    db.session.expire(item, ["status", "version", "results"])


def enter_result(
    item: LabOrderItem,
    technician: User,
    raw_value: Any,
    *,
    unit: str | None = None,
    version: int | None = None,
) -> LabResult:
    """Enter (or, before verification, correct) an item's value; a critical one notifies the ordering
    doctor at once. `version` is the item's version the technician saw. Flushes; the caller commits."""
    order = item.order
    if not is_lab_technician(technician, order.hospital_id):
        raise NotAllowed(N_("Only a lab technician of this hospital can enter results."))
    if order.status == LabOrderStatus.cancelled:
        raise Conflict(N_("This order was cancelled: no result can be entered."))
    if order.status == LabOrderStatus.ordered:
        raise Conflict(N_("Collect the specimen before entering results."))
    if item.status.is_released:
        raise Conflict(N_("This result is verified: amend it instead."))
    value = clean_value(item.test, raw_value, unit)
    _bump(item, version, (LabItemStatus.registered, LabItemStatus.preliminary), LabItemStatus.preliminary)
    result = _new_result(item, technician, value)
    db.session.flush()
    _advance_order(order)
    record_event(
        "create", "lab_result", result.id, patient_id=order.patient_id, hospital_id=order.hospital_id
    )
    if result.critical:
        _notify_critical(result)
    return result


def verify_result(item: LabOrderItem, verifier: User, *, version: int | None = None) -> LabResult:
    """Verify an item's value: the ordering doctor or a senior lab technician of the hospital, never
    the one who entered it. When the whole order is verified, the patient and the doctor are told."""
    order = item.order
    if not may_release(verifier, order):
        raise NotAllowed(
            N_("Only the ordering doctor or a senior lab technician of this hospital can verify.")
        )
    result = item.result
    if item.status != LabItemStatus.preliminary or result is None:
        if item.status.is_released:
            raise Conflict(N_("This result is already verified."))
        raise Conflict(N_("There is no result to verify yet."))
    if result.entered_by_id == verifier.id:
        raise NotAllowed(N_("A second person must verify a result: not the one who entered it."))
    _bump(item, version, (LabItemStatus.preliminary,), LabItemStatus.final)
    result.verified_by_id, result.verified_at = verifier.id, clock.now()
    db.session.flush()
    record_event(
        "verify", "lab_result", result.id, patient_id=order.patient_id, hospital_id=order.hospital_id
    )
    if _advance_order(order) == LabOrderStatus.verified:
        _notify_released(order, amended=False)
    return result


def amend_result(
    item: LabOrderItem,
    user: User,
    raw_value: Any,
    reason: str,
    *,
    unit: str | None = None,
    version: int | None = None,
) -> LabResult:
    """Change a verified value: a new result that names the one it replaces and why (the old one stays
    as it was); the doctor and the patient are told again. Only the ordering doctor or a senior lab
    technician amends (`can_amend`). Flushes; the caller commits."""
    order = item.order
    if not may_release(user, order):
        raise NotAllowed(
            N_("Only the ordering doctor or a senior lab technician of this hospital can amend.")
        )
    if not item.status.is_released:
        raise Conflict(N_("Only a verified result is amended; this one can still be corrected."))
    reason = " ".join((reason or "").split())[:500]
    if not reason:
        raise Invalid(N_("Say why the result is amended."), field="reason")
    value = clean_value(item.test, raw_value, unit)
    previous = item.result
    _bump(item, version, (LabItemStatus.final, LabItemStatus.amended), LabItemStatus.amended)
    result = _new_result(item, user, value, amends_id=previous.id, amend_reason=reason)
    db.session.flush()
    record_event(
        "amend",
        "lab_result",
        result.id,
        patient_id=order.patient_id,
        hospital_id=order.hospital_id,
        detail=f"amends {previous.id}: {reason}"[:255],
    )
    _notify_released(order, amended=True, item=item)
    if result.critical:
        _notify_critical(result)
    return result


def _advance_order(order: LabOrder) -> LabOrderStatus:
    """Move the order to `resulted` / `verified` when all its items are (one conditional UPDATE)."""
    statuses = db.session.scalars(select(LabOrderItem.status).where(LabOrderItem.order_id == order.id)).all()
    if all(s.is_released for s in statuses):
        target = LabOrderStatus.verified
    elif all(s != LabItemStatus.registered for s in statuses):
        target = LabOrderStatus.resulted
    else:
        return order.status
    db.session.execute(
        update(LabOrder)
        .where(
            LabOrder.id == order.id, LabOrder.status.in_((LabOrderStatus.collected, LabOrderStatus.resulted))
        )
        .values(status=target)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(order, ["status"])
    return order.status


# ---------------------------------------------------------------- critical values


def acknowledge_critical(result: LabResult, user: User) -> LabResult:
    """Someone responsible took note of a critical value: the ordering doctor, a doctor who may see the
    patient, or an administrator of the hospital (after escalation). A second acknowledgement changes
    nothing. Flushes; the caller commits."""
    order = result.item.order
    if not result.critical:
        raise Invalid(N_("This result is not critical."))
    allowed = _is_admin_of(user, order.hospital_id) or (
        user.doctor is not None and can_see_order(user, order)
    )
    if not allowed:
        raise NotAllowed(N_("Only the doctor or an administrator of this hospital can acknowledge it."))
    done = db.session.execute(
        update(LabResult)
        .where(LabResult.id == result.id, LabResult.acknowledged_at.is_(None))
        .values(acknowledged_at=clock.now(), acknowledged_by_id=user.id)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(result, ["acknowledged_at", "acknowledged_by_id"])
    if done.rowcount == 1:
        record_event(
            "acknowledge", "lab_result", result.id, patient_id=order.patient_id, hospital_id=order.hospital_id
        )
    return result


def escalate_unacknowledged_criticals(now: datetime | None = None) -> int:
    """Tell each hospital's administrators about critical values left unacknowledged for longer than
    LAB_CRITICAL_ACK_MINUTES (each value once; a second worker's UPDATE finds it taken). Run by the
    worker every round; returns how many. Flushes; the caller commits."""
    now = now or clock.now()
    limit = now - timedelta(minutes=current_app.config["LAB_CRITICAL_ACK_MINUTES"])
    overdue = db.session.scalars(
        select(LabResult)
        .where(
            LabResult.critical.is_(True),
            LabResult.acknowledged_at.is_(None),
            LabResult.escalated_at.is_(None),
            LabResult.entered_at <= limit,
        )
        .order_by(LabResult.id)
        .limit(500)
    ).all()
    escalated = 0
    for result in overdue:
        claimed = db.session.execute(
            update(LabResult)
            .where(
                LabResult.id == result.id,
                LabResult.escalated_at.is_(None),
                LabResult.acknowledged_at.is_(None),
            )
            .values(escalated_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount == 1:
            _notify_escalation(result, now)
            escalated += 1
    db.session.flush()
    return escalated


def unacknowledged_criticals(hospital_id: int) -> list[LabResult]:
    """The hospital's critical values still waiting for an acknowledgement, oldest first."""
    return list(
        db.session.scalars(
            select(LabResult)
            .join(LabOrderItem, LabOrderItem.id == LabResult.item_id)
            .join(LabOrder, LabOrder.id == LabOrderItem.order_id)
            .where(
                LabOrder.hospital_id == hospital_id,
                LabResult.critical.is_(True),
                LabResult.acknowledged_at.is_(None),
            )
            .order_by(LabResult.entered_at, LabResult.id)
        )
    )


# ---------------------------------------------------------------- notices


def order_link(order: LabOrder, user: User) -> str:
    """Where a notice about the order takes its reader."""
    if user.role == Role.patient:
        return f"/patient/lab/{order.id}"
    if user.role == Role.hospital_admin:
        return "/hospital/lab/criticals"
    return f"/doctor/lab/{order.id}"


def _describe(result: LabResult) -> dict[str, str]:
    item = result.item
    return {
        "test": item.test.name,
        "value": result.value,
        "unit": result.unit or "",
        "patient": item.order.patient.name,
        "mrn": item.order.patient.mrn,
        "number": item.order.number,
    }


def _notify_critical(result: LabResult) -> None:
    order = result.item.order
    doctor = order.doctor.user
    with in_language_of(doctor):
        text = gettext(
            "Critical result: %(test)s %(value)s %(unit)s for %(patient)s (%(mrn)s), order %(number)s. "
            "Acknowledge it in HMS.",
            **_describe(result),
        )
    notify(
        doctor,
        "lab_critical",
        text,
        link=order_link(order, doctor),
        hospital_id=order.hospital_id,
        channels=URGENT,
    )


def _notify_escalation(result: LabResult, now: datetime) -> None:
    order = result.item.order
    minutes = int((now - result.entered_at).total_seconds() // 60)
    admins = db.session.scalars(
        select(User)
        .join(HospitalAdmin, HospitalAdmin.user_id == User.id)
        .where(HospitalAdmin.hospital_id == order.hospital_id, User.active.is_(True))
    ).all()
    for admin in admins:
        with in_language_of(admin):
            text = gettext(
                "Critical result not acknowledged for %(minutes)d minutes: %(test)s for %(patient)s "
                "(%(mrn)s), order %(number)s by Dr %(doctor)s.",
                minutes=minutes,
                doctor=order.doctor.name,
                **_describe(result),
            )
        notify(
            admin,
            "lab_critical",
            text,
            link=order_link(order, admin),
            hospital_id=order.hospital_id,
            channels=URGENT,
        )
    record_event(
        "escalate", "lab_result", result.id, patient_id=order.patient_id, hospital_id=order.hospital_id
    )


def _notify_released(order: LabOrder, *, amended: bool, item: LabOrderItem | None = None) -> None:
    """Tell the patient and the ordering doctor that results are ready, or that one was amended."""
    for reader in (order.patient.user, order.doctor.user):
        with in_language_of(reader):
            if amended:
                text = gettext(
                    "A laboratory result was amended: %(test)s (order %(number)s).",
                    test=item.test.name,
                    number=order.number,
                )
            else:
                text = gettext(
                    "Laboratory results are ready: order %(number)s from %(hospital)s.",
                    number=order.number,
                    hospital=order.hospital.name,
                )
        notify(reader, "lab_result", text, link=order_link(order, reader), hospital_id=order.hospital_id)


# ---------------------------------------------------------------- the catalogue


def _number(text: str | None) -> Decimal | None:
    return Decimal(text) if text is not None else None


def install_catalogue(
    hospital: Hospital, tests: Sequence[Any] | None = None, panels: Sequence[Any] | None = None
) -> int:
    """Copy the standard catalogue (hms.data.lab_catalogue) into the hospital's: each test and panel whose
    code it lacks, with the shipped prices only for a hospital billing in their currency. Returns how
    many rows were added. Flushes; the caller commits."""
    from hms.data import lab_catalogue as standard

    priced = hospital.currency == standard.PRICE_CURRENCY
    existing = {
        t.code: t for t in db.session.scalars(select(LabTest).where(LabTest.hospital_id == hospital.id))
    }
    added = 0
    for entry in standard.TESTS if tests is None else tests:
        if entry.code in existing:
            continue
        test = LabTest(
            hospital_id=hospital.id,
            code=entry.code,
            name=entry.name,
            loinc=entry.loinc,
            specimen=SpecimenKind(entry.specimen),
            kind=ResultKind(entry.kind),
            unit=entry.unit,
            decimals=entry.decimals,
            choices="|".join(entry.choices) or None,
            critical_low=_number(entry.critical[0]),
            critical_high=_number(entry.critical[1]),
            physical_low=_number(entry.physical[0]),
            physical_high=_number(entry.physical[1]),
            turnaround_minutes=entry.turnaround_minutes,
            price_minor=entry.price_minor if priced else 0,
            ranges=[
                LabReferenceRange(
                    sex=Sex(sex) if sex else None,
                    age_from_days=standard.ADULT_DAYS,
                    low=_number(low),
                    high=_number(high),
                )
                for sex, low, high in entry.ranges
            ],
        )
        db.session.add(test)
        existing[entry.code] = test
        added += 1
    have = set(db.session.scalars(select(LabPanel.code).where(LabPanel.hospital_id == hospital.id)))
    for entry in standard.PANELS if panels is None else panels:
        if entry.code in have or any(code not in existing for code in entry.tests):
            continue
        panel = LabPanel(
            hospital_id=hospital.id,
            code=entry.code,
            name=entry.name,
            loinc=entry.loinc,
            price_minor=entry.price_minor if priced else 0,
        )
        panel.members = [LabPanelTest(test=existing[code], position=n) for n, code in enumerate(entry.tests)]
        db.session.add(panel)
        added += 1
    db.session.flush()
    return added


# ---------------------------------------------------------------- reading


def _with_details(query: Any) -> Any:
    return query.options(
        joinedload(LabOrder.patient).joinedload(Patient.user),
        selectinload(LabOrder.items).selectinload(LabOrderItem.results),
        selectinload(LabOrder.items).joinedload(LabOrderItem.test),
    )


def hospital_work_list(
    hospital_id: int,
    statuses: Sequence[LabOrderStatus] = (
        LabOrderStatus.ordered,
        LabOrderStatus.collected,
        LabOrderStatus.resulted,
    ),
    limit: int = 200,
) -> list[LabOrder]:
    """The lab's work list: stat first, then urgent, then routine; oldest first within each (ranked in
    SQL, so that the limit never cuts a stat order behind older routine ones)."""
    rank = case({LabPriority.stat: 0, LabPriority.urgent: 1}, value=LabOrder.priority, else_=2)
    return list(
        db.session.scalars(
            _with_details(select(LabOrder))
            .where(LabOrder.hospital_id == hospital_id, LabOrder.status.in_(statuses))
            .order_by(rank, LabOrder.ordered_at, LabOrder.id)
            .limit(limit)
        )
    )


def patient_orders(patient_id: int, limit: int = 50) -> list[LabOrder]:
    """A patient's orders, newest first (show results through `visible_result`)."""
    return list(
        db.session.scalars(
            _with_details(select(LabOrder))
            .where(LabOrder.patient_id == patient_id)
            .order_by(LabOrder.ordered_at.desc(), LabOrder.id.desc())
            .limit(limit)
        )
    )


def encounter_orders(encounter_id: int) -> list[LabOrder]:
    return list(
        db.session.scalars(
            _with_details(select(LabOrder)).where(LabOrder.encounter_id == encounter_id).order_by(LabOrder.id)
        )
    )


def catalogue(hospital_id: int, *, active_only: bool = True) -> tuple[list[LabTest], list[LabPanel]]:
    """The hospital's tests and panels by name."""
    tests = select(LabTest).where(LabTest.hospital_id == hospital_id).options(selectinload(LabTest.ranges))
    panels = select(LabPanel).where(LabPanel.hospital_id == hospital_id)
    if active_only:
        tests, panels = tests.where(LabTest.active.is_(True)), panels.where(LabPanel.active.is_(True))
    return (
        list(db.session.scalars(tests.order_by(func.lower(LabTest.name)))),
        list(db.session.scalars(panels.order_by(func.lower(LabPanel.name)))),
    )
