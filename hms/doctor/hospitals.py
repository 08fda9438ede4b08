"""Doctor pages: the hospitals he works at, asking to join one, withdrawing the request, leaving one."""

from __future__ import annotations

from flask import abort, current_app, flash, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import func, select

from hms import query as query_args
from hms.doctor.forms import LeaveHospitalForm
from hms.doctor.routes import bp
from hms.extensions import db
from hms.forms import EmptyForm, attach_error
from hms.htmx import redirect_to, render
from hms.lookup import get_or_404
from hms.models import Hospital, HospitalStatus, Membership, MembershipStatus
from hms.services import memberships as membership_service
from hms.services.errors import DomainError


def _own_membership(membership_id: int) -> Membership:
    membership = get_or_404(Membership, membership_id)
    if membership.doctor_id != current_user.doctor.id:
        abort(404)
    return membership


def _joinable(query: str) -> list[Hospital]:
    """Active hospitals matching `query` that the doctor is not linked to yet."""
    linked = select(Membership.hospital_id).where(Membership.doctor_id == current_user.doctor.id)
    statement = (
        select(Hospital)
        .where(Hospital.status == HospitalStatus.active, Hospital.id.not_in(linked))
        .order_by(Hospital.name)
        .limit(current_app.config["PAGE_SIZE"])
    )
    if query:
        needle = query.lower()
        statement = statement.where(
            func.lower(Hospital.name).contains(needle, autoescape=True)
            | func.lower(Hospital.city).contains(needle, autoescape=True)
        )
    return list(db.session.scalars(statement))


@bp.get("/hospitals")
def hospitals():
    query = query_args.text("q")
    memberships = db.session.scalars(
        select(Membership)
        .join(Hospital)
        .where(Membership.doctor_id == current_user.doctor.id)
        .order_by(Hospital.name)
    ).all()
    return render(
        "doctor/hospitals.html",
        "search_results" if query_args.flag("fragment", "results") else None,
        memberships=memberships,
        results=_joinable(query),
        query=query,
        form=EmptyForm(),
    )


@bp.post("/hospitals/<int:hospital_id>/join")
def join_hospital(hospital_id: int):
    hospital = get_or_404(Hospital, hospital_id)
    if not hospital.is_active:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        membership_service.request_to_join(current_user.doctor, hospital, current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(
            gettext("You asked to join %(hospital)s. Its administrator will answer.", hospital=hospital.name),
            "success",
        )
    return redirect_to(url_for("doctor.hospitals"))


@bp.post("/memberships/<int:membership_id>/withdraw")
def withdraw_request(membership_id: int):
    membership = _own_membership(membership_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    name = membership.hospital.name
    try:
        change = membership_service.withdraw_request(membership, current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        message = (
            gettext("Your request to join %(hospital)s is withdrawn.", hospital=name)
            if change.changed
            else gettext("Nothing to withdraw.")
        )
        flash(message, "success")
    return redirect_to(url_for("doctor.hospitals"))


@bp.route("/memberships/<int:membership_id>/leave", methods=["GET", "POST"])
def leave_hospital(membership_id: int):
    membership = _own_membership(membership_id)
    if membership.status == MembershipStatus.requested:
        return redirect_to(url_for("doctor.hospitals"))
    hospital = membership.hospital
    form = LeaveHospitalForm()
    upcoming = membership_service.future_appointments(membership)
    if form.validate_on_submit():
        try:
            change = membership_service.remove_membership(
                membership,
                current_user,
                cancel_future=form.appointments.data == "cancel",
                reason=form.reason.data,
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            if change.future_appointments:
                message = gettext(
                    "You left %(hospital)s. Your %(num)d future appointments there are kept.",
                    hospital=hospital.name,
                    num=change.future_appointments,
                )
            else:
                message = gettext("You left %(hospital)s.", hospital=hospital.name)
            flash(message, "success")
            return redirect_to(url_for("doctor.hospitals"))
    status = 422 if form.is_submitted() else 200
    return render(
        "doctor/leave.html",
        "form",
        status=status,
        form=form,
        membership=membership,
        hospital=hospital,
        upcoming=upcoming,
    )
