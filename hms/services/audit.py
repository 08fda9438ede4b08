"""Write and verify the hash-chained audit log."""

from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models.audit import AuditEvent

GENESIS = "0" * 64


def record_event(
    action: str,
    record_type: str,
    record_id: int | None = None,
    *,
    patient_id: int | None = None,
    hospital_id: int | None = None,
    outcome: str = "success",
    detail: str | None = None,
    user_id: int | None = None,
) -> AuditEvent:
    """Append one audit row chained to the previous one (the caller commits)."""
    if user_id is None and has_request_context() and current_user.is_authenticated:
        user_id = current_user.id
    ip = request.remote_addr if has_request_context() else None
    previous = db.session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    event = AuditEvent(
        at=clock.now().replace(microsecond=0),
        user_id=user_id,
        action=action,
        record_type=record_type,
        record_id=record_id,
        patient_id=patient_id,
        hospital_id=hospital_id,
        outcome=outcome,
        ip=ip,
        detail=detail,
        prev_hash=previous or GENESIS,
    )
    event.hash = event.compute_hash()
    db.session.add(event)
    db.session.flush()
    return event


def first_tampered_event() -> AuditEvent | None:
    """The first row whose hash or link does not match, or None when the chain is intact."""
    expected_prev = GENESIS
    for event in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        if event.prev_hash != expected_prev or event.compute_hash() != event.hash:
            return event
        expected_prev = event.hash
    return None
