"""Forms of the hospital administrator's pages."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import get_currency_precision
from flask_babel import gettext, lazy_gettext
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, Email, InputRequired, Length, NumberRange, Optional

from hms.auth.forms import PHONE, strip
from hms.fields import DecimalField, IntegerField
from hms.forms import valid_currency, valid_timezone
from hms.i18n import N_
from hms.models import Department, StaffKind
from hms.money import decimal_to_minor

EMAIL_CHECKS = [
    DataRequired(),
    Length(max=254),
    Email(message=N_("Enter a valid email address."), check_deliverability=False),
]


class ProfileForm(FlaskForm):
    name = StringField(
        N_("Hospital name"), filters=[strip], validators=[DataRequired(), Length(min=2, max=160)]
    )
    address = StringField(N_("Address"), filters=[strip], validators=[DataRequired(), Length(max=255)])
    city = StringField(N_("City"), filters=[strip], validators=[DataRequired(), Length(max=80)])
    phone = StringField(N_("Phone"), filters=[strip], validators=[Optional(), PHONE])
    email = EmailField(
        N_("Contact email"),
        filters=[strip],
        validators=[
            Optional(),
            Length(max=254),
            Email(message=N_("Enter a valid email address."), check_deliverability=False),
        ],
    )
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
    cancel_cutoff_minutes = IntegerField(
        N_("Cancellation cut-off (minutes)"),
        validators=[InputRequired(message=N_("Enter a number of minutes.")), NumberRange(min=0, max=10080)],
        description=N_("Patients cannot cancel a visit later than this before it starts (0 to 10080)."),
    )
    idle_timeout_minutes = IntegerField(
        N_("Log out after inactivity (minutes)"),
        validators=[InputRequired(message=N_("Enter a number of minutes.")), NumberRange(min=2, max=720)],
        description=N_(
            "Doctors, staff and administrators here are logged out after this long without "
            "activity, with a warning a minute before (2 to 720)."
        ),
    )


class DepartmentForm(FlaskForm):
    name = StringField(N_("Department name"), validators=[DataRequired(), Length(max=120)])


class RetireForm(FlaskForm):
    action = StringField(validators=[AnyOf(["retire", "restore"])])


class ToggleForm(FlaskForm):
    """The desired state, never "flip": sending it twice changes nothing the second time."""

    action = StringField(validators=[AnyOf(["activate", "deactivate"])])


class RequestAnswerForm(FlaskForm):
    action = StringField(validators=[AnyOf(["accept", "decline"])])


def _department_choices(departments: list[Department]) -> list[tuple[int, str]]:
    return [(0, "No department"), *((d.id, d.name) for d in departments)]


class _DoctorTerms(FlaskForm):
    department = SelectField(N_("Department"), coerce=int, default=0)
    fee = DecimalField(
        N_("Consultation fee"),
        places=None,
        validators=[Optional(), NumberRange(min=Decimal(0), max=Decimal(10_000_000))],
        description=N_("In the hospital's currency; leave empty for no fee."),
    )

    def set_departments(self, departments: list[Department]) -> None:
        self.department.choices = _department_choices(departments)

    def fee_minor(self, currency: str) -> int | None:
        """The fee in minor units of `currency`, or None (with an error on the field) when it has too
        many decimals for that currency."""
        if self.fee.data is None:
            return 0
        try:
            return decimal_to_minor(self.fee.data, currency)
        except ValueError:
            places = get_currency_precision(currency)
            self.fee.errors = [
                *self.fee.errors,
                gettext("%(currency)s amounts have at most %(num)d decimals.", currency=currency, num=places),
            ]
            return None


class TermsForm(_DoctorTerms):
    """A linked doctor's department and fee, edited in his row of the doctors table."""

    # The add and invite forms on the same page have these fields too: a prefix keeps the ids apart.
    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, prefix="terms", **kwargs)


class AddDoctorForm(_DoctorTerms):
    email = EmailField(N_("Doctor's email"), filters=[strip], validators=EMAIL_CHECKS)


class InviteDoctorForm(_DoctorTerms):
    full_name = StringField(
        N_("Full name"), filters=[strip], validators=[DataRequired(), Length(min=2, max=120)]
    )
    email = EmailField(N_("Email"), filters=[strip], validators=EMAIL_CHECKS)
    specialty = StringField(
        N_("Specialty"), filters=[strip], validators=[DataRequired(), Length(min=2, max=80)]
    )


class InviteStaffForm(FlaskForm):
    full_name = StringField(
        N_("Full name"), filters=[strip], validators=[DataRequired(), Length(min=2, max=120)]
    )
    email = EmailField(N_("Email"), filters=[strip], validators=EMAIL_CHECKS)
    kind = SelectField(
        N_("Role"), choices=[(k.value, lazy_gettext(k.label)) for k in StaffKind], validators=[DataRequired()]
    )


class InviteAdminForm(FlaskForm):
    full_name = StringField(
        N_("Full name"), filters=[strip], validators=[DataRequired(), Length(min=2, max=120)]
    )
    email = EmailField(N_("Email"), filters=[strip], validators=EMAIL_CHECKS)


class RemoveMembershipForm(FlaskForm):
    """How to handle the doctor's future appointments here when he leaves."""

    appointments = RadioField(
        N_("Future appointments"),
        choices=[
            ("cancel", lazy_gettext("Cancel them and tell the patients")),
            ("keep", lazy_gettext("Keep them")),
        ],
        default="keep",
    )
    reason = StringField(N_("Reason for the patients"), filters=[strip], validators=[Length(max=255)])
