"""Online payments against a fake Stripe (tests/stripe_fake.py): Checkout, the return URL checked with
Stripe, signed webhooks counted once whatever their order, cancel and retry, refunds on cancellation."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from sqlalchemy import func, select

from hms.extensions import db
from hms.models import (
    Bill,
    BillStatus,
    Payment,
    PaymentProvider,
    PaymentStatus,
    Refund,
    RefundStatus,
    StripeEvent,
)
from hms.services import billing, scheduling
from tests.stripe_fake import event, post_event, sign

HX = {"HX-Request": "true"}


def start_checkout(client, bill: Bill):  # type: ignore[no-untyped-def]
    response = client.post(f"/patient/bills/{bill.id}/pay", headers=HX)
    assert response.status_code == 204, response.data
    return response.headers["HX-Redirect"]


def setup_bill(make, login_as, **kw):  # type: ignore[no-untyped-def]
    hospital = make.hospital(currency="KES", **kw)
    visit = make.booking(hospital_row=hospital, fee_minor=150000)
    bill = make.consultation_bill(visit)
    login_as(visit.patient.user)
    return hospital, visit, bill


def paid_via_webhook(client, fake, bill):  # type: ignore[no-untyped-def]
    start_checkout(client, bill)
    session = fake.complete(fake.only_session()["id"])
    evt = event("checkout.session.completed", session)
    assert post_event(client, evt).status_code == 200
    return session, evt


def test_without_stripe_keys_bills_are_paid_at_the_desk(client, make, login_as):
    _, _, bill = setup_bill(make, login_as)
    page = client.get("/patient/bills").data
    assert b"Pay at the desk" in page and b"Pay now" not in page
    response = client.post(f"/patient/bills/{bill.id}/pay")
    assert response.status_code == 409
    assert db.session.scalar(select(func.count(Payment.id))) == 0


def test_pay_now_opens_a_checkout_for_the_balance_computed_on_the_server(client, make, login_as, stripe_fake):
    _, _, bill = setup_bill(make, login_as)
    assert b"Pay now" in client.get("/patient/bills").data
    # Whatever the browser claims the amount is, it is not read.
    response = client.post(
        f"/patient/bills/{bill.id}/pay", data={"amount": "1", "amount_minor": "1"}, headers=HX
    )
    session = stripe_fake.only_session()
    assert response.headers["HX-Redirect"] == session["url"]
    assert (session["amount_total"], session["currency"]) == (150000, "kes")
    payment = db.session.scalars(select(Payment)).one()
    assert (payment.status, payment.provider_ref, payment.amount_minor) == (
        PaymentStatus.pending,
        session["id"],
        150000,
    )
    assert session["metadata"] == {"hms_payment": payment.key, "hms_bill": str(bill.id)}
    assert session["success_url"].endswith(
        f"/patient/bills/{bill.id}/return?session_id={{CHECKOUT_SESSION_ID}}"
    )
    method, path, key, _ = stripe_fake.calls_to("POST", "/v1/checkout/sessions")[0]
    assert key == f"hms-checkout-{payment.key}"
    # The bill is still pending: only Stripe can say it is paid.
    db.session.refresh(bill)
    assert (bill.status, bill.paid_minor) == (BillStatus.issued, 0)
    row = client.get(f"/patient/bills/{bill.id}/row", headers=HX).data
    assert b'hx-trigger="every 3s"' in row and b"Continue payment" in row


def test_without_javascript_pay_now_leads_to_the_bill_page_with_a_link_to_stripe(
    client, make, login_as, stripe_fake
):
    _, _, bill = setup_bill(make, login_as)
    response = client.post(f"/patient/bills/{bill.id}/pay")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/patient/bills/{bill.id}")
    assert stripe_fake.only_session()["url"].encode() in client.get(response.headers["Location"]).data


def test_a_double_click_opens_one_checkout(client, make, login_as, stripe_fake):
    _, _, bill = setup_bill(make, login_as)
    first, second = start_checkout(client, bill), start_checkout(client, bill)
    assert first == second
    assert len(stripe_fake.sessions) == 1
    assert db.session.scalar(select(func.count(Payment.id))) == 1


def test_the_return_url_alone_pays_nothing(client, make, login_as, stripe_fake):
    _, _, bill = setup_bill(make, login_as)
    start_checkout(client, bill)
    session = stripe_fake.only_session()
    response = client.get(f"/patient/bills/{bill.id}/return", query_string={"session_id": session["id"]})
    assert response.status_code == 303
    db.session.refresh(bill)
    assert (bill.status, bill.paid_minor) == (BillStatus.issued, 0)
    assert b"waiting for the card company" in client.get(f"/patient/bills/{bill.id}").data
    # A made-up session id, or someone else's, is not ours to confirm.
    assert (
        client.get(
            f"/patient/bills/{bill.id}/return", query_string={"session_id": "cs_test_forged"}
        ).status_code
        == 404
    )
    assert client.get(f"/patient/bills/{bill.id}/return", query_string={"session_id": "x"}).status_code == 404


def test_the_return_url_confirms_a_paid_session_with_stripe(client, make, login_as, stripe_fake):
    _, _, bill = setup_bill(make, login_as)
    start_checkout(client, bill)
    session = stripe_fake.complete(stripe_fake.only_session()["id"])
    client.get(f"/patient/bills/{bill.id}/return", query_string={"session_id": session["id"]})
    assert any(c[0] == "GET" and c[1] == f"/v1/checkout/sessions/{session['id']}" for c in stripe_fake.calls)
    db.session.refresh(bill)
    assert (bill.status, bill.paid_minor) == (BillStatus.paid, 150000)
    payment = db.session.scalars(select(Payment)).one()
    assert payment.receipt_number and payment.payment_intent == session["payment_intent"]
    page = client.get(f"/patient/bills/{bill.id}").data
    assert b"Thank you: your payment is confirmed." in page and payment.receipt_number.encode() in page
    # The webhook that follows changes nothing more.
    assert post_event(client, event("checkout.session.completed", session)).data == b"unchanged"
    db.session.refresh(bill)
    assert bill.paid_minor == 150000


def test_a_signed_webhook_pays_the_bill_and_the_polled_row_stops_polling(client, make, login_as, stripe_fake):
    _, _, bill = setup_bill(make, login_as)
    session, evt = paid_via_webhook(client, stripe_fake, bill)
    db.session.refresh(bill)
    assert (bill.status, bill.paid_minor, bill.balance_minor) == (BillStatus.paid, 150000, 0)
    stored = db.session.scalars(select(StripeEvent)).one()
    assert (stored.event_id, stored.type, stored.outcome) == (evt["id"], "checkout.session.completed", "paid")
    row = client.get(f"/patient/bills/{bill.id}/row", headers=HX).data
    assert b"hx-trigger" not in row and b"paid" in row


def test_a_duplicated_or_replayed_event_changes_nothing_more(client, make, login_as, stripe_fake):
    _, _, bill = setup_bill(make, login_as)
    session, evt = paid_via_webhook(client, stripe_fake, bill)
    assert post_event(client, evt).data == b"duplicate"
    # The same news in a new event (Stripe retries with the same id; a replay with another id too).
    assert post_event(client, event("checkout.session.completed", session)).data == b"unchanged"
    assert post_event(client, event("checkout.session.async_payment_succeeded", session)).data == b"unchanged"
    db.session.refresh(bill)
    assert (bill.status, bill.paid_minor) == (BillStatus.paid, 150000)
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.receipt_number.is_not(None))) == 1
    assert db.session.scalar(select(func.count(StripeEvent.id))) == 3


def test_events_out_of_order_never_undo_a_payment(client, make, login_as, stripe_fake):
    _, _, bill = setup_bill(make, login_as)
    start_checkout(client, bill)
    open_session = dict(stripe_fake.only_session())
    session = stripe_fake.complete(open_session["id"])
    completed = event("checkout.session.completed", session)
    expired = event("checkout.session.expired", open_session | {"status": "expired"})
    failed = event("checkout.session.async_payment_failed", open_session | {"status": "complete"})
    assert post_event(client, completed).data == b"paid"
    assert post_event(client, expired).data == b"unchanged"
    assert post_event(client, failed).data == b"unchanged"
    db.session.refresh(bill)
    payment = db.session.scalars(select(Payment)).one()
    assert (bill.status, payment.status) == (BillStatus.paid, PaymentStatus.succeeded)


def test_an_abandoned_checkout_leaves_the_bill_pending_with_try_again(client, make, login_as, stripe_fake):
    _, _, bill = setup_bill(make, login_as)
    start_checkout(client, bill)
    session = stripe_fake.expire(stripe_fake.only_session()["id"])
    assert post_event(client, event("checkout.session.expired", session)).data == b"failed"
    db.session.refresh(bill)
    assert bill.status == BillStatus.issued
    row = client.get(f"/patient/bills/{bill.id}/row", headers=HX).data
    assert b"Try again" in row and b"did not go through" in row and b"hx-trigger" not in row
    # Trying again opens a new checkout with a new idempotency key.
    start_checkout(client, bill)
    keys = [c[2] for c in stripe_fake.calls_to("POST", "/v1/checkout/sessions")]
    assert len(stripe_fake.sessions) == 2 and len(set(keys)) == 2


def test_the_patient_cancels_an_open_checkout(client, make, login_as, stripe_fake):
    _, _, bill = setup_bill(make, login_as)
    start_checkout(client, bill)
    session = stripe_fake.only_session()
    response = client.post(f"/patient/bills/{bill.id}/cancel-payment", headers=HX)
    assert response.status_code == 200 and b"cancelled" in response.data and b"Try again" in response.data
    assert session["status"] == "expired"
    method, path, key, _ = stripe_fake.calls_to("POST", f"/v1/checkout/sessions/{session['id']}/expire")[0]
    assert key == f"hms-expire-{session['id']}"
    payment = db.session.scalars(select(Payment)).one()
    assert payment.status == PaymentStatus.cancelled
    # Nothing left to cancel now.
    assert client.post(f"/patient/bills/{bill.id}/cancel-payment").status_code == 409


def test_cancelling_a_checkout_that_was_just_paid_keeps_the_payment(client, make, login_as, stripe_fake):
    _, _, bill = setup_bill(make, login_as)
    start_checkout(client, bill)
    stripe_fake.complete(stripe_fake.only_session()["id"])
    client.post(f"/patient/bills/{bill.id}/cancel-payment")
    db.session.refresh(bill)
    assert (bill.status, bill.paid_minor) == (BillStatus.paid, 150000)


def test_paying_a_paid_or_cancelled_bill_is_refused(client, make, login_as, stripe_fake):
    hospital, visit, bill = setup_bill(make, login_as)
    paid_via_webhook(client, stripe_fake, bill)
    assert client.post(f"/patient/bills/{bill.id}/pay").status_code == 409
    other = make.bill(visit.patient.user, hospital, status=BillStatus.cancelled)
    response = client.post(f"/patient/bills/{other.id}/pay", headers=HX)
    assert response.status_code == 409 and response.headers["HX-Retarget"] == "#messages"
    assert b"cancelled" in response.data
    assert len(stripe_fake.sessions) == 1


def test_another_patients_bill_is_not_found(client, make, login_as, stripe_fake):
    _, _, bill = setup_bill(make, login_as)
    login_as(make.patient())
    for method, url in (
        ("POST", f"/patient/bills/{bill.id}/pay"),
        ("POST", f"/patient/bills/{bill.id}/cancel-payment"),
        ("GET", f"/patient/bills/{bill.id}"),
        ("GET", f"/patient/bills/{bill.id}/row"),
        ("GET", f"/patient/bills/{bill.id}/return?session_id=cs_test_x"),
    ):
        assert client.open(url, method=method).status_code == 404, url
    assert stripe_fake.calls == []


def test_stripe_down_leaves_the_bill_pending_and_says_so(client, make, login_as, stripe_fake):
    _, _, bill = setup_bill(make, login_as)
    stripe_fake.fail["POST /v1/checkout/sessions"] = 500
    response = client.post(f"/patient/bills/{bill.id}/pay", headers=HX)
    assert response.status_code == 409 and b"not available right now" in response.data
    payment = db.session.scalars(select(Payment)).one()
    assert payment.status == PaymentStatus.failed
    db.session.refresh(bill)
    assert (bill.status, bill.paid_minor) == (BillStatus.issued, 0)
    start_checkout(client, bill)  # and it works again when Stripe is back
    assert len(stripe_fake.sessions) == 1


def test_a_session_for_a_different_amount_is_not_taken_as_payment(client, make, login_as, stripe_fake):
    _, _, bill = setup_bill(make, login_as)
    start_checkout(client, bill)
    session = stripe_fake.complete(stripe_fake.only_session()["id"])
    assert (
        post_event(client, event("checkout.session.completed", session | {"amount_total": 100})).data
        == b"rejected"
    )
    forged = session | {"metadata": {"hms_payment": "0" * 32}}
    assert post_event(client, event("checkout.session.completed", forged)).data == b"ignored"
    db.session.refresh(bill)
    assert (bill.status, bill.paid_minor) == (BillStatus.issued, 0)


# ---------------------------------------------------------------- webhook signatures


def test_a_webhook_with_a_bad_signature_is_rejected_and_logged(client, make, login_as, stripe_fake, caplog):
    _, _, bill = setup_bill(make, login_as)
    start_checkout(client, bill)
    evt = event("checkout.session.completed", stripe_fake.complete(stripe_fake.only_session()["id"]))
    caplog.set_level(logging.WARNING)
    assert post_event(client, evt, secret="whsec_wrong").status_code == 400
    assert post_event(client, evt, timestamp=int(time.time()) - 301).status_code == 400  # stale
    assert client.post("/payments/stripe/webhook", data="{}", csrf=False).status_code == 400  # unsigned
    tampered = client.post(
        "/payments/stripe/webhook",
        data='{"id": "evt_x", "type": "checkout.session.completed"}',
        headers={"Stripe-Signature": sign('{"id": "evt_y"}')},
        csrf=False,
    )
    assert tampered.status_code == 400
    assert sum("stripe webhook rejected" in r.getMessage() for r in caplog.records) == 4
    db.session.refresh(bill)
    assert bill.status == BillStatus.issued
    assert db.session.scalar(select(func.count(StripeEvent.id))) == 0


def test_the_webhook_needs_no_csrf_token_but_only_takes_post(client, stripe_fake):
    assert (
        post_event(client, event("customer.created", {"id": "cus_1", "object": "customer"})).status_code
        == 200
    )
    assert client.get("/payments/stripe/webhook").status_code == 405
    big = "x" * (300 * 1024)
    assert (
        client.post(
            "/payments/stripe/webhook", data=big, headers={"Stripe-Signature": sign(big)}, csrf=False
        ).status_code
        == 413
    )


def test_without_stripe_the_webhook_is_not_there(client):
    assert client.post("/payments/stripe/webhook", data="{}", csrf=False).status_code == 404


# ---------------------------------------------------------------- refunds and late payments


def test_cancelling_an_online_paid_visit_refunds_the_card_through_stripe(client, make, login_as, stripe_fake):
    _, visit, bill = setup_bill(make, login_as, refund_percent=50)
    session, _ = paid_via_webhook(client, stripe_fake, bill)
    scheduling.cancel_appointment(visit, visit.patient.user)
    db.session.commit()
    assert stripe_fake.refunds == {}  # nothing leaves before the commit…
    billing.run_after_commit_tasks()  # …and then it does (a request does this after its commit)
    refund = db.session.scalars(select(Refund)).one()
    sent = next(iter(stripe_fake.refunds.values()))
    assert (sent["amount"], sent["payment_intent"]) == (75000, session["payment_intent"])
    assert stripe_fake.calls_to("POST", "/v1/refunds")[0][2] == f"hms-refund-{refund.key}"
    assert (refund.status, refund.provider_ref, refund.amount_minor) == (
        RefundStatus.succeeded,
        sent["id"],
        75000,
    )
    db.session.refresh(bill)
    assert (bill.status, bill.refunded_minor) == (BillStatus.refunded, 75000)
    # Stripe's own refund events afterwards change nothing more.
    assert post_event(client, event("refund.updated", sent)).data == b"refund unchanged"


def test_a_refund_event_settles_a_refund_stripe_had_left_pending(client, make, login_as, stripe_fake):
    _, visit, bill = setup_bill(make, login_as)
    paid_via_webhook(client, stripe_fake, bill)
    stripe_fake.refund_status = "pending"
    scheduling.cancel_appointment(visit, make.hospital_admin(visit.hospital), "Doctor away")
    db.session.commit()
    billing.run_after_commit_tasks()
    refund = db.session.scalars(select(Refund)).one()
    assert refund.status == RefundStatus.pending
    sent = stripe_fake.refunds[refund.provider_ref]
    done = event("refund.updated", sent | {"status": "succeeded"})
    late = event("refund.updated", sent | {"status": "pending"})
    assert post_event(client, done).data == b"refund succeeded"
    assert post_event(client, late).data == b"refund unchanged"  # out of order: never back
    db.session.refresh(refund)
    assert refund.status == RefundStatus.succeeded


def test_a_refund_that_could_not_be_sent_is_sent_again_by_the_admin_once(client, make, login_as, stripe_fake):
    hospital, visit, bill = setup_bill(make, login_as)
    paid_via_webhook(client, stripe_fake, bill)
    stripe_fake.fail["POST /v1/refunds"] = 500
    admin = make.hospital_admin(hospital)
    login_as(admin)
    scheduling.cancel_appointment(visit, admin, "Closed for the day")
    db.session.commit()
    billing.run_after_commit_tasks()
    refund = db.session.scalars(select(Refund)).one()
    assert (
        refund.status == RefundStatus.pending and refund.provider_ref is None and "Not sent" in refund.failure
    )
    assert b"Send again" in client.get("/hospital/refunds").data
    assert client.post(f"/hospital/refunds/{refund.id}/retry").status_code == 303
    assert client.post(f"/hospital/refunds/{refund.id}/retry").status_code == 303
    db.session.refresh(refund)
    assert refund.status == RefundStatus.succeeded
    assert len(stripe_fake.refunds) == 1


def test_an_online_payment_arriving_after_the_desk_took_the_money_is_given_back(
    client, make, login_as, stripe_fake
):
    hospital, visit, bill = setup_bill(make, login_as)
    start_checkout(client, bill)
    session_id = stripe_fake.only_session()["id"]
    # The patient pays at the desk while his checkout is open; the desk closes the checkout after
    # its commit, but he has already paid online too.
    stripe_fake.complete(session_id)
    login_as(make.staff(hospital))
    response = client.post(
        f"/staff/bills/{bill.id}/payments",
        data={"amount": "1500", "method": "cash", "key": billing.new_key()},
    )
    assert response.status_code == 303
    online = db.session.scalars(select(Payment).where(Payment.provider == PaymentProvider.stripe)).one()
    assert online.status == PaymentStatus.refunded  # the closing found it paid and gave it back
    refund = db.session.scalars(select(Refund)).one()
    assert (refund.amount_minor, refund.status) == (150000, RefundStatus.succeeded)
    assert (
        post_event(client, event("checkout.session.completed", stripe_fake.sessions[session_id])).data
        == b"unchanged"
    )
    db.session.refresh(bill)
    assert (bill.status, bill.paid_minor, bill.refunded_minor) == (BillStatus.paid, 150000, 0)


def test_a_checkout_left_open_on_a_cancelled_visit_is_closed_after_the_commit(
    client, make, login_as, stripe_fake
):
    _, visit, bill = setup_bill(make, login_as)
    start_checkout(client, bill)
    session = stripe_fake.only_session()
    scheduling.cancel_appointment(visit, visit.patient.user)
    db.session.commit()
    billing.run_after_commit_tasks()
    assert session["status"] == "expired"
    payment = db.session.scalars(select(Payment)).one()
    db.session.refresh(bill)
    assert (bill.status, payment.status) == (BillStatus.cancelled, PaymentStatus.cancelled)


def test_retry_stripe_work_sends_what_a_crash_left_behind(make, stripe_fake, client, login_as):
    _, visit, bill = setup_bill(make, login_as)
    paid_via_webhook(client, stripe_fake, bill)
    scheduling.cancel_appointment(visit, visit.patient.user)
    db.session.commit()
    db.session.info.pop("billing_ready", None)  # the process died before sending
    assert stripe_fake.refunds == {}
    assert billing.retry_stripe_work() == 1
    assert db.session.scalars(select(Refund)).one().status == RefundStatus.succeeded


# ---------------------------------------------------------------- at the same time


def _together(*calls):  # type: ignore[no-untyped-def]
    """Run each call in its own thread (each request gets its own app context and connection)."""
    results: list[object] = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.concurrency
def test_the_same_event_delivered_three_times_at_once_counts_once(app, client, make, login_as, stripe_fake):
    _, _, bill = setup_bill(make, login_as)
    start_checkout(client, bill)
    evt = event("checkout.session.completed", stripe_fake.complete(stripe_fake.only_session()["id"]))
    results = _together(*[lambda: post_event(app.test_client(), evt) for _ in range(3)])
    assert sorted(r.status_code for r in results) == [200, 200, 200]
    assert sorted(r.data for r in results) == [b"duplicate", b"duplicate", b"paid"]
    db.session.rollback()
    db.session.refresh(bill)
    assert (bill.status, bill.paid_minor) == (BillStatus.paid, 150000)
    assert db.session.scalar(select(func.count(StripeEvent.id))) == 1
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.receipt_number.is_not(None))) == 1


@pytest.mark.concurrency
def test_a_desk_payment_racing_the_online_one_never_pays_the_bill_twice(
    app, client, make, login_as, stripe_fake
):
    hospital, _, bill = setup_bill(make, login_as)
    start_checkout(client, bill)
    evt = event("checkout.session.completed", stripe_fake.complete(stripe_fake.only_session()["id"]))
    desk = login_as(make.staff(hospital), on=app.test_client())
    form = {"amount": "1500", "method": "cash", "key": billing.new_key()}
    url = f"/staff/bills/{bill.id}/payments"
    webhook, cash = _together(lambda: post_event(app.test_client(), evt), lambda: desk.post(url, data=form))
    assert webhook.status_code == 200 and cash.status_code in (303, 409)
    db.session.rollback()
    db.session.refresh(bill)
    assert (bill.status, bill.paid_minor, bill.refunded_minor) == (BillStatus.paid, 150000, 0)
    counted = db.session.scalars(select(Payment).where(Payment.status == PaymentStatus.succeeded)).all()
    assert len(counted) == 1
    if cash.status_code == 303:  # the desk won: the online money goes back to the card
        assert db.session.scalars(select(Refund)).one().amount_minor == 150000


def test_pay_now_is_rate_limited(client, make, login_as, stripe_fake):
    _, _, bill = setup_bill(make, login_as)
    codes = [client.post(f"/patient/bills/{bill.id}/pay", headers=HX).status_code for _ in range(21)]
    assert codes[:20] == [204] * 20 and codes[20] == 429
    assert len(stripe_fake.sessions) == 1


def test_a_partial_refund_of_an_online_payment_goes_back_through_stripe(client, make, login_as, stripe_fake):
    hospital, _, bill = setup_bill(make, login_as)
    session, _ = paid_via_webhook(client, stripe_fake, bill)
    login_as(make.hospital_admin(hospital))
    data = {"amount": "200", "reason": "Duplicate X-ray charge", "key": billing.new_key()}
    assert client.post(f"/hospital/bills/{bill.id}/refund", data=data).status_code == 303
    refund = db.session.scalars(select(Refund)).one()
    sent = next(iter(stripe_fake.refunds.values()))  # sent right after the request's commit
    assert (sent["amount"], sent["payment_intent"]) == (20000, session["payment_intent"])
    db.session.refresh(refund)
    db.session.refresh(bill)
    assert (refund.status, refund.amount_minor) == (RefundStatus.succeeded, 20000)
    assert (bill.status, bill.refunded_minor) == (BillStatus.paid, 20000)  # the rest stays paid
