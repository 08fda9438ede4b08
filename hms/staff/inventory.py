"""The pharmacist's inventory: find items, receive and dispense stock at his hospital, see what runs low
or expires soon. Other staff have no access (the views are shared: hms/inventory/views.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user

from hms.inventory import views
from hms.models import Hospital, StaffKind
from hms.staff.routes import bp

EP = "staff"


def pharmacist_only(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user.staff is None or current_user.staff.kind != StaffKind.pharmacist:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _hospital() -> Hospital:
    hospital = current_user.staff.hospital
    if not hospital.is_active:
        abort(403)
    return hospital


@bp.get("/inventory")
@pharmacist_only
def inventory():
    return views.items_page(_hospital(), EP)


@bp.get("/inventory/alerts")
@pharmacist_only
def inventory_alerts():
    return views.alerts_page(_hospital(), EP)


@bp.get("/inventory/<int:item_id>")
@pharmacist_only
def inventory_item(item_id: int):
    return views.item_page(_hospital(), EP, item_id)


@bp.post("/inventory/<int:item_id>/<any(receive, dispense, adjust, 'transfer-out'):kind>")
@pharmacist_only
def inventory_move(item_id: int, kind: str):
    return views.record_movement(_hospital(), EP, item_id, kind)
