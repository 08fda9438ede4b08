"""The audit log's hash chain: written without any lock shared by hospitals, sealed in order by the
worker, and tampering (a changed, re-hashed, removed or cut-off event, or one left unsealed) is found."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text, update

from hms import clock
from hms.extensions import db
from hms.models import AuditChainHead, AuditEvent
from hms.services import audit
from tests.concurrency import run_at_once

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
def test_concurrent_writers_and_sealers_make_one_unbroken_chain(app, make):
    """Writers run at once (PostgreSQL and MariaDB; SQLite one after another), then three sealers at
    once: every event is sealed exactly once, in one chain with no fork."""
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

    def seal() -> None:
        audit.seal_events(limit=7)  # small batches, so that the sealers interleave
        db.session.commit()

    for _round in range(8):
        assert run_at_once(app, [seal, seal, seal]) == ["done"] * 3
    db.session.rollback()
    total = 1 + WRITERS * EVENTS_EACH
    assert db.session.scalar(select(func.count(AuditEvent.id))) == total
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.seal_seq.is_(None))) == 0
    links = db.session.scalars(select(AuditEvent.prev_hash)).all()
    assert len(set(links)) == total  # no two events follow the same one: the chain did not fork
    assert audit.first_tampered_event() is None
    assert audit.chain_problem() is None
    assert db.session.get(AuditChainHead, audit.HEAD_ID).length == total


def _lock_timeout(seconds: int) -> None:
    """Make this transaction give up on a lock after `seconds` instead of waiting (and fail)."""
    if db.engine.dialect.name == "mysql":
        db.session.execute(text(f"SET SESSION innodb_lock_wait_timeout = {seconds}"))
    else:
        db.session.execute(text(f"SET LOCAL lock_timeout = '{seconds}s'"))


@pytest.mark.concurrency
def test_a_booking_at_one_hospital_never_waits_for_one_at_another(app, make):
    """A transaction that booked at hospital A (and wrote its audit events) stays open; a booking at
    hospital B commits at once. With the old chain head, B waited for A's commit (the platform lock)."""
    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time by design; the point is PostgreSQL and MariaDB")
    bookings = []
    for _ in range(2):
        doctor, hospital, start = make.bookable_slot(make.hospital())
        bookings.append((make.patient().patient.id, doctor.doctor.id, hospital.id, start))
    db.session.commit()
    booked, release, outcome = threading.Event(), threading.Event(), {}

    def book(patient_id: int, doctor_id: int, hospital_id: int, start: datetime):  # type: ignore[no-untyped-def]
        from hms.models import Patient, User
        from hms.services import scheduling

        patient = db.session.get(Patient, patient_id)
        return scheduling.book_appointment(
            patient=patient,
            doctor_id=doctor_id,
            hospital_id=hospital_id,
            start=start,
            reason="",
            booked_by=db.session.get(User, patient.user_id),
        )

    def hold_a() -> None:
        with app.app_context():
            try:
                book(*bookings[0])
                outcome["a"] = "booked, not committed"
            finally:
                booked.set()
                release.wait(timeout=60)
                db.session.rollback()
                db.session.remove()

    holder = threading.Thread(target=hold_a)
    holder.start()
    assert booked.wait(timeout=30) and outcome.get("a") == "booked, not committed"

    def book_b() -> None:
        _lock_timeout(3)
        book(*bookings[1])
        db.session.commit()

    try:
        assert run_at_once(app, [book_b]) == ["done"]
    finally:
        release.set()
        holder.join(timeout=60)
    if db.engine.dialect.name == "mysql":
        db.session.execute(text("SET SESSION innodb_lock_wait_timeout = 50"))


def _sealed_events(make, count: int = 3) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    user = make.super_admin()
    for n in range(count):
        audit.record_event("view", "encounter", n, user_id=user.id)
    db.session.commit()
    assert audit.seal_all() == count
    return db.session.scalars(select(AuditEvent).order_by(AuditEvent.seal_seq)).all()


