"""An admission's page on the ward: the patient, his bed and its history, vitals rounds, progress and
nursing notes, transfer to another bed, hand-over to another doctor, the discharge summary and the
discharge with the bill's room nights; and a doctor's list of his inpatients.

Who sees the page is hms.services.inpatient's rule (`admission_for`: its doctors, the hospital's nurses
while it is open); anyone else gets 404, written to the audit log. What each person may do on it is the
service's `can_*` predicates; the service raises, this module renders: 422 for bad input with the form
kept, 409 when the admission changed meanwhile (a stale `version`, a bed taken: other beds offered)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, make_response, url_for
from flask_babel import gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.validators import Length, Optional

from hms import clock
from hms.extensions import db
from hms.forms import EmptyForm, attach_error
from hms.htmx import is_htmx, redirect_to, render
from hms.i18n import N_
from hms.models import (
    Admission,
    AdmissionStatus,
    Appointment,
    AppointmentStatus,
    Bill,
    Doctor,
    NoteKind,
    Patient,
)
from hms.services import clinical, inpatient, triage
from hms.services.audit import record_event
from hms.services.desk_booking import desk_doctors
from hms.services.discharge_pdf import discharge_pdf
from hms.services.errors import Conflict, DomainError, Invalid, NotAllowed
from hms.staff.triage import _measure
from hms.templating import zoned_time
from hms.ward.admit import bed_choices, open_wards
from hms.ward.routes import bp

TEMPLATE = "ward/admission.html"
MINE_LIMIT = 200
FREE_BEDS = 60
STALE = N_("Someone else changed this admission just now. Look at it again.")


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _text(label: str, limit: int, rows: int = 3) -> TextAreaField:
    return TextAreaField(
        label,
        filters=[_strip],
        validators=[Optional(), Length(max=limit)],
        render_kw={"rows": rows, "maxlength": limit},
    )


def _number(value: Any) -> int | None:
    raw = (value or "").strip() if isinstance(value, str) else ""
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


class VersionedForm(FlaskForm):
    """A form that carries the admission's version the user saw (a stale one is a 409)."""

    version = HiddenField()

    def stale(self, admission: Admission) -> bool:
        seen = _number(self.version.data)
        return seen is not None and seen != admission.version


class VitalsForm(FlaskForm):
    """A vitals round: the triage form's measurements, checked by the triage service's limits."""

    bp_systolic = _measure(N_("Systolic pressure (mmHg)"), "mmHg", maxlength=3)
    bp_diastolic = _measure(N_("Diastolic pressure (mmHg)"), "mmHg", maxlength=3)
    pulse = _measure(N_("Pulse (/min)"), "/min", maxlength=3)
    respiratory_rate = _measure(N_("Respiratory rate (/min)"), "/min", maxlength=2)
    spo2 = _measure(N_("SpO₂ (%%)"), "%", maxlength=3)
    temperature_c = _measure(N_("Temperature (°C)"), "°C", maxlength=4)
    weight_kg = _measure(N_("Weight (kg)"), "kg", maxlength=5)
    height_cm = _measure(N_("Height (cm)"), "cm", maxlength=5)

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name).data for name in triage.MEASUREMENTS}


class NoteForm(FlaskForm):
    text = _text(N_("Note"), inpatient.NOTE_MAX, rows=3)


class TransferForm(VersionedForm):
    bed_id = HiddenField()  # the picker's radio buttons (templates/ward/admit_beds.html)
    reason = _text(N_("Reason for the transfer"), inpatient.REASON_MAX, rows=2)


class HandOverForm(VersionedForm):
    doctor_id = SelectField(N_("Hand over to"), choices=[], validate_choice=False)


class DischargeForm(VersionedForm):
    discharge_diagnoses = _text(N_("Diagnoses on discharge"), inpatient.SUMMARY_MAX)
    discharge_procedures = _text(N_("Procedures"), inpatient.SUMMARY_MAX)
    discharge_medicines = _text(N_("Medicines on discharge"), inpatient.SUMMARY_MAX)
    discharge_advice = _text(N_("Follow-up advice"), inpatient.SUMMARY_MAX)
    follow_up = SelectField(N_("Follow-up visit"), choices=[], validate_choice=False)

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name).data for name in inpatient.SUMMARY_FIELDS}


class LeaveForm(VersionedForm):
    """The "patient has left" button."""


# ---------------------------------------------------------------- reading


def _admission_or_404(admission_id: int) -> Admission:
    """The admission with what its page shows, if this user may see it; else 404 (audited)."""
    admission = inpatient.admission_for(current_user, admission_id)
    if admission is None:
        db.session.rollback()
        record_event("view", "admission", admission_id, outcome="denied")  # no patient named
        db.session.commit()
        abort(404)
    return inpatient.admission_detail(admission.id) or abort(404)


