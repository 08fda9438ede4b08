"""Merging two records of one person, and undoing a wrong merge.

`merge_patients(kept, merged, by)` moves everything that refers to the merged record (its patient row,
or its user account) to the kept one, in one transaction, audited. Which columns refer to a patient is
read from SQLAlchemy's metadata (every foreign key to patients.id or users.id), so a table added later
is moved without anyone remembering this module; the few columns that must not move are listed in
EXCEPTIONS with the reason (tests/test_patient_merge.py fails on a new column that is in neither).

Every change is written to the merge's log (PatientMergeRow: table, primary key, column, old and new
value; a deleted row as JSON), so that `undo_merge` can restore exactly those rows and reactivate the
merged record — refused when a logged row has changed since.

Rules (README, "Front desk"): only a record without a login (registered at the desk, not claimed) is
merged INTO another; the kept record may have one. A person who has two accounts with logins has to
choose which one to keep himself (the platform admin can disable the other): we never take away a
login someone uses. A merge is refused while both records have an open visit today (booked or arrived,
today in that hospital's time zone, at any hospital): that is where two desks are working on both."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Column, Date, DateTime, Table, delete, func, insert, select, tuple_, update
from sqlalchemy.orm import joinedload

from hms import clock
from hms.database import lock_rows
from hms.extensions import db
from hms.i18n import N_
from hms.models import (
    Admission,
    Appointment,
    AppointmentStatus,
    Bill,
    Encounter,
    Hospital,
    MedicalHistoryEntry,
    Patient,
    PatientMerge,
    PatientMergeRow,
    Prescription,
    User,
)
from hms.services.audit import record_event
from hms.services.errors import Conflict

# Columns that refer to a patient or a user and are NOT moved by a merge, with the reason.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("audit_events", "user_id"): "the audit log is never rewritten: it keeps what happened to whom",
    ("audit_events", "patient_id"): "the audit log is never rewritten: it keeps what happened to whom",
    ("patients", "user_id"): "the merged record keeps its own (deactivated) account: it is the pointer",
    ("patient_merges", "kept_id"): "the merge log itself",
    ("patient_merges", "merged_id"): "the merge log itself",
    ("patient_merges", "merged_by_id"): "the merge log itself (who merged)",
    ("patient_merges", "undone_by_id"): "the merge log itself (who undid)",
    ("doctors", "user_id"): "a patient's account has no staff profile (a merge of one is refused)",
    ("staff", "user_id"): "a patient's account has no staff profile (a merge of one is refused)",
    ("hospital_admins", "user_id"): "a patient's account has no staff profile (a merge of one is refused)",
    # Credentials stay with the merged account, which is deactivated: its sessions end (session_version)
    # and every token of an inactive user is refused; nothing of it is handed to the kept account.
    ("user_sessions", "user_id"): "credentials of the merged account: the account is deactivated",
    ("totp_credentials", "user_id"): "credentials of the merged account: the account is deactivated",
    ("recovery_codes", "user_id"): "credentials of the merged account: the account is deactivated",
    ("password_reset_tokens", "user_id"): "credentials of the merged account: the account is deactivated",
    ("api_tokens", "user_id"): "credentials of the merged account: the account is deactivated",
    ("account_claims", "user_id"): "claim links of the merged account: its open ones are ended",
}
# Moved columns under a unique constraint with other columns: what to do when the kept record already
# has a row with the same other values. "drop": keep the kept record's, delete the merged one's (logged
# as JSON, restored on undo); "refuse": the merge is refused with this reason.
ON_CLASH: dict[tuple[str, str], str] = {
    ("notification_preferences", "user_id"): "drop",
    ("appointments", "patient_id"): "refuse",
    # One open admission per patient (UNIQUE alone): refused up front by _check_mergeable when both
    # records are in hospital; otherwise the merged record's open admission simply moves.
    ("admissions", "open_patient_id"): "refuse",
}
PROFILE_TABLES = ("doctors", "staff", "hospital_admins")
OPEN_VISIT = (AppointmentStatus.booked, AppointmentStatus.arrived)
MAX_LISTED = 5


@dataclass(frozen=True)
class Reference:
    table: Table
    column: Column
    target: str  # "patients" or "users"

    @property
    def key(self) -> tuple[str, str]:
        return (self.table.name, self.column.name)


def references() -> list[Reference]:
    """Every column with a foreign key to patients.id or users.id, in a stable order."""
    found = []
    for table in db.metadata.sorted_tables:
        for fk in sorted(table.foreign_keys, key=lambda fk: fk.parent.name):
            target = fk.column.table.name
            if target in ("patients", "users") and fk.column.name == "id":
                found.append(Reference(table, fk.parent, target))
    return found


def moved_references() -> list[Reference]:
    return [ref for ref in references() if ref.key not in EXCEPTIONS]


def _pk(table: Table) -> Column:
    (pk,) = table.primary_key.columns  # every table has one integer id (tests/test_patient_merge.py)
    return pk


# ---------------------------------------------------------------- what the desk sees before merging


@dataclass(frozen=True)
class RecordCounts:
    visits: int
    bills: int
    records: int  # encounters, history entries and prescriptions


def record_counts(patient: Patient) -> RecordCounts:
    def count(model) -> int:  # type: ignore[no-untyped-def]
        return db.session.scalar(select(func.count()).where(model.patient_id == patient.id)) or 0

    return RecordCounts(
        visits=count(Appointment),
        bills=count(Bill),
        records=count(Encounter) + count(MedicalHistoryEntry) + count(Prescription),
    )


def final_record(patient: Patient) -> Patient:
    """The record a merged one points to, following a chain of merges (at most a few long)."""
    seen = {patient.id}
    while patient.merged_into_id is not None and patient.merged_into_id not in seen:
        seen.add(patient.merged_into_id)
        patient = db.session.get(Patient, patient.merged_into_id)
    return patient


# ---------------------------------------------------------------- merge


def _lock_patients(*ids: int) -> list[Patient]:
    """Lock both patient rows in id order (two merges cannot deadlock on them; a booking locks its
    patient the same way), and read them again under the lock: a locking read sees the latest committed
    state on every database (MariaDB's plain reads would see the transaction's first snapshot)."""
    ordered = sorted(set(ids))
    if db.engine.dialect.name == "sqlite":
        lock_rows(*[(Patient, pk) for pk in ordered])
    by_id = {}
    for pk in ordered:
        by_id[pk] = db.session.scalars(
            select(Patient)
            .where(Patient.id == pk)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
    return [by_id[pk] for pk in ids]


def _today_open_visit(patient: Patient, now: datetime) -> bool:
    """Booked or arrived today (in the visit's hospital's time zone), at any hospital."""
    visits = db.session.scalars(
        select(Appointment)
        .where(
            Appointment.patient_id == patient.id,
            Appointment.status.in_(OPEN_VISIT),
            Appointment.start_at.between(now - timedelta(days=1), now + timedelta(days=1)),
        )
        .options(joinedload(Appointment.hospital))
    ).all()
    return any(
        v.start_at.astimezone(v.hospital.tz).date() == now.astimezone(v.hospital.tz).date() for v in visits
    )


def _check_mergeable(kept: Patient, merged: Patient) -> None:
    if kept.id == merged.id:
        raise Conflict(N_("A record cannot be merged with itself."))
    if merged.merged_into_id is not None or kept.merged_into_id is not None:
        raise Conflict(N_("One of these records was already merged into another: open the kept record."))
    if merged.user.can_log_in:
        if kept.user.can_log_in:
            raise Conflict(
                N_(
                    "Both records have a login of their own: only a record registered at the desk and "
                    "not claimed can be merged into another. The patient chooses which account to keep."
                )
            )
        raise Conflict(N_("This record has a login: keep it, and merge the other record into it."))
    for table in PROFILE_TABLES:
        rows = db.metadata.tables[table]
        if db.session.scalar(select(func.count()).where(rows.c.user_id == merged.user_id)):
            raise Conflict(N_("This record belongs to a member of staff: it cannot be merged."))
    open_admissions = db.session.scalar(
        select(func.count(Admission.id)).where(Admission.open_patient_id.in_([kept.id, merged.id]))
    )
    if open_admissions == 2:
        raise Conflict(
            N_("Both records are admitted or waiting for a bed. Discharge or cancel one admission first.")
        )
    now = clock.now()
    if _today_open_visit(kept, now) and _today_open_visit(merged, now):
        raise Conflict(
            N_(
                "Both records have an open visit today. Finish or cancel one of the visits first, "
                "then merge the records."
            )
        )


def _clashes(ref: Reference, old: int, new: int) -> list[int]:
    """Rows of `old` whose other values of a unique constraint the kept record already has."""
    found = []
    for constraint in ref.table.constraints:
        columns = list(getattr(constraint, "columns", []))
        if type(constraint).__name__ != "UniqueConstraint" or ref.column not in columns or len(columns) < 2:
            continue
        others = [c for c in columns if c is not ref.column]
        taken = select(*others).where(ref.column == new, *[c.is_not(None) for c in others])
        pk = _pk(ref.table)
        found += db.session.execute(
            select(pk, *others).where(ref.column == old, tuple_(*others).in_(taken))
        ).all()
    return [row[0] for row in found]


def _encode_row(table: Table, row_id: int) -> str:
    values = db.session.execute(select(table).where(_pk(table) == row_id)).mappings().one()
    return json.dumps({k: v.isoformat() if isinstance(v, date | datetime) else v for k, v in values.items()})


def _decode_row(table: Table, text: str) -> dict:
    values = json.loads(text)
    for column in table.columns:
        value, kind = values.get(column.name), getattr(column.type, "impl", column.type)
        if value is not None and isinstance(kind, DateTime):
            values[column.name] = datetime.fromisoformat(value)
        elif value is not None and isinstance(kind, Date):
            values[column.name] = date.fromisoformat(value)
    return values


def merge_patients(kept: Patient, merged: Patient, by: User, hospital: Hospital) -> PatientMerge:
    """Move everything of `merged` to `kept`, log every changed row, deactivate the merged account and
    point the merged record at the kept one. Raises Conflict with the reason when refused. Audited.
    Flushes; the caller commits (one transaction)."""
    kept, merged = _lock_patients(kept.id, merged.id)
    _check_mergeable(kept, merged)
    merge = PatientMerge(
        hospital_id=hospital.id,
        kept_id=kept.id,
        merged_id=merged.id,
        merged_by_id=by.id,
        merged_at=clock.now(),
    )
    db.session.add(merge)
    db.session.flush()
    log: list[dict] = []
    ids = {"patients": (merged.id, kept.id), "users": (merged.user_id, kept.user_id)}
    for ref in moved_references():
        old, new = ids[ref.target]
        pk = _pk(ref.table)
        skip = [pk != merged.id] if ref.table.name == "patients" else []  # the merged row is the pointer
        for row_id in _clashes(ref, old, new):
            if ON_CLASH.get(ref.key) != "drop":
                raise Conflict(
                    N_("Both records have a visit booked at the same time: cancel one of them first.")
                    if ref.key == ("appointments", "patient_id")
                    else N_("Both records have a row that can exist only once: this merge needs an engineer.")
                )
            log.append(
                dict(table_name=ref.table.name, row_id=row_id, old_value=_encode_row(ref.table, row_id))
            )
            db.session.execute(delete(ref.table).where(pk == row_id))
        rows = db.session.scalars(
            select(pk).where(ref.column == old, *skip).order_by(pk).with_for_update()
        ).all()
        # The kept record naming the merged account as its likely duplicate: it is one record now.
        cleared = [r for r in rows if ref.table.name == "patients" and r == kept.id]
        moved = [r for r in rows if r not in cleared]
        for targets, value in ((moved, new), (cleared, None)):
            if not targets:
                continue
            db.session.execute(update(ref.table).where(pk.in_(targets)).values({ref.column.name: value}))
            log += [
                dict(
                    table_name=ref.table.name,
                    row_id=row_id,
                    column_name=ref.column.name,
                    old_value=str(old),
                    new_value=None if value is None else str(value),
                )
                for row_id in targets
            ]
    if log:
        db.session.execute(insert(PatientMergeRow), [dict(merge_id=merge.id, **row) for row in log])
    _end_claim_links(merged.user_id)
    merged.merged_into_id = kept.id
    merged.user.active = False
    merged.user.session_version += 1
    db.session.flush()
    db.session.expire_all()  # relationships loaded before the bulk updates are stale now
    detail = f"record {merged.id} merged into record {kept.id}: {len(log)} rows moved (merge {merge.id})"
    for patient_id in (kept.id, merged.id):
        record_event(
            "merge",
            "patient",
            merged.id,
            patient_id=patient_id,
            hospital_id=hospital.id,
            user_id=by.id,
            detail=detail,
        )
    return merge


def _end_claim_links(user_id: int) -> None:
    claims = db.metadata.tables.get("account_claims")
    if claims is not None:
        db.session.execute(
            update(claims)
            .where(claims.c.user_id == user_id, claims.c.used_at.is_(None))
            .values(used_at=clock.now())
        )


# ---------------------------------------------------------------- undo


class ChangedSince(Conflict):
    """An undo refused because rows the merge moved were moved again or deleted since (`rows` names
    a few of them: table and primary key)."""

    def __init__(self, rows: list[str]) -> None:
        super().__init__(
            N_(
                "Some of the rows this merge moved have changed since (moved again or deleted), so it "
                "cannot be undone safely."
            )
        )
        self.rows = rows[:MAX_LISTED]


def hospital_merges(hospital: Hospital, limit: int = 100) -> list[PatientMerge]:
    """The merges made at this hospital's desk, latest first, with both records and who merged."""
    return list(
        db.session.scalars(
            select(PatientMerge)
            .where(PatientMerge.hospital_id == hospital.id)
            .options(
                joinedload(PatientMerge.kept).joinedload(Patient.user),
                joinedload(PatientMerge.merged).joinedload(Patient.user),
                joinedload(PatientMerge.merged_by),
                joinedload(PatientMerge.undone_by),
            )
            .order_by(PatientMerge.merged_at.desc(), PatientMerge.id.desc())
            .limit(limit)
        ).unique()
    )


