"""Two people on one laboratory item at once: two technicians entering a value (one wins, the other is
told, nothing is lost), the doctor and a technician verifying (exactly one verification, one notice),
a cancellation racing the collection (one of them). The point is PostgreSQL and MariaDB."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from hms import clock
from hms.extensions import db
from hms.models import (
    AuditEvent,
    LabItemStatus,
    LabOrder,
    LabOrderItem,
    LabOrderStatus,
    LabResult,
    LabSpecimen,
    Notification,
    User,
)
from hms.services import lab
from tests.concurrency import run_at_once

pytestmark = pytest.mark.concurrency

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _collected(make):  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)
    order = make.collected_lab_order()
    first, second = make.lab_technician(order.hospital), make.lab_technician(order.hospital, senior=True)
    return order, order.items[0], first, second


def _count(model, *where) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_two_technicians_entering_one_item_at_once_one_wins_and_nothing_is_lost(app, make):
    _order, item, first, second = _collected(make)
    item_id, version = item.id, item.version

    def enter(user_id: int, value: str):  # type: ignore[no-untyped-def]
        def job():  # type: ignore[no-untyped-def]
            lab.enter_result(
                db.session.get(LabOrderItem, item_id), db.session.get(User, user_id), value, version=version
            )
            db.session.commit()

        return job

    outcomes = run_at_once(app, [enter(first.id, "4.1"), enter(second.id, "4.6")], frozen_at=NOW)
    assert sorted(outcomes) == ["Conflict", "done"], outcomes
    db.session.rollback()
    item = db.session.get(LabOrderItem, item_id)
    assert item.version == version + 1 and item.status == LabItemStatus.preliminary
    assert [r.entered_by_id for r in item.results] in ([first.id], [second.id])


def test_two_verifications_at_once_make_exactly_one(app, make):
    order, item, first, second = _collected(make)
    lab.enter_result(item, first, "4.2")
    db.session.commit()
    item_id, version = item.id, item.version
    verifiers = [order.doctor.user.id, second.id]
    patient_user_id = order.patient.user_id

    def verify(user_id: int):  # type: ignore[no-untyped-def]
        def job():  # type: ignore[no-untyped-def]
            lab.verify_result(
                db.session.get(LabOrderItem, item_id), db.session.get(User, user_id), version=version
            )
            db.session.commit()

        return job

    outcomes = run_at_once(app, [verify(v) for v in verifiers], frozen_at=NOW)
    assert sorted(outcomes) == ["Conflict", "done"], outcomes
    db.session.rollback()
    item = db.session.get(LabOrderItem, item_id)
    assert item.status == LabItemStatus.final and item.version == version + 1
    [result] = item.results
    assert result.verified_by_id in verifiers
    assert _count(AuditEvent, AuditEvent.action == "verify") == 1
    assert (
        _count(Notification, Notification.user_id == patient_user_id, Notification.kind == "lab_result") == 1
    )


def test_a_verification_racing_a_correction_never_verifies_a_value_nobody_saw(app, make):
    order, item, first, second = _collected(make)
    lab.enter_result(item, first, "4.2")
    db.session.commit()
    item_id, version, first_id, second_id = item.id, item.version, first.id, second.id

    def correct():  # type: ignore[no-untyped-def]
        lab.enter_result(
            db.session.get(LabOrderItem, item_id), db.session.get(User, first_id), "4.9", version=version
        )
        db.session.commit()

    def verify():  # type: ignore[no-untyped-def]
        lab.verify_result(
            db.session.get(LabOrderItem, item_id), db.session.get(User, second_id), version=version
        )
        db.session.commit()

    outcomes = run_at_once(app, [correct, verify], frozen_at=NOW)
    assert sorted(outcomes) == ["Conflict", "done"], outcomes
    db.session.rollback()
    item = db.session.get(LabOrderItem, item_id)
    if item.status == LabItemStatus.final:  # the verification won: it verified the value it saw
        assert [r.value for r in item.results] == ["4.2"] and item.results[0].verified_by_id == second_id
    else:  # the correction won: nothing is verified
        assert [r.value for r in item.results] == ["4.2", "4.9"]
        assert _count(LabResult, LabResult.verified_at.is_not(None)) == 0


def test_a_cancellation_racing_the_collection_is_one_or_the_other(app, make):
    clock.set_frozen(NOW)
    order = make.lab_order()
    technician = make.lab_technician(order.hospital)
    order_id, doctor_id, technician_id = order.id, order.doctor.user_id, technician.id

    def cancel():  # type: ignore[no-untyped-def]
        lab.cancel_order(db.session.get(LabOrder, order_id), db.session.get(User, doctor_id), "Not needed")
        db.session.commit()

    def collect():  # type: ignore[no-untyped-def]
        lab.collect_specimen(db.session.get(LabOrder, order_id), db.session.get(User, technician_id))
        db.session.commit()

    outcomes = run_at_once(app, [cancel, collect], frozen_at=NOW)
    assert sorted(outcomes) == ["Conflict", "done"], outcomes
    db.session.rollback()
    order = db.session.get(LabOrder, order_id)
    specimens = _count(LabSpecimen, LabSpecimen.order_id == order_id)
    if order.status == LabOrderStatus.cancelled:
        assert specimens == 0 and order.bill.status.value == "cancelled"
    else:
        assert (
            order.status == LabOrderStatus.collected
            and specimens == 1
            and order.bill.status.value == "issued"
        )
