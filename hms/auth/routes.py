"""Registration, login, logout, invitations and password reset."""

from __future__ import annotations

from flask import Blueprint, after_this_request, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_user, logout_user

from hms import clock
from hms.auth.forms import (
    AcceptInvitationForm,
    DoctorRegistrationForm,
    ForgotPasswordForm,
    HospitalRegistrationForm,
    LoginForm,
    PatientRegistrationForm,
    ResetPasswordForm,
    SecondFactorForm,
)
from hms.auth.session import ROLE_KEY, SESSION_KEY, dashboard_endpoint
from hms.extensions import db, limiter
from hms.forms import EmptyForm, attach_error
from hms.htmx import redirect_to, render
from hms.i18n import N_
from hms.models import Role, Sex, User
from hms.redirects import local_target
from hms.services import (
    accounts,
    invitations,
    login_throttle,
    password_reset,
    registration,
    sessions,
    two_factor,
)
from hms.services.errors import DomainError, EmailTaken, LoginRefused, NotFound

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


# Between the password and the second step: who, since when (the step must follow within this).
PENDING_KEY = "pending_login"
PENDING_SECONDS = 600


def _complete_login(user: User) -> None:
    """Log `user` in with a new server-side session (a fresh cookie: no fixation). Commits."""
    session.clear()
    login_user(user)
    email = user.email

    @after_this_request
    def _remember_this_browser(response):  # type: ignore[no-untyped-def]
        login_throttle.remember_device(response, email)
        return response

    _row, token = sessions.start_session(user, ip=request.remote_addr, user_agent=request.user_agent.string)
    db.session.commit()
    session[SESSION_KEY] = token
    session[ROLE_KEY] = user.role.value


def _refused(response, refused: LoginRefused):  # type: ignore[no-untyped-def]
    if refused.retry_after:
        response.headers["Retry-After"] = str(refused.retry_after)
    return response


def _begin_login(user: User, target: str | None = None):  # type: ignore[no-untyped-def]
    """After the password: log in, or first ask for the authenticator's code, or make a platform or
    hospital administrator set one up (nothing else opens before)."""
    target = target or url_for(dashboard_endpoint(user.role))
    if two_factor.is_enabled(user) or two_factor.is_required(user):
        session.clear()
        session[PENDING_KEY] = {
            "uid": user.id,
            "v": user.session_version,
            "at": int(clock.now().timestamp()),
            "next": target,
        }
        return redirect_to(url_for("auth.second_factor"))
    _complete_login(user)
    return redirect_to(target)


def _pending_user() -> tuple[User | None, str]:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None, ""
    user = db.session.get(User, pending.get("uid") or 0)
    fresh = 0 <= clock.now().timestamp() - (pending.get("at") or 0) <= PENDING_SECONDS
    if user is None or not user.active or user.session_version != pending.get("v") or not fresh:
        session.pop(PENDING_KEY, None)
        return None, ""
    return user, local_target(pending.get("next")) or url_for(dashboard_endpoint(user.role))


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
            return _refused(render("auth/login.html", "form", status=422, form=form), refused)
        db.session.commit()
        return _begin_login(user, local_target(request.args.get("next")))
    status = 422 if form.is_submitted() else 200
    return render("auth/login.html", "form", status=status, form=form)


