"""The encounter page's Laboratory section: the draft selection of tests and panels (carried in the
form itself, so it works without JavaScript), the catalogue search, the order form and the
encounter's orders. Used by hms.doctor.clinical (the encounter page) and hms.doctor.lab (its actions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import url_for
from flask_babel import gettext
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.datastructures import MultiDict
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from hms.extensions import db
from hms.i18n import N_
from hms.lookup import MAX_ID
from hms.models import Encounter, LabOrder, LabOrderItem, LabPanel, LabPanelTest, LabPriority, LabTest
from hms.services import lab
from hms.templating import money

SEARCH_LIMIT = 8
PRIORITY_LABELS = {
    LabPriority.routine: N_("Routine"),
    LabPriority.urgent: N_("Urgent"),
    LabPriority.stat: N_("Stat (immediately)"),
}


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class LabOrderForm(FlaskForm):
    """Priority and clinical note; the chosen tests and panels are read by `Draft`."""

    priority = SelectField(
        N_("Priority"), choices=[(p.value, label) for p, label in PRIORITY_LABELS.items()], default="routine"
    )
    clinical_note = TextAreaField(
        N_("Clinical note"),
        validators=[Optional(), Length(max=lab.NOTE_MAX)],
        filters=[_strip],
        description=N_("What the laboratory should know: the question, current medicines."),
        render_kw={"rows": 2, "maxlength": lab.NOTE_MAX},
    )


class CancelLabOrderForm(FlaskForm):
    reason = StringField(
        N_("Reason for cancelling"),
        validators=[DataRequired(), Length(max=500)],
        filters=[_strip],
        render_kw={"maxlength": 500},
    )


def order_cancel_form(order: LabOrder, **kwargs: Any) -> CancelLabOrderForm:
    """The order's cancel form (its own prefix: several orders' forms share a page)."""
    return CancelLabOrderForm(prefix=f"cancel{order.id}", **kwargs)


def _ids(values: list[str]) -> list[int]:
    """Whole numbers from 1 to MAX_ID, each once, at most an order's worth; anything else is dropped."""
    kept: list[int] = []
    for value in values:
        value = value.strip()
        wanted = value.isascii() and value.isdigit() and len(value) <= 10 and 0 < int(value) <= MAX_ID
        if wanted and int(value) not in kept:
            kept.append(int(value))
    return kept[: lab.MAX_ITEMS]


@dataclass
class Draft:
    """The tests and panels chosen so far, and the search text: what the form carries between clicks."""

    test_ids: list[int] = field(default_factory=list)
    panel_ids: list[int] = field(default_factory=list)
    query: str = ""

    @classmethod
    def read(cls, values: MultiDict) -> Draft:
        """The draft in a form or query string, with its `add` or `remove` button applied
        ("test-12", "panel-3")."""
        draft = cls(_ids(values.getlist("test")), _ids(values.getlist("panel")), _text(values.get("q")))
        draft._apply(values.get("add"), add=True)
        draft._apply(values.get("remove"), add=False)
        return draft

    def _apply(self, key: str | None, *, add: bool) -> None:
        kind, _, number = (key or "").partition("-")
        chosen = {"test": self.test_ids, "panel": self.panel_ids}.get(kind)
        found = _ids([number])
        if chosen is None or not found:
            return
        if add and found[0] not in chosen:
            chosen.append(found[0])
        elif not add and found[0] in chosen:
            chosen.remove(found[0])

    @property
    def is_empty(self) -> bool:
        return not (self.test_ids or self.panel_ids)


