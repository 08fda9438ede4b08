"""Doctor pages: dashboard, weekly schedule with breaks and time off, agenda."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hms import clock
from hms import query as query_args
from hms.auth.session import role_required
from hms.doctor import week_grid
from hms.doctor.forms import AppointmentCancelForm, BreakForm, RuleForm, TimeOffForm
from hms.extensions import db
from hms.forms import EmptyForm, attach_error
from hms.htmx import is_htmx, redirect_to, render, trigger
from hms.i18n import N_
from hms.models import (
    Appointment,
    AppointmentStatus,
    Hospital,
    Membership,
    MembershipStatus,
    Role,
    ScheduleBreak,
    ScheduleRule,
    TimeOff,
)
from hms.models.scheduling import VisitCounts
from hms.services import flow, scheduling
from hms.services.errors import DomainError

ON_THE_BOARD = (AppointmentStatus.arrived, AppointmentStatus.fulfilled, AppointmentStatus.noshow)

bp = Blueprint("doctor", __name__)
bp.before_request(role_required(Role.doctor))


@bp.get("/")
def dashboard():
    doctor = current_user.doctor
    today = _doctor_today()
    todays = scheduling.agenda(doctor.id, today, today)
    return render(
        "doctor/dashboard.html",
        doctor=doctor,
        memberships=doctor.memberships,
        todays=todays,
        today_counts=VisitCounts.of(a.status for a in todays),
        open_criticals=_lab.open_criticals_count(),
    )


# ------------------------------------------------------------------ schedule


def _active_memberships() -> list[Membership]:
    """The doctor's active memberships (read once per request, kept on his record)."""
    return [m for m in current_user.doctor.memberships if m.status == MembershipStatus.active]


def _own_rule(rule_id: int) -> ScheduleRule:
    rule = db.session.get(ScheduleRule, rule_id)
    if rule is None or rule.doctor_id != current_user.doctor.id:
        abort(404)
    return rule


def _rules_by_hospital(hospital_ids: list[int]) -> dict[int, list[ScheduleRule]]:
    """The doctor's weekly rules at each of these hospitals, with their breaks: two statements however
    many hospitals, rules and breaks."""
    rules: dict[int, list[ScheduleRule]] = {hospital_id: [] for hospital_id in hospital_ids}
    for rule in db.session.scalars(
        select(ScheduleRule)
        .options(selectinload(ScheduleRule.breaks))
        .where(ScheduleRule.doctor_id == current_user.doctor.id, ScheduleRule.hospital_id.in_(hospital_ids))
        .order_by(ScheduleRule.weekday, ScheduleRule.start_time, ScheduleRule.id)
    ):
        rules[rule.hospital_id].append(rule)
    return rules


def _rules(hospital_id: int) -> list[ScheduleRule]:
    return _rules_by_hospital([hospital_id])[hospital_id]


def _time_off(memberships: list[Membership] | None = None) -> list[TimeOff]:
    return list(
        db.session.scalars(
            select(TimeOff)
            .where(
                TimeOff.doctor_id == current_user.doctor.id, TimeOff.end_date >= _doctor_today(memberships)
            )
            .order_by(TimeOff.start_date)
        )
    )


def _form_factories(state: dict):  # type: ignore[no-untyped-def]
    """Per-hospital and per-rule forms with their own prefixes (unique field ids on one page); the
    form that was just submitted keeps its data and errors."""
    add_form, focus = state.get("add_form"), state.get("focus")
    break_form, break_rule_id = state.get("break_form"), state.get("break_rule_id")

    def rule_form_for(hospital_id: int) -> RuleForm:
        if add_form is not None and focus == hospital_id:
            return add_form
        return RuleForm(formdata=None, prefix=f"h{hospital_id}")

    def break_form_for(rule_id: int) -> BreakForm:
        if break_form is not None and break_rule_id == rule_id:
            return break_form
        return BreakForm(formdata=None, prefix=f"r{rule_id}")

    return {"rule_form_for": rule_form_for, "break_form_for": break_form_for}


