"""The hospital administrator's registration desk: the receptionist's pages (hms/frontdesk) for his."""

from __future__ import annotations

from flask import g

from hms.frontdesk import merges, views
from hms.hospital_admin.routes import bp

EP = "hospital_admin"


@bp.get("/desk")
def front_desk():
    return views.desk_page(g.hospital, EP)


@bp.route("/desk/register", methods=["GET", "POST"])
def desk_register():
    return views.register(g.hospital, EP)


@bp.get("/desk/patients/<int:patient_id>")
def desk_patient(patient_id: int):
    return merges.merged_redirect(g.hospital, EP, patient_id) or views.patient_page(
        g.hospital, EP, patient_id
    )


@bp.get("/desk/patients/<int:patient_id>/merge")
def desk_merge_pick(patient_id: int):
    return merges.pick(g.hospital, EP, patient_id)


@bp.route("/desk/patients/<int:patient_id>/merge/<int:other_id>", methods=["GET", "POST"])
def desk_merge(patient_id: int, other_id: int):
    return merges.confirm(g.hospital, EP, patient_id, other_id)


@bp.get("/desk/merges")
def desk_merges():
    return merges.merges_page(g.hospital, EP)


@bp.post("/desk/merges/<int:merge_id>/undo")
def desk_merge_undo(merge_id: int):
    return merges.undo(g.hospital, EP, merge_id)
