"""The patient flow's pages for one hospital, shared by its staff (hms/staff/flow.py: receptionists and
nurses) and its administrator (hms/hospital_admin/flow.py): the flow board with its cheap poll, moving a
card, today's arrivals with their check-in, a walk-in joining the queue. `ep` is the blueprint's name."""

from __future__ import annotations

import hashlib

from flask import abort, current_app, flash, make_response, request, url_for
from flask_babel import gettext
from flask_login import current_user

from hms import clock
from hms import query as query_args
from hms.extensions import db
from hms.forms import attach_error
from hms.frontdesk.flow_forms import MoveForm, WalkInForm
from hms.htmx import is_htmx, redirect_to, render
from hms.i18n import N_
from hms.models import FlowState, Hospital, QueueEntry, QueuePriority
from hms.services import desk, flow
from hms.services.errors import DomainError
from hms.templating import locale_code

POLL_SECONDS = 5


def _board_filter() -> flow.BoardFilter:
    return flow.BoardFilter(query_args.record_id("department"), query_args.record_id("doctor"))


def _filter_args(board_filter: flow.BoardFilter, wall: bool) -> dict[str, int | str]:
    args: dict[str, int | str] = {}
    if board_filter.department_id:
        args["department"] = board_filter.department_id
    if board_filter.doctor_id:
        args["doctor"] = board_filter.doctor_id
    if wall:
        args["wall"] = "1"
    return args


def _etag(hospital: Hospital, board_filter: flow.BoardFilter, wall: bool) -> str:
    """Changes when a card does, when the minute does (the cards count minutes), and with what else
    the fragment depends on: the filter, the layout, the reader's language and kind of work."""
    kind = current_user.staff.kind.value if getattr(current_user, "staff", None) else current_user.role.value
    parts = (
        flow.board_stamp(hospital, board_filter),
        clock.now().strftime("%Y%m%d%H%M"),
        locale_code(),
        repr(board_filter),
        str(wall),
        kind,
    )
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def board_context(hospital: Hospital, ep: str, board_filter: flow.BoardFilter, wall: bool, etag: str):  # type: ignore[no-untyped-def]
    entries = flow.board_entries(hospital, board_filter)
    return {
        "hospital": hospital,
        "ep": ep,
        "columns": flow.columns(entries),
        "now": clock.now(),
        "wall": wall,
        "etag": etag,
        "args": _filter_args(board_filter, wall),
        "poll_seconds": POLL_SECONDS,
        "triage_link": "staff.triage" in current_app.view_functions and _is_nurse(),
        "move_ep": f"{ep}.flow_move",
    }


def _is_nurse() -> bool:
    staff = getattr(current_user, "staff", None)
    return staff is not None and staff.kind.value == "nurse"


def board_page(hospital: Hospital, ep: str):  # type: ignore[no-untyped-def]
    """The flow board with its filters (department, doctor) and, with ?wall=1, a wall screen's type."""
    board_filter = _board_filter()
    wall = query_args.flag("wall", "1")
    choices = flow.walk_in_choices(hospital)
    return render(
        "desk/flow_board.html",
        "board",
        choices=choices,
        board_filter=board_filter,
        **board_context(hospital, ep, board_filter, wall, _etag(hospital, board_filter, wall)),
    )


def board_fragment(hospital: Hospital, ep: str):  # type: ignore[no-untyped-def]
    """The board alone, polled every few seconds. An unchanged board answers 304 with no body (its
    ETag travels back in the If-None-Match header the fragment itself sets), and htmx leaves it be."""
    board_filter = _board_filter()
    wall = query_args.flag("wall", "1")
    if not is_htmx():  # without htmx this address is the page itself
        return redirect_to(url_for(f"{ep}.flow_board", **_filter_args(board_filter, wall)))
    etag = _etag(hospital, board_filter, wall)
    if etag in request.if_none_match:
        response = make_response("", 304)
    else:
        response = render(
            "desk/flow_board.html",
            "board",
            **board_context(hospital, ep, board_filter, wall, etag),
        )
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-store"
    return response


