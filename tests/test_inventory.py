"""Inventory: items, stock movements (receive, dispense, adjust, transfer out), FEFO batches, the stock as the
sum of its movements, low-stock and expiry lists, who may do what, and bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from hms import clock
from hms.extensions import db
from hms.models import (
    AuditEvent,
    InventoryItem,
    MovementKind,
    PrescriptionStatus,
    StaffKind,
    StockBatch,
    StockMovement,
)
from hms.services import inventory
from hms.services.errors import Invalid

NOW = datetime(2027, 3, 1, 7, 0, tzinfo=UTC)  # 10:00 in Nairobi
TODAY = date(2027, 3, 1)
HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _frozen():  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)


@pytest.fixture
def hospital(make):  # type: ignore[no-untyped-def]
    return make.hospital(timezone="Africa/Nairobi")


@pytest.fixture
def admin(make, hospital):  # type: ignore[no-untyped-def]
    return make.hospital_admin(hospital)


@pytest.fixture
def pharmacist(make, hospital):  # type: ignore[no-untyped-def]
    return make.staff(hospital, StaffKind.pharmacist)


def _amoxicillin(make, hospital, admin):  # type: ignore[no-untyped-def]
    """Three batches: 5 expiring in 10 days, 10 in 60 days, 20 in a year."""
    return make.inventory_item(
        hospital,
        name="Amoxicillin 500 mg",
        kind="medicine",
        reorder_level=10,
        batches=[
            ("LATE", TODAY + timedelta(days=365), 20),
            ("EARLY", TODAY + timedelta(days=10), 5),
            ("MIDDLE", TODAY + timedelta(days=60), 10),
        ],
        by=admin,
    )


def _batch(item, number):  # type: ignore[no-untyped-def]
    return db.session.scalar(
        select(StockBatch).where(StockBatch.item_id == item.id, StockBatch.batch_number == number)
    )


def _assert_stock_is_sum_of_movements(item):  # type: ignore[no-untyped-def]
    db.session.expire_all()
    item = db.session.get(InventoryItem, item.id)
    assert item.on_hand == inventory.stock_from_movements(item.id)
    for batch in item.batches:
        assert batch.on_hand == inventory.stock_from_movements(item.id, batch.id)
    return item


# --- Stock and movements ----------------------------------------------------------------------------


def test_stock_is_the_sum_of_every_kind_of_movement(make, hospital, admin):
    item = make.inventory_item(hospital, name="Gauze", unit="pack", stock=50, by=admin)
    inventory.dispense_stock(item, quantity=7, actor=admin)
    inventory.adjust_stock(item, change=-3, reason="Torn packs", actor=admin)
    inventory.adjust_stock(item, change=2, reason="Found in store room", actor=admin)
    inventory.transfer_out_stock(item, quantity=12, destination="Hillside Clinic", actor=admin)
    db.session.commit()

    item = _assert_stock_is_sum_of_movements(item)
    assert item.on_hand == 50 - 7 - 3 + 2 - 12
    kinds = db.session.scalars(
        select(StockMovement.kind).where(StockMovement.item_id == item.id).order_by(StockMovement.id)
    ).all()
    assert kinds == [
        MovementKind.receive,
        MovementKind.dispense,
        MovementKind.adjust,
        MovementKind.adjust,
        MovementKind.transfer_out,
    ]


def test_medicine_is_dispensed_first_expiring_first_across_batches(make, hospital, admin):
    item = _amoxicillin(make, hospital, admin)

    movements = inventory.dispense_stock(item, quantity=8, actor=admin)
    db.session.commit()

    assert [(m.batch.batch_number, m.quantity) for m in movements] == [("EARLY", -5), ("MIDDLE", -3)]
    item = _assert_stock_is_sum_of_movements(item)
    assert item.on_hand == 27
    assert (_batch(item, "EARLY").on_hand, _batch(item, "MIDDLE").on_hand, _batch(item, "LATE").on_hand) == (
        0,
        7,
        20,
    )


def test_expired_batches_are_never_dispensed(make, hospital, admin):
    item = _amoxicillin(make, hospital, admin)
    clock.set_frozen(NOW + timedelta(days=11))  # EARLY expired yesterday

    with pytest.raises(inventory.OutOfStock) as refused:
        inventory.dispense_stock(item, quantity=31, actor=admin)
    db.session.rollback()
    assert refused.value.available == 30
    assert "30" in refused.value.message and "5 more are expired" in refused.value.message

    movements = inventory.dispense_stock(item, quantity=2, actor=admin)
    db.session.commit()
    assert [m.batch.batch_number for m in movements] == ["MIDDLE"]
    assert _batch(item, "EARLY").on_hand == 5


def test_a_batch_is_usable_through_its_expiry_date_in_the_hospitals_time_zone(make, admin):
    hospital = admin.hospital_admin.hospital
    item = make.inventory_item(hospital, kind="medicine", batches=[("B1", date(2027, 3, 2), 4)], by=admin)
    # 23:30 UTC on 2 March is already 3 March in Nairobi: the batch has expired there.
    clock.set_frozen(datetime(2027, 3, 2, 21, 30, tzinfo=UTC))
    with pytest.raises(inventory.OutOfStock):
        inventory.dispense_stock(item, quantity=1, actor=admin)
    db.session.rollback()
    clock.set_frozen(datetime(2027, 3, 2, 20, 30, tzinfo=UTC))  # 23:30 on 2 March in Nairobi
    inventory.dispense_stock(item, quantity=1, actor=admin)
    db.session.commit()


def test_stock_cannot_go_below_zero(make, hospital, admin):
    item = make.inventory_item(hospital, unit="roll", stock=3, by=admin)

    with pytest.raises(inventory.OutOfStock, match="Only 3 roll left"):
        inventory.dispense_stock(item, quantity=4, actor=admin)
    db.session.rollback()
    with pytest.raises(inventory.OutOfStock):
        inventory.adjust_stock(item, change=-4, reason="Count", actor=admin)
    db.session.rollback()
    with pytest.raises(inventory.OutOfStock):
        inventory.transfer_out_stock(item, quantity=4, destination="Ward 3", actor=admin)
    db.session.rollback()
    assert _assert_stock_is_sum_of_movements(item).on_hand == 3


def test_the_database_itself_refuses_a_negative_stock(make, hospital, admin):
    item = make.inventory_item(hospital, stock=1, by=admin)
    # A CHECK failure is an IntegrityError on SQLite and PostgreSQL, error 4025 on MariaDB.
    with pytest.raises((IntegrityError, OperationalError)):
        db.session.execute(update(InventoryItem).where(InventoryItem.id == item.id).values(on_hand=-1))
        db.session.flush()
    db.session.rollback()


def test_receiving_a_known_batch_adds_to_it_and_its_expiry_must_match(make, hospital, admin):
    item = make.inventory_item(
        hospital, kind="medicine", batches=[("LOT-1", TODAY + timedelta(days=90), 10)], by=admin
    )
    inventory.receive_stock(
        item,
        quantity=5,
        supplier="MedSupply",
        batch_number="LOT-1",
        expiry_date=TODAY + timedelta(days=90),
        actor=admin,
    )
    db.session.commit()
    assert _batch(item, "LOT-1").on_hand == 15
    with pytest.raises(Invalid) as refused:
        inventory.receive_stock(
            item,
            quantity=5,
            supplier="MedSupply",
            batch_number="LOT-1",
            expiry_date=TODAY + timedelta(days=91),
            actor=admin,
        )
    assert refused.value.field == "expiry_date"
    db.session.rollback()
    with pytest.raises(Invalid) as expired:
        inventory.receive_stock(
            item,
            quantity=5,
            supplier="MedSupply",
            batch_number="LOT-2",
            expiry_date=TODAY - timedelta(days=1),
            actor=admin,
        )
    assert expired.value.field == "expiry_date"


def test_every_movement_is_written_to_the_audit_log(make, hospital, admin):
    item = make.inventory_item(hospital, stock=5, by=admin)
    inventory.dispense_stock(item, quantity=2, actor=admin)
    db.session.commit()
    actions = db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.record_type == "inventory_item", AuditEvent.record_id == item.id)
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["create", "receive", "dispense"]


# --- Prescriptions ----------------------------------------------------------------------------------


def _prescription(make, hospital, status):  # type: ignore[no-untyped-def]
    doctor = make.doctor_at(hospital)
    appointment = make.appointment(None, doctor, hospital, clock.now().replace(second=0, microsecond=0))
    return make.prescription(make.encounter(appointment), status=status)


def _medicine(make, hospital, admin, name="medicine 1 500 mg tablets", units=30):  # type: ignore[no-untyped-def]
    """The factory's prescriptions prescribe "Medicine 1", 15 units."""
    return make.inventory_item(
        hospital, name=name, kind="medicine", batches=[("B1", TODAY + timedelta(days=200), units)], by=admin
    )


