"""Inventory views, registered by hms/hospital_admin/inventory.py (the admin: items and every movement)
and hms/staff/inventory.py (pharmacists: receive and dispense). `ep` is the blueprint's name, so that
templates link within the right one; items are always looked up through the user's own hospital."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, abort, current_app, flash, url_for
from flask_babel import gettext as _
from flask_login import current_user

from hms import query as query_args
from hms.extensions import db
from hms.forms import submit
from hms.htmx import is_htmx, redirect_to, render, trigger
from hms.inventory.forms import AdjustForm, DispenseForm, EditItemForm, ItemForm, ReceiveForm, TransferForm
from hms.models import Hospital, InventoryItem, StockKind
from hms.services import inventory

# Movement kinds in URLs, and who may record them.
ADMIN_MOVES = ("receive", "dispense", "adjust", "transfer-out")
PHARMACIST_MOVES = ("receive", "dispense")


def allowed_moves(ep: str) -> tuple[str, ...]:
    return ADMIN_MOVES if ep == "hospital_admin" else PHARMACIST_MOVES


def _item(hospital: Hospital, item_id: int) -> InventoryItem:
    return inventory.hospital_item(hospital.id, item_id) or abort(404)


# --- The list of items ------------------------------------------------------------------------------


def items_page(hospital: Hospital, ep: str, form: ItemForm | None = None, status: int = 200) -> Response:
    query = query_args.text("q")
    kind = query_args.text("kind", 20)
    kind_filter = StockKind(kind) if kind in StockKind.__members__ else None
    listing = db.paginate(
        inventory.search_items(hospital.id, query, kind_filter),
        page=query_args.page(),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    block = "item_table" if query_args.flag("fragment", "table") else None
    if form is not None and form.is_submitted():
        block = "new_item"
    args = {k: v for k, v in (("q", query), ("kind", kind_filter.value if kind_filter else "")) if v}
    return render(
        "inventory/items.html",
        block,
        status=status,
        hospital=hospital,
        ep=ep,
        items=listing,
        query=query,
        kind=kind_filter,
        args=args,
        form=form or (ItemForm(formdata=None) if ep == "hospital_admin" else None),
        alerts=inventory.alert_counts(hospital)[0],
    )


def create_item(hospital: Hospital, ep: str) -> Response:
    form = ItemForm()
    result = submit(
        form,
        lambda: inventory.create_item(
            hospital,
            name=form.name.data,
            kind=StockKind(form.kind.data),
            unit=form.unit.data,
            reorder_level=form.reorder_level.data,
            actor=current_user,
        ),
    )
    if result.done:
        flash(_("%(name)s added. Receive its first stock here.", name=result.value.name), "success")
        return redirect_to(url_for(f"{ep}.inventory_item", item_id=result.value.id))
    return items_page(hospital, ep, form=form, status=422)


# --- One item ---------------------------------------------------------------------------------------


def _form(kind: str, item: InventoryItem, submitted: bool = False) -> Any:
    """The form of one movement kind: blank, or filled from the request. Batches offered: those in stock
    and those not expired yet (so that the list does not grow with every empty batch of past years)."""
    data: dict[str, Any] = {} if submitted else {"formdata": None}
    today = inventory.local_today(item.hospital)
    batches = [b for b in item.batches if b.on_hand > 0 or not b.is_expired(today)]
    if kind == "receive":
        return ReceiveForm(prefix="receive", **data)
    if kind == "dispense":
        return DispenseForm(prefix="dispense", **data)
    if kind == "adjust":
        return AdjustForm(batches, prefix="adjust", **data)
    return TransferForm(batches, prefix="transfer", **data)


def _forms(item: InventoryItem, ep: str, **given: Any) -> dict[str, Any]:
    """Blank forms for the movements `ep` may record, with `given` (a form with errors) in its place."""
    return {kind: given[kind] if kind in given else _form(kind, item) for kind in allowed_moves(ep)}


def _context(item: InventoryItem, ep: str, **extra: Any) -> dict[str, Any]:
    given = extra.pop("given", {})
    today = inventory.local_today(item.hospital)
    context = {
        "item": item,
        "hospital": item.hospital,
        "ep": ep,
        "is_admin": ep == "hospital_admin",
        "today": today,
        "batches": [b for b in item.batches if b.on_hand > 0],
        "soon": today + timedelta(days=inventory.EXPIRY_WARNING_DAYS),
        "forms": _forms(item, ep, **given),
        "edit_form": EditItemForm(obj=item, formdata=None) if ep == "hospital_admin" else None,
        "history": db.paginate(
            inventory.item_movements(item),
            page=query_args.page(),
            per_page=current_app.config["PAGE_SIZE"],
            error_out=False,
        ),
        "message": None,
    }
    context.update(extra)
    return context


def item_page(hospital: Hospital, ep: str, item_id: int) -> Response:
    item = _item(hospital, item_id)
    block = query_args.choice("fragment", ("history", "stock"))
    return render("inventory/item.html", block, **_context(item, ep))


def edit_item(hospital: Hospital, ep: str, item_id: int) -> Response:
    item = _item(hospital, item_id)
    form = EditItemForm()
    result = submit(
        form,
        lambda: inventory.update_item(
            item,
            name=form.name.data,
            unit=form.unit.data,
            reorder_level=form.reorder_level.data,
            active=form.active.data,
            actor=current_user,
        ),
    )
    item = _item(hospital, item_id)
    if not result.done:
        return render("inventory/item.html", "edit", status=422, **_context(item, ep, edit_form=form))
    message = _("Saved.") if result.value else _("Nothing changed.")
    if not is_htmx():
        flash(message, "success")
        return redirect_to(url_for(f"{ep}.inventory_item", item_id=item_id))
    edit_form = EditItemForm(obj=item, formdata=None)
    return render("inventory/item.html", "edit", **_context(item, ep, edit_form=edit_form, saved=message))


def _record(item: InventoryItem, kind: str, form: Any) -> str:
    """Call the service for one movement; the message to show when it worked."""
    if kind == "receive":
        movement = inventory.receive_stock(
            item,
            quantity=form.quantity.data,
            supplier=form.supplier.data,
            batch_number=form.batch_number.data,
            expiry_date=form.expiry_date.data,
            actor=current_user,
        )
        return _("Received %(n)s %(unit)s.", n=movement.quantity, unit=item.unit)
    if kind == "dispense":
        movements = inventory.dispense_stock(
            item, quantity=form.quantity.data, prescription_number=form.prescription.data, actor=current_user
        )
        return _("Dispensed %(n)s %(unit)s.", n=-sum(m.quantity for m in movements), unit=item.unit)
    if kind == "adjust":
        movement = inventory.adjust_stock(
            item,
            change=form.change.data,
            reason=form.reason.data,
            batch_id=form.batch.data,
            actor=current_user,
        )
        return _("Adjusted by %(n)+d %(unit)s.", n=movement.quantity, unit=item.unit)
    movements = inventory.transfer_out_stock(
        item,
        quantity=form.quantity.data,
        destination=form.destination.data,
        batch_id=form.batch.data,
        actor=current_user,
    )
    return _("Transferred out %(n)s %(unit)s.", n=-sum(m.quantity for m in movements), unit=item.unit)


def record_movement(hospital: Hospital, ep: str, item_id: int, kind: str) -> Response:
    if kind not in allowed_moves(ep):
        abort(403 if kind in ADMIN_MOVES else 404)
    item = _item(hospital, item_id)
    form = _form(kind, item, submitted=True)
    result = submit(form, lambda: _record(item, kind, form))
    if result.done and not is_htmx():
        flash(result.value, "success")
        return redirect_to(url_for(f"{ep}.inventory_item", item_id=item_id))
    item = _item(hospital, item_id)
    if not result.done:
        context = _context(item, ep, kind=kind, form=form, given={kind: form})
        return render("inventory/item.html", "move", status=result.status, **context)
    context = _context(item, ep, kind=kind, form=_form(kind, item), moved=kind, message=result.value)
    return trigger(render("inventory/item.html", "move", **context), "stockChanged")


# --- Alerts -----------------------------------------------------------------------------------------


def alerts_page(hospital: Hospital, ep: str) -> Response:
    return render(
        "inventory/alerts.html",
        hospital=hospital,
        ep=ep,
        low=db.session.scalars(inventory.low_stock(hospital.id).limit(200)).all(),
        expiring=db.session.execute(inventory.expiring_soon(hospital).limit(200)).all(),
        today=inventory.local_today(hospital),
        days=inventory.EXPIRY_WARNING_DAYS,
    )
