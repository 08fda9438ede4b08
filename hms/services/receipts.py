"""PDF receipts: one A5 page per payment, with its unique receipt number, in the reader's language
(see hms/pdf.py for fonts)."""

from __future__ import annotations

from flask_babel import gettext

from hms.models import Payment
from hms.money import format_money
from hms.pdf import Document
from hms.templating import locale_code, zoned_time


def receipt_pdf(payment: Payment) -> bytes:
    """The receipt for a payment that succeeded (also after a refund, which it mentions)."""
    doc = Document((148, 210), margin=12)  # A5 in millimetres
    with doc.language():
        _draw(doc, payment)
    return bytes(doc.output())


def _draw(doc: Document, payment: Payment) -> None:
    bill = payment.bill
    hospital = bill.hospital

    def money(amount_minor: int) -> str:
        return format_money(amount_minor, bill.currency, locale_code())

    doc.set_title(doc.text_of(gettext("Receipt %(number)s", number=payment.receipt_number)))
    doc.set_author(doc.text_of(hospital.name))
    doc.add_page()
    doc.write_line(hospital.name, size=15, height=8)
    doc.write_line(
        ", ".join(part for part in (hospital.address, hospital.city, hospital.phone) if part),
        size=9,
        height=5,
    )
    doc.ln(4)
    doc.write_line(gettext("Receipt %(number)s", number=payment.receipt_number), size=13, height=8)
    doc.ln(2)
    when = zoned_time(payment.settled_at or payment.created_at, hospital.tz, "%d %b %Y")
    details = [
        (gettext("Date"), when),
        (gettext("Patient"), gettext("%(name)s (MRN %(mrn)s)", name=bill.patient.name, mrn=bill.patient.mrn)),
        (gettext("Bill"), bill.number),
        (gettext("Paid by"), gettext(payment.method.label)),
    ]
    if payment.recorded_by is not None:
        details.append((gettext("Received by"), payment.recorded_by.full_name))
    for label, value in details:
        doc.row([(42, label, "start"), (0, value, "start")], 6)
    doc.ln(3)
    for item in bill.items:
        label = item.description if item.quantity == 1 else f"{item.quantity} × {item.description}"
        doc.row([(90, label[:70], "start"), (0, money(item.amount_minor), "end")], 6, size=9)
    doc.row([(90, gettext("Bill total"), "start"), (0, money(bill.total_minor), "end")], 6, size=9)
    doc.ln(3)
    doc.row([(90, gettext("Amount paid"), "start"), (0, money(payment.amount_minor), "end")], 8, size=13)
    doc.ln(1)
    if payment.refunded_minor:
        doc.row([(90, gettext("Refunded"), "start"), (0, money(payment.refunded_minor), "end")], 6)
    owed = money(max(bill.balance_minor, 0))
    doc.row([(90, gettext("Balance still owed on the bill"), "start"), (0, owed, "end")], 6)
    doc.ln(4)
    doc.write_line(gettext("Thank you. Keep this receipt for your records."), size=8, height=4)
