"""Forms of the patient flow: a walk-in joining the queue, a card moved on the board, a check-in."""

from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional, ValidationError

from hms.auth.forms import strip
from hms.i18n import N_
from hms.models import FlowState, QueuePriority
from hms.services.flow import WalkInChoice

PRIORITIES = [(p.value, lazy_gettext(p.label)) for p in QueuePriority]


class WalkInForm(FlaskForm):
    doctor = SelectField(N_("Doctor"), choices=[], validators=[Optional()])
    department = SelectField(
        N_("Or department"),
        choices=[],
        validators=[Optional()],
        description=N_("The department's doctor free soonest sees him."),
    )
    priority = SelectField(N_("Priority"), choices=PRIORITIES, default="normal", validators=[DataRequired()])
    reason = StringField(
        N_("Reason for the visit"), filters=[strip], validators=[Optional(), Length(max=200)]
    )

    def offer(self, choices: WalkInChoice) -> WalkInForm:
        self.doctor.choices = [("", lazy_gettext("—"))] + [
            (str(m.doctor_id), m.doctor.name) for m in choices.doctors
        ]
        self.department.choices = [("", lazy_gettext("—"))] + [
            (str(d.id), d.name) for d in choices.departments
        ]
        return self

    def validate_department(self, field) -> None:  # type: ignore[no-untyped-def]
        if bool(field.data) == bool(self.doctor.data):
            raise ValidationError(N_("Choose a doctor or a department (one of them)."))

    @property
    def doctor_id(self) -> int | None:
        return int(self.doctor.data) if self.doctor.data else None

    @property
    def department_id(self) -> int | None:
        return int(self.department.data) if self.department.data else None


class MoveForm(FlaskForm):
    to = HiddenField(validators=[DataRequired(), AnyOf([s.value for s in FlowState])])
    version = HiddenField(validators=[DataRequired()])

    @property
    def version_number(self) -> int | None:
        value = self.version.data or ""
        return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None
