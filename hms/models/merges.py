"""Merges of two records of one person, and the log of every row a merge changed (so it can be undone)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hms import clock
from hms.extensions import db
from hms.models.types import UTCDateTime
from hms.models.users import Patient, User


class PatientMerge(db.Model):
    """`merged` was folded into `kept` at a hospital's desk; `undone_at` once an administrator undid it."""

    __tablename__ = "patient_merges"
    __table_args__ = (Index("ix_patient_merges_hospital_at", "hospital_id", "merged_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"))
    kept_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    merged_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    kept: Mapped[Patient] = relationship(foreign_keys=[kept_id])
    merged: Mapped[Patient] = relationship(foreign_keys=[merged_id])
    merged_by: Mapped[User] = relationship(foreign_keys=[merged_by_id])
    undone_by: Mapped[User | None] = relationship(foreign_keys=[undone_by_id])
    rows: Mapped[list[PatientMergeRow]] = relationship(
        back_populates="merge", order_by="PatientMergeRow.id", cascade="all, delete-orphan"
    )


class PatientMergeRow(db.Model):
    """One change a merge made: in `table_name`, the row with primary key `row_id`, `column_name` went
    from `old_value` to `new_value` (both as text; None is NULL). A row the merge deleted (a duplicate
    of the kept record's own, where only one may exist) has no column: `old_value` holds the whole row
    as JSON, to be inserted again on undo."""

    __tablename__ = "patient_merge_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    merge_id: Mapped[int] = mapped_column(ForeignKey("patient_merges.id"), index=True)
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[int]
    column_name: Mapped[str | None] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)

    merge: Mapped[PatientMerge] = relationship(back_populates="rows")
