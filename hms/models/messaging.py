"""Telling people things: in-app notifications, the outbox of emails and text messages, reminders,
notification preferences, password-reset tokens, chat messages and video-call signalling."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hms import clock
from hms.extensions import db
from hms.models.types import UTCDateTime, enum_type

if TYPE_CHECKING:
    from hms.models.users import User


class Notification(db.Model):
    """One notice in a user's in-app list (the bell)."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(String(500))
    link: Mapped[str | None] = mapped_column(String(255))
    # The IANA zone of the hospital the notice is about, to date it on that hospital's clock (none for
    # the platform's own notices, dated in DEFAULT_TIMEZONE).
    timezone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_unread(self) -> bool:
        return self.read_at is None


class Channel(enum.StrEnum):
    """How a notice leaves the building (FHIR ContactPoint.system words)."""

    email = "email"
    sms = "sms"


class OutboxStatus(enum.StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"  # gave up: a permanent refusal, or too many attempts


class OutboxEmail(db.Model):
    """A message to send, written in the same transaction as the change it tells about and sent
    later by `flask hms worker`. Despite the name it also carries text messages (channel "sms"):
    one outbox, one worker, one retry policy. A worker claims a row by setting `claimed_by` and
    `locked_until` with a conditional UPDATE, so that no two workers ever send the same row."""

    __tablename__ = "outbox_emails"
    __table_args__ = (Index("ix_outbox_emails_due", "status", "next_try_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel), default=Channel.email)
    kind: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    hospital_id: Mapped[int | None] = mapped_column(ForeignKey("hospitals.id"))
    to: Mapped[str] = mapped_column("to_address", String(254))  # an email address or an E.164 number
    subject: Mapped[str] = mapped_column(String(255), default="")
    body: Mapped[str] = mapped_column(Text)
    ics: Mapped[str | None] = mapped_column(Text)  # an iCalendar attachment (text/calendar)
    status: Mapped[OutboxStatus] = mapped_column(enum_type(OutboxStatus), default=OutboxStatus.pending)
    attempts: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    provider_ref: Mapped[str | None] = mapped_column(String(64))  # the SMS provider's message id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    def __repr__(self) -> str:
        return f"<OutboxEmail {self.id} {self.channel} {self.kind} to={self.to} {self.status}>"


class NotificationPreference(db.Model):
    """Whether notices of one kind reach a user by email and by text message (in-app always)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(40))
    email: Mapped[bool] = mapped_column(default=True)
    sms: Mapped[bool] = mapped_column(default=False)


class AppointmentReminder(db.Model):
    """A reminder already sent: the unique key makes each reminder go out once, whatever restarts."""

    __tablename__ = "appointment_reminders"
    __table_args__ = (UniqueConstraint("appointment_id", "offset_minutes"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"))
    offset_minutes: Mapped[int]
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


class PasswordResetToken(db.Model):
    """A single-use, expiring password-reset link; only the SHA-256 of the token is stored."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    def is_usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at


class Message(db.Model):
    """A chat message between an appointment's patient and doctor (FHIR Communication)."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_appointment_id_id", "appointment_id", "id"),)

    MAX_LENGTH = 2000

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"))
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # when the other side saw it

    sender: Mapped[User] = relationship()


class VideoSignal(db.Model):
    """One WebRTC signalling message (hello, offer, answer, ICE candidate, bye) of a video call,
    relayed through the app between the appointment's two participants."""

    __tablename__ = "video_signals"
    __table_args__ = (Index("ix_video_signals_appointment_id_id", "appointment_id", "id"),)

    KINDS = ("hello", "welcome", "offer", "answer", "candidate", "bye")
    MAX_PAYLOAD = 16_000

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"))
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now, index=True)
