"""The day's patient flow: walk-ins join the queue, booked visits are checked in, cards move across the
flow board (waiting → triage → ready → consultation → done, or left without being seen).

Every queued patient has an appointment: a walk-in is booked into the doctor's next free time today
through the booking service (never over a booked visit) and checked in at once. Queue numbers come from
one counter row per hospital and day, taken by an UPDATE that locks only that row. A move names the
version of the card it was made on; a move on a stale card is refused (StaleCard, 409) with the fresh
card, so two people moving one card at once never corrupt it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from hms import clock
from hms.database import lock_rows, upsert
from hms.extensions import db
from hms.i18n import N_
from hms.models import (
    Appointment,
    AppointmentStatus,
    Department,
    Doctor,
    FlowState,
    Hospital,
    Membership,
    Patient,
    QueueCounter,
    QueueEntry,
    QueuePriority,
    User,
)
from hms.models.flow import STARTED_AT
from hms.services import scheduling
from hms.services.audit import record_event
from hms.services.errors import Conflict, Invalid, NotFound

WALK_IN_ATTEMPTS = 3


class StaleCard(Conflict):
    """The card changed since the page showed it; `entry` is the fresh card."""

    def __init__(self, entry: QueueEntry) -> None:
        super().__init__(N_("Someone else has just moved this patient. The card shows where he is now."))
        self.entry = entry


# ---------------------------------------------------------------- queue numbers


def next_number(hospital_id: int, day: date) -> int:
    """The next queue number of the hospital's day, in one upsert (`hms.database.upsert`): the day's
    first number inserts the counter row, every other one adds one to it, and the row stays locked until
    the caller commits (one row per hospital and day: other hospitals never wait)."""
    table = QueueCounter.__table__
    row = {"hospital_id": hospital_id, "day": day, "last_number": 1}
    db.session.execute(upsert(table, row, ("hospital_id", "day"), [("last_number", table.c.last_number + 1)]))
    return db.session.scalar(
        select(table.c.last_number).where(table.c.hospital_id == hospital_id, table.c.day == day)
    )


def _new_entry(
    appointment: Appointment,
    *,
    priority: QueuePriority,
    actor: User,
    walk_in: bool,
    department_id: int | None,
    now: datetime,
) -> QueueEntry:
    hospital = appointment.hospital
    day = scheduling.local_today(hospital, now)
    entry = QueueEntry(
        appointment_id=appointment.id,
        hospital_id=hospital.id,
        doctor_id=appointment.doctor_id,
        patient_id=appointment.patient_id,
        department_id=department_id,
        day=day,
        number=next_number(hospital.id, day),
        priority=priority,
        state=FlowState.waiting,
        walk_in=walk_in,
        queued_at=now,
        updated_at=now,
        queued_by_id=actor.id,
    )
    db.session.add(entry)
    db.session.flush()
    record_event(
        "queue",
        "appointment",
        appointment.id,
        patient_id=appointment.patient_id,
        hospital_id=hospital.id,
        user_id=actor.id,
        detail=f"number {entry.number}, {priority.value}" + (", walk-in" if walk_in else ""),
    )
    return entry


# ---------------------------------------------------------------- walk-ins


@dataclass(frozen=True)
class WalkInChoice:
    """Who can see a walk-in today: the doctors and departments offered by the walk-in form."""

    doctors: list[Membership]
    departments: list[Department]


def walk_in_choices(hospital: Hospital) -> WalkInChoice:
    """The hospital's doctors who take bookings, and its departments that have one (two statements)."""
    memberships = list(
        db.session.scalars(
            scheduling.bookable_memberships()
            .where(Membership.hospital_id == hospital.id)
            .options(joinedload(Membership.doctor).joinedload(Doctor.user))
            .order_by(User.full_name)
        ).unique()
    )
    ids = {m.department_id for m in memberships if m.department_id}
    departments = (
        list(
            db.session.scalars(
                select(Department)
                .where(Department.id.in_(ids), Department.retired.is_(False))
                .order_by(Department.name)
            )
        )
        if ids
        else []
    )
    return WalkInChoice(memberships, departments)


