"""Doctor memberships of hospitals: add, toggle, answer requests to join, remove and leave.

A toggle carries the state the admin wants (active or inactive), never "flip": it is applied by one
conditional UPDATE that also bumps `version`, so two admins clicking at once, or one clicking twice,
end in the state last asked for, with one audit event per real change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from sqlalchemy import delete, func, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import InvalidRequestError

from hms import clock
from hms.database import lock_rows, savepoint
from hms.extensions import db
from hms.i18n import N_
from hms.models import (
    Appointment,
    Department,
    Doctor,
    Hospital,
    Membership,
    MembershipStatus,
    Role,
    ScheduleRule,
    User,
)
from hms.services import accounts, scheduling
from hms.services.audit import record_event
from hms.services.errors import Conflict, Invalid, NotAllowed

ALREADY_LINKED = N_("Dr %(name)s is already linked to this hospital.")


@dataclass(frozen=True)
class Change:
    """What a membership operation did, for the message shown to the admin or the doctor."""

    changed: bool
    future_appointments: int = 0


def _audit(action: str, membership: Membership, actor: User, detail: str | None = None) -> None:
    record_event(
        action,
        "membership",
        membership.id,
        hospital_id=membership.hospital_id,
        user_id=actor.id,
        detail=detail,
    )


def _check_department(hospital: Hospital, department: Department | None) -> None:
    if department is not None and (department.hospital_id != hospital.id or department.retired):
        raise Invalid(N_("Choose one of this hospital's departments."), field="department")


def _add_new(name: str, **fields: Any) -> Membership:
    """A new membership of Dr `name`; the same doctor linked twice at once is the clear Conflict. It is
    built inside the savepoint too: it names its doctor and hospital, which then count as changed."""
    with savepoint(Conflict(gettext(ALREADY_LINKED, name=name), field="email")):
        membership = Membership(**fields)
        db.session.add(membership)
    return membership


def _lock(membership_id: int) -> None:
    """Serialize writers of this membership: a row lock (PostgreSQL, MariaDB) or SQLite's write lock,
    taken before the conditional UPDATE so that SQLite never fails a read-then-write race."""
    lock_rows((Membership, membership_id))


def _reload(membership: Membership) -> None:
    """Read the row again after a conditional UPDATE; it may have been removed meanwhile."""
    try:
        db.session.refresh(membership)
    except InvalidRequestError as error:  # the row is gone
        raise Conflict(
            N_("This doctor is no longer linked to the hospital; someone removed him meanwhile.")
        ) from error


def future_appointments(membership: Membership) -> list[Appointment]:
    """The doctor's live appointments at this hospital that have not started yet, soonest first."""
    return scheduling.future_appointments(membership.doctor_id, membership.hospital_id)


def add_doctor(
    hospital: Hospital,
    email: str,
    actor: User,
    *,
    department: Department | None = None,
    fee_minor: int = 0,
) -> Membership:
    """Link a doctor who already has an account; a pending request of his to join is accepted."""
    _check_department(hospital, department)
    user = accounts.find_user_by_email(email or "")
    if user is None or user.role != Role.doctor or user.doctor is None:
        raise Invalid(
            N_("No doctor's account has this email. Invite the doctor to create one instead."), field="email"
        )
    existing = db.session.scalar(
        select(Membership).where(
            Membership.doctor_id == user.doctor.id, Membership.hospital_id == hospital.id
        )
    )
    if existing is not None:
        if existing.status != MembershipStatus.requested:
            raise Conflict(gettext(ALREADY_LINKED, name=user.full_name), field="email")
        existing.department = department or existing.department
        existing.fee_minor = fee_minor or existing.fee_minor
        answer_request(existing, accept=True, actor=actor)
        return existing
    membership = _add_new(
        user.full_name,
        doctor=user.doctor,
        hospital=hospital,
        department=department,
        fee_minor=fee_minor,
        status=MembershipStatus.active,
        since=clock.now(),
    )
    _audit("create", membership, actor, detail="added by email")
    return membership


def set_membership_active(membership: Membership, active: bool, actor: User) -> Change:
    """Make the membership active or inactive; asking for the state it has changes nothing."""
    target = MembershipStatus.active if active else MembershipStatus.inactive
    if membership.status == MembershipStatus.requested:
        raise Conflict(N_("This doctor asked to join; accept or decline the request first."))
    membership_id = membership.id
    _lock(membership_id)
    result = db.session.execute(
        update(Membership)
        .where(
            Membership.id == membership_id,
            Membership.status.in_([MembershipStatus.active, MembershipStatus.inactive]),
            Membership.status != target,
        )
        .values(status=target, version=Membership.version + 1)
        .execution_options(synchronize_session=False)
    )
    _reload(membership)
    changed = result.rowcount == 1
    if changed:
        _audit("activate" if active else "deactivate", membership, actor)
    return Change(changed, len(future_appointments(membership)))


