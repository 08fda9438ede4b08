"""Form fields that only hold what the database and the calendar can: every form takes its dates and
numbers from here, not from WTForms directly (a date in year 9999 has no next day; 2**31 fits no
INTEGER column; Decimal("NaN") compares with nothing). The check runs first when the form validates,
and its message is the field's only one."""

from __future__ import annotations

from decimal import Decimal

import wtforms
from wtforms.validators import StopValidation

from hms.i18n import N_
from hms.query import MAX_ID, MAX_YEAR, MIN_YEAR

MAX_DECIMAL = Decimal(10) ** 12


class DateField(wtforms.DateField):
    """An ISO date within the years 1890–2200."""

    def pre_validate(self, form):  # type: ignore[no-untyped-def]
        if self.data is not None and not MIN_YEAR <= self.data.year <= MAX_YEAR:
            raise StopValidation(N_("Enter a date between the years 1890 and 2200."))


class IntegerField(wtforms.IntegerField):
    """A whole number that fits an INTEGER column."""

    def pre_validate(self, form):  # type: ignore[no-untyped-def]
        if self.data is not None and not -MAX_ID <= self.data <= MAX_ID:
            raise StopValidation(N_("Enter a smaller number."))


class DecimalField(wtforms.DecimalField):
    """A finite decimal number below a trillion (no NaN, no Infinity)."""

    def pre_validate(self, form):  # type: ignore[no-untyped-def]
        if self.data is not None and (not self.data.is_finite() or abs(self.data) >= MAX_DECIMAL):
            raise StopValidation(N_("Enter a smaller number."))
