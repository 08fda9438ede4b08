"""Staff pages: dashboard; only while the staff member's hospital is active."""

from __future__ import annotations

from flask import Blueprint, abort, request, url_for
from flask_login import current_user

from hms.auth.session import role_required
from hms.htmx import redirect_to, render
from hms.models import Role, StaffKind

bp = Blueprint("staff", __name__)
bp.before_request(role_required(Role.staff))


@bp.before_request
def hospital_must_be_active():  # type: ignore[no-untyped-def]
    """Staff cannot log in at a hospital that is not active; one already logged in when it is suspended
    keeps only the dashboard, which says so (as its administrator's pages do)."""
    staff = current_user.staff
    if staff is None:
        abort(403)
    if staff.hospital.is_active or request.endpoint == "staff.dashboard":
        return None
    if request.method == "GET":
        return redirect_to(url_for("staff.dashboard"))
    abort(403)


@bp.get("/")
def dashboard():
    staff = current_user.staff
    extra = {}
    if staff.kind == StaffKind.nurse and staff.hospital.is_active:
        from hms.services.triage import triage_queue

        extra["triage_rows"] = triage_queue(staff.hospital)
    if staff.kind == StaffKind.lab_technician and staff.hospital.is_active:
        from hms.staff.lab import waiting_criticals

        extra["lab_criticals"] = waiting_criticals(staff.hospital_id)
    return render("staff/dashboard.html", staff=staff, **extra)


from hms.staff import billing as _billing  # noqa: E402,F401  (registers its routes on bp)
from hms.staff import desk as _desk  # noqa: E402,F401
from hms.staff import desk_booking as _desk_booking  # noqa: E402,F401
from hms.staff import flow as _flow  # noqa: E402,F401
from hms.staff import inventory as _inventory  # noqa: E402,F401
from hms.staff import lab as _lab  # noqa: E402,F401
from hms.staff import triage as _triage  # noqa: E402,F401
