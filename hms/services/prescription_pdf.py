"""The printable prescription: a one-page A4 PDF made with fpdf2.

Text is set in DejaVu Sans (Debian's fonts-dejavu-core) when that font is installed, so that any
name prints as written; without it the PDF falls back to the core Helvetica font, with text
transliterated to Latin-1 (García stays García, Łódź becomes Lodz)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from hms.models import Prescription, PrescriptionStatus

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
REGULAR = FONT_DIR / "DejaVuSans.ttf"
BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"


# Letters that do not decompose into a Latin letter and an accent, and typographic marks.
_FALLBACK = str.maketrans(
    {
        "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i", "Œ": "OE", "œ": "oe",
        "‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "€": "EUR",
    }
)  # fmt: skip


def _latin1(char: str) -> str:
    """The character itself when the core fonts have it, else its closest Latin-1 spelling."""
    if ord(char) < 256:
        return char
    mapped = char.translate(_FALLBACK)
    if mapped != char:
        return mapped
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    return base if base and all(ord(c) < 256 for c in base) else "?"


class _Document(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4")
        self.unicode = REGULAR.exists() and BOLD.exists()
        if self.unicode:
            self.add_font("DejaVu", "", str(REGULAR))
            self.add_font("DejaVu", "B", str(BOLD))
            self.family = "DejaVu"
        else:
            self.family = "Helvetica"
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 16, 18)

    def text_of(self, value: object) -> str:
        text = "" if value is None else str(value)
        if self.unicode:
            return text
        return "".join(_latin1(c) for c in text)

    def write_line(self, text: object, size: float = 10, bold: bool = False, height: float = 5.5) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.multi_cell(0, height, self.text_of(text), new_x="LMARGIN", new_y="NEXT")

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(self.family, "", 8)
        self.set_text_color(110)
        self.cell(0, 5, self.text_of(f"Page {self.page_no()} · issued electronically with HMS"), align="C")
        self.set_text_color(0)


def prescription_pdf(prescription: Prescription) -> bytes:
    """The PDF of an issued (or cancelled, or superseded) prescription."""
    doc = _Document()
    doc.set_title(doc.text_of(f"Prescription {prescription.label}"))
    doc.set_author(doc.text_of(f"Dr {prescription.doctor.name}"))
    doc.add_page()
    hospital = prescription.hospital
    patient = prescription.patient
    doctor = prescription.doctor
    tz = hospital.tz

    doc.write_line(hospital.name, size=15, bold=True, height=7)
    doc.write_line(", ".join(p for p in (hospital.address, hospital.city) if p), size=9)
    if hospital.phone:
        doc.write_line(f"Tel. {hospital.phone}", size=9)
    doc.ln(4)
    doc.write_line("Prescription", size=13, bold=True, height=7)
    issued = prescription.issued_at.astimezone(tz) if prescription.issued_at else None
    doc.write_line(f"Number: {prescription.number or 'draft (not valid)'}", bold=True)
    doc.write_line(f"Date: {issued:%d %B %Y, %H:%M} ({hospital.timezone})" if issued else "Date: not issued")
    if prescription.status == PrescriptionStatus.cancelled:
        doc.set_text_color(160, 20, 20)
        doc.write_line(f"CANCELLED — {prescription.cancel_reason or ''}", bold=True)
        doc.set_text_color(0)
    elif prescription.status == PrescriptionStatus.superseded:
        doc.set_text_color(160, 20, 20)
        doc.write_line("SUPERSEDED by a newer version — do not dispense", bold=True)
        doc.set_text_color(0)
    doc.ln(3)

    width = (doc.w - doc.l_margin - doc.r_margin) / 2
    doc.set_font(doc.family, "B", 10)
    doc.cell(width, 5.5, doc.text_of("Patient"), new_x="RIGHT", new_y="TOP")
    doc.cell(width, 5.5, doc.text_of("Prescriber"), new_x="LMARGIN", new_y="NEXT")
    doc.set_font(doc.family, "", 10)
    patient_lines = [
        patient.name,
        f"MRN {patient.mrn}",
        f"Born {patient.date_of_birth:%d %B %Y} · {patient.sex.value}",
    ]
    doctor_lines = [
        f"Dr {doctor.name}",
        doctor.specialty,
        *([doctor.qualifications] if doctor.qualifications else []),
        *([f"Licence {doctor.license_number}"] if doctor.license_number else []),
    ]
    for n in range(max(len(patient_lines), len(doctor_lines))):
        doc.cell(width, 5.5, doc.text_of(patient_lines[n] if n < len(patient_lines) else ""), new_x="RIGHT")
        doc.cell(
            width,
            5.5,
            doc.text_of(doctor_lines[n] if n < len(doctor_lines) else ""),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    doc.ln(5)

    doc.set_font(doc.family, "", 9)
    with doc.table(
        col_widths=(6, 42, 48, 18, 12, 48),
        headings_style=FontFace(emphasis="BOLD", fill_color=(235, 238, 242)),
        line_height=5,
        text_align=("RIGHT", "LEFT", "LEFT", "LEFT", "RIGHT", "LEFT"),
    ) as table:
        header = table.row()
        for title in ("#", "Medicine", "Dose, route, frequency", "Duration", "Qty", "Instructions"):
            header.cell(doc.text_of(title))
        for number, item in enumerate(prescription.items, start=1):
            row = table.row()
            row.cell(str(number))
            row.cell(doc.text_of(" ".join(p for p in (item.drug, item.strength, item.form) if p)))
            row.cell(doc.text_of(", ".join(p for p in (item.dose, item.route, item.frequency) if p)))
            row.cell(doc.text_of(item.duration))
            row.cell("" if item.quantity is None else str(item.quantity))
            row.cell(doc.text_of(item.instructions))
    if prescription.note:
        doc.ln(4)
        doc.write_line("Note", bold=True)
        doc.write_line(prescription.note, size=9.5)
    doc.ln(12)
    doc.write_line(f"Dr {doctor.name}", bold=True)
    doc.write_line("Electronically issued; the number above verifies it with the hospital.", size=8)
    return bytes(doc.output())