def test_dispensing_against_an_issued_prescription_records_it(
    make, hospital, admin, pharmacist, login_as, client
):
    item = _medicine(make, hospital, admin)
    prescription = _prescription(make, hospital, PrescriptionStatus.active)
    login_as(pharmacist)

    response = client.post(
        f"/staff/inventory/{item.id}/dispense",
        data={"dispense-quantity": "15", "dispense-prescription": prescription.number.lower()},
    )

    assert response.status_code == 303
    movement = db.session.scalar(select(StockMovement).where(StockMovement.kind == MovementKind.dispense))
    assert (movement.prescription_id, movement.quantity, movement.actor_id) == (
        prescription.id,
        -15,
        pharmacist.id,
    )


def test_all_dispensing_against_a_prescription_stays_within_its_quantity(
    make, hospital, admin, pharmacist, login_as, client
):
    item = _medicine(make, hospital, admin)
    other_pack = _medicine(make, hospital, admin, name="Medicine 1 (blister of 10)")
    prescription = _prescription(make, hospital, PrescriptionStatus.active)  # 15 units of Medicine 1
    login_as(pharmacist)

    def dispense(target, quantity):  # type: ignore[no-untyped-def]
        return client.post(
            f"/staff/inventory/{target.id}/dispense",
            data={"dispense-quantity": str(quantity), "dispense-prescription": prescription.number},
            headers=HX,
        )

    assert dispense(item, 10).status_code == 200
    refused = dispense(other_pack, 6)
    assert refused.status_code == 422
    assert 'id="dispense-quantity-error"' in refused.text
    assert "allows 15 of Medicine 1 and 10 were already dispensed: at most 5 more." in refused.text
    assert inventory.stock_from_movements(other_pack.id) == 30  # nothing taken
    assert dispense(other_pack, 5).status_code == 200
    assert dispense(item, 1).status_code == 422
    assert inventory.stock_from_movements(item.id) == 20


