"""Staff pages: dashboard."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from hms.auth.session import role_required
from hms.htmx import render
from hms.models import Role

bp = Blueprint("staff", __name__)
bp.before_request(role_required(Role.staff))


@bp.get("/")
def dashboard():
    return render("staff/dashboard.html", staff=current_user.staff)


from hms.staff import billing as _billing  # noqa: E402,F401  (registers its routes on bp)
from hms.staff import inventory as _inventory  # noqa: E402,F401
