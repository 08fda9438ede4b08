"""Patient pages: dashboard, finding a doctor, the slot picker, booking, my appointments."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_login import current_user
from sqlalchemy import select

from hms import clock, directory
from hms import query as query_args
from hms.auth.session import role_required
from hms.database import commit_keeping_loaded, retry_on_deadlock
from hms.extensions import db, limiter
from hms.forms import attach_error
from hms.htmx import is_htmx, redirect_to, render, show_page, trigger
from hms.i18n import N_
from hms.models import Appointment, Membership, Role
from hms.patient.forms import BookingForm, CancelForm, FeedbackForm, RescheduleForm
from hms.services import billing, scheduling
from hms.services import feedback as feedback_service
from hms.services.errors import DomainError
from hms.services.scheduling import PickerCard

bp = Blueprint("patient", __name__)
bp.before_request(role_required(Role.patient))

PER_PAGE = 10


@bp.get("/")
def dashboard():
    upcoming, _ = scheduling.patient_appointments(current_user.patient.id)
    return render("patient/dashboard.html", patient=current_user.patient, upcoming=upcoming[:3])


# ------------------------------------------------------------------ finding a doctor


@bp.get("/doctors")
def find_doctors():
    return directory.search_page("patient")


@bp.get("/doctors/<int:doctor_id>/at/<int:hospital_id>")
def doctor_page(doctor_id: int, hospital_id: int):
    membership = directory.picker_card_or_404(doctor_id, hospital_id)
    fragment = is_htmx()
    # The day fragment holds only the times (the form's token and key stay in the page): no token made.
    form = BookingForm(meta={"csrf": False}) if fragment else BookingForm()
    context = directory.picker_context(membership, fragment=fragment, form=form)
    chosen = query_args.text("slot", 20)  # the time chosen before logging in (the public picker's "Book")
    if chosen and not fragment:
        if any(s.key == chosen for s in context["slots"]):
            form.slot.data = chosen
        else:
            context["chosen_gone"] = True
    return render("patient/doctor.html", "slots", **context)


@bp.post("/doctors/<int:doctor_id>/at/<int:hospital_id>/book")
@limiter.limit(lambda: current_app.config["BOOKING_RATE_LIMIT"])
def book(doctor_id: int, hospital_id: int):
    """Book, re-checking everything under the booking lock (the service reads the membership there);
    the picker is loaded again only to show a refusal. The confirmation page is rendered from what the
    booking wrote and read (nothing expires at its commit)."""
    form = BookingForm()

    def again(status: int, **extra):  # type: ignore[no-untyped-def]
        return _picker_again(directory.picker_card_or_404(doctor_id, hospital_id), form, status, **extra)

    if not form.validate_on_submit():
        return again(422)
    try:
        start = scheduling.parse_slot_key(form.slot.data)

        def attempt() -> Appointment:
            appointment = scheduling.book_appointment(
                patient=current_user.patient,
                doctor_id=doctor_id,
                hospital_id=hospital_id,
                start=start,
                reason=form.reason.data,
                booked_by=current_user,
                idempotency_key=form.key.data,
            )
            commit_keeping_loaded()  # the page below shows what was just written
            return appointment

        appointment = retry_on_deadlock(attempt)
    except DomainError as error:
        status, extra = directory.refusal(form, error)
        return again(status, **extra)
    flash(N_("Your appointment is booked."), "success")
    url = url_for("patient.appointment", appointment_id=appointment.id)
    if is_htmx():  # the confirmation comes in this answer: no second round trip to fetch it
        return show_page(lambda: _appointment_page(appointment), url)
    return redirect_to(url)


def _picker_again(membership: Membership | PickerCard, form: BookingForm, status: int, **extra):  # type: ignore[no-untyped-def]
    """The picker for the day the patient was looking at, with the errors and what he typed."""
    day = None
    try:
        start = scheduling.parse_slot_key(form.slot.data)
        day = start.astimezone(membership.hospital.tz).date()
    except DomainError:
        pass
    context = directory.picker_context(membership, day, form=form, **extra)
    if day is not None and not (context["strip"][0][0] <= day <= context["strip"][-1][0]):
        context = directory.picker_context(membership, None, form=form, **extra)
    response = render("patient/doctor.html", "booking_form", status=status, **context)
    return trigger(response, "slotsChanged") if status == 409 else response


# ------------------------------------------------------------------ my appointments


def _own_appointment(appointment_id: int) -> Appointment:
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.patient_id != current_user.patient.id:
        abort(404)
    return appointment


@bp.get("/appointments")
def appointments():
    upcoming, past = scheduling.patient_appointments(current_user.patient.id)
    return render(
        "patient/appointments.html", upcoming=upcoming, past=past[:50], now=clock.now(), form=CancelForm()
    )


@bp.get("/appointments/<int:appointment_id>")
def appointment(appointment_id: int):
    return _appointment_page(_own_appointment(appointment_id))


def _appointment_page(item: Appointment, block: str | None = None, status: int = 200, **extra):  # type: ignore[no-untyped-def]
    """The whole page (also for HTMX: the booking answers with it), or its feedback block."""
    return render(
        "patient/appointment.html",
        block,
        status=status,
        appointment=item,
        now=clock.now(),
        form=CancelForm(),
        feedback=feedback_service.feedback_for(item),
        can_rate=feedback_service.can_leave_feedback(item),
        feedback_form=extra.pop("feedback_form", None) or FeedbackForm(formdata=None),
        **extra,
    )


@bp.post("/appointments/<int:appointment_id>/feedback")
def leave_feedback(appointment_id: int):
    item = _own_appointment(appointment_id)
    form = FeedbackForm()
    block = "feedback" if is_htmx() else None
    if not form.validate_on_submit():
        return _appointment_page(item, block, 422, feedback_form=form)
    try:
        feedback_service.leave_feedback(item, current_user, int(form.rating.data), form.comment.data or "")
    except DomainError as error:
        db.session.rollback()
        attach_error(form, error)
        return _appointment_page(item, block, error.status, feedback_form=form)
    db.session.commit()
    if not is_htmx():
        flash(N_("Thank you for your feedback."), "success")
        return redirect_to(url_for("patient.appointment", appointment_id=item.id))
    return _appointment_page(item, block, message=N_("Thank you for your feedback."))


@bp.get("/appointments/<int:appointment_id>/cancel")
def confirm_cancel(appointment_id: int):
    """The small step before cancelling: what happens to the bill (the hospital's policy), an optional
    reason, and a clear choice. With HTMX it replaces the visit's buttons in place (`?keep=1` puts them
    back); without JavaScript it is a page."""
    item = _own_appointment(appointment_id)
    now = clock.now()
    where = query_args.choice("where", ("page", "list"), default="list")
    if query_args.flag("keep", "1"):
        return render("patient/_appointment_actions.html", a=item, now=now, where=where)
    if not item.can_patient_change(now):
        flash(N_("This appointment can no longer be cancelled online. Please call the hospital."), "error")
        return redirect_to(url_for("patient.appointment", appointment_id=item.id))
    return render(
        "patient/cancel.html",
        "panel",
        a=item,
        where=where,
        form=CancelForm(),
        terms=billing.cancellation_terms(item, current_user),
    )


@bp.post("/appointments/<int:appointment_id>/cancel")
@limiter.limit(lambda: current_app.config["BOOKING_RATE_LIMIT"])
def cancel(appointment_id: int):
    """Cancel; HTMX gets the updated row of the list, or the appointment's own page updated, whichever
    the patient cancelled from."""
    item = _own_appointment(appointment_id)
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    from_page = request.form.get("where") == "page"
    try:
        scheduling.cancel_appointment(item, current_user, form.reason.data or "")
    except DomainError as error:
        db.session.rollback()
        if is_htmx() and not from_page:
            return render(
                "patient/appointments.html",
                "row",
                status=409,
                a=item,
                now=clock.now(),
                row_message=error.message,
            )
        flash(error.message, "error")
        return redirect_to(url_for("patient.appointment", appointment_id=item.id))
    db.session.commit()
    if is_htmx() and from_page:
        flash(N_("Your appointment is cancelled."), "success")
        return trigger(_appointment_page(item, "card", inline_messages=True), "slotsChanged")
    if is_htmx():
        response = render(
            "patient/appointments.html",
            "row",
            a=item,
            now=clock.now(),
            row_message=N_("Cancelled. The time is free for others again."),
        )
        return trigger(response, "slotsChanged")
    flash(N_("Your appointment is cancelled."), "success")
    return redirect_to(
        url_for("patient.appointment" if from_page else "patient.appointments", appointment_id=item.id)
    )


@bp.route("/appointments/<int:appointment_id>/reschedule", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["BOOKING_RATE_LIMIT"], methods=["POST"])
def reschedule(appointment_id: int):
    item = _own_appointment(appointment_id)
    if not item.can_patient_change(clock.now()):
        flash(N_("This appointment can no longer be changed online. Please call the hospital."), "error")
        return redirect_to(url_for("patient.appointment", appointment_id=item.id))
    membership = db.session.scalar(
        select(Membership).where(
            Membership.doctor_id == item.doctor_id, Membership.hospital_id == item.hospital_id
        )
    )
    if membership is None:
        abort(404)
    form = RescheduleForm()
    status, extra = 200, {}
    if form.validate_on_submit():
        try:
            new = scheduling.reschedule_appointment(
                item, scheduling.parse_slot_key(form.slot.data), current_user, form.key.data
            )
            db.session.commit()
        except DomainError as error:
            status, extra = directory.refusal(form, error)
        else:
            flash(N_("Your appointment is moved."), "success")
            url = url_for("patient.appointment", appointment_id=new.id)
            if is_htmx():  # the moved visit's page comes in this answer, as a booking's does
                return show_page(lambda: _appointment_page(new), url)
            return redirect_to(url)
    elif form.is_submitted():
        status = 422
    context = directory.picker_context(
        membership,
        form=form,
        rescheduling=item,
        preferred=item.start_at.astimezone(membership.hospital.tz).date(),  # opens on the visit's day
        keep_key=item.slot_key(item.start_at),
        fragment=request.method == "GET" and is_htmx(),
        **extra,
    )
    block = "booking_form" if request.method == "POST" else "slots"
    return render("patient/reschedule.html", block, status=status, **context)


from hms.patient import admissions as _admissions  # noqa: E402,F401  (registers the hospital stays)
from hms.patient import billing as _billing  # noqa: E402,F401  (registers its routes on bp)
from hms.patient import lab as _lab  # noqa: E402,F401  (registers the test results)
from hms.patient import records as _records  # noqa: E402, F401  (registers the clinical-record routes)
