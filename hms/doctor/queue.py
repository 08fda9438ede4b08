"""The doctor's queue of today: his checked-in patients in the order he sees them (emergency and
urgent first, then by number), where each is on the flow board and for how long, with one-click
"Call in" and "Done" and the link to the visit record. It refreshes itself every few seconds."""

from __future__ import annotations

from flask import abort, flash, url_for
from flask_login import current_user

from hms import clock
from hms.doctor.routes import bp
from hms.extensions import db
from hms.frontdesk.flow_forms import MoveForm
from hms.htmx import is_htmx, redirect_to, render
from hms.i18n import N_
from hms.models import FlowState
from hms.services import flow
from hms.services.errors import DomainError

POLL_SECONDS = 10


def _queue(status: int = 200, message: str | None = None):  # type: ignore[no-untyped-def]
    entries = flow.doctor_queue(current_user.doctor.id)
    return render(
        "doctor/queue.html",
        "queue",
        status=status,
        waiting=[e for e in entries if e.state.is_open],
        finished=[e for e in entries if not e.state.is_open],
        now=clock.now(),
        message=message,
        poll_seconds=POLL_SECONDS,
        moves=flow.DOCTOR_MOVES,
    )


@bp.get("/queue")
def queue():
    return _queue()


@bp.post("/queue/<int:entry_id>/move")
def queue_move(entry_id: int):
    """Call the patient in, or finish: one click, audited; a card moved meanwhile (the nurse, the
    desk) is refused with 409 and the fresh queue."""
    entry = flow.doctor_entry(current_user.doctor.id, entry_id) or abort(404)
    form = MoveForm()
    status, message = 303, None
    if not form.validate() or form.version_number is None or FlowState(form.to.data) not in flow.DOCTOR_MOVES:
        status, message = 422, N_("Reload the page and try again.")
    else:
        try:
            flow.move_visit(entry, FlowState(form.to.data), current_user, version=form.version_number)
        except DomainError as error:
            db.session.rollback()
            status, message = error.status, error.message
        else:
            db.session.commit()
    if is_htmx():
        return _queue(200 if status == 303 else status, message)
    if message:
        flash(message, "error")
    return redirect_to(url_for("doctor.queue"))
