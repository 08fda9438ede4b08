"""The bed board: every active ward of the user's hospital with each bed as a small card (free, the
patient in it, discharge ordered, cleaning, out of service) and counts per ward, polled every 30 s
(an unchanged board answers 304 with no body). Nurses mark beds cleaned from it.

Who sees it: the nurses, receptionists and administrator of the hospital, and its doctors (a doctor of
several hospitals picks one with ?hospital=); anyone else gets 404 (hms.services.inpatient decides)."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Response, abort, current_app, flash, make_response, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy.orm import contains_eager

from hms import clock
from hms import query as query_args
from hms.extensions import db
from hms.htmx import is_htmx, redirect_to, render
from hms.models import (
    Admission,
    AdmissionStatus,
    Bed,
    BedStatus,
    Hospital,
    Membership,
    StaffKind,
)
from hms.services import inpatient, scheduling, wards
from hms.services.errors import DomainError
from hms.templating import locale_code
from hms.ward.routes import bp

POLL_SECONDS = 30
BOARD = "ward/board.html"


# ---------------------------------------------------------------- whose board


def doctor_hospitals() -> list[Hospital]:
    """The active hospitals where the signed-in doctor has an active membership, oldest first."""
    memberships = db.session.scalars(
        scheduling.bookable_memberships()
        .where(Membership.doctor_id == current_user.doctor.id)
        .options(contains_eager(Membership.hospital))
        .order_by(Membership.id)
    )
    return [m.hospital for m in memberships]


def user_hospital(choices: list[Hospital] | None = None) -> Hospital | None:
    """The hospital whose wards the user works on: a nurse's or receptionist's, the administrator's,
    or (a doctor) the one of `choices` named by ?hospital=, else his first. None: no board for him."""
    staff = getattr(current_user, "staff", None)
    if staff is not None:
        return staff.hospital if staff.kind in (StaffKind.nurse, StaffKind.receptionist) else None
    admin = getattr(current_user, "hospital_admin", None)
    if admin is not None:
        return admin.hospital
    if getattr(current_user, "doctor", None) is None:
        return None
    choices = doctor_hospitals() if choices is None else choices
    wanted = query_args.record_id("hospital")
    return next((h for h in choices if h.id == wanted), choices[0] if choices else None)


def board_hospital(choices: list[Hospital] | None = None) -> Hospital:
    hospital = user_hospital(choices)
    if (
        hospital is None
        or not hospital.is_active
        or not inpatient.can_see_bed_board(current_user, hospital.id)
    ):
        abort(404)
    return hospital


# ---------------------------------------------------------------- the board


def may_open(admission: Admission) -> bool:
    """Whether the user sees the admission's page (its doctors, the nurses while it is open)."""
    return inpatient.can_see_admission(current_user, admission)


def _is_nurse(hospital: Hospital) -> bool:
    return inpatient.is_nurse_of(current_user, hospital.id)


def _etag(hospital: Hospital, ward_id: int | None) -> str:
    """Changes with any bed or admission in a bed, the hospital's day (days in), and what else the
    fragment depends on: the ward shown, the reader (his links and buttons) and his language."""
    parts = (
        inpatient.board_version(hospital.id),
        str(inpatient.local_date(clock.now(), hospital.tz)),
        str(hospital.id),
        str(ward_id or ""),
        str(current_user.id),
        locale_code(),
    )
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def _args(hospital: Hospital, ward_id: int | None) -> dict[str, int]:
    args = {"ward": ward_id} if ward_id else {}
    if getattr(current_user, "doctor", None) is not None:
        args["hospital"] = hospital.id
    return args


def board_context(hospital: Hospital, wanted: int | None, etag: str, **extra: Any) -> dict[str, Any]:
    """The board of every ward (its counts and the filter's choices) and the wards shown: the one
    `wanted`, or all of them when it is not one of the hospital's."""
    board = inpatient.bed_board(hospital.id)
    shown = [w for w in board if w.ward.id == wanted] or board
    ward_id = wanted if len(shown) == 1 and shown[0].ward.id == wanted else None
    now = clock.now()
    return {
        "hospital": hospital,
        "board": board,
        "shown": shown,
        "ward_id": ward_id,
        "args": _args(hospital, ward_id),
        "etag": etag,
        "poll_seconds": POLL_SECONDS,
        "statuses": list(BedStatus),
        "days_in": lambda admission: inpatient.days_in(admission, now),
        "may_open": may_open if "ward.admission" in current_app.view_functions else None,
        "nurse": _is_nurse(hospital),
        "discharge_ordered": AdmissionStatus.discharge_ordered,
    } | extra


@bp.get("/beds")
def bed_board():
    """The bed board page (the board alone for HTMX)."""
    choices = doctor_hospitals() if getattr(current_user, "doctor", None) is not None else []
    hospital = board_hospital(choices)
    wanted = query_args.record_id("ward")
    desk_links = inpatient.is_desk_of(current_user, hospital.id) or _is_nurse(hospital)
    context = board_context(hospital, wanted, _etag(hospital, wanted))
    return render(BOARD, "board", choices=choices, desk_links=desk_links, **context)


@bp.get("/beds/board")
def bed_board_poll():
    """The board alone, polled every 30 s: an unchanged board answers 304 with no body (the fragment
    sends its ETag back as If-None-Match), and htmx leaves the board as it is."""
    hospital = board_hospital()
    if not is_htmx():  # without htmx this address is the page itself
        return redirect_to(url_for("ward.bed_board", **_args(hospital, query_args.record_id("ward"))))
    wanted = query_args.record_id("ward")
    etag = _etag(hospital, wanted)
    if etag in request.if_none_match:
        response = make_response("", 304)
    else:
        response = render(BOARD, "board", **board_context(hospital, wanted, etag))
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/beds/<int:bed_id>/cleaned")
def bed_cleaned(bed_id: int) -> Response:
    """A nurse of the hospital marks a bed in cleaning as ready (cleaning → free). HTMX gets the board
    back (409 with a message when someone else changed the bed first); without JavaScript, a redirect."""
    bed = db.session.get(Bed, bed_id)
    if bed is None or bed.retired or not inpatient.is_nurse_of(current_user, bed.hospital_id):
        abort(404)
    hospital = bed.hospital
    seen = _form_number("version")
    label = bed.label
    status, message = 200, gettext("Bed %(bed)s is ready for the next patient.", bed=label)
    try:
        wards.mark_bed_cleaned(bed, current_user, version=seen)
    except DomainError as error:
        db.session.rollback()
        status, message = error.status, error.message
    else:
        db.session.commit()
    wanted = _form_number("ward")
    if is_htmx():
        context = board_context(
            hospital, wanted, _etag(hospital, wanted), message=message, failed=status != 200
        )
        return render(BOARD, "board", status=status, **context)
    flash(message, "success" if status == 200 else "error")
    return redirect_to(url_for("ward.bed_board", **_args(hospital, wanted)))


def _form_number(name: str) -> int | None:
    """A whole number posted in the form (a bed's version, the ward shown), else None."""
    value = request.form.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and 0 < len(value) < 10 else None
