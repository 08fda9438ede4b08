"""Chat per appointment: only its patient and doctor, from booking until a week after the visit;
new messages by polling, unread markers, audited, and nasty input handled."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from hms import clock
from hms.extensions import db
from hms.models import AppointmentStatus, AuditEvent, Message, Notification
from hms.services import consultations

NOW = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)
HX = {"HX-Request": "true"}


@pytest.fixture
def visit(make):  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)
    hospital = make.hospital()
    doctor = make.doctor_at(hospital, name="Chinedu Okafor")
    patient = make.patient(name="Amina Hassan")
    return make.appointment(patient, doctor, hospital, start_at=NOW + timedelta(days=1))


def say(client, appointment, text: str, **kwargs):  # type: ignore[no-untyped-def]
    return client.post(f"/appointments/{appointment.id}/chat", data={"body": text}, **kwargs)


def bodies(appointment) -> list[str]:  # type: ignore[no-untyped-def]
    rows = db.session.scalars(
        select(Message.body).where(Message.appointment_id == appointment.id).order_by(Message.id)
    )
    return list(rows.all())


def test_patient_and_doctor_write_to_each_other(app, client, login_as, visit):
    patient, doctor = visit.patient.user, visit.doctor.user
    login_as(patient)
    assert say(client, visit, "Should I bring my X-ray?").status_code == 303
    doctor_client = login_as(doctor, on=app.test_client())
    page = doctor_client.get(f"/appointments/{visit.id}/chat")
    assert page.status_code == 200
    assert b"Messages with Amina Hassan" in page.data
    assert b"Should I bring my X-ray?" in page.data
    assert b'class="new-marker"' in page.data  # unread until now
    assert say(doctor_client, visit, "Yes, please.").status_code == 303
    mine = client.get(f"/appointments/{visit.id}/chat")
    assert b"Messages with Dr Chinedu Okafor" in mine.data
    assert b"Yes, please." in mine.data
    assert bodies(visit) == ["Should I bring my X-ray?", "Yes, please."]
    assert b"new-marker" not in doctor_client.get(f"/appointments/{visit.id}/chat").data  # read now


def test_polling_returns_only_newer_messages_and_nothing_when_there_are_none(app, client, login_as, visit):
    patient, doctor = visit.patient.user, visit.doctor.user
    login_as(patient)
    say(client, visit, "first")
    first_id = db.session.scalar(select(func.max(Message.id)))
    doctor_client = login_as(doctor, on=app.test_client())
    say(doctor_client, visit, "second")
    response = client.get(f"/appointments/{visit.id}/chat/messages?after={first_id}", headers=HX)
    assert response.status_code == 200
    assert b"second" in response.data and b"first" not in response.data
    assert b'hx-swap-oob="beforeend:#chat-log"' in response.data
    last_id = first_id + 1
    assert f"after={last_id}".encode() in response.data  # the next poll starts after it
    assert len(response.data) < 5000
    quiet = client.get(f"/appointments/{visit.id}/chat/messages?after={last_id}", headers=HX)
    assert quiet.status_code == 204 and quiet.data == b""
    assert client.get(f"/appointments/{visit.id}/chat/messages?after=junk", headers=HX).status_code == 200
    plain = client.get(f"/appointments/{visit.id}/chat/messages?after=0")
    assert plain.status_code == 303  # without HTMX: the page itself


def test_polling_marks_the_other_sides_messages_read(app, client, login_as, visit):
    login_as(visit.patient.user)
    say(client, visit, "hello doctor")
    doctor_client = login_as(visit.doctor.user, on=app.test_client())
    response = doctor_client.get(f"/appointments/{visit.id}/chat/messages?after=0", headers=HX)
    assert b"new-marker" in response.data
    message = db.session.scalar(select(Message))
    assert message.read_at is not None


def test_htmx_send_returns_a_fresh_form_and_asks_the_poller_to_fetch(client, login_as, visit):
    login_as(visit.patient.user)
    response = say(client, visit, "hello", headers=HX)
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == '{"chatChanged": true}'
    assert b'id="message-form"' in response.data and b"hello" not in response.data
    assert b"<html" not in response.data


def test_messages_are_audited_and_tell_the_other_side_once(app, client, login_as, visit):
    patient, doctor = visit.patient.user, visit.doctor.user
    login_as(patient)
    say(client, visit, "one")
    say(client, visit, "two")
    notices = db.session.scalars(
        select(Notification).where(Notification.user_id == doctor.id).order_by(Notification.id)
    ).all()
    assert len(notices) == 1 and notices[0].link == f"/appointments/{visit.id}/chat"
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.record_type == "message")).all()
    assert [(e.action, e.patient_id, e.user_id) for e in events] == [
        ("create", visit.patient_id, patient.id)
    ] * 2
    doctor_client = login_as(doctor, on=app.test_client())
    doctor_client.get(f"/appointments/{visit.id}/chat")
    db.session.refresh(notices[0])
    assert notices[0].read_at is not None  # reading the chat clears its notice
    views = db.session.scalars(select(AuditEvent).where(AuditEvent.record_type == "conversation")).all()
    assert [(v.action, v.user_id) for v in views] == [("view", doctor.id)]


def test_html_in_messages_is_shown_as_text(app, client, login_as, visit):
    login_as(visit.patient.user)
    say(client, visit, '<script>alert("x")</script><b>bold</b>')
    doctor_client = login_as(visit.doctor.user, on=app.test_client())
    page = doctor_client.get(f"/appointments/{visit.id}/chat").data.decode()
    assert "<script>alert" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in page
    poll = doctor_client.get(f"/appointments/{visit.id}/chat/messages?after=0", headers=HX).data.decode()
    assert "<script>alert" not in poll


def test_empty_and_oversized_messages_are_refused(client, login_as, visit):
    login_as(visit.patient.user)
    assert say(client, visit, "   ").status_code == 422
    too_long = say(client, visit, "x" * (Message.MAX_LENGTH + 1), headers=HX)
    assert too_long.status_code == 422 and b"Keep a message under 2000 characters." in too_long.data
    assert say(client, visit, "x" * Message.MAX_LENGTH).status_code == 303
    assert say(client, visit, "x" * 600_000).status_code == 422
    assert say(client, visit, "x" * (17 * 1024 * 1024)).status_code == 413  # never even read
    assert len(bodies(visit)) == 1


def test_a_double_click_sends_one_message(client, login_as, visit):
    login_as(visit.patient.user)
    say(client, visit, "Running late")
    say(client, visit, "Running late")
    assert bodies(visit) == ["Running late"]
    clock.set_frozen(NOW + timedelta(minutes=1))
    say(client, visit, "Running late")
    assert bodies(visit) == ["Running late", "Running late"]


def test_only_the_two_participants_see_the_chat(app, client, make, login_as, visit):
    login_as(visit.patient.user)
    say(client, visit, "private")
    other_patient = login_as(make.patient(), on=app.test_client())
    other_doctor = login_as(make.doctor_at(visit.hospital), on=app.test_client())
    for outsider in (other_patient, other_doctor):
        assert outsider.get(f"/appointments/{visit.id}/chat").status_code == 404
        assert outsider.get(f"/appointments/{visit.id}/chat/messages?after=0", headers=HX).status_code == 404
        assert say(outsider, visit, "let me in").status_code == 404
    for role_user in (make.hospital_admin(visit.hospital), make.staff(visit.hospital), make.super_admin()):
        assert (
            login_as(role_user, on=app.test_client()).get(f"/appointments/{visit.id}/chat").status_code == 403
        )
    assert bodies(visit) == ["private"]
    assert client.get("/appointments/99999999999999999999/chat").status_code == 404
    assert client.get("/appointments/abc/chat").status_code == 404
    assert client.get("/appointments/-1/chat").status_code == 404


def test_chat_closes_a_week_after_the_visit_but_keeps_the_messages(client, login_as, visit):
    login_as(visit.patient.user)
    say(client, visit, "before")
    clock.set_frozen(visit.end_at + timedelta(days=7))
    assert say(client, visit, "still open").status_code == 303
    clock.set_frozen(visit.end_at + timedelta(days=7, seconds=1))
    closed = say(client, visit, "too late")
    assert closed.status_code == 422 and b"This conversation is closed" in closed.data
    page = client.get(f"/appointments/{visit.id}/chat")
    assert b"before" in page.data and b"the messages stay with the record" in page.data
    assert b'id="chat-poll"' not in page.data
    assert bodies(visit) == ["before", "still open"]


def test_a_cancelled_appointments_chat_is_closed(client, login_as, visit):
    visit.status = AppointmentStatus.cancelled
    visit.active_slot = None
    db.session.commit()
    login_as(visit.patient.user)
    assert say(client, visit, "hello").status_code == 422
    assert not consultations.chat_is_open(visit)


def test_conversations_list_shows_unread_counts(app, client, login_as, make, visit):
    make.appointment(visit.patient.user, visit.doctor.user, visit.hospital, start_at=NOW - timedelta(days=30))
    doctor_client = login_as(visit.doctor.user, on=app.test_client())
    say(doctor_client, visit, "one")
    clock.set_frozen(NOW + timedelta(seconds=30))
    say(doctor_client, visit, "two")
    login_as(visit.patient.user)
    page = client.get("/consultations/").data.decode()
    assert re.search(rf'id="conversation-{visit.id}".*?2 new', page, re.S)
    assert page.count('id="conversation-') == 1  # the old visit without messages is not listed
    assert client.get("/consultations/").status_code == 200


def test_the_page_shows_the_latest_messages_and_loads_earlier_ones_on_demand(client, login_as, visit):
    patient = visit.patient.user
    for i in range(30):
        db.session.add(
            Message(
                appointment_id=visit.id, sender_id=patient.id, body=f"Message number {i:02d}", created_at=NOW
            )
        )
    db.session.commit()
    login_as(visit.doctor.user)
    page = client.get(f"/appointments/{visit.id}/chat")
    text = page.data.decode()
    assert "Message number 29" in text and "Message number 05" in text and "Message number 04" not in text
    assert len(page.data) < 15_000
    first_shown = db.session.scalar(select(Message.id).where(Message.body == "Message number 05"))
    assert f"before={first_shown}" in text
    earlier = client.get(f"/appointments/{visit.id}/chat?before={first_shown}", headers=HX).data.decode()
    assert (
        "Message number 00" in earlier
        and "Message number 04" in earlier
        and "Message number 05" not in earlier
    )
    assert "Earlier messages" not in earlier and "<html" not in earlier
    history = client.get(f"/appointments/{visit.id}/chat?before={first_shown}").data.decode()
    assert "Message number 00" in history and "Show the latest messages" in history
    assert 'id="message-form"' not in history and 'id="chat-poll"' not in history
    assert client.get(f"/appointments/{visit.id}/chat?before=-5").status_code == 200
    assert client.get(f"/appointments/{visit.id}/chat?before=99999999999999").status_code == 200


def test_conversations_list_upcoming_visits_first_then_recent_ones(client, login_as, make, visit):
    doctor, hospital = visit.doctor.user, visit.hospital

    def another(days: int):  # type: ignore[no-untyped-def]
        return make.appointment(make.patient(), doctor, hospital, NOW + timedelta(days=days))

    later, past = another(3), another(-2)
    another(40)  # too far ahead to list
    another(-20)  # long over, no messages
    login_as(doctor)
    page = client.get("/consultations/").data.decode()
    order = [int(n) for n in re.findall(r'id="conversation-(\d+)"', page)]
    assert order == [visit.id, later.id, past.id]


def test_the_conversation_follows_a_rescheduled_appointment(app, client, make, login_as, visit):
    from hms.services import scheduling

    patient, doctor = visit.patient.user, visit.doctor.user
    make.schedule(doctor, visit.hospital, start="00:00", end="23:30")
    login_as(patient)
    say(client, visit, "Can we talk about my results?")
    new_start = visit.start_at + timedelta(days=1)
    moved = scheduling.reschedule_appointment(visit, new_start, patient)
    db.session.commit()
    assert bodies(moved) == ["Can we talk about my results?"]
    assert bodies(visit) == []
    page = client.get(f"/appointments/{moved.id}/chat")
    assert page.status_code == 200 and b"Can we talk about my results?" in page.data
    doctor_client = login_as(doctor, on=app.test_client())
    assert b"Can we talk about my results?" in doctor_client.get(f"/appointments/{moved.id}/chat").data
