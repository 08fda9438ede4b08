"""The desk's registration form: a walk-in patient without email or password."""

from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, ValidationError

from hms.auth.forms import PHONE, strip
from hms.fields import DateField, IntegerField
from hms.forms import plausible_birth_date
from hms.i18n import N_
from hms.models import Sex


class RegisterPatientForm(FlaskForm):
    full_name = StringField(
        N_("Full name"), filters=[strip], validators=[DataRequired(), Length(min=2, max=120)]
    )
    date_of_birth = DateField(N_("Date of birth"), validators=[Optional(), plausible_birth_date])
    age = IntegerField(
        N_("Or age in years"),
        validators=[
            Optional(),
            NumberRange(min=0, max=130, message=N_("Enter an age between 0 and 130 years.")),
        ],
        description=N_("When the date of birth is not known: it is then recorded as approximate."),
    )
    sex = SelectField(
        N_("Sex"),
        choices=[(s.value, lazy_gettext(s.value.capitalize())) for s in Sex],
        validators=[DataRequired()],
    )
    phone = StringField(N_("Phone"), filters=[strip], validators=[DataRequired(), PHONE])
    address = StringField(N_("Address"), filters=[strip], validators=[Optional(), Length(max=255)])
    emergency_contact = StringField(
        N_("Emergency contact"),
        filters=[strip],
        validators=[Optional(), Length(max=255)],
        description=N_("Name and phone of someone to call."),
    )
    guardian_name = StringField(
        N_("Guardian's name"),
        filters=[strip],
        validators=[Optional(), Length(max=120)],
        description=N_("Required for a child under 18."),
    )
    guardian_phone = StringField(N_("Guardian's phone"), filters=[strip], validators=[Optional(), PHONE])
    # Sent by the "These are different people: register anyway" button under the likely duplicates.
    different_people = BooleanField(default=False)

    def validate_age(self, field) -> None:  # type: ignore[no-untyped-def]
        if field.data is not None and self.date_of_birth.data is not None:
            raise ValidationError(N_("Give the date of birth or the age, not both."))
        if field.data is None and self.date_of_birth.data is None and not self.date_of_birth.errors:
            raise ValidationError(N_("Enter the date of birth or the age."))


class DeskCancelForm(FlaskForm):
    """Cancelling a patient's visit at the desk: the reason is required (the patient sees it)."""

    reason = StringField(
        N_("Reason (the patient sees it)"),
        filters=[strip],
        validators=[DataRequired(message=N_("Give a reason; the patient will see it.")), Length(max=500)],
    )


class ClaimInvitationForm(FlaskForm):
    """The desk sends the patient a link to claim his account: by email (this one, or the one it has),
    else by SMS to his phone."""

    email = EmailField(
        N_("His email (optional: without one the link goes by SMS)"),
        filters=[strip],
        validators=[
            Optional(),
            Length(max=254),
            Email(message=N_("Enter a valid email address."), check_deliverability=False),
        ],
    )
