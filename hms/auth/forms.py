"""Forms for registration and login."""

from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

from hms.fields import DateField
from hms.forms import plausible_birth_date, strong_password, valid_currency, valid_timezone
from hms.i18n import N_
from hms.models import Sex


def strip(value):  # type: ignore[no-untyped-def]
    return value.strip() if isinstance(value, str) else value


PHONE = Regexp(r"^\+?[0-9 ()\-.]{6,24}$", message=N_("Enter a phone number of digits, spaces and +().-"))


class LoginForm(FlaskForm):
    email = EmailField(N_("Email"), filters=[strip], validators=[DataRequired(), Length(max=254)])
    password = PasswordField(N_("Password"), validators=[DataRequired(), Length(max=128)])


class _AccountFields(FlaskForm):
    full_name = StringField(N_("Full name"), validators=[DataRequired(), Length(min=2, max=120)])
    email = EmailField(
        N_("Email"),
        filters=[strip],
        validators=[
            DataRequired(),
            Length(max=254),
            Email(message=N_("Enter a valid email address."), check_deliverability=False),
        ],
    )
    password = PasswordField(
        N_("Password"),
        validators=[DataRequired(), strong_password()],
        description=N_("At least 10 characters; a few unrelated words work well."),
    )
    confirm = PasswordField(
        N_("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=N_("The passwords do not match."))],
    )


class PatientRegistrationForm(_AccountFields):
    date_of_birth = DateField(
        N_("Date of birth"),
        validators=[DataRequired(message=N_("Enter a date.")), plausible_birth_date],
    )
    sex = SelectField(
        N_("Sex"),
        choices=[(s.value, lazy_gettext(s.value.capitalize())) for s in Sex],
        validators=[DataRequired()],
    )
    phone = StringField(N_("Phone"), validators=[DataRequired(), PHONE])


class DoctorRegistrationForm(_AccountFields):
    specialty = StringField(N_("Specialty"), validators=[DataRequired(), Length(min=2, max=80)])
    qualifications = StringField(N_("Qualifications"), validators=[Optional(), Length(max=255)])
    license_number = StringField(N_("Licence number"), validators=[Optional(), Length(max=64)])


class HospitalRegistrationForm(FlaskForm):
    name = StringField(N_("Hospital name"), validators=[DataRequired(), Length(min=2, max=160)])
    address = StringField(N_("Address"), validators=[DataRequired(), Length(max=255)])
    city = StringField(N_("City"), validators=[DataRequired(), Length(max=80)])
    phone = StringField(N_("Phone"), validators=[Optional(), PHONE])
    timezone = StringField(
        N_("Time zone"),
        validators=[DataRequired(), Length(max=64), valid_timezone],
        description=N_("IANA name, for example Asia/Kolkata or Africa/Nairobi."),
    )
    currency = StringField(
        N_("Currency"),
        validators=[DataRequired(), valid_currency],
        description=N_("Three-letter code, for example INR, KES or USD."),
    )
    admin_name = StringField(N_("Your full name"), validators=[DataRequired(), Length(min=2, max=120)])
    email = EmailField(
        N_("Your email"),
        filters=[strip],
        validators=[
            DataRequired(),
            Length(max=254),
            Email(message=N_("Enter a valid email address."), check_deliverability=False),
        ],
    )
    password = PasswordField(N_("Password"), validators=[DataRequired(), strong_password()])
    confirm = PasswordField(
        N_("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=N_("The passwords do not match."))],
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        N_("Email"),
        filters=[strip],
        validators=[
            DataRequired(),
            Length(max=254),
            Email(message=N_("Enter a valid email address."), check_deliverability=False),
        ],
    )


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        N_("New password"),
        validators=[DataRequired(), Length(max=128)],
        description=N_("At least 10 characters; a few unrelated words work well."),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        N_("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=N_("The passwords do not match."))],
        render_kw={"autocomplete": "new-password"},
    )


class ChangePasswordForm(ResetPasswordForm):
    """The reset form's new password, behind the current one. On the security page, next to the
    two-factor forms: field names carry a "pw-" prefix."""

    current = PasswordField(
        N_("Current password"),
        validators=[DataRequired(), Length(max=128)],
        render_kw={"autocomplete": "current-password"},
    )

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, prefix="pw", **kwargs)


class AcceptInvitationForm(FlaskForm):
    """The invited person's name (as the hospital typed it, to correct) and new password."""

    full_name = StringField(N_("Full name"), validators=[DataRequired(), Length(min=2, max=120)])
    specialty = StringField(N_("Specialty"), validators=[Optional(), Length(min=2, max=80)])
    password = PasswordField(
        N_("Password"),
        validators=[DataRequired(), Length(max=128)],
        description=N_("At least 10 characters; a few unrelated words work well."),
    )
    confirm = PasswordField(
        N_("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=N_("The passwords do not match."))],
    )


class SecondFactorForm(FlaskForm):
    code = StringField(
        N_("Code"),
        filters=[strip],
        validators=[DataRequired(message=N_("Enter the code.")), Length(max=32)],
        description=N_("The 6 digits your authenticator app shows now, or one of your recovery codes."),
        render_kw={"autocomplete": "one-time-code", "inputmode": "text", "autocapitalize": "off"},
    )


class ConfirmAuthenticatorForm(FlaskForm):
    code = StringField(
        N_("Code from the app"),
        filters=[strip],
        validators=[DataRequired(message=N_("Enter the code.")), Length(max=32)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class DisableTwoFactorForm(FlaskForm):
    password = PasswordField(N_("Your password"), validators=[DataRequired(), Length(max=128)])
    code = StringField(
        N_("Code"),
        filters=[strip],
        validators=[DataRequired(message=N_("Enter the code.")), Length(max=32)],
        description=N_("From your authenticator app, or a recovery code."),
        render_kw={"autocomplete": "one-time-code"},
    )


class RecoveryCodesForm(FlaskForm):
    code = StringField(
        N_("Code from the app"),
        filters=[strip],
        validators=[DataRequired(message=N_("Enter the code.")), Length(max=32)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class ClaimAccountForm(FlaskForm):
    """A desk-registered patient takes over his account: his email (when the desk had none; the
    service requires it then) and a password under the registration's rules."""

    email = EmailField(
        N_("Email"),
        filters=[strip],
        validators=[
            Optional(),
            Length(max=254),
            Email(message=N_("Enter a valid email address."), check_deliverability=False),
        ],
        render_kw={"autocomplete": "email"},
    )
    password = PasswordField(
        N_("Password"),
        validators=[DataRequired(), strong_password()],
        description=N_("At least 10 characters; a few unrelated words work well."),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        N_("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=N_("The passwords do not match."))],
        render_kw={"autocomplete": "new-password"},
    )