def _follow_ups(admission: Admission) -> list[Appointment]:
    """The patient's booked visits at this hospital still to come (one may be attached)."""
    return list(
        db.session.scalars(
            select(Appointment)
            .where(
                Appointment.patient_id == admission.patient_id,
                Appointment.hospital_id == admission.hospital_id,
                or_(
                    Appointment.id == admission.follow_up_appointment_id,
                    (Appointment.status == AppointmentStatus.booked) & (Appointment.start_at > clock.now()),
                ),
            )
            .options(joinedload(Appointment.doctor).joinedload(Doctor.user))
            .order_by(Appointment.start_at)
            .limit(20)
        )
    )


def _forms(admission: Admission, **given: Any) -> dict[str, Any]:
    """Every form of the page, fresh unless given (a refused one keeps what was typed)."""
    version = {"version": str(admission.version)}
    forms: dict[str, Any] = {
        "vitals_form": VitalsForm(formdata=None),
        "note_form": NoteForm(formdata=None),
        "transfer_form": TransferForm(formdata=None, data=version),
        "handover_form": HandOverForm(formdata=None, data=version),
        "discharge_form": DischargeForm(
            formdata=None,
            data=version
            | {name: getattr(admission, name) for name in inpatient.SUMMARY_FIELDS}
            | {"follow_up": str(admission.follow_up_appointment_id or "")},
        ),
        "leave_form": LeaveForm(formdata=None, data=version),
    }
    forms.update(given)
    return forms


def _context(admission: Admission, *, offered: list | None = None, **given: Any) -> dict[str, Any]:  # type: ignore[type-arg]
    user = current_user
    now = clock.now()
    can = {
        "transfer": inpatient.can_transfer(user, admission),
        "note": inpatient.can_write_note(user, admission),
        "order_discharge": inpatient.can_order_discharge(user, admission),
        "discharge": inpatient.can_discharge(user, admission),
        "hand_over": admission.status.is_open and inpatient.is_treating_doctor(user, admission),
        "is_doctor": inpatient.is_treating_doctor(user, admission),
        "prescribe": inpatient.can_write_note(user, admission) == NoteKind.progress,
    }
    forms = _forms(admission, **given)
    transfer: dict[str, Any] = {}
    if can["transfer"]:  # the admitting pages' free-bed picker (all wards' beds until one is chosen)
        beds = offered if offered is not None else inpatient.free_beds(admission.hospital_id, limit=FREE_BEDS)
        transfer = {
            "transfer_beds": bed_choices(beds),
            "transfer_wards": open_wards(admission.hospital_id),
            "transfer_bed_id": _number(forms["transfer_form"].bed_id.data),
        }
    if can["hand_over"]:
        forms["handover_form"].doctor_id.choices = [("", gettext("Choose a doctor…"))] + [
            (str(m.doctor_id), gettext("Dr %(name)s", name=m.doctor.name))
            for m in desk_doctors(admission.hospital)
            if m.doctor_id != admission.attending_doctor_id
        ]
    if can["order_discharge"]:
        forms["discharge_form"].follow_up.choices = [("", gettext("None"))] + [
            (str(a.id), _visit_label(a, admission.hospital.tz)) for a in _follow_ups(admission)
        ]
    bill = _bill(admission) if admission.bill_id else None
    return {
        "admission": admission,
        "patient": admission.patient,
        "hospital": admission.hospital,
        "tz": admission.hospital.timezone,
        "today": now.astimezone(admission.hospital.tz).date(),
        "days_in": inpatient.days_in(admission, now),
        "vitals": inpatient.admission_vitals(admission.id),
        "can": can,
        "bill": bill,
        "stay_bills": inpatient.stay_bills(admission),
        "prescriptions": inpatient.admission_prescriptions(admission, user),
        "button_form": EmptyForm(),
        **transfer,
        **forms,
    }


def _visit_label(appointment: Appointment, tz: Any) -> str:
    return gettext(
        "%(when)s with Dr %(name)s",
        when=zoned_time(appointment.start_at, tz),
        name=appointment.doctor.name,
    )


def _bill(admission: Admission) -> Bill | None:
    return db.session.scalar(select(Bill).where(Bill.id == admission.bill_id).options(joinedload(Bill.items)))


def _page(admission: Admission, *, status: int = 200, block: str | None = None, **kwargs: Any) -> Response:
    response = render(TEMPLATE, block, status=status, **_context(admission, **kwargs))
    response.vary.add("HX-Request")
    return response


@bp.get("/admissions/<int:admission_id>", endpoint="admission")
def admission_page(admission_id: int):
    admission = _admission_or_404(admission_id)
    response = _page(admission)
    record_event(
        "view", "admission", admission.id, patient_id=admission.patient_id, hospital_id=admission.hospital_id
    )
    db.session.commit()  # after rendering: the commit would expire every row the page read
    return response


