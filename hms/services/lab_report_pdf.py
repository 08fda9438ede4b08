"""The printable laboratory report: an A4 PDF of an order's verified results in the reader's language
(see hms/pdf.py for fonts and right-to-left layout)."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext
from fpdf.fonts import FontFace

from hms.models import LabOrder, LabOrderItem, LabResult
from hms.pdf import Document
from hms.templating import local_date, zoned_time

Row = tuple[LabOrderItem, LabResult]


def lab_report_pdf(order: LabOrder, rows: list[Row]) -> bytes:
    """The report of `rows` (each item with its released result) of the order."""
    doc = Document("A4", margin=18)
    with doc.language():
        _draw(doc, order, rows)
    return bytes(doc.output())


def _number(value: Decimal | None, decimals: int) -> str:
    return "" if value is None else f"{value:.{decimals}f}"


def reference_text(result: LabResult, decimals: int) -> str:
    """The reference range as printed: "3.5–5.1", "≥ 3.5", "≤ 5.1" or empty."""
    low, high = _number(result.reference_low, decimals), _number(result.reference_high, decimals)
    if low and high:
        return f"{low}–{high}"
    return f"≥ {low}" if low else f"≤ {high}" if high else ""


def _flag_text(result: LabResult) -> str:
    return f"{result.flag.value} {gettext(result.flag.label)}" if result.flag else ""


def _header(doc: Document, order: LabOrder) -> None:
    hospital = order.hospital
    doc.write_line(hospital.name, size=15, bold=True, height=7)
    doc.write_line(", ".join(p for p in (hospital.address, hospital.city) if p), size=9)
    if hospital.phone:
        doc.write_line(gettext("Tel. %(phone)s", phone=hospital.phone), size=9)
    doc.ln(4)
    doc.write_line(gettext("Laboratory report"), size=13, bold=True, height=7)
    doc.write_line(gettext("Number: %(number)s", number=order.number), bold=True)
    collected = order.collected_at or order.ordered_at
    doc.write_line(gettext("Collected: %(when)s", when=zoned_time(collected, hospital.tz, "%d %B %Y")))
    doc.ln(3)


def _people(doc: Document, order: LabOrder) -> None:
    patient, doctor = order.patient, order.doctor
    half = doc.width / 2
    doc.row([(half, gettext("Patient"), "start"), (half, gettext("Ordered by"), "start")], 5.5, bold=True)
    born = gettext(
        "Born %(date)s · %(sex)s",
        date=local_date(patient.date_of_birth, "%d %B %Y"),
        sex=gettext(patient.sex.value),
    )
    lines = [
        (patient.name, gettext("Dr %(name)s", name=doctor.name)),
        (gettext("MRN %(mrn)s", mrn=patient.mrn), doctor.specialty or ""),
        (born, ""),
    ]
    for left, right in lines:
        doc.row([(half, left, "start"), (half, right, "start")], 5.5)
    doc.ln(5)


def _table(doc: Document, rows: list[Row]) -> None:
    doc.set_font(doc.family, "", 9)
    with doc.table(
        col_widths=doc.columns((52, 26, 24, 30, 42)),
        headings_style=FontFace(emphasis="BOLD", fill_color=(235, 238, 242)),
        line_height=5,
        text_align=doc.columns((doc.start, doc.end, doc.start, doc.start, doc.start)),
    ) as table:
        titles = (
            gettext("Test"),
            gettext("Result"),
            gettext("Unit"),
            gettext("Reference range"),
            gettext("Flag"),
        )
        header = table.row()
        for title in doc.columns(titles):
            header.cell(doc.text_of(title))
        for item, result in rows:
            decimals = item.test.decimals
            cells = (
                item.test.name,
                result.value,
                result.unit or "",
                reference_text(result, decimals),
                _flag_text(result),
            )
            row = table.row()
            for text in doc.columns(cells):
                row.cell(doc.text_of(text))


def _verifiers(doc: Document, order: LabOrder, rows: list[Row]) -> None:
    """Who verified each value (or amended it since, and why)."""
    doc.ln(4)
    tz = order.hospital.tz
    for item, result in rows:
        if result.amends_id:
            text = gettext(
                "%(test)s amended by %(name)s, %(when)s: %(reason)s",
                test=item.test.name,
                name=result.entered_by.full_name,
                when=zoned_time(result.entered_at, tz, "%d %B %Y"),
                reason=result.amend_reason or "",
            )
        else:
            text = gettext(
                "%(test)s verified by %(name)s, %(when)s",
                test=item.test.name,
                name=result.verified_by.full_name if result.verified_by else "",
                when=zoned_time(result.verified_at, tz, "%d %B %Y"),
            )
        doc.write_line(text, size=8.5)


def _draw(doc: Document, order: LabOrder, rows: list[Row]) -> None:
    doc.footer_text = gettext("Page %(page)d · issued electronically with HMS")
    doc.set_title(doc.text_of(gettext("Laboratory report %(number)s", number=order.number)))
    doc.set_author(doc.text_of(order.hospital.name))
    doc.add_page()
    _header(doc, order)
    _people(doc, order)
    _table(doc, rows)
    _verifiers(doc, order, rows)
