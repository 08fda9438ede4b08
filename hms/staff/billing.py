"""The receptionist's billing desk: bills with items, desk payments, receipts, refunds to pay out.
Other staff (nurses, pharmacists, lab technicians) have no access to billing."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user

from hms.models import Hospital, StaffKind
from hms.payments import desk
from hms.staff.routes import bp

EP = "staff"


def receptionist_only(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user.staff is None or current_user.staff.kind != StaffKind.receptionist:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _hospital() -> Hospital:
    return current_user.staff.hospital


@bp.get("/bills")
@receptionist_only
def desk_bills():
    return desk.bills_page(_hospital(), EP)


@bp.route("/bills/new", methods=["GET", "POST"])
@receptionist_only
def desk_new_bill():
    return desk.new_bill(_hospital(), EP)


@bp.get("/bills/<int:bill_id>")
@receptionist_only
def desk_bill(bill_id: int):
    return desk.bill_page(_hospital(), EP, bill_id)


@bp.post("/bills/<int:bill_id>/items")
@receptionist_only
def desk_add_item(bill_id: int):
    return desk.add_item(_hospital(), EP, bill_id)


@bp.post("/bills/<int:bill_id>/items/<int:item_id>/delete")
@receptionist_only
def desk_remove_item(bill_id: int, item_id: int):
    return desk.remove_item(_hospital(), EP, bill_id, item_id)


@bp.post("/bills/<int:bill_id>/issue")
@receptionist_only
def desk_issue(bill_id: int):
    return desk.issue(_hospital(), EP, bill_id)


@bp.post("/bills/<int:bill_id>/cancel")
@receptionist_only
def desk_cancel(bill_id: int):
    return desk.cancel(_hospital(), EP, bill_id)


@bp.post("/bills/<int:bill_id>/payments")
@receptionist_only
def desk_payment(bill_id: int):
    return desk.record_payment(_hospital(), EP, bill_id)


@bp.get("/payments/<int:payment_id>/receipt.pdf")
@receptionist_only
def desk_receipt(payment_id: int):
    return desk.receipt(_hospital(), payment_id)


@bp.get("/refunds")
@receptionist_only
def desk_refunds():
    return desk.refunds_page(_hospital(), EP)


@bp.post("/refunds/<int:refund_id>/pay-out")
@receptionist_only
def desk_pay_out(refund_id: int):
    return desk.pay_out_refund(_hospital(), EP, refund_id)
