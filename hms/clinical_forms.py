"""Forms for clinical records, shared by the doctor's and the patient's pages. They parse types and
lengths; the rules (plausible vitals, well-formed ICD-10 codes) live in hms.services.clinical."""

from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from hms.fields import DateField, DecimalField, IntegerField
from hms.forms import not_in_future
from hms.i18n import N_
from hms.models import AllergySeverity, HistoryKind
from hms.services.clinical import MAX_QUANTITY, NOTES_MAX, VITAL_RANGES


def strip(value):  # type: ignore[no-untyped-def]
    return value.strip() if isinstance(value, str) else value


def _range(name: str, step: str = "1") -> dict[str, str]:
    low, high, _unit = VITAL_RANGES[name]
    return {"min": str(low), "max": str(high), "step": step, "inputmode": "decimal"}


class VersionedForm(FlaskForm):
    version = HiddenField()

    @property
    def version_number(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


class HistoryForm(VersionedForm):
    kind = SelectField(
        N_("Kind"),
        choices=[(k.value, lazy_gettext(k.singular)) for k in HistoryKind],
        validators=[DataRequired()],
    )
    title = StringField(
        N_("Name"),
        filters=[strip],
        validators=[
            DataRequired(message=N_("Name the condition, substance, medicine or operation.")),
            Length(max=200),
        ],
        description=N_("The condition, the substance you react to, the medicine, the operation."),
    )
    detail = TextAreaField(N_("Details"), filters=[strip], validators=[Optional(), Length(max=1000)])
    reaction = StringField(
        N_("Reaction (allergies)"), filters=[strip], validators=[Optional(), Length(max=200)]
    )
    severity = SelectField(
        N_("Severity (allergies)"),
        choices=[("", "—")] + [(s.value, lazy_gettext(s.value.capitalize())) for s in AllergySeverity],
        validators=[Optional()],
    )
    relation = StringField(
        N_("Relative (family history)"), filters=[strip], validators=[Optional(), Length(max=60)]
    )
    since = DateField(N_("Since / date"), validators=[Optional(), not_in_future])

    def values(self) -> dict:
        return {
            name: getattr(self, name).data
            for name in ("kind", "title", "detail", "reaction", "severity", "relation", "since")
        }


class EncounterForm(VersionedForm):
    chief_complaint = TextAreaField(
        N_("Chief complaint"),
        filters=[strip],
        validators=[Optional(), Length(max=500)],
        render_kw={"rows": 2},
    )
    bp_systolic = IntegerField(
        N_("BP systolic (mmHg)"), validators=[Optional()], render_kw=_range("bp_systolic")
    )
    bp_diastolic = IntegerField(
        N_("BP diastolic (mmHg)"), validators=[Optional()], render_kw=_range("bp_diastolic")
    )
    pulse = IntegerField(N_("Pulse (/min)"), validators=[Optional()], render_kw=_range("pulse"))
    temperature_c = DecimalField(
        N_("Temperature (°C)"), places=1, validators=[Optional()], render_kw=_range("temperature_c", "0.1")
    )
    weight_kg = DecimalField(
        N_("Weight (kg)"), places=1, validators=[Optional()], render_kw=_range("weight_kg", "0.1")
    )
    height_cm = DecimalField(
        N_("Height (cm)"), places=1, validators=[Optional()], render_kw=_range("height_cm", "0.1")
    )
    notes = TextAreaField(
        N_("Notes"), filters=[strip], validators=[Optional(), Length(max=NOTES_MAX)], render_kw={"rows": 6}
    )

    def values(self) -> dict:
        names = ("chief_complaint", "bp_systolic", "bp_diastolic", "pulse", "temperature_c", "weight_kg")
        return {name: getattr(self, name).data for name in (*names, "height_cm", "notes")}


class DiagnosisForm(FlaskForm):
    code = StringField(
        N_("ICD-10 code"),
        filters=[strip],
        validators=[DataRequired(message=N_("Enter an ICD-10 code.")), Length(max=10)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    text = StringField(
        N_("Diagnosis"),
        filters=[strip],
        validators=[Optional(), Length(max=255)],
        description=N_("Leave empty to use the list's wording for a listed code."),
    )


class ItemForm(VersionedForm):
    drug = StringField(
        N_("Medicine"),
        filters=[strip],
        validators=[DataRequired(message=N_("Name the medicine.")), Length(max=120)],
    )
    strength = StringField(N_("Strength"), filters=[strip], validators=[Optional(), Length(max=40)])
    form = StringField(N_("Form"), filters=[strip], validators=[Optional(), Length(max=40)])
    dose = StringField(N_("Dose"), filters=[strip], validators=[Optional(), Length(max=60)])
    route = StringField(N_("Route"), filters=[strip], validators=[Optional(), Length(max=40)])
    frequency = StringField(N_("Frequency"), filters=[strip], validators=[Optional(), Length(max=60)])
    duration = StringField(N_("Duration"), filters=[strip], validators=[Optional(), Length(max=40)])
    quantity = IntegerField(
        N_("Quantity"),
        validators=[
            Optional(),
            NumberRange(min=1, max=MAX_QUANTITY, message=N_("Enter a quantity from 1 to 10,000.")),
        ],
        render_kw={"min": "1", "max": str(MAX_QUANTITY)},
    )
    instructions = StringField(N_("Instructions"), filters=[strip], validators=[Optional(), Length(max=500)])

    def values(self) -> dict:
        names = ("drug", "strength", "form", "dose", "route", "frequency", "duration", "quantity")
        return {name: getattr(self, name).data for name in (*names, "instructions")}


class NoteForm(VersionedForm):
    note = TextAreaField(
        N_("Note for the patient and pharmacist"),
        filters=[strip],
        validators=[Optional(), Length(max=1000)],
        render_kw={"rows": 2},
    )


class CancelPrescriptionForm(FlaskForm):
    reason = StringField(
        N_("Reason for cancelling"),
        filters=[strip],
        validators=[
            DataRequired(message=N_("Give the reason; the patient will see it.")),
            Length(min=3, max=500),
        ],
    )


class PatientSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search

    q = StringField(N_("Name or MRN"), filters=[strip], validators=[Optional(), Length(max=120)])
    born = DateField(N_("Date of birth"), validators=[Optional()])
