"""iCalendar: an appointment as an .ics download (its patient or doctor, logged in), and each
patient's and doctor's private feed at a secret, revocable address (no login; rate limited)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, make_response
from flask_login import current_user, login_required

from hms.extensions import db, limiter
from hms.models import Role, TokenKind
from hms.services import calendar_feeds
from hms.services.api_tokens import user_for_token

bp = Blueprint("calendar", __name__)


def _feed_limit() -> str:
    return current_app.config["CALENDAR_FEED_RATE_LIMIT"]


def _calendar_response(body: bytes, filename: str) -> Response:
    response = make_response(body)
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/appointments/<int:appointment_id>.ics")
@login_required
def appointment_ics(appointment_id: int):
    if current_user.role not in (Role.patient, Role.doctor):
        abort(403)
    appointment = calendar_feeds.appointment_for(current_user, appointment_id)
    if appointment is None:
        abort(404)
    return _calendar_response(
        calendar_feeds.appointment_ics(appointment, current_user), f"appointment-{appointment.id}.ics"
    )


@bp.get("/calendar/<token>.ics")
@limiter.limit(_feed_limit)
def feed(token: str):
    user = user_for_token(token, TokenKind.calendar)
    if user is None:
        db.session.commit()
        abort(404)  # an unknown, rotated or revoked address is simply not there
    body = calendar_feeds.feed_ics(user)
    db.session.commit()  # the token's last use
    response = _calendar_response(body, "hms.ics")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
