"""Platform administrator pages: statistics, bookings trend and hospital approval."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import and_, case, func, select

from hms import clock
from hms.auth.session import role_required
from hms.charts import bar_chart
from hms.extensions import db
from hms.forms import EmptyForm
from hms.htmx import is_htmx, redirect_to, render, trigger
from hms.lookup import get_or_404
from hms.models import Appointment, AppointmentStatus, Hospital, HospitalStatus, Role
from hms.services import hospitals as hospital_service
from hms.services import reports as report_service
from hms.services.errors import DomainError
from hms.templating import local_date

bp = Blueprint("super_admin", __name__)
bp.before_request(role_required(Role.super_admin))

SAFE_BACK = re.compile(r"/admin/[A-Za-z0-9/_\-?=&.%+]{0,200}")

DASHBOARD_ROWS = 10

STATUS_ORDER = case(
    (Hospital.status == HospitalStatus.pending, 0),
    (Hospital.status == HospitalStatus.active, 1),
    else_=2,
)


def _week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the week of `moment` (the platform spans time zones: weeks are UTC)."""
    day = moment.astimezone(UTC).date()
    return datetime.combine(day - timedelta(days=day.weekday()), time(0), tzinfo=UTC)


def booking_counts(now: datetime) -> dict[str, int]:
    """Appointments (not cancelled) that start this week and this month, UTC."""
    week = _week_start(now)
    month = datetime(now.year, now.month, 1, tzinfo=UTC)
    next_month = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    live = Appointment.status != AppointmentStatus.cancelled

    def between(start: datetime, end: datetime):  # type: ignore[no-untyped-def]
        return func.count(case((and_(live, Appointment.start_at >= start, Appointment.start_at < end), 1)))

    week_count, month_count = db.session.execute(
        select(between(week, week + timedelta(days=7)), between(month, next_month))
    ).one()
    return {"week": week_count or 0, "month": month_count or 0}


@bp.get("/")
def dashboard():
    # The hospitals that wait for a decision; every hospital is on the Hospitals page.
    hospitals = db.session.scalars(
        select(Hospital)
        .where(Hospital.status == HospitalStatus.pending)
        .order_by(Hospital.created_at, Hospital.id)
        .limit(DASHBOARD_ROWS)
    ).all()
    now = clock.now()
    trend = report_service.bookings_trend(now)
    weeks = list(zip(trend.keys, trend.series[0].values, strict=True))
    chart = None
    if not trend.is_empty:
        chart = bar_chart(
            [local_date(start, "%d %b") for start, _ in weeks],
            [count for _, count in weeks],
            label=gettext("Bookings per week, last 12 weeks"),
        )
    return render(
        "super_admin/dashboard.html",
        counts=report_service.platform_counts(),
        bookings=booking_counts(now),
        trend=chart,
        trend_rows=[(local_date(start, "%d %b %Y"), count) for start, count in weeks],
        hospitals=hospitals,
        form=EmptyForm(),
    )


@bp.get("/counts")
def counts():
    return render("super_admin/dashboard.html", "counts", counts=report_service.platform_counts())


@bp.post("/hospitals/<int:hospital_id>/status")
def set_hospital_status(hospital_id: int):
    hospital = get_or_404(Hospital, hospital_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    action = request.form.get("action")
    try:
        if action == "approve":
            hospital_service.approve_hospital(hospital, current_user)
        elif action == "suspend":
            hospital_service.suspend_hospital(hospital, current_user)
        else:
            abort(400)
    except DomainError as error:
        db.session.rollback()
        if is_htmx():
            return render(
                "super_admin/dashboard.html",
                "hospital_row",
                status=409,
                hospital=hospital,
                form=form,
                row_message=error.message,
            )
        flash(error.message, "error")
        return redirect_to(_back())
    db.session.commit()
    message = gettext(
        "%(name)s is now %(status)s.", name=hospital.name, status=gettext(hospital.status.value)
    )
    if is_htmx():
        response = render(
            "super_admin/dashboard.html", "hospital_row", hospital=hospital, form=form, row_message=message
        )
        return trigger(response, "hospitalsChanged")
    flash(message, "success")
    return redirect_to(_back())


def _back() -> str:
    """Where a plain form post returns: the admin page it came from, else the dashboard."""
    target = request.form.get("next", "")
    if SAFE_BACK.fullmatch(target) and "//" not in target:
        return target
    return url_for("super_admin.dashboard")


from hms.super_admin import directory as _directory  # noqa: E402,F401  (registers its routes)
from hms.super_admin import outbox as _outbox  # noqa: E402,F401  (registers its routes)
from hms.super_admin import reports as _reports  # noqa: E402,F401  (registers its routes)
