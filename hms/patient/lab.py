"""The patient's test results (issue 21): his verified laboratory results with units, ranges and flags,
a trend per test over time (server-drawn SVG), one order's results, and its report as a PDF.

Only released results (verified, or amended since) are shown (`lab.visible_result`); another
patient's order is a 404."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask import abort, make_response
from flask_babel import gettext
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from hms.charts import line_chart
from hms.extensions import db
from hms.htmx import render
from hms.models import LabOrder, LabOrderItem, LabOrderStatus, LabResult
from hms.patient.routes import bp
from hms.services import clinical, lab
from hms.services.lab_report_pdf import lab_report_pdf
from hms.templating import local_date

ORDERS_SHOWN = 50
TREND_POINTS = 12


def _details(query):  # type: ignore[no-untyped-def]
    """An order with all the page and the report show, in a fixed number of statements."""
    return query.options(*lab.order_loading())


def _orders(patient_id: int) -> list[LabOrder]:
    """The patient's orders but the cancelled ones, newest first."""
    return list(
        db.session.scalars(
            _details(select(LabOrder))
            .where(LabOrder.patient_id == patient_id, LabOrder.status != LabOrderStatus.cancelled)
            .order_by(LabOrder.ordered_at.desc(), LabOrder.id.desc())
            .limit(ORDERS_SHOWN)
        )
    )


def _order_or_404(order_id: int) -> LabOrder:
    order = db.session.scalar(_details(select(LabOrder)).where(LabOrder.id == order_id))
    if order is None or order.patient_id != current_user.patient.id:
        abort(404)
    return order


def _released(order: LabOrder) -> list[tuple[LabOrderItem, LabResult | None]]:
    """Each item with the result the patient may see (None while it is not verified)."""
    return [(item, lab.visible_result(current_user, item)) for item in order.items]


@dataclass
class Trend:
    """A test's verified numbers over time, with the latest reference range."""

    name: str
    unit: str
    points: list[tuple[datetime, str, Decimal]] = field(default_factory=list)
    low: Decimal | None = None
    high: Decimal | None = None

    def chart(self) -> Markup:
        shown = sorted(self.points)[-TREND_POINTS:]
        labels = [label for _, label, _ in shown]
        series: list[tuple[str, list[float | None]]] = [(self.name, [float(v) for _, _, v in shown])]
        if self.high is not None:
            series.append((gettext("Upper limit"), [float(self.high)] * len(shown)))
        if self.low is not None:
            series.append((gettext("Lower limit"), [float(self.low)] * len(shown)))
        title = gettext("%(test)s over time (%(unit)s)", test=self.name, unit=self.unit)
        return line_chart(labels, series, label=title)


def _trends(orders: list[LabOrder]) -> list[Trend]:
    """A trend for each test with at least two verified numbers (tests matched by LOINC code, name, unit)."""
    trends: dict[tuple[str, str, str], Trend] = defaultdict(lambda: Trend("", ""))
    for order in orders:
        for item, result in _released(order):
            if result is None or result.value_number is None:
                continue
            key = (item.test.loinc or "", item.test.name.casefold(), result.unit or "")
            trend = trends[key]
            trend.name, trend.unit = item.test.name, result.unit or ""
            moment = order.collected_at or order.ordered_at
            day = local_date(moment.astimezone(order.hospital.tz).date(), "%d %b %Y")
            trend.points.append((moment, day, result.value_number))
            if trend.low is None and trend.high is None:  # orders come newest first: the latest range
                trend.low, trend.high = result.reference_low, result.reference_high
    return [t for t in trends.values() if len(t.points) >= 2]


@bp.get("/lab")
def lab_results():
    patient = current_user.patient
    orders = _orders(patient.id)
    response = render(
        "patient/lab/results.html",
        orders=[(order, _released(order)) for order in orders],
        trends=_trends(orders),
    )
    clinical.audit("view", "lab_order", None, patient_id=patient.id, detail="results list")
    db.session.commit()  # after rendering: the commit would expire every row the page reads
    return response


@bp.get("/lab/<int:lab_order_id>")
def lab_order(lab_order_id: int):
    order = _order_or_404(lab_order_id)
    response = render("patient/lab/order.html", order=order, rows=_released(order))
    clinical.audit("view", "lab_order", order.id, patient_id=order.patient_id, hospital_id=order.hospital_id)
    db.session.commit()
    return response


@bp.get("/lab/<int:lab_order_id>.pdf")
def lab_report(lab_order_id: int):
    order = _order_or_404(lab_order_id)
    rows = [(item, result) for item, result in _released(order) if result is not None]
    if not rows:
        abort(404)
    body = lab_report_pdf(order, rows)
    clinical.audit(
        "download", "lab_order", order.id, patient_id=order.patient_id, hospital_id=order.hospital_id
    )
    db.session.commit()
    response = make_response(body)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{order.number}.pdf"'
    return response
