"""The desk's invitation to claim an account (hms/services/claims.py). `ep` is the blueprint's name."""

from __future__ import annotations

from flask import abort, flash, url_for
from flask_login import current_user

from hms.extensions import db
from hms.frontdesk.forms import ClaimInvitationForm
from hms.htmx import redirect_to
from hms.i18n import N_
from hms.models import Hospital
from hms.models.messaging import Channel
from hms.services import claims, desk
from hms.services.errors import DomainError


def send_invitation(hospital: Hospital, ep: str, patient_id: int):  # type: ignore[no-untyped-def]
    """Send the link and go back to the patient's desk page, which says what happened."""
    patient = desk.hospital_patient(hospital, patient_id) or abort(404)
    back = url_for(f"{ep}.desk_patient", patient_id=patient.id)
    form = ClaimInvitationForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return redirect_to(back)
    try:
        claim = claims.send_claim_invitation(hospital, patient, current_user, form.email.data or None)
    except claims.OnlineAccountExists:
        db.session.commit()  # keeps the flag: the desk page shows the likely duplicate
        flash(
            N_(
                "This email belongs to a patient account registered online: the two records should be merged."
            ),
            "error",
        )
        return redirect_to(back)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect_to(back)
    db.session.commit()
    if claim.channel == Channel.email:
        flash(N_("The invitation is on its way by email."), "success")
    else:
        flash(N_("The invitation is on its way by SMS."), "success")
    return redirect_to(back)
