"""Admitting: the doctor from his patient's visit (a bed now, or an order waiting for one), the desk and
the nurses for a patient found by record number (a bed now, on a doctor's order), the waiting list of
orders with a "Give a bed" form each, and the free-bed picker all of these share (an HTMX fragment that
follows the ward chosen; without JavaScript the form lists the hospital's free beds).

A bed taken by someone else meanwhile is a 409 that offers the beds still free (the form kept); a
patient already admitted is a 409; bad input is a 422 with the field's error. The rules are
hms.services.inpatient's; anyone who may not act here gets 404."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import Response, abort, current_app, flash, request, url_for
from flask_babel import gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from hms import query as query_args
from hms.auth.forms import strip
from hms.extensions import db
from hms.forms import attach_error
from hms.htmx import redirect_to, render
from hms.i18n import N_
from hms.models import (
    Admission,
    AdmissionStatus,
    Bed,
    Doctor,
    Encounter,
    Hospital,
    Patient,
    User,
    Ward,
)
from hms.services import inpatient
from hms.services.desk_booking import desk_doctors
from hms.services.errors import DomainError, Invalid
from hms.ward.routes import bp

ADMIT = "ward/admit.html"
WAITING = "ward/admit_waiting.html"
PICKER = "ward/admit_beds.html"
FREE_BEDS_SHOWN = 100
NO_SUCH_PATIENT = N_("No patient has this record number.")


class AdmitForm(FlaskForm):
    """The doctor's admission: the reason, the expected stay, a ward and (or not yet) a bed. Ids are
    read as typed and checked by the service (`picked`), so garbage is a field error, not a crash."""

    reason = TextAreaField(N_("Reason for admission"), filters=[strip], validators=[Length(max=2000)])
    expected_days = StringField(
        N_("Expected stay (days)"),
        filters=[strip],
        validators=[Length(max=20)],
        render_kw={"inputmode": "numeric"},
    )
    ward_id = StringField(N_("Ward"), filters=[strip])
    bed_id = StringField(N_("Bed"), filters=[strip])


class DeskAdmitForm(AdmitForm):
    """The desk's (or a nurse's) admission: the patient by record number and the admitting doctor too."""

    mrn = StringField(N_("Medical record number"), filters=[strip], validators=[Length(max=32)])
    doctor_id = StringField(N_("Admitting doctor"), filters=[strip])


class BedForm(FlaskForm):
    bed_id = StringField(N_("Bed"), filters=[strip])


class CancelForm(FlaskForm):
    reason = StringField(N_("Reason for cancelling"), filters=[strip], validators=[Length(max=2000)])


def picked(value: str | None) -> int | None:
    """An id chosen in a form: None when nothing was chosen, -1 (no such row, so the service names
    the field) when it is not an id at all."""
    text = (value or "").strip()
    if not text:
        return None
    if text.isascii() and text.isdigit() and len(text) <= 10 and 1 <= int(text) <= query_args.MAX_ID:
        return int(text)
    return -1


# ---------------------------------------------------------------- shared pieces


@dataclass
class Outcome:
    """What an admitting form did: the admission, or refused with `status` (and the beds offered)."""

    admission: Admission | None = None
    status: int = 200
    offered: list[tuple[int, str, str]] | None = None


def bed_choices(beds: Iterable[Bed]) -> list[tuple[int, str, str]]:
    """(id, label, ward name) of each bed, as the picker shows them."""
    return [(bed.id, bed.label, bed.ward.name) for bed in beds]


def attempt(form: FlaskForm, action: Callable[[], Admission]) -> Outcome:
    """Validate, act, commit; a refusal is rolled back and shown on the form with its status (a bed
    taken meanwhile: 409 with the beds still free)."""
    if not form.validate_on_submit():
        return Outcome(status=422)
    try:
        admission = action()
    except inpatient.BedTaken as error:
        offered = bed_choices(error.free_beds)
        db.session.rollback()
        attach_error(form, error)
        return Outcome(status=409, offered=offered)
    except DomainError as error:
        db.session.rollback()
        attach_error(form, error)
        return Outcome(status=error.status)
    db.session.commit()
    return Outcome(admission)


def open_wards(hospital_id: int) -> list[Ward]:
    return list(
        db.session.scalars(
            select(Ward).where(Ward.hospital_id == hospital_id, Ward.active.is_(True)).order_by(Ward.name)
        )
    )


def admission_url(admission: Admission) -> str:
    """The admission's page (another part of the ward) when it exists and the user may see it (not
    the desk), else the bed board."""
    if "ward.admission" in current_app.view_functions and inpatient.can_see_admission(
        current_user, admission
    ):
        return url_for("ward.admission", admission_id=admission.id)
    return url_for("ward.bed_board")


def _admitted(admission: Admission, to: str | None = None) -> Response:
    """Say what was done and go on: to `to`, or to the admission's page."""
    if admission.status == AdmissionStatus.admitted:
        flash(
            gettext(
                "%(name)s is admitted to bed %(bed)s.", name=admission.patient.name, bed=admission.bed.label
            )
        )
    else:
        flash(gettext("%(name)s waits for a bed.", name=admission.patient.name))
    return redirect_to(to or admission_url(admission))


