"""The edit-and-save flow of a medical history entry, shared by the patient's and the doctor's pages:
validate, save with optimistic locking, and answer with the entry or the form (422/409 keep the input)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, abort, flash
from flask_login import current_user

from hms.clinical_forms import HistoryForm
from hms.extensions import db
from hms.forms import attach_error
from hms.htmx import is_htmx, redirect_to
from hms.i18n import N_
from hms.models import MedicalHistoryEntry
from hms.services import clinical
from hms.services.errors import DomainError, NotAllowed

# respond(entry, editing=..., status=..., **template values) -> the entry fragment or the whole page
Respond = Callable[..., Response | str]


def edit_history_entry(entry: MedicalHistoryEntry, respond: Respond) -> Response | str:
    if not clinical.can_edit_history(entry, current_user):
        abort(403)
    return respond(entry, editing=True, edit_form=HistoryForm(formdata=None, obj=entry, prefix="edit"))


def save_history_entry(
    entry: MedicalHistoryEntry, respond: Respond, reload: Callable[[], MedicalHistoryEntry], page_url: str
) -> Response | str:
    if not clinical.can_edit_history(entry, current_user):
        abort(403)
    form = HistoryForm(prefix="edit")
    if not form.validate_on_submit():
        return respond(entry, editing=True, edit_form=form, status=422)
    try:
        clinical.update_history_entry(entry, current_user, form.values(), form.version_number)
    except clinical.StaleRecord:
        db.session.rollback()
        current = reload()
        form.version.data = str(current.version)
        return respond(current, editing=True, edit_form=form, conflict=current, status=409)
    except NotAllowed:
        db.session.rollback()
        abort(403)
    except DomainError as error:
        db.session.rollback()
        attach_error(form, error)
        return respond(reload(), editing=True, edit_form=form, status=422)
    db.session.commit()
    if not is_htmx():
        flash(N_("Saved."), "success")
        return redirect_to(page_url)
    return respond(entry)
