"""Jinja globals and filters: navigation per role, money and time formatting."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import get_locale
from flask_login import current_user

from hms.models import Role, StaffKind
from hms.money import format_money

NAVIGATION: dict[Role, list[tuple[str, str]]] = {
    Role.patient: [
        ("patient.dashboard", "Dashboard"),
        ("patient.find_doctors", "Find a doctor"),
        ("patient.appointments", "My appointments"),
        ("patient.records", "Medical history"),
        ("patient.encounters", "My visits"),
        ("patient.record_access", "Record access"),
        ("patient.bills", "My bills"),
        ("consult.index", "Messages"),
    ],
    Role.doctor: [
        ("doctor.dashboard", "Dashboard"),
        ("doctor.agenda", "Agenda"),
        ("doctor.schedule", "My schedule"),
        ("doctor.hospitals", "My hospitals"),
        ("doctor.patients", "My patients"),
        ("consult.index", "Messages"),
    ],
    Role.hospital_admin: [
        ("hospital_admin.dashboard", "Dashboard"),
        ("hospital_admin.doctors", "Doctors"),
        ("hospital_admin.appointments", "Appointments"),
        ("hospital_admin.week", "Week"),
        ("hospital_admin.patients", "Patients"),
        ("hospital_admin.desk_bills", "Bills"),
        ("hospital_admin.inventory", "Inventory"),
        ("hospital_admin.departments", "Departments"),
        ("hospital_admin.staff", "Staff"),
        ("hospital_admin.reports", "Reports"),
        ("hospital_admin.profile", "Profile"),
        ("hospital_sms.settings", "Text messages"),
    ],
    Role.staff: [
        ("staff.dashboard", "Dashboard"),
        ("staff.desk_bills", "Billing desk"),
        ("staff.inventory", "Inventory"),
    ],
    Role.super_admin: [
        ("super_admin.dashboard", "Dashboard"),
        ("super_admin.hospitals", "Hospitals"),
        ("super_admin.doctors", "Doctors"),
        ("super_admin.patients", "Patients"),
        ("super_admin.reports", "Reports"),
    ],
}


# Links only some staff may follow (the page itself checks too).
STAFF_KIND_ONLY = {"staff.desk_bills": StaffKind.receptionist, "staff.inventory": StaffKind.pharmacist}


def navigation() -> list[tuple[str, str]]:
    if not current_user.is_authenticated:
        return []
    links = NAVIGATION.get(current_user.role, [])
    if current_user.role == Role.staff:
        kind = current_user.staff.kind if current_user.staff else None
        links = [(e, label) for e, label in links if STAFF_KIND_ONLY.get(e, kind) == kind]
    return links


def local_time(value: datetime | None, tz: str | ZoneInfo, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    """A UTC datetime shown in a hospital's time zone."""
    if value is None:
        return ""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    return value.astimezone(zone).strftime(fmt)


def money(amount_minor: int, currency: str) -> str:
    return format_money(amount_minor, currency, str(get_locale() or "en"))


def register(app: Flask) -> None:
    from hms.services.consultations import call_is_open

    app.jinja_env.globals.update(
        navigation=navigation, Role=Role, get_locale=get_locale, video_call_open=call_is_open
    )
    app.jinja_env.filters.update(local_time=local_time, money=money)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
