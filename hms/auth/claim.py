"""The page of a claim link: a patient registered at the desk sets his email and password
(hms/services/claims.py). The token goes into the session at once and leaves the address bar."""

from __future__ import annotations

from flask import abort, flash, redirect, session, url_for
from flask_login import logout_user

from hms.auth.forms import ClaimAccountForm
from hms.auth.routes import _reset_limit, bp
from hms.extensions import db, limiter
from hms.forms import attach_error
from hms.htmx import redirect_to, render
from hms.i18n import N_
from hms.services import claims
from hms.services.errors import DomainError

SESSION_KEY = "account_claim_token"


@bp.get("/claim/<token>")
def claim_link(token: str):
    session[SESSION_KEY] = token[:128]
    return redirect(url_for("auth.claim_account"), code=303)


@bp.route("/claim", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def claim_account():
    token = session.get(SESSION_KEY, "")
    try:
        claim = claims.find_claim(token)
    except claims.ClaimLinkGone as gone:
        session.pop(SESSION_KEY, None)
        return render("auth/claim.html", "form", status=410, form=None, invalid=gone.message)
    if claim is None:
        abort(404)
    needs_email = claim.user.email is None
    form = ClaimAccountForm()
    status = 422 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            claims.claim_account(token, email=form.email.data, password=form.password.data)
        except claims.OnlineAccountExists as error:
            db.session.commit()  # the desk's record keeps the duplicate flag
            attach_error(form, error)
            status = error.status
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
            status = error.status if error.status in (409, 410, 422) else 422
        else:
            db.session.commit()
            logout_user()
            session.clear()
            flash(N_("Your account is ready. Log in with your email and new password."), "success")
            return redirect_to(url_for("auth.login"))
    return render(
        "auth/claim.html",
        "form",
        status=status,
        form=form,
        invalid=None,
        needs_email=needs_email,
        user=claim.user,
    )