def _free_today(membership: Membership, now: datetime) -> scheduling.Slot | None:
    today = scheduling.local_today(membership.hospital, now)
    slots = scheduling.Calendar(membership.doctor_id, membership.hospital, today, today).slots(today, now)
    return next((slot for slot in slots if slot.free), None)


def _department_doctor(hospital: Hospital, department_id: int, now: datetime) -> Membership:
    """The doctor of the department with the earliest free time today."""
    department = db.session.scalar(
        select(Department).where(Department.id == department_id, Department.hospital_id == hospital.id)
    )
    if department is None or department.retired:
        raise Invalid(N_("Choose a department from the list."), field="department")
    members = list(
        db.session.scalars(
            scheduling.bookable_memberships().where(
                Membership.hospital_id == hospital.id, Membership.department_id == department_id
            )
        ).unique()
    )
    if not members:
        raise Conflict(N_("No doctor of this department takes patients at the moment."), field="department")
    today = scheduling.local_today(hospital, now)
    free = scheduling.next_free_slots(members, now)
    today_slots = [
        (slot.start, m)
        for m in members
        if (slot := free.get(m.id)) and slot.start.astimezone(hospital.tz).date() == today
    ]
    if not today_slots:
        raise Conflict(
            gettext("No doctor of %(department)s has free time left today.", department=department.name),
            field="department",
        )
    return min(today_slots, key=lambda pair: pair[0])[1]


def join_queue(
    *,
    hospital: Hospital,
    patient: Patient,
    actor: User,
    doctor_id: int | None = None,
    department_id: int | None = None,
    priority: QueuePriority = QueuePriority.normal,
    reason: str = "",
) -> QueueEntry:
    """A walk-in joins today's queue of a doctor (or of a department: its doctor free soonest): he is
    booked into the doctor's next free time today, checked in, and given the day's next number.
    Conflict (409) for a doctor who takes no patients here or has no free time left today."""
    now = clock.now()
    if doctor_id is None and department_id is None:
        raise Invalid(N_("Choose a doctor or a department."), field="doctor")
    if doctor_id is not None:
        membership = db.session.scalar(
            select(Membership)
            .where(Membership.doctor_id == doctor_id, Membership.hospital_id == hospital.id)
            .options(joinedload(Membership.doctor).joinedload(Doctor.user))
        )
        if membership is None:
            raise Invalid(N_("Choose a doctor from the list."), field="doctor")
        if not membership.takes_bookings or not membership.doctor.user.active:
            raise Conflict(
                gettext("Dr %(name)s takes no patients here at the moment.", name=membership.doctor.name),
                field="doctor",
            )
    else:
        membership = _department_doctor(hospital, department_id, now)
    open_entry = db.session.scalar(
        select(QueueEntry).where(
            QueueEntry.patient_id == patient.id,
            QueueEntry.hospital_id == hospital.id,
            QueueEntry.day == scheduling.local_today(hospital, now),
            QueueEntry.state.in_([s for s in FlowState if s.is_open]),
        )
    )
    if open_entry is not None:
        raise Conflict(
            gettext("This patient is already in today's queue (number %(number)s).", number=open_entry.number)
        )
    doctor_id = membership.doctor_id
    lock_rows((Doctor, doctor_id), (Patient, patient.id))
    appointment = None
    for _attempt in range(WALK_IN_ATTEMPTS):
        slot = _free_today(membership, now)
        if slot is None:
            raise Conflict(
                gettext("Dr %(name)s has no free time left today.", name=membership.doctor.name),
                field="doctor",
            )
        try:
            appointment = scheduling.book_appointment(
                patient=patient,
                doctor_id=doctor_id,
                hospital_id=hospital.id,
                start=slot.start,
                reason=reason or "Walk-in",
                booked_by=actor,
            )
            break
        except scheduling.SlotTaken:
            continue  # taken meanwhile: the next free time
    if appointment is None:
        raise Conflict(N_("The doctor's time is being booked right now. Please try again."), field="doctor")
    scheduling.set_appointment_status(appointment, AppointmentStatus.arrived, actor)
    return _new_entry(
        appointment,
        priority=priority,
        actor=actor,
        walk_in=True,
        department_id=department_id or membership.department_id,
        now=now,
    )


