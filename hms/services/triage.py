"""Nurse triage: record a checked-in patient's vital signs, complaint and triage level, and the rule
for what a nurse may see.

The access rule lives in `nurse_can_see` (and its SQL form `nurse_sees_clause`), in the style of
the doctors' rule in hms.services.clinical: a nurse sees the clinical data of a patient only through
a visit at her own hospital that is checked in (arrived) or done (fulfilled) and falls on today in the
hospital's time zone. Yesterday's visit, a visit only booked, or another hospital's visit: nothing
(the views answer 404 and audit the refusal). Every view and record is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import joinedload

from hms import clock
from hms.extensions import db
from hms.i18n import N_
from hms.models import Appointment, AppointmentStatus, Doctor, Hospital, Patient, StaffKind, User
from hms.models.flow import FlowState, QueueEntry
from hms.models.triage import TriageLevel, VitalSigns
from hms.services.audit import record_event
from hms.services.errors import Invalid, NotAllowed

# Physical limits: a value outside them cannot be a living patient's, so it is a typing error.
# name → (low, high, whole numbers only, message)
LIMITS: dict[str, tuple[Decimal, Decimal, bool, str]] = {
    "bp_systolic": (
        Decimal(40),
        Decimal(300),
        True,
        N_("Enter a systolic pressure from 40 to 300 mmHg."),
    ),
    "bp_diastolic": (
        Decimal(20),
        Decimal(200),
        True,
        N_("Enter a diastolic pressure from 20 to 200 mmHg."),
    ),
    "pulse": (Decimal(20), Decimal(300), True, N_("Enter a pulse from 20 to 300 beats a minute.")),
    "respiratory_rate": (
        Decimal(4),
        Decimal(80),
        True,
        N_("Enter a respiratory rate from 4 to 80 breaths a minute."),
    ),
    "spo2": (Decimal(0), Decimal(100), True, N_("Enter an oxygen saturation from 0 to 100 percent.")),
    "temperature_c": (
        Decimal(25),
        Decimal(45),
        False,
        N_("Enter a temperature from 25 to 45 °C."),
    ),
    "weight_kg": (Decimal("0.3"), Decimal(500), False, N_("Enter a weight from 0.3 to 500 kg.")),
    "height_cm": (Decimal(20), Decimal(260), False, N_("Enter a height from 20 to 260 cm.")),
}
MEASUREMENTS = tuple(LIMITS)
COMPLAINT_MAX = 500
SEEN_STATUSES = (AppointmentStatus.arrived, AppointmentStatus.fulfilled)


class VitalsInvalid(Invalid):
    """Some values are outside their limits: `errors` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(message, field)
        self.errors = errors


# ---------------------------------------------------------------- access rule


def today_bounds(hospital: Hospital, now: datetime | None = None) -> tuple[datetime, datetime]:
    """Today at the hospital, as a UTC range [start, end)."""
    now = now or clock.now()
    zone = hospital.tz
    day = now.astimezone(zone).date()
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(now.tzinfo), end.astimezone(now.tzinfo)


def _nurse_hospital(user: User) -> Hospital | None:
    staff = getattr(user, "staff", None)
    if staff is None or staff.kind != StaffKind.nurse:
        return None
    return staff.hospital


def nurse_sees_clause(hospital: Hospital, now: datetime | None = None) -> Any:
    """SQL on Appointment: a visit of the nurse's hospital, checked in or done, today there."""
    start, end = today_bounds(hospital, now)
    return and_(
        Appointment.hospital_id == hospital.id,
        Appointment.status.in_(SEEN_STATUSES),
        Appointment.start_at >= start,
        Appointment.start_at < end,
    )


def nurse_can_see(nurse_user: User, appointment: Appointment | Patient, now: datetime | None = None) -> bool:
    """The one access rule for nurses: see the module's docstring. Given a patient rather than a
    visit, true when any of his visits qualifies."""
    hospital = _nurse_hospital(nurse_user)
    if hospital is None:
        return False
    if isinstance(appointment, Patient):
        return bool(
            db.session.scalar(
                select(func.count(Appointment.id)).where(
                    Appointment.patient_id == appointment.id, nurse_sees_clause(hospital, now)
                )
            )
        )
    now = now or clock.now()
    start, end = today_bounds(hospital, now)
    return (
        appointment.hospital_id == hospital.id
        and appointment.status in SEEN_STATUSES
        and start <= appointment.start_at < end
    )


