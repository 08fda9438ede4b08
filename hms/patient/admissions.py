"""The patient's hospital stays: his admissions (newest first), one stay's discharge summary once his
doctor has written it, and the summary as a PDF. Another patient's admission is a 404."""

from __future__ import annotations

from collections import defaultdict

from flask import abort
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from hms.extensions import db
from hms.htmx import render
from hms.models import Admission, AdmissionStatus
from hms.patient.routes import bp
from hms.services import clinical, inpatient
from hms.ward.admission import pdf_response


def by_encounter(encounter_ids: list[int]) -> dict[int, list[Admission]]:
    """The admissions (but the cancelled orders) made from these visits, for the visits' timeline: one
    statement for a page of visits."""
    found: dict[int, list[Admission]] = defaultdict(list)
    if encounter_ids:
        for admission in db.session.scalars(
            select(Admission)
            .where(Admission.encounter_id.in_(encounter_ids), Admission.status != AdmissionStatus.cancelled)
            .options(joinedload(Admission.hospital))
            .order_by(Admission.id)
        ):
            found[admission.encounter_id].append(admission)  # type: ignore[index]
    return found


def _own_or_404(admission_id: int) -> Admission:
    admission = inpatient.admission_detail(admission_id)
    if admission is None or admission.patient_id != current_user.patient.id:
        abort(404)
    return admission


@bp.get("/admissions")
def admissions():
    patient = current_user.patient
    response = render("patient/admissions.html", admissions=inpatient.patient_admissions(patient.id))
    clinical.audit("view", "admission", None, patient_id=patient.id, detail="admissions list")
    db.session.commit()
    return response


@bp.get("/admissions/<int:admission_id>")
def admission(admission_id: int):
    admission = _own_or_404(admission_id)
    response = render(
        "patient/admission.html",
        admission=admission,
        tz=admission.hospital.timezone,
        prescriptions=clinical.admission_prescriptions_for_patient(admission.id),
        bills=inpatient.stay_bills(admission),
    )
    clinical.audit(
        "view", "admission", admission.id, patient_id=admission.patient_id, hospital_id=admission.hospital_id
    )
    db.session.commit()
    return response


@bp.get("/admissions/<int:admission_id>.pdf")
def admission_pdf(admission_id: int):
    admission = _own_or_404(admission_id)
    if admission.discharge_ordered_at is None:
        abort(404)
    return pdf_response(admission)
