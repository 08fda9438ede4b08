"""The hospital admin changes a linked doctor's department and consultation fee, inline in the doctors
table (a row turns into a small form) or, without JavaScript, on the doctors page."""

from __future__ import annotations

from flask import g, url_for
from flask_babel import gettext
from flask_login import current_user

from hms.extensions import db
from hms.forms import attach_error
from hms.hospital_admin.forms import TermsForm
from hms.hospital_admin.routes import _department, _doctors_page, _done, _membership_row, _own, bp
from hms.htmx import is_htmx, redirect_to, render
from hms.models import Membership
from hms.money import minor_to_decimal
from hms.services import departments as department_service
from hms.services import memberships as membership_service
from hms.services.errors import DomainError


def _terms_form(membership: Membership, *, formdata: bool) -> TermsForm:
    form = TermsForm() if formdata else TermsForm(formdata=None)
    departments = department_service.active_departments(g.hospital)
    if membership.department is not None and membership.department not in departments:
        departments = [*departments, membership.department]  # a retired department may stay
    form.set_departments(departments)
    if not formdata:
        form.department.data = membership.department_id or 0
        form.fee.data = (
            minor_to_decimal(membership.fee_minor, g.hospital.currency) if membership.fee_minor else None
        )
    return form


def _editing(membership: Membership, form: TermsForm, status: int = 200):  # type: ignore[no-untyped-def]
    if is_htmx():
        return render(
            "hospital_admin/doctors.html",
            "terms_row",
            status=status,
            membership=membership,
            hospital=g.hospital,
            terms=form,
        )
    return _doctors_page(status=status, editing=membership.id, terms=form)


@bp.get("/memberships/<int:membership_id>/terms")
def edit_terms(membership_id: int):
    membership = _own(Membership, membership_id)
    return _editing(membership, _terms_form(membership, formdata=False))


@bp.post("/memberships/<int:membership_id>/terms")
def save_terms(membership_id: int):
    membership = _own(Membership, membership_id)
    form = _terms_form(membership, formdata=True)
    if not form.validate_on_submit():
        return _editing(membership, form, status=422)
    fee = form.fee_minor(g.hospital.currency)
    if fee is None:
        return _editing(membership, form, status=422)
    try:
        change = membership_service.set_terms(
            membership, current_user, department=_department(form.department.data), fee_minor=fee
        )
    except DomainError as error:
        db.session.rollback()
        attach_error(form, error)
        return _editing(_own(Membership, membership_id), form, status=error.status)
    db.session.commit()
    name = membership.doctor.name
    message = (
        gettext(
            "Dr %(name)s's department and fee are saved; bookings already made keep their fee.", name=name
        )
        if change.changed
        else gettext("Dr %(name)s's department and fee were already these; nothing changed.", name=name)
    )
    if is_htmx():
        return _membership_row(membership, row_message=message)
    return _done(message, "hospital_admin.doctors", _anchor=f"membership-{membership.id}")


@bp.get("/memberships/<int:membership_id>/row")
def membership_row(membership_id: int):
    """The row as it is (to cancel an edit); without JavaScript, the doctors page."""
    membership = _own(Membership, membership_id)
    if not is_htmx():
        return redirect_to(url_for("hospital_admin.doctors"))
    return _membership_row(membership)
