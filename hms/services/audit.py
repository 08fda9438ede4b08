"""Write and verify the hash-chained audit log.

Every event stores the hash of the one before it. Appending reads the chain's head and writes after it,
so two transactions must never do that at the same time: each writer locks the one row of
`audit_chain_head` (SELECT ... FOR UPDATE on PostgreSQL and MariaDB) until it commits. On SQLite the
head's UPDATE takes the database's single write lock, and a transaction whose snapshot is stale cannot
write at all, so the chain cannot fork there either.

Lock order: take any other row locks (hms.database.lock_rows) before the first `record_event` of a
transaction; the head is always the last lock taken, so writers cannot deadlock on it."""

from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from hms import clock
from hms.extensions import db
from hms.models.audit import AuditChainHead, AuditEvent

GENESIS = "0" * 64
HEAD_ID = 1


def _locked_head() -> AuditChainHead:
    """The chain head, locked until the caller's transaction ends (created when it is missing)."""
    query = (
        select(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    head = db.session.scalar(query)
    if head is not None:
        return head
    # First event ever (or the row was lost): start from the newest event there is.
    last = db.session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    length = db.session.scalar(select(func.count(AuditEvent.id))) or 0
    try:
        with db.session.begin_nested():
            db.session.add(
                AuditChainHead(
                    id=HEAD_ID,
                    last_hash=last.hash if last else GENESIS,
                    last_event_id=last.id if last else None,
                    length=length,
                )
            )
    except IntegrityError:
        pass  # another transaction created it first; lock theirs
    return db.session.scalar(query)


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
    head = _locked_head()
    if db.engine.dialect.name == "sqlite":
        # Take SQLite's write lock now (FOR UPDATE means nothing there), then re-read under it.
        db.session.execute(
            update(AuditChainHead).where(AuditChainHead.id == HEAD_ID).values(length=AuditChainHead.length)
        )
        db.session.refresh(head)
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
        detail=detail[:1000] if detail else detail,
        prev_hash=head.last_hash,
    )
    event.hash = event.compute_hash()
    db.session.add(event)
    db.session.flush()
    head.last_hash = event.hash
    head.last_event_id = event.id
    head.length = head.length + 1
    db.session.flush()
    return event


def first_tampered_event() -> AuditEvent | None:
    """The first row whose hash or link does not match, or None when the chain is intact."""
    expected_prev = GENESIS
    for event in db.session.scalars(
        select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=500)
    ):
        if event.prev_hash != expected_prev or event.compute_hash() != event.hash:
            return event
        expected_prev = event.hash
    return None


def chain_problem() -> str | None:
    """What is wrong with the audit log, or None: a changed or re-linked row, or rows cut off its end."""
    bad = first_tampered_event()
    if bad is not None:
        return f"Audit log tampered at event {bad.id} ({bad.at.isoformat()})."
    head = db.session.get(AuditChainHead, HEAD_ID)
    if head is None:
        return None
    last = db.session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    count = db.session.scalar(select(func.count(AuditEvent.id))) or 0
    last_hash = last.hash if last else GENESIS
    if last_hash != head.last_hash or count != head.length:
        return (
            f"Audit log cut short: the head names {head.length} events ending at event "
            f"{head.last_event_id}, the log holds {count}."
        )
    return None
