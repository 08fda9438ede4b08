"""Bills: made when a visit is booked, moved when it is rescheduled, cancelled or refunded by the
hospital's policy when it is cancelled; desk bills with items written and issued by the desk."""

from __future__ import annotations

from sqlalchemy import func, select

from hms.extensions import db
from hms.models import (
    AuditEvent,
    Bill,
    BillStatus,
    ItemKind,
    Notification,
    PaymentStatus,
    Refund,
    RefundStatus,
    StaffKind,
)
from hms.services import billing, scheduling


def test_booking_bills_the_doctors_fee_at_that_hospital_in_its_currency(make):
    hospital = make.hospital(currency="INR", timezone="Asia/Kolkata")
    visit = make.booking(hospital_row=hospital, fee_minor=80000)
    bill = make.consultation_bill(visit)
    assert (bill.status, bill.currency, bill.total_minor, bill.paid_minor) == (
        BillStatus.issued,
        "INR",
        80000,
        0,
    )
    assert bill.patient_id == visit.patient_id and bill.doctor_id == visit.doctor_id
    assert [(i.kind, i.amount_minor) for i in bill.items] == [(ItemKind.consultation, 80000)]
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.record_type == "bill")).action == "create"
    # Written as two plain INSERTs: the columns' defaults and every value are there all the same.
    item = bill.items[0]
    assert (item.quantity, item.unit_minor) == (1, 80000)
    assert item.description == f"Consultation with Dr {visit.doctor.name}"
    assert bill.created_by_id == visit.booked_by_id and bill.refunded_minor == 0
    assert bill.issued_at is not None and bill.created_at is not None and bill.appointment_id == visit.id


def test_the_fee_at_the_booked_hospital_counts_not_elsewhere(make):
    here, there = make.hospital(), make.hospital()
    doctor = make.doctor()
    make.membership(doctor, here, fee_minor=50000)
    make.membership(doctor, there, fee_minor=90000)
    make.schedule(doctor, here)
    visit = make.booking(doctor_user=doctor, hospital_row=here)
    assert make.consultation_bill(visit).total_minor == 50000


def test_a_free_consultation_makes_no_bill(make):
    visit = make.booking(fee_minor=0)
    assert make.consultation_bill(visit) is None
    assert db.session.scalar(select(func.count(Bill.id))) == 0


def test_rescheduling_moves_the_bill_and_its_payments_to_the_new_time(make):
    hospital = make.hospital()
    visit = make.booking(hospital_row=hospital)
    bill = make.consultation_bill(visit)
    make.desk_payment(bill, make.staff(hospital), amount_minor=50000)
    new = scheduling.reschedule_appointment(
        visit, visit.start_at + scheduling.timedelta(hours=2), visit.patient.user
    )
    db.session.commit()
    db.session.refresh(bill)
    assert bill.appointment_id == new.id
    assert (bill.status, bill.paid_minor) == (BillStatus.issued, 50000)
    assert db.session.scalar(select(func.count(Bill.id))) == 1


def test_cancelling_an_unpaid_visit_cancels_its_bill(make):
    visit = make.booking()
    scheduling.cancel_appointment(visit, visit.patient.user)
    db.session.commit()
    bill = make.consultation_bill(visit)
    assert bill.status == BillStatus.cancelled
    assert bill.cancel_reason.startswith("Appointment cancelled")
    assert db.session.scalar(select(func.count(Refund.id))) == 0


def test_a_patient_cancelling_a_desk_paid_visit_gets_the_policy_share_back_from_the_cashier(make):
    hospital = make.hospital(refund_percent=80)
    visit = make.booking(hospital_row=hospital, fee_minor=100001)
    bill = make.consultation_bill(visit)
    make.desk_payment(bill, make.staff(hospital))
    scheduling.cancel_appointment(visit, visit.patient.user)
    db.session.commit()
    db.session.refresh(bill)
    refund = db.session.scalar(select(Refund))
    assert (bill.status, bill.refunded_minor) == (BillStatus.refunded, 80000)  # rounded down, never up
    assert (refund.amount_minor, refund.status, refund.is_online) == (80000, RefundStatus.pending, False)
    notice = db.session.scalars(select(Notification).where(Notification.kind == "bill_cancelled")).one()
    assert "800.00" in notice.text