def test_a_request_writes_the_event_and_the_worker_seals_it(make):
    audit.seal_all()  # the chain as it stands (empty, unless an earlier test left sealed events)
    head = db.session.get(AuditChainHead, audit.HEAD_ID)
    before = (head.length, head.last_hash) if head is not None else (0, audit.GENESIS)
    user = make.super_admin()
    event = audit.record_event("view", "hospital", 1, user_id=user.id)
    db.session.commit()
    assert (event.seal_seq, event.prev_hash, event.hash) == (None, None, None)
    db.session.expire_all()
    head = db.session.get(AuditChainHead, audit.HEAD_ID)
    after = (head.length, head.last_hash) if head is not None else (0, audit.GENESIS)
    assert after == before  # writing touched no shared row
    assert audit.seal_all() == 1
    db.session.refresh(event)
    assert event.seal_seq == before[0] + 1 and event.prev_hash == before[1]
    assert event.hash == event.compute_hash()


def test_an_event_committed_late_is_sealed_after_the_others(make):
    """Ids are given at insert, commits come in any order: the chain follows the sealing order."""
    early, later = _sealed_events(make, 2)
    late = audit.record_event("view", "encounter", 9, user_id=early.user_id)
    db.session.commit()
    assert audit.seal_all() == 1
    db.session.refresh(late)
    assert late.seal_seq == 3 and late.prev_hash == later.hash
    assert audit.chain_problem() is None


def test_verification_catches_a_modified_row(app, make):
    third = _sealed_events(make, 4)[2]
    runner = app.test_cli_runner()
    assert runner.invoke(args=["hms", "verify-audit"]).output.strip() == "Audit log intact."
    db.session.execute(update(AuditEvent).where(AuditEvent.id == third.id).values(outcome="denied"))
    db.session.commit()
    assert audit.first_tampered_event().id == third.id
    result = runner.invoke(args=["hms", "verify-audit"])
    assert result.exit_code == 1 and f"tampered at event {third.id}" in result.output


def test_verification_catches_a_rehashed_row(make):
    """Recomputing a changed row's own hash still breaks the link from the next row."""
    first, second, _third = _sealed_events(make)
    first.action = "delete"
    first.hash = first.compute_hash()
    db.session.commit()
    assert audit.first_tampered_event().id == second.id


def test_verification_catches_a_removed_or_unsealed_row(make):
    first, second, third = _sealed_events(make)
    db.session.execute(delete(AuditEvent).where(AuditEvent.id == second.id))
    db.session.commit()
    assert audit.first_tampered_event().id == third.id
    db.session.rollback()


def test_verification_catches_events_cut_off_the_end(app, make):
    events = _sealed_events(make)
    db.session.execute(delete(AuditEvent).where(AuditEvent.id == events[-1].id))
    db.session.commit()
    assert audit.first_tampered_event() is None  # what is left is a valid chain...
    assert "cut short" in audit.chain_problem()  # ...but the head remembers the lost event
    result = app.test_cli_runner().invoke(args=["hms", "verify-audit"])
    assert result.exit_code == 1 and "cut short" in result.output


def test_an_event_left_unsealed_for_over_a_minute_is_reported(make):
    clock.set_frozen(datetime(2026, 12, 6, 9, 0, tzinfo=UTC))
    _sealed_events(make, 1)
    audit.record_event("view", "encounter", 5)
    db.session.commit()
    assert audit.chain_problem() is None  # the worker has a minute
    clock.set_frozen(clock.now() + timedelta(seconds=61))
    assert "not sealed into the chain" in audit.chain_problem()
    audit.seal_all()
    assert audit.chain_problem() is None


def test_a_deleted_head_with_sealed_events_is_reported(make):
    _sealed_events(make, 2)
    db.session.execute(delete(AuditChainHead))
    db.session.commit()
    assert "head missing" in audit.chain_problem()


def test_the_worker_seals_every_round(app, make):
    user = make.super_admin()
    audit.record_event("view", "hospital", 1, user_id=user.id)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["hms", "worker", "--once"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.seal_seq.is_(None))) == 0
