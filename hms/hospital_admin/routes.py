"""Hospital administrator pages: profile, departments, doctors, staff and administrators.

Every object is looked up through the admin's own hospital (`g.hospital`): another hospital's ids are
404. A pending hospital shows its status page and its profile; a suspended one its status and, read-only,
the appointments, patients, bills and reports already made (OPEN_WHILE); the FHIR API follows suit."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from hms import clock
from hms import query as query_args
from hms.auth.session import role_required
from hms.extensions import db
from hms.forms import EmptyForm, attach_error
from hms.hospital_admin.forms import (
    AddDoctorForm,
    DepartmentForm,
    InviteAdminForm,
    InviteDoctorForm,
    InviteStaffForm,
    ProfileForm,
    RemoveMembershipForm,
    RequestAnswerForm,
    RetireForm,
    ToggleForm,
)
from hms.htmx import is_htmx, redirect_to, render, trigger
from hms.i18n import N_
from hms.lookup import get_or_404
from hms.models import (
    Department,
    Doctor,
    HospitalAdmin,
    HospitalStatus,
    Invitation,
    Membership,
    MembershipStatus,
    Role,
    Staff,
    StaffKind,
    User,
)
from hms.models.scheduling import VisitCounts
from hms.reports import pages as report_pages
from hms.services import departments as department_service
from hms.services import hospitals as hospital_service
from hms.services import inventory as inventory_service
from hms.services import invitations as invitation_service
from hms.services import lab_admin as lab_admin_service
from hms.services import memberships as membership_service
from hms.services import reports as report_service
from hms.services import staff as staff_service
from hms.services.errors import DomainError
from hms.templating import MOMENT, local_time

bp = Blueprint("hospital_admin", __name__)
bp.before_request(role_required(Role.hospital_admin))

# What an admin may open while the platform has not approved his hospital (prepare its profile), or
# has suspended it (read the bookings and bills already made, to handle them; change nothing).
OPEN_WHILE = {
    HospitalStatus.pending: {"hospital_admin.dashboard", "hospital_admin.profile"},
    HospitalStatus.suspended: {
        "hospital_admin.dashboard",
        "hospital_admin.appointments",
        "hospital_admin.week",
        "hospital_admin.patients",
        "hospital_admin.patient",
        "hospital_admin.desk_bills",
        "hospital_admin.bills_csv",
        "hospital_admin.desk_bill",
        "hospital_admin.desk_receipt",
        "hospital_admin.desk_refunds",
        "hospital_admin.reports",
        "hospital_admin.reports_csv",
        "hospital_admin.saved_report",
        "hospital_admin.saved_report_csv",
    },
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
    row = get_or_404(model, object_id)
    if row.hospital_id != g.hospital.id:
        abort(404)
    return row


def _done(message: str, endpoint: str, **values):  # type: ignore[no-untyped-def]
    flash(message, "success")
    return redirect_to(url_for(endpoint, **values))


@bp.get("/")
def dashboard():
    hospital = g.hospital
    counts = membership_service.counts_by_status(hospital) if hospital.is_active else {}
    figures = report_service.hospital_dashboard(hospital) if hospital.is_active else None
    chart = report_pages.chart(figures["month"]) if figures else None
    alerts, criticals = None, 0
    if hospital.is_active:  # the badges in one statement: low stock, expiring batches, lab criticals
        alerts, (criticals,) = inventory_service.alert_counts(
            hospital, lab_admin_service.count_open_criticals(hospital.id)
        )
    return render(
        "hospital_admin/dashboard.html",
        hospital=hospital,
        counts=counts,
        figures=figures,
        chart=chart,
        alerts=alerts,
        criticals=criticals,
        today=VisitCounts.from_totals(figures["today"]) if figures else None,
    )


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
                idle_timeout_minutes=form.idle_timeout_minutes.data,
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            message = N_("The profile is saved.") if changed else N_("Nothing changed.")
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
            message = gettext("Department %(name)s created.", name=department.name)
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
            message = gettext("Renamed to %(name)s.", name=department.name)
            if is_htmx():
                return _department_row(department, row_message=message)
            return _done(message, "hospital_admin.departments")
    problem = " ".join(gettext(e) for e in [*form.name.errors, *form.form_errors]) or gettext(
        "Enter a department name."
    )
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
        message = (
            gettext("%(name)s is retired.", name=department.name)
            if changed
            else gettext("%(name)s was already retired.", name=department.name)
        )
    else:
        message = (
            gettext("%(name)s is in use again.", name=department.name)
            if changed
            else gettext("%(name)s was already in use.", name=department.name)
        )
    if is_htmx():
        return _department_row(department, row_message=message)
    return _done(message, "hospital_admin.departments")


# --- Doctors ---------------------------------------------------------------------------------------

# Each row carries its own small form (it must work without JavaScript): 15 keep the page small.
DOCTORS_PER_PAGE = 15
REQUESTS_FIRST = case(
    (Membership.status == MembershipStatus.requested, 0),
    (Membership.status == MembershipStatus.active, 1),
    else_=2,
)


def _doctor_forms(add: AddDoctorForm | None = None, invite: InviteDoctorForm | None = None):  # type: ignore[no-untyped-def]
    departments = department_service.active_departments(g.hospital)
    add = add or AddDoctorForm(formdata=None)
    invite = invite or InviteDoctorForm(formdata=None)
    add.set_departments(departments)
    invite.set_departments(departments)
    return add, invite


def _department(department_id: int | None) -> Department | None:
    if not department_id:
        return None
    return db.session.get(Department, department_id)


def _memberships_page(query: str, page: int):  # type: ignore[no-untyped-def]
    statement = (
        select(Membership)
        .join(Doctor, Doctor.id == Membership.doctor_id)
        .join(User, User.id == Doctor.user_id)
        .where(Membership.hospital_id == g.hospital.id)
        .options(joinedload(Membership.doctor).joinedload(Doctor.user), joinedload(Membership.department))
        .order_by(REQUESTS_FIRST, User.full_name, Membership.id)
    )
    if query:
        needle = query.lower()
        statement = statement.where(
            func.lower(User.full_name).contains(needle, autoescape=True)
            | func.lower(Doctor.specialty).contains(needle, autoescape=True)
            | User.email.contains(needle, autoescape=True)
        )
    return db.paginate(statement, page=page, per_page=DOCTORS_PER_PAGE, error_out=False)


def _list_args() -> tuple[str, int]:
    query = query_args.text("q")
    return query, query_args.page()


def _doctors_page(status: int = 200, block: str | None = None, **context):  # type: ignore[no-untyped-def]
    query, page = _list_args()
    add, invite = _doctor_forms(context.pop("add", None), context.pop("invite", None))
    return render(
        "hospital_admin/doctors.html",
        block,
        status=status,
        hospital=g.hospital,
        memberships=_memberships_page(query, page),
        query=query,
        invitations=invitation_service.pending_invitations(g.hospital, (Role.doctor,)),
        add=add,
        invite=invite,
        toggle_form=ToggleForm(),
        now=clock.now(),
        **context,
    )


@bp.get("/doctors")
def doctors():
    return _doctors_page(block="doctor_table" if query_args.flag("fragment", "table") else None)


@bp.post("/doctors")
def add_doctor():
    add, _ = _doctor_forms(AddDoctorForm())
    if add.validate_on_submit():
        fee = add.fee_minor(g.hospital.currency)
        if fee is not None:
            try:
                membership = membership_service.add_doctor(
                    g.hospital,
                    add.email.data,
                    current_user,
                    department=_department(add.department.data),
                    fee_minor=fee,
                )
            except DomainError as error:
                db.session.rollback()
                attach_error(add, error)
            else:
                db.session.commit()
                message = gettext(
                    "Dr %(name)s is now linked to %(hospital)s.",
                    name=membership.doctor.name,
                    hospital=g.hospital.name,
                )
                if is_htmx():
                    add, _ = _doctor_forms()
                    response = render("hospital_admin/doctors.html", "add_form", add=add, added=message)
                    return trigger(response, "doctorsChanged")
                return _done(message, "hospital_admin.doctors")
    return _form_error("add_form", add=add)


def _form_error(block: str, **forms):  # type: ignore[no-untyped-def]
    """A refused form: its fragment with 422 for HTMX, the whole page with 422 otherwise."""
    if is_htmx():
        return render("hospital_admin/doctors.html", block, status=422, **forms)
    return _doctors_page(status=422, **forms)


def _invitation_link(token: str) -> str:
    return url_for("auth.accept_invitation", token=token, _external=True)


@bp.post("/doctors/invitations")
def invite_doctor():
    _, invite = _doctor_forms(invite=InviteDoctorForm())
    if invite.validate_on_submit():
        fee = invite.fee_minor(g.hospital.currency)
        if fee is not None:
            try:
                invitation, token = invitation_service.invite(
                    g.hospital,
                    current_user,
                    email=invite.email.data,
                    full_name=invite.full_name.data,
                    role=Role.doctor,
                    specialty=invite.specialty.data,
                    department=_department(invite.department.data),
                    fee_minor=fee,
                )
            except DomainError as error:
                db.session.rollback()
                attach_error(invite, error)
            else:
                db.session.commit()
                return _invited(
                    invitation,
                    token,
                    "hospital_admin.doctors",
                    "hospital_admin/doctors.html",
                    "invite_form",
                    {"invite": _doctor_forms()[1]},
                )
    return _form_error("invite_form", invite=invite)


def _invited(invitation: Invitation, token: str, endpoint: str, template: str, block: str, forms: dict):  # type: ignore[no-untyped-def,type-arg]
    """Show the invitation link once, now: only its hash is kept. `forms` are the page's fresh forms."""
    link = _invitation_link(token)
    if is_htmx():
        response = render(template, block, invited=invitation, link=link, hospital=g.hospital, **forms)
        return trigger(response, "invitationsChanged")
    until = local_time(invitation.expires_at, g.hospital.tz, MOMENT)
    flash(
        gettext(
            "Invitation for %(name)s created and emailed to %(email)s. "
            "You can also send them this link; it works once, until %(until)s: %(link)s",
            name=invitation.full_name,
            email=invitation.email,
            until=until,
            link=link,
        ),
        "success",
    )
    return redirect_to(url_for(endpoint))


