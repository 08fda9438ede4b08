"""Append-only, hash-chained audit log of who did what to which record."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hms import clock
from hms.extensions import db
from hms.models.types import UTCDateTime


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

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
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

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
    """The one row that names the newest audit event's hash. Writers lock it (SELECT ... FOR UPDATE) so
    that concurrent transactions append to the chain one after another instead of forking it."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_hash: Mapped[str] = mapped_column(String(64))
    last_event_id: Mapped[int | None]
    length: Mapped[int] = mapped_column(default=0)
