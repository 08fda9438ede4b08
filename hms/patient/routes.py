"""Patient pages: dashboard."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from hms.auth.session import role_required
from hms.htmx import render
from hms.models import Role

bp = Blueprint("patient", __name__)
bp.before_request(role_required(Role.patient))


@bp.get("/")
def dashboard():
    return render("patient/dashboard.html", patient=current_user.patient)
