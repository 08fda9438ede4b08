"""Platform administrator pages: statistics and hospital approval."""

from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_login import current_user
from sqlalchemy import case, func, select

from hms.auth.session import role_required
from hms.extensions import db
from hms.forms import EmptyForm
from hms.htmx import is_htmx, redirect_to, render, trigger
from hms.models import Doctor, Hospital, HospitalStatus, Patient, Role
from hms.services import hospitals as hospital_service
from hms.services.errors import DomainError

bp = Blueprint("super_admin", __name__)
bp.before_request(role_required(Role.super_admin))

STATUS_ORDER = case(
    (Hospital.status == HospitalStatus.pending, 0),
    (Hospital.status == HospitalStatus.active, 1),
    else_=2,
)


def platform_counts() -> dict[str, int]:
    by_status = dict(
        db.session.execute(select(Hospital.status, func.count()).group_by(Hospital.status)).all()
    )
    return {
        "pending": by_status.get(HospitalStatus.pending, 0),
        "active": by_status.get(HospitalStatus.active, 0),
        "suspended": by_status.get(HospitalStatus.suspended, 0),
        "doctors": db.session.scalar(select(func.count(Doctor.id))) or 0,
        "patients": db.session.scalar(select(func.count(Patient.id))) or 0,
    }


@bp.get("/")
def dashboard():
    hospitals = db.session.scalars(select(Hospital).order_by(STATUS_ORDER, Hospital.name).limit(200)).all()
    return render(
        "super_admin/dashboard.html",
        counts=platform_counts(),
        hospitals=hospitals,
        form=EmptyForm(),
    )


@bp.get("/counts")
def counts():
    return render("super_admin/dashboard.html", "counts", counts=platform_counts())


@bp.post("/hospitals/<int:hospital_id>/status")
def set_hospital_status(hospital_id: int):
    hospital = db.session.get(Hospital, hospital_id) or abort(404)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    action = request.form.get("action")
    try:
        if action == "approve":
            hospital_service.approve_hospital(hospital, current_user)
        elif action == "suspend":
            hospital_service.suspend_hospital(hospital, current_user)
        else:
            abort(400)
    except DomainError as error:
        db.session.rollback()
        if is_htmx():
            return render(
                "super_admin/dashboard.html",
                "hospital_row",
                status=409,
                hospital=hospital,
                form=form,
                row_message=error.message,
            )
        flash(error.message, "error")
        return redirect_to(url_for("super_admin.dashboard"))
    db.session.commit()
    message = f"{hospital.name} is now {hospital.status.value}."
    if is_htmx():
        response = render(
            "super_admin/dashboard.html", "hospital_row", hospital=hospital, form=form, row_message=message
        )
        return trigger(response, "hospitalsChanged")
    flash(message, "success")
    return redirect_to(url_for("super_admin.dashboard"))
