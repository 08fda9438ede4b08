"""The hospital administrator's inventory: items, every kind of stock movement, low-stock and expiry lists
(the views are shared with pharmacists: hms/inventory/views.py)."""

from __future__ import annotations

from flask import g

from hms.hospital_admin.routes import bp
from hms.inventory import views

EP = "hospital_admin"


@bp.get("/inventory")
def inventory():
    return views.items_page(g.hospital, EP)


@bp.post("/inventory")
def inventory_create():
    return views.create_item(g.hospital, EP)


@bp.get("/inventory/alerts")
def inventory_alerts():
    return views.alerts_page(g.hospital, EP)


@bp.get("/inventory/<int:item_id>")
def inventory_item(item_id: int):
    return views.item_page(g.hospital, EP, item_id)


@bp.post("/inventory/<int:item_id>")
def inventory_edit(item_id: int):
    return views.edit_item(g.hospital, EP, item_id)


@bp.post("/inventory/<int:item_id>/<any(receive, dispense, adjust, 'transfer-out'):kind>")
def inventory_move(item_id: int, kind: str):
    return views.record_movement(g.hospital, EP, item_id, kind)
