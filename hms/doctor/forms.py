"""Forms for the doctor's schedule and agenda."""

from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from hms.fields import DateField, TimeField
from hms.hospital_admin.forms import RemoveMembershipForm
from hms.i18n import N_
from hms.models import WEEKDAYS
from hms.services.scheduling import SLOT_LENGTHS


class _CollisionFields(FlaskForm):
    """What to do with booked appointments a change would leave outside working time."""

    on_collision = HiddenField(validators=[Optional()])
    cancel_reason = StringField(N_("Reason for the patients"), validators=[Optional(), Length(max=300)])


class RuleForm(_CollisionFields):
    weekday = SelectField(
        N_("Day"),
        choices=[(i, lazy_gettext(name)) for i, name in enumerate(WEEKDAYS)],
        coerce=int,
        validators=[Optional()],
    )
    start_time = TimeField(N_("From"), validators=[DataRequired(message=N_("Choose a time."))])
    end_time = TimeField(N_("To"), validators=[DataRequired(message=N_("Choose a time."))])
    slot_minutes = SelectField(
        N_("Slot length"),
        choices=[(m, lazy_gettext("%(num)d min", num=m)) for m in SLOT_LENGTHS],
        coerce=int,
        default=30,
    )


class BreakForm(_CollisionFields):
    break_start = TimeField(N_("Break from"), validators=[DataRequired(message=N_("Choose a time."))])
    break_end = TimeField(N_("to"), validators=[DataRequired(message=N_("Choose a time."))])


class TimeOffForm(_CollisionFields):
    start_date = DateField(N_("First day"), validators=[DataRequired(message=N_("Enter a date."))])
    end_date = DateField(N_("Last day"), validators=[DataRequired(message=N_("Enter a date."))])
    reason = StringField(N_("Note (leave, conference…)"), validators=[Optional(), Length(max=200)])


class AppointmentCancelForm(FlaskForm):
    reason = StringField(
        N_("Reason"),
        validators=[DataRequired(message=N_("Give a reason; the patient will see it.")), Length(max=500)],
    )


class LeaveHospitalForm(RemoveMembershipForm):
    """Leaving a hospital asks the same question as removal: what happens to future appointments."""
