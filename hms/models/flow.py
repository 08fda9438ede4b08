"""The patient flow of a hospital's day: a queue entry per visit (walk-in or checked in), its priority,
its number for the day and the state it has reached on the flow board."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hms import clock
from hms.extensions import db
from hms.i18n import N_
from hms.models.types import UTCDateTime, enum_type

if TYPE_CHECKING:
    from hms.models.hospitals import Department, Hospital
    from hms.models.scheduling import Appointment
    from hms.models.users import Doctor, Patient


class QueuePriority(enum.StrEnum):
    normal = "normal"
    urgent = "urgent"
    emergency = "emergency"

    @property
    def rank(self) -> int:
        """Higher goes first."""
        return {"normal": 0, "urgent": 1, "emergency": 2}[self.value]

    @property
    def label(self) -> str:
        return {"normal": N_("Normal"), "urgent": N_("Urgent"), "emergency": N_("Emergency")}[self.value]


class FlowState(enum.StrEnum):
    waiting = "waiting"
    triage = "triage"
    ready = "ready"  # waiting for the doctor
    consultation = "consultation"
    done = "done"
    left = "left"  # left without being seen

    @property
    def label(self) -> str:
        return {
            "waiting": N_("Waiting"),
            "triage": N_("Triage"),
            "ready": N_("Ready for doctor"),
            "consultation": N_("In consultation"),
            "done": N_("Done"),
            "left": N_("Left without being seen"),
        }[self.value]

    @property
    def is_open(self) -> bool:
        return self not in (FlowState.done, FlowState.left)


# Where a card can go from each state, the usual next step first (its button comes first).
NEXT_STATES: dict[FlowState, tuple[FlowState, ...]] = {
    FlowState.waiting: (FlowState.triage, FlowState.ready, FlowState.consultation, FlowState.left),
    FlowState.triage: (FlowState.ready, FlowState.waiting, FlowState.left),
    FlowState.ready: (FlowState.consultation, FlowState.triage, FlowState.left),
    FlowState.consultation: (FlowState.done, FlowState.ready),
    FlowState.done: (),
    FlowState.left: (),
}
# The timestamp column each state starts.
STARTED_AT = {
    FlowState.waiting: "queued_at",
    FlowState.triage: "triage_at",
    FlowState.ready: "ready_at",
    FlowState.consultation: "consultation_at",
    FlowState.done: "finished_at",
    FlowState.left: "finished_at",
}


class QueueCounter(db.Model):
    """The last queue number given at a hospital on a (local) day: one row per hospital and day, locked
    by the UPDATE that takes the next number, so numbers never repeat and hospitals never wait on
    each other."""

    __tablename__ = "queue_counters"

    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)


class QueueEntry(db.Model):
    """A visit on the day's flow board. One entry per appointment (a unique key); `version` guards the
    moves: a move made on a stale card is refused instead of overwriting a newer one."""

    __tablename__ = "queue_entries"
    __table_args__ = (
        UniqueConstraint("appointment_id", name="uq_queue_entries_appointment"),
        UniqueConstraint("hospital_id", "day", "number", name="uq_queue_entries_hospital_day_number"),
        Index("ix_queue_entries_hospital_day", "hospital_id", "day"),
        Index("ix_queue_entries_doctor_day", "doctor_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"))
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"))
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    day: Mapped[date] = mapped_column(Date)  # the hospital's local day
    number: Mapped[int]
    priority: Mapped[QueuePriority] = mapped_column(enum_type(QueuePriority), default=QueuePriority.normal)
    state: Mapped[FlowState] = mapped_column(enum_type(FlowState), default=FlowState.waiting)
    walk_in: Mapped[bool] = mapped_column(default=False)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    triage_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    consultation_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    queued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    appointment: Mapped[Appointment] = relationship()
    hospital: Mapped[Hospital] = relationship()
    doctor: Mapped[Doctor] = relationship()
    patient: Mapped[Patient] = relationship()
    department: Mapped[Department | None] = relationship()

    @property
    def state_started_at(self) -> datetime:
        return getattr(self, STARTED_AT[self.state]) or self.updated_at

    def minutes_in_state(self, now: datetime) -> int:
        """Whole minutes since the card entered its state (for a finished one: since it finished)."""
        return max(0, int((now - self.state_started_at).total_seconds() // 60))

    def minutes_waited(self, now: datetime) -> dict[FlowState, int]:
        """Minutes spent in each state passed through, from the timestamps (a state skipped has none)."""
        marks = [(s, getattr(self, STARTED_AT[s])) for s in FlowState if s != FlowState.left]
        marks = [(s, at) for s, at in marks if at is not None]
        if self.state == FlowState.left:
            marks = [(s, at) for s, at in marks if s != FlowState.done] + [(FlowState.left, self.finished_at)]
        marks.sort(key=lambda mark: mark[1])
        out: dict[FlowState, int] = {}
        for (state, at), following in zip(marks, [*marks[1:], (None, None)], strict=True):
            if not state.is_open:
                break
            end = following[1] or now
            out[state] = max(0, int((end - at).total_seconds() // 60))
        return out

    def next_states(self) -> tuple[FlowState, ...]:
        return NEXT_STATES[self.state]
