"""The email outbox: written with the change, sent by workers to a real SMTP server, retried while
SMTP is down, never sent twice even with two workers at once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from hms import clock
from hms.extensions import db
from hms.models import Appointment, Channel, Notification, OutboxEmail, OutboxStatus
from hms.services import outbox, scheduling

MONDAY = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)


def _book(make, booked_by=None):  # type: ignore[no-untyped-def]
    doctor, hospital, start = make.bookable_slot()
    patient = make.patient(name="Amina Hassan")
    appointment = scheduling.book_appointment(
        patient=patient.patient,
        doctor_id=doctor.doctor.id,
        hospital_id=hospital.id,
        start=start,
        reason="Cough",
        booked_by=booked_by or patient,
    )
    return appointment, patient, doctor


def _queue(n: int, **fields) -> list[OutboxEmail]:  # type: ignore[no-untyped-def]
    rows = [
        outbox.enqueue_email(
            to=f"person{i}@example.org", subject=f"Notice {i}", body=f"Body {i}", kind="test"
        )
        for i in range(n)
    ]
    for row in rows:
        for key, value in fields.items():
            setattr(row, key, value)
    db.session.commit()
    return rows


def count(model, *where) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_booking_writes_its_emails_in_the_same_transaction(make):
    clock.set_frozen(MONDAY)
    appointment, patient, doctor = _book(make)
    db.session.commit()
    rows = db.session.scalars(select(OutboxEmail).order_by(OutboxEmail.to)).all()
    assert sorted(r.to for r in rows) == sorted([patient.email, doctor.email])
    assert all(r.status == OutboxStatus.pending and r.channel == Channel.email for r in rows)
    assert all("METHOD:REQUEST" in r.ics for r in rows)


def test_nothing_is_queued_when_the_change_rolls_back(make):
    clock.set_frozen(MONDAY)
    _book(make)
    db.session.rollback()
    assert count(Appointment) == 0
    assert count(OutboxEmail) == 0
    assert count(Notification) == 0


def test_worker_sends_due_mail_to_a_real_smtp_server_once(make, smtp_server):
    clock.set_frozen(MONDAY)
    appointment, patient, _ = _book(make)
    db.session.commit()
    report = outbox.deliver_all_due("test-worker")
    assert report.sent == 2
    assert len(smtp_server.messages) == 2
    mail = next(m for m in smtp_server.messages if m["To"] == patient.email)
    assert mail["Subject"].startswith("HMS: Your appointment with Dr")
    assert "Hello Amina" in mail.get_body(("plain",)).get_content()
    invite = next(part for part in mail.iter_attachments() if part.get_content_type() == "text/calendar")
    assert invite.get_param("method") == "REQUEST"
    assert f"UID:appointment-{appointment.id}@" in invite.get_content()
    assert mail["Message-ID"].startswith("<hms-outbox-")

    again = outbox.deliver_all_due("test-worker")
    assert again.sent == 0 and len(smtp_server.messages) == 2
    rows = db.session.scalars(select(OutboxEmail)).all()
    assert all(r.status == OutboxStatus.sent and r.attempts == 1 and r.sent_at == MONDAY for r in rows)
    assert all(r.claimed_by is None and r.locked_until is None for r in rows)


def test_smtp_down_for_an_hour_loses_nothing(make, smtp_server):
    clock.set_frozen(MONDAY)
    _queue(3)
    smtp_server.stop()
    moment = MONDAY
    for _ in range(6):  # an hour of failures with exponential backoff
        report = outbox.deliver_all_due("w1")
        assert report.sent == 0
        row = db.session.scalars(select(OutboxEmail).order_by(OutboxEmail.id)).first()
        moment = row.next_try_at
        clock.set_frozen(moment)
    rows = db.session.scalars(select(OutboxEmail)).all()
    assert all(r.status == OutboxStatus.pending for r in rows)
    assert all(r.attempts == 6 and "SMTP unavailable" in r.last_error for r in rows)
    delays = [outbox.retry_delay(n).total_seconds() for n in range(1, 8)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920]
    assert moment - MONDAY >= timedelta(minutes=30)

    smtp_server.start()
    report = outbox.deliver_all_due("w1")
    assert report.sent == 3
    assert len(smtp_server.messages) == 3
    assert count(OutboxEmail, OutboxEmail.status == OutboxStatus.sent) == 3


def test_a_failed_row_waits_for_its_next_try(make, smtp_server):
    clock.set_frozen(MONDAY)
    _queue(1)
    smtp_server.stop()
    outbox.deliver_all_due("w1")
    smtp_server.start()
    clock.set_frozen(MONDAY + timedelta(seconds=29))
    assert outbox.deliver_all_due("w1").sent == 0
    clock.set_frozen(MONDAY + timedelta(seconds=30))
    assert outbox.deliver_all_due("w1").sent == 1


def test_a_permanent_refusal_is_not_retried(make, smtp_server):
    clock.set_frozen(MONDAY)
    _queue(2)
    smtp_server.refuse.add("person0@example.org")
    report = outbox.deliver_all_due("w1")
    assert (report.sent, report.failed) == (1, 1)
    refused = db.session.scalar(select(OutboxEmail).where(OutboxEmail.to == "person0@example.org"))
    assert refused.status == OutboxStatus.failed and "550" in refused.last_error


def test_rows_give_up_after_the_maximum_attempts(app, make, smtp_server, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 3)
    clock.set_frozen(MONDAY)
    _queue(1)
    smtp_server.stop()
    for _ in range(3):
        outbox.deliver_all_due("w1")
        clock.set_frozen(clock.now() + timedelta(hours=2))
    row = db.session.scalar(select(OutboxEmail))
    assert (row.status, row.attempts) == (OutboxStatus.failed, 3)


def test_a_row_claimed_by_a_live_worker_is_not_taken_by_another(make, smtp_server):
    clock.set_frozen(MONDAY)
    _queue(1)
    token, _ = outbox.claim_due("w1", 10, MONDAY)
    assert outbox.deliver_all_due("w2").sent == 0  # w1 holds the lease
    clock.set_frozen(MONDAY + timedelta(minutes=6))  # w1 died: the lease ran out
    assert outbox.deliver_all_due("w2").sent == 1
    assert len(smtp_server.messages) == 1


def test_subject_cannot_carry_extra_headers(make, smtp_server):
    clock.set_frozen(MONDAY)
    outbox.enqueue_email(to="a@example.org", subject="Hi\r\nBcc: victim@example.org", body="x", kind="test")
    db.session.commit()
    outbox.deliver_all_due("w1")
    (mail,) = smtp_server.messages
    assert mail["Bcc"] is None
    assert mail["Subject"] == "Hi Bcc: victim@example.org"


@pytest.mark.concurrency
def test_two_workers_at_once_send_every_row_exactly_once(app, make, smtp_server):
    clock.set_frozen(MONDAY)
    _queue(60)
    sent_by: Counter[str] = Counter()
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def work(name: str) -> None:
        with app.app_context():
            try:
                barrier.wait()
                while True:
                    report = outbox.deliver_due(name, limit=4)
                    sent_by[name] += report.sent
                    if report.handled == 0:
                        break
            except BaseException as error:  # surfaced below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(f"worker-{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    ids = Counter(m["Message-ID"] for m in smtp_server.messages)
    assert len(ids) == 60 and max(ids.values()) == 1
    assert sum(sent_by.values()) == 60
    db.session.rollback()
    assert count(OutboxEmail, OutboxEmail.status == OutboxStatus.sent, OutboxEmail.attempts == 1) == 60


def test_worker_command_once_sends_and_reports(app, make, smtp_server):
    clock.set_frozen(MONDAY)
    _queue(2)
    result = app.test_cli_runner().invoke(args=["hms", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "sent 2, retrying 0, failed 0" in result.output
    assert len(smtp_server.messages) == 2


def test_outbox_command_shows_failures_and_queues_them_again(app, make, smtp_server):
    clock.set_frozen(MONDAY)
    _queue(2)
    smtp_server.refuse.add("person1@example.org")
    outbox.deliver_all_due("w1")
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["hms", "outbox"]).output
    assert "pending 0, sent 1, failed 1" in shown
    assert "to person1@example.org: SMTP: " in shown and "550" in shown
    smtp_server.refuse.clear()
    assert "1 failed messages queued again." in runner.invoke(args=["hms", "outbox", "--retry-failed"]).output
    assert outbox.deliver_all_due("w1").sent == 1


def test_sent_mail_is_purged_after_the_keeping_period(app, make, smtp_server):
    clock.set_frozen(MONDAY)
    _queue(1)
    outbox.deliver_all_due("w1")
    clock.set_frozen(MONDAY + timedelta(days=app.config["OUTBOX_KEEP_DAYS"], seconds=1))
    _queue(1)  # not sent yet: kept
    assert outbox.purge_sent(timedelta(days=app.config["OUTBOX_KEEP_DAYS"])) == 1
    db.session.commit()
    assert count(OutboxEmail) == 1