# ---------------------------------------------------------------- check-in


def todays_visits(hospital: Hospital, text: str = "", now: datetime | None = None) -> list[Appointment]:
    """The hospital's visits of today (any state, cancelled ones too, so the desk can say so), by start;
    `text` narrows them to patients whose name or MRN contains it. One statement."""
    now = now or clock.now()
    start, end = day_bounds(hospital, scheduling.local_today(hospital, now))
    query = (
        select(Appointment)
        .join(Appointment.patient)
        .join(Patient.user)
        .where(
            Appointment.hospital_id == hospital.id, Appointment.start_at >= start, Appointment.start_at < end
        )
        .options(
            joinedload(Appointment.patient).joinedload(Patient.user),
            joinedload(Appointment.doctor).joinedload(Doctor.user),
        )
        .order_by(Appointment.start_at, Appointment.id)
    )
    words = text.split()
    for word in words[:5]:
        pattern = f"%{word.lower().replace('%', '').replace('_', '')}%"
        query = query.where(func.lower(User.full_name).like(pattern) | func.lower(Patient.mrn).like(pattern))
    return list(db.session.scalars(query).unique())


def day_bounds(hospital: Hospital, day: date) -> tuple[datetime, datetime]:
    """The UTC instants the hospital's local `day` starts and ends."""
    start = datetime(day.year, day.month, day.day, tzinfo=hospital.tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=hospital.tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def check_in_refusal(appointment: Appointment, now: datetime) -> str | None:
    """Why the desk cannot check this visit in now (a message), or None."""
    hospital = appointment.hospital
    if appointment.status == AppointmentStatus.cancelled:
        return N_("This visit was cancelled; it cannot be checked in. Book a new one or queue a walk-in.")
    if appointment.start_at.astimezone(hospital.tz).date() != scheduling.local_today(hospital, now):
        return N_("This visit is not today; only today's visits can be checked in.")
    if appointment.status == AppointmentStatus.arrived:
        return None
    return appointment.status_refusal(AppointmentStatus.arrived, now)


def check_in(
    *, hospital: Hospital, appointment_id: int, actor: User, priority: QueuePriority = QueuePriority.normal
) -> QueueEntry:
    """A booked visit of today at this hospital arrives: marked arrived and queued with the day's next
    number. Checking in twice (two clerks at once) gives the one entry. NotFound for another hospital's
    visit; Conflict for a cancelled visit or another day's."""
    now = clock.now()
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.hospital_id != hospital.id:
        raise NotFound(N_("No such visit at this hospital."))
    lock_rows((Appointment, appointment.id))
    db.session.refresh(appointment, with_for_update=True)
    existing = db.session.scalar(select(QueueEntry).where(QueueEntry.appointment_id == appointment.id))
    if existing is not None:
        return existing
    refusal = check_in_refusal(appointment, now)
    if refusal is not None:
        raise Conflict(gettext(refusal, current=gettext(appointment.status.value), wanted=gettext("arrived")))
    scheduling.set_appointment_status(appointment, AppointmentStatus.arrived, actor)
    membership_department = db.session.scalar(
        select(Membership.department_id).where(
            Membership.doctor_id == appointment.doctor_id, Membership.hospital_id == hospital.id
        )
    )
    return _new_entry(
        appointment,
        priority=priority,
        actor=actor,
        walk_in=False,
        department_id=membership_department,
        now=now,
    )


# ---------------------------------------------------------------- moves


def move_refusal(entry: QueueEntry, to: FlowState) -> str | None:
    if to not in entry.next_states():
        return N_("A card in %(current)s cannot move to %(wanted)s.")
    return None


def move_visit(entry: QueueEntry, to: FlowState, actor: User, *, version: int | None = None) -> QueueEntry:
    """Move a card to `to` (one of its next states), audited. `version` is the card's version on the
    page it was moved from: a card moved meanwhile raises StaleCard with the fresh one. Moving to
    `done` marks the visit fulfilled; to `left` releases its time and records it as a no-show (he
    came, but was not seen: FHIR's closest word; no cancellation notice or refund is sent)."""
    now = clock.now()
    if version is not None and entry.version != version:
        raise StaleCard(_fresh(entry.id))
    if entry.state == to:
        return entry
    refusal = move_refusal(entry, to)
    if refusal is not None:
        raise Conflict(gettext(refusal, current=gettext(entry.state.label), wanted=gettext(to.label)))
    before = entry.state
    entry.state = to
    setattr(entry, STARTED_AT[to], now)
    entry.updated_at = now
    entry_id = entry.id
    try:
        db.session.flush()  # UPDATE ... WHERE version = the one read: 0 rows when moved meanwhile
    except StaleDataError:
        db.session.rollback()  # nothing of this move is kept; the caller's commit has nothing to do
        raise StaleCard(_fresh(entry_id)) from None
    appointment = entry.appointment
    if to == FlowState.done and appointment.status_refusal(AppointmentStatus.fulfilled, now) is None:
        scheduling.set_appointment_status(appointment, AppointmentStatus.fulfilled, actor)
    elif to == FlowState.left and appointment.is_live:
        appointment.status = AppointmentStatus.noshow
        appointment.active_slot = None
        appointment.status_changed_at = now
        db.session.flush()
    record_event(
        "move",
        "appointment",
        entry.appointment_id,
        patient_id=entry.patient_id,
        hospital_id=entry.hospital_id,
        user_id=actor.id,
        detail=f"{before.value} -> {to.value}",
    )
    return entry


def _fresh(entry_id: int) -> QueueEntry:
    return db.session.scalar(
        select(QueueEntry).where(QueueEntry.id == entry_id).execution_options(populate_existing=True)
    )


def mark_triaged(appointment_id: int, by: User) -> QueueEntry | None:
    """Vital signs were recorded for the visit: its card (waiting or in triage) moves to ready for
    the doctor. Nothing happens to a card already further on, or to a visit not on the board."""
    entry = db.session.scalar(select(QueueEntry).where(QueueEntry.appointment_id == appointment_id))
    if entry is None or entry.state not in (FlowState.waiting, FlowState.triage):
        return entry
    return move_visit(entry, FlowState.ready, by)


# ---------------------------------------------------------------- the board


@dataclass(frozen=True)
class BoardFilter:
    department_id: int | None = None
    doctor_id: int | None = None


def _board_query(hospital_id: int | None, day: date, board_filter: BoardFilter):  # type: ignore[no-untyped-def]
    query = select(QueueEntry).where(QueueEntry.day == day)
    if hospital_id is not None:
        query = query.where(QueueEntry.hospital_id == hospital_id)
    if board_filter.department_id:
        query = query.where(QueueEntry.department_id == board_filter.department_id)
    if board_filter.doctor_id:
        query = query.where(QueueEntry.doctor_id == board_filter.doctor_id)
    return query


def board_entries(
    hospital: Hospital, board_filter: BoardFilter, now: datetime | None = None
) -> list[QueueEntry]:
    """Today's cards at the hospital (one statement), the urgent first, then by number."""
    day = scheduling.local_today(hospital, now)
    rows = db.session.scalars(
        _board_query(hospital.id, day, board_filter).options(
            joinedload(QueueEntry.patient).joinedload(Patient.user),
            joinedload(QueueEntry.doctor).joinedload(Doctor.user),
            joinedload(QueueEntry.appointment),
        )
    ).unique()
    return sorted(rows, key=lambda e: (-e.priority.rank, e.number))


def board_stamp(hospital: Hospital, board_filter: BoardFilter, now: datetime | None = None) -> str:
    """What changes whenever the board's content does: the cards' count, their versions' sum and
    their latest change (one small aggregate statement). The minute is added by the caller, since the
    minutes shown on the cards change with it."""
    day = scheduling.local_today(hospital, now)
    query = _board_query(hospital.id, day, board_filter).subquery()
    count, versions, latest = db.session.execute(
        select(func.count(), func.coalesce(func.sum(query.c.version), 0), func.max(query.c.updated_at))
    ).one()
    return f"{count}-{versions}-{latest:%Y%m%d%H%M%S%f}" if latest else f"{count}-{versions}-0"


def columns(entries: list[QueueEntry]) -> list[tuple[FlowState, list[QueueEntry]]]:
    return [(state, [e for e in entries if e.state == state]) for state in FlowState]


def doctor_queue(doctor_id: int, now: datetime | None = None) -> list[QueueEntry]:
    """The doctor's cards of today at every hospital (one statement; 'today' is each hospital's)."""
    now = now or clock.now()
    days = {(now + timedelta(hours=h)).date() for h in (-14, 0, 14)}
    rows = db.session.scalars(
        select(QueueEntry)
        .where(QueueEntry.doctor_id == doctor_id, QueueEntry.day.in_(days))
        .options(
            joinedload(QueueEntry.patient).joinedload(Patient.user),
            joinedload(QueueEntry.hospital),
            joinedload(QueueEntry.appointment),
        )
    ).unique()
    mine = [e for e in rows if e.day == scheduling.local_today(e.hospital, now)]
    return sorted(mine, key=lambda e: (-e.priority.rank, e.number))


def flow_states(appointment_ids: list[int]) -> dict[int, FlowState]:
    """The flow state of each of these visits on the board (for the doctor's agenda): one statement."""
    if not appointment_ids:
        return {}
    return dict(
        db.session.execute(
            select(QueueEntry.appointment_id, QueueEntry.state).where(
                QueueEntry.appointment_id.in_(appointment_ids)
            )
        ).all()
    )


def hospital_entry(hospital: Hospital, entry_id: int) -> QueueEntry | None:
    return db.session.scalar(
        select(QueueEntry)
        .where(QueueEntry.id == entry_id, QueueEntry.hospital_id == hospital.id)
        .options(joinedload(QueueEntry.appointment), joinedload(QueueEntry.patient).joinedload(Patient.user))
    )


def entries_of(appointment_ids: list[int]) -> dict[int, QueueEntry]:
    """The queue entries of these visits, by appointment id (one statement)."""
    if not appointment_ids:
        return {}
    rows = db.session.scalars(select(QueueEntry).where(QueueEntry.appointment_id.in_(appointment_ids)))
    return {e.appointment_id: e for e in rows}


def visit_at(hospital: Hospital, appointment_id: int) -> Appointment | None:
    return db.session.scalar(
        select(Appointment)
        .where(Appointment.id == appointment_id, Appointment.hospital_id == hospital.id)
        .options(
            joinedload(Appointment.patient).joinedload(Patient.user),
            joinedload(Appointment.doctor).joinedload(Doctor.user),
        )
    )


# ---------------------------------------------------------------- the doctor's side

# What a doctor moves himself from his queue: he calls the patient in, and says when he is done.
DOCTOR_MOVES = (FlowState.consultation, FlowState.done)


def doctor_entry(doctor_id: int, entry_id: int) -> QueueEntry | None:
    """One of the doctor's own cards (None for anyone else's)."""
    return db.session.scalar(
        select(QueueEntry)
        .where(QueueEntry.id == entry_id, QueueEntry.doctor_id == doctor_id)
        .options(joinedload(QueueEntry.appointment))
    )