def set_terms(
    membership: Membership, actor: User, *, department: Department | None, fee_minor: int
) -> Change:
    """Change the doctor's department and consultation fee here. Appointments already booked keep the
    fee they were billed with; new bookings use the new one."""
    if department is None or department.id != membership.department_id:  # a retired one may stay
        _check_department(membership.hospital, department)
    if fee_minor < 0:
        raise Invalid("The fee cannot be negative.", field="fee")
    _lock(membership.id)
    _reload(membership)
    before = (membership.department_id, membership.fee_minor)
    membership.department = department
    membership.fee_minor = fee_minor
    changed = before != (membership.department_id, membership.fee_minor)
    if changed:
        db.session.flush()
        _audit(
            "update",
            membership,
            actor,
            detail=f"department {before[0]}→{membership.department_id}, fee {before[1]}→{fee_minor}",
        )
    return Change(changed)


def answer_request(membership: Membership, accept: bool, actor: User) -> Change:
    """Accept (active) or decline (removed) a doctor's request to join; answering twice changes nothing."""
    membership_id, hospital_id = membership.id, membership.hospital_id
    _lock(membership_id)
    if accept:
        result = db.session.execute(
            update(Membership)
            .where(Membership.id == membership_id, Membership.status == MembershipStatus.requested)
            .values(status=MembershipStatus.active, version=Membership.version + 1, since=clock.now())
            .execution_options(synchronize_session=False)
        )
        _reload(membership)
        if result.rowcount == 1:
            _audit("accept", membership, actor)
            return Change(True)
        return Change(False)
    result = db.session.execute(
        delete(Membership)
        .where(Membership.id == membership_id, Membership.status == MembershipStatus.requested)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        record_event("decline", "membership", membership_id, hospital_id=hospital_id, user_id=actor.id)
        db.session.expunge(membership)
        return Change(True)
    return Change(False)


def request_to_join(doctor: Doctor, hospital: Hospital, actor: User) -> Membership:
    """A doctor asks an active hospital to link him; its admin accepts or declines."""
    if not hospital.is_active:
        raise NotAllowed(N_("This hospital does not take new doctors at the moment."))
    existing = db.session.scalar(
        select(Membership).where(Membership.doctor_id == doctor.id, Membership.hospital_id == hospital.id)
    )
    if existing is not None:
        if existing.status == MembershipStatus.requested:
            raise Conflict(gettext("You already asked to join %(hospital)s.", hospital=hospital.name))
        raise Conflict(gettext("You are already linked to %(hospital)s.", hospital=hospital.name))
    membership = _add_new(
        doctor.name,
        doctor=doctor,
        hospital=hospital,
        status=MembershipStatus.requested,
        fee_minor=0,
        since=clock.now(),
    )
    _audit("request", membership, actor)
    return membership


def remove_membership(
    membership: Membership, actor: User, *, cancel_future: bool, reason: str = ""
) -> Change:
    """Unlink a doctor from a hospital (by its admin, or by the doctor leaving).

    His future appointments there are cancelled with `reason` (the patients are told), or kept when
    `cancel_future` is False: they stay booked, and the hospital sees them in its appointments."""
    # Hold the doctor's booking lock (as booking does) so no appointment slips in while he leaves,
    # then look again: a removal that waited for another one finds the link gone, and does nothing.
    membership_id = sa_inspect(membership).identity[0]  # without loading a row that may be gone
    doctor_id = db.session.scalar(select(Membership.doctor_id).where(Membership.id == membership_id))
    if doctor_id is not None:
        lock_rows((Doctor, doctor_id))
    if db.session.scalar(select(Membership.id).where(Membership.id == membership_id)) is None:
        return Change(False, 0)
    upcoming = future_appointments(membership)
    reason = " ".join((reason or "").split())
    if upcoming and cancel_future and not reason:
        raise Invalid(N_("Give the patients a reason for the cancellation."), field="reason")
    cancelled = 0
    if cancel_future:
        cancelled = _cancel_all(upcoming, actor, reason)
    leaving = actor.doctor is not None and actor.doctor.id == membership.doctor_id
    action = "leave" if leaving else "remove"
    kept = len(upcoming) - cancelled
    _audit(action, membership, actor, detail=f"cancelled {cancelled}, kept {kept} future appointments")
    # His weekly schedule there goes with him; kept appointments stay booked.
    for rule in db.session.scalars(
        select(ScheduleRule).where(
            ScheduleRule.doctor_id == membership.doctor_id, ScheduleRule.hospital_id == membership.hospital_id
        )
    ):
        db.session.delete(rule)
    db.session.delete(membership)
    db.session.flush()
    return Change(True, kept)


def _cancel_all(appointments: list[Appointment], actor: User, reason: str) -> int:
    """Cancel through the scheduling service, which frees the slots and tells the patients."""
    for appointment in appointments:
        scheduling.cancel_appointment(appointment, actor, reason)
    return len(appointments)


def withdraw_request(membership: Membership, actor: User) -> Change:
    """The doctor takes back his request to join before it is answered."""
    if membership.status != MembershipStatus.requested:
        raise Conflict(N_("The hospital has already answered; leave it instead."))
    result = db.session.execute(
        delete(Membership)
        .where(Membership.id == membership.id, Membership.status == MembershipStatus.requested)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        _audit("withdraw", membership, actor)
        db.session.expunge(membership)
        return Change(True)
    return Change(False)


def counts_by_status(hospital: Hospital) -> dict[str, int]:
    rows = db.session.execute(
        select(Membership.status, func.count())
        .where(Membership.hospital_id == hospital.id)
        .group_by(Membership.status)
    ).all()
    return {status.value: n for status, n in rows}
