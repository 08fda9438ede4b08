"""Forms for finding doctors and booking."""

from __future__ import annotations

import secrets

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from hms.fields import IntegerField
from hms.i18n import N_


class DoctorSearchForm(FlaskForm):
    """A GET form: no CSRF, values from the query string."""

    class Meta:
        csrf = False

    q = StringField(N_("Name, specialty or hospital"), validators=[Optional(), Length(max=80)])
    specialty = StringField(N_("Specialty"), validators=[Optional(), Length(max=80)])
    city = StringField(N_("City"), validators=[Optional(), Length(max=80)])
    page = IntegerField(N_("Page"), default=1, validators=[Optional(), NumberRange(min=1, max=10000)])


class BookingForm(FlaskForm):
    slot = StringField(N_("Time"), validators=[DataRequired(message=N_("Choose a time."))])
    reason = TextAreaField(
        N_("Reason for the visit"),
        validators=[DataRequired(message=N_("Tell the doctor briefly why you come.")), Length(max=500)],
    )
    key = HiddenField(validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_-]{16,64}$")])

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        if not self.key.data:
            self.key.data = secrets.token_urlsafe(18)


class RescheduleForm(FlaskForm):
    slot = StringField(N_("New time"), validators=[DataRequired(message=N_("Choose a time."))])
    key = HiddenField(validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_-]{16,64}$")])

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        if not self.key.data:
            self.key.data = secrets.token_urlsafe(18)


class CancelForm(FlaskForm):
    reason = StringField(N_("Reason (optional)"), validators=[Optional(), Length(max=500)])


class FeedbackForm(FlaskForm):
    rating = RadioField(
        N_("Your rating"),
        choices=[(str(n), str(n)) for n in range(5, 0, -1)],
        validators=[InputRequired(N_("Choose from 1 to 5 stars."))],
    )
    comment = TextAreaField(N_("Comment (optional)"), validators=[Optional(), Length(max=1000)])
