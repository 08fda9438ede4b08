"""Desk payments (cash, card terminal), receipts, the admin's bills list, totals and CSV export, and
concurrent desk payments that must never pay a bill twice."""

from __future__ import annotations

import csv
import io
import re
import threading
from datetime import UTC, datetime

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import func, select

from hms import clock
from hms.extensions import db
from hms.models import AuditEvent, Bill, BillStatus, Notification, Payment, PaymentMethod, PaymentStatus
from hms.services import billing
from hms.services.errors import DomainError


def pay(client, prefix: str, bill: Bill, amount: str, method: str = "cash", key: str | None = None, **kw):  # type: ignore[no-untyped-def]
    data = {"amount": amount, "method": method, "key": key or billing.new_key()}
    return client.post(f"{prefix}/bills/{bill.id}/payments", data=data, **kw)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_a_receptionist_takes_part_then_the_rest_and_the_bill_is_paid(client, make, login_as):
    hospital = make.hospital(currency="KES")
    patient = make.patient(name="Amina Hassan")
    bill = make.bill(patient, hospital, items=[("Dressing", 1, 150000)])
    login_as(make.staff(hospital))
    response = pay(client, "/staff", bill, "500", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert b"Payment recorded. Receipt R" in response.data and b"<html" not in response.data
    db.session.refresh(bill)
    assert (bill.status, bill.paid_minor, bill.balance_minor) == (BillStatus.issued, 50000, 100000)
    assert pay(client, "/staff", bill, "1000.00", method="card").status_code == 303
    db.session.refresh(bill)
    assert (bill.status, bill.paid_minor, bill.balance_minor) == (BillStatus.paid, 150000, 0)
    payments = db.session.scalars(select(Payment).order_by(Payment.id)).all()
    assert [(p.method, p.amount_minor, p.status) for p in payments] == [
        (PaymentMethod.cash, 50000, PaymentStatus.succeeded),
        (PaymentMethod.card, 100000, PaymentStatus.succeeded),
    ]
    assert [p.receipt_number for p in payments] == [f"R{hospital.id}-000001", f"R{hospital.id}-000002"]
    assert (
        db.session.scalar(select(func.count(Notification.id)).where(Notification.kind == "payment_received"))
        == 2
    )
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "payment")) == 2


def test_receipt_numbers_are_unique_and_count_per_hospital(make):
    one, two = make.hospital(), make.hospital()
    numbers = []
    for hospital in (one, two, one):
        numbers.append(
            make.desk_payment(make.bill(make.patient(), hospital), make.staff(hospital)).receipt_number
        )
    assert numbers == [f"R{one.id}-000001", f"R{two.id}-000001", f"R{one.id}-000002"]


def test_the_desk_refuses_bad_amounts_and_changes_nothing(client, make, login_as):
    hospital = make.hospital(currency="KES")
    bill = make.bill(make.patient(), hospital, items=[("Dressing", 1, 150000)])
    login_as(make.hospital_admin(hospital))
    for amount, message in {
        "1500.01": b"more than the balance",
        "0": b"more than zero",
        "-10": b"Enter an amount such as",
        "10.001": b"Use at most 2 decimals",
        "ten": b"Enter an amount such as",
    }.items():
        response = pay(client, "/hospital", bill, amount, headers={"HX-Request": "true"})
        assert response.status_code == 422, amount
        assert message in response.data
    assert pay(client, "/hospital", bill, "10", method="online").status_code == 422
    assert pay(client, "/hospital", bill, "10", method="bitcoin").status_code == 422
    assert pay(client, "/hospital", bill, "10", key="short").status_code == 422
    db.session.refresh(bill)
    assert bill.paid_minor == 0
    assert db.session.scalar(select(func.count(Payment.id))) == 0


@pytest.mark.parametrize(
    "status", [BillStatus.paid, BillStatus.cancelled, BillStatus.refunded, BillStatus.draft]
)
def test_the_desk_cannot_take_money_for_a_bill_that_is_not_owed(client, make, login_as, status):
    hospital = make.hospital()
    bill = make.bill(make.patient(), hospital, status=status)
    login_as(make.staff(hospital))
    response = pay(client, "/staff", bill, "1")
    assert response.status_code in (404, 409) if status == BillStatus.draft else response.status_code == 409
    assert db.session.scalar(select(func.count(Payment.id))) == 0