@bp.get("/invitations")
def invitations():
    for_doctors = query_args.flag("of", "doctors")
    if not is_htmx():  # the list lives on the doctors and staff pages; this is its refresh
        return redirect_to(url_for("hospital_admin.doctors" if for_doctors else "hospital_admin.staff"))
    roles = (Role.doctor,) if for_doctors else (Role.staff, Role.hospital_admin)
    return render(
        "hospital_admin/_invitations.html",
        "invitations",
        invitations=invitation_service.pending_invitations(g.hospital, roles),
        hospital=g.hospital,
        now=clock.now(),
        for_doctors=roles == (Role.doctor,),
    )


@bp.post("/invitations/<int:invitation_id>/revoke")
def revoke_invitation(invitation_id: int):
    invitation = _own(Invitation, invitation_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    changed = invitation_service.revoke_invitation(invitation, current_user)
    db.session.commit()
    message = (
        gettext(
            "The invitation for %(name)s is withdrawn; its link no longer works.", name=invitation.full_name
        )
        if changed
        else gettext(
            "The invitation for %(name)s was already used, withdrawn or expired.", name=invitation.full_name
        )
    )
    endpoint = "hospital_admin.doctors" if invitation.role == Role.doctor else "hospital_admin.staff"
    if is_htmx():
        response = render(
            "hospital_admin/_invitations.html",
            "invitation_row",
            invitation=invitation,
            hospital=g.hospital,
            now=clock.now(),
            row_message=message,
        )
        return response
    return _done(message, endpoint)


def _membership_row(membership: Membership, status: int = 200, **context):  # type: ignore[no-untyped-def]
    return render(
        "hospital_admin/doctors.html",
        "doctor_row",
        status=status,
        membership=membership,
        hospital=g.hospital,
        toggle_form=ToggleForm(),
        **context,
    )


def _toggle_message(membership: Membership, change: membership_service.Change) -> str:
    name, status = membership.doctor.name, gettext(membership.status.value)
    if not change.changed:
        return gettext("Dr %(name)s was already %(status)s; nothing changed.", name=name, status=status)
    if membership.status == MembershipStatus.active:
        return gettext(
            "Dr %(name)s is active again and can be booked at %(hospital)s.",
            name=name,
            hospital=g.hospital.name,
        )
    return gettext(
        "Dr %(name)s is now inactive: no new bookings here. %(num)d future appointments remain booked.",
        name=name,
        num=change.future_appointments,
    )


@bp.post("/memberships/<int:membership_id>/status")
def set_membership_status(membership_id: int):
    membership = _own(Membership, membership_id)
    form = ToggleForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        change = membership_service.set_membership_active(
            membership, form.action.data == "activate", current_user
        )
    except DomainError as error:
        db.session.rollback()
        return _row_refused(membership, error)
    db.session.commit()
    message = _toggle_message(membership, change)
    if is_htmx():
        return trigger(_membership_row(membership, row_message=message), "doctorsCounted")
    return _done(message, "hospital_admin.doctors")


def _row_refused(membership: Membership, error: DomainError):  # type: ignore[no-untyped-def]
    if is_htmx():
        current = db.session.get(Membership, membership.id)
        if current is None:
            return render(
                "hospital_admin/doctors.html",
                "gone_row",
                status=409,
                membership_id=membership.id,
                row_message=error.message,
            )
        return _membership_row(current, status=409, row_message=error.message)
    flash(error.message, "error")
    return redirect_to(url_for("hospital_admin.doctors"))


@bp.post("/memberships/<int:membership_id>/request")
def answer_request(membership_id: int):
    membership = _own(Membership, membership_id)
    form = RequestAnswerForm()
    if not form.validate_on_submit():
        abort(400)
    accept = form.action.data == "accept"
    name = membership.doctor.name
    change = membership_service.answer_request(membership, accept, current_user)
    db.session.commit()
    if accept:
        message = (
            gettext("Dr %(name)s joined %(hospital)s.", name=name, hospital=g.hospital.name)
            if change.changed
            else gettext("Dr %(name)s's request was already answered.", name=name)
        )
    else:
        message = (
            gettext("Dr %(name)s's request is declined.", name=name)
            if change.changed
            else gettext("Dr %(name)s's request was already answered.", name=name)
        )
    if is_htmx():
        current = db.session.get(Membership, membership_id)
        if current is None:
            return render(
                "hospital_admin/doctors.html", "gone_row", membership_id=membership_id, row_message=message
            )
        return _membership_row(current, row_message=message)
    return _done(message, "hospital_admin.doctors")


@bp.route("/memberships/<int:membership_id>/remove", methods=["GET", "POST"])
def remove_membership(membership_id: int):
    membership = _own(Membership, membership_id)
    if membership.status == MembershipStatus.requested:
        flash(N_("Answer this doctor's request to join instead."), "error")
        return redirect_to(url_for("hospital_admin.doctors"))
    form = RemoveMembershipForm()
    upcoming = membership_service.future_appointments(membership)
    if form.validate_on_submit():
        name = membership.doctor.name
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
                    "Dr %(name)s is no longer linked to %(hospital)s. %(num)d future appointments are kept.",
                    name=name,
                    hospital=g.hospital.name,
                    num=change.future_appointments,
                )
            else:
                message = gettext(
                    "Dr %(name)s is no longer linked to %(hospital)s.", name=name, hospital=g.hospital.name
                )
            return _done(message, "hospital_admin.doctors")
    status = 422 if form.is_submitted() else 200
    return render(
        "hospital_admin/remove_doctor.html",
        "form",
        status=status,
        form=form,
        membership=membership,
        upcoming=upcoming,
        hospital=g.hospital,
    )


