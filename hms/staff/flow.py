"""The flow board for receptionists and nurses, today's arrivals and walk-ins for receptionists (views
shared with the hospital administrator: hms/frontdesk/flow.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user

from hms.frontdesk import flow as views
from hms.models import StaffKind
from hms.staff.billing import receptionist_only
from hms.staff.routes import bp

EP = "staff"
FLOW_KINDS = (StaffKind.receptionist, StaffKind.nurse)


def flow_staff_only(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user.staff is None or current_user.staff.kind not in FLOW_KINDS:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


@bp.get("/flow")
@flow_staff_only
def flow_board():
    return views.board_page(current_user.staff.hospital, EP)


@bp.get("/flow/board")
@flow_staff_only
def flow_board_fragment():
    return views.board_fragment(current_user.staff.hospital, EP)


@bp.post("/flow/<int:entry_id>/move")
@flow_staff_only
def flow_move(entry_id: int):
    return views.move(current_user.staff.hospital, EP, entry_id)


@bp.get("/arrivals")
@receptionist_only
def arrivals():
    return views.arrivals_page(current_user.staff.hospital, EP)


@bp.post("/arrivals/<int:appointment_id>/check-in")
@receptionist_only
def check_in(appointment_id: int):
    return views.check_in(current_user.staff.hospital, EP, appointment_id)


@bp.route("/desk/patients/<int:patient_id>/walk-in", methods=["GET", "POST"])
@receptionist_only
def desk_walk_in(patient_id: int):
    return views.walk_in(current_user.staff.hospital, EP, patient_id)