def test_the_same_payment_form_sent_twice_records_one_payment(client, make, login_as):
    hospital = make.hospital()
    bill = make.bill(make.patient(), hospital, items=[("Dressing", 1, 100000)])
    login_as(make.staff(hospital))
    key = billing.new_key()
    assert pay(client, "/staff", bill, "400", key=key).status_code == 303
    assert pay(client, "/staff", bill, "400", key=key).status_code == 303
    db.session.refresh(bill)
    assert bill.paid_minor == 40000
    assert db.session.scalar(select(func.count(Payment.id))) == 1


def test_a_receipt_pdf_carries_its_number_the_amount_and_the_patient(client, make, login_as):
    hospital = make.hospital(name="Riverside General", currency="KES")
    patient = make.patient(name="Sofía García")
    bill = make.bill(patient, hospital, items=[("Dressing", 2, 35050)])
    clock.set_frozen(datetime(2026, 3, 2, 7, 30, tzinfo=UTC))
    payment = make.desk_payment(bill, make.staff(hospital), amount_minor=50000)
    for user, url in (
        (patient, f"/patient/payments/{payment.id}/receipt.pdf"),
        (make.staff(hospital), f"/staff/payments/{payment.id}/receipt.pdf"),
        (make.hospital_admin(hospital), f"/hospital/payments/{payment.id}/receipt.pdf"),
    ):
        login_as(user)
        response = client.get(url)
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        assert f"receipt-{payment.receipt_number}.pdf" in response.headers["Content-Disposition"]
        text = pdf_text(response.data)
        assert f"Receipt {payment.receipt_number}" in text
        assert "Riverside General" in text and "Sofía García" in text and patient.patient.mrn in text
        assert re.search(r"Amount paid KES\s?500\.00", text), text
        assert "02 Mar 2026 at 10:30 EAT" in text  # the hospital's time (Nairobi, UTC+3), labelled
        assert bill.number in text


def test_a_patient_sees_only_his_own_receipts(client, make, login_as):
    hospital = make.hospital()
    mine, theirs = make.patient(), make.patient()
    payment = make.desk_payment(make.bill(theirs, hospital), make.staff(hospital))
    login_as(mine)
    assert client.get(f"/patient/payments/{payment.id}/receipt.pdf").status_code == 404
    assert client.get("/patient/payments/not-a-number/receipt.pdf").status_code == 404


# ---------------------------------------------------------------- the admin's list


def test_bills_list_filters_by_status_date_doctor_and_patient_with_totals(client, make, login_as):
    hospital = make.hospital(currency="KES")
    doctor = make.doctor(name="Chinedu Okafor")
    make.membership(doctor, hospital, fee_minor=100000)
    make.schedule(doctor, hospital)
    amina, john = make.patient(name="Amina Hassan"), make.patient(name="John Mwangi")
    clock.set_frozen(datetime(2026, 3, 2, 6, 0, tzinfo=UTC))
    first = make.consultation_bill(make.booking(amina, doctor, hospital, hour=10))
    clock.set_frozen(datetime(2026, 3, 5, 6, 0, tzinfo=UTC))
    second = make.consultation_bill(make.booking(john, doctor, hospital, hour=11))
    walk_in = make.bill(john, hospital, items=[("X-ray", 1, 250000)])
    make.desk_payment(second, make.staff(hospital))
    clock.set_frozen(None)
    login_as(make.hospital_admin(hospital))

    def numbers(**query) -> list[str]:  # type: ignore[no-untyped-def]
        html = client.get("/hospital/bills", query_string=query, headers={"HX-Request": "true"}).data.decode()
        return [b.number for b in (first, second, walk_in) if b.number in html]

    assert numbers() == [first.number, second.number, walk_in.number]
    assert numbers(status="paid") == [second.number]
    assert numbers(status="issued") == [first.number, walk_in.number]
    assert numbers(first="2026-03-01", last="2026-03-03") == [first.number]
    assert numbers(doctor=str(doctor.doctor.id)) == [first.number, second.number]
    assert numbers(patient="amina") == [first.number]
    assert numbers(patient=john.patient.mrn) == [second.number, walk_in.number]
    assert numbers(patient="%") == []
    # Nonsense filters are ignored, never a 500.
    for bad in ({"status": "lost"}, {"first": "yesterday"}, {"doctor": "abc"}, {"page": "-3"}, {"page": "x"}):
        assert client.get("/hospital/bills", query_string=bad).status_code == 200
    html = client.get("/hospital/bills").data.decode()
    totals = html[html.index('id="totals"') :]
    pending = totals[totals.index("Pending") - 80 : totals.index("Pending") + 80]
    assert re.search(r'class="stat">2</h2><p>Pending<br><small>KES\s?3,500\.00', pending), pending