def _section(membership: Membership, status: int = 200, **state):  # type: ignore[no-untyped-def]
    """One hospital's schedule: its block for HTMX, the whole page without JavaScript."""
    state.setdefault("focus", membership.hospital_id)
    if not is_htmx():
        return _schedule_page(status, **state)
    context = {"m": membership, "rules": _rules(membership.hospital_id)} | _form_factories(state) | state
    return render("doctor/schedule.html", "hospital_schedule", status=status, **context)


def _schedule_page(status: int = 200, **state):  # type: ignore[no-untyped-def]
    memberships = _active_memberships()
    # Their hospitals in one statement (each membership's would be read on its own as it is shown). The
    # list keeps them while the page is drawn: the session's identity map holds only what is held.
    ids = [m.hospital_id for m in memberships]
    hospitals = db.session.scalars(select(Hospital).where(Hospital.id.in_(ids))).all()  # noqa: F841
    state.setdefault("time_off_form", TimeOffForm(formdata=None))
    return render(
        "doctor/schedule.html",
        status=status,
        memberships=memberships,
        rules_by_hospital=_rules_by_hospital(ids),
        time_off=_time_off(memberships),
        **_form_factories(state),
        **state,
    )


@bp.get("/schedule")
def schedule():
    return _schedule_page()


def _membership_or_404(hospital_id: int) -> Membership:
    for membership in _active_memberships():
        if membership.hospital_id == hospital_id:
            return membership
    abort(404)


def _collision_state(error: scheduling.Collisions, form, action: str) -> dict:  # type: ignore[no-untyped-def]
    return {"collisions": error.appointments, "pending_form": form, "pending_action": action}


@bp.post("/schedule/<int:hospital_id>/rules")
def add_rule(hospital_id: int):
    membership = _membership_or_404(hospital_id)
    form = RuleForm(prefix=f"h{hospital_id}")
    return _save_rule(membership, form, None, url_for("doctor.add_rule", hospital_id=hospital_id))


@bp.get("/schedule/rules/<int:rule_id>/edit")
def edit_rule(rule_id: int):
    rule = _own_rule(rule_id)
    membership = _membership_or_404(rule.hospital_id)
    form = RuleForm(obj=rule, formdata=None, prefix=f"e{rule.id}")
    return _section(membership, edit_rule_id=rule.id, edit_form=form)


@bp.post("/schedule/rules/<int:rule_id>")
def update_rule(rule_id: int):
    rule = _own_rule(rule_id)
    membership = _membership_or_404(rule.hospital_id)
    form = RuleForm(prefix=f"e{rule.id}")
    return _save_rule(membership, form, rule, url_for("doctor.update_rule", rule_id=rule.id))


def _save_rule(membership: Membership, form: RuleForm, rule: ScheduleRule | None, action: str):  # type: ignore[no-untyped-def]
    editing = {"edit_rule_id": rule.id, "edit_form": form} if rule else {"add_form": form}
    if not form.validate_on_submit():
        return _section(membership, 422, **editing)
    try:
        scheduling.save_schedule_rule(
            doctor=current_user.doctor,
            hospital_id=membership.hospital_id,
            weekday=form.weekday.data if form.weekday.data is not None else -1,
            start_time=form.start_time.data,
            end_time=form.end_time.data,
            slot_minutes=form.slot_minutes.data,
            rule=rule,
            on_collision=form.on_collision.data or "",
            cancel_reason=form.cancel_reason.data or "",
            actor=current_user,
        )
    except scheduling.Collisions as collided:
        db.session.rollback()
        return _section(membership, 409, **editing, **_collision_state(collided, form, action))
    except DomainError as error:
        db.session.rollback()
        attach_error(form, error)
        return _section(membership, 422, **editing)
    db.session.commit()
    return _changed(membership, N_("Schedule saved. It applies to times not yet booked."))


def _changed(membership: Membership, message: str):  # type: ignore[no-untyped-def]
    if is_htmx():
        return trigger(_section(membership, message=message), "slotsChanged")
    flash(message, "success")
    return redirect_to(url_for("doctor.schedule") + f"#schedule-{membership.hospital_id}")


