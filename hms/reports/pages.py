"""Report pages for one scope (a hospital's admin, or the platform's): build and run a report (an HTMX
fragment of table + chart), download it as CSV, save it under a name, open, edit and delete it.

`ep` is the blueprint the routes live in (hospital_admin or super_admin); the scope always comes from
the logged-in user, never from the request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, flash, make_response, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from hms import query as query_args
from hms.charts import series_chart
from hms.extensions import db
from hms.htmx import redirect_to, render
from hms.i18n import N_
from hms.models import SavedReport
from hms.money import minor_to_decimal
from hms.reports.forms import ReportForm, attach_errors, report_form
from hms.services import reports
from hms.services.errors import Invalid
from hms.services.reports import InvalidReport, ReportParams, ReportResult, Scope

SERIES_LABELS = {
    "booked": N_("Booked"),
    "arrived": N_("Arrived"),
    "fulfilled": N_("Fulfilled"),
    "cancelled": N_("Cancelled"),
    "noshow": N_("No-show"),
    "bookings": N_("Bookings"),
    "new patients": N_("New patients"),
    "no-show rate": N_("No-show rate (%)"),
    "no-shows": N_("No-shows"),
    "attended or no-show": N_("Attended or no-show"),
    "units dispensed": N_("Units dispensed"),
    "average rating": N_("Average rating (1–5)"),
    "ratings": N_("Ratings"),
    "average turnaround": N_("Average turnaround (minutes)"),
    "verified results": N_("Verified results"),
    "critical share": N_("Critical values (%)"),
    "critical values": N_("Critical values"),
    "results": N_("Results"),
    "occupancy rate": N_("Bed occupancy (%)"),
    "occupied bed-days": N_("Occupied bed-days"),
    "available bed-days": N_("Available bed-days"),
    "average stay": N_("Average length of stay (days)"),
    "discharges": N_("Discharges"),
}


def series_label(name: str, currency: str | None = None) -> str:
    if currency:
        return _("Revenue (%(currency)s)", currency=currency)
    return _(SERIES_LABELS.get(name, name))


def _chart_label(result: ReportResult, key: Any, label: str) -> str:
    if result.group == "month":
        return format_date(key, "MMM yyyy")
    if result.group in ("day", "week"):
        return format_date(key, "d MMM")
    return label


def chart(result: ReportResult) -> Any:
    """The result's charted series as an inline SVG bar chart (stacked for appointment statuses)."""
    if result.is_empty:
        return None
    charted = []
    for s in result.series:
        if not s.charted:
            continue
        values = [float(minor_to_decimal(int(v), s.currency)) for v in s.values] if s.currency else s.values
        charted.append((series_label(s.name, s.currency), values))
    labels = [_chart_label(result, k, label) for k, label in zip(result.keys, result.labels, strict=True)]
    return series_chart(
        labels,
        charted,
        label=_(result.metric.label),
        stacked=result.params.metric == "appointments",
    )


def _page(
    scope: Scope,
    ep: str,
    form: ReportForm,
    *,
    result: ReportResult | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    report: SavedReport | None = None,
) -> Response:
    context: dict[str, Any] = {
        "ep": ep,
        "scope": scope,
        "form": form,
        "result": result,
        "chart": chart(result) if result else None,
        "errors": errors or {},
        "series_label": series_label,
        "group_label": _(reports.GROUP_LABELS[result.group]) if result else "",
    }
    if report is not None:
        return render("reports/saved.html", "result", status=status, report=report, **context)
    return render(
        "reports/index.html",
        "result",
        status=status,
        saved=reports.saved_reports(current_user, scope),
        **context,
    )


def index(scope: Scope, ep: str) -> Response:
    """The builder; with parameters in the URL it runs them (the result alone for HTMX)."""
    if "metric" not in query_args.cleaned():
        form = report_form(scope, None, reports.default_params(scope).to_json())
        return _page(scope, ep, form)
    form = report_form(scope, query_args.cleaned())
    try:
        params = reports.parse_params(query_args.cleaned(), scope)
    except InvalidReport as error:
        attach_errors(form, error.errors)
        return _page(scope, ep, form, errors=error.errors, status=422)
    return _page(scope, ep, form, result=reports.run_report(params, scope))


def _csv_response(result: ReportResult, name: str) -> Response:
    response = make_response(result.csv())
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def _file_name(params: ReportParams) -> str:
    return f"report-{params.metric}-{params.group}-{params.start.isoformat()}-{params.end.isoformat()}"


