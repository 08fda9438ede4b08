"""Patient pages for clinical records: my medical history (add, edit, remove my own entries), my
visits with diagnoses and prescriptions (PDF), and who looked at or changed my records."""

from __future__ import annotations

from flask import abort, flash, make_response, url_for
from flask_login import current_user
from sqlalchemy import select

from hms import query as query_args
from hms.clinical_forms import HistoryForm
from hms.extensions import db
from hms.forms import EmptyForm, attach_error
from hms.history_views import edit_history_entry, save_history_entry
from hms.htmx import is_htmx, redirect_to, render
from hms.i18n import N_
from hms.lab_timeline import orders_by_encounter
from hms.models import MedicalHistoryEntry, Patient, Prescription, PrescriptionStatus
from hms.patient.admissions import by_encounter as admissions_by_encounter
from hms.patient.routes import bp
from hms.services import clinical, triage
from hms.services.errors import DomainError, NotAllowed
from hms.services.prescription_pdf import prescription_pdf

ENCOUNTERS_PER_PAGE = 10
VITALS_SHOWN = 5  # the latest vital signs (a nurse's triage) above the visits
ACCESS_PER_PAGE = 30


def _patient() -> Patient:
    return current_user.patient


def _entry_or_404(entry_id: int) -> MedicalHistoryEntry:
    entry = db.session.get(MedicalHistoryEntry, entry_id)
    if entry is None or entry.patient_id != _patient().id or entry.removed_at is not None:
        abort(404)
    return entry


def _history_urls(entry: MedicalHistoryEntry) -> dict[str, str]:
    return {
        "edit": url_for("patient.edit_history", entry_id=entry.id),
        "show": url_for("patient.history_entry", entry_id=entry.id),
        "save": url_for("patient.save_history", entry_id=entry.id),
        "remove": url_for("patient.remove_history", entry_id=entry.id),
        "page": url_for("patient.records"),
    }


def _records_page(*, block: str | None = None, status: int = 200, form: HistoryForm | None = None, **extra):  # type: ignore[no-untyped-def]
    patient = _patient()
    if block is None and status == 200:
        clinical.audit("view", "medical_history", None, patient_id=patient.id)
        db.session.commit()
    return render(
        "patient/records.html",
        block,
        status=status,
        patient=patient,
        history=clinical.history_by_kind(patient.id),
        form=form or HistoryForm(formdata=None),
        button_form=EmptyForm(),
        history_urls=_history_urls,
        **extra,
    )


@bp.get("/records")
def records():
    return _records_page()


@bp.post("/records/history")
def add_history():
    form = HistoryForm()
    block = "history" if is_htmx() else None
    if form.validate_on_submit():
        try:
            clinical.add_history_entry(_patient(), current_user, form.values())
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            if not is_htmx():
                flash(N_("Added to your medical history."), "success")
                return redirect_to(url_for("patient.records"))
            return _records_page(block=block, message=N_("Added to your medical history."))
    return _records_page(block=block, status=422, form=form)


def _entry_response(entry: MedicalHistoryEntry, *, editing: bool = False, status: int = 200, **extra):  # type: ignore[no-untyped-def]
    if is_htmx():
        return render(
            "patient/records.html",
            "entry_edit" if editing else "entry",
            status=status,
            entry=entry,
            button_form=EmptyForm(),
            history_urls=_history_urls,
            **extra,
        )
    return _records_page(status=status, editing=entry.id if editing else None, **extra)


@bp.get("/records/history/<int:entry_id>")
def history_entry(entry_id: int):
    entry = _entry_or_404(entry_id)
    if not is_htmx():
        return redirect_to(url_for("patient.records"))
    return _entry_response(entry)


@bp.get("/records/history/<int:entry_id>/edit")
def edit_history(entry_id: int):
    return edit_history_entry(_entry_or_404(entry_id), _entry_response)


@bp.post("/records/history/<int:entry_id>")
def save_history(entry_id: int):
    return save_history_entry(
        _entry_or_404(entry_id),
        _entry_response,
        reload=lambda: _entry_or_404(entry_id),
        page_url=url_for("patient.records"),
    )


@bp.post("/records/history/<int:entry_id>/delete")
def remove_history(entry_id: int):
    entry = _entry_or_404(entry_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        clinical.remove_history_entry(entry, current_user)
    except NotAllowed:
        db.session.rollback()
        abort(403)
    db.session.commit()
    if not is_htmx():
        flash(N_("Removed from your medical history."), "success")
        return redirect_to(url_for("patient.records"))
    return _records_page(block="history", message=N_("Removed from your medical history."))


@bp.get("/encounters")
def encounters():
    patient = _patient()
    page = query_args.page()
    total = clinical.count_encounters(patient.id)
    clinical.audit("view", "encounter", None, patient_id=patient.id, detail=f"list page {page}")
    db.session.commit()
    encounters = clinical.patient_encounters(
        patient.id, limit=ENCOUNTERS_PER_PAGE, offset=(page - 1) * ENCOUNTERS_PER_PAGE
    )
    return render(
        "patient/encounters.html",
        encounters=encounters,
        lab_orders=orders_by_encounter([e.id for e in encounters]),
        admissions=admissions_by_encounter([e.id for e in encounters]),
        page=page,
        pages=max((total + ENCOUNTERS_PER_PAGE - 1) // ENCOUNTERS_PER_PAGE, 1),
        vital_signs=triage.patient_vitals(patient.id, limit=VITALS_SHOWN) if page == 1 else [],
    )


@bp.get("/prescriptions/<int:prescription_id>.pdf")
def prescription_download(prescription_id: int):
    prescription = db.session.scalar(
        select(Prescription).where(
            Prescription.id == prescription_id,
            Prescription.patient_id == _patient().id,
            Prescription.status != PrescriptionStatus.draft,
        )
    )
    if prescription is None:
        abort(404)
    body = prescription_pdf(prescription)
    clinical.audit(
        "download",
        "prescription",
        prescription.id,
        patient_id=prescription.patient_id,
        hospital_id=prescription.hospital_id,
    )
    db.session.commit()
    response = make_response(body)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{prescription.number}.pdf"'
    return response


@bp.get("/record-access")
def record_access():
    page = query_args.page()
    events, total = clinical.record_access_log(_patient().id, page=page, per_page=ACCESS_PER_PAGE)
    return render(
        "patient/record_access.html",
        events=events,
        page=page,
        pages=max((total + ACCESS_PER_PAGE - 1) // ACCESS_PER_PAGE, 1),
    )