def test_the_hospital_cancelling_refunds_everything_whatever_the_policy(make):
    hospital = make.hospital(refund_percent=0)
    visit = make.booking(hospital_row=hospital, fee_minor=60000)
    bill = make.consultation_bill(visit)
    make.desk_payment(bill, make.staff(hospital))
    scheduling.cancel_appointment(visit, make.hospital_admin(hospital), "Doctor is ill")
    db.session.commit()
    db.session.refresh(bill)
    assert (bill.status, bill.refunded_minor) == (BillStatus.refunded, 60000)


def test_a_no_refund_policy_keeps_a_paid_bill_paid_when_the_patient_cancels(make):
    hospital = make.hospital(refund_percent=0)
    visit = make.booking(hospital_row=hospital)
    bill = make.consultation_bill(visit)
    make.desk_payment(bill, make.staff(hospital))
    scheduling.cancel_appointment(visit, visit.patient.user)
    db.session.commit()
    db.session.refresh(bill)
    assert (bill.status, bill.refunded_minor, bill.paid_minor) == (BillStatus.paid, 0, 150000)


def test_a_partly_paid_visit_cancelled_refunds_what_was_paid_and_owes_nothing_more(make):
    hospital = make.hospital()
    visit = make.booking(hospital_row=hospital)
    bill = make.consultation_bill(visit)
    make.desk_payment(bill, make.staff(hospital), amount_minor=40000)
    scheduling.cancel_appointment(visit, visit.patient.user)
    db.session.commit()
    db.session.refresh(bill)
    assert (bill.status, bill.refunded_minor) == (BillStatus.refunded, 40000)
    assert not bill.is_payable


def test_the_cashier_pays_out_a_desk_refund_once(client, make, login_as):
    hospital = make.hospital()
    visit = make.booking(hospital_row=hospital)
    make.desk_payment(make.consultation_bill(visit), make.staff(hospital))
    scheduling.cancel_appointment(visit, visit.patient.user)
    db.session.commit()
    refund = db.session.scalar(select(Refund))
    login_as(make.staff(hospital))
    assert b"Mark paid out" in client.get("/staff/refunds").data
    for _ in range(2):
        assert client.post(f"/staff/refunds/{refund.id}/pay-out").status_code == 303
    db.session.refresh(refund)
    assert refund.status == RefundStatus.succeeded
    assert b"Nothing to settle." in client.get("/staff/refunds").data
    assert (
        db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "refund_paid_out"))
        == 1
    )


# ---------------------------------------------------------------- desk bills