@bp.get("/admissions/mine", endpoint="my_admissions")
def my_admissions():
    """A doctor's open admissions (he admitted the patient or attends him now), by ward and bed."""
    doctor = current_user.doctor
    if doctor is None:
        abort(404)
    admissions = list(
        db.session.scalars(
            select(Admission)
            .where(
                Admission.open_patient_id.is_not(None),
                or_(Admission.attending_doctor_id == doctor.id, Admission.admitting_doctor_id == doctor.id),
            )
            .options(
                joinedload(Admission.patient).joinedload(Patient.user),
                joinedload(Admission.hospital),
                joinedload(Admission.ward),
                joinedload(Admission.bed),
            )
            .order_by(Admission.hospital_id, Admission.ward_id, Admission.ordered_at)
            .limit(MINE_LIMIT)
        )
    )
    now = clock.now()
    return render(
        "ward/admissions_mine.html",
        rows=[(a, inpatient.days_in(a, now)) for a in admissions],
        doctor=doctor,
    )


# ---------------------------------------------------------------- acting


# The states in which each action can be done by someone: a refusal outside them is a 409 (the
# admission moved on), inside them a 403 (this person never may).
ACTION_STATES = {
    "note": (AdmissionStatus.admitted, AdmissionStatus.discharge_ordered),
    "vitals": (AdmissionStatus.admitted, AdmissionStatus.discharge_ordered),
    "transfer": (AdmissionStatus.admitted,),
    "hand_over": (AdmissionStatus.ordered, AdmissionStatus.admitted, AdmissionStatus.discharge_ordered),
    "order_discharge": (AdmissionStatus.admitted, AdmissionStatus.discharge_ordered),
    "discharge": (AdmissionStatus.discharge_ordered,),
}


def _refused(admission_id: int, action: str, block: str, error: DomainError, **forms: Any) -> Response:
    """The page (or its `block`) again after a refusal, with what was typed and the reason."""
    db.session.rollback()
    admission = _admission_or_404(admission_id)
    if isinstance(error, NotAllowed):
        status = 409 if admission.status not in ACTION_STATES[action] else 403
    else:
        status = error.status
    offered = getattr(error, "free_beds", None)
    for form in forms.values():
        if hasattr(form, "version"):
            form.version.data = str(admission.version)
        field = getattr(form, error.field or "", None)
        if isinstance(error, NotAllowed):
            form.form_errors.append(error.message)
        elif isinstance(error, triage.VitalsInvalid) or (field is not None and error.message in field.errors):
            pass  # already on its fields (the form's own validation, or the triage service's)
        else:
            attach_error(form, error)
    return _page(
        admission,
        status=status,
        block=block if is_htmx() else None,
        offered=offered,
        refused=action,
        **forms,
    )


def _done(admission: Admission, message: str) -> Response:
    db.session.commit()
    flash(message, "success")
    return redirect_to(url_for("ward.admission", admission_id=admission.id))


def _posted(admission_id: int, form: FlaskForm) -> Admission:
    admission = _admission_or_404(admission_id)
    """The admission (404 unless seen) with the form validated; a missing CSRF token is a 400."""
    if not form.validate() and "csrf_token" in form.errors:
        abort(400)
    return admission


@bp.post("/admissions/<int:admission_id>/notes", endpoint="admission_note")
def add_note(admission_id: int):
    form = NoteForm()
    admission = _posted(admission_id, form)
    try:
        if form.errors:
            raise Invalid(form.text.errors[0], field="text")
        note = inpatient.add_note(admission, current_user, form.text.data or "")
    except DomainError as error:
        response = _refused(admission_id, "note", "note_form", error, note_form=form)
        if is_htmx():
            response.headers["HX-Retarget"] = "#note-form"
            response.headers["HX-Reswap"] = "outerHTML"
        return response
    if not is_htmx():
        return _done(admission, N_("Note added."))
    db.session.commit()
    admission = inpatient.admission_detail(admission_id)
    note = next(n for n in admission.notes if n.id == note.id)
    return render(
        TEMPLATE,
        "note_added",
        note=note,
        tz=admission.hospital.timezone,
        admission=admission,
        note_form=NoteForm(formdata=None),
        oob=True,
        can={"note": inpatient.can_write_note(current_user, admission)},
    )


@bp.post("/admissions/<int:admission_id>/vitals", endpoint="admission_vitals")
def record_vitals(admission_id: int):
    form = VitalsForm()
    admission = _posted(admission_id, form)
    try:
        if form.errors:
            raise Invalid(N_("Check the values."))
        inpatient.record_round_vitals(admission, current_user, form.values())
    except triage.VitalsInvalid as error:
        for name, message in error.errors.items():
            field = getattr(form, name, None)
            if field is not None:
                field.errors = [*field.errors, message]
            else:
                form.form_errors.append(N_("Enter at least one vital sign."))
        return _refused(admission_id, "vitals", "vitals_section", error, vitals_form=form)
    except DomainError as error:
        return _refused(admission_id, "vitals", "vitals_section", error, vitals_form=form)
    if not is_htmx():
        return _done(admission, N_("Vital signs recorded."))
    db.session.commit()
    admission = inpatient.admission_detail(admission_id)
    return _page(admission, block="vitals_section", saved="vitals")


