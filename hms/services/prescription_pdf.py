"""The printable prescription: an A4 PDF in the reader's language (see hms/pdf.py for fonts)."""

from __future__ import annotations

from flask_babel import gettext
from fpdf.fonts import FontFace

from hms.models import Prescription, PrescriptionStatus
from hms.pdf import Document
from hms.templating import local_date, zoned_time


def prescription_pdf(prescription: Prescription) -> bytes:
    """The PDF of an issued (or cancelled, or superseded) prescription."""
    doc = Document("A4", margin=18)
    with doc.language():
        _draw(doc, prescription)
    return bytes(doc.output())


def _draw(doc: Document, prescription: Prescription) -> None:
    hospital = prescription.hospital
    patient = prescription.patient
    doctor = prescription.doctor
    doc.footer_text = gettext("Page %(page)d · issued electronically with HMS")
    doc.set_title(doc.text_of(gettext("Prescription %(number)s", number=prescription.label)))
    doc.set_author(doc.text_of(gettext("Dr %(name)s", name=doctor.name)))
    doc.add_page()

    doc.write_line(hospital.name, size=15, bold=True, height=7)
    doc.write_line(", ".join(p for p in (hospital.address, hospital.city) if p), size=9)
    if hospital.phone:
        doc.write_line(gettext("Tel. %(phone)s", phone=hospital.phone), size=9)
    doc.ln(4)
    doc.write_line(gettext("Prescription"), size=13, bold=True, height=7)
    number = prescription.number or gettext("draft (not valid)")
    doc.write_line(gettext("Number: %(number)s", number=number), bold=True)
    if prescription.issued_at:
        when = zoned_time(prescription.issued_at, hospital.tz, "%d %B %Y")
        doc.write_line(gettext("Date: %(when)s", when=when))
    else:
        doc.write_line(gettext("Date: not issued"))
    if prescription.status == PrescriptionStatus.cancelled:
        doc.set_text_color(160, 20, 20)
        doc.write_line(gettext("CANCELLED — %(reason)s", reason=prescription.cancel_reason or ""), bold=True)
        doc.set_text_color(0)
    elif prescription.status == PrescriptionStatus.superseded:
        doc.set_text_color(160, 20, 20)
        doc.write_line(gettext("SUPERSEDED by a newer version — do not dispense"), bold=True)
        doc.set_text_color(0)
    doc.ln(3)

    half = doc.width / 2
    doc.row([(half, gettext("Patient"), "start"), (half, gettext("Prescriber"), "start")], 5.5, bold=True)
    patient_lines = [
        patient.name,
        gettext("MRN %(mrn)s", mrn=patient.mrn),
        gettext(
            "Born %(date)s · %(sex)s",
            date=local_date(patient.date_of_birth, "%d %B %Y"),
            sex=gettext(patient.sex.value),
        ),
    ]
    doctor_lines = [
        gettext("Dr %(name)s", name=doctor.name),
        doctor.specialty,
        *([doctor.qualifications] if doctor.qualifications else []),
        *([gettext("Licence %(number)s", number=doctor.license_number)] if doctor.license_number else []),
    ]
    for n in range(max(len(patient_lines), len(doctor_lines))):
        left = patient_lines[n] if n < len(patient_lines) else ""
        right = doctor_lines[n] if n < len(doctor_lines) else ""
        doc.row([(half, left, "start"), (half, right, "start")], 5.5)
    doc.ln(5)

    doc.set_font(doc.family, "", 9)
    with doc.table(
        col_widths=doc.columns((6, 40, 46, 18, 16, 48)),
        headings_style=FontFace(emphasis="BOLD", fill_color=(235, 238, 242)),
        line_height=5,
        text_align=doc.columns((doc.end, doc.start, doc.start, doc.start, doc.end, doc.start)),
    ) as table:
        titles = ("#", gettext("Medicine"), gettext("Dose, route, frequency"), gettext("Duration"))
        header = table.row()
        for title in doc.columns((*titles, gettext("Qty"), gettext("Instructions"))):
            header.cell(doc.text_of(title))
        for number, item in enumerate(prescription.items, start=1):
            row = table.row()
            cells = (
                str(number),
                " ".join(p for p in (item.drug, item.strength, item.form) if p),
                ", ".join(p for p in (item.dose, item.route, item.frequency) if p),
                item.duration,
                "" if item.quantity is None else str(item.quantity),
                item.instructions,
            )
            for text in doc.columns(cells):
                row.cell(doc.text_of(text))
    if prescription.note:
        doc.ln(4)
        doc.write_line(gettext("Note"), bold=True)
        doc.write_line(prescription.note, size=9.5)
    doc.ln(12)
    doc.write_line(gettext("Dr %(name)s", name=doctor.name), bold=True)
    doc.write_line(gettext("Electronically issued; the number above verifies it with the hospital."), size=8)
