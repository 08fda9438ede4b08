"""Several people dispensing the last units at once: exactly as many succeed as the stock allows, the others
hear "only N left", and the stock never goes below zero (run on every database; the point is PostgreSQL and
MariaDB, where transactions really run in parallel)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import InventoryItem, StockMovement, User
from hms.services import inventory
from tests.concurrency import run_at_once as _run_at_once

pytestmark = pytest.mark.concurrency

NOW = datetime(2027, 3, 1, 7, 0, tzinfo=UTC)


def run_at_once(app, jobs):  # type: ignore[no-untyped-def]
    return _run_at_once(app, jobs, done="ok", refusal=lambda error: error.message, frozen_at=NOW)


def dispense_job(item_id, user_id, quantity):  # type: ignore[no-untyped-def]
    def job():  # type: ignore[no-untyped-def]
        item = db.session.get(InventoryItem, item_id)
        inventory.dispense_stock(item, quantity=quantity, actor=db.session.get(User, user_id))
        db.session.commit()

    return job


def _stock(item_id):  # type: ignore[no-untyped-def]
    db.session.rollback()
    db.session.expire_all()
    item = db.session.get(InventoryItem, item_id)
    assert item.on_hand == inventory.stock_from_movements(item_id)
    for batch in item.batches:
        assert batch.on_hand == inventory.stock_from_movements(item_id, batch.id) >= 0
    return item.on_hand


def test_two_pharmacists_dispensing_the_last_units_at_once_one_succeeds(app, make):
    clock.set_frozen(NOW)
    hospital = make.hospital()
    admin = make.hospital_admin(hospital)
    item = make.inventory_item(hospital, name="Oxygen mask", unit="mask", stock=3, by=admin)
    pharmacists = [make.staff(hospital), make.staff(hospital)]

    outcomes = run_at_once(app, [dispense_job(item.id, p.id, 3) for p in pharmacists])

    assert sorted(outcomes) == ["Only 0 mask left.", "ok"], outcomes
    assert _stock(item.id) == 0


def test_ten_people_racing_for_five_units_of_a_medicine_across_batches(app, make):
    clock.set_frozen(NOW)
    hospital = make.hospital()
    admin = make.hospital_admin(hospital)
    item = make.inventory_item(
        hospital,
        kind="medicine",
        unit="vial",
        batches=[("A", date(2027, 4, 1), 2), ("B", date(2027, 5, 1), 3)],
        by=admin,
    )
    users = [make.staff(hospital) for _ in range(10)]

    outcomes = run_at_once(app, [dispense_job(item.id, u.id, 1) for u in users])

    assert outcomes.count("ok") == 5, outcomes
    assert outcomes.count("Only 0 vial left.") == 5, outcomes
    assert _stock(item.id) == 0
    dispensed = db.session.scalars(
        select(StockMovement.quantity).where(StockMovement.item_id == item.id, StockMovement.quantity < 0)
    ).all()
    assert sum(dispensed) == -5
