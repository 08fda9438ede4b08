"""Platform administrator: hospitals, doctors and patients, searchable, with a page for each.

Patients are shown by their demographics only, never clinical content; opening a patient's page is
written to the audit log."""

from __future__ import annotations

from flask import current_app, request
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from hms import clock
from hms import query as query_args
from hms.extensions import db
from hms.forms import EmptyForm
from hms.htmx import render
from hms.lookup import get_or_404
from hms.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    Department,
    Doctor,
    Hospital,
    HospitalAdmin,
    HospitalStatus,
    Membership,
    Patient,
    Staff,
    User,
)
from hms.services.audit import record_event
from hms.super_admin.routes import STATUS_ORDER, bp


def _search() -> tuple[str, int]:
    query = query_args.text("q")
    page = query_args.page()
    return query, page


def _like(column, needle: str):  # type: ignore[no-untyped-def]
    return func.lower(column).contains(needle.lower(), autoescape=True)


def _page(statement, page: int):  # type: ignore[no-untyped-def]
    return db.paginate(statement, page=page, per_page=current_app.config["PAGE_SIZE"], error_out=False)


def _block() -> str | None:
    return "results" if query_args.flag("fragment", "results") else None


@bp.get("/hospitals")
def hospitals():
    query, page = _search()
    status = query_args.choice("status", (s.value for s in HospitalStatus), default="")
    statement = select(Hospital).order_by(STATUS_ORDER, Hospital.name, Hospital.id)
    if query:
        statement = statement.where(_like(Hospital.name, query) | _like(Hospital.city, query))
    if status in {s.value for s in HospitalStatus}:
        statement = statement.where(Hospital.status == HospitalStatus(status))
    else:
        status = ""
    return render(
        "super_admin/hospitals.html",
        _block(),
        hospitals=_page(statement, page),
        query=query,
        status_filter=status,
        statuses=[s.value for s in HospitalStatus],
        form=EmptyForm(),
        back=request.full_path.rstrip("?"),
    )


@bp.get("/hospitals/<int:hospital_id>")
def hospital(hospital_id: int):
    row = get_or_404(Hospital, hospital_id)
    memberships = db.session.scalars(
        select(Membership)
        .where(Membership.hospital_id == row.id)
        .options(joinedload(Membership.doctor).joinedload(Doctor.user), joinedload(Membership.department))
        .order_by(Membership.status)
        .limit(100)
    ).all()
    admins = db.session.scalars(
        select(HospitalAdmin)
        .where(HospitalAdmin.hospital_id == row.id)
        .options(joinedload(HospitalAdmin.user))
    ).all()
    staff_count = db.session.scalar(select(func.count(Staff.id)).where(Staff.hospital_id == row.id)) or 0
    departments = db.session.scalars(
        select(Department).where(Department.hospital_id == row.id).order_by(Department.name)
    ).all()
    history = db.session.execute(
        select(AuditEvent, User)
        .outerjoin(User, User.id == AuditEvent.user_id)
        .where(AuditEvent.hospital_id == row.id, AuditEvent.record_type.in_(["hospital", "membership"]))
        .order_by(AuditEvent.id.desc())
        .limit(20)
    ).all()
    upcoming = (
        db.session.scalar(
            select(func.count(Appointment.id)).where(
                Appointment.hospital_id == row.id,
                Appointment.status == AppointmentStatus.booked,
                Appointment.start_at > clock.now(),
            )
        )
        or 0
    )
    return render(
        "super_admin/hospital.html",
        hospital=row,
        memberships=memberships,
        admins=admins,
        staff_count=staff_count,
        departments=departments,
        history=history,
        upcoming=upcoming,
        form=EmptyForm(),
    )


@bp.get("/doctors")
def doctors():
    query, page = _search()
    statement = (
        select(Doctor)
        .join(User, User.id == Doctor.user_id)
        .options(joinedload(Doctor.user))
        .order_by(User.full_name, Doctor.id)
    )
    if query:
        statement = statement.where(
            _like(User.full_name, query) | _like(User.email, query) | _like(Doctor.specialty, query)
        )
    listing = _page(statement, page)
    ids = [d.id for d in listing.items]
    hospital_counts = dict(
        db.session.execute(
            select(Membership.doctor_id, func.count())
            .where(Membership.doctor_id.in_(ids))
            .group_by(Membership.doctor_id)
        ).all()
    )
    return render(
        "super_admin/doctors.html", _block(), doctors=listing, query=query, hospital_counts=hospital_counts
    )


@bp.get("/doctors/<int:doctor_id>")
def doctor(doctor_id: int):
    row = get_or_404(Doctor, doctor_id)
    memberships = db.session.scalars(
        select(Membership)
        .where(Membership.doctor_id == row.id)
        .options(joinedload(Membership.hospital), joinedload(Membership.department))
    ).all()
    return render("super_admin/doctor.html", doctor=row, memberships=memberships)


@bp.get("/patients")
def patients():
    query, page = _search()
    statement = (
        select(Patient)
        .join(User, User.id == Patient.user_id)
        .options(joinedload(Patient.user))
        .order_by(User.full_name, Patient.id)
    )
    if query:
        statement = statement.where(
            _like(User.full_name, query) | _like(User.email, query) | _like(Patient.mrn, query)
        )
    return render(
        "super_admin/patients.html",
        _block(),
        patients=_page(statement, page),
        query=query,
        today=clock.now().date(),
    )


@bp.get("/patients/<int:patient_id>")
def patient(patient_id: int):
    row = get_or_404(Patient, patient_id)
    visits = db.session.scalar(select(func.count(Appointment.id)).where(Appointment.patient_id == row.id))
    record_event("view", "patient", row.id, patient_id=row.id)
    db.session.commit()
    return render("super_admin/patient.html", patient=row, visits=visits or 0, today=clock.now().date())