def test_csv_export_has_every_filtered_bill_and_defuses_formulas(client, make, login_as):
    hospital = make.hospital(currency="KES")
    evil = make.patient(name="=HYPERLINK(1)")
    make.bill(evil, hospital, items=[("A", 1, 123456)])
    make.desk_payment(make.bill(make.patient(name="Paid Person"), hospital), make.staff(hospital))
    login_as(make.hospital_admin(hospital))
    response = client.get("/hospital/bills.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.data.decode())))
    assert [r["patient"] for r in rows] == ["'=HYPERLINK(1)", "Paid Person"]
    assert rows[0]["total"] == "1234.56" and rows[0]["status"] == "pending"
    assert rows[1]["status"] == "paid" and rows[1]["balance"] == "0.00"
    only_paid = client.get("/hospital/bills.csv", query_string={"status": "paid"}).data.decode()
    assert "Paid Person" in only_paid and "HYPERLINK" not in only_paid


def test_receptionists_have_no_csv_export_or_policy_settings(client, make, login_as):
    login_as(make.staff(make.hospital()))
    assert client.get("/staff/bills.csv").status_code == 404
    assert client.get("/staff/billing/settings").status_code == 404


# ---------------------------------------------------------------- concurrency


def _race(app: Flask, jobs) -> list[object]:  # type: ignore[no-untyped-def]
    """Run each job in its own thread with its own app context (own session and connection),
    all starting together; returns what each returned or raised."""
    results: list[object] = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs))

    def run(i: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                results[i] = jobs[i]()
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - the test inspects it
                db.session.rollback()
                results[i] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _desk_job(bill_id: int, cashier_id: int, amount: int):  # type: ignore[no-untyped-def]
    def job():  # type: ignore[no-untyped-def]
        from hms.models import User

        bill = db.session.get(Bill, bill_id)
        cashier = db.session.get(User, cashier_id)
        return billing.record_desk_payment(
            bill, amount_minor=amount, method=PaymentMethod.cash, actor=cashier, key=billing.new_key()
        ).id

    return job


@pytest.mark.concurrency
def test_two_cashiers_taking_the_whole_balance_at_once_pay_the_bill_once(app, make):
    hospital = make.hospital()
    bill = make.bill(make.patient(), hospital, items=[("Surgery", 1, 5000000)])
    cashiers = [make.staff(hospital), make.hospital_admin(hospital)]
    results = _race(app, [_desk_job(bill.id, c.id, 5000000) for c in cashiers])
    refused = [r for r in results if not isinstance(r, int)]
    assert len(refused) == 1 and isinstance(refused[0], DomainError), results
    db.session.rollback()
    db.session.refresh(bill)
    assert (bill.status, bill.paid_minor) == (BillStatus.paid, 5000000)
    assert db.session.scalar(select(func.count(Payment.id))) == 1


@pytest.mark.concurrency
def test_concurrent_part_payments_never_take_more_than_the_balance(app, make):
    hospital = make.hospital()
    bill = make.bill(make.patient(), hospital, items=[("Ward", 1, 100000)])
    cashier = make.staff(hospital)
    results = _race(app, [_desk_job(bill.id, cashier.id, 30000) for _ in range(5)])
    db.session.rollback()
    db.session.refresh(bill)
    succeeded = [r for r in results if isinstance(r, int)]
    assert len(succeeded) == 3, results
    assert all(isinstance(r, DomainError) for r in results if not isinstance(r, int))
    assert (bill.paid_minor, bill.status) == (90000, BillStatus.issued)
    receipts = db.session.scalars(select(Payment.receipt_number)).all()
    assert len(set(receipts)) == 3
