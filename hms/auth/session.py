"""Loading the logged-in user and checking his role."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort
from flask_login import current_user

from hms.extensions import db, login_manager
from hms.models import Role, User


def load_user(user_id: str) -> User | None:
    try:
        raw_id, raw_version = user_id.split(":", 1)
        uid, version = int(raw_id), int(raw_version)
    except ValueError:
        return None
    user = db.session.get(User, uid)
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def role_required(*roles: Role) -> Callable[[], None]:
    """A before_request hook for a blueprint: log in first, then be one of `roles` (else 403)."""

    def check() -> None:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.role not in roles:
            abort(403)
        return None

    return check


def dashboard_endpoint(role: Role) -> str:
    return {
        Role.patient: "patient.dashboard",
        Role.doctor: "doctor.dashboard",
        Role.hospital_admin: "hospital_admin.dashboard",
        Role.super_admin: "super_admin.dashboard",
        Role.staff: "staff.dashboard",
    }[role]
