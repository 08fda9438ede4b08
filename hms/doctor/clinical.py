"""Doctor pages for clinical records: my patients, a patient's timeline, the visit record (encounter)
with vitals and ICD-10 diagnoses, and prescriptions edited inline.

Every object in a URL is looked up through the doctor's scope: patients by the access rule
(`clinical.patient_for_doctor`), encounters and prescriptions by being his own. A miss is a 404 and
is written to the audit log as a denied attempt."""

from __future__ import annotations

from typing import NoReturn

from flask import Response, abort, flash, make_response, request, url_for
from flask_babel import gettext
from flask_login import current_user

from hms import clock
from hms import query as query_args
from hms.clinical_forms import (
    CancelPrescriptionForm,
    DiagnosisForm,
    EncounterForm,
    HistoryForm,
    ItemForm,
    NoteForm,
    PatientSearchForm,
)
from hms.database import commit_keeping_loaded
from hms.doctor import lab_section
from hms.doctor.routes import bp
from hms.extensions import db
from hms.forms import EmptyForm, attach_error
from hms.history_views import edit_history_entry, save_history_entry
from hms.htmx import is_htmx, redirect_to, render
from hms.i18n import N_
from hms.lab_timeline import orders_by_encounter
from hms.models import (
    Appointment,
    Diagnosis,
    Doctor,
    Encounter,
    MedicalHistoryEntry,
    Patient,
    Prescription,
    PrescriptionItem,
)
from hms.services import clinical, triage
from hms.services.errors import DomainError, NotAllowed
from hms.services.prescription_pdf import prescription_pdf

PER_PAGE = 20
ENCOUNTERS_PER_PAGE = 10


def _doctor() -> Doctor:
    return current_user.doctor


def _deny(record_type: str, record_id: int, patient_id: int | None = None) -> NoReturn:
    """Record a refused look-up and answer 404 (the same as for an id that does not exist)."""
    db.session.rollback()
    if patient_id is not None and db.session.get(Patient, patient_id) is None:
        patient_id = None
    clinical.audit("view", record_type, record_id, patient_id=patient_id, outcome="denied")
    db.session.commit()
    abort(404)


def _patient_or_404(patient_id: int) -> Patient:
    patient = clinical.patient_for_doctor(_doctor(), patient_id)
    if patient is None:
        _deny("patient_record", patient_id, patient_id)
    return patient


def _encounter_or_404(encounter_id: int) -> Encounter:
    encounter = db.session.get(Encounter, encounter_id)
    if encounter is None or encounter.doctor_id != _doctor().id:
        _deny("encounter", encounter_id, encounter.patient_id if encounter else None)
    return encounter


def _prescription_or_404(prescription_id: int, *, read: bool = False) -> Prescription:
    """The doctor's own prescription; with `read`, also one he may only read (written on the ward
    for an admission he treats: `clinical.can_read_prescription`)."""
    prescription = db.session.get(Prescription, prescription_id)
    if prescription is None or not (
        prescription.doctor_id == _doctor().id
        or (read and clinical.can_read_prescription(_doctor(), prescription))
    ):
        _deny("prescription", prescription_id, prescription.patient_id if prescription else None)
    return prescription


def _item_or_404(prescription: Prescription, item_id: int) -> PrescriptionItem:
    item = db.session.get(PrescriptionItem, item_id)
    if item is None or item.prescription_id != prescription.id:
        abort(404)
    return item


def _refuse(error: DomainError) -> None:
    """A NotAllowed is a 403 page; other domain errors are shown by the caller."""
    db.session.rollback()
    if isinstance(error, NotAllowed):
        abort(403)


# ---------------------------------------------------------------- my patients


