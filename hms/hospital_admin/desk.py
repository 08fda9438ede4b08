"""The hospital administrator's registration desk: the receptionist's pages (hms/frontdesk) for his."""

from __future__ import annotations

from flask import g

from hms.frontdesk import views
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
    return views.patient_page(g.hospital, EP, patient_id)
