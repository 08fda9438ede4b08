"""Write and verify the hash-chained audit log, without a lock shared by every hospital.

Writing: `record_event` (and `record_events` for many at once) only INSERTs the event, with no hash yet:
a request never waits for another one, whatever hospital it is at.

Sealing: the worker (`flask hms worker`, every round) calls `seal_events`, which locks the chain's head
row (the only lock of the design, taken by sealers alone), takes the events not yet sealed in the order
they were written, and gives each the next position in the chain (`seal_seq`) and the hash of the one
before it. An event whose transaction committed late is simply sealed in a later batch.

Verifying (`chain_problem`, `flask hms verify-audit`): every sealed event, in chain order, must link to
the one before it and hash to its stored hash (a changed or deleted event breaks it); the head must
name the last event and the chain's length (events cut off the end); and no event may wait unsealed for
longer than UNSEALED_GRACE (the worker is down, or an event was slipped in without being chained)."""

from __future__ import annotations

from datetime import timedelta

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from hms import clock
from hms.database import lock_rows
from hms.extensions import db
from hms.models.audit import AuditChainHead, AuditEvent

GENESIS = "0" * 64
HEAD_ID = 1
SEAL_BATCH = 1000
UNSEALED_GRACE = timedelta(minutes=1)


def _event(
    action: str,
    record_type: str,
    record_id: int | None,
    *,
    patient_id: int | None = None,
    hospital_id: int | None = None,
    outcome: str = "success",
    detail: str | None = None,
    user_id: int | None = None,
) -> AuditEvent:
    if user_id is None and has_request_context() and current_user.is_authenticated:
        user_id = current_user.id
    return AuditEvent(
        at=clock.now().replace(microsecond=0),
        user_id=user_id,
        action=action,
        record_type=record_type,
        record_id=record_id,
        patient_id=patient_id,
        hospital_id=hospital_id,
        outcome=outcome,
        ip=request.remote_addr if has_request_context() else None,
        detail=detail[:1000] if detail else detail,
    )


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
    """Write one audit event (the caller commits); the worker seals it into the chain. It goes to the
    database with the transaction's next flush (at the latest its commit), with the other rows written
    since: a booking's two events (the appointment's and its bill's) are one INSERT."""
    event = _event(
        action,
        record_type,
        record_id,
        patient_id=patient_id,
        hospital_id=hospital_id,
        outcome=outcome,
        detail=detail,
        user_id=user_id,
    )
    db.session.add(event)
    return event


def record_events(action: str, rows: list[dict]) -> None:
    """Write many events in one statement (a page of search results, each row audited): `rows` hold
    record_type, record_id and any of patient_id, hospital_id, detail. Flushes."""
    if rows:
        events = [_event(action, row["record_type"], row["record_id"], **_rest(row)) for row in rows]
        db.session.execute(
            insert(AuditEvent),
            [{c: getattr(e, c) for c in _COLUMNS} for e in events],
        )


_COLUMNS = (
    "at",
    "user_id",
    "action",
    "record_type",
    "record_id",
    "patient_id",
    "hospital_id",
    "outcome",
    "ip",
    "detail",
)


def _rest(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("record_type", "record_id")}


def _head() -> AuditChainHead:
    """The chain head, locked until the caller's transaction ends (made on the first seal)."""
    query = (
        select(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    head = db.session.scalar(query)
    if head is not None:
        return head
    try:
        with db.session.begin_nested():
            db.session.add(AuditChainHead(id=HEAD_ID, last_hash=GENESIS, last_event_id=None, length=0))
    except IntegrityError:
        pass  # another sealer made it first; lock theirs
    return db.session.scalar(query)


def seal_events(limit: int = SEAL_BATCH) -> int:
    """Seal up to `limit` unsealed events into the chain, oldest written first; how many. Flushes
    (the caller commits: the worker after each batch)."""
    lock_rows()  # SQLite: one writer from here on (the head's FOR UPDATE does it elsewhere)
    head = _head()
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.seal_seq.is_(None)).order_by(AuditEvent.id).limit(limit)
    ).all()
    for event in events:
        head.length += 1
        event.seal_seq = head.length
        event.prev_hash = head.last_hash
        event.hash = event.compute_hash()
        head.last_hash, head.last_event_id = event.hash, event.id
    db.session.flush()
    return len(events)


def seal_all() -> int:
    """Seal every event written so far (tests, the command line); commits after each batch."""
    total = 0
    while sealed := seal_events():
        db.session.commit()
        total += sealed
    db.session.commit()
    return total


def first_tampered_event() -> AuditEvent | None:
    """The first sealed event whose hash or link does not match, or None when the chain is intact."""
    expected_prev, expected_seq = GENESIS, 1
    for event in db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.seal_seq.is_not(None))
        .order_by(AuditEvent.seal_seq)
        .execution_options(yield_per=500)
    ):
        if (
            event.seal_seq != expected_seq
            or event.prev_hash != expected_prev
            or event.compute_hash() != event.hash
        ):
            return event
        expected_prev, expected_seq = event.hash, expected_seq + 1
    return None


def chain_problem() -> str | None:
    """What is wrong with the audit log, or None: a changed, removed or re-linked event, events cut off
    the chain's end, or events left unsealed for longer than UNSEALED_GRACE."""
    bad = first_tampered_event()
    if bad is not None:
        return f"Audit log tampered at event {bad.id} ({bad.at.isoformat()})."
    head = db.session.get(AuditChainHead, HEAD_ID)
    sealed = db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.seal_seq.is_not(None))) or 0
    last = db.session.execute(
        select(AuditEvent.id, AuditEvent.hash)
        .where(AuditEvent.seal_seq.is_not(None))
        .order_by(AuditEvent.seal_seq.desc())
        .limit(1)
    ).first()
    if head is not None:
        last_hash = last.hash if last and last.hash else GENESIS
        if last_hash != head.last_hash or sealed != head.length:
            return (
                f"Audit log cut short: the head names {head.length} events ending at event "
                f"{head.last_event_id}, the log holds {sealed}."
            )
    elif sealed:
        return f"Audit log head missing: {sealed} sealed events and no head."
    stale = db.session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.seal_seq.is_(None), AuditEvent.at < clock.now() - UNSEALED_GRACE
        )
    )
    if stale:
        return (
            f"{stale} audit events are older than {int(UNSEALED_GRACE.total_seconds())} seconds and not "
            "sealed into the chain: is the worker running?"
        )
    return None
