"""Forms of the inventory pages: items and the four kinds of stock movement."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from hms.auth.forms import strip
from hms.models import StockBatch, StockKind
from hms.services.inventory import MAX_QUANTITY, MAX_REORDER_LEVEL

QUANTITY_CHECKS = [
    InputRequired(message="Enter a number."),
    NumberRange(min=1, max=MAX_QUANTITY, message="Enter a whole number between 1 and 1000000."),
]


class ItemForm(FlaskForm):
    name = StringField("Name", filters=[strip], validators=[DataRequired(), Length(max=120)])
    kind = SelectField("Kind", choices=[(k.value, k.label) for k in StockKind], validators=[DataRequired()])
    unit = StringField(
        "Unit",
        filters=[strip],
        validators=[DataRequired(), Length(max=24)],
        description="What one unit is: tablet, vial, box, pair.",
    )
    reorder_level = IntegerField(
        "Reorder level",
        default=0,
        validators=[
            InputRequired(message="Enter a number."),
            NumberRange(min=0, max=MAX_REORDER_LEVEL, message="Enter a whole number between 0 and 1000000."),
        ],
        description="The item is listed as low on stock at or below this many units.",
    )


class EditItemForm(ItemForm):
    kind = None  # an item's kind never changes: its batches depend on it
    active = BooleanField("In use (untick to archive)")


def _batch_choices(batches: list[StockBatch]) -> list[tuple[str, str]]:
    return [("", "—")] + [
        (str(b.id), f"{b.batch_number} · {b.expiry_date.isoformat()} · {b.on_hand}") for b in batches
    ]


def _optional_int(value: str | int | None) -> int | None:
    if value in (None, ""):
        return None
    return int(value)


class ReceiveForm(FlaskForm):
    quantity = IntegerField("Quantity", validators=QUANTITY_CHECKS)
    supplier = StringField("Supplier", filters=[strip], validators=[DataRequired(), Length(max=120)])
    batch_number = StringField("Batch number", filters=[strip], validators=[Optional(), Length(max=40)])
    expiry_date = DateField("Expiry date", validators=[Optional()])


class DispenseForm(FlaskForm):
    quantity = IntegerField("Quantity", validators=QUANTITY_CHECKS)
    prescription = StringField(
        "Prescription number",
        filters=[strip],
        validators=[Optional(), Length(max=24)],
        description="Optional: an issued prescription of this hospital, e.g. RX-2026-000042.",
    )


class AdjustForm(FlaskForm):
    change = IntegerField(
        "Change (+ or −)",
        validators=[
            InputRequired(message="Enter a number."),
            NumberRange(
                min=-MAX_QUANTITY,
                max=MAX_QUANTITY,
                message="Enter a whole number between -1000000 and 1000000.",
            ),
        ],
    )
    reason = StringField("Reason", filters=[strip], validators=[DataRequired(), Length(max=255)])
    batch = SelectField("Batch", coerce=_optional_int, validate_choice=True)

    def __init__(self, batches: list[StockBatch], *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.batch.choices = _batch_choices(batches)


class TransferForm(FlaskForm):
    quantity = IntegerField("Quantity", validators=QUANTITY_CHECKS)
    destination = StringField("Destination", filters=[strip], validators=[DataRequired(), Length(max=255)])
    batch = SelectField(
        "Batch",
        coerce=_optional_int,
        validate_choice=True,
        description="Optional for medicines: otherwise the first to expire leave first.",
    )

    def __init__(self, batches: list[StockBatch], *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.batch.choices = _batch_choices(batches)
