"""The receptionist's registration desk (views shared with the hospital administrator: hms/frontdesk)."""

from __future__ import annotations

from flask_login import current_user

from hms.frontdesk import merges, views
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
    return merges.merged_redirect(current_user.staff.hospital, EP, patient_id) or views.patient_page(
        current_user.staff.hospital, EP, patient_id
    )


@bp.get("/desk/patients/<int:patient_id>/merge")
@receptionist_only
def desk_merge_pick(patient_id: int):
    return merges.pick(current_user.staff.hospital, EP, patient_id)


@bp.route("/desk/patients/<int:patient_id>/merge/<int:other_id>", methods=["GET", "POST"])
@receptionist_only
def desk_merge(patient_id: int, other_id: int):
    return merges.confirm(current_user.staff.hospital, EP, patient_id, other_id)
