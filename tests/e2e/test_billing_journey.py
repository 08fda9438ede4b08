"""In Chromium: a patient's consultation bill is paid at the desk (the receptionist records it) and the
patient downloads the receipt; another patient pays online through the fake Stripe, and his bill row
turns paid by itself once Stripe's signed webhook arrives."""

from __future__ import annotations

import io
import json
import urllib.request

from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from hms.extensions import db
from hms.models import Bill, BillStatus, Payment
from tests.e2e.conftest import log_in, log_out
from tests.stripe_fake import WEBHOOK_URL, event, sign


def sign_out(page) -> None:  # type: ignore[no-untyped-def]
    log_out(page)
    expect(page.get_by_text("You are logged out.")).to_be_visible()


def test_a_bill_paid_at_the_desk_and_the_patients_receipt(page, live_server, make):
    hospital = make.hospital(name="Riverside General", currency="KES")
    patient = make.patient(email="amina@example.org", name="Amina Hassan")
    bill = make.consultation_bill(make.booking(patient_user=patient, hospital_row=hospital, fee_minor=150000))
    make.staff(hospital, email="reception@example.org")

    # Without Stripe keys the patient is told to pay at the desk.
    log_in(page, live_server, "amina@example.org")
    page.get_by_role("link", name="My bills").click()
    row = page.locator(f"#bill-{bill.id}")
    expect(row).to_contain_text("pending")
    expect(row).to_contain_text("Pay at the desk")
    sign_out(page)

    log_in(page, live_server, "reception@example.org")
    page.get_by_role("link", name="Billing desk").click()
    page.get_by_label("Patient (name or MRN)").fill(patient.patient.mrn)
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=bill.number).click()
    page.get_by_label("Amount received").fill("1500")
    page.get_by_label("Paid by").select_option("cash")
    url_before = page.url
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_text("Payment recorded. Receipt")).to_be_visible()
    expect(page.locator("#balance")).to_contain_text("0.00")
    assert page.url == url_before  # swapped in place
    sign_out(page)

    log_in(page, live_server, "amina@example.org")
    page.get_by_role("link", name="My bills").click()
    expect(page.locator(f"#bill-{bill.id}")).to_contain_text("paid")
    page.get_by_role("link", name=bill.number).click()
    db.session.rollback()
    number = db.session.scalar(select(Payment.receipt_number).where(Payment.bill_id == bill.id))
    with page.expect_download() as download:
        page.get_by_role("link", name=f"Receipt {number} (PDF)").click()
    with open(download.value.path(), "rb") as f:
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(f.read())).pages)
    assert f"Receipt {number}" in text and "Amina Hassan" in text and "Riverside General" in text
    assert page.js_errors == []


def test_a_bill_paid_online_turns_paid_when_stripe_confirms(page, live_server, make, stripe_fake):
    hospital = make.hospital(name="Riverside General", currency="KES")
    patient = make.patient(email="john@example.org", name="John Mwangi")
    bill = make.consultation_bill(make.booking(patient_user=patient, hospital_row=hospital, fee_minor=200000))

    log_in(page, live_server, "john@example.org")
    page.get_by_role("link", name="My bills").click()
    page.locator(f"#bill-{bill.id}").get_by_role("button", name="Pay now").click()
    # Stripe's hosted page (the fake's) for the amount our server computed.
    expect(page.get_by_role("heading", name="Fake Stripe Checkout")).to_be_visible()
    expect(page.locator("#amount")).to_have_text("200000 kes")

    # Back on our site before Stripe has confirmed anything: the row waits, and polls.
    page.goto(f"{live_server}/patient/bills")
    row = page.locator(f"#bill-{bill.id}")
    expect(row).to_contain_text("Waiting for your payment")
    db.session.rollback()
    assert db.session.scalar(select(Bill.status).where(Bill.id == bill.id)) == BillStatus.issued

    # The patient pays on Stripe's page; Stripe tells our server through a signed webhook.
    session = stripe_fake.complete(stripe_fake.only_session()["id"])
    payload = json.dumps(event("checkout.session.completed", session))
    request = urllib.request.Request(  # noqa: S310 (our own local server)
        f"{live_server}{WEBHOOK_URL}",
        data=payload.encode(),
        headers={"Stripe-Signature": sign(payload), "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (our own local server)
        assert answer.status == 200

    url_before = page.url
    expect(row).to_contain_text("paid", timeout=10000)  # the row's 3-second poll picked it up
    expect(row).not_to_contain_text("Waiting for your payment")
    assert page.url == url_before
    db.session.rollback()
    assert db.session.scalar(select(Bill.status).where(Bill.id == bill.id)) == BillStatus.paid
    assert page.js_errors == []
