"""Merging two records of one person at the desk (receptionist, hospital admin): pick the other record,
compare them side by side, merge; the hospital admin's list of his hospital's merges, with undo.
`ep` is the blueprint's name. The rules are in hms/services/merge.py."""

from __future__ import annotations

from flask import abort, flash, url_for
from flask_login import current_user

from hms import query as query_args
from hms.database import retry_on_deadlock
from hms.extensions import db
from hms.forms import EmptyForm
from hms.htmx import redirect_to, render
from hms.i18n import N_
from hms.models import Hospital, Patient, PatientMerge
from hms.services import desk, merge
from hms.services.errors import DomainError
from hms.templating import locale_code


def _patient(hospital: Hospital, patient_id: int) -> Patient:
    return desk.hospital_patient(hospital, patient_id) or abort(404)


def merged_redirect(hospital: Hospital, ep: str, patient_id: int):  # type: ignore[no-untyped-def]
    """A merged record's desk page sends the browser to the kept record's (303: an undo can bring the
    old page back, so no permanent redirect a browser would remember); None for any other record."""
    patient = db.session.get(Patient, patient_id)
    if patient is None or patient.merged_into_id is None:
        return None
    kept = desk.hospital_patient(hospital, merge.final_record(patient).id) or abort(404)
    return redirect_to(url_for(f"{ep}.desk_patient", patient_id=kept.id))


def pick(hospital: Hospital, ep: str, patient_id: int):  # type: ignore[no-untyped-def]
    """Find the other record (the desk's search; the `results` block alone for HTMX)."""
    patient = _patient(hospital, patient_id)
    text = " ".join(query_args.text("q").split())
    found = [
        f for f in desk.find_patients(hospital, text, locale_code()) if f.ours and f.patient.id != patient.id
    ]
    links = {f.patient.id: confirm_url(ep, patient, f.patient) for f in found}
    return render(
        "desk/merge_pick.html",
        "results",
        hospital=hospital,
        ep=ep,
        patient=patient,
        query=text,
        found=found,
        links=links,
    )


def _kept_and_merged(a: Patient, b: Patient) -> tuple[Patient, Patient]:
    """The record with a login is kept; between two without one, the first."""
    return (b, a) if b.user.can_log_in and not a.user.can_log_in else (a, b)


def confirm_url(ep: str, a: Patient, b: Patient) -> str:
    kept, merged = _kept_and_merged(a, b)
    return url_for(f"{ep}.desk_merge", patient_id=kept.id, other_id=merged.id)


def confirm(hospital: Hospital, ep: str, patient_id: int, other_id: int):  # type: ignore[no-untyped-def]
    """GET: both records side by side (the first is kept). POST: merge; a refusal answers 409 with
    the reason on the same page."""
    if patient_id == other_id:
        abort(404)
    kept, merged = _patient(hospital, patient_id), _patient(hospital, other_id)
    form = EmptyForm()
    error, status = None, 200
    if form.is_submitted():
        if not form.validate():
            error, status = N_("The form expired: try again."), 422
        else:
            try:

                def attempt() -> None:
                    merge.merge_patients(kept, merged, current_user, hospital)
                    db.session.commit()

                retry_on_deadlock(attempt)
            except DomainError as refused:
                db.session.rollback()
                error, status = refused.message, refused.status if refused.status in (403, 409, 422) else 409
            else:
                flash(N_("The records are merged: everything is on this record now."), "success")
                return redirect_to(url_for(f"{ep}.desk_patient", patient_id=kept.id))
        kept, merged = _patient(hospital, patient_id), _patient(hospital, other_id)
    return render(
        "desk/merge_confirm.html",
        None,
        status=status,
        hospital=hospital,
        ep=ep,
        form=form,
        error=error,
        records=[(kept, merge.record_counts(kept)), (merged, merge.record_counts(merged))],
        kept=kept,
        merged=merged,
    )


def merges_page(hospital: Hospital, ep: str):  # type: ignore[no-untyped-def]
    """The hospital's merges, latest first, each with an Undo button until undone."""
    return render(
        "desk/merges.html",
        None,
        hospital=hospital,
        ep=ep,
        merges=merge.hospital_merges(hospital),
        form=EmptyForm(),
    )


def undo(hospital: Hospital, ep: str, merge_id: int):  # type: ignore[no-untyped-def]
    done = db.session.get(PatientMerge, merge_id)
    if done is None or done.hospital_id != hospital.id:
        abort(404)
    form = EmptyForm()
    if not form.validate_on_submit():
        flash(N_("The form expired: try again."), "error")
        return redirect_to(url_for(f"{ep}.desk_merges"))
    try:
        merge.undo_merge(done, current_user)
        db.session.commit()
    except DomainError as refused:
        db.session.rollback()
        rows = ", ".join(getattr(refused, "rows", []))
        return render(
            "desk/merges.html",
            None,
            status=409,
            hospital=hospital,
            ep=ep,
            merges=merge.hospital_merges(hospital),
            form=form,
            error=refused.message,
            error_rows=rows,
        )
    flash(N_("The merge is undone: both records are separate again."), "success")
    return redirect_to(url_for(f"{ep}.desk_merges"))
