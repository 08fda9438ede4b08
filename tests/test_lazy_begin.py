"""PostgreSQL runs in autocommit and BEGIN is sent just before the first write or lock (hms.database.
lazy_begin): a request that only reads saves two round trips, and everything that writes is as atomic
as before. These tests commit for real, on the app's own engine."""

from __future__ import annotations

import pytest
from flask import g
from psycopg.pq import TransactionStatus
from sqlalchemy import func, select, text, update

from hms.extensions import db
from hms.models import Patient, User

pytestmark = pytest.mark.commits


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL's driver runs in autocommit with BEGIN sent lazily")


def _status(connection) -> TransactionStatus:  # type: ignore[no-untyped-def]
    return connection.connection.dbapi_connection.info.transaction_status


def test_reads_open_no_transaction_and_the_first_write_opens_one(make):
    patient = make.patient()
    db.session.commit()
    with db.engine.connect() as conn:
        conn.execute(select(func.count()).select_from(User))
        conn.execute(text("SHOW server_version"))
        assert _status(conn) == TransactionStatus.IDLE
        conn.execute(update(User).where(User.id == patient.id).values(full_name="Changed Name"))
        assert _status(conn) == TransactionStatus.INTRANS
        conn.execute(select(User.full_name).where(User.id == patient.id))  # inside it
        conn.rollback()
        assert _status(conn) == TransactionStatus.IDLE
    assert db.session.scalar(select(User.full_name).where(User.id == patient.id)) != "Changed Name"


def test_two_writes_roll_back_together(make):
    """Atomicity: the second write is in the transaction the first one opened."""
    first, second = make.patient(), make.patient()
    db.session.commit()
    ids = [first.id, second.id]
    with db.engine.connect() as conn:
        for user_id in ids:
            conn.execute(update(User).where(User.id == user_id).values(full_name="Half Done"))
        conn.rollback()
    names = db.session.scalars(select(User.full_name).where(User.id.in_(ids))).all()
    assert "Half Done" not in names


@pytest.mark.parametrize("lock", ["update", "share", "no key update"])
def test_a_locking_read_opens_the_transaction_and_holds_its_lock(make, lock):
    patient = make.patient()
    db.session.commit()
    statement = select(Patient.id).where(Patient.id == patient.patient.id)
    statement = {
        "update": statement.with_for_update(),
        "share": statement.with_for_update(read=True),
        "no key update": statement.with_for_update(key_share=True),
    }[lock]
    with db.engine.connect() as holder, db.engine.connect() as other:
        holder.execute(statement)
        assert _status(holder) == TransactionStatus.INTRANS  # the lock lives until commit
        other.execute(text("SET lock_timeout = '200ms'"))
        with pytest.raises(Exception, match="lock"):
            other.execute(
                update(Patient).where(Patient.id == patient.patient.id).values(phone="+254700000001")
            )
        other.rollback()
        holder.rollback()


def test_a_streamed_read_runs_in_a_transaction(make):
    """yield_per uses a server-side cursor, which PostgreSQL declares only inside a transaction."""
    for _ in range(3):
        make.patient()
    db.session.commit()
    with db.engine.connect() as conn:
        rows = conn.execution_options(yield_per=2).execute(select(User.id)).all()
        assert len(rows) >= 3
        conn.rollback()


def test_a_page_that_reads_opens_no_transaction_and_one_that_audits_commits(app, client, make, login_as):
    patient = make.patient()
    hospital = make.hospital()
    doctor = make.doctor_at(hospital)
    make.schedule(doctor, hospital)
    login_as(patient)
    seen: list[TransactionStatus] = []

    def status_after(response):  # type: ignore[no-untyped-def]
        if "db_checked" not in g:  # the request's own connection, before its clean-up
            g.db_checked = True
            seen.append(_status(db.session.connection()))
        return response

    app.after_request_funcs.setdefault(None, []).insert(0, status_after)
    try:
        url = f"/patient/doctors/{doctor.doctor.id}/at/{hospital.id}"
        assert client.get(url).status_code == 200
        assert client.get(url, headers={"HX-Request": "true"}).status_code == 200
        assert client.get("/patient/records").status_code == 200  # writes its audit event
    finally:
        app.after_request_funcs[None].remove(status_after)
    assert seen[:2] == [TransactionStatus.IDLE, TransactionStatus.IDLE]
    db.session.remove()
    events = db.session.scalar(text("SELECT count(*) FROM audit_events WHERE action = 'view'"))
    assert events >= 1  # committed, not left in a transaction that was never opened


def _prepared(conn) -> int:  # type: ignore[no-untyped-def]
    """How many statements psycopg keeps prepared on this connection."""
    return len(conn.connection.dbapi_connection._prepared._names)


def test_a_transaction_that_only_locked_ends_without_forgetting_the_prepared_statements(make):
    """A refused booking took its locks, read, and wrote nothing: ending it releases the locks and, being
    sent as COMMIT, keeps what psycopg prepared (a ROLLBACK makes it deallocate every statement, and
    PostgreSQL then plans each one again on the next requests)."""
    patient = make.patient()
    db.session.commit()
    count = select(func.count()).select_from(User)
    lock = select(Patient.id).where(Patient.id == patient.patient.id).with_for_update()
    with db.engine.connect() as conn, db.engine.connect() as other:
        for _ in range(6):  # psycopg prepares a statement on its fifth run
            conn.execute(count)
        assert _prepared(conn) >= 1
        conn.execute(lock)
        conn.execute(count)
        assert _status(conn) == TransactionStatus.INTRANS
        conn.rollback()
        assert _status(conn) == TransactionStatus.IDLE
        assert _prepared(conn) >= 1  # still prepared
        other.execute(text("SET lock_timeout = '200ms'"))
        other.execute(lock)  # the lock was released
        other.rollback()


@pytest.mark.parametrize("inside_a_savepoint", [False, True])
def test_a_write_after_a_locking_read_is_still_rolled_back(make, inside_a_savepoint):
    """The transaction opened by a lock, then a write (perhaps in a savepoint rolled back to, which does
    not undo the transaction's writes before it): ending it is a real ROLLBACK, and the write is gone."""
    patient = make.patient()
    db.session.commit()
    with db.engine.connect() as conn:
        conn.execute(select(Patient.id).where(Patient.id == patient.patient.id).with_for_update())
        conn.execute(update(User).where(User.id == patient.id).values(full_name="Never Written"))
        if inside_a_savepoint:
            savepoint = conn.begin_nested()
            conn.execute(select(func.count()).select_from(User))
            savepoint.rollback()
        conn.rollback()
        assert _status(conn) == TransactionStatus.IDLE
    assert db.session.scalar(select(User.full_name).where(User.id == patient.id)) != "Never Written"
