"""The demo's laboratory (hms/demo.py): the lab technician's login, the standard catalogue with real
LOINC codes, and orders in every state, made through the laboratory services."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hms import clock, demo
from hms.extensions import db
from hms.models import (
    BillStatus,
    Hospital,
    LabFlag,
    LabItemStatus,
    LabOrder,
    LabOrderStatus,
    StaffKind,
    User,
)
from hms.services import lab, passwords


@pytest.fixture(scope="module")
def seeded_at(app, module_transaction):  # type: ignore[no-untyped-def]
    moment = clock.now().replace(microsecond=0)
    with app.app_context(), clock.frozen(moment):
        demo.seed()
        db.session.commit()
    return moment


@pytest.fixture
def riverside(seeded_at):  # type: ignore[no-untyped-def]
    clock.set_frozen(seeded_at)
    return db.session.scalar(select(Hospital).where(Hospital.name == demo.DEMO_HOSPITAL))


def test_the_lab_technician_logs_in_with_the_demo_password(riverside):
    technician = db.session.scalar(select(User).where(User.email == "lab@example.org"))
    assert technician.staff.kind == StaffKind.lab_technician and technician.staff.hospital_id == riverside.id
    assert passwords.verify_password(technician.password_hash, demo.DEMO_PASSWORD)


def test_the_senior_technician_can_verify_what_the_junior_one_entered(riverside):
    senior = db.session.scalar(select(User).where(User.email == demo.LAB))
    junior = db.session.scalar(select(User).where(User.email == demo.LAB_JUNIOR))
    assert senior.staff.senior and not junior.staff.senior
    assert junior.staff.kind == StaffKind.lab_technician and junior.staff.hospital_id == riverside.id
    orders = db.session.scalars(select(LabOrder).where(LabOrder.hospital_id == riverside.id)).all()
    to_verify = [i for o in orders for i in o.items if i.status == LabItemStatus.preliminary]
    assert to_verify and all(i.result.entered_by_id == junior.id for i in to_verify)
    assert all(lab.can_verify(senior, i) and not lab.can_verify(junior, i) for i in to_verify)


def test_the_catalogue_has_the_common_tests_with_their_loinc_codes(riverside):
    tests, panels = lab.catalogue(riverside.id)
    loinc = {t.loinc for t in tests}
    for code in ("718-7", "6690-2", "777-3", "2345-7", "4548-4", "2160-0", "3094-0", "2951-2", "2823-3"):
        assert code in loinc
    for code in ("1742-6", "1920-8", "2093-3", "2085-9", "13457-7", "2571-8", "3016-3", "1988-5"):
        assert code in loinc
    assert len(tests) >= 25 and {"FBC", "KFT", "LFT", "LIPID", "UA"} <= {p.code for p in panels}
    assert all(t.price_minor > 0 for t in tests if t.code != "HIV")


def test_orders_wait_in_every_state(riverside):
    orders = db.session.scalars(select(LabOrder).where(LabOrder.hospital_id == riverside.id)).all()
    states = {o.status for o in orders}
    assert {LabOrderStatus.verified, LabOrderStatus.resulted, LabOrderStatus.ordered} <= states
    waiting = [o for o in orders if o.status == LabOrderStatus.ordered]
    assert all(o.bill.status == BillStatus.issued for o in waiting)
    assert all(o.bill.status == BillStatus.paid for o in orders if o.status != LabOrderStatus.ordered)
    to_verify = [i for o in orders for i in o.items if i.status == LabItemStatus.preliminary]
    assert to_verify
    results = [i.result for o in orders for i in o.items if i.result is not None]
    critical = [r for r in results if r.flag == LabFlag.critical_high]
    assert critical and all(r.acknowledged_at is not None for r in critical)
    assert any(i.status == LabItemStatus.amended for o in orders for i in o.items)
    assert lab.escalate_unacknowledged_criticals() == 0
