"""Talking to the doctor about an appointment: chat messages and one-to-one video calls.

Only the appointment's patient and doctor take part; anyone else gets NotFound, as if the appointment
did not exist. Chat is open from the booking until some days after the visit; messages are kept with
the record and audited. A video call opens shortly before the slot and closes at its end; the app
relays the WebRTC signalling (offer, answer, ICE candidates), the media go browser to browser."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import joinedload

from hms import clock
from hms.database import lock_rows
from hms.extensions import db
from hms.i18n import N_, in_language_of
from hms.models import (
    Appointment,
    AppointmentStatus,
    Doctor,
    Message,
    Notification,
    Patient,
    Role,
    User,
    VideoSignal,
)
from hms.services.audit import record_event
from hms.services.errors import Conflict, Invalid, NotFound
from hms.services.notifications import notify
from hms.services.scheduling import LONGEST_VISIT
from hms.templating import zoned_time

SIGNALS_PER_MINUTE = 240
DOUBLE_SUBMIT_WINDOW = timedelta(seconds=10)  # per participant and call; a negotiation takes a few dozen


def _write_lock() -> None:
    """SQLite: turn this request's transaction into a writing one before it reads what it checks
    (two browsers post signals at the same moment; a read-then-write transaction would fail there).
    PostgreSQL and MariaDB: nothing to do."""
    lock_rows()


def participant_appointment(user: User, appointment_id: int) -> Appointment:
    """The appointment if `user` is its patient or its doctor; NotFound for everyone else."""
    query = select(Appointment).where(Appointment.id == appointment_id)
    if user.role == Role.patient and user.patient is not None:
        query = query.where(Appointment.patient_id == user.patient.id)
    elif user.role == Role.doctor and user.doctor is not None:
        query = query.where(Appointment.doctor_id == user.doctor.id)
    else:
        raise NotFound(N_("No such appointment."))
    appointment = db.session.scalar(
        query.options(
            joinedload(Appointment.hospital),
            joinedload(Appointment.doctor).joinedload(Doctor.user),
            joinedload(Appointment.patient).joinedload(Patient.user),
        )
    )
    if appointment is None:
        raise NotFound(N_("No such appointment."))
    return appointment


def other_participant(appointment: Appointment, user: User) -> User:
    return appointment.doctor.user if user.id == appointment.patient.user_id else appointment.patient.user


def chat_link(appointment: Appointment) -> str:
    return f"/appointments/{appointment.id}/chat"


# ---------------------------------------------------------------- chat


def chat_closes_at(appointment: Appointment) -> datetime:
    return appointment.end_at + timedelta(days=current_app.config["CHAT_DAYS_AFTER_VISIT"])


def chat_is_open(appointment: Appointment, now: datetime | None = None) -> bool:
    """Open from the booking until some days after the visit; a cancelled appointment's chat is closed."""
    now = now or clock.now()
    return appointment.status != AppointmentStatus.cancelled and now <= chat_closes_at(appointment)


def post_message(appointment: Appointment, sender: User, body: str) -> Message:
    """Add a message to the appointment's chat, audit it, and tell the other participant (one unread
    notice per conversation, not one per message). Flushes."""
    text = (body or "").replace("\r\n", "\n").strip()
    if not text:
        raise Invalid(N_("Write a message first."), field="body")
    if len(text) > Message.MAX_LENGTH:
        raise Invalid(
            gettext("Keep a message under %(num)d characters.", num=Message.MAX_LENGTH), field="body"
        )
    if not chat_is_open(appointment):
        raise Conflict(N_("This conversation is closed."), field="body")
    _write_lock()
    now = clock.now()
    last = db.session.scalar(
        select(Message)
        .where(Message.appointment_id == appointment.id, Message.sender_id == sender.id)
        .order_by(Message.id.desc())
        .limit(1)
    )
    if last is not None and last.body == text and now - last.created_at < DOUBLE_SUBMIT_WINDOW:
        return last  # a double click sends the message once
    message = Message(appointment_id=appointment.id, sender_id=sender.id, body=text, created_at=now)
    db.session.add(message)
    db.session.flush()
    record_event(
        "create",
        "message",
        message.id,
        patient_id=appointment.patient_id,
        hospital_id=appointment.hospital_id,
        user_id=sender.id,
        detail=f"appointment {appointment.id}",
    )
    recipient = other_participant(appointment, sender)
    link = chat_link(appointment)
    waiting = db.session.scalar(
        select(Notification.id).where(
            Notification.user_id == recipient.id,
            Notification.kind == "chat_message",
            Notification.link == link,
            Notification.read_at.is_(None),
        )
    )
    if waiting is None:
        with in_language_of(recipient):
            who = (
                gettext("Dr %(name)s", name=sender.full_name)
                if sender.role == Role.doctor
                else sender.full_name
            )
            text = gettext(
                "New message from %(who)s about the appointment on %(when)s.",
                who=who,
                when=zoned_time(appointment.start_at, appointment.hospital.tz),
            )
        notify(
            recipient,
            "chat_message",
            text,
            link=link,
            hospital_id=appointment.hospital_id,
        )
    return message


