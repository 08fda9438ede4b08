"""Forms of the hospital administrator's wards and beds: a ward, beds to add, a bed's label."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from hms.auth.forms import strip
from hms.fields import DecimalField
from hms.i18n import N_
from hms.models import WardKind


class WardForm(FlaskForm):
    name = StringField(N_("Name"), filters=[strip], validators=[DataRequired(), Length(max=80)])
    kind = SelectField(N_("Kind"), validators=[DataRequired()])
    daily_rate = DecimalField(
        N_("Rate per night"),
        places=None,
        validators=[Optional(), NumberRange(min=Decimal(0), max=Decimal(10_000_000_000))],
        description=N_("In the hospital's currency; leave empty for free."),
    )

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.kind.choices = [(kind.value, gettext(kind.label)) for kind in WardKind]
        if not self.is_submitted() and kwargs.get("obj") is not None:
            self.kind.data = WardKind(kwargs["obj"].kind).value


class BedsForm(FlaskForm):
    labels = StringField(
        N_("Beds"),
        filters=[strip],
        validators=[DataRequired(), Length(max=200)],
        description=N_("One label such as A1, or a range such as A1-A12."),
    )


class BedLabelForm(FlaskForm):
    label = StringField(N_("Label"), filters=[strip], validators=[DataRequired(), Length(max=24)])
