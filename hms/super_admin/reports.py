"""Platform administrator: reports over every hospital, or one chosen in the filters."""

from __future__ import annotations

from hms.reports import pages
from hms.services.reports import Scope
from hms.super_admin.routes import bp

EP = "super_admin"


def _scope() -> Scope:
    return Scope()


@bp.get("/reports")
def reports():
    return pages.index(_scope(), EP)


@bp.get("/reports.csv")
def reports_csv():
    return pages.csv_download(_scope(), EP)


@bp.post("/reports")
def save_report():
    return pages.save(_scope(), EP)


@bp.get("/reports/<int:report_id>")
def saved_report(report_id: int):
    return pages.saved(_scope(), EP, report_id)


@bp.get("/reports/<int:report_id>.csv")
def saved_report_csv(report_id: int):
    return pages.saved_csv(_scope(), EP, report_id)


@bp.post("/reports/<int:report_id>")
def update_report(report_id: int):
    return pages.update(_scope(), EP, report_id)


@bp.post("/reports/<int:report_id>/delete")
def delete_report(report_id: int):
    return pages.delete(_scope(), EP, report_id)
