"""Forms of the hospital administrator's laboratory catalogue: a test, a reference range, a panel."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import get_currency_precision
from flask_babel import gettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from hms.auth.forms import strip
from hms.fields import DecimalField, IntegerField
from hms.i18n import N_
from hms.models import ResultKind, SpecimenKind
from hms.money import decimal_to_minor
from hms.services.lab_admin import TestFields

SPECIMENS = {
    "blood": N_("Blood"),
    "serum": N_("Serum"),
    "plasma": N_("Plasma"),
    "urine": N_("Urine"),
    "stool": N_("Stool"),
    "swab": N_("Swab"),
    "sputum": N_("Sputum"),
    "csf": N_("Cerebrospinal fluid"),
    "other": N_("Other"),
}
KINDS = {
    "numeric": N_("Number (unit, decimals)"),
    "choice": N_("Choice from a list"),
    "text": N_("Free text"),
}
SEXES = {"": N_("Anyone"), "female": N_("Female"), "male": N_("Male"), "other": N_("Other")}
LIMIT = [Optional()]


class _Priced(FlaskForm):
    price = DecimalField(
        N_("Price"),
        places=None,
        validators=[Optional(), NumberRange(min=Decimal(0), max=Decimal(10_000_000_000))],
        description=N_("In the hospital's currency; leave empty for free."),
    )

    def price_minor(self, currency: str) -> int | None:
        """The price in minor units of `currency`, or None (with an error on the field)."""
        if self.price.data is None:
            return 0
        try:
            return decimal_to_minor(self.price.data, currency)
        except ValueError:
            places = get_currency_precision(currency)
            self.price.errors = [
                *self.price.errors,
                gettext("%(currency)s amounts have at most %(num)d decimals.", currency=currency, num=places),
            ]
            return None


class LabTestForm(_Priced):
    code = StringField(N_("Code"), filters=[strip], validators=[DataRequired(), Length(max=16)])
    name = StringField(N_("Name"), filters=[strip], validators=[DataRequired(), Length(max=120)])
    loinc = StringField(N_("LOINC code"), filters=[strip], validators=[Optional(), Length(max=10)])
    specimen = SelectField(N_("Specimen"), choices=list(SPECIMENS.items()), validators=[DataRequired()])
    kind = SelectField(N_("Result"), choices=list(KINDS.items()), validators=[DataRequired()])
    unit = StringField(N_("Unit"), filters=[strip], validators=[Optional(), Length(max=24)])
    decimals = IntegerField(
        N_("Decimals"),
        default=0,
        validators=[InputRequired(message=N_("Enter a number.")), NumberRange(min=0, max=4)],
    )
    choices = StringField(
        N_("Choices"),
        filters=[strip],
        validators=[Optional(), Length(max=500)],
        description=N_("For a choice: the answers, separated by commas."),
    )
    critical_low = DecimalField(N_("Critical low"), places=None, validators=LIMIT)
    critical_high = DecimalField(N_("Critical high"), places=None, validators=LIMIT)
    physical_low = DecimalField(N_("Lowest possible"), places=None, validators=LIMIT)
    physical_high = DecimalField(N_("Highest possible"), places=None, validators=LIMIT)
    turnaround_minutes = IntegerField(
        N_("Turnaround (minutes)"),
        default=60,
        validators=[InputRequired(message=N_("Enter a number.")), NumberRange(min=1, max=43200)],
    )

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.specimen.choices = [(k, gettext(v)) for k, v in SPECIMENS.items()]
        self.kind.choices = [(k, gettext(v)) for k, v in KINDS.items()]
        if not self.is_submitted() and kwargs.get("obj") is not None:
            test = kwargs["obj"]
            self.choices.data = ", ".join(test.options)
            self.specimen.data = SpecimenKind(test.specimen).value
            self.kind.data = ResultKind(test.kind).value

    def fields(self, price_minor: int) -> TestFields:
        return TestFields(
            code=self.code.data or "",
            name=self.name.data or "",
            loinc=self.loinc.data,
            specimen=self.specimen.data,
            kind=self.kind.data,
            unit=self.unit.data,
            decimals=self.decimals.data or 0,
            choices=self.choices.data,
            critical_low=self.critical_low.data,
            critical_high=self.critical_high.data,
            physical_low=self.physical_low.data,
            physical_high=self.physical_high.data,
            turnaround_minutes=self.turnaround_minutes.data or 0,
            price_minor=price_minor,
        )


class RangeForm(FlaskForm):
    sex = SelectField(N_("Sex"), choices=list(SEXES.items()), validators=[Optional()])
    age_from = IntegerField(
        N_("From age (years)"),
        default=0,
        validators=[InputRequired(message=N_("Enter a number.")), NumberRange(min=0, max=150)],
    )
    age_to = IntegerField(N_("Up to age (years)"), validators=[Optional(), NumberRange(min=1, max=150)])
    low = DecimalField(N_("Low"), places=None, validators=LIMIT)
    high = DecimalField(N_("High"), places=None, validators=LIMIT)

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.sex.choices = [(k, gettext(v)) for k, v in SEXES.items()]


class PanelForm(_Priced):
    code = StringField(N_("Code"), filters=[strip], validators=[DataRequired(), Length(max=16)])
    name = StringField(N_("Name"), filters=[strip], validators=[DataRequired(), Length(max=120)])
    loinc = StringField(N_("LOINC code"), filters=[strip], validators=[Optional(), Length(max=10)])
    tests = SelectMultipleField(N_("Tests"), coerce=int, validate_choice=False)
    active = BooleanField(N_("Can be ordered"), default=True)

    def set_tests(self, tests: list) -> None:  # type: ignore[type-arg]
        self.tests.choices = [(t.id, f"{t.code} · {t.name}") for t in tests]

    def test_ids(self) -> list[int]:
        return [i for i in (self.tests.data or []) if isinstance(i, int) and 0 < i < 2**31]