def undo_merge(merge: PatientMerge, by: User) -> PatientMerge:
    """Put every logged row back as it was before the merge, and reactivate the merged record. Refused
    (Conflict, with the reason) when it was undone already, when the kept record was merged again since,
    or when a logged row changed since (moved again or deleted). Rows created on the kept record after
    the merge stay with it. Audited. Flushes; the caller commits."""
    kept, merged = _lock_patients(merge.kept_id, merge.merged_id)
    db.session.refresh(merge, with_for_update=True)
    if merge.undone_at is not None:
        raise Conflict(N_("This merge was already undone."))
    if kept.merged_into_id is not None:
        raise Conflict(N_("The kept record was merged into another one since: undo that merge first."))
    if merged.merged_into_id != kept.id:
        raise Conflict(N_("The merged record changed since: this merge cannot be undone."))
    tables = db.metadata.tables
    changed: list[str] = []
    for row in merge.rows:
        table = tables.get(row.table_name)
        if table is None:
            changed.append(row.table_name)
            continue
        pk = _pk(table)
        if row.column_name is None:
            if db.session.scalar(select(func.count()).where(pk == row.row_id)):
                changed.append(f"{row.table_name} {row.row_id}")
            continue
        current = db.session.execute(
            select(table.c[row.column_name]).where(pk == row.row_id).with_for_update()
        ).first()
        if current is None or (None if current[0] is None else str(current[0])) != row.new_value:
            changed.append(f"{row.table_name} {row.row_id}")
    if changed:
        raise ChangedSince(changed)
    for row in merge.rows:
        table = tables[row.table_name]
        pk = _pk(table)
        if row.column_name is None:
            db.session.execute(insert(table).values(_decode_row(table, row.old_value)))
        else:
            old = None if row.old_value is None else int(row.old_value)
            db.session.execute(update(table).where(pk == row.row_id).values({row.column_name: old}))
    merged.merged_into_id = None
    merged.user.active = True
    merge.undone_at = clock.now()
    merge.undone_by_id = by.id
    db.session.flush()
    db.session.expire_all()
    detail = f"merge {merge.id} undone: record {merged.id} separated again from record {kept.id}"
    for patient_id in (kept.id, merged.id):
        record_event(
            "unmerge",
            "patient",
            merged.id,
            patient_id=patient_id,
            hospital_id=merge.hospital_id,
            user_id=by.id,
            detail=detail,
        )
    return merge


__all__ = [
    "EXCEPTIONS",
    "ChangedSince",
    "ON_CLASH",
    "RecordCounts",
    "final_record",
    "hospital_merges",
    "merge_patients",
    "moved_references",
    "record_counts",
    "references",
    "undo_merge",
]
