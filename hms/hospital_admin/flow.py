"""The hospital administrator's flow board, arrivals and walk-ins: the staff's pages (hms/frontdesk/flow.py)
for his hospital."""

from __future__ import annotations

from flask import g

from hms.frontdesk import flow as views
from hms.hospital_admin.routes import bp

EP = "hospital_admin"


@bp.get("/flow")
def flow_board():
    return views.board_page(g.hospital, EP)


@bp.get("/flow/board")
def flow_board_fragment():
    return views.board_fragment(g.hospital, EP)


@bp.post("/flow/<int:entry_id>/move")
def flow_move(entry_id: int):
    return views.move(g.hospital, EP, entry_id)


@bp.get("/arrivals")
def arrivals():
    return views.arrivals_page(g.hospital, EP)


@bp.post("/arrivals/<int:appointment_id>/check-in")
def check_in(appointment_id: int):
    return views.check_in(g.hospital, EP, appointment_id)


@bp.route("/desk/patients/<int:patient_id>/walk-in", methods=["GET", "POST"])
def desk_walk_in(patient_id: int):
    return views.walk_in(g.hospital, EP, patient_id)


@bp.route("/flow/display", methods=["GET", "POST"])
def wall_display():
    from hms.frontdesk import display

    return display.manage_page(g.hospital)
