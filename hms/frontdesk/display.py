"""The wall screen at its secret address (no login): today's flow board with queue numbers, initials and
states only, polled like the staff's board (an unchanged poll is a 304 with no body); and the hospital
administrator's page that makes, shows once and revokes that address."""

from __future__ import annotations

import hashlib

from flask import Blueprint, abort, current_app, flash, make_response, request, url_for
from flask_babel import gettext
from flask_login import current_user

from hms import clock
from hms.extensions import db, limiter
from hms.forms import EmptyForm
from hms.frontdesk.flow import POLL_SECONDS
from hms.htmx import is_htmx, redirect_to, render
from hms.models import Hospital
from hms.services import flow, wall_display
from hms.templating import locale_code

bp = Blueprint("display", __name__)


def _limit() -> str:
    return current_app.config.get("WALL_DISPLAY_RATE_LIMIT", "600 per minute")


def _hospital(token: str) -> Hospital:
    hospital = wall_display.hospital_for_link(token)
    if db.session.dirty:
        db.session.commit()  # the link's last use, noted at most once a minute
    if hospital is None:
        abort(404)  # an unknown, replaced or revoked address is simply not there
    return hospital


def _etag(hospital: Hospital) -> str:
    parts = (
        "wall-display",
        flow.board_stamp(hospital, flow.BoardFilter()),
        clock.now().strftime("%Y%m%d%H%M"),
        locale_code(),
    )
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def _render(hospital: Hospital, token: str, etag: str):  # type: ignore[no-untyped-def]
    response = render(
        "desk/wall_display.html",
        "board",
        hospital=hospital,
        columns=wall_display.wall_columns(hospital),
        token=token,
        etag=etag,
        poll_seconds=POLL_SECONDS,
    )
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/display/<token>")
@limiter.limit(_limit)
def wall(token: str):
    hospital = _hospital(token)
    response = _render(hospital, token, _etag(hospital))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/display/<token>/board")
@limiter.limit(_limit)
def wall_board(token: str):
    hospital = _hospital(token)
    if not is_htmx():
        return redirect_to(url_for("display.wall", token=token))
    etag = _etag(hospital)
    response = make_response("", 304) if etag in request.if_none_match else _render(hospital, token, etag)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- the administrator's side


def manage_page(hospital: Hospital):  # type: ignore[no-untyped-def]
    """GET: whether a link is active; POST: make a new one (shown once) or revoke it."""
    secret = None
    if request.method == "POST":
        if not EmptyForm().validate_on_submit():
            abort(400)
        if request.form.get("action") == "revoke":
            wall_display.revoke_display_link(current_user)
            db.session.commit()
            flash(gettext("The wall-screen link no longer works."), "success")
            return redirect_to(url_for("hospital_admin.wall_display"))
        secret = wall_display.rotate_display_link(current_user)
        db.session.commit()
    return render(
        "hospital_admin/wall_display.html",
        hospital=hospital,
        link=wall_display.active_link(current_user),
        address=url_for("display.wall", token=secret, _external=True) if secret else None,
        form=EmptyForm(),
    )
