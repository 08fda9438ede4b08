"""Bookings by phone at the desk (receptionist, hospital admin): choose a doctor of the hospital, the
patient's live slot picker (hms/directory.py and the patient's picker templates, with the desk's own
addresses), book, move and cancel for the patient. `ep` is the blueprint's name."""

from __future__ import annotations

from flask import abort, flash, request, url_for
from flask_login import current_user

from hms import clock, directory
from hms.database import retry_on_deadlock
from hms.extensions import db
from hms.forms import attach_error
from hms.frontdesk.forms import DeskCancelForm
from hms.htmx import is_htmx, redirect_to, render, trigger
from hms.i18n import N_
from hms.models import Appointment, Hospital, Membership, Patient
from hms.patient.forms import BookingForm, RescheduleForm
from hms.services import desk, desk_booking, scheduling
from hms.services.errors import DomainError


def _patient(hospital: Hospital, patient_id: int) -> Patient:
    return desk.hospital_patient(hospital, patient_id) or abort(404)


def _membership(hospital: Hospital, doctor_id: int) -> Membership:
    return directory.bookable_or_404(doctor_id, hospital.id)


def choose_doctor(hospital: Hospital, ep: str, patient_id: int):  # type: ignore[no-untyped-def]
    """The hospital's doctors with each one's next free time: the first step of a phone booking."""
    patient = _patient(hospital, patient_id)
    memberships = desk_booking.desk_doctors(hospital)
    return render(
        "desk/choose_doctor.html",
        hospital=hospital,
        ep=ep,
        patient=patient,
        memberships=memberships,
        next_free=scheduling.next_free_slots(memberships),
    )


def _book_url(ep: str, patient: Patient, membership: Membership) -> str:
    return url_for(f"{ep}.desk_book", patient_id=patient.id, doctor_id=membership.doctor_id)


def picker(hospital: Hospital, ep: str, patient_id: int, doctor_id: int):  # type: ignore[no-untyped-def]
    """The patient's picker for one doctor (only a day's times for the day strip's HTMX request)."""
    patient = _patient(hospital, patient_id)
    membership = _membership(hospital, doctor_id)
    fragment = is_htmx()
    form = BookingForm(meta={"csrf": False}) if fragment else BookingForm()
    context = directory.picker_context(membership, fragment=fragment, form=form)
    url = _book_url(ep, patient, membership)
    return render(
        "desk/book.html", "slots", ep=ep, patient=patient, post_url=url, day_base=f"{url}?day=", **context
    )


def book(hospital: Hospital, ep: str, patient_id: int, doctor_id: int):  # type: ignore[no-untyped-def]
    """Book for the patient; a taken time answers 409 with the nearest free ones, as for the patient."""
    patient = _patient(hospital, patient_id)
    membership = _membership(hospital, doctor_id)
    form = BookingForm()
    url = _book_url(ep, patient, membership)

    def again(status: int, **extra):  # type: ignore[no-untyped-def]
        context = directory.picker_context(
            membership, _day_of(membership, form.slot.data), form=form, **extra
        )
        response = render(
            "desk/book.html",
            "booking_form",
            status=status,
            ep=ep,
            patient=patient,
            post_url=url,
            day_base=f"{url}?day=",
            **context,
        )
        return trigger(response, "slotsChanged") if status == 409 else response

    if not form.validate_on_submit():
        return again(422)
    try:
        start = scheduling.parse_slot_key(form.slot.data)

        def attempt() -> Appointment:
            appointment = desk_booking.book_on_behalf(
                hospital=hospital,
                patient=patient,
                doctor_id=membership.doctor_id,
                start=start,
                reason=form.reason.data,
                actor=current_user,
                idempotency_key=form.key.data,
            )
            db.session.commit()
            return appointment

        retry_on_deadlock(attempt)
    except DomainError as error:
        status, extra = directory.refusal(form, error)
        return again(status, **extra)
    flash(N_("The visit is booked. The patient is told by email or SMS."), "success")
    return redirect_to(url_for(f"{ep}.desk_patient", patient_id=patient.id))


def _day_of(membership: Membership, key: str | None):  # type: ignore[no-untyped-def]
    """The day of the time the desk chose, when it is on the picker's strip (else the strip's own)."""
    try:
        day = scheduling.parse_slot_key(key).astimezone(membership.hospital.tz).date()
    except DomainError:
        return None
    today = scheduling.local_today(membership.hospital)
    return day if 0 <= (day - today).days < scheduling.PICKER_DAYS else None


def _visit(hospital: Hospital, patient: Patient, appointment_id: int) -> Appointment:
    return desk_booking.patient_appointment(hospital, patient, appointment_id) or abort(404)


def move(hospital: Hospital, ep: str, patient_id: int, appointment_id: int):  # type: ignore[no-untyped-def]
    """The picker for the visit's doctor, opened on the visit's day; the move books the new time and
    frees the old one in one transaction."""
    patient = _patient(hospital, patient_id)
    item = _visit(hospital, patient, appointment_id)
    back = url_for(f"{ep}.desk_patient", patient_id=patient.id)
    if not item.is_live or item.end_at <= clock.now():
        flash(N_("Only a booked appointment can be moved."), "error")
        return redirect_to(back)
    membership = _membership(hospital, item.doctor_id)
    form = RescheduleForm()
    status, extra = 200, {}
    if form.validate_on_submit():
        try:
            desk_booking.move_on_behalf(
                item, scheduling.parse_slot_key(form.slot.data), current_user, form.key.data
            )
            db.session.commit()
        except DomainError as error:
            status, extra = directory.refusal(form, error)
        else:
            flash(N_("The visit is moved. The patient is told by email or SMS."), "success")
            return redirect_to(back)
    elif form.is_submitted():
        status = 422
    url = url_for(f"{ep}.desk_move", patient_id=patient.id, appointment_id=item.id)
    context = directory.picker_context(
        membership,
        form=form,
        rescheduling=item,
        preferred=item.start_at.astimezone(hospital.tz).date(),
        keep_key=item.slot_key(item.start_at),
        fragment=request.method == "GET" and is_htmx(),
        **extra,
    )
    block = "booking_form" if request.method == "POST" else "slots"
    response = render(
        "desk/book.html",
        block,
        status=status,
        ep=ep,
        patient=patient,
        post_url=url,
        day_base=f"{url}?day=",
        **context,
    )
    return trigger(response, "slotsChanged") if status == 409 else response


def cancel(hospital: Hospital, ep: str, patient_id: int, appointment_id: int):  # type: ignore[no-untyped-def]
    """Cancel the visit with a reason the patient sees (a small page, also without JavaScript)."""
    patient = _patient(hospital, patient_id)
    item = _visit(hospital, patient, appointment_id)
    back = url_for(f"{ep}.desk_patient", patient_id=patient.id)
    form = DeskCancelForm()
    status = 200
    if form.validate_on_submit():
        try:
            desk_booking.cancel_on_behalf(item, current_user, form.reason.data)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
            status = error.status if error.status in (409, 422) else 422
        else:
            db.session.commit()
            flash(N_("The visit is cancelled. The patient is told by email or SMS."), "success")
            return redirect_to(back)
    elif form.is_submitted():
        status = 422
    return render(
        "desk/cancel_visit.html",
        "form",
        status=status,
        ep=ep,
        hospital=hospital,
        patient=patient,
        a=item,
        form=form,
    )


__all__ = ["book", "cancel", "choose_doctor", "move", "picker"]
