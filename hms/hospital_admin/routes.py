"""Hospital administrator pages: dashboard."""

from __future__ import annotations

from flask import Blueprint, g
from flask_login import current_user

from hms.auth.session import role_required
from hms.htmx import render
from hms.models import Role

bp = Blueprint("hospital_admin", __name__)
bp.before_request(role_required(Role.hospital_admin))


@bp.before_request
def load_hospital() -> None:
    # Every page of this blueprint works on the admin's own hospital only.
    g.hospital = current_user.hospital_admin.hospital


@bp.get("/")
def dashboard():
    return render("hospital_admin/dashboard.html", hospital=g.hospital)


from hms.hospital_admin import appointments as _appointments  # noqa: E402,F401  (registers its routes)
from hms.hospital_admin import billing as _billing  # noqa: E402,F401  (registers its routes on bp)
