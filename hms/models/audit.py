"""Append-only, hash-chained audit log of who did what to which record.

Events are written by requests without any shared lock (`prev_hash`, `hash` and `seal_seq` empty); the
worker seals them into the chain in batches (hms/services/audit.py): each sealed event gets the next
position (`seal_seq`) and the hash of the one before it."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hms import clock
from hms.extensions import db
from hms.models.types import UTCDateTime


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("seal_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    record_type: Mapped[str] = mapped_column(String(48))
    record_id: Mapped[int | None]
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    hospital_id: Mapped[int | None] = mapped_column(ForeignKey("hospitals.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16), default="success")
    ip: Mapped[str | None] = mapped_column(String(45))
    detail: Mapped[str | None] = mapped_column(Text)
    # Set when the worker seals the event into the chain; empty until then.
    seal_seq: Mapped[int | None]
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))

    def payload(self) -> str:
        return json.dumps(
            [
                self.at.isoformat(),
                self.user_id,
                self.action,
                self.record_type,
                self.record_id,
                self.patient_id,
                self.hospital_id,
                self.outcome,
                self.ip,
                self.detail,
                self.prev_hash,
            ],
            separators=(",", ":"),
        )

    def compute_hash(self) -> str:
        return hashlib.sha256(self.payload().encode()).hexdigest()


class AuditChainHead(db.Model):
    """The one row that names the newest sealed event's hash and the chain's length. Only the sealer
    locks it (SELECT ... FOR UPDATE), so two sealers never fork the chain; requests never touch it."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_hash: Mapped[str] = mapped_column(String(64))
    last_event_id: Mapped[int | None]
    length: Mapped[int] = mapped_column(default=0)
