"""The report builder's fields. They only render: hms.services.reports.parse_params validates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from wtforms import Form, SelectField, StringField
from wtforms.widgets import DateInput

from hms.extensions import db
from hms.models import Department, Doctor, Hospital, Membership, User
from hms.services.reports import GROUP_LABELS, Scope

FILTER_CHOICES_MAX = 500


class ReportForm(Form):
    metric = SelectField(_l("Report"), validate_choice=False)
    group = SelectField(_l("Group by"), validate_choice=False)
    start = StringField(_l("From"), widget=DateInput())
    end = StringField(_l("To"), widget=DateInput())
    doctor = SelectField(_l("Doctor"), validate_choice=False)
    department = SelectField(_l("Department"), validate_choice=False)
    hospital = SelectField(_l("Hospital"), validate_choice=False)
    name = StringField(_l("Name"), render_kw={"maxlength": 120})


def report_form(
    scope: Scope, formdata: Mapping[str, Any] | None, data: Mapping[str, Any] | None = None
) -> ReportForm:
    """The builder for `scope`, filled from a request (`formdata`) or from saved parameters (`data`)."""
    form = ReportForm(formdata=MultiDict(formdata) if formdata is not None else None, data=dict(data or {}))
    form.metric.choices = [(m.key, _(m.label)) for m in scope.metrics()]
    groups = ("day", "week", "month", "doctor", "department", "item", "test", "ward") + (
        ("hospital",) if scope.is_platform else ()
    )
    form.group.choices = [(g, _(GROUP_LABELS[g])) for g in groups]
    if scope.hospital is not None:
        doctors = db.session.execute(
            select(Doctor.id, User.full_name)
            .join(User, User.id == Doctor.user_id)
            .join(Membership, Membership.doctor_id == Doctor.id)
            .where(Membership.hospital_id == scope.hospital.id)
            .order_by(User.full_name)
            .limit(FILTER_CHOICES_MAX)
        ).all()
        departments = db.session.execute(
            select(Department.id, Department.name)
            .where(Department.hospital_id == scope.hospital.id)
            .order_by(Department.name)
        ).all()
        form.doctor.choices = [("", _("All doctors"))] + [(str(i), n) for i, n in doctors]
        form.department.choices = [("", _("All departments"))] + [(str(i), n) for i, n in departments]
        del form.hospital
    else:
        hospitals = db.session.execute(
            select(Hospital.id, Hospital.name).order_by(Hospital.name).limit(FILTER_CHOICES_MAX)
        ).all()
        form.hospital.choices = [("", _("All hospitals"))] + [(str(i), n) for i, n in hospitals]
        # Across the platform doctors and departments are too many for a list: by id in the URL only.
        del form.doctor
        del form.department
    for name in ("doctor", "department", "hospital"):
        field = getattr(form, name, None)
        if field is not None and field.data is not None:
            field.data = str(field.data)
    return form


def attach_errors(form: ReportForm, errors: Mapping[str, str]) -> None:
    for name, message in errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]
