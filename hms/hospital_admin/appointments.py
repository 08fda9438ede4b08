"""Hospital administrator: the hospital's doctors' schedules and the appointments booked with them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import g
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from hms import query as query_args
from hms.extensions import db
from hms.hospital_admin.routes import bp
from hms.htmx import render
from hms.models import Appointment, AppointmentStatus, Doctor, Membership, Patient, ScheduleRule

PER_PAGE = 25


def _filters() -> dict:
    return {
        "doctor": query_args.record_id("doctor"),
        "department": query_args.record_id("department"),
        "date": query_args.day("date"),
        "status": query_args.choice("status", (s.value for s in AppointmentStatus), default=""),
        "page": query_args.page(),
    }


@bp.get("/appointments")
def appointments():
    hospital = g.hospital
    f = _filters()
    query = (
        select(Appointment)
        .where(Appointment.hospital_id == hospital.id)
        .options(
            joinedload(Appointment.patient).joinedload(Patient.user),
            joinedload(Appointment.doctor).joinedload(Doctor.user),
        )
    )
    if f["doctor"]:
        query = query.where(Appointment.doctor_id == f["doctor"])
    if f["department"]:
        query = query.where(
            Appointment.doctor_id.in_(
                select(Membership.doctor_id).where(
                    Membership.hospital_id == hospital.id, Membership.department_id == f["department"]
                )
            )
        )
    if f["date"]:
        start = datetime.combine(f["date"], time(0), tzinfo=hospital.tz).astimezone(UTC)
        query = query.where(Appointment.start_at >= start, Appointment.start_at < start + timedelta(days=1))
    if f["status"]:
        query = query.where(Appointment.status == AppointmentStatus(f["status"]))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(Appointment.start_at.desc()).limit(PER_PAGE).offset((f["page"] - 1) * PER_PAGE)
    ).all()
    memberships = db.session.scalars(
        select(Membership)
        .where(Membership.hospital_id == hospital.id)
        .options(joinedload(Membership.doctor).joinedload(Doctor.user))
    ).all()
    rules = db.session.scalars(
        select(ScheduleRule)
        .where(ScheduleRule.hospital_id == hospital.id)
        .order_by(ScheduleRule.weekday, ScheduleRule.start_time)
    ).all()
    rules_by_doctor: dict[int, list[ScheduleRule]] = {}
    for rule in rules:
        rules_by_doctor.setdefault(rule.doctor_id, []).append(rule)
    args = query_args.without("page")
    return render(
        "hospital_admin/appointments.html",
        "results",
        hospital=hospital,
        appointments=rows,
        total=total,
        pages=max(1, -(-total // PER_PAGE)),
        filters=f,
        args=args,
        memberships=sorted(memberships, key=lambda m: m.doctor.name),
        departments=[d for d in hospital.departments],
        rules_by_doctor=rules_by_doctor,
        statuses=[s.value for s in AppointmentStatus],
    )
