"""The ward blueprint (mounted at /ward): signed-in doctors, staff and hospital administrators."""

from __future__ import annotations

from flask import Blueprint

from hms.auth.session import role_required
from hms.models import Role

bp = Blueprint("ward", __name__)
bp.before_request(role_required(Role.doctor, Role.staff, Role.hospital_admin))


def _attach_views() -> None:
    """Import the view modules that exist (each adds its routes to `bp`)."""
    import importlib

    for name in ("board", "admit", "admission"):
        try:
            importlib.import_module(f"hms.ward.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"hms.ward.{name}":
                raise


_attach_views()
