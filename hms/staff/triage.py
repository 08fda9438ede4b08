"""The nurse's triage: her list of today's checked-in patients and the triage page of one visit
(vital signs with units, complaint, triage level; the patient's last vitals beside it).

Only nurses (StaffKind.nurse) reach these pages; every visit in a URL goes through the nurses'
access rule (hms.services.triage.nurse_can_see): a miss is a 404, written to the audit log."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn

from flask import abort, flash, url_for
from flask_babel import lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from hms import clock
from hms.extensions import db
from hms.htmx import is_htmx, redirect_to, render
from hms.i18n import N_
from hms.models import Appointment, StaffKind, TriageLevel
from hms.services import triage
from hms.services.errors import DomainError, NotAllowed
from hms.staff.routes import bp


def nurse_only(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user.staff is None or current_user.staff.kind != StaffKind.nurse:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _measure(label: str, unit: str, *, maxlength: int = 6) -> StringField:
    """A number typed with the keypad's decimal keys (a comma or a point); the service checks it."""
    return StringField(
        label,
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[Optional(), Length(max=12)],
        render_kw={"inputmode": "decimal", "autocomplete": "off", "maxlength": maxlength, "data-unit": unit},
    )


class TriageForm(FlaskForm):
    bp_systolic = _measure(N_("Systolic pressure (mmHg)"), "mmHg", maxlength=3)
    bp_diastolic = _measure(N_("Diastolic pressure (mmHg)"), "mmHg", maxlength=3)
    pulse = _measure(N_("Pulse (/min)"), "/min", maxlength=3)
    respiratory_rate = _measure(N_("Respiratory rate (/min)"), "/min", maxlength=2)
    spo2 = _measure(N_("SpO₂ (%%)"), "%", maxlength=3)
    temperature_c = _measure(N_("Temperature (°C)"), "°C", maxlength=4)
    weight_kg = _measure(N_("Weight (kg)"), "kg", maxlength=5)
    height_cm = _measure(N_("Height (cm)"), "cm", maxlength=5)
    chief_complaint = TextAreaField(
        N_("Chief complaint"),
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[Optional(), Length(max=triage.COMPLAINT_MAX)],
        render_kw={"rows": 2, "maxlength": triage.COMPLAINT_MAX},
    )
    triage_level = SelectField(
        N_("Triage level"),
        choices=[("", lazy_gettext("Choose…"))]
        + [(str(level.value), lazy_gettext(level.label)) for level in TriageLevel],
        validators=[Optional()],
        validate_choice=False,  # the service names the allowed levels
        description=N_("Five-level scale (CTAS): 1 is seen at once, 5 can wait longest."),
    )

    def values(self) -> dict[str, Any]:
        return {
            name: getattr(self, name).data
            for name in (*triage.MEASUREMENTS, "chief_complaint", "triage_level")
        }


def _hospital():  # type: ignore[no-untyped-def]
    return current_user.staff.hospital


def _deny(appointment_id: int) -> NoReturn:
    """Audit the refused look-up and answer 404, the same as for a visit that does not exist."""
    db.session.rollback()
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is not None and appointment.hospital_id != _hospital().id:
        appointment = None  # another hospital's patient is not named in this hospital's log
    triage.audit_view(appointment, outcome="denied", record_id=appointment_id)  # type: ignore[arg-type]
    db.session.commit()
    abort(404)


def _visit_or_404(appointment_id: int) -> Appointment:
    appointment = triage.appointment_for_nurse(current_user, appointment_id)
    if appointment is None:
        _deny(appointment_id)
    return appointment


@bp.get("/triage")
@nurse_only
def triage_list():
    return render("staff/triage_list.html", rows=triage.triage_queue(_hospital()), today=clock.now())


def _triage_page(appointment: Appointment, form: TriageForm, *, status: int = 200, saved=None):  # type: ignore[no-untyped-def]
    now = clock.now()
    return render(
        "staff/triage.html",
        "triage_form",
        status=status,
        appointment=appointment,
        patient=appointment.patient,
        form=form,
        current=triage.latest_for_appointment(appointment.id),
        previous=triage.previous_vitals(appointment.patient_id, appointment.id),
        saved=saved,
        today=now.astimezone(appointment.hospital.tz).date(),
    )


@bp.route("/triage/<int:appointment_id>", methods=["GET", "POST"], endpoint="triage")
@nurse_only
def triage_page(appointment_id: int):
    appointment = _visit_or_404(appointment_id)
    form = TriageForm()
    if not form.is_submitted():
        triage.audit_view(appointment)
        db.session.commit()
        latest = triage.latest_for_appointment(appointment.id)
        if latest is None:
            form = TriageForm(formdata=None, data={"chief_complaint": appointment.reason or ""})
        return _triage_page(appointment, form)
    if not form.validate():
        return _triage_page(appointment, form, status=422)
    try:
        vitals = triage.record_triage(appointment, current_user, form.values())
    except triage.VitalsInvalid as error:
        db.session.rollback()
        for name, message in error.errors.items():
            getattr(form, name).errors = [*getattr(form, name).errors, message]
        return _triage_page(appointment, form, status=422)
    except DomainError as error:
        db.session.rollback()
        if isinstance(error, NotAllowed):
            abort(403)
        form.form_errors.append(error.message)
        return _triage_page(appointment, form, status=422)
    db.session.commit()
    if not is_htmx():
        flash(N_("Triage recorded: the patient is ready for the doctor."), "success")
        return redirect_to(url_for("staff.triage", appointment_id=appointment.id))
    return _triage_page(appointment, TriageForm(formdata=None), saved=vitals)