def messages_between(
    appointment: Appointment, *, after_id: int = 0, up_to: int | None = None, limit: int = 200
) -> list[Message]:
    """Messages with `after_id` < id <= `up_to`: the newest `limit` of them, oldest first."""
    query = select(Message).where(Message.appointment_id == appointment.id, Message.id > after_id)
    if up_to is not None:
        query = query.where(Message.id <= up_to)
    rows = db.session.scalars(
        query.options(joinedload(Message.sender)).order_by(Message.id.desc()).limit(limit)
    ).all()
    return list(reversed(rows))


def mark_messages_read(appointment: Appointment, reader: User, up_to: int) -> int:
    """The reader has seen the other side's messages up to id `up_to` (and the bell's notice)."""
    _write_lock()
    now = clock.now()
    count = db.session.execute(
        update(Message)
        .where(
            Message.appointment_id == appointment.id,
            Message.sender_id != reader.id,
            Message.read_at.is_(None),
            Message.id <= up_to,
        )
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.execute(
        update(Notification)
        .where(
            Notification.user_id == reader.id,
            Notification.kind == "chat_message",
            Notification.link == chat_link(appointment),
            Notification.read_at.is_(None),
        )
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return count or 0


def open_conversation(appointment: Appointment, viewer: User, up_to: int) -> None:
    """The viewer opened the chat: the messages he sees are read now, and the view is audited."""
    mark_messages_read(appointment, viewer, up_to)
    record_event(
        "view",
        "conversation",
        appointment.id,
        patient_id=appointment.patient_id,
        hospital_id=appointment.hospital_id,
        user_id=viewer.id,
    )


CONVERSATIONS_AHEAD = timedelta(days=14)
CONVERSATIONS_KEPT = timedelta(days=90)


def conversations(user: User, now: datetime | None = None, limit: int = 100) -> list[tuple[Appointment, int]]:
    """The user's conversations: open chats of visits in the next two weeks or the past week, and
    chats with messages from the last three months; upcoming soonest first, then past newest first;
    each with the number of messages he has not read."""
    now = now or clock.now()
    if user.role == Role.patient and user.patient is not None:
        mine = Appointment.patient_id == user.patient.id
    elif user.role == Role.doctor and user.doctor is not None:
        mine = Appointment.doctor_id == user.doctor.id
    else:
        return []
    days = timedelta(days=current_app.config["CHAT_DAYS_AFTER_VISIT"])
    has_messages = select(Message.id).where(Message.appointment_id == Appointment.id).exists()
    rows = db.session.scalars(
        select(Appointment)
        .where(
            mine,
            # An index range for (patient_id or doctor_id, start_at): no visit ends a day after it starts.
            Appointment.start_at >= now - max(days, CONVERSATIONS_KEPT) - LONGEST_VISIT,
            or_(
                (Appointment.status != AppointmentStatus.cancelled)
                & (Appointment.end_at >= now - days)
                & (Appointment.start_at <= now + CONVERSATIONS_AHEAD),
                has_messages & (Appointment.end_at >= now - CONVERSATIONS_KEPT),
            ),
        )
        .options(
            joinedload(Appointment.hospital),
            joinedload(Appointment.doctor).joinedload(Doctor.user),
            joinedload(Appointment.patient).joinedload(Patient.user),
        )
        .order_by(Appointment.start_at.desc())
        .limit(limit)
    ).all()
    upcoming = sorted((a for a in rows if a.end_at > now), key=lambda a: a.start_at)
    past = [a for a in rows if a.end_at <= now]
    unread = dict(
        db.session.execute(
            select(Message.appointment_id, func.count(Message.id))
            .where(
                Message.appointment_id.in_([a.id for a in rows]),
                Message.sender_id != user.id,
                Message.read_at.is_(None),
            )
            .group_by(Message.appointment_id)
        ).all()
    )
    return [(a, unread.get(a.id, 0)) for a in [*upcoming, *past]]


# ---------------------------------------------------------------- video


def call_opens_at(appointment: Appointment) -> datetime:
    return appointment.start_at - timedelta(minutes=current_app.config["VIDEO_OPENS_MINUTES_BEFORE"])


def call_is_open(appointment: Appointment, now: datetime | None = None) -> bool:
    """From a few minutes before the slot until its end, while the appointment is live."""
    now = now or clock.now()
    return appointment.is_live and call_opens_at(appointment) <= now < appointment.end_at


def signalling_is_open(appointment: Appointment, now: datetime | None = None) -> bool:
    """A call that started in time may run over: the relay stays open a while after the slot."""
    now = now or clock.now()
    grace = timedelta(minutes=current_app.config["VIDEO_OVERRUN_MINUTES"])
    return appointment.is_live and call_opens_at(appointment) <= now < appointment.end_at + grace


def join_call(appointment: Appointment, user: User) -> int:
    """Record that `user` joined the call; returns the last signal id (older signals are history)."""
    if not call_is_open(appointment):
        raise Conflict(N_("The video call is not open now."))
    _write_lock()
    record_event(
        "join",
        "video_call",
        appointment.id,
        patient_id=appointment.patient_id,
        hospital_id=appointment.hospital_id,
        user_id=user.id,
    )
    return db.session.scalar(
        select(func.coalesce(func.max(VideoSignal.id), 0)).where(VideoSignal.appointment_id == appointment.id)
    )


def post_signal(appointment: Appointment, sender: User, kind: str, payload: object) -> VideoSignal:
    """Relay one signalling message to the other participant. Flushes."""
    if kind not in VideoSignal.KINDS:
        raise Invalid(N_("Unknown signal."))
    text = json.dumps(payload, separators=(",", ":"))
    if len(text) > VideoSignal.MAX_PAYLOAD:
        raise Invalid(N_("Signal too large."))
    if not signalling_is_open(appointment):
        raise Conflict(N_("The video call is not open now."))
    _write_lock()
    now = clock.now()
    recent = db.session.scalar(
        select(func.count(VideoSignal.id)).where(
            VideoSignal.appointment_id == appointment.id,
            VideoSignal.sender_id == sender.id,
            VideoSignal.created_at > now - timedelta(minutes=1),
        )
    )
    if recent and recent >= SIGNALS_PER_MINUTE:
        raise Conflict(N_("Too many signals; wait a moment."))
    signal = VideoSignal(
        appointment_id=appointment.id, sender_id=sender.id, kind=kind, payload=text, created_at=now
    )
    db.session.add(signal)
    db.session.flush()
    return signal


def signals_after(
    appointment: Appointment, reader: User, after_id: int, limit: int = 100
) -> list[VideoSignal]:
    """The other participant's signals with an id above `after_id`, oldest first."""
    return list(
        db.session.scalars(
            select(VideoSignal)
            .where(
                VideoSignal.appointment_id == appointment.id,
                VideoSignal.sender_id != reader.id,
                VideoSignal.id > after_id,
            )
            .order_by(VideoSignal.id)
            .limit(limit)
        )
    )


def purge_signals(older_than: timedelta = timedelta(days=1)) -> int:
    """Signalling is only needed while a call is set up; the worker drops old rows."""
    result = db.session.execute(
        delete(VideoSignal)
        .where(VideoSignal.created_at < clock.now() - older_than)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def on_appointment_rescheduled(appointment: Appointment, old: Appointment, **_: object) -> None:
    """The conversation follows the appointment to its new time: the messages of the old booking
    belong to the new one (same patient, same doctor), so nothing said before the move is lost."""
    db.session.execute(
        update(Message)
        .where(Message.appointment_id == old.id)
        .values(appointment_id=appointment.id)
        .execution_options(synchronize_session=False)
    )


def connect_subscribers() -> None:
    """Subscribe to the domain events (idempotent: blinker keeps one connection per receiver)."""
    from hms import events

    events.appointment_rescheduled.connect(on_appointment_rescheduled)