def appointment_for_nurse(
    nurse_user: User, appointment_id: int, now: datetime | None = None
) -> Appointment | None:
    """The visit, if the nurse may see it; None otherwise (the caller answers 404)."""
    appointment = db.session.scalar(
        select(Appointment)
        .where(Appointment.id == appointment_id)
        .options(
            joinedload(Appointment.patient).joinedload(Patient.user),
            joinedload(Appointment.doctor).joinedload(Doctor.user),
            joinedload(Appointment.hospital),
        )
    )
    if appointment is None or not nurse_can_see(nurse_user, appointment, now):
        return None
    return appointment


def audit_view(appointment: Appointment, *, outcome: str = "success", record_id: int | None = None) -> None:
    """A nurse opened (or was refused) a visit's triage record."""
    record_event(
        "view",
        "triage",
        record_id if record_id is not None else appointment.id,
        patient_id=appointment.patient_id if appointment is not None else None,
        hospital_id=appointment.hospital_id if appointment is not None else None,
        outcome=outcome,
    )


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class QueueRow:
    appointment: Appointment
    vitals: VitalSigns | None  # the visit's latest triage, None while it waits for one


def latest_for_appointments(appointment_ids: list[int]) -> dict[int, VitalSigns]:
    """The latest vital signs of each visit, in one statement."""
    if not appointment_ids:
        return {}
    newest = (
        select(VitalSigns.appointment_id, func.max(VitalSigns.id).label("id"))
        .where(VitalSigns.appointment_id.in_(appointment_ids))
        .group_by(VitalSigns.appointment_id)
        .subquery()
    )
    rows = db.session.scalars(
        select(VitalSigns)
        .join(newest, newest.c.id == VitalSigns.id)
        .options(joinedload(VitalSigns.recorded_by))
    )
    return {row.appointment_id: row for row in rows}


def latest_for_appointment(appointment_id: int) -> VitalSigns | None:
    return latest_for_appointments([appointment_id]).get(appointment_id)


def triage_queue(hospital: Hospital, now: datetime | None = None, limit: int = 200) -> list[QueueRow]:
    """Today's checked-in patients at the hospital: first those waiting for triage (in the order they
    are booked), then those triaged (most urgent level first). A patient the board has moved past triage
    without vital signs (sent straight to the doctor) is no longer waiting for the nurse. Two statements
    whatever their number."""
    start, end = today_bounds(hospital, now)
    found = db.session.execute(
        select(Appointment, QueueEntry.state)
        .outerjoin(QueueEntry, QueueEntry.appointment_id == Appointment.id)
        .where(
            Appointment.hospital_id == hospital.id,
            Appointment.status == AppointmentStatus.arrived,
            Appointment.start_at >= start,
            Appointment.start_at < end,
        )
        .options(
            joinedload(Appointment.patient).joinedload(Patient.user),
            joinedload(Appointment.doctor).joinedload(Doctor.user),
        )
        .order_by(Appointment.start_at, Appointment.id)
        .limit(limit)
    ).all()
    latest = latest_for_appointments([a.id for a, _state in found])
    rows = [(QueueRow(a, latest.get(a.id)), state) for a, state in found]
    waiting = [r for r, state in rows if r.vitals is None and state in _BEFORE_TRIAGE]
    triaged = sorted(
        (r for r, _state in rows if r.vitals is not None),
        key=lambda r: (r.vitals.triage_level or 9, r.appointment.start_at),
    )
    return waiting + triaged


# Flow states in which a patient without vital signs still waits for the nurse (None: not on the board).
_BEFORE_TRIAGE = (None, FlowState.waiting, FlowState.triage)


def patient_vitals(patient_id: int, *, before_id: int | None = None, limit: int = 20) -> list[VitalSigns]:
    """The patient's vital signs, newest first, with who took them and where."""
    query = select(VitalSigns).where(VitalSigns.patient_id == patient_id)
    if before_id is not None:
        query = query.where(VitalSigns.id < before_id)
    return list(
        db.session.scalars(
            query.options(joinedload(VitalSigns.recorded_by), joinedload(VitalSigns.hospital))
            .order_by(VitalSigns.taken_at.desc(), VitalSigns.id.desc())
            .limit(limit)
        )
    )


def previous_vitals(patient_id: int, appointment_id: int) -> VitalSigns | None:
    """The patient's latest vital signs from another visit (to compare with today's)."""
    return db.session.scalar(
        select(VitalSigns)
        .where(VitalSigns.patient_id == patient_id, VitalSigns.appointment_id != appointment_id)
        .options(joinedload(VitalSigns.recorded_by), joinedload(VitalSigns.hospital))
        .order_by(VitalSigns.taken_at.desc(), VitalSigns.id.desc())
        .limit(1)
    )