@pytest.mark.parametrize(
    ("kind", "name", "message"),
    [
        ("supply", "Gauze pads", "Only medicines are dispensed against a prescription."),
        (
            "medicine",
            "Paracetamol 500 mg",
            "does not prescribe Paracetamol 500 mg. It prescribes: Medicine 1.",
        ),
        ("medicine", "Medicine 10 mg", "does not prescribe Medicine 10 mg."),
    ],
)
def test_an_item_the_prescription_does_not_prescribe_is_refused(
    make, hospital, admin, pharmacist, login_as, client, kind, name, message
):
    if kind == "supply":
        item = make.inventory_item(hospital, name=name, stock=30, by=admin)
    else:
        item = _medicine(make, hospital, admin, name=name)
    prescription = _prescription(make, hospital, PrescriptionStatus.active)
    login_as(pharmacist)

    response = client.post(
        f"/staff/inventory/{item.id}/dispense",
        data={"dispense-quantity": "1", "dispense-prescription": prescription.number},
    )

    assert response.status_code == 422
    assert message in response.text and 'id="dispense-prescription-error"' in response.text
    assert inventory.stock_from_movements(item.id) == 30


@pytest.mark.parametrize("status", [PrescriptionStatus.draft, PrescriptionStatus.cancelled])
def test_a_prescription_not_in_force_is_refused(make, hospital, admin, login_as, client, status):
    item = make.inventory_item(hospital, stock=30, by=admin)
    prescription = _prescription(make, hospital, status)
    number = prescription.number or f"RX-T-{prescription.id:06d}"
    login_as(admin)

    response = client.post(
        f"/hospital/inventory/{item.id}/dispense",
        data={"dispense-quantity": "1", "dispense-prescription": number},
        headers=HX,
    )

    assert response.status_code == 422
    assert 'id="dispense-prescription-error"' in response.text
    assert inventory.stock_from_movements(item.id) == 30


