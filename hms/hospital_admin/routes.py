"""Hospital administrator pages: profile, departments, doctors, staff and administrators.

Every object is looked up through the admin's own hospital (`g.hospital`): another hospital's ids are
404. A pending or suspended hospital shows its status page; a pending one may still edit its profile."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from hms.auth.session import role_required
from hms.extensions import db
from hms.forms import attach_error
from hms.hospital_admin.forms import DepartmentForm, ProfileForm, RetireForm
from hms.htmx import is_htmx, redirect_to, render
from hms.models import Department, HospitalStatus, Membership, Role
from hms.services import departments as department_service
from hms.services import hospitals as hospital_service
from hms.services.errors import DomainError

bp = Blueprint("hospital_admin", __name__)
bp.before_request(role_required(Role.hospital_admin))

# What an admin may open while the platform has not approved his hospital, or has suspended it.
OPEN_WHILE = {
    HospitalStatus.pending: {"hospital_admin.dashboard", "hospital_admin.profile"},
    HospitalStatus.suspended: {"hospital_admin.dashboard"},
}


@bp.before_request
def load_hospital():  # type: ignore[no-untyped-def]
    link = current_user.hospital_admin
    if link is None:
        abort(403)
    g.hospital = link.hospital
    if g.hospital.is_active or request.endpoint in OPEN_WHILE[g.hospital.status]:
        return None
    if request.method == "GET":
        return redirect_to(url_for("hospital_admin.dashboard"))
    abort(403)


def _own(model, object_id: int):  # type: ignore[no-untyped-def]
    """`model` row `object_id` of the admin's hospital, or 404."""
    row = db.session.get(model, object_id)
    if row is None or row.hospital_id != g.hospital.id:
        abort(404)
    return row


def _done(message: str, endpoint: str, **values):  # type: ignore[no-untyped-def]
    flash(message, "success")
    return redirect_to(url_for(endpoint, **values))


@bp.get("/")
def dashboard():
    hospital = g.hospital
    counts = {}
    if hospital.is_active:
        by_status = dict(
            db.session.execute(
                select(Membership.status, func.count())
                .where(Membership.hospital_id == hospital.id)
                .group_by(Membership.status)
            ).all()
        )
        counts = {status.value: n for status, n in by_status.items()}
    return render("hospital_admin/dashboard.html", hospital=hospital, counts=counts)


# --- Profile ---------------------------------------------------------------------------------------


@bp.route("/profile", methods=["GET", "POST"])
def profile():
    hospital = g.hospital
    form = ProfileForm(obj=hospital)
    if form.validate_on_submit():
        try:
            changed = hospital_service.update_hospital_profile(
                hospital,
                current_user,
                name=form.name.data,
                address=form.address.data,
                city=form.city.data,
                phone=form.phone.data,
                email=(form.email.data or "").lower(),
                timezone=form.timezone.data,
                currency=form.currency.data,
                cancel_cutoff_minutes=form.cancel_cutoff_minutes.data,
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            message = "The profile is saved." if changed else "Nothing changed."
            if is_htmx():
                return render(
                    "hospital_admin/profile.html", "form", form=form, hospital=hospital, saved=message
                )
            return _done(message, "hospital_admin.profile")
    status = 422 if form.is_submitted() else 200
    return render("hospital_admin/profile.html", "form", status=status, form=form, hospital=hospital)


# --- Departments -----------------------------------------------------------------------------------


def _department_page(form: DepartmentForm, status: int = 200, message: str | None = None):  # type: ignore[no-untyped-def]
    hospital = g.hospital
    departments = db.session.scalars(
        select(Department)
        .where(Department.hospital_id == hospital.id)
        .order_by(Department.retired, Department.name)
    ).all()
    doctor_counts = dict(
        db.session.execute(
            select(Membership.department_id, func.count())
            .where(Membership.hospital_id == hospital.id, Membership.department_id.is_not(None))
            .group_by(Membership.department_id)
        ).all()
    )
    return render(
        "hospital_admin/departments.html",
        "departments",
        status=status,
        hospital=hospital,
        departments=departments,
        doctor_counts=doctor_counts,
        form=form,
        action_form=RetireForm(),
        message=message,
    )


@bp.get("/departments")
def departments():
    return _department_page(DepartmentForm())


@bp.post("/departments")
def create_department():
    form = DepartmentForm()
    if form.validate_on_submit():
        try:
            department = department_service.create_department(g.hospital, form.name.data, current_user)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            message = f"Department {department.name} created."
            if is_htmx():
                return _department_page(DepartmentForm(formdata=None), message=message)
            return _done(message, "hospital_admin.departments")
    return _department_page(form, status=422)


def _department_row(department: Department, status: int = 200, **context):  # type: ignore[no-untyped-def]
    count = db.session.scalar(
        select(func.count(Membership.id)).where(Membership.department_id == department.id)
    )
    return render(
        "hospital_admin/departments.html",
        "department_row",
        status=status,
        department=department,
        doctor_count=count or 0,
        action_form=RetireForm(),
        **context,
    )


@bp.post("/departments/<int:department_id>/name")
def rename_department(department_id: int):
    department = _own(Department, department_id)
    form = DepartmentForm()
    if form.validate_on_submit():
        try:
            department_service.rename_department(department, form.name.data, current_user)
        except DomainError as error:
            db.session.rollback()
            db.session.refresh(department)
            attach_error(form, error)
        else:
            db.session.commit()
            message = f"Renamed to {department.name}."
            if is_htmx():
                return _department_row(department, row_message=message)
            return _done(message, "hospital_admin.departments")
    problem = " ".join([*form.name.errors, *form.form_errors]) or "Enter a department name."
    if is_htmx():
        return _department_row(department, status=422, row_error=problem, typed=form.name.data)
    flash(problem, "error")
    return redirect_to(url_for("hospital_admin.departments"))


@bp.post("/departments/<int:department_id>/status")
def set_department_status(department_id: int):
    department = _own(Department, department_id)
    form = RetireForm()
    if not form.validate_on_submit():
        abort(400)
    retire = form.action.data == "retire"
    changed = department_service.set_department_retired(department, retire, current_user)
    db.session.commit()
    if retire:
        message = f"{department.name} is retired." if changed else f"{department.name} was already retired."
    else:
        message = (
            f"{department.name} is in use again." if changed else f"{department.name} was already in use."
        )
    if is_htmx():
        return _department_row(department, row_message=message)
    return _done(message, "hospital_admin.departments")


from hms.hospital_admin import appointments as _appointments  # noqa: E402,F401  (registers its routes)