# ---------------------------------------------------------------- recording


def _number(value: Any) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        return Decimal("NaN")
    return number


def clean_vitals(values: dict[str, Any]) -> dict[str, Any]:
    """The values checked against physical limits; VitalsInvalid lists every field that is not."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for name, (low, high, whole, message) in LIMITS.items():
        number = _number(values.get(name))
        if number is None:
            clean[name] = None
        elif number.is_nan() or not low <= number <= high or (whole and number != number.to_integral()):
            errors[name] = message
        else:
            clean[name] = int(number) if whole else number.quantize(Decimal("0.1"))
    systolic, diastolic = clean.get("bp_systolic"), clean.get("bp_diastolic")
    if "bp_systolic" not in errors and "bp_diastolic" not in errors:
        if (systolic is None) != (diastolic is None):
            errors["bp_diastolic" if diastolic is None else "bp_systolic"] = N_(
                "Enter both blood pressure values, or neither."
            )
        elif systolic is not None and diastolic >= systolic:
            errors["bp_diastolic"] = N_("The diastolic pressure must be lower than the systolic.")
    complaint = (values.get("chief_complaint") or "").strip()
    if len(complaint) > COMPLAINT_MAX:
        errors["chief_complaint"] = N_("Keep the chief complaint under 500 characters.")
    clean["chief_complaint"] = complaint
    level = values.get("triage_level")
    try:
        clean["triage_level"] = TriageLevel(int(level)).value if level not in (None, "") else None
    except (TypeError, ValueError):
        errors["triage_level"] = N_("Choose a triage level from 1 to 5.")
    if "triage_level" not in errors and clean["triage_level"] is None and values.get("require_level", True):
        errors["triage_level"] = N_("Choose a triage level from 1 to 5.")
    if not errors and all(clean[name] is None for name in MEASUREMENTS) and not complaint:
        errors["chief_complaint"] = N_("Enter the complaint or at least one vital sign.")
    if errors:
        raise VitalsInvalid(errors)
    return clean


def may_record(user: User, appointment: Appointment, now: datetime | None = None) -> bool:
    """A nurse who may see the visit, or the visit's own doctor."""
    if user.doctor is not None and appointment.doctor_id == user.doctor.id:
        return appointment.status != AppointmentStatus.cancelled
    return nurse_can_see(user, appointment, now)


def record_triage(
    appointment: Appointment, nurse: User, values: dict[str, Any], now: datetime | None = None
) -> VitalSigns:
    """Record a set of vital signs with the complaint and triage level for the visit (audited), and
    move its card on the flow board to "ready for doctor" when the board exists. Flushes."""
    if not may_record(nurse, appointment, now):
        raise NotAllowed(N_("Only a nurse of this hospital can triage a patient checked in today."))
    clean = clean_vitals(values)
    vitals = VitalSigns(
        appointment_id=appointment.id,
        patient_id=appointment.patient_id,
        hospital_id=appointment.hospital_id,
        recorded_by_id=nurse.id,
        taken_at=now or clock.now(),
        **clean,
    )
    db.session.add(vitals)
    db.session.flush()
    record_event(
        "create",
        "vital_signs",
        vitals.id,
        patient_id=appointment.patient_id,
        hospital_id=appointment.hospital_id,
        detail=f"level {clean['triage_level']}" if clean["triage_level"] else None,
    )
    _mark_triaged(appointment, nurse)
    return vitals


def _mark_triaged(appointment: Appointment, nurse: User) -> None:
    """The flow board's card of the visit moves to "ready for doctor" (hms.services.flow)."""
    from hms.services import flow  # imported here: the flow's services import the booking ones

    flow.mark_triaged(appointment.id, nurse)


def encounter_prefill(appointment_id: int) -> dict[str, Any]:
    """What the doctor's new encounter starts with: the latest triage's complaint and the vitals the
    encounter has columns for."""
    vitals = latest_for_appointment(appointment_id)
    if vitals is None:
        return {}
    from hms.services.clinical import VITAL_RANGES  # the encounter's own (narrower) plausible ranges

    prefill = {}
    for name, (low, high, _unit) in VITAL_RANGES.items():
        value = getattr(vitals, name)
        # A value the encounter form would refuse stays in the nurse's record only, shown beside it.
        if value is not None and low <= value <= high:
            prefill[name] = value
    if ("bp_systolic" in prefill) != ("bp_diastolic" in prefill):
        prefill.pop("bp_systolic", None)
        prefill.pop("bp_diastolic", None)
    if vitals.chief_complaint:
        prefill["chief_complaint"] = vitals.chief_complaint
    return prefill
