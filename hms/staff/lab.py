"""The lab technician's pages: the work list of her hospital's open orders, and an order's page where
the specimen is collected (with its printable label) and each item is resulted inline, verified by a
second person, amended once verified.

Only lab technicians (StaffKind.lab_technician) reach these pages; an order of another hospital, or
one that does not exist, is a 404. The rules are hms.services.lab's; this module reads and renders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

from flask import Response, abort, flash, url_for
from flask_babel import gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import case, select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import HiddenField, StringField
from wtforms.validators import Length, Optional

from hms import clock
from hms import query as query_args
from hms.database import commit_keeping_loaded
from hms.extensions import db
from hms.forms import EmptyForm, attach_error
from hms.htmx import is_htmx, redirect_to, render
from hms.i18n import N_
from hms.models import (
    LabOrder,
    LabOrderItem,
    LabOrderStatus,
    LabPriority,
    LabResult,
    Patient,
    StaffKind,
)
from hms.services import lab
from hms.services.audit import record_event
from hms.services.errors import DomainError, Invalid, NotAllowed
from hms.staff.routes import bp

OPEN = (LabOrderStatus.ordered, LabOrderStatus.collected, LabOrderStatus.resulted)
STATES = ("open", *(s.value for s in OPEN))
RANK = case((LabOrder.priority == LabPriority.stat, 0), (LabOrder.priority == LabPriority.urgent, 1), else_=2)
WORK_LIST_LIMIT = 200
TEMPLATE = "staff/lab_order.html"


def lab_only(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user.staff is None or current_user.staff.kind != StaffKind.lab_technician:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


class ResultForm(FlaskForm):
    """A value for one item (its test's number, choice or text; the service checks it), with the
    item's version the technician saw; a reason when it amends a verified value."""

    value = StringField(
        N_("Result"),
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[Length(max=lab.TEXT_MAX)],
        render_kw={"autocomplete": "off", "maxlength": lab.TEXT_MAX},
    )
    reason = StringField(
        N_("Reason for the amendment"),
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[Optional(), Length(max=500)],
        render_kw={"maxlength": 500},
    )
    version = HiddenField()

    @property
    def version_number(self) -> int | None:
        raw = (self.version.data or "").strip()
        return int(raw) if raw.isdigit() and len(raw) < 10 else None


# ---------------------------------------------------------------- the work list


@dataclass(frozen=True)
class WorkRow:
    """An order as the work list shows it: when its results are due and how long is left."""

    order: LabOrder
    due: datetime
    minutes_left: int

    @property
    def overdue(self) -> bool:
        return self.order.status != LabOrderStatus.resulted and self.minutes_left < 0

    @property
    def critical(self) -> bool:
        return any(i.result is not None and i.result.awaits_acknowledgement for i in self.order.items)


def due_at(order: LabOrder) -> datetime:
    """When the order's results are due: its slowest test's turnaround after it was ordered."""
    slowest = max((item.test.turnaround_minutes for item in order.items), default=0)
    return order.ordered_at + timedelta(minutes=slowest)


def work_orders(hospital_id: int, statuses: tuple[LabOrderStatus, ...], priority: LabPriority | None):
    """The hospital's orders in these states: stat, urgent, routine; oldest first within each (a fixed
    number of statements: the orders with their patients, their items with tests, their results)."""
    query = (
        select(LabOrder)
        .where(LabOrder.hospital_id == hospital_id, LabOrder.status.in_(statuses))
        .options(
            joinedload(LabOrder.patient).joinedload(Patient.user),
            selectinload(LabOrder.items).joinedload(LabOrderItem.test),
            selectinload(LabOrder.items).selectinload(LabOrderItem.results),
        )
        .order_by(RANK, LabOrder.ordered_at, LabOrder.id)
        .limit(WORK_LIST_LIMIT)
    )
    if priority is not None:
        query = query.where(LabOrder.priority == priority)
    return db.session.scalars(query).unique().all()


def waiting_criticals(hospital_id: int) -> list[LabResult]:
    """The hospital's critical values not acknowledged yet, oldest first, with what the list shows."""
    item = joinedload(LabResult.item)
    return list(
        db.session.scalars(
            select(LabResult)
            .join(LabOrderItem, LabOrderItem.id == LabResult.item_id)
            .join(LabOrder, LabOrder.id == LabOrderItem.order_id)
            .where(
                LabOrder.hospital_id == hospital_id,
                LabResult.critical.is_(True),
                LabResult.acknowledged_at.is_(None),
            )
            .options(
                item.joinedload(LabOrderItem.test),
                item.joinedload(LabOrderItem.order).joinedload(LabOrder.patient).joinedload(Patient.user),
            )
            .order_by(LabResult.entered_at, LabResult.id)
            .limit(WORK_LIST_LIMIT)
        ).unique()
    )


def time_left(minutes: int) -> str:
    """ "1 h 05 min left" or "overdue by 20 min"."""
    span = abs(minutes)
    words = (
        gettext("%(hours)d h %(minutes)02d min", hours=span // 60, minutes=span % 60)
        if span >= 60
        else gettext("%(minutes)d min", minutes=span)
    )
    if minutes < 0:
        return gettext("overdue by %(time)s", time=words)
    return gettext("%(time)s left", time=words)


def _hospital():  # type: ignore[no-untyped-def]
    return current_user.staff.hospital


@bp.get("/lab")
@lab_only
def lab_work_list():
    state = query_args.choice("state", STATES, default="open")
    priority = query_args.enum_value("priority", LabPriority)
    statuses = OPEN if state == "open" else (LabOrderStatus(state),)
    now = clock.now()
    rows = []
    for order in work_orders(_hospital().id, statuses, priority):
        due = due_at(order)
        rows.append(WorkRow(order, due, int((due - now).total_seconds() // 60)))
    block = "lab_table" if query_args.flag("fragment", "table") and is_htmx() else None
    response = render(
        "staff/lab_work_list.html",
        block,
        hospital=_hospital(),
        rows=rows,
        criticals=waiting_criticals(_hospital().id),
        state=state,
        states=STATES,
        priority=priority,
        priorities=list(LabPriority)[::-1],
        time_left=time_left,
    )
    response.vary.add("HX-Request")
    return response


# ---------------------------------------------------------------- one order


# What an order's page and its label show, read with the order (the page read each item's test and
# results on its own).
_PAGE_OPTIONS = lab.order_loading(specimens=True)


def order_or_404(order_id: int, *, page: bool = False) -> LabOrder:
    """The order, if it is one of the technician's hospital (anything else reads as not there); with
    `page`, with everything its page shows."""
    order = db.session.get(LabOrder, order_id, options=_PAGE_OPTIONS if page else ())
    if order is None or not lab.can_see_order(current_user, order):
        db.session.rollback()
        record_event("view", "lab_order", order_id, outcome="denied")  # another hospital's patient unnamed
        db.session.commit()
        abort(404)
    return order


def _viewed(order: LabOrder) -> LabOrder:
    """Write the technician's look at the order's patient data to the audit log (what was read for the
    page stays loaded: the page shows it)."""
    record_event("view", "lab_order", order.id, patient_id=order.patient_id, hospital_id=order.hospital_id)
    commit_keeping_loaded()
    return order


def item_or_404(order: LabOrder, item_id: int) -> LabOrderItem:
    item = next((i for i in order.items if i.id == item_id), None)
    return item if item is not None else abort(404)


def _order_page(order: LabOrder, *, status: int = 200, **kwargs: Any) -> Response:
    """The order's page; `editing` (an item's id) with `form` shows that row as a form."""
    return render(
        TEMPLATE,
        status=status,
        order=order,
        hospital=order.hospital,
        lab=lab,
        user=current_user,
        button_form=EmptyForm(),
        due=due_at(order),
        **kwargs,
    )


def _item_response(order: LabOrder, item: LabOrderItem, *, status: int = 200, **kwargs: Any) -> Response:
    """One item's row, or its form (HTMX); the order's page with that row as it is (plain links and
    posts: a redirect once a change is saved)."""
    editing = item.id if kwargs.get("form") is not None else None
    if not is_htmx():
        if status == 200 and editing is None:
            return redirect_to(url_for("staff.lab_order", order_id=order.id))
        return _order_page(order, status=status, editing=editing, refused_item=item.id, **kwargs)
    return render(
        TEMPLATE,
        "item_edit" if editing else "item_row",
        status=status,
        order=order,
        item=item,
        hospital=order.hospital,
        lab=lab,
        user=current_user,
        button_form=EmptyForm(),
        editing=editing,
        refused_item=item.id,
        **kwargs,
    )


@bp.get("/lab/orders/<int:order_id>")
@lab_only
def lab_order(order_id: int):
    return _order_page(_viewed(order_or_404(order_id, page=True)))


@bp.post("/lab/orders/<int:order_id>/collect")
@lab_only
def lab_collect(order_id: int):
    order = order_or_404(order_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        lab.collect_specimen(order, current_user)
    except DomainError as error:
        db.session.rollback()
        return _order_page(order_or_404(order_id), status=error.status, error=error.message)
    db.session.commit()
    flash(N_("Specimen collected: print its label."), "success")
    return redirect_to(url_for("staff.lab_label", order_id=order.id))


@bp.get("/lab/orders/<int:order_id>/label")
@lab_only
def lab_label(order_id: int):
    order = order_or_404(order_id, page=True)
    if not order.specimens:
        return redirect_to(url_for("staff.lab_order", order_id=order.id))
    _viewed(order)
    return render("staff/lab_label.html", order=order, hospital=order.hospital)


@bp.get("/lab/orders/<int:order_id>/items/<int:item_id>")
@lab_only
def lab_item(order_id: int, item_id: int):
    order = order_or_404(order_id)
    return _item_response(order, item_or_404(order, item_id))


@bp.get("/lab/orders/<int:order_id>/items/<int:item_id>/edit")
@lab_only
def lab_item_edit(order_id: int, item_id: int):
    """The row as a form: a value to enter (or correct before verification), or an amendment."""
    order = order_or_404(order_id)
    item = item_or_404(order, item_id)
    if not (lab.can_enter_result(current_user, item) or lab.can_amend(current_user, item)):
        return _item_response(order, item, status=409, refusal=_why_not_editable(item))
    current = item.result.value if item.result else ""
    form = ResultForm(formdata=None, data={"value": current, "version": str(item.version)})
    return _item_response(order, item, form=form)


def _why_not_editable(item: LabOrderItem) -> str:
    if item.order.status == LabOrderStatus.cancelled:
        return gettext("This order was cancelled: no result can be entered.")
    if item.order.status == LabOrderStatus.ordered:
        return gettext("Collect the specimen before entering results.")
    if item.status.is_released:
        return gettext("Only the ordering doctor or a senior lab technician of this hospital can amend.")
    return gettext("This result cannot be changed now.")


def _save(order_id: int, item_id: int, change: Callable[[LabOrderItem, ResultForm], Any]) -> Response:
    """Validate the row's form, run `change`, commit; a refusal re-renders the row with the typed
    value and its status (422 for a bad value, 409 when the item changed or cannot change, or when a
    rule keeps this technician from it: a technician who is not senior amending a verified value)."""
    order = order_or_404(order_id)
    item = item_or_404(order, item_id)
    form = ResultForm()
    if not form.validate_on_submit():
        return _item_response(order, item, form=form, status=422)
    try:
        change(item, form)
    except DomainError as error:
        db.session.rollback()
        order = order_or_404(order_id)
        item = item_or_404(order, item_id)
        if isinstance(error, NotAllowed):
            return _item_response(order, item, status=409, refusal=error.message)
        attach_error(form, error)
        form.version.data = str(item.version)
        return _item_response(order, item, form=form, status=error.status, conflict=error.status == 409)
    db.session.commit()
    return _item_response(order, item)


@bp.post("/lab/orders/<int:order_id>/items/<int:item_id>")
@lab_only
def lab_item_save(order_id: int, item_id: int):
    return _save(
        order_id,
        item_id,
        lambda item, form: lab.enter_result(item, current_user, form.value.data, version=form.version_number),
    )


@bp.post("/lab/orders/<int:order_id>/items/<int:item_id>/amend")
@lab_only
def lab_item_amend(order_id: int, item_id: int):
    return _save(
        order_id,
        item_id,
        lambda item, form: lab.amend_result(
            item, current_user, form.value.data, form.reason.data or "", version=form.version_number
        ),
    )


def _button(
    order_id: int, item_id: int, action: Callable[[LabOrderItem], Any], *, refused: int = 403
) -> Response:
    """A state-changing button on a row (verify, acknowledge): the row again, or it with the refusal
    (`refused` is the status of a rule's NotAllowed: the same person verifying, or a technician who is
    not senior, is a 409, not a 403)."""
    order = order_or_404(order_id)
    item = item_or_404(order, item_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        action(item)
    except DomainError as error:
        db.session.rollback()
        order = order_or_404(order_id)
        item = item_or_404(order, item_id)
        status = refused if isinstance(error, NotAllowed) else error.status
        return _item_response(order, item, status=status, refusal=error.message)
    db.session.commit()
    return _item_response(order, item)


@bp.post("/lab/orders/<int:order_id>/items/<int:item_id>/verify")
@lab_only
def lab_item_verify(order_id: int, item_id: int):
    form = ResultForm()
    return _button(
        order_id,
        item_id,
        lambda item: lab.verify_result(item, current_user, version=form.version_number),
        refused=409,
    )


@bp.post("/lab/orders/<int:order_id>/items/<int:item_id>/acknowledge")
@lab_only
def lab_item_acknowledge(order_id: int, item_id: int):
    """Acknowledge the item's critical value, for whom hms.services.lab allows it."""

    def acknowledge(item: LabOrderItem) -> None:
        if item.result is None:
            raise Invalid(N_("This result is not critical."))
        lab.acknowledge_critical(item.result, current_user)

    return _button(order_id, item_id, acknowledge)
