"""Hospital lifecycle on the platform: approve, suspend, reactivate."""

from __future__ import annotations

from hms import clock, events
from hms.models import Hospital, HospitalStatus, User
from hms.services.audit import record_event
from hms.services.errors import Conflict


def approve_hospital(hospital: Hospital, actor: User) -> Hospital:
    """Make a pending or suspended hospital active; approving an active one changes nothing."""
    if hospital.status == HospitalStatus.active:
        return hospital
    previous = hospital.status
    hospital.status = HospitalStatus.active
    hospital.status_changed_at = clock.now()
    action = "approve" if previous == HospitalStatus.pending else "reactivate"
    record_event(action, "hospital", hospital.id, hospital_id=hospital.id, user_id=actor.id)
    events.hospital_status_changed.send(hospital, actor=actor, status=hospital.status)
    return hospital


def suspend_hospital(hospital: Hospital, actor: User) -> Hospital:
    """Stop an active hospital taking bookings; suspending twice changes nothing."""
    if hospital.status == HospitalStatus.suspended:
        return hospital
    if hospital.status == HospitalStatus.pending:
        raise Conflict("A pending hospital cannot be suspended; approve it first.")
    hospital.status = HospitalStatus.suspended
    hospital.status_changed_at = clock.now()
    record_event("suspend", "hospital", hospital.id, hospital_id=hospital.id, user_id=actor.id)
    events.hospital_status_changed.send(hospital, actor=actor, status=hospital.status)
    return hospital
