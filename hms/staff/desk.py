"""The receptionist's registration desk (views shared with the hospital administrator: hms/frontdesk)."""

from __future__ import annotations

from flask_login import current_user

from hms.frontdesk import views
from hms.staff.billing import receptionist_only
from hms.staff.routes import bp

EP = "staff"


@bp.get("/desk")
@receptionist_only
def front_desk():
    return views.desk_page(current_user.staff.hospital, EP)


@bp.route("/desk/register", methods=["GET", "POST"])
@receptionist_only
def desk_register():
    return views.register(current_user.staff.hospital, EP)


@bp.get("/desk/patients/<int:patient_id>")
@receptionist_only
def desk_patient(patient_id: int):
    return views.patient_page(current_user.staff.hospital, EP, patient_id)