# --- Staff and administrators ----------------------------------------------------------------------


def _staff_forms(staff: InviteStaffForm | None = None, admin: InviteAdminForm | None = None) -> dict:  # type: ignore[type-arg]
    return {
        "staff_form": staff or InviteStaffForm(formdata=None),
        "admin_form": admin or InviteAdminForm(formdata=None),
    }


def _staff_page(status: int = 200, **context):  # type: ignore[no-untyped-def]
    hospital = g.hospital
    members = db.session.scalars(
        select(Staff)
        .join(User, User.id == Staff.user_id)
        .where(Staff.hospital_id == hospital.id)
        .options(joinedload(Staff.user))
        .order_by(User.active.desc(), User.full_name)
    ).all()
    admins = db.session.scalars(
        select(HospitalAdmin)
        .join(User, User.id == HospitalAdmin.user_id)
        .where(HospitalAdmin.hospital_id == hospital.id)
        .options(joinedload(HospitalAdmin.user))
        .order_by(User.active.desc(), User.full_name)
    ).all()
    forms = _staff_forms(context.pop("staff_form", None), context.pop("admin_form", None))
    return render(
        "hospital_admin/staff.html",
        status=status,
        hospital=hospital,
        members=members,
        admins=admins,
        invitations=invitation_service.pending_invitations(hospital, (Role.staff, Role.hospital_admin)),
        toggle_form=ToggleForm(),
        now=clock.now(),
        **forms,
        **context,
    )


