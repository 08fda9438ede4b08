"""Inpatient care: admission orders, admissions into a bed, transfers, notes and vitals on the ward,
the discharge summary and the discharge with its room nights (billed through hms.services.billing).

Rules:
- **One patient per bed, one open admission per patient**, held three ways: the writer locks the
  patient and then the bed (`lock_rows`, always in that order), takes the bed with a conditional
  UPDATE (free → occupied, on its version), and the database refuses a second holder anyway
  (`admissions.bed_id` and `admissions.open_patient_id` are UNIQUE; see hms.models.inpatient).
- A bed is never offered while a patient lies in it: the discharge order keeps the bed occupied;
  the discharge (the patient left) sends it to cleaning, and only cleaning → free offers it again.
- **Room nights** follow the midnight census (`room_nights`): the patient is charged one night for
  every midnight of the hospital's local calendar he spends in a bed, at the rate of the ward he is
  in at that midnight; a stay that crosses no midnight (a day case) is charged one night at the
  ward he was admitted to. Counting local midnights, not 24-hour blocks, keeps DST days right.
- Who sees an admission (`can_see_admission`): its admitting and attending doctors; nurses of its
  hospital while it is open; the patient himself. Who acts: see the `can_*` predicates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from hms import clock
from hms.database import lock_rows
from hms.extensions import db
from hms.i18n import N_, in_language_of
from hms.models import (
    Admission,
    AdmissionNote,
    AdmissionStatus,
    Appointment,
    Bed,
    BedStatus,
    BedStay,
    Bill,
    BillStatus,
    Doctor,
    Encounter,
    Hospital,
    ItemKind,
    Membership,
    MembershipStatus,
    NoteKind,
    Patient,
    Prescription,
    PrescriptionItem,
    PrescriptionStatus,
    StaffKind,
    User,
    VitalSigns,
    Ward,
)
from hms.services import billing
from hms.services.audit import record_event
from hms.services.errors import Conflict, Invalid, NotAllowed
from hms.services.staff import staff_hospital_id
from hms.services.wards import natural_key

REASON_MAX = 500
NOTE_MAX = 4000
SUMMARY_MAX = 4000
MAX_EXPECTED_DAYS = 365
ROOM_NIGHTS = N_("Room nights: %(ward)s")
BED_TAKEN = N_("Bed %(bed)s is no longer free. Choose another bed.")


# ---------------------------------------------------------------- who may do what


def is_nurse_of(user: User, hospital_id: int) -> bool:
    return staff_hospital_id(user, StaffKind.nurse) == hospital_id


def is_desk_of(user: User, hospital_id: int) -> bool:
    """A receptionist of the hospital (the front desk)."""
    return staff_hospital_id(user, StaffKind.receptionist) == hospital_id


def is_admin_of(user: User, hospital_id: int) -> bool:
    return user.hospital_admin is not None and user.hospital_admin.hospital_id == hospital_id


def is_doctor_of(user: User, hospital_id: int) -> bool:
    """A doctor with an active membership at the hospital."""
    if user.doctor is None:
        return False
    return bool(
        db.session.scalar(
            select(Membership.id).where(
                Membership.doctor_id == user.doctor.id,
                Membership.hospital_id == hospital_id,
                Membership.status == MembershipStatus.active,
            )
        )
    )


def is_treating_doctor(user: User, admission: Admission) -> bool:
    return user.doctor is not None and user.doctor.id in (
        admission.admitting_doctor_id,
        admission.attending_doctor_id,
    )


def can_see_admission(user: User, admission: Admission) -> bool:
    """The clinical rule: the admitting and attending doctors; a nurse of the hospital while the
    admission is open; the patient himself."""
    if is_treating_doctor(user, admission):
        return True
    if admission.status.is_open and is_nurse_of(user, admission.hospital_id):
        return True
    return user.patient is not None and user.patient.id == admission.patient_id


def can_see_bed_board(user: User, hospital_id: int) -> bool:
    """Nurses, receptionists, doctors and administrators of the hospital."""
    return (
        staff_hospital_id(user, StaffKind.nurse, StaffKind.receptionist) == hospital_id
        or is_admin_of(user, hospital_id)
        or is_doctor_of(user, hospital_id)
    )


def can_order_admission(user: User, encounter: Encounter) -> bool:
    """The doctor of the visit orders (or makes) an admission from its encounter."""
    return user.doctor is not None and user.doctor.id == encounter.doctor_id


def can_assign_bed(user: User, admission: Admission) -> bool:
    """The desk, a nurse or a treating doctor gives a bed to an admission that waits for one."""
    return admission.status == AdmissionStatus.ordered and (
        is_desk_of(user, admission.hospital_id)
        or is_nurse_of(user, admission.hospital_id)
        or is_treating_doctor(user, admission)
    )


def can_transfer(user: User, admission: Admission) -> bool:
    """A nurse of the hospital or a treating doctor, while the patient is in a bed and not leaving."""
    return admission.status == AdmissionStatus.admitted and (
        is_nurse_of(user, admission.hospital_id) or is_treating_doctor(user, admission)
    )


def can_write_note(user: User, admission: Admission) -> NoteKind | None:
    """The kind of note this user writes on the admission while the patient is in a bed, or None."""
    if not admission.status.in_bed:
        return None
    if is_treating_doctor(user, admission):
        return NoteKind.progress
    if is_nurse_of(user, admission.hospital_id):
        return NoteKind.nursing
    return None


def can_order_discharge(user: User, admission: Admission) -> bool:
    """A treating doctor writes (and may rewrite) the discharge summary while the patient is in a bed."""
    return admission.status.in_bed and is_treating_doctor(user, admission)


def can_discharge(user: User, admission: Admission) -> bool:
    """Once the discharge is ordered, the patient leaves: a treating doctor, a nurse or the desk."""
    return admission.status == AdmissionStatus.discharge_ordered and (
        is_treating_doctor(user, admission)
        or is_nurse_of(user, admission.hospital_id)
        or is_desk_of(user, admission.hospital_id)
    )


def can_cancel_order(user: User, admission: Admission) -> bool:
    """An admission that waits for a bed can be cancelled by its doctors, a nurse or the desk."""
    return admission.status == AdmissionStatus.ordered and (
        is_treating_doctor(user, admission)
        or is_nurse_of(user, admission.hospital_id)
        or is_desk_of(user, admission.hospital_id)
    )


# ---------------------------------------------------------------- input


def _clean_text(value: str | None, field: str, limit: int, *, required: str | None = None) -> str:
    text = (value or "").strip()
    if required and not text:
        raise Invalid(required, field=field)
    if len(text) > limit:
        raise Invalid(gettext("Use at most %(count)d characters.", count=limit), field=field)
    return text


def _clean_days(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise Invalid(N_("Enter the expected stay as a number of days."), field="expected_days") from None
    if not 1 <= days <= MAX_EXPECTED_DAYS:
        raise Invalid(
            gettext("The expected stay must be between 1 and %(most)d days.", most=MAX_EXPECTED_DAYS),
            field="expected_days",
        )
    return days


def _ward_of(hospital_id: int, ward_id: int | None) -> Ward:
    ward = db.session.get(Ward, ward_id) if ward_id else None
    if ward is None or ward.hospital_id != hospital_id or not ward.active:
        raise Invalid(N_("Choose a ward of this hospital."), field="ward_id")
    return ward


def _bed_of(hospital_id: int, bed_id: int | None) -> Bed:
    bed = db.session.get(Bed, bed_id) if bed_id else None
    if bed is None or bed.hospital_id != hospital_id or bed.retired:
        raise Invalid(N_("Choose a bed of this hospital."), field="bed_id")
    return bed


def _doctor_of(hospital_id: int, doctor_id: int | None) -> Doctor:
    doctor = db.session.get(Doctor, doctor_id) if doctor_id else None
    if doctor is None or not is_doctor_of(doctor.user, hospital_id):
        raise Invalid(N_("Choose a doctor of this hospital."), field="doctor_id")
    return doctor


# ---------------------------------------------------------------- beds


class BedTaken(Conflict):
    """The bed was taken (or is not free) by the time we asked for it; `free_beds` offers others."""

    def __init__(self, message: str, free_beds: Sequence[Bed] = ()) -> None:
        super().__init__(message)
        self.free_beds = list(free_beds)


def free_beds(hospital_id: int, ward_id: int | None = None, limit: int = 12) -> list[Bed]:
    """Beds that can be given now, ward by ward, in label order."""
    query = (
        select(Bed)
        .join(Ward, Ward.id == Bed.ward_id)
        .where(
            Bed.hospital_id == hospital_id,
            Bed.status == BedStatus.free,
            Bed.retired.is_(False),
            Ward.active.is_(True),
        )
        .options(joinedload(Bed.ward))
    )
    if ward_id is not None:
        query = query.where(Bed.ward_id == ward_id)
    # Sorted here, not by SQL: labels in natural order (G2 before G10), then the first `limit`.
    beds = sorted(db.session.scalars(query), key=lambda bed: (bed.ward.name.lower(), natural_key(bed.label)))
    return beds[:limit]


def _set_bed(bed: Bed, new: BedStatus, *, expected: BedStatus) -> bool:
    """Move the bed from `expected` to `new` if nobody moved it first; bumps version and changed_at."""
    done = db.session.execute(
        update(Bed)
        .where(Bed.id == bed.id, Bed.status == expected, Bed.retired.is_(False))
        .values(status=new, version=Bed.version + 1, changed_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    db.session.expire(bed, ["status", "version", "changed_at"])
    return done.rowcount == 1


def _take_bed(bed: Bed, ward_hint: int | None = None) -> None:
    if not _set_bed(bed, BedStatus.occupied, expected=BedStatus.free):
        raise BedTaken(
            gettext(BED_TAKEN, bed=bed.label),
            free_beds(bed.hospital_id, ward_hint or bed.ward_id),
        )


def _release_bed(bed_id: int) -> None:
    """The patient left the bed: it goes to cleaning (never straight back to free)."""
    bed = db.session.get(Bed, bed_id)
    if bed is not None:
        _set_bed(bed, BedStatus.cleaning, expected=BedStatus.occupied)


def _hold(admission: Admission, bed: Bed) -> None:
    """Point the admission at the bed; the UNIQUE bed_id refuses a second holder whatever happened
    before (a savepoint keeps the caller's transaction usable)."""
    try:
        with db.session.begin_nested():
            admission.bed_id = bed.id
            admission.ward_id = bed.ward_id
            db.session.flush()
    except IntegrityError:
        raise BedTaken(
            gettext(BED_TAKEN, bed=bed.label),
            free_beds(bed.hospital_id, bed.ward_id),
        ) from None


def _open_stay(admission: Admission, bed: Bed, actor: User, reason: str, at: datetime) -> BedStay:
    stay = BedStay(
        admission_id=admission.id,
        bed_id=bed.id,
        ward_id=bed.ward_id,
        started_at=at,
        moved_by_id=actor.id,
        reason=reason,
    )
    db.session.add(stay)
    return stay


def _close_stay(admission: Admission, at: datetime) -> None:
    db.session.execute(
        update(BedStay)
        .where(BedStay.admission_id == admission.id, BedStay.ended_at.is_(None))
        .values(ended_at=at)
        .execution_options(synchronize_session=False)
    )
    for stay in admission.stays:
        if stay.ended_at is None:
            db.session.expire(stay, ["ended_at"])


def _bump(
    admission: Admission, expected: AdmissionStatus | tuple[AdmissionStatus, ...], **values: Any
) -> None:
    """Change the admission if it is still in an expected state at the version we read."""
    states = expected if isinstance(expected, tuple) else (expected,)
    done = db.session.execute(
        update(Admission)
        .where(
            Admission.id == admission.id,
            Admission.version == admission.version,
            Admission.status.in_(states),
        )
        .values(version=Admission.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        db.session.expire(admission)
        raise Conflict(N_("Someone else changed this admission just now. Look at it again."))
    db.session.expire(admission)


# ---------------------------------------------------------------- admitting


def _audit(
    admission: Admission, actor: User, action: str, kind: str, record_id: int, detail: str | None = None
) -> None:
    """An audit event about the admission's patient at its hospital, by `actor`."""
    record_event(
        action,
        kind,
        record_id,
        patient_id=admission.patient_id,
        hospital_id=admission.hospital_id,
        user_id=actor.id,
        detail=detail,
    )


def _lock_patient_and_bed(patient_id: int, bed: Bed | None) -> None:
    """Lock the patient, the bed's ward and the bed, always in that order. The ward's lock keeps an
    administrator from closing it while a patient is being put in one of its beds; once locked, the
    ward is read again with a locking read (MariaDB's plain reads would see the transaction's first
    snapshot), and a ward closed meanwhile refuses the bed."""
    rows: list[tuple[type, int]] = [(Patient, patient_id)]
    if bed is not None:
        rows += [(Ward, bed.ward_id), (Bed, bed.id)]
    lock_rows(*rows)
    if bed is not None:
        still_open = db.session.scalar(select(Ward.active).where(Ward.id == bed.ward_id).with_for_update())
        if not still_open:
            raise Invalid(N_("This ward is closed."), field="bed_id")


def _new_admission(
    *,
    hospital_id: int,
    patient_id: int,
    ward: Ward,
    doctor: Doctor,
    actor: User,
    reason: str,
    expected_days: Any,
    encounter: Encounter | None,
    status: AdmissionStatus,
    now: datetime,
) -> Admission:
    admission = Admission(
        hospital_id=hospital_id,
        patient_id=patient_id,
        open_patient_id=patient_id,
        ward_id=ward.id,
        encounter_id=encounter.id if encounter is not None else None,
        admitting_doctor_id=doctor.id,
        attending_doctor_id=doctor.id,
        status=status,
        reason=_clean_text(reason, "reason", REASON_MAX, required=N_("Give the reason for the admission.")),
        expected_days=_clean_days(expected_days),
        ordered_at=now,
        ordered_by_id=actor.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(admission)
            db.session.flush()
    except IntegrityError:
        raise Conflict(N_("This patient is already admitted or waiting for a bed.")) from None
    return admission


def _check_not_admitted(patient_id: int) -> None:
    open_one = db.session.scalar(select(Admission.id).where(Admission.open_patient_id == patient_id))
    if open_one is not None:
        raise Conflict(N_("This patient is already admitted or waiting for a bed."))


def admit_patient(
    *,
    hospital: Hospital,
    patient: Patient,
    ward_id: int | None,
    bed_id: int | None,
    doctor_id: int | None,
    actor: User,
    reason: str,
    expected_days: Any = None,
    encounter: Encounter | None = None,
) -> Admission:
    """Admit the patient to a bed now, or (no bed given) order the admission for the desk or a nurse
    to give a bed. A doctor admits his own patients (from an encounter: the visit's doctor); the desk
    and nurses admit only on a doctor's order, so they give `doctor_id` (the admitting doctor) and a
    bed. Flushes; the caller commits (and must, or roll back: the patient and bed are locked)."""
    if encounter is not None:
        if not can_order_admission(actor, encounter) or encounter.hospital_id != hospital.id:
            raise NotAllowed(N_("Only the doctor of this visit can admit from it."))
        doctor = actor.doctor
    elif actor.doctor is not None and is_doctor_of(actor, hospital.id):
        doctor = actor.doctor
    elif is_desk_of(actor, hospital.id) or is_nurse_of(actor, hospital.id):
        doctor = _doctor_of(hospital.id, doctor_id)
        if bed_id is None:
            raise Invalid(N_("Choose a free bed."), field="bed_id")
    else:
        raise NotAllowed(N_("Only a doctor, a nurse or the front desk of this hospital can admit a patient."))
    bed = _bed_of(hospital.id, bed_id) if bed_id else None
    ward = bed.ward if bed is not None else _ward_of(hospital.id, ward_id)
    if bed is not None and not bed.ward.active:
        raise Invalid(N_("This ward is closed."), field="bed_id")
    _clean_text(reason, "reason", REASON_MAX, required=N_("Give the reason for the admission."))
    _clean_days(expected_days)
    _lock_patient_and_bed(patient.id, bed)
    _check_not_admitted(patient.id)
    now = clock.now()
    admission = _new_admission(
        hospital_id=hospital.id,
        patient_id=patient.id,
        ward=ward,
        doctor=doctor,
        actor=actor,
        reason=reason,
        expected_days=expected_days,
        encounter=encounter,
        status=AdmissionStatus.ordered,
        now=now,
    )
    _audit(admission, actor, "create", "admission", admission.id)
    if bed is not None:
        _put_in_bed(admission, bed, actor, now)
    return admission


def _put_in_bed(admission: Admission, bed: Bed, actor: User, now: datetime) -> None:
    _take_bed(bed)
    _hold(admission, bed)
    _bump(
        admission,
        AdmissionStatus.ordered,
        status=AdmissionStatus.admitted,
        admitted_at=now,
        admitted_by_id=actor.id,
        bed_id=bed.id,
        ward_id=bed.ward_id,
    )
    _open_stay(admission, bed, actor, admission.reason, now)
    db.session.flush()
    _audit(admission, actor, "update", "admission", admission.id, f"admitted to bed {bed.id}")


def assign_bed(admission: Admission, bed_id: int | None, actor: User) -> Admission:
    """Give a bed to an admission that waits for one (the desk, a nurse or its doctor). Flushes."""
    if not can_assign_bed(actor, admission):
        raise NotAllowed(N_("Only the desk, a nurse or the patient's doctor can give this admission a bed."))
    bed = _bed_of(admission.hospital_id, bed_id)
    _lock_patient_and_bed(admission.patient_id, bed)
    db.session.refresh(admission)
    if admission.status != AdmissionStatus.ordered:
        raise Conflict(N_("This admission already has a bed."))
    _put_in_bed(admission, bed, actor, clock.now())
    return admission


def cancel_admission_order(admission: Admission, actor: User, reason: str) -> Admission:
    """Cancel an admission that waits for a bed. Flushes."""
    if not can_cancel_order(actor, admission):
        raise NotAllowed(N_("Only an admission that waits for a bed can be cancelled."))
    text = _clean_text(reason, "reason", REASON_MAX, required=N_("Give the reason for cancelling."))
    _bump(
        admission,
        AdmissionStatus.ordered,
        status=AdmissionStatus.cancelled,
        open_patient_id=None,
        cancel_reason=text,
    )
    _audit(admission, actor, "update", "admission", admission.id, "cancelled")
    return admission


# ---------------------------------------------------------------- during the stay


def transfer_patient(admission: Admission, bed_id: int | None, actor: User, reason: str) -> Admission:
    """Move the patient to another bed (any ward of the hospital). The old bed goes to cleaning and
    the history keeps both stays, with who moved him and why. Flushes."""
    if not can_transfer(actor, admission):
        raise NotAllowed(N_("Only a nurse or the patient's doctor can transfer him while he is admitted."))
    text = _clean_text(reason, "reason", REASON_MAX, required=N_("Give the reason for the transfer."))
    if bed_id is not None and bed_id == admission.bed_id:
        raise Invalid(N_("The patient is already in this bed. Choose another bed."), field="bed_id")
    bed = _bed_of(admission.hospital_id, bed_id)
    if not bed.ward.active:
        raise Invalid(N_("This ward is closed."), field="bed_id")
    old_bed_id = admission.bed_id
    _lock_patient_and_bed(admission.patient_id, bed)
    db.session.refresh(admission)
    if admission.status != AdmissionStatus.admitted or admission.bed_id != old_bed_id:
        raise Conflict(N_("Someone else changed this admission just now. Look at it again."))
    now = clock.now()
    _take_bed(bed)
    # Free the unique bed_id first, then point at the new bed (two UPDATEs, one transaction).
    _bump(admission, AdmissionStatus.admitted, bed_id=None)
    _hold(admission, bed)
    _close_stay(admission, now)
    _open_stay(admission, bed, actor, text, now)
    if old_bed_id is not None:
        _release_bed(old_bed_id)
    db.session.flush()
    _audit(admission, actor, "update", "admission", admission.id, f"transfer bed {old_bed_id} -> {bed.id}")
    return admission


def add_note(admission: Admission, actor: User, text: str) -> AdmissionNote:
    """A progress note (a treating doctor) or a nursing note (a nurse of the hospital). Flushes."""
    kind = can_write_note(actor, admission)
    if kind is None:
        raise NotAllowed(
            N_("Only the patient's doctors and the hospital's nurses write notes while he is admitted.")
        )
    note = AdmissionNote(
        admission_id=admission.id,
        kind=kind,
        text=_clean_text(text, "text", NOTE_MAX, required=N_("Write the note.")),
        author_id=actor.id,
        created_at=clock.now(),
    )
    db.session.add(note)
    db.session.flush()
    _audit(admission, actor, "create", "admission_note", note.id)
    return note


def record_round_vitals(admission: Admission, actor: User, values: dict[str, Any]) -> VitalSigns:
    """A set of vital signs taken on the ward (the triage's validation, without a triage level).
    Flushes; raises triage.VitalsInvalid with every bad field."""
    from hms.services.triage import clean_vitals

    if can_write_note(actor, admission) is None:
        raise NotAllowed(N_("Only the patient's doctors and the hospital's nurses record his vital signs."))
    clean = clean_vitals({**values, "require_level": False, "triage_level": None})
    clean.pop("triage_level", None)
    vitals = VitalSigns(
        admission_id=admission.id,
        patient_id=admission.patient_id,
        hospital_id=admission.hospital_id,
        recorded_by_id=actor.id,
        taken_at=clock.now(),
        **clean,
    )
    db.session.add(vitals)
    db.session.flush()
    _audit(admission, actor, "create", "vital_signs", vitals.id, f"admission {admission.id}")
    return vitals


def set_attending_doctor(admission: Admission, doctor_id: int | None, actor: User) -> Admission:
    """Hand the patient over to another doctor of the hospital (a treating doctor does it). Flushes."""
    if not (admission.status.is_open and is_treating_doctor(actor, admission)):
        raise NotAllowed(N_("Only the patient's doctor can hand him over while he is admitted."))
    doctor = _doctor_of(admission.hospital_id, doctor_id)
    _bump(
        admission,
        (AdmissionStatus.ordered, AdmissionStatus.admitted, AdmissionStatus.discharge_ordered),
        attending_doctor_id=doctor.id,
    )
    _audit(admission, actor, "update", "admission", admission.id, f"attending doctor {doctor.id}")
    return admission


# ---------------------------------------------------------------- discharge


SUMMARY_FIELDS = ("discharge_diagnoses", "discharge_procedures", "discharge_medicines", "discharge_advice")


def order_discharge(
    admission: Admission,
    actor: User,
    values: dict[str, Any],
    *,
    follow_up: Appointment | None = None,
) -> Admission:
    """Write (or rewrite) the discharge summary and order the discharge; the patient keeps his bed
    until he leaves (`discharge_patient`). Flushes."""
    if not can_order_discharge(actor, admission):
        raise NotAllowed(N_("Only the patient's doctor can order his discharge while he is admitted."))
    clean = {name: _clean_text(values.get(name), name, SUMMARY_MAX) for name in SUMMARY_FIELDS}
    if not clean["discharge_diagnoses"]:
        raise Invalid(N_("Write the diagnoses on discharge."), field="discharge_diagnoses")
    if follow_up is not None and follow_up.patient_id != admission.patient_id:
        raise Invalid(N_("The follow-up visit must be the patient's own."), field="follow_up")
    extra: dict[str, Any] = {}
    if follow_up is not None:
        extra["follow_up_appointment_id"] = follow_up.id
    first = admission.status == AdmissionStatus.admitted
    _bump(
        admission,
        (AdmissionStatus.admitted, AdmissionStatus.discharge_ordered),
        status=AdmissionStatus.discharge_ordered,
        discharge_ordered_at=clock.now() if first else admission.discharge_ordered_at,
        **clean,
        **extra,
    )
    _audit(
        admission,
        actor,
        "update",
        "admission",
        admission.id,
        "discharge ordered" if first else "discharge summary changed",
    )
    return admission


def discharge_patient(admission: Admission, actor: User) -> Admission:
    """The patient leaves: the admission closes, the bed goes to cleaning, and the room nights are
    billed (one bill, issued at once, through the billing service). Flushes."""
    if not can_discharge(actor, admission):
        raise NotAllowed(N_("The discharge must be ordered by the patient's doctor first."))
    _lock_patient_and_bed(admission.patient_id, admission.bed)
    db.session.refresh(admission)
    if admission.status != AdmissionStatus.discharge_ordered:
        raise Conflict(N_("This patient was already discharged."))
    now = clock.now()
    bed_id = admission.bed_id
    _close_stay(admission, now)
    _bump(
        admission,
        AdmissionStatus.discharge_ordered,
        status=AdmissionStatus.discharged,
        discharged_at=now,
        discharged_by_id=actor.id,
        bed_id=None,
        open_patient_id=None,
    )
    if bed_id is not None:
        _release_bed(bed_id)
    db.session.flush()
    bill_id = _bill_stay(admission, actor)
    if bill_id is not None:
        db.session.execute(
            update(Admission)
            .where(Admission.id == admission.id)
            .values(bill_id=bill_id)
            .execution_options(synchronize_session=False)
        )
        db.session.expire(admission, ["bill_id", "bill"])
    _audit(admission, actor, "update", "admission", admission.id, "discharged")
    return admission


# ---------------------------------------------------------------- room nights (pure) and the bill


@dataclass(frozen=True)
class StaySpan:
    ward_id: int
    started_at: datetime  # UTC
    ended_at: datetime  # UTC


@dataclass(frozen=True)
class NightLine:
    ward_id: int
    nights: int


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone).date()


def room_nights(spans: Sequence[StaySpan], zone: ZoneInfo) -> list[NightLine]:
    """The nights to charge, per ward in order of first use, by the midnight census: for every local
    midnight between the first admission and the discharge, one night at the ward whose stay covers
    that midnight; no midnight at all (a day case) is one night at the first ward. No database."""
    if not spans:
        return []
    ordered = sorted(spans, key=lambda s: s.started_at)
    start, end = ordered[0].started_at, max(s.ended_at for s in ordered)
    first_day, last_day = local_date(start, zone), local_date(end, zone)
    counts: dict[int, int] = {}
    day = first_day + timedelta(days=1)
    while day <= last_day:
        midnight = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
        for span in ordered:
            if _naive(span.started_at) <= midnight < _naive(span.ended_at):
                counts[span.ward_id] = counts.get(span.ward_id, 0) + 1
                break
        day += timedelta(days=1)
    if not counts:
        counts[ordered[0].ward_id] = 1
    order = list(dict.fromkeys(s.ward_id for s in ordered))
    return [NightLine(ward_id, counts[ward_id]) for ward_id in order if ward_id in counts]


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment


def stay_spans(admission: Admission, until: datetime | None = None) -> list[StaySpan]:
    end = until or admission.discharged_at or clock.now()
    return [StaySpan(s.ward_id, s.started_at, s.ended_at or end) for s in admission.stays]


def _bill_stay(admission: Admission, actor: User) -> int | None:
    """The room nights on one bill, issued at once; none if every ward is free of charge."""
    db.session.expire(admission, ["stays"])
    zone = ZoneInfo(admission.hospital.timezone)
    lines = room_nights(stay_spans(admission), zone)
    wards = {
        w.id: w for w in db.session.scalars(select(Ward).where(Ward.id.in_([line.ward_id for line in lines])))
    }
    priced = [
        (wards[line.ward_id], line.nights) for line in lines if wards[line.ward_id].daily_rate_minor > 0
    ]
    if not priced:
        return None
    patient = db.session.get(Patient, admission.patient_id)
    bill = billing.open_bill(
        hospital=admission.hospital, patient=patient, actor=actor, note=f"Admission {admission.id}"
    )
    for ward, nights in priced:
        with in_language_of(patient.user):  # the bill's lines are the patient's to read
            description = gettext(ROOM_NIGHTS, ward=ward.name)
        billing.add_item(
            bill,
            kind=ItemKind.room,
            description=description,
            quantity=nights,
            unit_minor=ward.daily_rate_minor,
            actor=actor,
        )
    billing.issue_bill(bill, actor, begin=False)
    return bill.id


# ---------------------------------------------------------------- reading


def admission_for(user: User, admission_id: int) -> Admission | None:
    """The admission if this user may see it (else None: the page answers 404)."""
    admission = db.session.get(Admission, admission_id)
    if admission is None or not can_see_admission(user, admission):
        return None
    return admission


def admission_for_staff(user: User, admission_id: int) -> Admission | None:
    """The admission for the desk or a nurse of its hospital (administrative view: bed, ward, doctor)."""
    admission = db.session.get(Admission, admission_id)
    if admission is None:
        return None
    if can_see_admission(user, admission) or is_desk_of(user, admission.hospital_id):
        return admission
    return None


def open_admission_of(patient_id: int) -> Admission | None:
    return db.session.scalar(select(Admission).where(Admission.open_patient_id == patient_id))


def waiting_for_beds(hospital_id: int) -> list[Admission]:
    """Admission orders of the hospital that wait for a bed, oldest first."""
    return list(
        db.session.scalars(
            select(Admission)
            .where(Admission.hospital_id == hospital_id, Admission.status == AdmissionStatus.ordered)
            .options(joinedload(Admission.patient).joinedload(Patient.user), joinedload(Admission.ward))
            .order_by(Admission.ordered_at)
        )
    )


@dataclass
class BoardBed:
    bed: Bed
    admission: Admission | None


@dataclass
class BoardWard:
    ward: Ward
    beds: list[BoardBed]

    def count(self, status: BedStatus) -> int:
        return sum(1 for b in self.beds if b.bed.status == status)


def bed_board(hospital_id: int, ward_id: int | None = None) -> list[BoardWard]:
    """Every active ward's beds with the admission in each (three statements whatever the size)."""
    wards_query = (
        select(Ward).where(Ward.hospital_id == hospital_id, Ward.active.is_(True)).order_by(Ward.name)
    )
    if ward_id is not None:
        wards_query = wards_query.where(Ward.id == ward_id)
    wards = list(db.session.scalars(wards_query))
    if not wards:
        return []
    ids = [w.id for w in wards]
    beds = sorted(
        db.session.scalars(select(Bed).where(Bed.ward_id.in_(ids), Bed.retired.is_(False))),
        key=lambda bed: natural_key(bed.label),
    )
    admissions = {
        a.bed_id: a
        for a in db.session.scalars(
            select(Admission)
            .where(Admission.hospital_id == hospital_id, Admission.bed_id.is_not(None))
            .options(
                joinedload(Admission.patient).joinedload(Patient.user),
                joinedload(Admission.attending_doctor).joinedload(Doctor.user),
            )
        )
    }
    by_ward: dict[int, list[BoardBed]] = {w.id: [] for w in wards}
    for bed in beds:
        by_ward[bed.ward_id].append(BoardBed(bed, admissions.get(bed.id)))
    return [BoardWard(w, by_ward[w.id]) for w in wards]


def board_version(hospital_id: int) -> str:
    """A cheap fingerprint of the bed board (one statement): the ETag of its polls."""
    row = db.session.execute(
        select(func.count(Bed.id), func.max(Bed.changed_at), func.sum(Bed.version)).where(
            Bed.hospital_id == hospital_id
        )
    ).one()
    attending = db.session.scalar(
        select(func.sum(Admission.version)).where(
            Admission.hospital_id == hospital_id, Admission.bed_id.is_not(None)
        )
    )
    return f"{row[0]}-{row[1].isoformat() if row[1] else 0}-{row[2] or 0}-{attending or 0}"


def days_in(admission: Admission, now: datetime | None = None) -> int:
    """Days since admission, by the hospital's calendar (the day of admission is day 0)."""
    if admission.admitted_at is None:
        return 0
    zone = ZoneInfo(admission.hospital.timezone)
    return (local_date(now or clock.now(), zone) - local_date(admission.admitted_at, zone)).days


def patient_admissions(patient_id: int) -> list[Admission]:
    """The patient's admissions, newest first (his history)."""
    return list(
        db.session.scalars(
            select(Admission)
            .where(Admission.patient_id == patient_id, Admission.status != AdmissionStatus.cancelled)
            .options(joinedload(Admission.hospital), joinedload(Admission.ward))
            .order_by(Admission.ordered_at.desc())
        )
    )


def admission_detail(admission_id: int) -> Admission | None:
    """An admission with what its page shows, in a fixed number of statements."""
    return db.session.scalar(
        select(Admission)
        .where(Admission.id == admission_id)
        .options(
            joinedload(Admission.patient).joinedload(Patient.user),
            joinedload(Admission.ward),
            joinedload(Admission.bed),
            joinedload(Admission.hospital),
            joinedload(Admission.admitting_doctor).joinedload(Doctor.user),
            joinedload(Admission.attending_doctor).joinedload(Doctor.user),
            selectinload(Admission.stays).joinedload(BedStay.bed),
            selectinload(Admission.stays).joinedload(BedStay.ward),
            selectinload(Admission.stays).joinedload(BedStay.moved_by),
            selectinload(Admission.notes).joinedload(AdmissionNote.author),
        )
    )


def admission_vitals(admission_id: int, limit: int = 50) -> list[VitalSigns]:
    return list(
        db.session.scalars(
            select(VitalSigns)
            .where(VitalSigns.admission_id == admission_id)
            .options(joinedload(VitalSigns.recorded_by))
            .order_by(VitalSigns.taken_at.desc(), VitalSigns.id.desc())
            .limit(limit)
        )
    )


def admission_prescriptions(admission: Admission, user: User) -> list[tuple[Prescription, int]]:
    """The prescriptions written on the ward for this stay with their number of medicines, oldest
    first: issued ones for whoever sees the admission, drafts for their author alone (one statement
    whatever their number)."""
    items = (
        select(func.count(PrescriptionItem.id))
        .where(PrescriptionItem.prescription_id == Prescription.id)
        .scalar_subquery()
    )
    visible = Prescription.status != PrescriptionStatus.draft
    if user.doctor is not None:
        visible = visible | (Prescription.doctor_id == user.doctor.id)
    rows = db.session.execute(
        select(Prescription, items)
        .where(Prescription.admission_id == admission.id, visible)
        .options(joinedload(Prescription.doctor).joinedload(Doctor.user))
        .order_by(Prescription.created_at, Prescription.id)
    )
    return [(prescription, count) for prescription, count in rows]


def stay_bills(admission: Admission) -> list[Bill]:
    """The patient's bills at this hospital made during the stay (from the admission to the discharge,
    or now), with the room nights' bill: lab orders and the like, read, never billed again. Drafts are
    not bills yet. One statement."""
    if admission.admitted_at is None:
        return []
    end = admission.discharged_at or clock.now()
    during = and_(
        Bill.hospital_id == admission.hospital_id,
        Bill.patient_id == admission.patient_id,
        Bill.created_at >= admission.admitted_at,
        Bill.created_at <= end,
    )
    clause = or_(during, Bill.id == admission.bill_id) if admission.bill_id else during
    return list(
        db.session.scalars(
            select(Bill)
            .where(clause, Bill.status != BillStatus.draft)
            .order_by(Bill.created_at, Bill.id)
            .limit(100)
        )
    )
