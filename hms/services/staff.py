"""A hospital's staff and administrators: activate and deactivate accounts; make a lab technician
senior (she verifies results, hms.services.lab); keep at least one admin.

New staff members and administrators join by invitation (hms.services.invitations), which creates
their account with hms.services.accounts once they set a password."""

from __future__ import annotations

from sqlalchemy import func, select

from hms.database import lock_rows
from hms.extensions import db
from hms.i18n import N_
from hms.models import Hospital, HospitalAdmin, Staff, StaffKind, User
from hms.services.audit import record_event
from hms.services.errors import Conflict, Invalid


def staff_hospital_id(user: User, *kinds: StaffKind) -> int | None:
    """The hospital of a staff member of one of these kinds (None for anyone else): what the laboratory's
    and the wards' permission checks ask."""
    staff = getattr(user, "staff", None)
    return staff.hospital_id if staff is not None and staff.kind in kinds else None


def _set_active(user: User, active: bool) -> bool:
    if user.active == active:
        return False
    user.active = active
    if not active:
        user.session_version += 1  # ends every session of the account now
    db.session.flush()
    return True


def set_staff_active(staff: Staff, active: bool, actor: User) -> bool:
    """Let a staff member log in again, or stop him; False when he already was so."""
    changed = _set_active(staff.user, active)
    if changed:
        record_event(
            "activate" if active else "deactivate",
            "staff",
            staff.id,
            hospital_id=staff.hospital_id,
            user_id=actor.id,
        )
    return changed


def set_staff_senior(staff: Staff, senior: bool, actor: User) -> bool:
    """Make a lab technician senior (she may verify and amend results others entered) or not; False
    when she already was so. Only lab technicians can be senior (Invalid for other staff)."""
    if staff.kind != StaffKind.lab_technician:
        raise Invalid(N_("Only a lab technician can be a senior technician."))
    if staff.senior == senior:
        return False
    staff.senior = senior
    db.session.flush()
    record_event(
        "promote" if senior else "demote",
        "staff",
        staff.id,
        hospital_id=staff.hospital_id,
        user_id=actor.id,
        detail="senior lab technician",
    )
    return True


def _lock_hospital(hospital: Hospital) -> None:
    """Serialize changes to the hospital's administrators: two admins removing each other at once
    must not both succeed and leave none (row lock; SQLite's write lock)."""
    lock_rows((Hospital, hospital.id))


def active_admin_count(hospital: Hospital) -> int:
    return (
        db.session.scalar(
            select(func.count(HospitalAdmin.id))
            .join(User, User.id == HospitalAdmin.user_id)
            .where(HospitalAdmin.hospital_id == hospital.id, User.active.is_(True))
        )
        or 0
    )


def remove_admin(admin: HospitalAdmin, actor: User) -> bool:
    """Deactivate an administrator's account; never the hospital's last active one."""
    _lock_hospital(admin.hospital)
    db.session.refresh(admin.user)
    if not admin.user.active:
        return False
    if active_admin_count(admin.hospital) <= 1:
        raise Conflict(
            N_("This is the hospital's last administrator. Invite another one before removing this one.")
        )
    _set_active(admin.user, False)
    record_event("remove", "hospital_admin", admin.id, hospital_id=admin.hospital_id, user_id=actor.id)
    return True
