"""The registration desk's views for one hospital: search, register (with the duplicate check), a
patient's desk page. Each blueprint registers them for its hospital; `ep` is the blueprint's name, so
that templates link within the right one."""

from __future__ import annotations

from flask import abort, flash, url_for
from flask_login import current_user

from hms import clock
from hms import query as query_args
from hms.extensions import db
from hms.forms import attach_error
from hms.frontdesk.forms import ClaimInvitationForm, RegisterPatientForm
from hms.htmx import redirect_to, render
from hms.i18n import N_
from hms.models import Hospital, Sex
from hms.services import desk
from hms.services.errors import DomainError
from hms.templating import locale_code


def desk_page(hospital: Hospital, ep: str):  # type: ignore[no-untyped-def]
    """The search box and its results (the `results` block alone for HTMX, as the user types)."""
    text = " ".join(query_args.text("q").split())
    found = desk.find_patients(hospital, text, locale_code()) if text else []
    return render(
        "desk/front_desk.html",
        "results",
        hospital=hospital,
        ep=ep,
        query=text,
        found=found,
        today=clock.now().astimezone(hospital.tz).date(),
    )


def register(hospital: Hospital, ep: str):  # type: ignore[no-untyped-def]
    """The registration form. A submission with likely duplicates, not yet confirmed as different
    people, is answered 422 with the matches and a button to register anyway."""
    form = RegisterPatientForm()
    duplicates: list[desk.Duplicate] = []
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate():
            if not form.different_people.data:
                duplicates = desk.find_duplicates(
                    form.full_name.data,
                    form.date_of_birth.data or _birth_from_age(hospital, form.age.data),
                    form.phone.data,
                    approximate=form.date_of_birth.data is None,
                )
            if not duplicates:
                try:
                    patient = desk.register_patient(
                        hospital=hospital,
                        actor=current_user,
                        full_name=form.full_name.data,
                        sex=Sex(form.sex.data),
                        phone=form.phone.data,
                        date_of_birth=form.date_of_birth.data,
                        age_years=form.age.data,
                        address=form.address.data,
                        emergency_contact=form.emergency_contact.data,
                        guardian_name=form.guardian_name.data,
                        guardian_phone=form.guardian_phone.data,
                    )
                except DomainError as error:
                    db.session.rollback()
                    attach_error(form, error)
                else:
                    db.session.commit()
                    flash(N_("Patient registered. His medical record number is on this page."), "success")
                    return redirect_to(url_for(f"{ep}.desk_patient", patient_id=patient.id))
    visible = _visible_ids(hospital, duplicates)
    return render(
        "desk/register.html",
        "form",
        status=status,
        form=form,
        ep=ep,
        hospital=hospital,
        duplicates=duplicates,
        visible=visible,
    )


def _birth_from_age(hospital: Hospital, years: int | None):  # type: ignore[no-untyped-def]
    if years is None:
        return None
    return desk.birth_date_from_age(years, clock.now().astimezone(hospital.tz).date())


def _visible_ids(hospital: Hospital, duplicates: list[desk.Duplicate]) -> set[int]:
    """Which likely duplicates this desk may open (the others are named, not linked)."""
    if not duplicates:
        return set()
    return desk.hospital_patient_ids(hospital, [d.patient.id for d in duplicates])


def patient_page(hospital: Hospital, ep: str, patient_id: int):  # type: ignore[no-untyped-def]
    patient = desk.hospital_patient(hospital, patient_id) or abort(404)
    desk.record_desk_view(hospital, patient, current_user)
    db.session.commit()
    return render(
        "desk/patient.html",
        None,
        hospital=hospital,
        ep=ep,
        patient=patient,
        visits=desk.patient_visits(hospital, patient),
        today=clock.now().astimezone(hospital.tz).date(),
        now=clock.now(),
        invite_form=ClaimInvitationForm(formdata=None, email=patient.user.email),
    )
