"""SQLite: a transaction that has read takes the write lock before its first write (hms.database), so
that a write after someone else's commit waits for the lock instead of failing at once with "database
is locked" (WAL refuses to turn a stale read transaction into a write transaction). These tests commit
for real, on the app's own engine, with a SQLite file."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, update

from hms.extensions import db
from hms.models import AuditEvent, User
from hms.services.audit import record_event

pytestmark = pytest.mark.commits


@pytest.fixture(autouse=True)
def _sqlite_only() -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("only SQLite turns read transactions into write transactions")


def test_a_write_after_another_connections_commit_waits_instead_of_failing(make):
    first, second = make.patient().id, make.patient().id
    db.session.commit()
    with db.engine.connect() as reader, db.engine.connect() as other:
        reader.execute(select(func.count()).select_from(User))  # a read transaction, as a page starts
        other.execute(update(User).where(User.id == second).values(full_name="Someone Else"))
        other.commit()  # committed after the reader's first read
        reader.execute(update(User).where(User.id == first).values(full_name="Changed Name"))
        reader.commit()
    db.session.rollback()
    names = dict(db.session.execute(select(User.id, User.full_name)).all())
    assert names[first] == "Changed Name" and names[second] == "Someone Else"


def test_the_write_lock_is_held_from_the_first_write_to_the_commit(make):
    """The upgraded transaction is a real one: another writer waits for it, and its writes are atomic."""
    patient_id, engine = make.patient().id, db.engine
    db.session.commit()
    with engine.connect() as reader:
        reader.execute(select(func.count()).select_from(User))
        reader.execute(update(User).where(User.id == patient_id).values(full_name="First Half"))
        done = threading.Event()

        def writer() -> None:
            with engine.connect() as other:
                other.execute(update(User).where(User.id == patient_id).values(full_name="Other Writer"))
                other.commit()
            done.set()

        thread = threading.Thread(target=writer)
        thread.start()
        assert not done.wait(0.5)  # waits for the lock
        reader.rollback()  # the first half goes, and the other writer goes on
        thread.join(10)
    assert done.is_set()
    db.session.rollback()
    assert db.session.scalar(select(User.full_name).where(User.id == patient_id)) == "Other Writer"


def test_audited_page_views_beside_a_writer_never_fail(app, make, login_as):
    """Two doctors reading a patient's records (each view writes its audit event) while the patient
    changes something, for real and at the same time: every answer is a success."""
    hospital = make.hospital()
    doctor = make.doctor_at(hospital)
    patient = make.patient()
    make.appointment(patient, doctor, hospital)
    db.session.commit()
    record, patient_user = f"/doctor/patients/{patient.patient.id}", patient.id
    clients = [app.test_client(), app.test_client(), app.test_client()]
    login_as(doctor, on=clients[0])
    login_as(doctor, on=clients[1])
    login_as(patient, on=clients[2])
    statuses: list[int] = []
    lock = threading.Lock()

    def views(client) -> None:  # type: ignore[no-untyped-def]
        for _ in range(40):
            status = client.get(record).status_code
            with lock:
                statuses.append(status)

    def writes() -> None:
        for _ in range(80):
            with app.app_context():
                record_event("view", "test", None, user_id=patient_user)  # a write, committed at once
                db.session.commit()
                db.session.remove()

    threads = [threading.Thread(target=views, args=(c,)) for c in clients[:2]] + [
        threading.Thread(target=writes)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert statuses == [200] * 80
    db.session.rollback()
    views_audited = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.record_type == "patient_record")
    )
    assert views_audited == 80
