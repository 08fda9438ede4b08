"""The hospital admin's phone bookings and claim invitations at the desk: the receptionist's views."""

from __future__ import annotations

from flask import g

from hms.frontdesk import booking as views
from hms.frontdesk import claims
from hms.hospital_admin.routes import bp

EP = "hospital_admin"


@bp.get("/desk/patients/<int:patient_id>/book")
def desk_choose_doctor(patient_id: int):
    return views.choose_doctor(g.hospital, EP, patient_id)


@bp.get("/desk/patients/<int:patient_id>/book/<int:doctor_id>")
def desk_book(patient_id: int, doctor_id: int):
    return views.picker(g.hospital, EP, patient_id, doctor_id)


@bp.post("/desk/patients/<int:patient_id>/book/<int:doctor_id>")
def desk_book_post(patient_id: int, doctor_id: int):
    return views.book(g.hospital, EP, patient_id, doctor_id)


@bp.route("/desk/patients/<int:patient_id>/visits/<int:appointment_id>/move", methods=["GET", "POST"])
def desk_move(patient_id: int, appointment_id: int):
    return views.move(g.hospital, EP, patient_id, appointment_id)


@bp.route("/desk/patients/<int:patient_id>/visits/<int:appointment_id>/cancel", methods=["GET", "POST"])
def desk_cancel_visit(patient_id: int, appointment_id: int):
    return views.cancel(g.hospital, EP, patient_id, appointment_id)


@bp.post("/desk/patients/<int:patient_id>/invite")
def desk_invite(patient_id: int):
    return claims.send_invitation(g.hospital, EP, patient_id)