def test_another_hospitals_prescription_is_refused(make, hospital, admin, login_as, client):
    item = make.inventory_item(hospital, stock=30, by=admin)
    elsewhere = _prescription(make, make.hospital(), PrescriptionStatus.active)
    login_as(admin)

    response = client.post(
        f"/hospital/inventory/{item.id}/dispense",
        data={"dispense-quantity": "1", "dispense-prescription": elsewhere.number},
    )

    assert response.status_code == 422
    assert "No prescription of this hospital has this number." in response.text


# --- Pages, HTMX and bad input ----------------------------------------------------------------------


def test_pharmacist_cannot_dispense_more_than_in_stock(make, hospital, admin, pharmacist, login_as, client):
    item = make.inventory_item(hospital, name="Paracetamol syrup", unit="bottle", stock=3, by=admin)
    login_as(pharmacist)

    response = client.post(
        f"/staff/inventory/{item.id}/dispense", data={"dispense-quantity": "4"}, headers=HX
    )

    assert response.status_code == 409
    assert "Only 3 bottle left." in response.text
    assert 'value="4"' in response.text  # what was typed is kept
    assert db.session.get(InventoryItem, item.id).on_hand == 3


def test_an_inline_movement_returns_a_small_fragment_and_tells_the_page(
    make, hospital, admin, login_as, client
):
    item = _amoxicillin(make, hospital, admin)
    login_as(admin)

    response = client.post(
        f"/hospital/inventory/{item.id}/dispense", data={"dispense-quantity": "6"}, headers=HX
    )

    assert response.status_code == 200
    assert "stockChanged" in response.headers["HX-Trigger"]
    assert response.text.lstrip().startswith('<form method="post"')
    assert 'id="move-dispense"' in response.text and "<html" not in response.text
    assert "Dispensed 6 tablet." in response.text
    assert len(response.data) < 5 * 1024
    # The page's stock and history listen for stockChanged and fetch themselves again.
    stock = client.get(f"/hospital/inventory/{item.id}?fragment=stock", headers=HX)
    assert stock.text.lstrip().startswith('<section id="stock"') and len(stock.data) < 5 * 1024
    assert "On hand: 29 tablet" in stock.text
    history = client.get(f"/hospital/inventory/{item.id}?fragment=history", headers=HX)
    assert history.text.lstrip().startswith('<section id="history"') and len(history.data) < 5 * 1024


def test_without_javascript_a_movement_redirects_to_the_item(make, hospital, admin, login_as, client):
    item = make.inventory_item(hospital, stock=10, by=admin)
    login_as(admin)

    response = client.post(
        f"/hospital/inventory/{item.id}/transfer-out",
        data={"transfer-quantity": "4", "transfer-destination": "Hillside Clinic", "transfer-batch": ""},
    )

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/hospital/inventory/{item.id}")
    page = client.get(response.headers["Location"])
    assert "Transferred out 4 box." in page.text and "Hillside Clinic" in page.text
    assert len(page.data) < 50 * 1024


@pytest.mark.parametrize(
    "quantity",
    ["", "0", "-5", "1000001", "99999999999999999999999", "abc", "1.5", "½", " ", "1e3"],
)
def test_bad_quantities_are_422_field_errors(make, hospital, admin, login_as, client, quantity):
    item = make.inventory_item(hospital, stock=10, by=admin)
    login_as(admin)

    for kind, prefix, extra in (
        ("receive", "receive", {"receive-supplier": "MedSupply"}),
        ("dispense", "dispense", {}),
        ("transfer-out", "transfer", {"transfer-destination": "Ward"}),
    ):
        response = client.post(
            f"/hospital/inventory/{item.id}/{kind}",
            data={f"{prefix}-quantity": quantity, **extra},
            headers=HX,
        )
        assert response.status_code == 422, (kind, quantity)
        assert f'id="{prefix}-quantity-error"' in response.text
    assert inventory.stock_from_movements(item.id) == 10


@pytest.mark.parametrize("change", ["0", "", "-1000001", "5000000000", "x"])
def test_bad_adjustments_are_422(make, hospital, admin, login_as, client, change):
    item = make.inventory_item(hospital, stock=10, by=admin)
    login_as(admin)
    response = client.post(
        f"/hospital/inventory/{item.id}/adjust", data={"adjust-change": change, "adjust-reason": "Count"}
    )
    assert response.status_code == 422
    assert 'id="adjust-change-error"' in response.text


