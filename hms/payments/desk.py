"""The hospital's billing desk, shared by hospital administrators (hms/hospital_admin/billing.py) and
receptionists (hms/staff/billing.py): each registers these views on its blueprint for its hospital.
`ep` is the blueprint's name, so that templates link within the right one."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from flask import Response, abort, flash, url_for
from flask_babel import gettext
from flask_login import current_user

from hms import clock
from hms import query as query_args
from hms.errors import error_response
from hms.extensions import db
from hms.forms import EmptyForm, attach_error, submit
from hms.htmx import is_htmx, redirect_to, render
from hms.i18n import N_
from hms.models import Bill, BillStatus, Hospital, ItemKind, PaymentMethod
from hms.money import minor_to_decimal
from hms.payments.forms import (
    BillFilterForm,
    CancelBillForm,
    DeskPaymentForm,
    ItemForm,
    NewBillForm,
    RefundForm,
)
from hms.payments.receipts_view import receipt_response
from hms.services import billing
from hms.services.errors import DomainError
from hms.templating import zone_abbreviation


def _bill(hospital: Hospital, bill_id: int) -> Bill:
    return billing.hospital_bill(hospital.id, bill_id) or abort(404)


def _filters(hospital: Hospital) -> tuple[BillFilterForm, billing.BillFilter, int]:
    form = BillFilterForm(query_args.cleaned())
    form.doctor.choices = [("", gettext("Any doctor"))] + [
        (str(i), name) for i, name in billing.hospital_doctors(hospital)
    ]
    form.validate()
    valid = lambda field: field.data if not field.errors else None  # noqa: E731
    status = valid(form.status)
    doctor = valid(form.doctor)
    first, last = valid(form.first), valid(form.last)
    if first and last and last < first:
        form.last.errors = [N_("The end is before the start.")]
        last = None
    f = billing.BillFilter(
        status=BillStatus(status) if status else None,
        first=first,
        last=last,
        doctor_id=int(doctor) if doctor else None,
        patient=(valid(form.patient) or "")[:80],
    )
    return form, f, query_args.page()


def bills_page(hospital: Hospital, ep: str) -> Response:
    form, f, page = _filters(hospital)
    per_page = 20
    rows, total = billing.hospital_bills(hospital, f, page, per_page)
    query = query_args.without("page")
    return render(
        "desk/bills.html",
        "results",
        hospital=hospital,
        ep=ep,
        filters=form,
        bills=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // per_page)),
        query=query,
        totals=billing.totals_by_status(hospital, f),
    )


def _csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    # Spreadsheet formula injection: a cell starting with these would run as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def bills_csv(hospital: Hospital) -> Response:
    _, f, _ = _filters(hospital)
    tz = hospital.tz
    # The cells are the hospital's wall time; the heading says whose ("EAT", or "EST/EDT" for a zone
    # that changes its clocks over the year).
    year = clock.now().year
    zone = zone_abbreviation(tz, [date(year, 1, 1), date(year, 7, 1)])

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(
            [
                "bill",
                f"created ({zone})",
                "status",
                "patient",
                "mrn",
                "doctor",
                "currency",
                "total",
                "paid",
                "refunded",
                "balance",
            ]
        )
        for bill, doctor in billing.export_rows(hospital, f):
            writer.writerow(
                [
                    _csv_cell(v)
                    for v in (
                        bill.number,
                        bill.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                        bill.status.label,
                        bill.patient.name,
                        bill.patient.mrn,
                        doctor,
                        bill.currency,
                        minor_to_decimal(bill.total_minor, bill.currency),
                        minor_to_decimal(bill.paid_minor, bill.currency),
                        minor_to_decimal(bill.refunded_minor, bill.currency),
                        minor_to_decimal(bill.balance_minor, bill.currency),
                    )
                ]
            )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        if buffer.tell():
            yield buffer.getvalue()

    response = Response("".join(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="bills.csv"'
    return response


def new_bill(hospital: Hospital, ep: str) -> Response:
    form = NewBillForm()
    if form.validate_on_submit():
        try:
            bill = billing.create_bill(
                hospital=hospital, mrn=form.mrn.data, actor=current_user, note=form.note.data or ""
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(N_("Draft bill created. Add its items, then issue it."), "success")
            return redirect_to(url_for(f"{ep}.desk_bill", bill_id=bill.id))
    status = 422 if form.is_submitted() else 200
    return render("desk/new_bill.html", "form", status=status, form=form, ep=ep, hospital=hospital)


def _bill_context(bill: Bill, ep: str, **extra):  # type: ignore[no-untyped-def]
    context = {
        "bill": bill,
        "ep": ep,
        "item_form": ItemForm(currency=bill.currency, formdata=None),
        # Offered: the whole balance; the cashier types less for a part payment.
        "payment_form": DeskPaymentForm(
            currency=bill.currency,
            formdata=None,
            amount=str(minor_to_decimal(max(bill.balance_minor, 0), bill.currency)),
        ),
        "cancel_form": CancelBillForm(formdata=None),
        "refund_form": RefundForm(currency=bill.currency, formdata=None),
        "form": EmptyForm(),
        "is_admin": ep == "hospital_admin",
    }
    context.update(extra)
    return context


def bill_page(hospital: Hospital, ep: str, bill_id: int) -> Response:
    bill = _bill(hospital, bill_id)
    return render("desk/bill.html", None, **_bill_context(bill, ep))


def add_item(hospital: Hospital, ep: str, bill_id: int) -> Response:
    bill = _bill(hospital, bill_id)
    form = ItemForm(currency=bill.currency)
    status = 422
    if form.validate_on_submit():
        try:
            billing.add_item(
                bill,
                kind=ItemKind(form.kind.data),
                description=form.description.data,
                quantity=form.quantity.data,
                unit_minor=form.minor,
                actor=current_user,
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
            status = error.status
        else:
            db.session.commit()
            if not is_htmx():
                return redirect_to(url_for(f"{ep}.desk_bill", bill_id=bill.id))
            return render("desk/bill.html", "items", **_bill_context(bill, ep))
    bill = _bill(hospital, bill_id)
    return render("desk/bill.html", "items", status=status, **_bill_context(bill, ep, item_form=form))


def remove_item(hospital: Hospital, ep: str, bill_id: int, item_id: int) -> Response:
    bill = _bill(hospital, bill_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        billing.remove_item(bill, item_id, current_user)
    except DomainError as error:
        db.session.rollback()
        if error.status == 404:
            abort(404)
        return _conflict(bill, ep, "items", error)
    db.session.commit()
    if is_htmx():
        return render("desk/bill.html", "items", **_bill_context(bill, ep))
    return redirect_to(url_for(f"{ep}.desk_bill", bill_id=bill.id))


def _conflict(bill: Bill, ep: str, block: str, error: DomainError) -> Response:
    if is_htmx():
        bill = db.session.get(Bill, bill.id)
        return render("desk/bill.html", block, status=409, **_bill_context(bill, ep, message=error.message))
    flash(error.message, "error")
    return redirect_to(url_for(f"{ep}.desk_bill", bill_id=bill.id))


def issue(hospital: Hospital, ep: str, bill_id: int) -> Response:
    bill = _bill(hospital, bill_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        billing.issue_bill(bill, current_user)
    except DomainError as error:
        db.session.rollback()
        return error_response(error.status, error.message)
    db.session.commit()
    flash(N_("The bill is issued; the patient can see and pay it."), "success")
    return redirect_to(url_for(f"{ep}.desk_bill", bill_id=bill_id))


def cancel(hospital: Hospital, ep: str, bill_id: int) -> Response:
    bill = _bill(hospital, bill_id)
    form = CancelBillForm()
    status = 422
    if form.validate_on_submit():
        try:
            billing.cancel_bill(bill, current_user, form.reason.data)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
            status = error.status
        else:
            db.session.commit()
            flash(N_("The bill is cancelled."), "success")
            return redirect_to(url_for(f"{ep}.desk_bill", bill_id=bill_id))
    bill = _bill(hospital, bill_id)
    return render("desk/bill.html", "cancel", status=status, **_bill_context(bill, ep, cancel_form=form))


def _money_form(
    hospital: Hospital,
    ep: str,
    bill_id: int,
    form_class: type[DeskPaymentForm] | type[RefundForm],
    form_name: str,
    act: Callable[[Bill, Any], str],
) -> Response:
    """A form of the bill's money section (a desk payment, a part refund): validate, `act` (which returns
    the message), commit, and answer with the section again, or the bill's page without JavaScript.
    A refused form comes back in the section, with its input and the error (422, or the rule's status)."""
    bill = _bill(hospital, bill_id)
    form = form_class(currency=bill.currency)
    result = submit(form, lambda: act(bill, form))
    if result.done and not is_htmx():
        flash(result.value, "success")
        return redirect_to(url_for(f"{ep}.desk_bill", bill_id=bill_id))
    bill = _bill(hospital, bill_id)
    if result.done:
        return render("desk/bill.html", "money", **_bill_context(bill, ep, message=result.value))
    return render(
        "desk/bill.html", "money", status=result.status, **_bill_context(bill, ep, **{form_name: form})
    )


def record_payment(hospital: Hospital, ep: str, bill_id: int) -> Response:
    """Cash or card at the desk; the form carries a one-time key so that a double submit counts once."""

    def pay(bill: Bill, form: DeskPaymentForm) -> str:
        payment = billing.record_desk_payment(
            bill,
            amount_minor=form.minor,
            method=PaymentMethod(form.method.data),
            actor=current_user,
            key=form.key.data,
        )
        return gettext("Payment recorded. Receipt %(number)s.", number=payment.receipt_number)

    return _money_form(hospital, ep, bill_id, DeskPaymentForm, "payment_form", pay)


def refund_part(hospital: Hospital, ep: str, bill_id: int) -> Response:
    """Part of what was paid goes back (hospital administrators only: the route decides who)."""

    def refund(bill: Bill, form: RefundForm) -> str:
        billing.refund_part(
            bill, amount_minor=form.minor, reason=form.reason.data, actor=current_user, key=form.key.data
        )
        return N_("Refund recorded.")

    return _money_form(hospital, ep, bill_id, RefundForm, "refund_form", refund)


def receipt(hospital: Hospital, payment_id: int) -> Response:
    payment = billing.hospital_payment(hospital.id, payment_id) or abort(404)
    return receipt_response(payment)


def refunds_page(hospital: Hospital, ep: str) -> Response:
    return render(
        "desk/refunds.html",
        hospital=hospital,
        ep=ep,
        refunds=billing.open_refunds(hospital.id),
        form=EmptyForm(),
        is_admin=ep == "hospital_admin",
    )


def pay_out_refund(hospital: Hospital, ep: str, refund_id: int) -> Response:
    refund = billing.hospital_refund(hospital.id, refund_id) or abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        billing.pay_out_refund(refund, current_user)
    except DomainError as error:
        db.session.rollback()
        return error_response(error.status, error.message)
    db.session.commit()
    flash(N_("Refund marked as paid out."), "success")
    return redirect_to(url_for(f"{ep}.desk_refunds"))
