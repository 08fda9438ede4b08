"""Forms for bills and payments at the desk, and the parsing of amounts people type."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from hms.models import BillStatus, ItemKind, PaymentMethod
from hms.money import decimal_to_minor
from hms.services.billing import MAX_AMOUNT_MINOR, MAX_QUANTITY, new_key

_AMOUNT = re.compile(r"^(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")


def parse_amount(text: str | None, currency: str) -> int:
    """Minor units of a typed decimal amount ("1500", "1,500.50"); ValidationError for anything else,
    for more decimals than the currency has, for zero or less, and for absurd sizes."""
    value = (text or "").strip().replace(" ", "")
    if not value:
        raise ValidationError("Enter an amount.")
    if len(value) > 20 or not _AMOUNT.match(value):
        raise ValidationError("Enter an amount such as 1500 or 1500.50.")
    try:
        amount = decimal_to_minor(Decimal(value.replace(",", "")), currency)
    except (InvalidOperation, ValueError) as error:
        digits = get_currency_precision(currency)
        raise ValidationError(
            f"{currency} amounts have no decimals." if digits == 0 else f"Use at most {digits} decimals."
        ) from error
    if amount <= 0:
        raise ValidationError("The amount must be more than zero.")
    if amount > MAX_AMOUNT_MINOR:
        raise ValidationError("This amount is too large.")
    return amount


class _AmountForm(FlaskForm):
    """A form with an amount in `currency` (given when the form is made); `minor` holds it parsed."""

    def __init__(self, *args, currency: str = "USD", **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.minor = 0


class NewBillForm(FlaskForm):
    mrn = StringField(
        "Patient's record number (MRN)",
        validators=[DataRequired(), Length(max=16)],
        description="As on the patient's card, for example P7K2M9Q4XA.",
    )
    note = StringField("Note (optional)", validators=[Optional(), Length(max=500)])


class ItemForm(_AmountForm):
    kind = SelectField(
        "Kind",
        choices=[(k.value, k.value.capitalize()) for k in ItemKind],
        validators=[DataRequired()],
    )
    description = StringField("Description", validators=[DataRequired(), Length(max=200)])
    quantity = IntegerField(
        "Quantity",
        default=1,
        validators=[InputRequired(), NumberRange(min=1, max=MAX_QUANTITY)],
    )
    unit_price = StringField("Unit price", validators=[DataRequired(), Length(max=20)])

    def validate_unit_price(self, field) -> None:  # type: ignore[no-untyped-def]
        self.minor = parse_amount(field.data, self.currency)


class DeskPaymentForm(_AmountForm):
    amount = StringField("Amount received", validators=[DataRequired(), Length(max=20)])
    method = SelectField(
        "Paid by",
        choices=[(m.value, m.label) for m in (PaymentMethod.cash, PaymentMethod.card)],
        validators=[DataRequired()],
    )
    key = HiddenField(default=new_key)

    def validate_amount(self, field) -> None:  # type: ignore[no-untyped-def]
        self.minor = parse_amount(field.data, self.currency)


class RefundForm(_AmountForm):
    amount = StringField("Amount to refund", validators=[DataRequired(), Length(max=20)])
    reason = StringField("Reason", validators=[DataRequired(), Length(max=255)])
    key = HiddenField(default=new_key)

    def validate_amount(self, field) -> None:  # type: ignore[no-untyped-def]
        self.minor = parse_amount(field.data, self.currency)


class CancelBillForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])


class BillingSettingsForm(FlaskForm):
    refund_percent = IntegerField(
        "Refund when a patient cancels (per cent)",
        validators=[InputRequired(), NumberRange(min=0, max=100)],
        description="The share of what the patient paid that goes back. When the hospital cancels, "
        "everything is refunded.",
    )


STATUS_CHOICES = [("", "Any status")] + [(s.value, s.label.capitalize()) for s in BillStatus]


class BillFilterForm(FlaskForm):
    """The bills list's filters, read from the query string (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    status = SelectField("Status", choices=STATUS_CHOICES, validators=[Optional()])
    first = DateField("From", validators=[Optional()])
    last = DateField("To", validators=[Optional()])
    doctor = SelectField("Doctor", choices=[("", "Any doctor")], validators=[Optional()])
    patient = StringField("Patient (name or MRN)", validators=[Optional(), Length(max=80)])