def test_an_adjustment_needs_a_reason_and_a_medicine_its_batch(make, hospital, admin, login_as, client):
    item = _amoxicillin(make, hospital, admin)
    login_as(admin)
    no_reason = client.post(f"/hospital/inventory/{item.id}/adjust", data={"adjust-change": "-1"})
    no_batch = client.post(
        f"/hospital/inventory/{item.id}/adjust", data={"adjust-change": "-1", "adjust-reason": "Broken"}
    )
    wrong_batch = client.post(
        f"/hospital/inventory/{item.id}/adjust",
        data={"adjust-change": "-1", "adjust-reason": "Broken", "adjust-batch": "2147483647"},
    )
    assert [r.status_code for r in (no_reason, no_batch, wrong_batch)] == [422, 422, 422]
    assert 'id="adjust-reason-error"' in no_reason.text
    assert 'id="adjust-batch-error"' in no_batch.text and 'id="adjust-batch-error"' in wrong_batch.text

    early = _batch(item, "EARLY")
    done = client.post(
        f"/hospital/inventory/{item.id}/adjust",
        data={"adjust-change": "-2", "adjust-reason": "Broken", "adjust-batch": str(early.id)},
    )
    assert done.status_code == 303
    assert _assert_stock_is_sum_of_movements(item).on_hand == 33


def test_receiving_a_medicine_needs_batch_and_expiry(make, hospital, admin, login_as, client):
    item = make.inventory_item(hospital, kind="medicine", by=admin)
    login_as(admin)
    response = client.post(
        f"/hospital/inventory/{item.id}/receive",
        data={"receive-quantity": "10", "receive-supplier": "MedSupply", "receive-expiry_date": "2027-13-45"},
    )
    assert response.status_code == 422
    assert 'id="receive-expiry_date-error"' in response.text
    response = client.post(
        f"/hospital/inventory/{item.id}/receive",
        data={"receive-quantity": "10", "receive-supplier": "MedSupply", "receive-expiry_date": "2028-01-31"},
    )
    assert response.status_code == 422
    assert 'id="receive-batch_number-error"' in response.text
    response = client.post(
        f"/hospital/inventory/{item.id}/receive",
        data={
            "receive-quantity": "10",
            "receive-supplier": "MedSupply",
            "receive-batch_number": "AMX-2201",
            "receive-expiry_date": "2028-01-31",
        },
    )
    assert response.status_code == 303
    assert _batch(item, "AMX-2201").expiry_date == date(2028, 1, 31)


def test_item_names_are_unique_per_hospital_whatever_their_case(make, hospital, admin, login_as, client):
    make.inventory_item(hospital, name="Surgical Gloves", by=admin)
    make.inventory_item(make.hospital(), name="Nitrile gloves")
    login_as(admin)

    taken = client.post(
        "/hospital/inventory",
        data={"name": "  surgical   GLOVES ", "kind": "supply", "unit": "pair", "reorder_level": "10"},
        headers=HX,
    )
    elsewhere_is_fine = client.post(
        "/hospital/inventory",
        data={"name": "Nitrile Gloves", "kind": "supply", "unit": "pair", "reorder_level": "10"},
    )

    assert taken.status_code == 422
    assert "This hospital already has an item with this name." in taken.text
    assert taken.text.lstrip().startswith('<form method="post"')
    assert elsewhere_is_fine.status_code == 303


@pytest.mark.parametrize(
    "data",
    [
        {"name": "", "kind": "supply", "unit": "box", "reorder_level": "1"},
        {"name": "X" * 121, "kind": "supply", "unit": "box", "reorder_level": "1"},
        {"name": "Tape", "kind": "gadget", "unit": "box", "reorder_level": "1"},
        {"name": "Tape", "kind": "supply", "unit": "", "reorder_level": "1"},
        {"name": "Tape", "kind": "supply", "unit": "box", "reorder_level": "-1"},
        {"name": "Tape", "kind": "supply", "unit": "box", "reorder_level": "10000000000000"},
    ],
)
def test_bad_items_are_422(admin, login_as, client, data):
    login_as(admin)
    response = client.post("/hospital/inventory", data=data)
    assert response.status_code == 422
    assert db.session.scalar(select(func.count(InventoryItem.id))) == 0


