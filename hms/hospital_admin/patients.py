"""Hospital administrator: the patients who booked with this hospital, and the week of every doctor.

Patients are seen through their appointments at this hospital only: demographics and visits, never
clinical notes. Opening a patient's page is written to the audit log."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import abort, current_app, g
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from hms import clock
from hms import query as query_args
from hms.extensions import db
from hms.hospital_admin.routes import bp
from hms.htmx import render
from hms.lookup import get_or_404
from hms.models import (
    Appointment,
    AppointmentStatus,
    Department,
    Doctor,
    Membership,
    MembershipStatus,
    Patient,
    ScheduleRule,
    TimeOff,
    User,
)
from hms.services.audit import record_event
from hms.services.hospitals import patients_of_hospital
from hms.services.scheduling import local_today


def _patients_here():  # type: ignore[no-untyped-def]
    return patients_of_hospital(g.hospital.id)


@bp.get("/patients")
def patients():
    query = query_args.text("q")
    page = query_args.page()
    statement = (
        select(Patient)
        .join(User, User.id == Patient.user_id)
        .where(Patient.id.in_(_patients_here()))
        .options(joinedload(Patient.user))
        .order_by(User.full_name, Patient.id)
    )
    if query:
        needle = query.lower()
        statement = statement.where(
            func.lower(User.full_name).contains(needle, autoescape=True)
            | func.lower(Patient.mrn).contains(needle, autoescape=True)
        )
    listing = db.paginate(statement, page=page, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    ids = [p.id for p in listing.items]
    now = clock.now()
    visits = dict(
        db.session.execute(
            select(Appointment.patient_id, func.count())
            .where(Appointment.hospital_id == g.hospital.id, Appointment.patient_id.in_(ids))
            .group_by(Appointment.patient_id)
        ).all()
    )
    upcoming = dict(
        db.session.execute(
            select(Appointment.patient_id, func.min(Appointment.start_at))
            .where(
                Appointment.hospital_id == g.hospital.id,
                Appointment.patient_id.in_(ids),
                Appointment.status == AppointmentStatus.booked,
                Appointment.start_at > now,
            )
            .group_by(Appointment.patient_id)
        ).all()
    )
    # MIN() over a UTCDateTime column comes back naive on some databases.
    upcoming = {k: v if v is None or v.tzinfo else v.replace(tzinfo=UTC) for k, v in upcoming.items()}
    return render(
        "hospital_admin/patients.html",
        "patient_table" if query_args.flag("fragment", "table") else None,
        hospital=g.hospital,
        patients=listing,
        visits=visits,
        upcoming=upcoming,
        query=query,
        today=local_today(g.hospital, now),
    )


@bp.get("/patients/<int:patient_id>")
def patient(patient_id: int):
    record = get_or_404(Patient, patient_id)
    appointments = db.session.scalars(
        select(Appointment)
        .where(Appointment.hospital_id == g.hospital.id, Appointment.patient_id == record.id)
        .options(joinedload(Appointment.doctor).joinedload(Doctor.user))
        .order_by(Appointment.start_at.desc())
    ).all()
    if not appointments:
        abort(404)  # a patient who never booked here is not this hospital's to see
    record_event("view", "patient", record.id, patient_id=record.id, hospital_id=g.hospital.id)
    db.session.commit()
    return render(
        "hospital_admin/patient.html",
        hospital=g.hospital,
        patient=record,
        appointments=appointments,
        today=local_today(g.hospital),
    )


# --- The week of every doctor ----------------------------------------------------------------------


def _week_start() -> date:
    day = query_args.day("start") or local_today(g.hospital)
    return day - timedelta(days=day.weekday())


@bp.get("/week")
def week():
    hospital = g.hospital
    first = _week_start()
    days = [first + timedelta(days=i) for i in range(7)]
    department_id = query_args.record_id("department")
    page = query_args.page()
    statement = (
        select(Membership)
        .join(Doctor, Doctor.id == Membership.doctor_id)
        .join(User, User.id == Doctor.user_id)
        .where(Membership.hospital_id == hospital.id, Membership.status != MembershipStatus.requested)
        .options(joinedload(Membership.doctor).joinedload(Doctor.user))
        .order_by(User.full_name)
    )
    if department_id:
        statement = statement.where(Membership.department_id == department_id)
    listing = db.paginate(statement, page=page, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    doctor_ids = [m.doctor_id for m in listing.items]

    hours: dict[tuple[int, int], list[ScheduleRule]] = {}
    for rule in db.session.scalars(
        select(ScheduleRule)
        .where(ScheduleRule.hospital_id == hospital.id, ScheduleRule.doctor_id.in_(doctor_ids))
        .order_by(ScheduleRule.start_time)
    ):
        hours.setdefault((rule.doctor_id, rule.weekday), []).append(rule)
    time_off = db.session.scalars(
        select(TimeOff).where(
            TimeOff.doctor_id.in_(doctor_ids), TimeOff.start_date <= days[-1], TimeOff.end_date >= first
        )
    ).all()
    off = {(t.doctor_id, d) for t in time_off for d in days if t.covers(d)}
    start = datetime.combine(first, time(0), tzinfo=hospital.tz).astimezone(UTC)
    end = datetime.combine(days[-1] + timedelta(days=1), time(0), tzinfo=hospital.tz).astimezone(UTC)
    bookings: dict[tuple[int, date], list[Appointment]] = {}
    for appointment in db.session.scalars(
        select(Appointment)
        .where(
            Appointment.hospital_id == hospital.id,
            Appointment.doctor_id.in_(doctor_ids),
            Appointment.start_at >= start,
            Appointment.start_at < end,
            Appointment.status != AppointmentStatus.cancelled,
        )
        .options(joinedload(Appointment.patient).joinedload(Patient.user))
        .order_by(Appointment.start_at)
    ):
        day = appointment.start_at.astimezone(hospital.tz).date()
        bookings.setdefault((appointment.doctor_id, day), []).append(appointment)
    departments = db.session.scalars(
        select(Department).where(Department.hospital_id == hospital.id).order_by(Department.name)
    ).all()
    return render(
        "hospital_admin/week.html",
        "week_grid" if query_args.flag("fragment", "grid") else None,
        hospital=hospital,
        days=days,
        memberships=listing,
        hours=hours,
        off=off,
        bookings=bookings,
        departments=departments,
        department_id=department_id,
        today=local_today(hospital),
        previous_week=first - timedelta(days=7),
        next_week=first + timedelta(days=7),
    )