def move(hospital: Hospital, ep: str, entry_id: int, entry: QueueEntry | None = None):  # type: ignore[no-untyped-def]
    """One click: the card goes to the state the button names. HTMX gets the board back (409 with the
    fresh board when the card was moved meanwhile); without JavaScript, the board again (303)."""
    entry = entry or flow.hospital_entry(hospital, entry_id) or abort(404)
    form = MoveForm()
    status, message = 303, None
    if not form.validate() or form.version_number is None:
        status, message = 422, N_("Reload the board and try again.")
    else:
        try:
            flow.move_visit(entry, FlowState(form.to.data), current_user, version=form.version_number)
        except DomainError as error:
            db.session.rollback()
            status, message = error.status, error.message
        else:
            db.session.commit()
    board_filter = _board_filter()
    wall = query_args.flag("wall", "1")
    if is_htmx():
        return render(
            "desk/flow_board.html",
            "board",
            status=200 if status == 303 else status,
            message=message,
            **board_context(hospital, ep, board_filter, wall, _etag(hospital, board_filter, wall)),
        )
    if message:
        flash(message, "error")
    return redirect_to(url_for(f"{ep}.flow_board", **_filter_args(board_filter, wall)))


# ---------------------------------------------------------------- arrivals and check-in


def arrivals_page(hospital: Hospital, ep: str):  # type: ignore[no-untyped-def]
    """Today's visits at the hospital, narrowed as the clerk types; a Check in button on each visit
    that can be checked in (the `rows` block alone for HTMX)."""
    text = " ".join(query_args.text("q").split())
    visits = flow.todays_visits(hospital, text)
    return render(
        "desk/arrivals.html",
        "rows",
        hospital=hospital,
        ep=ep,
        query=text,
        visits=visits,
        entries=flow.entries_of([a.id for a in visits]),
        now=clock.now(),
        refusal=flow.check_in_refusal,
    )


def check_in(hospital: Hospital, ep: str, appointment_id: int):  # type: ignore[no-untyped-def]
    """Check a visit in (CSRFProtect checks the button's token); HTMX gets its row back."""
    priority = _posted_priority()
    try:
        entry = flow.check_in(
            hospital=hospital, appointment_id=appointment_id, actor=current_user, priority=priority
        )
    except DomainError as error:
        db.session.rollback()
        if error.status == 404:
            abort(404)
        status, message, entry = error.status, error.message, None
    else:
        db.session.commit()
        status, message = 200, gettext("Checked in: number %(number)s.", number=entry.number)
    if is_htmx():
        visit = flow.visit_at(hospital, appointment_id)
        return render(
            "desk/arrivals.html",
            "row",
            status=status,
            hospital=hospital,
            ep=ep,
            a=visit,
            entries=flow.entries_of([appointment_id]),
            now=clock.now(),
            refusal=flow.check_in_refusal,
            message=message,
        )
    flash(message, "success" if status == 200 else "error")
    return redirect_to(url_for(f"{ep}.arrivals"))


def _posted_priority() -> QueuePriority:
    value = request.form.get("priority", "normal")
    return QueuePriority(value) if value in {p.value for p in QueuePriority} else QueuePriority.normal


# ---------------------------------------------------------------- walk-ins


def walk_in(hospital: Hospital, ep: str, patient_id: int):  # type: ignore[no-untyped-def]
    """A patient found at the desk joins today's queue of a doctor or a department."""
    patient = desk.hospital_patient(hospital, patient_id) or abort(404)
    form = WalkInForm().offer(flow.walk_in_choices(hospital))
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate():
            try:
                entry = flow.join_queue(
                    hospital=hospital,
                    patient=patient,
                    actor=current_user,
                    doctor_id=form.doctor_id,
                    department_id=form.department_id,
                    priority=QueuePriority(form.priority.data),
                    reason=form.reason.data or "",
                )
            except DomainError as error:
                db.session.rollback()
                status = error.status
                attach_error(form, error)
            else:
                db.session.commit()
                flash(
                    gettext(
                        "%(name)s is number %(number)s in today's queue, for Dr %(doctor)s.",
                        name=patient.name,
                        number=entry.number,
                        doctor=entry.doctor.name,
                    ),
                    "success",
                )
                return redirect_to(url_for(f"{ep}.flow_board"))
    return render(
        "desk/walk_in.html", "form", status=status, form=form, ep=ep, hospital=hospital, patient=patient
    )


# What a 304 leaves out: headers about a document, when no document is sent (the page the browser has
# keeps the policies it came with). Registered before Talisman (hms/__init__.py), so it runs after it.
DOCUMENT_HEADERS = (
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "X-XSS-Protection",
    "Referrer-Policy",
    "Permissions-Policy",
    "Content-Type",
)


def trim_not_modified(response):  # type: ignore[no-untyped-def]
    """An unchanged board's poll costs its status line, ETag, Vary and Cache-Control: ~150 bytes."""
    if response.status_code == 304:
        for name in DOCUMENT_HEADERS:
            response.headers.pop(name, None)
    return response
