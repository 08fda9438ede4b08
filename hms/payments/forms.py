"""Forms for bills and payments at the desk, and the parsing of amounts people type."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision
from flask_babel import gettext, lazy_gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, ValidationError
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from hms.fields import DateField, IntegerField
from hms.i18n import N_
from hms.models import BillStatus, ItemKind, PaymentMethod
from hms.money import decimal_to_minor
from hms.services.billing import MAX_AMOUNT_MINOR, MAX_QUANTITY, new_key

_AMOUNT = re.compile(r"^(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")


def parse_amount(text: str | None, currency: str) -> int:
    """Minor units of a typed decimal amount ("1500", "1,500.50"); ValidationError for anything else,
    for more decimals than the currency has, for zero or less, and for absurd sizes."""
    value = (text or "").strip().replace(" ", "")
    if not value:
        raise ValidationError(N_("Enter an amount."))
    if len(value) > 20 or not _AMOUNT.match(value):
        raise ValidationError(N_("Enter an amount such as 1500 or 1500.50."))
    try:
        amount = decimal_to_minor(Decimal(value.replace(",", "")), currency)
    except (InvalidOperation, ValueError) as error:
        digits = get_currency_precision(currency)
        raise ValidationError(
            gettext("%(currency)s amounts have no decimals.", currency=currency)
            if digits == 0
            else gettext("Use at most %(num)d decimals.", num=digits)
        ) from error
    if amount <= 0:
        raise ValidationError(N_("The amount must be more than zero."))
    if amount > MAX_AMOUNT_MINOR:
        raise ValidationError(N_("This amount is too large."))
    return amount


class _AmountForm(FlaskForm):
    """A form with an amount in `currency` (given when the form is made); `minor` holds it parsed."""

    def __init__(self, *args, currency: str = "USD", **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.minor = 0


class NewBillForm(FlaskForm):
    mrn = StringField(
        N_("Patient's record number (MRN)"),
        validators=[DataRequired(), Length(max=16)],
        description=N_("As on the patient's card, for example P7K2M9Q4XA."),
    )
    note = StringField(N_("Note (optional)"), validators=[Optional(), Length(max=500)])


class ItemForm(_AmountForm):
    kind = SelectField(
        N_("Kind"),
        choices=[(k.value, lazy_gettext(k.value.capitalize())) for k in ItemKind],
        validators=[DataRequired()],
    )
    description = StringField(N_("Description"), validators=[DataRequired(), Length(max=200)])
    quantity = IntegerField(
        N_("Quantity"),
        default=1,
        validators=[InputRequired(), NumberRange(min=1, max=MAX_QUANTITY)],
    )
    unit_price = StringField(N_("Unit price"), validators=[DataRequired(), Length(max=20)])

    def validate_unit_price(self, field) -> None:  # type: ignore[no-untyped-def]
        self.minor = parse_amount(field.data, self.currency)


class DeskPaymentForm(_AmountForm):
    amount = StringField(N_("Amount received"), validators=[DataRequired(), Length(max=20)])
    method = SelectField(
        N_("Paid by"),
        choices=[(m.value, lazy_gettext(m.label)) for m in (PaymentMethod.cash, PaymentMethod.card)],
        validators=[DataRequired()],
    )
    key = HiddenField(default=new_key)

    def validate_amount(self, field) -> None:  # type: ignore[no-untyped-def]
        self.minor = parse_amount(field.data, self.currency)


class RefundForm(_AmountForm):
    amount = StringField(N_("Amount to refund"), validators=[DataRequired(), Length(max=20)])
    reason = StringField(N_("Reason"), validators=[DataRequired(), Length(max=255)])
    key = HiddenField(default=new_key)

    def validate_amount(self, field) -> None:  # type: ignore[no-untyped-def]
        self.minor = parse_amount(field.data, self.currency)


class CancelBillForm(FlaskForm):
    reason = StringField(N_("Reason"), validators=[DataRequired(), Length(max=500)])


class BillingSettingsForm(FlaskForm):
    refund_percent = IntegerField(
        N_("Refund when a patient cancels (per cent)"),
        validators=[InputRequired(), NumberRange(min=0, max=100)],
        description=N_(
            "The share of what the patient paid that goes back. When the hospital cancels, "
            "everything is refunded."
        ),
    )


STATUS_CHOICES = [("", lazy_gettext("Any status"))] + [
    (s.value, lazy_gettext(s.label.capitalize())) for s in BillStatus
]


class BillFilterForm(FlaskForm):
    """The bills list's filters, read from the query string (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    status = SelectField(N_("Status"), choices=STATUS_CHOICES, validators=[Optional()])
    first = DateField(N_("From"), validators=[Optional()])
    last = DateField(N_("To"), validators=[Optional()])
    doctor = SelectField(N_("Doctor"), choices=[("", lazy_gettext("Any doctor"))], validators=[Optional()])
    patient = StringField(N_("Patient (name or MRN)"), validators=[Optional(), Length(max=80)])