def test_unicode_names_are_kept(admin, login_as, client):
    login_as(admin)
    response = client.post(
        "/hospital/inventory",
        data={
            "name": "Парацетамол 500 мг — شراب",
            "kind": "medicine",
            "unit": "tablet",
            "reorder_level": "0",
        },
    )
    assert response.status_code == 303
    assert db.session.scalar(select(InventoryItem.name)) == "Парацетамол 500 мг — شراب"


def test_nul_bytes_are_refused(make, hospital, admin, login_as, client):
    item = make.inventory_item(hospital, stock=3, by=admin)
    login_as(admin)
    response = client.post(
        f"/hospital/inventory/{item.id}/adjust", data={"adjust-change": "1", "adjust-reason": "a\x00b"}
    )
    assert response.status_code == 400


def test_admin_edits_and_archives_an_item_and_an_archived_item_is_not_dispensed(
    make, hospital, admin, login_as, client
):
    item = make.inventory_item(hospital, name="Syringe 5 ml", stock=10, by=admin)
    login_as(admin)

    response = client.post(
        f"/hospital/inventory/{item.id}",
        data={"name": "Syringe 5 mL", "unit": "piece", "reorder_level": "20"},
        headers=HX,
    )

    assert response.status_code == 200 and "Saved." in response.text
    item = db.session.get(InventoryItem, item.id)
    assert (item.name, item.unit, item.reorder_level, item.active) == ("Syringe 5 mL", "piece", 20, False)
    refused = client.post(f"/hospital/inventory/{item.id}/dispense", data={"dispense-quantity": "1"})
    assert refused.status_code == 409
    assert "archived" in refused.text


def test_search_as_you_type_returns_the_table_and_pages(make, hospital, admin, login_as, client):
    for n in range(25):
        make.inventory_item(hospital, name=f"Bandage {n:02d}", by=admin)
    make.inventory_item(hospital, name="Cotton wool 100%_", by=admin)
    login_as(admin)

    first = client.get("/hospital/inventory?q=bandage&fragment=table", headers=HX)
    second = client.get("/hospital/inventory?q=BANDAGE&page=2")
    wildcard = client.get("/hospital/inventory?q=%25_&fragment=table", headers=HX)

    assert first.status_code == 200 and "<html" not in first.text
    assert first.text.count("Bandage ") == 20 and "Page 1 of 2" in first.text
    assert "Bandage 24" in second.text and "Bandage 00" not in second.text
    assert "Cotton wool" in wildcard.text and "Bandage" not in wildcard.text
    assert client.get("/hospital/inventory?page=-3&kind=zzz").status_code == 200


def test_low_stock_and_expiring_soon_lists_and_the_dashboard_badge(make, hospital, admin, login_as, client):
    make.inventory_item(hospital, name="Gloves", stock=5, reorder_level=5, by=admin)  # low: at the level
    make.inventory_item(hospital, name="Masks", stock=6, reorder_level=5, by=admin)  # fine
    make.inventory_item(
        hospital,
        name="Insulin",
        kind="medicine",
        reorder_level=0,
        batches=[("IN-30", TODAY + timedelta(days=30), 2), ("IN-31", TODAY + timedelta(days=31), 2)],
        by=admin,
    )
    login_as(admin)

    alerts = client.get("/hospital/inventory/alerts")
    dashboard = client.get("/hospital/")

    assert alerts.status_code == 200
    low_section = alerts.text.split('id="low-stock"')[1].split('id="expiring"')[0]
    expiring_section = alerts.text.split('id="expiring"')[1]
    assert "Gloves" in low_section and "Masks" not in low_section and "Insulin" not in low_section
    assert "IN-30" in expiring_section and "IN-31" not in expiring_section
    assert 'class="badge badge-warning">2<' in dashboard.text
    assert "Low on stock: 1 · expiring within 30 days: 1" in dashboard.text