def _desk_hospital() -> Hospital:
    """The hospital of a receptionist or nurse; anyone else: 404."""
    staff = getattr(current_user, "staff", None)
    if staff is None or not staff.hospital.is_active:
        abort(404)
    if not (
        inpatient.is_desk_of(current_user, staff.hospital_id)
        or inpatient.is_nurse_of(current_user, staff.hospital_id)
    ):
        abort(404)
    return staff.hospital


def _form_page(form: AdmitForm, hospital: Hospital, outcome: Outcome, **context: Any) -> Response:
    ward_id = picked(form.ward_id.data)
    beds = outcome.offered
    if beds is None:
        beds = bed_choices(
            inpatient.free_beds(hospital.id, ward_id if ward_id and ward_id > 0 else None, FREE_BEDS_SHOWN)
        )
    return render(
        ADMIT,
        "form",
        status=outcome.status,
        form=form,
        hospital=hospital,
        wards=open_wards(hospital.id),
        ward_id=ward_id,
        beds=beds,
        bed_id=picked(form.bed_id.data),
        offered=outcome.offered is not None,
        **context,
    )


# ---------------------------------------------------------------- the free-bed picker


@bp.get("/beds/free")
def free_beds():
    """The free beds of a ward as radio buttons (the picker's fragment, swapped in on a ward change).
    `row` keeps the ids of several pickers on one page apart; `none=1` offers "no bed yet"."""
    ward_id = query_args.record_id("ward") or query_args.record_id("ward_id")
    ward = db.session.get(Ward, ward_id) if ward_id else None
    if ward_id and (ward is None or not inpatient.can_see_bed_board(current_user, ward.hospital_id)):
        abort(404)
    if ward is None:
        beds: list[tuple[int, str, str]] = []
    elif not ward.active:
        beds = []
    else:
        beds = bed_choices(inpatient.free_beds(ward.hospital_id, ward.id, FREE_BEDS_SHOWN))
    return render(
        PICKER,
        beds=beds,
        bed_id=query_args.record_id("bed"),
        prefix=query_args.record_id("row") or "",
        allow_none=query_args.flag("none", "1"),
        ward_chosen=ward is not None,
    )


# ---------------------------------------------------------------- the doctor, from a visit