def csv_download(scope: Scope, ep: str) -> Response:
    try:
        params = reports.parse_params(query_args.cleaned(), scope)
    except InvalidReport as error:
        form = report_form(scope, query_args.cleaned())
        attach_errors(form, error.errors)
        return _page(scope, ep, form, errors=error.errors, status=422)
    return _csv_response(reports.run_report(params, scope), _file_name(params))


def save(scope: Scope, ep: str) -> Response:
    """Save the parameters posted (the builder's, with a name) as a new report."""
    form = report_form(scope, request.form)
    try:
        params = reports.parse_params(request.form, scope)
        report = reports.save_report(current_user, scope, request.form.get("name"), params)
    except InvalidReport as error:
        db.session.rollback()
        attach_errors(form, error.errors)
        return _page(scope, ep, form, errors=error.errors, status=422)
    except Invalid as error:
        db.session.rollback()
        errors = {error.field or "name": error.message}
        attach_errors(form, errors)
        return _page(scope, ep, form, result=reports.run_report(params, scope), errors=errors, status=422)
    db.session.commit()
    flash(_("Report “%(name)s” saved.", name=report.name), "success")
    return redirect_to(url_for(f"{ep}.saved_report", report_id=report.id))


def _owned(scope: Scope, report_id: int) -> SavedReport:
    return reports.owned_report(current_user, scope, report_id) or abort(404)


def saved(scope: Scope, ep: str, report_id: int) -> Response:
    """A saved report, run now, with its settings to edit."""
    report = _owned(scope, report_id)
    saved_params = report.params if isinstance(report.params, dict) else {}
    form = report_form(scope, None, {**saved_params, "name": report.name})
    try:
        params = reports.load_params(report, scope)
    except InvalidReport as error:
        attach_errors(form, error.errors)
        return _page(scope, ep, form, errors=error.errors, report=report)
    return _page(scope, ep, form, result=reports.run_report(params, scope), report=report)


def saved_csv(scope: Scope, ep: str, report_id: int) -> Response:
    report = _owned(scope, report_id)
    try:
        params = reports.load_params(report, scope)
    except InvalidReport:
        return redirect_to(url_for(f"{ep}.saved_report", report_id=report.id))
    return _csv_response(reports.run_report(params, scope), _file_name(params))


def update(scope: Scope, ep: str, report_id: int) -> Response:
    report = _owned(scope, report_id)
    form = report_form(scope, request.form)
    try:
        params = reports.parse_params(request.form, scope)
        reports.update_saved_report(report, scope, request.form.get("name"), params)
    except Invalid as error:
        db.session.rollback()
        errors = getattr(error, "errors", None) or {error.field or "name": error.message}
        attach_errors(form, errors)
        return _page(scope, ep, form, errors=errors, status=422, report=report)
    db.session.commit()
    flash(_("Report “%(name)s” saved.", name=report.name), "success")
    return redirect_to(url_for(f"{ep}.saved_report", report_id=report.id))


def delete(scope: Scope, ep: str, report_id: int) -> Response:
    report = _owned(scope, report_id)
    name = report.name
    reports.delete_saved_report(report)
    db.session.commit()
    flash(_("Report “%(name)s” deleted.", name=name), "success")
    return redirect_to(url_for(f"{ep}.reports"))


def add_routes(bp: Blueprint, scope: Callable[[], Scope]) -> None:
    """The report pages on a role's blueprint (`/reports…`), over the scope that role's account
    gives (a hospital admin's hospital, or the whole platform)."""
    ep = bp.name
    routes: list[tuple[str, str, str, Callable[..., Response]]] = [
        ("/reports", "reports", "GET", lambda: index(scope(), ep)),
        ("/reports.csv", "reports_csv", "GET", lambda: csv_download(scope(), ep)),
        ("/reports", "save_report", "POST", lambda: save(scope(), ep)),
        ("/reports/<int:report_id>", "saved_report", "GET", lambda report_id: saved(scope(), ep, report_id)),
        (
            "/reports/<int:report_id>.csv",
            "saved_report_csv",
            "GET",
            lambda report_id: saved_csv(scope(), ep, report_id),
        ),
        (
            "/reports/<int:report_id>",
            "update_report",
            "POST",
            lambda report_id: update(scope(), ep, report_id),
        ),
        (
            "/reports/<int:report_id>/delete",
            "delete_report",
            "POST",
            lambda report_id: delete(scope(), ep, report_id),
        ),
    ]
    for rule, endpoint, method, view in routes:
        bp.add_url_rule(rule, endpoint, view, methods=[method])