def test_stock_usage_sums_dispensed_units_per_item_in_a_range(make, hospital, admin):
    gauze = make.inventory_item(hospital, name="Gauze", stock=100, by=admin)
    tape = make.inventory_item(hospital, name="Tape", stock=100, by=admin)
    other = make.inventory_item(make.hospital(), name="Gauze", stock=100)
    inventory.dispense_stock(gauze, quantity=3, actor=admin)
    inventory.dispense_stock(other, quantity=50, actor=admin)
    clock.set_frozen(NOW + timedelta(hours=2))
    inventory.dispense_stock(gauze, quantity=4, actor=admin)
    inventory.dispense_stock(tape, quantity=1, actor=admin)
    inventory.adjust_stock(tape, change=-9, reason="Wet", actor=admin)  # not usage
    clock.set_frozen(NOW + timedelta(days=2))
    inventory.dispense_stock(tape, quantity=20, actor=admin)  # after the range
    db.session.commit()

    rows = db.session.execute(inventory.stock_usage(hospital.id, NOW, NOW + timedelta(days=1))).all()

    assert [(r.name, r.dispensed) for r in rows] == [("Gauze", 7), ("Tape", 1)]


# --- Who may do what --------------------------------------------------------------------------------


def test_pharmacist_receives_and_dispenses_at_his_own_hospital_only(
    make, hospital, admin, pharmacist, login_as, client
):
    own = make.inventory_item(hospital, name="Ibuprofen 200 mg", stock=10, by=admin)
    other = make.inventory_item(make.hospital(), name="Ibuprofen 400 mg", stock=10)
    login_as(pharmacist)

    listing = client.get("/staff/inventory")
    assert listing.status_code == 200
    assert "Ibuprofen 200 mg" in listing.text and "Ibuprofen 400 mg" not in listing.text
    assert 'href="/staff/inventory"' in listing.text  # in his navigation
    assert 'id="new-item"' not in listing.text  # items are the admin's to create
    page = client.get(f"/staff/inventory/{own.id}")
    assert page.status_code == 200
    assert 'id="move-receive"' in page.text and 'id="move-dispense"' in page.text
    assert 'id="move-adjust"' not in page.text and 'id="edit-item"' not in page.text
    assert client.get("/staff/inventory/alerts").status_code == 200

    assert client.get(f"/staff/inventory/{other.id}").status_code == 404
    assert (
        client.post(f"/staff/inventory/{other.id}/dispense", data={"dispense-quantity": "1"}).status_code
        == 404
    )
    assert (
        client.post(f"/staff/inventory/{own.id}/adjust", data={"adjust-change": "-1", "adjust-reason": "x"})
    ).status_code == 403
    assert (
        client.post(
            f"/staff/inventory/{own.id}/transfer-out",
            data={"transfer-quantity": "1", "transfer-destination": "x"},
        )
    ).status_code == 403
    assert client.post("/hospital/inventory", data={"name": "X"}).status_code == 403
    received = client.post(
        f"/staff/inventory/{own.id}/receive", data={"receive-quantity": "5", "receive-supplier": "MedSupply"}
    )
    assert received.status_code == 303
    assert _assert_stock_is_sum_of_movements(own).on_hand == 15


@pytest.mark.parametrize("kind", [StaffKind.nurse, StaffKind.receptionist, StaffKind.lab_technician])
def test_other_staff_have_no_inventory(make, hospital, admin, login_as, client, kind):
    item = make.inventory_item(hospital, stock=10, by=admin)
    login_as(make.staff(hospital, kind))
    assert client.get("/staff/inventory").status_code == 403
    assert client.get(f"/staff/inventory/{item.id}").status_code == 403
    assert (
        client.post(f"/staff/inventory/{item.id}/dispense", data={"dispense-quantity": "1"}).status_code
        == 403
    )
    assert 'href="/staff/inventory"' not in client.get("/staff/").text


def test_an_expired_batch_leaves_only_when_named(make, hospital, admin):
    item = _amoxicillin(make, hospital, admin)
    clock.set_frozen(NOW + timedelta(days=11))  # EARLY has expired
    early = _batch(item, "EARLY")

    first = inventory.transfer_out_stock(item, quantity=1, destination="Ward 2", actor=admin)
    back = inventory.transfer_out_stock(
        item, quantity=5, destination="Back to the supplier", batch_id=early.id, actor=admin
    )
    db.session.commit()

    assert [m.batch.batch_number for m in first] == ["MIDDLE"]
    assert [(m.batch_id, m.quantity) for m in back] == [(early.id, -5)]
    assert _assert_stock_is_sum_of_movements(item).on_hand == 29
    with pytest.raises(inventory.OutOfStock):
        inventory.transfer_out_stock(item, quantity=1, destination="x", batch_id=early.id, actor=admin)