@bp.route("/encounters/<int:encounter_id>/admit", methods=["GET", "POST"])
def admit_from_encounter(encounter_id: int) -> Response:
    """The visit's doctor admits the patient: into a free bed now, or (no bed chosen) as an order that
    waits for the desk or a nurse to give a bed."""
    encounter = db.session.get(Encounter, encounter_id)
    if encounter is None or not inpatient.can_order_admission(current_user, encounter):
        abort(404)
    hospital = encounter.hospital
    form = AdmitForm()
    outcome = Outcome()
    if request.method == "POST":
        outcome = attempt(
            form,
            lambda: inpatient.admit_patient(
                hospital=hospital,
                patient=encounter.patient,
                ward_id=picked(form.ward_id.data),
                bed_id=picked(form.bed_id.data),
                doctor_id=None,
                actor=current_user,
                reason=form.reason.data,
                expected_days=form.expected_days.data,
                encounter=encounter,
            ),
        )
        if outcome.admission is not None:
            return _admitted(outcome.admission)
    return _form_page(
        form,
        hospital,
        outcome,
        patient=encounter.patient,
        encounter=encounter,
        action=url_for("ward.admit_from_encounter", encounter_id=encounter.id),
        allow_none=True,
        open_admission=inpatient.open_admission_of(encounter.patient_id) if request.method == "GET" else None,
    )


# ---------------------------------------------------------------- the desk and the nurses


def patient_by_record_number(text: str | None) -> Patient:
    """The patient with this medical record number (registered anywhere, with or without an account;
    never a record merged into another). Raises Invalid on the `mrn` field."""
    mrn = "".join((text or "").split()).upper()
    patient = (
        db.session.scalar(select(Patient).where(Patient.mrn == mrn, Patient.merged_into_id.is_(None)))
        if 4 <= len(mrn) <= 16
        else None
    )
    if patient is None:
        raise Invalid(NO_SUCH_PATIENT, field="mrn")
    return patient


@bp.route("/admit", methods=["GET", "POST"])
def desk_admit() -> Response:
    """A receptionist or a nurse admits a patient into a free bed on a doctor's order: the patient by
    record number (?mrn= fills it in), the admitting doctor among the hospital's."""
    hospital = _desk_hospital()
    form = DeskAdmitForm()
    outcome = Outcome()
    if request.method == "GET":
        form.mrn.data = query_args.text("mrn", 32)
    else:
        outcome = attempt(
            form,
            lambda: inpatient.admit_patient(
                hospital=hospital,
                patient=patient_by_record_number(form.mrn.data),
                ward_id=picked(form.ward_id.data),
                bed_id=picked(form.bed_id.data),
                doctor_id=picked(form.doctor_id.data),
                actor=current_user,
                reason=form.reason.data,
                expected_days=form.expected_days.data,
            ),
        )
        if outcome.admission is not None:
            return _admitted(outcome.admission)
    return _form_page(
        form,
        hospital,
        outcome,
        doctors=desk_doctors(hospital),
        doctor_id=picked(form.doctor_id.data),
        action=url_for("ward.desk_admit"),
        allow_none=False,
    )


# ---------------------------------------------------------------- the waiting list


@dataclass
class RowState:
    """What one row of the waiting list shows after a refused post: its message and beds offered."""

    admission_id: int
    form: str  # "bed" or "cancel"
    errors: list[str] = field(default_factory=list)
    offered: list[tuple[int, str, str]] | None = None
    typed: str = ""


def _waiting_page(
    hospital: Hospital, status: int = 200, row: RowState | None = None, message: str | None = None
) -> Response:
    orders = inpatient.waiting_for_beds(hospital.id)
    doctor_ids = {a.attending_doctor_id for a in orders}
    if doctor_ids:  # the doctors' names in one statement (then read from the session, not row by row)
        db.session.scalars(
            select(Doctor).where(Doctor.id.in_(doctor_ids)).options(joinedload(Doctor.user))
        ).all()
    free: dict[int, list[tuple[int, str, str]]] = {}
    every: list[tuple[int, str, str]] = []
    for bed in inpatient.free_beds(hospital.id, None, FREE_BEDS_SHOWN):
        choice = (bed.id, bed.label, bed.ward.name)
        free.setdefault(bed.ward_id, []).append(choice)
        every.append(choice)
    return render(
        WAITING,
        status=status,
        hospital=hospital,
        orders=orders,
        free=free,
        every=every,
        wards=open_wards(hospital.id),
        row=row,
        message=message,
    )


