"""The platform admin sees the mail queue (counts, latest failures, never a body) and re-queues the
failed messages once their cause is fixed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import AuditEvent, OutboxEmail, OutboxStatus
from hms.services import outbox

HX = {"HX-Request": "true"}


def queued(to: str, status: OutboxStatus, error: str | None = None) -> OutboxEmail:
    row = outbox.enqueue_email(to=to, subject="HMS: hello", body="Secret body text", kind="test")
    row.status, row.last_error, row.attempts = status, error, 3 if status == OutboxStatus.failed else 0
    db.session.commit()
    return row


def test_the_platform_admin_sees_counts_and_failures_but_no_bodies(client, make, login_as):
    queued("a@example.org", OutboxStatus.pending)
    queued("b@example.org", OutboxStatus.sent)
    queued("c@example.org", OutboxStatus.failed, "550 mailbox unavailable")
    login_as(make.super_admin())
    page = client.get("/admin/outbox")
    assert page.status_code == 200
    html = page.data.decode()
    assert "c@example.org" in html and "550 mailbox unavailable" in html
    assert "a@example.org" not in html  # only failures are listed
    assert "Secret body text" not in html
    assert 'href="/admin/outbox"' in html  # in the navigation


def test_retrying_requeues_the_failed_messages_once(client, make, login_as):
    failed = queued("c@example.org", OutboxStatus.failed, "timeout")
    queued("b@example.org", OutboxStatus.sent)
    admin = make.super_admin()
    login_as(admin)
    clock.set_frozen((clock.now() + timedelta(minutes=5)).replace(microsecond=0))  # MariaDB keeps seconds
    response = client.post("/admin/outbox/retry", headers=HX)
    assert response.status_code == 200 and b"<html" not in response.data
    assert b"1 failed message is queued again." in response.data
    db.session.expire_all()
    row = db.session.get(OutboxEmail, failed.id)
    assert (row.status, row.attempts, row.next_try_at) == (OutboxStatus.pending, 0, clock.now())
    again = client.post("/admin/outbox/retry")
    assert again.status_code == 303
    assert b"No failed messages to retry." in client.get("/admin/outbox").data
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.record_type == "outbox").order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.user_id, e.detail) for e in events] == [
        ("retry", admin.id, "1 messages"),
        ("retry", admin.id, "0 messages"),
    ]


def test_only_the_platform_admin_opens_the_queue(client, make, login_as):
    hospital = make.hospital()
    for user in (make.patient(), make.doctor_at(hospital), make.hospital_admin(hospital)):
        login_as(user)
        assert client.get("/admin/outbox").status_code == 403
        assert client.post("/admin/outbox/retry").status_code == 403