@bp.post("/admissions/<int:admission_id>/transfer", endpoint="admission_transfer")
def transfer(admission_id: int):
    form = TransferForm()
    admission = _posted(admission_id, form)
    try:
        if form.stale(admission):
            raise Conflict(STALE)
        inpatient.transfer_patient(admission, _number(form.bed_id.data), current_user, form.reason.data or "")
    except DomainError as error:
        return _refused(admission_id, "transfer", "transfer_section", error, transfer_form=form)
    return _done(admission, N_("The patient was moved to the new bed."))


@bp.post("/admissions/<int:admission_id>/attending", endpoint="admission_hand_over")
def hand_over(admission_id: int):
    form = HandOverForm()
    admission = _posted(admission_id, form)
    try:
        if form.stale(admission):
            raise Conflict(STALE)
        inpatient.set_attending_doctor(admission, _number(form.doctor_id.data), current_user)
    except DomainError as error:
        return _refused(admission_id, "hand_over", "handover_section", error, handover_form=form)
    return _done(admission, N_("The patient was handed over."))


@bp.post("/admissions/<int:admission_id>/discharge-summary", endpoint="admission_discharge_order")
def order_discharge(admission_id: int):
    form = DischargeForm()
    admission = _posted(admission_id, form)
    try:
        if form.stale(admission):
            raise Conflict(STALE)
        if form.errors:
            name, messages = next(iter(form.errors.items()))
            raise Invalid(messages[0], field=name)
        follow_up = None
        chosen = _number(form.follow_up.data)
        if chosen is not None:
            follow_up = next((a for a in _follow_ups(admission) if a.id == chosen), None)
            if follow_up is None:
                raise Invalid(N_("Choose one of the patient's coming visits."), field="follow_up")
        elif (form.follow_up.data or "").strip():
            raise Invalid(N_("Choose one of the patient's coming visits."), field="follow_up")
        inpatient.order_discharge(admission, current_user, form.values(), follow_up=follow_up)
    except DomainError as error:
        return _refused(admission_id, "order_discharge", "discharge_section", error, discharge_form=form)
    return _done(admission, N_("Discharge summary saved: the patient may leave."))


@bp.post("/admissions/<int:admission_id>/discharge", endpoint="admission_discharge")
def discharge(admission_id: int):
    form = LeaveForm()
    admission = _posted(admission_id, form)
    try:
        if form.stale(admission):
            raise Conflict(STALE)
        inpatient.discharge_patient(admission, current_user)
    except DomainError as error:
        return _refused(admission_id, "discharge", "discharge_section", error, leave_form=form)
    return _done(admission, N_("The patient was discharged; the bed goes to cleaning."))


@bp.post("/admissions/<int:admission_id>/prescriptions", endpoint="admission_prescription")
def start_prescription(admission_id: int):
    """A treating doctor starts a prescription for the patient in his bed (or goes back to his open
    draft for the stay), then edits it in the prescription editor."""
    form = EmptyForm()
    admission = _posted(admission_id, form)
    if current_user.doctor is None:
        abort(403)
    try:
        prescription = clinical.start_admission_prescription(admission, current_user.doctor)
    except NotAllowed:
        db.session.rollback()
        if admission.status.in_bed and not inpatient.is_treating_doctor(current_user, admission):
            abort(403)
        flash(N_("The patient is no longer in a bed: no new prescription on the ward."), "error")
        return redirect_to(url_for("ward.admission", admission_id=admission_id))
    db.session.commit()
    return redirect_to(url_for("doctor.prescription", prescription_id=prescription.id))


@bp.get("/admissions/<int:admission_id>/summary.pdf", endpoint="admission_summary_pdf")
def summary_pdf(admission_id: int):
    """The discharge summary as a PDF, for the treating doctors (once the discharge is ordered)."""
    admission = _admission_or_404(admission_id)
    if not inpatient.is_treating_doctor(current_user, admission) or not admission.discharge_ordered_at:
        abort(404)
    return pdf_response(admission)


def pdf_response(admission: Admission) -> Response:
    """The summary's PDF as a download, written to the audit log."""
    body = discharge_pdf(admission)
    record_event(
        "download",
        "admission",
        admission.id,
        patient_id=admission.patient_id,
        hospital_id=admission.hospital_id,
    )
    db.session.commit()
    response = make_response(body)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="discharge-{admission.id}.pdf"'
    return response