@bp.get("/patients")
def patients():
    form = PatientSearchForm(query_args.cleaned())
    form.validate()
    page = query_args.page()
    rows, total = clinical.find_patients(
        _doctor(),
        text=form.q.data or "",
        born=None if form.born.errors else form.born.data,
        page=page,
        per_page=PER_PAGE,
    )
    return render(
        "doctor/patients.html",
        "results",
        form=form,
        rows=rows,
        total=total,
        page=page,
        pages=max((total + PER_PAGE - 1) // PER_PAGE, 1),
        today=[] if is_htmx() else clinical.todays_appointments(_doctor()),
        open_form=EmptyForm(),
        now=clock.now(),
    )


def _history_urls(entry: MedicalHistoryEntry) -> dict[str, str]:
    ids = {"patient_id": entry.patient_id, "entry_id": entry.id}
    return {
        "edit": url_for("doctor.edit_patient_history", **ids),
        "show": url_for("doctor.patient_history_entry", **ids),
        "save": url_for("doctor.save_patient_history", **ids),
        "remove": url_for("doctor.remove_patient_history", **ids),
        "page": url_for("doctor.patient_record", patient_id=entry.patient_id) + f"#entry-{entry.id}",
    }


def _record_page(
    patient: Patient, *, history_form: HistoryForm | None = None, status: int = 200, block=None, **extra
):  # type: ignore[no-untyped-def]
    page = query_args.page()
    total = clinical.count_encounters(patient.id)
    encounters = clinical.patient_encounters(
        patient.id, limit=ENCOUNTERS_PER_PAGE, offset=(page - 1) * ENCOUNTERS_PER_PAGE
    )
    if block is None:
        clinical.audit("view", "patient_record", patient.id, patient_id=patient.id)
        db.session.commit()
    return render(
        "doctor/patient_record.html",
        block,
        status=status,
        patient=patient,
        history=clinical.history_by_kind(patient.id),
        history_form=history_form or HistoryForm(formdata=None),
        encounters=encounters,
        lab_orders=orders_by_encounter([e.id for e in encounters]) if block is None else {},
        page=page,
        pages=max((total + ENCOUNTERS_PER_PAGE - 1) // ENCOUNTERS_PER_PAGE, 1),
        today=clock.now().date(),
        remove_form=EmptyForm(),
        history_urls=_history_urls,
        vital_signs=triage.patient_vitals(patient.id, limit=5) if block is None and page == 1 else [],
        **extra,
    )


@bp.get("/patients/<int:patient_id>")
def patient_record(patient_id: int):
    return _record_page(_patient_or_404(patient_id))


@bp.post("/patients/<int:patient_id>/history")
def add_patient_history(patient_id: int):
    patient = _patient_or_404(patient_id)
    form = HistoryForm()
    if form.validate_on_submit():
        try:
            clinical.add_history_entry(patient, current_user, form.values())
        except DomainError as error:
            _refuse(error)
            attach_error(form, error)
        else:
            db.session.commit()
            if not is_htmx():
                flash(N_("Added to the medical history."), "success")
                return redirect_to(url_for("doctor.patient_record", patient_id=patient.id))
            return _record_page(patient, block="history")
    return _record_page(patient, history_form=form, status=422, block="history" if is_htmx() else None)


def _history_entry_or_404(patient: Patient, entry_id: int) -> MedicalHistoryEntry:
    entry = db.session.get(MedicalHistoryEntry, entry_id)
    if entry is None or entry.patient_id != patient.id or entry.removed_at is not None:
        abort(404)
    return entry


def _history_entry_response(entry: MedicalHistoryEntry, *, editing: bool = False, status: int = 200, **extra):  # type: ignore[no-untyped-def]
    if is_htmx():
        block = "entry_edit" if editing else "entry"
        return render(
            "doctor/patient_record.html",
            block,
            status=status,
            entry=entry,
            history_urls=_history_urls,
            **extra,
        )
    return _record_page(entry.patient, status=status, editing=entry.id if editing else None, **extra)


@bp.get("/patients/<int:patient_id>/history/<int:entry_id>")
def patient_history_entry(patient_id: int, entry_id: int):
    entry = _history_entry_or_404(_patient_or_404(patient_id), entry_id)
    if not is_htmx():
        return redirect_to(url_for("doctor.patient_record", patient_id=patient_id))
    return _history_entry_response(entry)


@bp.get("/patients/<int:patient_id>/history/<int:entry_id>/edit")
def edit_patient_history(patient_id: int, entry_id: int):
    entry = _history_entry_or_404(_patient_or_404(patient_id), entry_id)
    return edit_history_entry(entry, _history_entry_response)


@bp.post("/patients/<int:patient_id>/history/<int:entry_id>")
def save_patient_history(patient_id: int, entry_id: int):
    patient = _patient_or_404(patient_id)
    return save_history_entry(
        _history_entry_or_404(patient, entry_id),
        _history_entry_response,
        reload=lambda: _history_entry_or_404(patient, entry_id),
        page_url=url_for("doctor.patient_record", patient_id=patient_id),
    )


@bp.post("/patients/<int:patient_id>/history/<int:entry_id>/delete")
def remove_patient_history(patient_id: int, entry_id: int):
    patient = _patient_or_404(patient_id)
    entry = _history_entry_or_404(patient, entry_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        clinical.remove_history_entry(entry, current_user)
    except DomainError as error:
        _refuse(error)
        abort(409)
    db.session.commit()
    if not is_htmx():
        flash(N_("Removed from the medical history."), "success")
        return redirect_to(url_for("doctor.patient_record", patient_id=patient.id))
    return _record_page(patient, block="history")


# ---------------------------------------------------------------- encounters


def _own_appointment(appointment_id: int) -> Appointment:
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.doctor_id != _doctor().id:
        abort(404)
    return appointment


@bp.get("/appointments/<int:appointment_id>/encounter")
def appointment_encounter(appointment_id: int):
    """Where an agenda links to: the visit record, or a button that starts it."""
    appointment = _own_appointment(appointment_id)
    encounter = clinical.encounter_for_appointment(appointment.id)
    if encounter is not None:
        return redirect_to(url_for("doctor.encounter", encounter_id=encounter.id))
    return render(
        "doctor/encounter_start.html",
        appointment=appointment,
        can_open=clinical.can_open_encounter(appointment),
        form=EmptyForm(),
    )


@bp.post("/appointments/<int:appointment_id>/encounter")
def open_encounter(appointment_id: int):
    appointment = _own_appointment(appointment_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        encounter = clinical.open_encounter(appointment, _doctor())
    except DomainError as error:
        _refuse(error)
        flash(error.message, "error")
        return redirect_to(url_for("doctor.appointment_encounter", appointment_id=appointment.id))
    db.session.commit()
    return redirect_to(url_for("doctor.encounter", encounter_id=encounter.id))


def _encounter_page(
    encounter: Encounter,
    *,
    block: str | None = None,
    status: int = 200,
    form: EncounterForm | None = None,
    diagnosis_form: DiagnosisForm | None = None,
    conflict: Encounter | None = None,
    saved: bool = False,
    query: str = "",
    lab: dict | None = None,
) -> Response:
    if block is None and status == 200:
        clinical.audit(
            "view",
            "encounter",
            encounter.id,
            patient_id=encounter.patient_id,
            hospital_id=encounter.hospital_id,
        )
        db.session.commit()
    return render(
        "doctor/encounter.html",
        block,
        status=status,
        encounter=encounter,
        appointment=encounter.appointment,
        patient=encounter.patient,
        form=form or EncounterForm(formdata=None, obj=encounter),
        diagnosis_form=diagnosis_form or DiagnosisForm(formdata=None),
        conflict=conflict,
        saved=saved,
        query=query,
        results=clinical.search_icd10(query) if query else [],
        remove_form=EmptyForm(),
        triage=triage.latest_for_appointment(encounter.appointment_id) if block is None else None,
        **(lab or (lab_section.context(encounter) if block is None or not is_htmx() else {})),
    )


@bp.get("/encounters/<int:encounter_id>")
def encounter(encounter_id: int):
    return _encounter_page(_encounter_or_404(encounter_id))


@bp.post("/encounters/<int:encounter_id>")
def save_encounter(encounter_id: int):
    encounter = _encounter_or_404(encounter_id)
    form = EncounterForm()
    block = "encounter_form" if is_htmx() else None
    if not form.validate_on_submit():
        return _encounter_page(encounter, block=block, status=422, form=form)
    try:
        clinical.update_encounter(encounter, _doctor(), form.values(), form.version_number)
    except clinical.StaleRecord:
        db.session.rollback()
        current = db.session.get(Encounter, encounter_id)
        form.version.data = str(current.version)
        return _encounter_page(current, block=block, status=409, form=form, conflict=current)
    except DomainError as error:
        _refuse(error)
        attach_error(form, error)
        return _encounter_page(encounter, block=block, status=422, form=form)
    db.session.commit()
    if not is_htmx():
        flash(N_("Visit record saved."), "success")
        return redirect_to(url_for("doctor.encounter", encounter_id=encounter.id))
    return _encounter_page(encounter, block=block, saved=True)


@bp.get("/encounters/<int:encounter_id>/icd10")
def search_icd10(encounter_id: int):
    encounter = _encounter_or_404(encounter_id)
    query = query_args.text("q", 60)
    return _encounter_page(encounter, block="icd_results" if is_htmx() else None, query=query)


@bp.post("/encounters/<int:encounter_id>/diagnoses")
def add_diagnosis(encounter_id: int):
    encounter = _encounter_or_404(encounter_id)
    form = DiagnosisForm()
    block = "diagnoses" if is_htmx() else None
    if form.validate_on_submit():
        try:
            clinical.add_diagnosis(encounter, _doctor(), form.code.data, form.text.data or "")
        except DomainError as error:
            _refuse(error)
            attach_error(form, error)
        else:
            db.session.commit()
            if not is_htmx():
                return redirect_to(url_for("doctor.encounter", encounter_id=encounter.id))
            return _encounter_page(encounter, block=block)
    return _encounter_page(encounter, block=block, status=422, diagnosis_form=form)


@bp.post("/encounters/<int:encounter_id>/diagnoses/<int:diagnosis_id>/delete")
def remove_diagnosis(encounter_id: int, diagnosis_id: int):
    encounter = _encounter_or_404(encounter_id)
    diagnosis = db.session.get(Diagnosis, diagnosis_id)
    if diagnosis is None or diagnosis.encounter_id != encounter.id:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    clinical.remove_diagnosis(diagnosis, _doctor())
    db.session.commit()
    if not is_htmx():
        return redirect_to(url_for("doctor.encounter", encounter_id=encounter.id))
    return _encounter_page(encounter, block="diagnoses")


@bp.post("/encounters/<int:encounter_id>/prescriptions")
def start_prescription(encounter_id: int):
    encounter = _encounter_or_404(encounter_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    prescription = clinical.start_prescription(encounter, _doctor())
    db.session.commit()
    return redirect_to(url_for("doctor.prescription", prescription_id=prescription.id))


# ---------------------------------------------------------------- prescriptions


def _prescription_page(
    prescription: Prescription,
    *,
    block: str | None = None,
    status: int = 200,
    item_form: ItemForm | None = None,
    note_form: NoteForm | None = None,
    cancel_form: CancelPrescriptionForm | None = None,
    editing: int | None = None,
    edit_form: ItemForm | None = None,
    conflict: PrescriptionItem | None = None,
    message: str | None = None,
) -> Response:
    if block is None and status == 200:
        clinical.audit(
            "view",
            "prescription",
            prescription.id,
            patient_id=prescription.patient_id,
            hospital_id=prescription.hospital_id,
        )
        commit_keeping_loaded()  # the page shows what was read
    return render(
        "doctor/prescription.html",
        block,
        status=status,
        prescription=prescription,
        encounter=prescription.encounter,
        admission=prescription.admission,
        can_edit=prescription.doctor_id == _doctor().id,
        patient=prescription.patient,
        item_form=item_form or ItemForm(formdata=None),
        note_form=note_form or NoteForm(formdata=None, obj=prescription),
        cancel_form=cancel_form or CancelPrescriptionForm(formdata=None),
        editing=editing,
        edit_form=edit_form,
        conflict=conflict,
        message=message,
        revision=None if prescription.is_draft else clinical.draft_revision(prescription),
        button_form=EmptyForm(),
    )


def _item_response(prescription: Prescription, item: PrescriptionItem, **kwargs) -> Response:
    """One item row (HTMX) or the page with that row (plain posts and links)."""
    if is_htmx():
        block = "item_edit" if kwargs.get("editing") else "item_row"
        return render(
            "doctor/prescription.html",
            block,
            status=kwargs.pop("status", 200),
            prescription=prescription,
            item=item,
            button_form=EmptyForm(),
            **kwargs,
        )
    return _prescription_page(prescription, **kwargs)


@bp.get("/prescriptions/<int:prescription_id>")
def prescription(prescription_id: int):
    return _prescription_page(_prescription_or_404(prescription_id, read=True))


@bp.get("/prescriptions/<int:prescription_id>.pdf")
def prescription_download(prescription_id: int):
    prescription = _prescription_or_404(prescription_id, read=True)
    return _pdf_response(prescription)


def _pdf_response(prescription: Prescription) -> Response:
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
    filename = f"{prescription.number or f'draft-{prescription.id}'}.pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.post("/prescriptions/<int:prescription_id>/note")
def save_prescription_note(prescription_id: int):
    prescription = _prescription_or_404(prescription_id)
    form = NoteForm()
    block = "note_form" if is_htmx() else None
    if not form.validate_on_submit():
        return _prescription_page(prescription, block=block, status=422, note_form=form)
    try:
        clinical.save_prescription_note(prescription, _doctor(), form.note.data or "", form.version_number)
    except clinical.StaleRecord:
        db.session.rollback()
        current = db.session.get(Prescription, prescription_id)
        form.version.data = str(current.version)
        form.form_errors.append(
            gettext(
                "Someone else saved a newer note: “%(note)s”. "
                "Your text is kept below; save again to replace it.",
                note=current.note,
            )
        )
        return _prescription_page(current, block=block, status=409, note_form=form)
    except DomainError as error:
        _refuse(error)
        attach_error(form, error)
        return _prescription_page(prescription, block=block, status=error.status, note_form=form)
    db.session.commit()
    if not is_htmx():
        flash(N_("Draft saved."), "success")
        return redirect_to(url_for("doctor.prescription", prescription_id=prescription.id))
    return _prescription_page(prescription, block=block, message=N_("Draft saved."))


@bp.post("/prescriptions/<int:prescription_id>/items")
def add_item(prescription_id: int):
    prescription = _prescription_or_404(prescription_id)
    form = ItemForm()
    block = "items" if is_htmx() else None
    if form.validate_on_submit():
        try:
            clinical.add_item(prescription, _doctor(), form.values())
        except DomainError as error:
            _refuse(error)
            attach_error(form, error)
            return _prescription_page(prescription, block=block, status=error.status, item_form=form)
        db.session.commit()
        if not is_htmx():
            return redirect_to(url_for("doctor.prescription", prescription_id=prescription.id))
        return _prescription_page(prescription, block=block)
    return _prescription_page(prescription, block=block, status=422, item_form=form)


@bp.get("/prescriptions/<int:prescription_id>/items/<int:item_id>")
def item_row(prescription_id: int, item_id: int):
    prescription = _prescription_or_404(prescription_id, read=True)
    item = _item_or_404(prescription, item_id)
    if not is_htmx():
        return redirect_to(url_for("doctor.prescription", prescription_id=prescription.id))
    return _item_response(prescription, item)


@bp.get("/prescriptions/<int:prescription_id>/items/<int:item_id>/edit")
def edit_item(prescription_id: int, item_id: int):
    prescription = _prescription_or_404(prescription_id)
    item = _item_or_404(prescription, item_id)
    if not prescription.is_draft:
        abort(409)
    return _item_response(
        prescription, item, editing=item.id, edit_form=ItemForm(formdata=None, obj=item, prefix="edit")
    )


@bp.post("/prescriptions/<int:prescription_id>/items/<int:item_id>")
def save_item(prescription_id: int, item_id: int):
    prescription = _prescription_or_404(prescription_id)
    item = _item_or_404(prescription, item_id)
    form = ItemForm(prefix="edit")
    if not form.validate_on_submit():
        return _item_response(prescription, item, editing=item.id, edit_form=form, status=422)
    try:
        clinical.update_item(item, _doctor(), form.values(), form.version_number)
    except clinical.StaleRecord:
        db.session.rollback()
        current = db.session.get(PrescriptionItem, item_id)
        if current is None:
            abort(409)
        form.version.data = str(current.version)
        return _item_response(
            prescription, current, editing=current.id, edit_form=form, conflict=current, status=409
        )
    except DomainError as error:
        _refuse(error)
        attach_error(form, error)
        item = db.session.get(PrescriptionItem, item_id) or abort(404)
        return _item_response(prescription, item, editing=item.id, edit_form=form, status=error.status)
    db.session.commit()
    if not is_htmx():
        return redirect_to(url_for("doctor.prescription", prescription_id=prescription.id))
    return _item_response(prescription, item)


def _items_changed(prescription: Prescription) -> Response:
    db.session.commit()
    if not is_htmx():
        return redirect_to(url_for("doctor.prescription", prescription_id=prescription.id))
    return _prescription_page(prescription, block="items")


@bp.post("/prescriptions/<int:prescription_id>/items/<int:item_id>/delete")
def remove_item(prescription_id: int, item_id: int):
    prescription = _prescription_or_404(prescription_id)
    item = _item_or_404(prescription, item_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        clinical.remove_item(item, _doctor())
    except DomainError as error:
        _refuse(error)
        abort(409)
    return _items_changed(prescription)


@bp.post("/prescriptions/<int:prescription_id>/items/<int:item_id>/move")
def move_item(prescription_id: int, item_id: int):
    prescription = _prescription_or_404(prescription_id)
    item = _item_or_404(prescription, item_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        clinical.move_item(item, _doctor(), request.form.get("direction", ""))
    except DomainError as error:
        _refuse(error)
        abort(error.status if error.status in (400, 409, 422) else 400)
    return _items_changed(prescription)


def _status_change(prescription: Prescription, change, success: str) -> Response:  # type: ignore[no-untyped-def]
    try:
        result = change()
    except DomainError as error:
        _refuse(error)
        flash(error.message, "error")
        return redirect_to(url_for("doctor.prescription", prescription_id=prescription.id))
    db.session.commit()
    flash(gettext(success, number=result.number or ""), "success")
    return redirect_to(url_for("doctor.prescription", prescription_id=result.id))


@bp.post("/prescriptions/<int:prescription_id>/issue")
def issue_prescription(prescription_id: int):
    prescription = _prescription_or_404(prescription_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    return _status_change(
        prescription,
        lambda: clinical.issue_prescription(prescription, _doctor()),
        N_("Prescription %(number)s issued; the patient has been notified."),
    )


@bp.post("/prescriptions/<int:prescription_id>/cancel")
def cancel_prescription(prescription_id: int):
    prescription = _prescription_or_404(prescription_id)
    form = CancelPrescriptionForm()
    if not form.validate_on_submit():
        return _prescription_page(prescription, status=422, cancel_form=form)
    return _status_change(
        prescription,
        lambda: clinical.cancel_prescription(prescription, _doctor(), form.reason.data),
        N_("Prescription %(number)s cancelled."),
    )


@bp.post("/prescriptions/<int:prescription_id>/revise")
def revise_prescription(prescription_id: int):
    prescription = _prescription_or_404(prescription_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    return _status_change(
        prescription,
        lambda: clinical.revise_prescription(prescription, _doctor()),
        N_("A new version was started from the issued one; issuing it will supersede the old one."),
    )
