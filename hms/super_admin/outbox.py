"""The platform's outgoing mail and text messages: how many wait, were sent or failed, the latest
failures with their reason, and putting the failed ones back in the queue once the cause is fixed
(the same as `flask hms outbox --retry`). Message bodies are never shown here."""

from __future__ import annotations

from flask import abort, flash, url_for
from flask_babel import gettext, ngettext
from flask_login import current_user

from hms.extensions import db
from hms.forms import EmptyForm
from hms.htmx import is_htmx, redirect_to, render
from hms.services import outbox
from hms.services.audit import record_event
from hms.super_admin.routes import bp

FAILURES_SHOWN = 20


def _page(status: int = 200, message: str | None = None):  # type: ignore[no-untyped-def]
    return render(
        "super_admin/outbox.html",
        "queue" if is_htmx() else None,
        status=status,
        counts=outbox.status_counts(),
        failures=outbox.recent_failures(FAILURES_SHOWN),
        form=EmptyForm(),
        message=message,
    )


@bp.get("/outbox")
def outbox_status():
    return _page()


@bp.post("/outbox/retry")
def retry_outbox():
    if not EmptyForm().validate_on_submit():
        abort(400)
    count = outbox.retry_failed()
    record_event("retry", "outbox", None, user_id=current_user.id, detail=f"{count} messages")
    db.session.commit()
    message = (
        ngettext(
            "%(num)d failed message is queued again.", "%(num)d failed messages are queued again.", count
        )
        if count
        else gettext("No failed messages to retry.")
    )
    if not is_htmx():
        flash(message, "success")
        return redirect_to(url_for("super_admin.outbox_status"))
    return _page(message=message)
