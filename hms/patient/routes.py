"""Patient pages: dashboard, finding a doctor, the slot picker, booking, my appointments."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_login import current_user
from sqlalchemy import select

from hms import clock
from hms import query as query_args
from hms.auth.session import role_required
from hms.database import retry_on_deadlock
from hms.extensions import db, limiter
from hms.forms import attach_error
from hms.htmx import is_htmx, redirect_to, render, show_page, trigger
from hms.i18n import N_
from hms.models import Appointment, Hospital, HospitalStatus, Membership, Role
from hms.patient.forms import BookingForm, CancelForm, DoctorSearchForm, FeedbackForm, RescheduleForm
from hms.services import billing, scheduling
from hms.services import feedback as feedback_service
from hms.services.errors import DomainError

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
    form = DoctorSearchForm(query_args.cleaned())
    form.validate()
    hospital_id = query_args.record_id("hospital")
    page = form.page.data if not form.page.errors and form.page.data else 1
    memberships, total = scheduling.search_doctors(
        text=form.q.data or "" if not form.q.errors else "",
        specialty=form.specialty.data or "" if not form.specialty.errors else "",
        city=form.city.data or "" if not form.city.errors else "",
        hospital_id=hospital_id,
        page=page,
        per_page=PER_PAGE,
    )
    results_only = is_htmx()  # the debounced search swaps the results: no lists for the form's fields
    hospitals = (
        []
        if results_only
        else db.session.scalars(
            select(Hospital).where(Hospital.status == HospitalStatus.active).order_by(Hospital.name)
        ).all()
    )
    pages = max(1, -(-total // PER_PAGE))
    args = query_args.without("page")
    return render(
        "patient/find_doctors.html",
        "results",
        form=form,
        memberships=memberships,
        total=total,
        page=page,
        pages=pages,
        args=args,
        hospitals=hospitals,
        hospital_id=hospital_id,
        specialties=[] if results_only else scheduling.specialties(),
    )


def _bookable_or_404(doctor_id: int, hospital_id: int) -> Membership:
    membership = scheduling.bookable_membership(doctor_id, hospital_id)
    if membership is None:
        abort(404)
    return membership


def _picker_day(membership: Membership, strip: list[tuple[date, int]]) -> date:
    """The day asked for in ?day=, else the first day with a free slot, else today."""
    first, last = strip[0][0], strip[-1][0]
    day = query_args.day("day")
    if day is not None and first <= day <= last:
        return day
    return next((d for d, count in strip if count), first)


def _picker_context(membership: Membership, day: date | None = None, *, fragment: bool = False, **extra):  # type: ignore[no-untyped-def]
    """The strip of days and one day's times, from one calendar read once for the strip's range. The
    picker's day `fragment` (one day of the strip, asked by HTMX) gets only that day's times."""
    hospital = membership.hospital
    now = clock.now()
    today = scheduling.local_today(hospital, now)
    calendar = scheduling.calendar_for(membership, today, today + timedelta(days=scheduling.PICKER_DAYS - 1))
    asked = query_args.day("day") if day is None else None
    if fragment and asked is not None and calendar.covers(asked):
        day, strip = asked, []  # the fragment shows no strip: no need to count every day's times
    else:
        strip = calendar.strip(now)
        day = day or _picker_day(membership, strip)
    slots = (
        calendar.slots(day, now)
        if calendar.covers(day)
        else scheduling.day_slots(membership.doctor_id, hospital, day, now)
    )
    return {
        "membership": membership,
        "doctor": membership.doctor,
        "hospital": hospital,
        "strip": strip,
        "day": day,
        "slots": [s for s in slots if s.free or s.key == extra.get("taken_key")],
        "tz_label": tz_label(hospital, day),
    } | extra


def tz_label(hospital: Hospital, day: date) -> str:
    """How the picker names its time zone, e.g. "Africa/Nairobi (EAT, UTC+03:00)"."""
    moment = datetime.combine(day, time(12), tzinfo=hospital.tz)
    offset = moment.strftime("%z")
    return f"{hospital.timezone.replace('_', ' ')} ({moment.tzname()}, UTC{offset[:3]}:{offset[3:]})"


@bp.get("/doctors/<int:doctor_id>/at/<int:hospital_id>")
def doctor_page(doctor_id: int, hospital_id: int):
    membership = _bookable_or_404(doctor_id, hospital_id)
    fragment = is_htmx()
    # The day fragment holds only the times (the form's token and key stay in the page): no token made.
    form = BookingForm(meta={"csrf": False}) if fragment else BookingForm()
    context = _picker_context(membership, fragment=fragment, form=form)
    return render("patient/doctor.html", "slots", **context)


@bp.post("/doctors/<int:doctor_id>/at/<int:hospital_id>/book")
@limiter.limit(lambda: current_app.config["BOOKING_RATE_LIMIT"])
def book(doctor_id: int, hospital_id: int):
    """Book, re-checking everything under the booking lock (the service reads the membership there);
    the picker is loaded again only to show a refusal. The confirmation page is rendered from what the
    booking wrote and read (nothing expires at its commit)."""
    form = BookingForm()

    def again(status: int, **extra):  # type: ignore[no-untyped-def]
        return _picker_again(_bookable_or_404(doctor_id, hospital_id), form, status, **extra)

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
            db.session().expire_on_commit = False  # the page below shows what was just written
            db.session.commit()
            return appointment

        appointment = retry_on_deadlock(attempt)
    except scheduling.SlotTaken as taken:
        db.session.rollback()
        attach_error(form, taken)
        return again(409, taken_key=form.slot.data, alternatives=taken.alternatives)
    except DomainError as error:
        db.session.rollback()
        attach_error(form, error)
        return again(error.status if error.status in (409, 422) else 422)
    flash(N_("Your appointment is booked."), "success")
    url = url_for("patient.appointment", appointment_id=appointment.id)
    if is_htmx():  # the confirmation comes in this answer: no second round trip to fetch it
        return show_page(lambda: _appointment_page(appointment), url)
    return redirect_to(url)


def _picker_again(membership: Membership, form: BookingForm, status: int, **extra):  # type: ignore[no-untyped-def]
    """The picker for the day the patient was looking at, with the errors and what he typed."""
    day = None
    try:
        start = scheduling.parse_slot_key(form.slot.data)
        day = start.astimezone(membership.hospital.tz).date()
    except DomainError:
        pass
    context = _picker_context(membership, day, form=form, **extra)
    if day is not None and not (context["strip"][0][0] <= day <= context["strip"][-1][0]):
        context = _picker_context(membership, None, form=form, **extra)
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
        except scheduling.SlotTaken as taken:
            db.session.rollback()
            attach_error(form, taken)
            status, extra = 409, {"taken_key": form.slot.data, "alternatives": taken.alternatives}
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
            status = error.status if error.status in (409, 422) else 422
        else:
            flash(N_("Your appointment is moved."), "success")
            return redirect_to(url_for("patient.appointment", appointment_id=new.id))
    elif form.is_submitted():
        status = 422
    context = _picker_context(membership, form=form, rescheduling=item, **extra)
    block = "booking_form" if request.method == "POST" else "slots"
    return render("patient/reschedule.html", block, status=status, **context)


from hms.patient import billing as _billing  # noqa: E402,F401  (registers its routes on bp)
from hms.patient import records as _records  # noqa: E402, F401  (registers the clinical-record routes)
