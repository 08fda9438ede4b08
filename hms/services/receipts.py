"""PDF receipts (fpdf2): one page per payment, with its unique receipt number."""

from __future__ import annotations

import os

from flask import current_app
from fpdf import FPDF

from hms.models import Payment
from hms.money import format_money
from hms.services.prescription_pdf import _latin1  # the same Latin-1 fallback as prescriptions
from hms.templating import local_time


class _Receipt(FPDF):
    def __init__(self) -> None:
        super().__init__(format=(148, 210))  # A5 in millimetres
        self.set_auto_page_break(auto=True, margin=12)
        self.set_margins(12, 12, 12)
        font = current_app.config.get("RECEIPT_FONT")
        if font and os.path.exists(font):
            self.add_font("Receipt", "", font)
            self.font_name = "Receipt"
            self.unicode_font = True
        else:  # the core font knows Latin-1 only
            self.font_name = "Helvetica"
            self.unicode_font = False

    def safe(self, value: str) -> str:
        if self.unicode_font:
            return value
        return "".join(_latin1(c) for c in value)

    def line_of(self, label: str, value: str) -> None:
        self.set_font(self.font_name, size=9)
        self.cell(42, 6, self.safe(label))
        self.set_font(self.font_name, size=10)
        self.multi_cell(0, 6, self.safe(value), new_x="LMARGIN", new_y="NEXT")


def receipt_pdf(payment: Payment) -> bytes:
    """The receipt for a payment that succeeded (also after a refund, which it mentions)."""
    bill = payment.bill
    hospital = bill.hospital
    pdf = _Receipt()
    pdf.set_title(f"Receipt {payment.receipt_number}")
    pdf.set_author(hospital.name)
    pdf.add_page()
    pdf.set_font(pdf.font_name, size=15)
    pdf.multi_cell(0, 8, pdf.safe(hospital.name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.font_name, size=9)
    address = ", ".join(part for part in (hospital.address, hospital.city, hospital.phone) if part)
    pdf.multi_cell(0, 5, pdf.safe(address), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(pdf.font_name, size=13)
    pdf.cell(0, 8, pdf.safe(f"Receipt {payment.receipt_number}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    when = local_time(payment.settled_at or payment.created_at, hospital.tz, "%d %b %Y, %H:%M")
    pdf.line_of("Date", f"{when} ({hospital.timezone})")
    pdf.line_of("Patient", f"{bill.patient.name} (MRN {bill.patient.mrn})")
    pdf.line_of("Bill", bill.number)
    pdf.line_of("Paid by", payment.method.label)
    if payment.recorded_by is not None:
        pdf.line_of("Received by", payment.recorded_by.full_name)
    pdf.ln(3)
    pdf.set_font(pdf.font_name, size=9)
    for item in bill.items:
        label = item.description if item.quantity == 1 else f"{item.quantity} × {item.description}"
        pdf.cell(90, 6, pdf.safe(label[:70]))
        pdf.cell(0, 6, pdf.safe(format_money(item.amount_minor, bill.currency)), align="R")
        pdf.ln(6)
    pdf.cell(90, 6, pdf.safe("Bill total"))
    pdf.cell(0, 6, pdf.safe(format_money(bill.total_minor, bill.currency)), align="R")
    pdf.ln(9)
    pdf.set_font(pdf.font_name, size=13)
    pdf.cell(90, 8, pdf.safe("Amount paid"))
    pdf.cell(0, 8, pdf.safe(format_money(payment.amount_minor, payment.currency)), align="R")
    pdf.ln(9)
    pdf.set_font(pdf.font_name, size=10)
    if payment.refunded_minor:
        pdf.cell(90, 6, pdf.safe("Refunded"))
        pdf.cell(0, 6, pdf.safe(format_money(payment.refunded_minor, payment.currency)), align="R")
        pdf.ln(6)
    pdf.cell(90, 6, pdf.safe("Balance still owed on the bill"))
    pdf.cell(0, 6, pdf.safe(format_money(max(bill.balance_minor, 0), bill.currency)), align="R")
    pdf.ln(10)
    pdf.set_font(pdf.font_name, size=8)
    pdf.multi_cell(0, 4, pdf.safe("Thank you. Keep this receipt for your records."))
    return bytes(pdf.output())
