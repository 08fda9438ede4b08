"""Saved reports: a named set of report parameters (hms.services.reports.ReportParams) of one owner."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hms import clock
from hms.extensions import db
from hms.models.types import UTCDateTime

if TYPE_CHECKING:
    from hms.models.hospitals import Hospital
    from hms.models.users import User


class SavedReport(db.Model):
    """A report its owner named and keeps. `hospital_id` is the hospital it is about (its admin's);
    NULL for the platform administrator's reports. `params` is validated by one schema on save and load."""

    __tablename__ = "saved_reports"
    __table_args__ = (Index("ix_saved_reports_owner_hospital", "owner_id", "hospital_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    hospital_id: Mapped[int | None] = mapped_column(ForeignKey("hospitals.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    owner: Mapped[User] = relationship()
    hospital: Mapped[Hospital | None] = relationship()
