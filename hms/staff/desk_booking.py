"""The receptionist's phone bookings and claim invitations (hms/frontdesk/booking.py, claims.py)."""

from __future__ import annotations

from flask_login import current_user

from hms.frontdesk import booking as views
from hms.frontdesk import claims
from hms.staff.billing import receptionist_only
from hms.staff.routes import bp

EP = "staff"


@bp.get("/desk/patients/<int:patient_id>/book")
@receptionist_only
def desk_choose_doctor(patient_id: int):
    return views.choose_doctor(current_user.staff.hospital, EP, patient_id)


@bp.get("/desk/patients/<int:patient_id>/book/<int:doctor_id>")
@receptionist_only
def desk_book(patient_id: int, doctor_id: int):
    return views.picker(current_user.staff.hospital, EP, patient_id, doctor_id)


@bp.post("/desk/patients/<int:patient_id>/book/<int:doctor_id>")
@receptionist_only
def desk_book_post(patient_id: int, doctor_id: int):
    return views.book(current_user.staff.hospital, EP, patient_id, doctor_id)


@bp.route("/desk/patients/<int:patient_id>/visits/<int:appointment_id>/move", methods=["GET", "POST"])
@receptionist_only
def desk_move(patient_id: int, appointment_id: int):
    return views.move(current_user.staff.hospital, EP, patient_id, appointment_id)


@bp.route("/desk/patients/<int:patient_id>/visits/<int:appointment_id>/cancel", methods=["GET", "POST"])
@receptionist_only
def desk_cancel_visit(patient_id: int, appointment_id: int):
    return views.cancel(current_user.staff.hospital, EP, patient_id, appointment_id)


@bp.post("/desk/patients/<int:patient_id>/invite")
@receptionist_only
def desk_invite(patient_id: int):
    return claims.send_invitation(current_user.staff.hospital, EP, patient_id)