def test_admin_writes_a_bill_with_items_and_issues_it_to_the_patient(client, make, login_as):
    hospital = make.hospital(currency="KES")
    patient = make.patient()
    make.booking(patient_user=patient, hospital_row=hospital)
    login_as(make.hospital_admin(hospital))
    response = client.post("/hospital/bills/new", data={"mrn": patient.patient.mrn.lower(), "note": "Ward 3"})
    assert response.status_code == 303
    bill = db.session.scalars(select(Bill).where(Bill.appointment_id.is_(None))).one()
    assert (bill.status, bill.patient_id) == (BillStatus.draft, patient.patient.id)
    # The patient does not see a draft.
    login_as(patient)
    assert client.get(f"/patient/bills/{bill.id}").status_code == 404

    login_as(make.hospital_admin(hospital))
    for kind, description, quantity, price in [
        ("procedure", "Dressing", "2", "350.50"),
        ("medicine", "Amoxicillin 500 mg", "14", "12"),
        ("room", "General ward, 1 night", "1", "1,500.00"),
    ]:
        response = client.post(
            f"/hospital/bills/{bill.id}/items",
            data={"kind": kind, "description": description, "quantity": quantity, "unit_price": price},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200, response.data
        assert b"<html" not in response.data
    db.session.refresh(bill)
    assert bill.total_minor == 2 * 35050 + 14 * 1200 + 150000
    assert client.post(f"/hospital/bills/{bill.id}/issue").status_code == 303
    db.session.refresh(bill)
    assert bill.status == BillStatus.issued
    notice = db.session.scalars(select(Notification).where(Notification.kind == "bill_issued")).one()
    assert notice.user_id == patient.id and bill.number in notice.text
    # Issued bills are not edited any more.
    response = client.post(
        f"/hospital/bills/{bill.id}/items",
        data={"kind": "other", "description": "Late", "quantity": "1", "unit_price": "1"},
    )
    assert response.status_code == 409
    db.session.refresh(bill)
    assert len(bill.items) == 3


def test_a_receptionist_can_remove_an_item_from_a_draft(client, make, login_as):
    hospital = make.hospital()
    bill = make.bill(make.patient(), hospital, items=[("A", 1, 100), ("B", 1, 200)], status=BillStatus.draft)
    login_as(make.staff(hospital))
    response = client.post(
        f"/staff/bills/{bill.id}/items/{bill.items[0].id}/delete", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    db.session.refresh(bill)
    assert [i.description for i in bill.items] == ["B"] and bill.total_minor == 200
    assert client.post(f"/staff/bills/{bill.id}/items/999999/delete").status_code == 404


def test_bills_only_for_patients_of_the_hospital(client, make, login_as):
    hospital = make.hospital()
    stranger = make.patient()
    make.booking(patient_user=stranger)  # a patient of another hospital
    login_as(make.hospital_admin(hospital))
    for mrn in (stranger.patient.mrn, "NOPE", "X" * 40):
        response = client.post("/hospital/bills/new", data={"mrn": mrn})
        assert response.status_code == 422
    assert db.session.scalar(select(func.count(Bill.id)).where(Bill.appointment_id.is_(None))) == 0


def test_item_amounts_are_checked(client, make, login_as):
    hospital = make.hospital(currency="KES")
    bill = make.bill(make.patient(), hospital, status=BillStatus.draft)
    login_as(make.hospital_admin(hospital))
    bad = {
        "12.345": b"Use at most 2 decimals.",
        "-5": b"Enter an amount such as",
        "0": b"more than zero",
        "0.00": b"more than zero",
        "1e5": b"Enter an amount such as",
        "NaN": b"Enter an amount such as",
        "99999999999999999": b"too large",
        "1" * 21: b"Enter an amount such as",
        "9999999999.99": b"too large",
        "": b"This field is required.",
    }
    for price, message in bad.items():
        response = client.post(
            f"/hospital/bills/{bill.id}/items",
            data={"kind": "procedure", "description": "X", "quantity": "1", "unit_price": price},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 422, price
        assert message in response.data, (price, response.data[-600:])
    for quantity in ("0", "-1", "1001", "two"):
        response = client.post(
            f"/hospital/bills/{bill.id}/items",
            data={"kind": "procedure", "description": "X", "quantity": quantity, "unit_price": "1"},
        )
        assert response.status_code == 422, quantity
    response = client.post(
        f"/hospital/bills/{bill.id}/items",
        data={"kind": "surgery", "description": "X", "quantity": "1", "unit_price": "1"},
    )
    assert response.status_code == 422
    db.session.refresh(bill)
    assert len(bill.items) == 1


def test_a_zero_decimal_currency_takes_whole_amounts_only(client, make, login_as):
    hospital = make.hospital(currency="JPY", timezone="Asia/Tokyo")
    bill = make.bill(make.patient(), hospital, status=BillStatus.draft)
    login_as(make.hospital_admin(hospital))
    data = {"kind": "medicine", "description": "Tablets", "quantity": "1"}
    assert (
        client.post(f"/hospital/bills/{bill.id}/items", data=data | {"unit_price": "1.5"}).status_code == 422
    )
    assert (
        client.post(f"/hospital/bills/{bill.id}/items", data=data | {"unit_price": "1500"}).status_code == 303
    )
    db.session.refresh(bill)
    assert bill.items[-1].unit_minor == 1500


def test_item_text_is_shown_escaped(client, make, login_as):
    hospital = make.hospital()
    patient = make.patient()
    bill = make.bill(patient, hospital, status=BillStatus.draft)
    login_as(make.hospital_admin(hospital))
    client.post(
        f"/hospital/bills/{bill.id}/items",
        data={
            "kind": "other",
            "description": "<script>alert(1)</script>",
            "quantity": "1",
            "unit_price": "5",
        },
    )
    client.post(f"/hospital/bills/{bill.id}/issue")
    for page in (
        client.get(f"/hospital/bills/{bill.id}"),
        login_as(patient).get(f"/patient/bills/{bill.id}"),
    ):
        assert b"<script>alert(1)</script>" not in page.data
        assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page.data


def test_an_empty_draft_cannot_be_issued(client, make, login_as):
    hospital = make.hospital()
    bill = make.bill(make.patient(), hospital, items=[], status=BillStatus.draft)
    login_as(make.hospital_admin(hospital))
    client.post(f"/hospital/bills/{bill.id}/issue")
    db.session.refresh(bill)
    assert bill.status == BillStatus.draft


def test_an_unpaid_bill_can_be_cancelled_with_a_reason_but_a_paid_one_cannot(client, make, login_as):
    hospital = make.hospital()
    patient = make.patient()
    unpaid, paid = make.bill(patient, hospital), make.bill(patient, hospital)
    make.desk_payment(paid, make.staff(hospital), amount_minor=100)
    login_as(make.hospital_admin(hospital))
    assert client.post(f"/hospital/bills/{unpaid.id}/cancel", data={"reason": ""}).status_code == 422
    assert client.post(f"/hospital/bills/{unpaid.id}/cancel", data={"reason": "Duplicate"}).status_code == 303
    assert client.post(f"/hospital/bills/{paid.id}/cancel", data={"reason": "Oops"}).status_code == 409
    db.session.refresh(unpaid)
    db.session.refresh(paid)
    assert (unpaid.status, unpaid.cancel_reason) == (BillStatus.cancelled, "Duplicate")
    assert paid.status == BillStatus.issued
    assert db.session.scalars(select(Notification.text).where(Notification.kind == "bill_cancelled")).one()


def test_other_hospitals_bills_are_not_found_at_the_desk(client, make, login_as):
    here, there = make.hospital(), make.hospital()
    theirs = make.bill(make.patient(), there)
    payment = make.desk_payment(theirs, make.staff(there))
    for user, prefix in ((make.hospital_admin(here), "/hospital"), (make.staff(here), "/staff")):
        login_as(user)
        assert client.get(f"{prefix}/bills/{theirs.id}").status_code == 404
        assert (
            client.post(
                f"{prefix}/bills/{theirs.id}/payments", data={"amount": "1", "method": "cash"}
            ).status_code
            == 404
        )
        assert client.get(f"{prefix}/payments/{payment.id}/receipt.pdf").status_code == 404
        assert theirs.number.encode() not in client.get(f"{prefix}/bills").data
    db.session.refresh(theirs)
    assert theirs.paid_minor == theirs.total_minor


def test_only_receptionists_among_staff_work_the_billing_desk(client, make, login_as):
    hospital = make.hospital()
    bill = make.bill(make.patient(), hospital)
    for kind in (StaffKind.nurse, StaffKind.pharmacist, StaffKind.lab_technician):
        login_as(make.staff(hospital, kind))
        assert client.get("/staff/bills").status_code == 403
        assert client.get(f"/staff/bills/{bill.id}").status_code == 403
        assert (
            client.post(
                f"/staff/bills/{bill.id}/payments", data={"amount": "1", "method": "cash"}
            ).status_code
            == 403
        )
        assert b"Billing desk" not in client.get("/staff/").data
    login_as(make.staff(hospital, StaffKind.receptionist))
    assert b"Billing desk" in client.get("/staff/").data


def test_the_refund_policy_is_set_by_the_admin_within_0_to_100(client, make, login_as):
    hospital = make.hospital()
    login_as(make.hospital_admin(hospital))
    assert client.get("/hospital/billing/settings").status_code == 200
    for bad in ("101", "-1", "half", ""):
        assert client.post("/hospital/billing/settings", data={"refund_percent": bad}).status_code == 422
    assert client.post("/hospital/billing/settings", data={"refund_percent": "50"}).status_code == 303
    db.session.refresh(hospital)
    assert hospital.refund_percent == 50


def test_staff_service_refuses_a_payment_for_nothing(make):
    hospital = make.hospital()
    bill = make.bill(make.patient(), hospital)
    cashier = make.staff(hospital)
    payment = make.desk_payment(bill, cashier)
    assert payment.status == PaymentStatus.succeeded
    try:
        billing.record_desk_payment(
            bill, amount_minor=1, method=payment.method, actor=cashier, key=billing.new_key()
        )
    except billing.Conflict as error:
        assert error.message == "This bill is already paid."
    else:
        raise AssertionError("a paid bill took another payment")