@bp.get("/staff")
def staff():
    return _staff_page()


def _staff_form_error(block: str, **forms):  # type: ignore[no-untyped-def]
    if is_htmx():
        return render(
            "hospital_admin/staff.html", block, status=422, hospital=g.hospital, **_staff_forms(**forms)
        )
    return _staff_page(status=422, **forms)


@bp.post("/staff/invitations")
def invite_staff():
    form = InviteStaffForm()
    if form.validate_on_submit():
        try:
            invitation, token = invitation_service.invite(
                g.hospital,
                current_user,
                email=form.email.data,
                full_name=form.full_name.data,
                role=Role.staff,
                staff_kind=StaffKind(form.kind.data),
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            return _invited(
                invitation,
                token,
                "hospital_admin.staff",
                "hospital_admin/staff.html",
                "staff_form",
                _staff_forms(),
            )
    return _staff_form_error("staff_form", staff=form)


@bp.post("/admins/invitations")
def invite_admin():
    form = InviteAdminForm()
    if form.validate_on_submit():
        try:
            invitation, token = invitation_service.invite(
                g.hospital,
                current_user,
                email=form.email.data,
                full_name=form.full_name.data,
                role=Role.hospital_admin,
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            return _invited(
                invitation,
                token,
                "hospital_admin.staff",
                "hospital_admin/staff.html",
                "admin_form",
                _staff_forms(),
            )
    return _staff_form_error("admin_form", admin=form)


@bp.post("/staff/<int:staff_id>/status")
def set_staff_status(staff_id: int):
    member = _own(Staff, staff_id)
    form = ToggleForm()
    if not form.validate_on_submit():
        abort(400)
    active = form.action.data == "activate"
    changed = staff_service.set_staff_active(member, active, current_user)
    db.session.commit()
    state = gettext("active") if active else gettext("deactivated")
    name = member.user.full_name
    if changed and not active:
        message = gettext("%(name)s is now %(state)s. They can no longer log in.", name=name, state=state)
    elif changed:
        message = gettext("%(name)s is now %(state)s.", name=name, state=state)
    else:
        message = gettext("%(name)s was already %(state)s; nothing changed.", name=name, state=state)
    if is_htmx():
        return render(
            "hospital_admin/staff.html", "staff_row", member=member, toggle_form=form, row_message=message
        )
    return _done(message, "hospital_admin.staff")


@bp.post("/staff/<int:staff_id>/senior")
def set_staff_senior(staff_id: int):
    """The "Senior (verifies results)" switch of a lab technician's row; 422 for other staff."""
    member = _own(Staff, staff_id)
    form = ToggleForm()
    if not form.validate_on_submit():
        abort(400)
    senior = form.action.data == "activate"
    name = member.user.full_name
    try:
        changed = staff_service.set_staff_senior(member, senior, current_user)
    except DomainError as error:
        db.session.rollback()
        if is_htmx():
            return render(
                "hospital_admin/staff.html",
                "staff_row",
                status=error.status,
                member=member,
                toggle_form=form,
                senior_message=gettext(error.message),
            )
        flash(error.message, "error")
        return _staff_page(status=error.status)
    db.session.commit()
    if changed and senior:
        message = gettext("%(name)s is now a senior technician and verifies results.", name=name)
    elif changed:
        message = gettext("%(name)s no longer verifies results.", name=name)
    else:
        message = gettext("Nothing changed for %(name)s.", name=name)
    if is_htmx():
        return render(
            "hospital_admin/staff.html", "staff_row", member=member, toggle_form=form, senior_message=message
        )
    return _done(message, "hospital_admin.staff")


@bp.post("/admins/<int:admin_id>/remove")
def remove_admin(admin_id: int):
    admin = _own(HospitalAdmin, admin_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    name = admin.user.full_name
    try:
        changed = staff_service.remove_admin(admin, current_user)
    except DomainError as error:
        db.session.rollback()
        if is_htmx():
            return render(
                "hospital_admin/staff.html", "admin_row", status=409, admin=admin, row_message=error.message
            )
        flash(error.message, "error")
        return redirect_to(url_for("hospital_admin.staff"))
    db.session.commit()
    message = (
        gettext("%(name)s is no longer an administrator here.", name=name)
        if changed
        else gettext("%(name)s was already removed.", name=name)
    )
    if admin.user_id == current_user.id:
        flash(message, "success")
        return redirect_to(url_for("auth.login"))
    if is_htmx():
        return render("hospital_admin/staff.html", "admin_row", admin=admin, row_message=message)
    return _done(message, "hospital_admin.staff")


from hms.hospital_admin import appointments as _appointments  # noqa: E402,F401  (registers its routes)
from hms.hospital_admin import billing as _billing  # noqa: E402,F401  (registers its routes on bp)
from hms.hospital_admin import desk as _desk  # noqa: E402,F401  (registers its routes)
from hms.hospital_admin import desk_booking as _desk_booking  # noqa: E402,F401  (registers its routes)
from hms.hospital_admin import flow as _flow  # noqa: E402,F401  (registers its routes)
from hms.hospital_admin import inventory as _inventory  # noqa: E402,F401  (registers its routes)
from hms.hospital_admin import lab as _lab  # noqa: E402,F401  (registers its routes)
from hms.hospital_admin import patients as _patients  # noqa: E402,F401  (registers its routes)
from hms.hospital_admin import reports as _reports  # noqa: E402,F401  (registers its routes)
from hms.hospital_admin import terms as _terms  # noqa: E402,F401  (registers its routes)
from hms.hospital_admin import wards as _wards  # noqa: E402,F401  (registers its routes)
