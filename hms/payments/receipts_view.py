"""The one way a receipt PDF leaves the server, for every role that may download it."""

from __future__ import annotations

from flask import Response, abort

from hms.extensions import db
from hms.models import Payment
from hms.services.audit import record_event
from hms.services.receipts import receipt_pdf


def receipt_response(payment: Payment) -> Response:
    if payment.receipt_number is None:
        abort(404)  # only payments that went through have receipts
    body = receipt_pdf(payment)
    record_event(
        "view",
        "receipt",
        payment.id,
        patient_id=payment.bill.patient_id,
        hospital_id=payment.bill.hospital_id,
    )
    db.session.commit()
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="receipt-{payment.receipt_number}.pdf"'
    return response