@bp.get("/admissions")
def waiting_list() -> Response:
    """Admission orders of the hospital waiting for a bed, oldest first (the desk and the nurses)."""
    return _waiting_page(_desk_hospital())


def _waiting_order(admission_id: int, may: Callable[[User, Admission], bool]) -> Admission:
    """The admission if the user may act on it; 409 when it no longer waits (someone gave it a bed or
    cancelled it first) and it is of his hospital; else 404."""
    admission = db.session.get(Admission, admission_id)
    if admission is None:
        abort(404)
    if may(current_user, admission):
        return admission
    ours = (
        inpatient.is_desk_of(current_user, admission.hospital_id)
        or inpatient.is_nurse_of(current_user, admission.hospital_id)
        or inpatient.is_treating_doctor(current_user, admission)
    )
    if ours and admission.status != AdmissionStatus.ordered:
        message = gettext("This admission no longer waits for a bed.")
        staff = getattr(current_user, "staff", None)
        if staff is not None:
            abort(_waiting_page(staff.hospital, 409, message=message))
        flash(message, "error")
        abort(redirect_to(admission_url(admission)))
    abort(404)


def _back(admission: Admission) -> str:
    """Where the desk and nurses go on (the waiting list); a doctor, to the admission."""
    staff_here = inpatient.is_desk_of(current_user, admission.hospital_id) or inpatient.is_nurse_of(
        current_user, admission.hospital_id
    )
    return url_for("ward.waiting_list") if staff_here else admission_url(admission)


@bp.post("/admissions/<int:admission_id>/bed")
def give_bed(admission_id: int) -> Response:
    """Give a bed to an admission order (the desk, a nurse or its doctor)."""
    admission = _waiting_order(admission_id, inpatient.can_assign_bed)
    form = BedForm()
    outcome = attempt(form, lambda: inpatient.assign_bed(admission, picked(form.bed_id.data), current_user))
    if outcome.admission is not None:
        return _admitted(outcome.admission, _back(outcome.admission))
    return _refused(admission_id, "bed", form, outcome.status, outcome.offered, form.bed_id.data or "")


@bp.post("/admissions/<int:admission_id>/cancel")
def cancel_order(admission_id: int) -> Response:
    """Cancel an admission order with a reason (the desk, a nurse or its doctor)."""
    admission = _waiting_order(admission_id, inpatient.can_cancel_order)
    form = CancelForm()

    def cancel() -> Admission:
        return inpatient.cancel_admission_order(admission, current_user, form.reason.data or "")

    outcome = attempt(form, cancel)
    if outcome.admission is not None:
        flash(gettext("The admission of %(name)s is cancelled.", name=outcome.admission.patient.name))
        return redirect_to(_back(outcome.admission))
    return _refused(admission_id, "cancel", form, outcome.status, None, form.reason.data or "")


def _refused(
    admission_id: int, which: str, form: FlaskForm, status: int, offered: list | None, typed: str
) -> Response:
    """The waiting list again with the row's error (the desk and nurses); a doctor goes back to the
    admission with the error as a message."""
    admission = db.session.get(Admission, admission_id)
    errors = [*form.form_errors, *(e for f in form for e in f.errors)]
    staff = getattr(current_user, "staff", None)
    if staff is not None and admission is not None and staff.hospital_id == admission.hospital_id:
        row = RowState(admission_id, which, errors, offered, typed)
        return _waiting_page(staff.hospital, status, row)
    for error in errors:
        flash(error, "error")
    return redirect_to(admission_url(admission) if admission is not None else url_for("ward.bed_board"))
