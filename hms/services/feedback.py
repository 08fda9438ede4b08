"""Patients rate a visit that took place (1–5 stars and a comment), once; hospitals see the average
in their reports (hms/services/reports.py, "Average rating")."""

from __future__ import annotations

from sqlalchemy import select

from hms.database import savepoint
from hms.extensions import db
from hms.i18n import N_
from hms.models import Appointment, AppointmentStatus, Feedback, User
from hms.services.audit import record_event
from hms.services.errors import Conflict, Invalid, NotFound

MAX_COMMENT = 1000


def feedback_for(appointment: Appointment) -> Feedback | None:
    if appointment.status != AppointmentStatus.fulfilled:
        return None  # only a visit that took place is rated: no query for the others
    return db.session.scalar(select(Feedback).where(Feedback.appointment_id == appointment.id))


def can_leave_feedback(appointment: Appointment) -> bool:
    return appointment.status == AppointmentStatus.fulfilled and feedback_for(appointment) is None


def leave_feedback(appointment: Appointment, patient_user: User, rating: int, comment: str) -> Feedback:
    if patient_user.patient is None or appointment.patient_id != patient_user.patient.id:
        raise NotFound(N_("Not found."))
    if appointment.status != AppointmentStatus.fulfilled:
        raise Conflict(N_("You can rate a visit once it has taken place."))
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise Invalid(N_("Choose from 1 to 5 stars."), field="rating")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise Invalid(N_("Keep the comment under 1,000 characters."), field="comment")
    if feedback_for(appointment) is not None:
        raise Conflict(N_("You have already rated this visit."))
    row = Feedback(
        appointment_id=appointment.id,
        patient_id=appointment.patient_id,
        doctor_id=appointment.doctor_id,
        hospital_id=appointment.hospital_id,
        rating=rating,
        comment=comment,
    )
    with savepoint(Conflict(N_("You have already rated this visit."))):  # the same form sent twice at once
        db.session.add(row)
    record_event("create", "feedback", row.id, hospital_id=row.hospital_id, user_id=patient_user.id)
    return row
