"""Forms of the account's token page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

EXPIRY_LABELS = [
    (0, _l("Never")),
    (30, _l("In 30 days")),
    (90, _l("In 90 days")),
    (365, _l("In a year")),
]


class ApiTokenForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[
            DataRequired(_l("Give the token a name.")),
            Length(max=80, message=_l("Use at most 80 characters.")),
        ],
        description=_l("What will use it, e.g. “clinic reporting script”."),
    )
    expires = SelectField(_l("Expires"), choices=EXPIRY_LABELS, coerce=int, default=90)