@bp.route("/login/two-factor", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def second_factor():
    """The login's second step: the authenticator's code or a recovery code. An administrator who
    has no authenticator yet sets one up here first."""
    user, target = _pending_user()
    if user is None:
        flash(N_("Log in first."), "info")
        return redirect_to(url_for("auth.login"))
    form = SecondFactorForm()
    if not two_factor.is_enabled(user):
        return _enrol_at_login(user, target)
    if form.validate_on_submit():
        try:
            accounts.check_second_factor(user, form.code.data)
        except LoginRefused as refused:
            db.session.commit()  # keep the failure count and the used-up codes
            form.form_errors.append(refused.message)
            page = render("auth/two_factor.html", "form", status=422, form=form, enrol=None)
            return _refused(page, refused)
        db.session.commit()
        _complete_login(user)
        return redirect_to(target)
    status = 422 if form.is_submitted() else 200
    return render("auth/two_factor.html", "form", status=status, form=form, enrol=None)


def _enrol_at_login(user: User, target: str):  # type: ignore[no-untyped-def]
    from hms.auth.forms import ConfirmAuthenticatorForm

    form = ConfirmAuthenticatorForm()
    enrol = two_factor.pending_secret(user)
    if enrol is None:
        enrol = two_factor.begin_enrolment(user)
        db.session.commit()
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm_enrolment(user, form.code.data)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            _complete_login(user)
            return render("account/recovery_codes.html", codes=codes, target=target)
    status = 422 if form.is_submitted() else 200
    return render("auth/two_factor.html", "form", status=status, form=form, enrol=enrol)


@bp.post("/logout")
def logout():
    """Log out here and end every other session of the account too."""
    form = EmptyForm()
    if form.validate_on_submit():
        if current_user.is_authenticated:
            sessions.end_all_sessions(current_user, reason="logout")
            db.session.commit()
        logout_user()
        session.clear()
        flash(N_("You are logged out."), "info")
    return redirect_to(url_for("public.home"))


REGISTERED_KEY = "registered_email"


def _register(form, template: str, role: Role, fields):  # type: ignore[no-untyped-def]
    """Validate and email the address (the link to finish, or a note to its owner), then say so: the
    answer is the same whether the address has an account or not. 422 with the errors otherwise."""
    if form.validate_on_submit():
        try:
            registration.start_registration(
                role,
                form.email.data,
                form.password.data,
                fields(form),
                next_url=local_target(request.args.get("next")),  # e.g. the time chosen in the public picker
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            session[REGISTERED_KEY] = form.email.data.strip().lower()
            return redirect_to(url_for("auth.registration_sent"))
    status = 422 if form.is_submitted() else 200
    return render(template, "form", status=status, form=form)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def register_patient():
    return _register(
        PatientRegistrationForm(),
        "auth/register_patient.html",
        Role.patient,
        lambda f: {
            "full_name": f.full_name.data,
            "date_of_birth": f.date_of_birth.data,
            "sex": Sex(f.sex.data),
            "phone": f.phone.data,
        },
    )


@bp.route("/register/doctor", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def register_doctor():
    return _register(
        DoctorRegistrationForm(),
        "auth/register_doctor.html",
        Role.doctor,
        lambda f: {
            "full_name": f.full_name.data,
            "specialty": f.specialty.data,
            "qualifications": f.qualifications.data,
            "license_number": f.license_number.data,
        },
    )


@bp.route("/register/hospital", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def register_hospital():
    return _register(
        HospitalRegistrationForm(),
        "auth/register_hospital.html",
        Role.hospital_admin,
        lambda f: {
            "name": f.name.data,
            "address": f.address.data,
            "city": f.city.data,
            "phone": f.phone.data,
            "timezone": f.timezone.data,
            "currency": f.currency.data,
            "admin_name": f.admin_name.data,
        },
    )


@bp.get("/register/sent")
def registration_sent():
    return render("auth/registration_sent.html", email=session.get(REGISTERED_KEY))


@bp.route("/register/confirm/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def confirm_registration(token: str):
    """The link of the email: a page with one button (mail scanners open links; only a person posts),
    which makes the account and logs in."""
    try:
        row = registration.pending(token)
    except DomainError as error:
        return render("auth/registration_confirm.html", status=410, problem=error.message, pending=None)
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            user = registration.confirm_registration(token)
        except EmailTaken:
            db.session.rollback()
            flash(N_("This email address already has an account: log in."), "info")
            return redirect_to(url_for("auth.login"))
        except DomainError as error:
            db.session.rollback()
            return render("auth/registration_confirm.html", status=410, problem=error.message, pending=None)
        db.session.commit()
        session.pop(REGISTERED_KEY, None)
        response = _begin_login(user, local_target(registration.next_url(row)))
        flash(N_("Welcome! Your account is ready."), "success")
        return response
    return render("auth/registration_confirm.html", pending=row, form=form, problem=None)


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
            response = _begin_login(user)
            flash(
                gettext("Welcome to %(hospital)s! Your account is ready.", hospital=invitation.hospital.name),
                "success",
            )
            return response
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


from hms.auth import claim as _claim  # noqa: E402,F401  (registers the claim-link routes on bp)
