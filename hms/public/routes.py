"""The public pages: the home page, the doctor directory with each doctor's free times (no account
needed; booking asks to log in or register, then returns to the chosen time), and the health check
that load balancers and Docker call."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, url_for
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from hms import directory
from hms import query as query_args
from hms.auth.session import dashboard_endpoint
from hms.database import first_read
from hms.extensions import db, limiter
from hms.htmx import is_htmx, redirect_to, render
from hms.i18n import N_
from hms.models import Role
from hms.patient.forms import BookingForm
from hms.services import scheduling
from hms.services.errors import DomainError

bp = Blueprint("public", __name__)


@bp.get("/")
def home():
    if current_user.is_authenticated:
        return redirect(url_for(dashboard_endpoint(current_user.role)))
    return render("public/home.html")


def _is_patient() -> bool:
    return current_user.is_authenticated and current_user.role == Role.patient


@bp.get("/doctors")
def find_doctors():
    if _is_patient():  # a patient books from his own pages
        return redirect(url_for("patient.find_doctors", **query_args.without()))
    return directory.search_page("public")


@bp.get("/doctors/<int:doctor_id>/at/<int:hospital_id>")
def doctor_page(doctor_id: int, hospital_id: int):
    if _is_patient():
        return redirect(
            url_for(
                "patient.doctor_page", doctor_id=doctor_id, hospital_id=hospital_id, **query_args.without()
            )
        )
    membership = directory.picker_card_or_404(doctor_id, hospital_id)
    form = BookingForm(meta={"csrf": False})  # a GET form: "Book" leads to logging in, nothing is written
    context = directory.picker_context(membership, fragment=is_htmx(), form=form)
    return render("patient/doctor.html", "slots", public=True, **context)


@bp.get("/doctors/<int:doctor_id>/at/<int:hospital_id>/book")
def continue_booking(doctor_id: int, hospital_id: int):
    """The public picker's "Book": log in (or register) first, then the patient's picker for this
    doctor opens with the chosen time selected."""
    membership = directory.bookable_or_404(doctor_id, hospital_id)
    key = query_args.text("slot", 20)
    try:
        start = scheduling.parse_slot_key(key)
    except DomainError:
        flash(N_("Choose a time."), "error")
        return redirect_to(url_for("public.doctor_page", doctor_id=doctor_id, hospital_id=hospital_id))
    day = start.astimezone(membership.hospital.tz).date().isoformat()
    target = url_for("patient.doctor_page", doctor_id=doctor_id, hospital_id=hospital_id, day=day, slot=key)
    if _is_patient():
        return redirect_to(target)
    if current_user.is_authenticated:
        flash(N_("Visits are booked from a patient's account."), "info")
        return redirect_to(
            url_for("public.doctor_page", doctor_id=doctor_id, hospital_id=hospital_id, day=day)
        )
    flash(N_("Log in or register to book this time: you will come back to it."), "info")
    return redirect_to(url_for("auth.login", next=target))


@bp.get("/healthz")
@limiter.exempt
def healthz() -> Response:
    """200 "ok" when this process answers and reaches the database, 503 otherwise. No login, no session
    cookie, no rate limit, plain HTTP allowed (the check comes from inside the host, not through TLS)."""
    try:
        first_read(lambda: db.session.execute(text("SELECT 1")))
    except SQLAlchemyError as error:
        db.session.rollback()
        current_app.logger.warning("health check: database unreachable: %s", str(error)[:200])
        return Response("database unreachable\n", status=503, mimetype="text/plain")
    return Response("ok\n", mimetype="text/plain")


healthz.talisman_view_options = {"force_https": False}  # what flask-talisman's per-view decorator sets