def _text(value: str | None, length: int = 60) -> str:
    return " ".join((value or "").split())[:length]


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_catalogue(hospital_id: int, text: str) -> tuple[list[LabTest], list[LabPanel]]:
    """The hospital's orderable tests and panels whose name or code holds `text` (a few of each)."""
    if not text:
        return [], []
    pattern = _like(text)
    tests = db.session.scalars(
        select(LabTest)
        .where(
            LabTest.hospital_id == hospital_id,
            LabTest.active.is_(True),
            or_(
                func.lower(LabTest.name).like(pattern, escape="\\"),
                func.lower(LabTest.code).like(pattern, escape="\\"),
            ),
        )
        .order_by(func.lower(LabTest.name), LabTest.id)
        .limit(SEARCH_LIMIT)
    ).all()
    panels = db.session.scalars(
        select(LabPanel)
        .where(
            LabPanel.hospital_id == hospital_id,
            LabPanel.active.is_(True),
            or_(
                func.lower(LabPanel.name).like(pattern, escape="\\"),
                func.lower(LabPanel.code).like(pattern, escape="\\"),
            ),
        )
        .options(selectinload(LabPanel.members).joinedload(LabPanelTest.test))
        .order_by(func.lower(LabPanel.name), LabPanel.id)
        .limit(SEARCH_LIMIT)
    ).all()
    return list(tests), list(panels)


def chosen_rows(hospital_id: int, draft: Draft) -> tuple[list[LabTest], list[LabPanel]]:
    """The draft's tests and panels of this hospital's catalogue (retired ones included: the order
    refuses them with a message), in the order they were added."""
    tests = panels = []
    if draft.test_ids:
        found = db.session.scalars(
            select(LabTest).where(LabTest.hospital_id == hospital_id, LabTest.id.in_(draft.test_ids))
        ).all()
        tests = sorted(found, key=lambda t: draft.test_ids.index(t.id))
    if draft.panel_ids:
        found = db.session.scalars(
            select(LabPanel)
            .where(LabPanel.hospital_id == hospital_id, LabPanel.id.in_(draft.panel_ids))
            .options(selectinload(LabPanel.members).joinedload(LabPanelTest.test))
        ).all()
        panels = sorted(found, key=lambda p: draft.panel_ids.index(p.id))
    return list(tests), list(panels)


def encounter_orders(encounter_id: int) -> list[LabOrder]:
    """The encounter's orders with their items, tests and bill."""
    return list(
        db.session.scalars(
            select(LabOrder)
            .where(LabOrder.encounter_id == encounter_id)
            .options(
                selectinload(LabOrder.items).joinedload(LabOrderItem.test),
                joinedload(LabOrder.bill),
            )
            .order_by(LabOrder.id.desc())
        )
    )


def placed_message(order: LabOrder) -> str:
    """What the doctor is told after ordering: the order's number and the lines added to the bill."""
    bill = order.bill
    if bill is None:
        return gettext("Order %(number)s placed (no charge).", number=order.number)
    lines = "; ".join(f"{i.description} {money(i.amount_minor, bill.currency)}" for i in bill.items)
    return gettext(
        "Order %(number)s placed; added to bill %(bill)s: %(lines)s.",
        number=order.number,
        bill=bill.number,
        lines=lines,
    )


def context(
    encounter: Encounter,
    *,
    draft: Draft | None = None,
    form: LabOrderForm | None = None,
    placed: str | None = None,
    cancel_form: CancelLabOrderForm | None = None,
    cancel_order_id: int | None = None,
) -> dict[str, Any]:
    """What templates/doctor/lab/_encounter.html needs."""
    draft = draft or Draft()
    tests, panels = chosen_rows(encounter.hospital_id, draft)
    found_tests, found_panels = search_catalogue(encounter.hospital_id, draft.query)
    return {
        "lab_draft": draft,
        "lab_tests": tests,
        "lab_panels": panels,
        "lab_found_tests": found_tests,
        "lab_found_panels": found_panels,
        "lab_form": form or LabOrderForm(formdata=None),
        "lab_orders": encounter_orders(encounter.id),
        "lab_placed": placed,
        "lab_cancel_form": cancel_form,
        "lab_cancel_order_id": cancel_order_id,
        "lab_new_cancel_form": lambda order: order_cancel_form(order, formdata=None),
        "lab_priority_labels": PRIORITY_LABELS,
        "lab_draft_url": url_for("doctor.lab_draft", encounter_id=encounter.id),
    }
