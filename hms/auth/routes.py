"""Registration, login, logout, invitations and password reset."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_user, logout_user

from hms.auth.forms import (
    AcceptInvitationForm,
    DoctorRegistrationForm,
    ForgotPasswordForm,
    HospitalRegistrationForm,
    LoginForm,
    PatientRegistrationForm,
    ResetPasswordForm,
)
from hms.auth.session import dashboard_endpoint
from hms.extensions import db, limiter
from hms.forms import EmptyForm, attach_error
from hms.htmx import redirect_to, render
from hms.i18n import N_
from hms.models import Role, Sex
from hms.services import accounts, invitations, password_reset
from hms.services.errors import DomainError, LoginRefused, NotFound

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths may be followed after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _start_session(user) -> None:  # type: ignore[no-untyped-def]
    session.clear()  # a fresh session on login: no fixation
    login_user(user)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for(dashboard_endpoint(current_user.role)))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data)
        except LoginRefused as refused:
            db.session.commit()  # keep the failure count
            form.form_errors.append(refused.message)
            return render("auth/login.html", "form", status=422, form=form)
        db.session.commit()
        _start_session(user)
        return redirect_to(_safe_next(request.args.get("next")) or url_for(dashboard_endpoint(user.role)))
    status = 422 if form.is_submitted() else 200
    return render("auth/login.html", "form", status=status, form=form)


@bp.post("/logout")
def logout():
    form = EmptyForm()
    if form.validate_on_submit():
        logout_user()
        session.clear()
        flash(N_("You are logged out."), "info")
    return redirect_to(url_for("public.home"))


def _register(form, template: str, create):  # type: ignore[no-untyped-def]
    """Validate, create the account through `create(form)`, log in; 422 with errors otherwise."""
    if form.validate_on_submit():
        try:
            user = create(form)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            _start_session(user)
            flash(N_("Welcome! Your account is ready."), "success")
            return redirect_to(url_for(dashboard_endpoint(user.role)))
    status = 422 if form.is_submitted() else 200
    return render(template, "form", status=status, form=form)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def register_patient():
    return _register(
        PatientRegistrationForm(),
        "auth/register_patient.html",
        lambda f: accounts.register_patient(
            full_name=f.full_name.data,
            email=f.email.data,
            password=f.password.data,
            date_of_birth=f.date_of_birth.data,
            sex=Sex(f.sex.data),
            phone=f.phone.data,
        ),
    )


@bp.route("/register/doctor", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def register_doctor():
    return _register(
        DoctorRegistrationForm(),
        "auth/register_doctor.html",
        lambda f: accounts.register_doctor(
            full_name=f.full_name.data,
            email=f.email.data,
            password=f.password.data,
            specialty=f.specialty.data,
            qualifications=f.qualifications.data,
            license_number=f.license_number.data,
        ),
    )


@bp.route("/register/hospital", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def register_hospital():
    def create(f):  # type: ignore[no-untyped-def]
        hospital = accounts.register_hospital(
            name=f.name.data,
            address=f.address.data,
            city=f.city.data,
            phone=f.phone.data,
            timezone=f.timezone.data,
            currency=f.currency.data,
            admin_name=f.admin_name.data,
            admin_email=f.email.data,
            admin_password=f.password.data,
        )
        return hospital.admins[0].user

    return _register(HospitalRegistrationForm(), "auth/register_hospital.html", create)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def accept_invitation(token: str):
    """An invited doctor, staff member or administrator sets his password; the link works once."""
    try:
        invitation = invitations.find_invitation(token)
    except NotFound as missing:
        return render("auth/invitation.html", status=404, problem=missing.message, invitation=None)
    problem = invitations.usable_problem(invitation)
    if problem:
        return render("auth/invitation.html", status=410, problem=problem, invitation=invitation)
    form = AcceptInvitationForm(
        data={"full_name": invitation.full_name, "specialty": invitation.specialty}
        if request.method == "GET"
        else None
    )
    if form.validate_on_submit():
        try:
            user = invitations.accept_invitation(
                token,
                full_name=form.full_name.data,
                password=form.password.data,
                specialty=form.specialty.data if invitation.role == Role.doctor else None,
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            _start_session(user)
            flash(
                gettext("Welcome to %(hospital)s! Your account is ready.", hospital=invitation.hospital.name),
                "success",
            )
            return redirect_to(url_for(dashboard_endpoint(user.role)))
    status = 422 if form.is_submitted() else 200
    return render(
        "auth/invitation.html", "form", status=status, form=form, invitation=invitation, token=token
    )


def _reset_limit() -> str:
    return current_app.config["PASSWORD_RESET_RATE_LIMIT"]


RESET_SENT = N_(
    "If an account uses that address, we have sent it a link to choose a new password. "
    "Check your email; the link works once and for a limited time."
)


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        password_reset.request_password_reset(form.email.data)
        db.session.commit()
        flash(RESET_SENT, "info")  # the same answer whether or not the address has an account
        return redirect_to(url_for("auth.login"))
    status = 422 if form.is_submitted() else 200
    return render("auth/forgot_password.html", "form", status=status, form=form)


@bp.get("/reset-password/<token>")
def reset_password_link(token: str):
    """Keep the token in the session and continue on an address without it (browser history,
    Referer headers and screenshots then never carry it)."""
    session["password_reset_token"] = token[:128]
    return redirect(url_for("auth.reset_password"), code=303)


@bp.route("/reset-password", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def reset_password():
    token = session.get("password_reset_token", "")
    try:
        password_reset.usable_token(token)
    except DomainError as error:
        db.session.rollback()
        session.pop("password_reset_token", None)
        return render("auth/reset_password.html", "form", status=400, form=None, invalid=error.message)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            password_reset.reset_password(token, form.password.data)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            logout_user()
            session.clear()
            flash(
                N_("Your password is changed and every other session is logged out. Log in now."), "success"
            )
            return redirect_to(url_for("auth.login"))
    status = 422 if form.is_submitted() else 200
    return render("auth/reset_password.html", "form", status=status, form=form, invalid=None)
