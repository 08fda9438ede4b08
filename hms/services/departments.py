"""Departments of a hospital: create, rename, retire and restore; names are unique case-insensitively."""

from __future__ import annotations

from flask_babel import gettext
from sqlalchemy import select

from hms.database import savepoint
from hms.extensions import db
from hms.i18n import N_
from hms.models import Department, Hospital, User
from hms.models.hospitals import name_key
from hms.services.audit import record_event
from hms.services.errors import Conflict, Invalid

NAME_TAKEN = N_("A department called “%(name)s” already exists in this hospital.")


def _clean(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if len(cleaned) < 2:
        raise Invalid(N_("Enter a department name of at least 2 characters."), field="name")
    if len(cleaned) > 120:
        raise Invalid(N_("Use at most 120 characters."), field="name")
    return cleaned


def _existing(hospital: Hospital, name: str, except_id: int | None = None) -> Department | None:
    query = select(Department).where(
        Department.hospital_id == hospital.id, Department.name_key == name_key(name)
    )
    if except_id is not None:
        query = query.where(Department.id != except_id)
    return db.session.scalar(query)


def _taken(name: str) -> Conflict:
    return Conflict(gettext(NAME_TAKEN, name=name), field="name")


def create_department(hospital: Hospital, name: str, actor: User) -> Department:
    name = _clean(name)
    clash = _existing(hospital, name)
    if clash is not None:
        raise _taken(clash.name)
    with savepoint(_taken(name)):  # a concurrent request may have taken the name since
        department = Department(hospital=hospital, name=name)  # inside too: it adds to hospital.departments
        db.session.add(department)
    record_event(
        "create", "department", department.id, hospital_id=hospital.id, user_id=actor.id, detail=name
    )
    return department


def rename_department(department: Department, name: str, actor: User) -> Department:
    name = _clean(name)
    if name == department.name:
        return department
    clash = _existing(department.hospital, name, except_id=department.id)
    if clash is not None:
        raise _taken(clash.name)
    previous = department.name
    with savepoint(_taken(name)):
        department.name = name
    record_event(
        "update",
        "department",
        department.id,
        hospital_id=department.hospital_id,
        user_id=actor.id,
        detail=f"renamed from {previous} to {name}",
    )
    return department


def set_department_retired(department: Department, retired: bool, actor: User) -> bool:
    """Retire (or restore) a department; False when it already was. Its memberships keep pointing at it."""
    if department.retired == retired:
        return False
    department.retired = retired
    db.session.flush()
    record_event(
        "retire" if retired else "restore",
        "department",
        department.id,
        hospital_id=department.hospital_id,
        user_id=actor.id,
    )
    return True


def active_departments(hospital: Hospital) -> list[Department]:
    return list(
        db.session.scalars(
            select(Department)
            .where(Department.hospital_id == hospital.id, Department.retired.is_(False))
            .order_by(Department.name)
        )
    )
