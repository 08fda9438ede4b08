"""A hospital admin gives back part of what was paid on a bill that stays valid: within what was paid,
once per form, with a reason, told to the patient; cash waits for the desk to pay it out."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hms.extensions import db
from hms.models import AuditEvent, Bill, BillStatus, Notification, Refund, RefundStatus
from hms.services import billing

HX = {"HX-Request": "true"}


@pytest.fixture
def paid_bill(make):  # type: ignore[no-untyped-def]
    hospital = make.hospital(currency="KES")
    patient = make.patient(name="Amina Hassan")
    bill = make.bill(patient, hospital, items=[("X-ray", 1, 150000)])
    make.desk_payment(bill, make.staff(hospital))
    return bill


def refund(client, bill, amount, reason="Test not done", key=None, **kw):  # type: ignore[no-untyped-def]
    data = {"amount": amount, "reason": reason, "key": key or billing.new_key()}
    return client.post(f"/hospital/bills/{bill.id}/refund", data=data, **kw)


def reloaded(bill: Bill) -> Bill:
    db.session.expire_all()
    return db.session.get(Bill, bill.id)


def test_admin_refunds_part_then_the_rest(client, make, login_as, paid_bill):
    login_as(make.hospital_admin(paid_bill.hospital))
    page = client.get(f"/hospital/bills/{paid_bill.id}")
    assert b"Refund part of this bill" in page.data
    response = refund(client, paid_bill, "400.50", headers=HX)
    assert response.status_code == 200 and b"<html" not in response.data
    assert b"Refund recorded." in response.data
    bill = reloaded(paid_bill)
    assert (bill.status, bill.paid_minor, bill.refunded_minor) == (BillStatus.paid, 150000, 40050)
    (row,) = db.session.scalars(select(Refund)).all()
    assert (row.amount_minor, row.status, row.reason) == (40050, RefundStatus.pending, "Test not done")
    text = db.session.scalar(select(Notification.text).where(Notification.kind == "refund_issued"))
    assert text.startswith("KES") and "will be refunded: Test not done" in text
    assert db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "refund")).startswith(
        "refund 40050 KES"
    )

    assert refund(client, paid_bill, "1099.50").status_code == 303
    bill = reloaded(paid_bill)
    assert (bill.status, bill.refunded_minor) == (BillStatus.refunded, 150000)
    assert b"Refund part of this bill" not in client.get(f"/hospital/bills/{bill.id}").data
    # The cash goes back at the desk, like any other refund.
    assert len(client.get("/hospital/refunds").data) > 0
    assert db.session.scalar(select(func.count(Refund.id)).where(Refund.status == RefundStatus.pending)) == 2


@pytest.mark.parametrize(
    ("amount", "reason", "message"),
    [
        ("1500.01", "Too much", b"At most KES"),
        ("0", "Nothing", b"The amount must be more than zero."),
        ("-5", "Negative", b""),
        ("12.345", "Too precise", b""),
        ("lots", "Words", b""),
        ("99999999999999999999", "Huge", b""),
        ("10", "   ", b""),
    ],
)
def test_bad_refunds_are_refused_and_change_nothing(
    client, make, login_as, paid_bill, amount, reason, message
):
    login_as(make.hospital_admin(paid_bill.hospital))
    response = refund(client, paid_bill, amount, reason=reason, headers=HX)
    assert response.status_code == 422
    assert message in response.data and b'id="refund-part" open' in response.data
    assert reloaded(paid_bill).refunded_minor == 0
    assert db.session.scalars(select(Refund)).all() == []


def test_the_same_refund_form_sent_twice_refunds_once(client, make, login_as, paid_bill):
    login_as(make.hospital_admin(paid_bill.hospital))
    key = billing.new_key()
    assert refund(client, paid_bill, "100", key=key).status_code == 303
    assert refund(client, paid_bill, "100", key=key).status_code == 303
    assert reloaded(paid_bill).refunded_minor == 10000
    assert len(db.session.scalars(select(Refund)).all()) == 1


def test_nothing_to_refund_on_an_unpaid_bill(client, make, login_as):
    hospital = make.hospital(currency="KES")
    bill = make.bill(make.patient(), hospital, items=[("X-ray", 1, 1000)])
    login_as(make.hospital_admin(hospital))
    assert refund(client, bill, "1", headers=HX).status_code == 409


def test_only_the_bills_hospital_admin_refunds(client, make, login_as, paid_bill):
    login_as(make.hospital_admin(make.hospital()))
    assert refund(client, paid_bill, "1").status_code == 404
    login_as(make.staff(paid_bill.hospital))
    assert client.post(f"/staff/bills/{paid_bill.id}/refund", data={"amount": "1"}).status_code == 404
    assert b"Refund part of this bill" not in client.get(f"/staff/bills/{paid_bill.id}").data
    assert reloaded(paid_bill).refunded_minor == 0
