"""The hospital administrator's text-message settings (Twilio account, token, sending number)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from hms.auth.session import role_required
from hms.extensions import db
from hms.forms import EmptyForm, attach_error
from hms.htmx import redirect_to, render
from hms.i18n import N_
from hms.models import Role
from hms.services import sms
from hms.services.errors import DomainError

bp = Blueprint("hospital_sms", __name__)
bp.before_request(role_required(Role.hospital_admin))


class SmsSettingsForm(FlaskForm):
    account_sid = StringField(
        N_("Twilio account SID"),
        validators=[DataRequired(), Length(max=64)],
        description=N_("Starts with AC."),
    )
    auth_token = PasswordField(
        N_("Auth token"),
        validators=[Length(max=64)],
        description=N_("Leave empty to keep the token already saved. It is stored encrypted."),
    )
    from_number = StringField(
        N_("Sending number"),
        validators=[DataRequired(), Length(max=32)],
        description=N_("Your Twilio number in international form, e.g. +254700000000."),
    )


@bp.route("/", methods=["GET", "POST"])
def settings():
    hospital = current_user.hospital_admin.hospital
    form = SmsSettingsForm(
        data={"account_sid": hospital.sms_account_sid or "", "from_number": hospital.sms_from_number or ""}
        if request.method == "GET"
        else None
    )
    if form.validate_on_submit():
        try:
            sms.configure_hospital_sms(
                hospital,
                account_sid=form.account_sid.data,
                auth_token=form.auth_token.data or "",
                from_number=form.from_number.data,
                actor=current_user,
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(N_("Text messages are set up: patients who want them will get them."), "success")
            return redirect_to(url_for("hospital_sms.settings"))
    status = 422 if form.is_submitted() else 200
    return render(
        "hospital_admin/sms.html",
        "form",
        status=status,
        form=form,
        hospital=hospital,
        configured=bool(hospital.sms_auth_token_sealed),
        off_form=EmptyForm(),
    )


@bp.post("/off")
def turn_off():
    if not EmptyForm().validate_on_submit():
        abort(400)
    sms.disable_hospital_sms(current_user.hospital_admin.hospital, current_user)
    db.session.commit()
    flash(N_("Text messages are turned off for this hospital."), "info")
    return redirect_to(url_for("hospital_sms.settings"))
