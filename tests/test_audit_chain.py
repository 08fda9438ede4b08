"""The audit log's hash chain: one chain under concurrent writers, and tampering is detected."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, func, select, update

from hms.extensions import db
from hms.models import AuditChainHead, AuditEvent
from hms.services import audit

WRITERS = 6
EVENTS_EACH = 8


def _write_events(app, user_id: int, writer: int, barrier: threading.Barrier | None, errors: list) -> None:  # type: ignore[no-untyped-def]
    try:
        with app.app_context():
            if barrier is not None:
                barrier.wait(timeout=30)
            for n in range(EVENTS_EACH):
                audit.record_event("view", "encounter", writer * 100 + n, user_id=user_id)
                db.session.commit()
            db.session.remove()
    except Exception as error:  # reported by the test below
        errors.append(error)


@pytest.mark.concurrency
def test_concurrent_writers_append_to_one_unbroken_chain(app, make):
    """Each thread has its own app context and session. PostgreSQL and MariaDB run them at once;
    SQLite has one writer at a time, so there they run one after another."""
    user = make.super_admin()
    audit.record_event("view", "hospital", 1, user_id=user.id)
    db.session.commit()
    errors: list[Exception] = []
    if db.engine.dialect.name == "sqlite":
        for writer in range(WRITERS):
            _write_events(app, user.id, writer, None, errors)
    else:
        barrier = threading.Barrier(WRITERS)
        threads = [
            threading.Thread(target=_write_events, args=(app, user.id, w, barrier, errors))
            for w in range(WRITERS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(t.is_alive() for t in threads)
    assert errors == []
    db.session.rollback()
    total = 1 + WRITERS * EVENTS_EACH
    assert db.session.scalar(select(func.count(AuditEvent.id))) == total
    links = db.session.scalars(select(AuditEvent.prev_hash)).all()
    assert len(set(links)) == total  # no two events follow the same one: the chain did not fork
    assert audit.first_tampered_event() is None
    assert audit.chain_problem() is None
    head = db.session.get(AuditChainHead, audit.HEAD_ID)
    assert head.length == total


def test_verification_catches_a_modified_row(app, make):
    user = make.super_admin()
    for n in range(4):
        audit.record_event("view", "prescription", n, user_id=user.id, patient_id=None)
    db.session.commit()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["hms", "verify-audit"]).output.strip() == "Audit log intact."
    third = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()[2]
    db.session.execute(update(AuditEvent).where(AuditEvent.id == third.id).values(outcome="denied"))
    db.session.commit()
    assert audit.first_tampered_event().id == third.id
    result = runner.invoke(args=["hms", "verify-audit"])
    assert result.exit_code == 1 and f"tampered at event {third.id}" in result.output


def test_verification_catches_a_rehashed_row(app, make):
    """Recomputing a changed row's own hash still breaks the link from the next row."""
    user = make.super_admin()
    for n in range(3):
        audit.record_event("view", "encounter", n, user_id=user.id)
    db.session.commit()
    first, second, _third = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    first.action = "delete"
    first.hash = first.compute_hash()
    db.session.commit()
    assert audit.first_tampered_event().id == second.id


def test_verification_catches_events_cut_off_the_end(app, make):
    user = make.super_admin()
    for n in range(3):
        audit.record_event("view", "encounter", n, user_id=user.id)
    db.session.commit()
    newest = db.session.scalar(select(func.max(AuditEvent.id)))
    db.session.execute(delete(AuditEvent).where(AuditEvent.id == newest))
    db.session.commit()
    assert audit.first_tampered_event() is None  # what is left is a valid chain...
    assert "cut short" in audit.chain_problem()  # ...but the head remembers the lost event
    result = app.test_cli_runner().invoke(args=["hms", "verify-audit"])
    assert result.exit_code == 1 and "cut short" in result.output


def test_a_missing_head_row_is_rebuilt_from_the_newest_event(make):
    user = make.super_admin()
    audit.record_event("view", "encounter", 1, user_id=user.id)
    db.session.commit()
    db.session.execute(delete(AuditChainHead))
    db.session.commit()
    event = audit.record_event("view", "encounter", 2, user_id=user.id)
    db.session.commit()
    first = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).first()
    assert event.prev_hash == first.hash
    assert audit.chain_problem() is None
