"""Doctor pages: dashboard."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from hms.auth.session import role_required
from hms.htmx import render
from hms.models import Role

bp = Blueprint("doctor", __name__)
bp.before_request(role_required(Role.doctor))


@bp.get("/")
def dashboard():
    doctor = current_user.doctor
    return render("doctor/dashboard.html", doctor=doctor, memberships=doctor.memberships)
