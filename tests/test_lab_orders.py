"""Laboratory orders: a doctor orders tests and panels from his encounter, the order is billed through
the billing service (the bill shows the lines; cancelling voids or refunds it), the specimen is
collected with a label, and every bad request is refused with a clear message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import (
    AuditEvent,
    Bill,
    BillStatus,
    ItemKind,
    LabItemStatus,
    LabOrder,
    LabOrderStatus,
    LabPanel,
    LabPriority,
    LabTest,
    Notification,
    PaymentMethod,
    RefundStatus,
    StaffKind,
)
from hms.services import billing, lab
from hms.services.errors import Conflict, Invalid, NotAllowed

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 12:00 in Nairobi


@pytest.fixture(autouse=True)
def _frozen():  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)


def _visit(make):  # type: ignore[no-untyped-def]
    encounter = make.encounter()
    doctor = encounter.doctor.user
    return encounter, doctor


# ---------------------------------------------------------------- placing an order


def test_a_panel_and_a_test_make_one_item_each_and_one_bill_line_each(make):
    encounter, doctor = _visit(make)
    hospital = encounter.hospital
    creatinine = make.lab_test(hospital, name="Creatinine", price_minor=50000)
    potassium = make.lab_test(hospital, name="Potassium", price_minor=40000)
    glucose = make.lab_test(hospital, name="Glucose", price_minor=20000)
    panel = make.lab_panel(hospital, [creatinine, potassium], name="Kidney function", price_minor=150000)

    order = lab.place_order(
        encounter,
        doctor,
        test_ids=[glucose.id, potassium.id],  # potassium is in the panel already: ordered once
        panel_ids=[panel.id],
        priority="urgent",
        clinical_note="  Vomiting,   weak  ",
    )
    db.session.commit()

    assert order.status == LabOrderStatus.ordered and order.priority == LabPriority.urgent
    assert order.clinical_note == "Vomiting, weak"
    assert [(i.test.name, i.panel_id) for i in order.items] == [
        ("Creatinine", panel.id),
        ("Potassium", panel.id),
        ("Glucose", None),
    ]
    assert all(i.status == LabItemStatus.registered for i in order.items)
    bill = db.session.get(Bill, order.bill_id)
    assert bill.status == BillStatus.issued and bill.patient_id == encounter.patient_id
    assert [(i.kind, i.description, i.amount_minor) for i in bill.items] == [
        (ItemKind.lab, "Lab: Kidney function", 150000),
        (ItemKind.lab, "Lab: Glucose", 20000),
    ]
    assert bill.total_minor == 170000 and bill.currency == hospital.currency
    notices = db.session.scalars(
        select(Notification.kind).where(Notification.user_id == order.patient.user_id)
    )
    assert "bill_issued" in list(notices)
    assert db.session.scalar(
        select(AuditEvent).where(AuditEvent.record_type == "lab_order", AuditEvent.record_id == order.id)
    )


def test_an_order_of_free_tests_makes_no_bill(make):
    encounter, doctor = _visit(make)
    hiv = make.lab_choice_test(encounter.hospital, name="HIV rapid test", price_minor=0)
    order = lab.place_order(encounter, doctor, test_ids=[hiv.id])
    assert order.bill_id is None and len(order.items) == 1


def test_only_the_doctor_of_the_visit_can_order(make):
    encounter, _doctor = _visit(make)
    test = make.lab_test(encounter.hospital)
    other = make.doctor_at(encounter.hospital)
    with pytest.raises(NotAllowed):
        lab.place_order(encounter, other, test_ids=[test.id])
    with pytest.raises(NotAllowed):
        lab.place_order(encounter, make.lab_technician(encounter.hospital), test_ids=[test.id])


def test_an_order_for_a_retired_test_is_refused(make):
    encounter, doctor = _visit(make)
    retired = make.lab_test(encounter.hospital, name="Bleeding time", active=False)
    with pytest.raises(Invalid, match="Bleeding time is retired"):
        lab.place_order(encounter, doctor, test_ids=[retired.id])


def test_a_panel_holding_a_retired_test_is_refused(make):
    encounter, doctor = _visit(make)
    retired = make.lab_test(encounter.hospital, name="Bleeding time", active=False)
    panel = make.lab_panel(encounter.hospital, [make.lab_test(encounter.hospital), retired])
    with pytest.raises(Invalid, match="retired"):
        lab.place_order(encounter, doctor, panel_ids=[panel.id])
    retired_panel = make.lab_panel(encounter.hospital, [make.lab_test(encounter.hospital)], active=False)
    with pytest.raises(Invalid, match="retired"):
        lab.place_order(encounter, doctor, panel_ids=[retired_panel.id])


def test_another_hospitals_test_an_empty_order_a_bad_priority_and_a_long_note_are_refused(make):
    encounter, doctor = _visit(make)
    elsewhere = make.lab_test(make.hospital())
    mine = make.lab_test(encounter.hospital)
    with pytest.raises(Invalid, match="not in the hospital's catalogue"):
        lab.place_order(encounter, doctor, test_ids=[elsewhere.id])
    with pytest.raises(Invalid, match="at least one"):
        lab.place_order(encounter, doctor)
    with pytest.raises(Invalid, match="routine, urgent or stat") as error:
        lab.place_order(encounter, doctor, test_ids=[mine.id], priority="asap-ish")
    assert error.value.field == "priority"
    with pytest.raises(Invalid, match="500 characters"):
        lab.place_order(encounter, doctor, test_ids=[mine.id], clinical_note="x" * 501)
    assert db.session.scalar(select(LabOrder.id)) is None


# ---------------------------------------------------------------- cancelling


def test_cancelling_before_collection_voids_the_unpaid_bill(make):
    order = make.lab_order()
    doctor = order.doctor.user
    lab.cancel_order(order, doctor, "Patient left")
    db.session.commit()
    assert order.status == LabOrderStatus.cancelled and order.cancel_reason == "Patient left"
    assert order.cancelled_by_id == doctor.id and order.cancelled_at == NOW
    assert all(i.status == LabItemStatus.cancelled for i in order.items)
    bill = db.session.get(Bill, order.bill_id)
    assert bill.status == BillStatus.cancelled and "LAB" in bill.cancel_reason
    assert bill.balance_minor == bill.total_minor  # nothing was paid; nothing is owed on a cancelled bill


def test_cancelling_a_paid_order_refunds_it_in_full(make):
    order = make.lab_order()
    bill = db.session.get(Bill, order.bill_id)
    cashier = make.staff(order.hospital, StaffKind.receptionist)
    make.desk_payment(bill, cashier)
    technician = make.lab_technician(order.hospital)
    lab.cancel_order(order, technician, "Sample could not be taken")
    db.session.commit()
    bill = db.session.get(Bill, order.bill_id)
    assert bill.status == BillStatus.refunded
    assert [(r.amount_minor, r.status) for r in bill.refunds] == [(bill.paid_minor, RefundStatus.pending)]
    assert bill.payments[0].method == PaymentMethod.cash


def test_cancel_after_collection_is_refused_and_the_bill_stays(make):
    order = make.collected_lab_order()
    with pytest.raises(Conflict, match="can no longer be cancelled"):
        lab.cancel_order(order, order.doctor.user, "Changed my mind")
    assert db.session.get(Bill, order.bill_id).status == BillStatus.issued


def test_cancel_needs_a_reason_the_right_person_and_a_live_order(make):
    order = make.lab_order()
    with pytest.raises(Invalid, match="reason"):
        lab.cancel_order(order, order.doctor.user, "   ")
    with pytest.raises(NotAllowed):
        lab.cancel_order(order, make.doctor_at(order.hospital), "Not mine")
    with pytest.raises(NotAllowed):
        lab.cancel_order(order, make.lab_technician(), "Another hospital")
    lab.cancel_order(order, order.doctor.user, "Duplicate")
    with pytest.raises(Conflict, match="already cancelled"):
        lab.cancel_order(order, order.doctor.user, "Again")


# ---------------------------------------------------------------- specimens


def test_collecting_labels_one_specimen_per_kind(make):
    encounter, doctor = _visit(make)
    hospital = encounter.hospital
    blood = make.lab_choice_test(hospital)
    serum_a, serum_b = make.lab_test(hospital), make.lab_test(hospital, name="Sodium")
    order = make.lab_order(encounter, tests=[blood, serum_a, serum_b])
    nurse = make.nurse(hospital)
    taken = NOW - timedelta(minutes=10)
    specimens = lab.collect_specimen(order, nurse, collected_at=taken)
    db.session.commit()
    assert [(s.kind.value, s.label, s.collected_by_id, s.collected_at) for s in specimens] == [
        ("blood", f"L{order.id:06d}-1", nurse.id, taken),
        ("serum", f"L{order.id:06d}-2", nurse.id, taken),
    ]
    assert [i.specimen.label for i in order.items] == [
        specimens[0].label,
        specimens[1].label,
        specimens[1].label,
    ]
    assert order.status == LabOrderStatus.collected and order.collected_at == taken


def test_collection_is_refused_twice_for_a_cancelled_order_in_the_future_and_for_outsiders(make):
    order = make.lab_order()
    technician = make.lab_technician(order.hospital)
    with pytest.raises(NotAllowed):
        lab.collect_specimen(order, make.lab_technician())
    with pytest.raises(NotAllowed):
        lab.collect_specimen(order, make.staff(order.hospital, StaffKind.receptionist))
    with pytest.raises(Invalid, match="future"):
        lab.collect_specimen(order, technician, collected_at=NOW + timedelta(hours=1))
    lab.collect_specimen(order, technician)
    with pytest.raises(Conflict, match="already collected"):
        lab.collect_specimen(order, technician)
    cancelled = make.lab_order()
    lab.cancel_order(cancelled, cancelled.doctor.user, "Not needed")
    with pytest.raises(Conflict, match="cancelled"):
        lab.collect_specimen(cancelled, make.lab_technician(cancelled.hospital))


# ---------------------------------------------------------------- the standard catalogue


def test_the_standard_catalogue_installs_once_with_prices_in_kes_only(make):
    from hms.data import lab_catalogue

    hospital = make.hospital(currency="KES")
    added = lab.install_catalogue(hospital)
    assert added == len(lab_catalogue.TESTS) + len(lab_catalogue.PANELS)
    assert lab.install_catalogue(hospital) == 0
    tests, panels = lab.catalogue(hospital.id)
    by_code = {t.code: t for t in tests}
    assert by_code["K"].loinc == "2823-3" and by_code["HB"].loinc == "718-7"
    assert {r.sex.value for r in by_code["HB"].ranges} == {"female", "male"}
    assert by_code["MRDT"].options == ["negative", "positive", "invalid"]
    assert {p.code: [t.code for t in p.tests] for p in panels}["FBC"] == ["HB", "HCT", "WBC", "PLT", "MCV"]
    assert by_code["GLU"].price_minor == 20000
    euro = make.hospital(currency="EUR")
    lab.install_catalogue(euro)
    assert {
        t.price_minor for t in db.session.scalars(select(LabTest).where(LabTest.hospital_id == euro.id))
    } == {0}
    assert {
        p.price_minor for p in db.session.scalars(select(LabPanel).where(LabPanel.hospital_id == euro.id))
    } == {0}


def test_the_bill_of_an_order_is_the_billing_services_ordinary_bill(make):
    """The desk sees it like any other bill and can take the payment."""
    order = make.lab_order()
    found = billing.hospital_bill(order.hospital_id, order.bill_id)
    assert found is not None and found.is_payable


def test_the_work_list_puts_stat_first_then_urgent_then_routine_oldest_first(make):
    hospital = make.hospital()
    encounters = [make.encounter(make.appointment(None, None, hospital, start_at=NOW)) for _ in range(3)]
    test = make.lab_test(hospital)
    routine = make.lab_order(encounters[0], tests=[test])
    clock.set_frozen(NOW + timedelta(minutes=1))
    stat = make.lab_order(encounters[1], tests=[test], priority="stat")
    urgent = make.lab_order(encounters[2], tests=[test], priority="urgent")
    clock.set_frozen(NOW + timedelta(minutes=2))
    later_routine = make.lab_order(encounters[0], tests=[test])
    make.lab_order()  # at another hospital
    assert lab.hospital_work_list(hospital.id) == [stat, urgent, routine, later_routine]
    lab.cancel_order(later_routine, later_routine.doctor.user, "Duplicate")
    assert later_routine not in lab.hospital_work_list(hospital.id)
    assert lab.patient_orders(routine.patient_id) == [later_routine, routine]
    assert lab.encounter_orders(encounters[0].id) == [routine, later_routine]
