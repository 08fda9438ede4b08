"""Hospital administrator pages for billing: bills with filters and totals, CSV export, the desk
(bills with items, desk payments, receipts), refunds, and the hospital's refund policy."""

from __future__ import annotations

from flask import abort, flash, g, url_for
from flask_login import current_user

from hms.errors import error_response
from hms.extensions import db
from hms.forms import EmptyForm, attach_error
from hms.hospital_admin.routes import bp
from hms.htmx import redirect_to, render
from hms.i18n import N_
from hms.payments import desk
from hms.payments.forms import BillingSettingsForm
from hms.services import billing
from hms.services.errors import DomainError

EP = "hospital_admin"


@bp.get("/bills")
def desk_bills():
    return desk.bills_page(g.hospital, EP)


@bp.get("/bills.csv")
def bills_csv():
    return desk.bills_csv(g.hospital)


@bp.route("/bills/new", methods=["GET", "POST"])
def desk_new_bill():
    return desk.new_bill(g.hospital, EP)


@bp.get("/bills/<int:bill_id>")
def desk_bill(bill_id: int):
    return desk.bill_page(g.hospital, EP, bill_id)


@bp.post("/bills/<int:bill_id>/items")
def desk_add_item(bill_id: int):
    return desk.add_item(g.hospital, EP, bill_id)


@bp.post("/bills/<int:bill_id>/items/<int:item_id>/delete")
def desk_remove_item(bill_id: int, item_id: int):
    return desk.remove_item(g.hospital, EP, bill_id, item_id)


@bp.post("/bills/<int:bill_id>/issue")
def desk_issue(bill_id: int):
    return desk.issue(g.hospital, EP, bill_id)


@bp.post("/bills/<int:bill_id>/cancel")
def desk_cancel(bill_id: int):
    return desk.cancel(g.hospital, EP, bill_id)


@bp.post("/bills/<int:bill_id>/refund")
def desk_refund(bill_id: int):
    return desk.refund_part(g.hospital, EP, bill_id)


@bp.post("/bills/<int:bill_id>/payments")
def desk_payment(bill_id: int):
    return desk.record_payment(g.hospital, EP, bill_id)


@bp.get("/payments/<int:payment_id>/receipt.pdf")
def desk_receipt(payment_id: int):
    return desk.receipt(g.hospital, payment_id)


@bp.get("/refunds")
def desk_refunds():
    return desk.refunds_page(g.hospital, EP)


@bp.post("/refunds/<int:refund_id>/pay-out")
def desk_pay_out(refund_id: int):
    return desk.pay_out_refund(g.hospital, EP, refund_id)


@bp.post("/refunds/<int:refund_id>/retry")
def retry_refund(refund_id: int):
    """Send an online refund to Stripe again (after an outage, or after Stripe refused it)."""
    refund = billing.hospital_refund(g.hospital.id, refund_id) or abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        billing.retry_refund(refund, current_user)
    except DomainError as error:
        db.session.rollback()
        return error_response(error.status, error.message)
    db.session.commit()
    flash(N_("The refund was sent to Stripe again."), "success")
    return redirect_to(url_for("hospital_admin.desk_refunds"))


@bp.route("/billing/settings", methods=["GET", "POST"])
def billing_settings():
    form = BillingSettingsForm(obj=g.hospital)
    if form.validate_on_submit():
        try:
            billing.set_refund_percent(g.hospital, form.refund_percent.data, current_user)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(N_("Billing settings saved."), "success")
            return redirect_to(url_for("hospital_admin.billing_settings"))
    status = 422 if form.is_submitted() else 200
    return render(
        "hospital_admin/billing_settings.html", "form", status=status, form=form, hospital=g.hospital
    )