@bp.post("/schedule/rules/<int:rule_id>/delete")
def delete_rule(rule_id: int):
    rule = _own_rule(rule_id)
    membership = _membership_or_404(rule.hospital_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        scheduling.delete_schedule_rule(
            rule,
            on_collision=request.form.get("on_collision", ""),
            cancel_reason=request.form.get("cancel_reason", ""),
            actor=current_user,
        )
    except scheduling.Collisions as collided:
        db.session.rollback()
        return _section(
            membership,
            409,
            **_collision_state(collided, EmptyForm(), url_for("doctor.delete_rule", rule_id=rule_id)),
        )
    except DomainError as error:
        db.session.rollback()
        return _section(membership, 422, message=error.message)
    db.session.commit()
    return _changed(membership, N_("Working hours removed."))


@bp.post("/schedule/rules/<int:rule_id>/breaks")
def add_break(rule_id: int):
    rule = _own_rule(rule_id)
    membership = _membership_or_404(rule.hospital_id)
    form = BreakForm(prefix=f"r{rule.id}")
    state = {"break_rule_id": rule.id, "break_form": form}
    if not form.validate_on_submit():
        return _section(membership, 422, **state)
    try:
        scheduling.add_break(
            rule,
            form.break_start.data,
            form.break_end.data,
            on_collision=form.on_collision.data or "",
            cancel_reason=form.cancel_reason.data or "",
            actor=current_user,
        )
    except scheduling.Collisions as collided:
        db.session.rollback()
        return _section(
            membership,
            409,
            **state,
            **_collision_state(collided, form, url_for("doctor.add_break", rule_id=rule_id)),
        )
    except DomainError as error:
        db.session.rollback()
        attach_error(form, error)
        return _section(membership, 422, **state)
    db.session.commit()
    return _changed(membership, "Break added.")


@bp.post("/schedule/breaks/<int:break_id>/delete")
def delete_break(break_id: int):
    item = db.session.get(ScheduleBreak, break_id)
    if item is None or item.rule.doctor_id != current_user.doctor.id:
        abort(404)
    membership = _membership_or_404(item.rule.hospital_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    scheduling.delete_break(item)
    db.session.commit()
    return _changed(membership, "Break removed.")


def _time_off_section(status: int = 200, **state):  # type: ignore[no-untyped-def]
    if not is_htmx():
        return _schedule_page(status, **state)
    context = {
        "time_off": _time_off(),
        "time_off_form": state.pop("time_off_form", None) or TimeOffForm(formdata=None),
    }
    return render("doctor/schedule.html", "time_off", status=status, **context, **state)


@bp.post("/time-off")
def add_time_off():
    form = TimeOffForm()
    if not form.validate_on_submit():
        return _time_off_section(422, time_off_form=form)
    try:
        scheduling.add_time_off(
            doctor=current_user.doctor,
            start_date=form.start_date.data,
            end_date=form.end_date.data,
            reason=form.reason.data or "",
            on_collision=form.on_collision.data or "",
            cancel_reason=form.cancel_reason.data or "",
            actor=current_user,
        )
    except scheduling.Collisions as collided:
        db.session.rollback()
        return _time_off_section(
            409, time_off_form=form, **_collision_state(collided, form, url_for("doctor.add_time_off"))
        )
    except DomainError as error:
        db.session.rollback()
        attach_error(form, error)
        return _time_off_section(422, time_off_form=form)
    db.session.commit()
    if is_htmx():
        return trigger(_time_off_section(time_off_message=N_("Time off added.")), "slotsChanged")
    flash(N_("Time off added."), "success")
    return redirect_to(url_for("doctor.schedule") + "#time-off")


@bp.post("/time-off/<int:time_off_id>/delete")
def delete_time_off(time_off_id: int):
    item = db.session.get(TimeOff, time_off_id)
    if item is None or item.doctor_id != current_user.doctor.id:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    scheduling.delete_time_off(item)
    db.session.commit()
    if is_htmx():
        return _time_off_section(time_off_message=N_("Time off removed."))
    flash(N_("Time off removed."), "success")
    return redirect_to(url_for("doctor.schedule") + "#time-off")


# ------------------------------------------------------------------ agenda


def _doctor_today(active: list[Membership] | None = None) -> date:
    """Today where the doctor works: the date in his first active hospital's time zone (UTC without one);
    `active` is his active memberships when the caller has them already."""
    active = _active_memberships() if active is None else active
    return scheduling.local_today(active[0].hospital) if active else clock.now().date()


def _agenda_range() -> tuple[date, date, str]:
    view = "week" if query_args.flag("view", "week") else "day"
    day = query_args.day("day") or _doctor_today()
    if view == "week":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=6), view
    return day, day, view


@bp.get("/agenda")
def agenda():
    first, last, view = _agenda_range()
    doctor_id = current_user.doctor.id
    appointments = scheduling.agenda(doctor_id, first, last)
    days: dict[date, list[Appointment]] = {
        first + timedelta(days=i): [] for i in range((last - first).days + 1)
    }
    for a in appointments:
        days.setdefault(a.start_at.astimezone(a.hospital.tz).date(), []).append(a)
    grid = None
    if view == "week":
        rules = scheduling.working_hours(doctor_id, (m.hospital_id for m in _active_memberships()))
        grid = week_grid.build(first, appointments, rules, _doctor_today())
    step = timedelta(days=7 if view == "week" else 1)
    # Where today's checked-in patients are on the flow board (one statement, only when a visit shown
    # has arrived: a future day costs nothing).
    arrived = [a.id for a in appointments if a.status in ON_THE_BOARD] if view != "week" else []
    return render(
        "doctor/agenda.html",
        days=days,
        flow_entries=flow.entries_of(arrived),
        grid=grid,
        view=view,
        first=first,
        prev_day=first - step,
        next_day=first + step,
        now=clock.now(),
        cancel_form=AppointmentCancelForm(formdata=None),
    )


def _own_appointment(appointment_id: int) -> Appointment:
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.doctor_id != current_user.doctor.id:
        abort(404)
    return appointment


def _row(appointment: Appointment, status: int = 200, message: str | None = None, form=None):  # type: ignore[no-untyped-def]
    if is_htmx():
        return render(
            "doctor/agenda.html",
            "row",
            status=status,
            a=appointment,
            now=clock.now(),
            cancel_form=form or AppointmentCancelForm(formdata=None),
            row_message=message,
            flow_entries=flow.entries_of([appointment.id] if appointment.status in ON_THE_BOARD else []),
        )
    flash(message or "", "success" if status < 400 else "error")
    local_day = appointment.start_at.astimezone(appointment.hospital.tz).date()
    return redirect_to(url_for("doctor.agenda", day=local_day.isoformat()))


@bp.post("/appointments/<int:appointment_id>/status")
def set_status(appointment_id: int):
    appointment = _own_appointment(appointment_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        status = AppointmentStatus(request.form.get("status", ""))
    except ValueError:
        abort(400)
    try:
        scheduling.set_appointment_status(appointment, status, current_user)
    except DomainError as error:
        db.session.rollback()
        return _row(appointment, 409, error.message)
    db.session.commit()
    return _row(appointment, message=gettext("Marked %(status)s.", status=gettext(status.value)))


@bp.post("/appointments/<int:appointment_id>/cancel")
def cancel_appointment(appointment_id: int):
    appointment = _own_appointment(appointment_id)
    form = AppointmentCancelForm()
    if not form.validate_on_submit():
        return _row(
            appointment, 422, form.reason.errors[0] if form.reason.errors else N_("Give a reason."), form
        )
    try:
        scheduling.cancel_appointment(appointment, current_user, form.reason.data)
    except DomainError as error:
        db.session.rollback()
        return _row(appointment, 409, error.message, form)
    db.session.commit()
    response = _row(appointment, message=N_("Cancelled; the patient is told."))
    return trigger(response, "slotsChanged") if is_htmx() else response


from hms.doctor import clinical as _clinical  # noqa: E402, F401  (registers the clinical-record routes)
from hms.doctor import hospitals as _hospitals  # noqa: E402,F401  (registers its routes)
from hms.doctor import lab as _lab  # noqa: E402,F401  (registers the laboratory pages)
from hms.doctor import queue as _queue  # noqa: E402,F401  (registers the doctor's queue)
