"""Hospital administrator: reports on his hospital (its scope comes from his account, never the URL)."""

from __future__ import annotations

from flask import g

from hms.hospital_admin.routes import bp
from hms.reports import pages
from hms.services.reports import Scope

EP = "hospital_admin"


def _scope() -> Scope:
    return Scope(g.hospital)


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
