"""Forms of the inventory pages: items and the four kinds of stock movement."""

from __future__ import annotations

from flask_babel import gettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from hms.auth.forms import strip
from hms.fields import DateField, IntegerField
from hms.i18n import N_
from hms.models import StockBatch, StockKind
from hms.services.inventory import MAX_QUANTITY, MAX_REORDER_LEVEL
from hms.templating import local_date

QUANTITY_CHECKS = [
    InputRequired(message=N_("Enter a number.")),
    NumberRange(min=1, max=MAX_QUANTITY, message=N_("Enter a whole number between 1 and 1000000.")),
]


class ItemForm(FlaskForm):
    name = StringField(N_("Name"), filters=[strip], validators=[DataRequired(), Length(max=120)])
    kind = SelectField(
        N_("Kind"), choices=[(k.value, k.label) for k in StockKind], validators=[DataRequired()]
    )
    unit = StringField(
        N_("Unit"),
        filters=[strip],
        validators=[DataRequired(), Length(max=24)],
        description=N_("What one unit is: tablet, vial, box, pair."),
    )
    reorder_level = IntegerField(
        N_("Reorder level"),
        default=0,
        validators=[
            InputRequired(message=N_("Enter a number.")),
            NumberRange(
                min=0, max=MAX_REORDER_LEVEL, message=N_("Enter a whole number between 0 and 1000000.")
            ),
        ],
        description=N_("The item is listed as low on stock at or below this many units."),
    )

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        if getattr(self, "kind", None) is not None:
            self.kind.choices = [(k.value, gettext(k.label)) for k in StockKind]


class EditItemForm(ItemForm):
    kind = None  # an item's kind never changes: its batches depend on it
    active = BooleanField(N_("In use (untick to archive)"))


def _batch_choices(batches: list[StockBatch]) -> list[tuple[str, str]]:
    return [("", "—")] + [
        (str(b.id), f"{b.batch_number} · {local_date(b.expiry_date, '%d %b %Y')} · {b.on_hand}")
        for b in batches
    ]


def _optional_int(value: str | int | None) -> int | None:
    if value in (None, ""):
        return None
    return int(value)


class ReceiveForm(FlaskForm):
    quantity = IntegerField(N_("Quantity"), validators=QUANTITY_CHECKS)
    supplier = StringField(N_("Supplier"), filters=[strip], validators=[DataRequired(), Length(max=120)])
    batch_number = StringField(N_("Batch number"), filters=[strip], validators=[Optional(), Length(max=40)])
    expiry_date = DateField(N_("Expiry date"), validators=[Optional()])


class DispenseForm(FlaskForm):
    quantity = IntegerField(N_("Quantity"), validators=QUANTITY_CHECKS)
    prescription = StringField(
        N_("Prescription number"),
        filters=[strip],
        validators=[Optional(), Length(max=24)],
        description=N_("Optional: an issued prescription of this hospital, e.g. RX-2026-000042."),
    )


class AdjustForm(FlaskForm):
    change = IntegerField(
        N_("Change (+ or −)"),
        validators=[
            InputRequired(message=N_("Enter a number.")),
            NumberRange(
                min=-MAX_QUANTITY,
                max=MAX_QUANTITY,
                message=N_("Enter a whole number between -1000000 and 1000000."),
            ),
        ],
    )
    reason = StringField(N_("Reason"), filters=[strip], validators=[DataRequired(), Length(max=255)])
    batch = SelectField(N_("Batch"), coerce=_optional_int, validate_choice=True)

    def __init__(self, batches: list[StockBatch], *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.batch.choices = _batch_choices(batches)


class TransferForm(FlaskForm):
    quantity = IntegerField(N_("Quantity"), validators=QUANTITY_CHECKS)
    destination = StringField(
        N_("Destination"), filters=[strip], validators=[DataRequired(), Length(max=255)]
    )
    batch = SelectField(
        N_("Batch"),
        coerce=_optional_int,
        validate_choice=True,
        description=N_("Optional for medicines: otherwise the first to expire leave first."),
    )

    def __init__(self, batches: list[StockBatch], *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.batch.choices = _batch_choices(batches)
