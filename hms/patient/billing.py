"""Patient pages for bills: my bills, a bill, pay online (Stripe Checkout), receipts, history."""

from __future__ import annotations

from flask import abort, current_app, flash, url_for
from flask_login import current_user

from hms import query as query_args
from hms.errors import error_response
from hms.extensions import db, limiter
from hms.forms import EmptyForm
from hms.htmx import is_htmx, redirect_to, render
from hms.i18n import N_
from hms.models import BillStatus
from hms.patient.routes import bp
from hms.payments.receipts_view import receipt_response
from hms.services import billing
from hms.services.errors import DomainError

STATUS_TABS = {
    "pending": BillStatus.issued,
    "paid": BillStatus.paid,
    "cancelled": BillStatus.cancelled,
    "refunded": BillStatus.refunded,
}

OUTCOME_MESSAGES = {
    "paid": (N_("Thank you: your payment is confirmed."), "success"),
    "unchanged": (N_("This payment was already settled."), "info"),
    "cancelled": (N_("The online payment was cancelled. Nothing was charged."), "info"),
    "failed": (N_("The payment did not go through. Nothing was charged; you can try again."), "error"),
    "open": (
        N_("We are waiting for the card company to confirm your payment. This page updates by itself."),
        "info",
    ),
    "rejected": (N_("This payment could not be confirmed. Please contact the hospital."), "error"),
}


def _patient_id() -> int:
    return current_user.patient.id


def _own_bill(bill_id: int):  # type: ignore[no-untyped-def]
    return billing.patient_bill(_patient_id(), bill_id) or abort(404)


def _context(**extra):  # type: ignore[no-untyped-def]
    return {"online": billing.online_payments_enabled(), "form": EmptyForm(), **extra}


@bp.get("/bills")
def bills():
    tab = query_args.choice("status", STATUS_TABS) or ""
    rows = billing.patient_bills(_patient_id(), STATUS_TABS.get(tab))
    return render("patient/bills.html", "bills", bills=rows, tab=tab, tabs=list(STATUS_TABS), **_context())


@bp.get("/bills/<int:bill_id>/row")
def bill_row(bill_id: int):
    """The bill's row alone: the page polls it while an online payment is pending."""
    return render("patient/bills.html", "bill_row", bill=_own_bill(bill_id), inline=True, **_context())


@bp.get("/bills/<int:bill_id>")
def bill(bill_id: int):
    row = _own_bill(bill_id)
    if query_args.flag("checkout", "cancelled") and not is_htmx():
        flash(N_("You left the payment page. Nothing was charged unless you finished paying."), "info")
    return render("patient/bill.html", "bill_status", bill=row, **_context())


def _payment_limit() -> str:
    return current_app.config["PAYMENT_RATE_LIMIT"]


@bp.post("/bills/<int:bill_id>/pay")
@limiter.limit(_payment_limit)
def pay_bill(bill_id: int):
    """Send the patient to Stripe's hosted checkout for the balance (computed here, never sent)."""
    row = _own_bill(bill_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        payment = billing.begin_online_payment(row)
        db.session.commit()
        payment = billing.open_checkout(
            payment,
            success_url=url_for("patient.checkout_return", bill_id=row.id, _external=True)
            + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=url_for("patient.bill", bill_id=row.id, checkout="cancelled", _external=True),
        )
    except DomainError as error:
        db.session.commit()  # keep what Stripe told us (an attempt that failed, a late payment)
        return _refused(error)
    db.session.commit()
    if is_htmx():
        return redirect_to(payment.checkout_url, external=True)  # Stripe gave it to us
    # Without JavaScript the browser would have to follow a form's redirect to Stripe, which our
    # Content-Security-Policy (form-action 'self') forbids: the bill page links there instead.
    flash(N_("Your payment is ready: continue to the secure payment page."), "info")
    return redirect_to(url_for("patient.bill", bill_id=row.id))


def _refused(error: DomainError):  # type: ignore[no-untyped-def]
    """A clear 4xx with the reason: a page, or for htmx a message in the page's message area."""
    return error_response(error.status, error.message)


@bp.get("/bills/<int:bill_id>/return")
def checkout_return(bill_id: int):
    """Back from Stripe. The URL proves nothing: the session is fetched from Stripe to check it."""
    row = _own_bill(bill_id)
    session_id = query_args.text("session_id", 256)
    if not session_id.startswith("cs_") or len(session_id) > 255:
        abort(404)
    try:
        outcome = billing.confirm_checkout(row, session_id)
    except DomainError:
        db.session.rollback()
        abort(404)
    db.session.commit()
    message, category = OUTCOME_MESSAGES[outcome.result]
    flash(message, category)
    return redirect_to(url_for("patient.bill", bill_id=row.id))


@bp.post("/bills/<int:bill_id>/cancel-payment")
@limiter.limit(_payment_limit)
def cancel_payment(bill_id: int):
    row = _own_bill(bill_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        outcome = billing.cancel_online_payment(row)
    except DomainError as error:
        db.session.commit()
        if is_htmx():
            row = _own_bill(bill_id)
            return render(
                "patient/bills.html",
                "bill_row",
                status=409,
                bill=row,
                row_message=error.message,
                inline=True,
                **_context(),
            )
        return _refused(error)
    db.session.commit()
    message, category = OUTCOME_MESSAGES[outcome.result]
    row = _own_bill(bill_id)
    if is_htmx():
        return render(
            "patient/bills.html", "bill_row", bill=row, row_message=message, inline=True, **_context()
        )
    flash(message, category)
    return redirect_to(url_for("patient.bill", bill_id=row.id))


@bp.get("/payments")
def payments():
    return render("patient/payments.html", payments=billing.patient_payments(_patient_id()))


@bp.get("/payments/<int:payment_id>/receipt.pdf")
def receipt(payment_id: int):
    payment = billing.patient_payment(_patient_id(), payment_id) or abort(404)
    return receipt_response(payment)
