"""Every user's own security page: his password, two-factor login, recovery codes, and his sessions."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, make_response, session, url_for
from flask_babel import ngettext
from flask_login import current_user, logout_user

from hms.auth.forms import (
    ChangePasswordForm,
    ConfirmAuthenticatorForm,
    DisableTwoFactorForm,
    RecoveryCodesForm,
)
from hms.auth.session import role_required
from hms.extensions import db, limiter
from hms.forms import EmptyForm, attach_error
from hms.htmx import is_htmx, redirect_to, render
from hms.i18n import N_
from hms.models import Role
from hms.services import password_reset, sessions, two_factor
from hms.services.errors import DomainError, NotFound

bp = Blueprint("account", __name__)
bp.before_request(role_required(*Role))


def _page(status: int = 200, **forms):  # type: ignore[no-untyped-def]
    user = current_user
    return render(
        "account/security.html",
        "sessions",
        status=status,
        enabled=two_factor.is_enabled(user),
        required=two_factor.is_required(user),
        codes_left=two_factor.recovery_codes_left(user),
        user_sessions=sessions.list_sessions(user),
        current_session=g.get("user_session"),
        idle_minutes=sessions.idle_minutes(user),
        disable_form=forms.get("disable_form") or DisableTwoFactorForm(),
        codes_form=forms.get("codes_form") or RecoveryCodesForm(),
        password_form=forms.get("password_form") or ChangePasswordForm(formdata=None),
        form=EmptyForm(),
    )


@bp.get("/security")
def security():
    return _page()


def _password_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.post("/password")
@limiter.limit(_password_limit, key_func=lambda: f"change-password:{current_user.id}")
def change_password():
    """Change the password with the current one; the other sessions end, this one goes on."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            password_reset.change_password(
                current_user, form.current.data, form.password.data, keep=g.user_session
            )
        except DomainError as error:
            db.session.commit()  # the refusal is audited
            attach_error(form, error)
        else:
            db.session.commit()
            flash(N_("Your password is changed. Your other sessions are logged out."), "success")
            return redirect_to(url_for("account.security"))
    return _page(status=422, password_form=form)


@bp.post("/sessions/<int:session_id>/end")
def end_session(session_id: int):
    form = EmptyForm()
    if not form.validate_on_submit():
        return redirect_to(url_for("account.security"))
    try:
        row = sessions.end_session(current_user, session_id)
    except NotFound:
        db.session.rollback()
        abort(404)
    db.session.commit()
    if row.id == g.user_session.id:  # ending this very session is logging out here
        logout_user()
        session.clear()
        return redirect_to(url_for("auth.login"))
    if is_htmx():
        return _page()
    flash(N_("The session is ended."), "success")
    return redirect_to(url_for("account.security"))


@bp.post("/sessions/end-others")
def end_other_sessions():
    form = EmptyForm()
    if form.validate_on_submit():
        count = sessions.end_all_sessions(current_user, reason="ended", keep=g.user_session)
        db.session.commit()
        if is_htmx():
            return _page()
        flash(ngettext("%(num)d other session ended.", "%(num)d other sessions ended.", count), "success")
    return redirect_to(url_for("account.security"))


@bp.post("/keep-alive")
def keep_alive():
    """The idle warning's "Stay logged in": now counts as activity; the answer says the time left."""
    sessions.touch_session(g.user_session)
    db.session.commit()
    if "idle_seconds_left" in g:
        g.idle_seconds_left = sessions.seconds_left(g.user_session, current_user)
    return make_response("", 204)


@bp.post("/two-factor/setup")
def start_two_factor():
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            two_factor.begin_enrolment(current_user)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "info")
            return redirect_to(url_for("account.security"))
        db.session.commit()
        return redirect_to(url_for("account.two_factor"))
    return redirect_to(url_for("account.security"))


@bp.route("/two-factor", methods=["GET", "POST"], endpoint="two_factor")
def two_factor_setup():
    """Show the new secret (as text and as an otpauth:// link) and confirm it with a code."""
    enrol = two_factor.pending_secret(current_user)
    if enrol is None:
        return redirect_to(url_for("account.security"))
    form = ConfirmAuthenticatorForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm_enrolment(current_user, form.code.data)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            return render("account/recovery_codes.html", codes=codes, target=url_for("account.security"))
    status = 422 if form.is_submitted() else 200
    return render("account/two_factor.html", "form", status=status, form=form, enrol=enrol)


@bp.post("/two-factor/recovery-codes")
def regenerate_recovery_codes():
    form = RecoveryCodesForm()
    if form.validate_on_submit():
        if two_factor.is_enabled(current_user) and two_factor.verify_code(current_user, form.code.data):
            codes = two_factor.new_recovery_codes(current_user)
            db.session.commit()
            return render("account/recovery_codes.html", codes=codes, target=url_for("account.security"))
        db.session.commit()  # a code that was right is used up even so
        form.code.errors = [N_("That code is not right.")]
    return _page(status=422, codes_form=form)


@bp.post("/two-factor/disable")
def disable_two_factor():
    form = DisableTwoFactorForm()
    if form.validate_on_submit():
        try:
            two_factor.disable(current_user, form.password.data, form.code.data)
        except DomainError as error:
            db.session.commit()  # a recovery code that was right is used up even so
            attach_error(form, error)
        else:
            if two_factor.is_required(current_user):
                # Administrators must have an authenticator: set up a new one at the next login.
                sessions.end_all_sessions(current_user, reason="two_factor")
                db.session.commit()
                logout_user()
                session.clear()
                flash(N_("Two-factor login is off. Log in again to set up your new authenticator."), "info")
                return redirect_to(url_for("auth.login"))
            db.session.commit()
            flash(N_("Two-factor login is off."), "success")
            return redirect_to(url_for("account.security"))
    return _page(status=422, disable_form=form)
