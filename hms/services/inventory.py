"""Inventory: items, and the movements that are the hospital's stock.

Every change of stock is a `StockMovement` row with a signed quantity; an item's stock is the sum of its
movements, a medicine batch's stock the sum of the movements that name it. The `on_hand` columns keep
that sum ready to read: each movement updates them in the same transaction, after locking the item's
row (`SELECT ... FOR UPDATE` on PostgreSQL and MariaDB; SQLite's write lock), so two people dispensing
the last units at once are served one after the other and the second hears "only N left". The columns'
CHECK (on_hand >= 0) would refuse a negative stock even if a code path forgot the lock.

Medicines are dispensed first-expiring-first (FEFO) from batches that have not expired (a batch is good
through its expiry date, in the hospital's time zone). Functions flush; the caller commits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import has_request_context
from flask_babel import gettext
from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from hms import clock
from hms.database import lock_rows, savepoint
from hms.extensions import db
from hms.models import (
    Hospital,
    InventoryItem,
    MovementKind,
    Prescription,
    PrescriptionItem,
    PrescriptionStatus,
    StockBatch,
    StockKind,
    StockMovement,
    User,
)
from hms.models.hospitals import name_key
from hms.services.audit import record_event
from hms.services.errors import Conflict, Invalid
from hms.services.scheduling import local_today
from hms.templating import local_date

MAX_QUANTITY = 1_000_000  # per movement; far above any real delivery, far below an INTEGER overflow
MAX_REORDER_LEVEL = 1_000_000
EXPIRY_WARNING_DAYS = 30


def _(text: str, **values: object) -> str:
    """The message in the user's language when there is a user (a request); as written otherwise."""
    if has_request_context():
        return gettext(text, **values)
    return text % values if values else text


class OutOfStock(Conflict):
    """Fewer units are on hand (and usable) than asked for."""

    def __init__(self, message: str, available: int) -> None:
        super().__init__(message, field="quantity")
        self.available = available


# --- Items ------------------------------------------------------------------------------------------


def hospital_item(hospital_id: int, item_id: int) -> InventoryItem | None:
    """The item `item_id` if it belongs to the hospital, else None (the caller answers 404)."""
    item = db.session.get(InventoryItem, item_id)
    return item if item is not None and item.hospital_id == hospital_id else None


def search_items(hospital_id: int, query: str = "", kind: StockKind | None = None) -> Select:
    """The hospital's items whose name contains `query` (any case), active ones first, by name."""
    statement = select(InventoryItem).where(InventoryItem.hospital_id == hospital_id)
    needle = name_key(query)
    if needle:
        statement = statement.where(InventoryItem.name_key.contains(needle, autoescape=True))
    if kind is not None:
        statement = statement.where(InventoryItem.kind == kind)
    return statement.order_by(InventoryItem.active.desc(), InventoryItem.name_key, InventoryItem.id)


def _check_item_fields(name: str, unit: str, reorder_level: int) -> tuple[str, str]:
    name = " ".join((name or "").split())
    unit = " ".join((unit or "").split())
    if not name:
        raise Invalid(_("Enter the item's name."), field="name")
    if len(name) > 120:
        raise Invalid(_("Use at most 120 characters."), field="name")
    if not unit:
        raise Invalid(_("Enter the unit it is counted in, for example tablet or box."), field="unit")
    if len(unit) > 24:
        raise Invalid(_("Use at most 24 characters."), field="unit")
    if not 0 <= reorder_level <= MAX_REORDER_LEVEL:
        raise Invalid(
            _("Enter a number between 0 and %(max)s.", max=MAX_REORDER_LEVEL), field="reorder_level"
        )
    return name, unit


def _name_taken(hospital_id: int, name: str, except_id: int | None = None) -> bool:
    statement = select(InventoryItem.id).where(
        InventoryItem.hospital_id == hospital_id, InventoryItem.name_key == name_key(name)
    )
    if except_id is not None:
        statement = statement.where(InventoryItem.id != except_id)
    return db.session.scalar(statement.limit(1)) is not None


def _name_taken_error() -> Invalid:
    return Invalid(_("This hospital already has an item with this name."), field="name")


def create_item(
    hospital: Hospital, *, name: str, kind: StockKind, unit: str, reorder_level: int, actor: User
) -> InventoryItem:
    """A new item with no stock; its name must be new to the hospital, whatever its case."""
    name, unit = _check_item_fields(name, unit, reorder_level)
    if _name_taken(hospital.id, name):
        raise _name_taken_error()
    item = InventoryItem(
        hospital_id=hospital.id, name=name, kind=kind, unit=unit, reorder_level=reorder_level
    )
    with savepoint(_name_taken_error()):  # created by someone else a moment ago
        db.session.add(item)
    record_event("create", "inventory_item", item.id, hospital_id=hospital.id, user_id=actor.id)
    return item


def update_item(
    item: InventoryItem, *, name: str, unit: str, reorder_level: int, active: bool, actor: User
) -> bool:
    """Rename, re-unit, set the reorder level, archive or restore; False when nothing changed."""
    name, unit = _check_item_fields(name, unit, reorder_level)
    if name_key(name) != item.name_key and _name_taken(item.hospital_id, name, except_id=item.id):
        raise _name_taken_error()
    changed = (name, unit, reorder_level, active) != (item.name, item.unit, item.reorder_level, item.active)
    if not changed:
        return False
    with savepoint(_name_taken_error()):
        item.name, item.unit, item.reorder_level, item.active = name, unit, reorder_level, active
    record_event("update", "inventory_item", item.id, hospital_id=item.hospital_id, user_id=actor.id)
    return True


# --- Movements --------------------------------------------------------------------------------------


def _check_quantity(quantity: int | None, field: str = "quantity") -> int:
    if quantity is None or not 1 <= quantity <= MAX_QUANTITY:
        raise Invalid(_("Enter a whole number between 1 and %(max)s.", max=MAX_QUANTITY), field=field)
    return quantity


def _clean_text(value: str | None, limit: int, field: str) -> str | None:
    text = " ".join((value or "").split())
    if len(text) > limit:
        raise Invalid(_("Use at most %(n)s characters.", n=limit), field=field)
    return text or None


def _lock(item: InventoryItem) -> InventoryItem:
    """Take the item's row lock and read its stock and batches as they are now."""
    item_id = item.id
    lock_rows((InventoryItem, item_id))
    item = db.session.get(InventoryItem, item_id, populate_existing=True)
    db.session.scalars(
        select(StockBatch).where(StockBatch.item_id == item_id).execution_options(populate_existing=True)
    ).all()
    db.session.expire(item, ["batches"])
    return item


def _move(
    item: InventoryItem,
    kind: MovementKind,
    quantity: int,
    actor: User,
    *,
    batch: StockBatch | None = None,
    supplier: str | None = None,
    reason: str | None = None,
    prescription: Prescription | None = None,
) -> StockMovement:
    """Write one movement and apply it to the item's (and batch's) on-hand count."""
    movement = StockMovement(
        hospital_id=item.hospital_id,
        item_id=item.id,
        batch_id=batch.id if batch else None,
        kind=kind,
        quantity=quantity,
        supplier=supplier,
        reason=reason,
        prescription_id=prescription.id if prescription else None,
        actor_id=actor.id,
        created_at=clock.now(),
    )
    db.session.add(movement)
    item.on_hand += quantity
    if batch is not None:
        batch.on_hand += quantity
    db.session.flush()
    return movement


def _audit(movements: list[StockMovement], actor: User) -> None:
    first = movements[0]
    detail = ", ".join(
        f"{m.kind.value} {m.quantity:+d}" + (f" batch {m.batch_id}" if m.batch_id else "") for m in movements
    )
    record_event(
        first.kind.value,
        "inventory_item",
        first.item_id,
        hospital_id=first.hospital_id,
        user_id=actor.id,
        detail=detail,
    )


def receive_stock(
    item: InventoryItem,
    *,
    quantity: int,
    supplier: str,
    actor: User,
    batch_number: str | None = None,
    expiry_date: date | None = None,
) -> StockMovement:
    """Units delivered by a supplier. A medicine names its batch and expiry date; a batch number seen
    before adds to that batch (its expiry date must match)."""
    quantity = _check_quantity(quantity)
    supplier_name = _clean_text(supplier, 120, "supplier")
    if not supplier_name:
        raise Invalid(_("Name the supplier."), field="supplier")
    if not item.active:
        raise Conflict(_("This item is archived. Restore it before receiving stock."))
    today = local_today(item.hospital)
    number = None
    if item.is_medicine:
        number = _clean_text(batch_number, 40, "batch_number")
        if not number:
            raise Invalid(_("Enter the batch number printed on the pack."), field="batch_number")
        if expiry_date is None:
            raise Invalid(_("Enter the expiry date printed on the pack."), field="expiry_date")
        if expiry_date < today:
            raise Invalid(_("This batch has expired; do not receive it."), field="expiry_date")
    item = _lock(item)
    batch = None
    if number is not None:
        batch = db.session.scalar(
            select(StockBatch).where(StockBatch.item_id == item.id, StockBatch.batch_number == number)
        )
        if batch is None:
            batch = StockBatch(item_id=item.id, batch_number=number, expiry_date=expiry_date, on_hand=0)
            db.session.add(batch)
            db.session.flush()
        elif batch.expiry_date != expiry_date:
            raise Invalid(
                _(
                    "Batch %(batch)s is recorded with the expiry date %(date)s.",
                    batch=number,
                    date=local_date(batch.expiry_date, "%d %b %Y"),
                ),
                field="expiry_date",
            )
    if item.on_hand + quantity > 2**31 - 1 - MAX_QUANTITY:
        raise Invalid(_("This would be more stock than can be counted."), field="quantity")
    movement = _move(item, MovementKind.receive, quantity, actor, batch=batch, supplier=supplier_name)
    _audit([movement], actor)
    return movement


def usable_batches(item: InventoryItem, today: date) -> list[StockBatch]:
    """The medicine's batches that may be dispensed, first-expiring first."""
    return [
        b
        for b in sorted(item.batches, key=lambda b: (b.expiry_date, b.id))
        if b.on_hand > 0 and not b.is_expired(today)
    ]


def _not_enough(item: InventoryItem, available: int, expired: int = 0) -> OutOfStock:
    if expired:
        message = _(
            "Only %(n)s %(unit)s left that have not expired (%(expired)s more are expired).",
            n=available,
            unit=item.unit,
            expired=expired,
        )
    else:
        message = _("Only %(n)s %(unit)s left.", n=available, unit=item.unit)
    return OutOfStock(message, available)


def _take(
    item: InventoryItem, kind: MovementKind, quantity: int, actor: User, **fields
) -> list[StockMovement]:  # type: ignore[no-untyped-def]
    """Take `quantity` units out of a locked item: FEFO over unexpired batches for a medicine."""
    if not item.is_medicine:
        if item.on_hand < quantity:
            raise _not_enough(item, item.on_hand)
        return [_move(item, kind, -quantity, actor, **fields)]
    today = local_today(item.hospital)
    batches = usable_batches(item, today)
    available = sum(b.on_hand for b in batches)
    if available < quantity:
        raise _not_enough(item, available, item.on_hand - available)
    movements = []
    remaining = quantity
    for batch in batches:
        take = min(batch.on_hand, remaining)
        movements.append(_move(item, kind, -take, actor, batch=batch, **fields))
        remaining -= take
        if remaining == 0:
            break
    return movements


def _issued_prescription(item: InventoryItem, number: str | None) -> Prescription | None:
    number = (number or "").strip().upper()
    if not number:
        return None
    prescription = None
    if len(number) <= 24:
        prescription = db.session.scalar(
            select(Prescription).where(
                Prescription.number == number, Prescription.hospital_id == item.hospital_id
            )
        )
    if prescription is None:
        raise Invalid(_("No prescription of this hospital has this number."), field="prescription")
    if prescription.status != PrescriptionStatus.active:
        raise Invalid(_("This prescription is not in force (cancelled or replaced)."), field="prescription")
    return prescription


_WORD = re.compile(r"\w+")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.casefold()))


def _names_drug(item_name: str, line: PrescriptionItem) -> bool:
    """The item is this line's medicine when every word of the prescribed drug is in the item's
    name ("Amoxicillin" → "Amoxicillin 500 mg capsules")."""
    drug = _words(line.drug)
    return bool(drug) and drug <= _words(item_name)


def _prescribed_line(item: InventoryItem, prescription: Prescription) -> PrescriptionItem:
    """The prescription's line for this medicine; Invalid when it prescribes no such thing."""
    if not item.is_medicine:
        raise Invalid(_("Only medicines are dispensed against a prescription."), field="prescription")
    line = next((line for line in prescription.items if _names_drug(item.name, line)), None)
    if line is None:
        raise Invalid(
            _(
                "Prescription %(number)s does not prescribe %(item)s. It prescribes: %(drugs)s.",
                number=prescription.number,
                item=item.name,
                drugs=", ".join(line.drug for line in prescription.items) or "-",
            ),
            field="prescription",
        )
    return line


def _check_prescribed_quantity(line: PrescriptionItem, quantity: int) -> None:
    """No more than the line's quantity over every dispensing against the prescription (called with
    the item locked, so two pharmacists cannot both hand out the last allowed units)."""
    if line.quantity is None:
        return
    given_by_item = db.session.execute(
        select(InventoryItem.name, func.sum(StockMovement.quantity))
        .join(InventoryItem, InventoryItem.id == StockMovement.item_id)
        .where(
            StockMovement.prescription_id == line.prescription_id, StockMovement.kind == MovementKind.dispense
        )
        .group_by(StockMovement.item_id, InventoryItem.name)
    ).all()
    given = -sum(int(total or 0) for name, total in given_by_item if _names_drug(name, line))
    if given + quantity > line.quantity:
        left = max(line.quantity - given, 0)
        raise Invalid(
            _(
                "The prescription allows %(allowed)s of %(drug)s and %(given)s were already dispensed: "
                "at most %(left)s more.",
                allowed=line.quantity,
                drug=line.drug,
                given=given,
                left=left,
            ),
            field="quantity",
        )


def dispense_stock(
    item: InventoryItem, *, quantity: int, actor: User, prescription_number: str | None = None
) -> list[StockMovement]:
    """Hand out units, optionally against an issued prescription of this hospital (by its number):
    then the item must be one of its medicines, and all dispensing against it stays within the
    prescribed quantity. Medicines come from unexpired batches, the first to expire first: one
    movement per batch used."""
    quantity = _check_quantity(quantity)
    if not item.active:
        raise Conflict(_("This item is archived and cannot be dispensed."))
    prescription = _issued_prescription(item, prescription_number)
    line = _prescribed_line(item, prescription) if prescription is not None else None
    item = _lock(item)
    if line is not None:
        _check_prescribed_quantity(line, quantity)
    movements = _take(item, MovementKind.dispense, quantity, actor, prescription=prescription)
    _audit(movements, actor)
    return movements


def _own_batch(item: InventoryItem, batch_id: int | None) -> StockBatch | None:
    if batch_id is None:
        return None
    batch = next((b for b in item.batches if b.id == batch_id), None)
    if batch is None:
        raise Invalid(_("Choose one of this medicine's batches."), field="batch")
    return batch


def adjust_stock(
    item: InventoryItem, *, change: int, reason: str, actor: User, batch_id: int | None = None
) -> StockMovement:
    """Correct the count after a stock-take, breakage or loss: `change` is signed and the reason is
    required. A medicine's adjustment names its batch."""
    if change is None or change == 0 or abs(change) > MAX_QUANTITY:
        raise Invalid(
            _("Enter a whole number between -%(max)s and %(max)s, not 0.", max=MAX_QUANTITY), field="change"
        )
    reason_text = _clean_text(reason, 255, "reason")
    if not reason_text:
        raise Invalid(_("Give a reason for the adjustment."), field="reason")
    if item.is_medicine and batch_id is None:
        raise Invalid(_("Choose the batch to adjust."), field="batch")
    item = _lock(item)
    batch = _own_batch(item, batch_id) if item.is_medicine else None
    held = batch.on_hand if batch is not None else item.on_hand
    if held + change < 0:
        raise _not_enough(item, held)
    if item.on_hand + change > 2**31 - 1 - MAX_QUANTITY:
        raise Invalid(_("This would be more stock than can be counted."), field="change")
    movement = _move(item, MovementKind.adjust, change, actor, batch=batch, reason=reason_text)
    _audit([movement], actor)
    return movement


def transfer_out_stock(
    item: InventoryItem, *, quantity: int, destination: str, actor: User, batch_id: int | None = None
) -> list[StockMovement]:
    """Send units to another facility. A medicine leaves from the batch given (expired ones too, e.g.
    back to the supplier), or else first-expiring-first from the unexpired ones."""
    quantity = _check_quantity(quantity)
    place = _clean_text(destination, 255, "destination")
    if not place:
        raise Invalid(_("Say where the stock goes."), field="destination")
    item = _lock(item)
    if item.is_medicine and batch_id is not None:
        batch = _own_batch(item, batch_id)
        if batch.on_hand < quantity:
            raise _not_enough(item, batch.on_hand)
        movements = [_move(item, MovementKind.transfer_out, -quantity, actor, batch=batch, reason=place)]
    else:
        movements = _take(item, MovementKind.transfer_out, quantity, actor, reason=place)
    _audit(movements, actor)
    return movements


# --- Reading the stock ------------------------------------------------------------------------------


def stock_from_movements(item_id: int, batch_id: int | None = None) -> int:
    """The stock as the movements say (the on-hand columns must always equal it)."""
    statement = select(func.coalesce(func.sum(StockMovement.quantity), 0)).where(
        StockMovement.item_id == item_id
    )
    if batch_id is not None:
        statement = statement.where(StockMovement.batch_id == batch_id)
    return int(db.session.scalar(statement) or 0)


def item_movements(item: InventoryItem) -> Select:
    """The item's movements, newest first."""
    return (
        select(StockMovement)
        .where(StockMovement.item_id == item.id)
        .options(
            joinedload(StockMovement.batch),
            joinedload(StockMovement.actor),
            joinedload(StockMovement.prescription),
        )
        .order_by(StockMovement.created_at.desc(), StockMovement.id.desc())
    )


def low_stock(hospital_id: int) -> Select:
    """Active items at or below their reorder level, emptiest first."""
    return (
        select(InventoryItem)
        .where(
            InventoryItem.hospital_id == hospital_id,
            InventoryItem.active.is_(True),
            InventoryItem.on_hand <= InventoryItem.reorder_level,
        )
        .order_by(InventoryItem.on_hand, InventoryItem.name_key)
    )


def expiring_soon(hospital: Hospital, days: int = EXPIRY_WARNING_DAYS) -> Select:
    """Batches still in stock that expire within `days` days of today (hospital's time zone), or have
    expired already: first to expire first. Rows are (StockBatch, InventoryItem)."""
    last = local_today(hospital) + timedelta(days=days)
    return (
        select(StockBatch, InventoryItem)
        .join(InventoryItem, InventoryItem.id == StockBatch.item_id)
        .where(
            InventoryItem.hospital_id == hospital.id,
            InventoryItem.active.is_(True),
            StockBatch.on_hand > 0,
            StockBatch.expiry_date <= last,
        )
        .order_by(StockBatch.expiry_date, InventoryItem.name_key, StockBatch.id)
    )


@dataclass(frozen=True)
class Alerts:
    low_stock: int
    expiring: int

    @property
    def total(self) -> int:
        return self.low_stock + self.expiring


def alert_counts(hospital: Hospital, *more: Select) -> tuple[Alerts, list[int]]:
    """How many items are low and how many batches expire soon (for the dashboard's badge), and the
    counts of `more` (other `SELECT count(...)` statements), all in one statement."""
    low = select(func.count()).select_from(low_stock(hospital.id).order_by(None).subquery())
    expiring = select(func.count()).select_from(expiring_soon(hospital).order_by(None).subquery())
    counts = db.session.execute(select(*(q.scalar_subquery() for q in (low, expiring, *more)))).one()
    return Alerts(low_stock=counts[0] or 0, expiring=counts[1] or 0), [n or 0 for n in counts[2:]]


def stock_usage(hospital_id: int, start_utc: datetime, end_utc: datetime) -> Select:
    """Units dispensed per item in [start_utc, end_utc): rows (item_id, name, unit, kind, dispensed),
    most used first. `dispensed` is a positive integer; items with no dispense in the range are absent.
    Run it with `db.session.execute(stock_usage(...)).all()`; it is a plain GROUP BY over the hospital's
    dispense movements (indexed by hospital, kind and time)."""
    dispensed = (-func.sum(StockMovement.quantity)).label("dispensed")
    return (
        select(
            InventoryItem.id.label("item_id"),
            InventoryItem.name,
            InventoryItem.unit,
            InventoryItem.kind,
            dispensed,
        )
        .join(InventoryItem, InventoryItem.id == StockMovement.item_id)
        .where(
            StockMovement.hospital_id == hospital_id,
            StockMovement.kind == MovementKind.dispense,
            StockMovement.created_at >= start_utc,
            StockMovement.created_at < end_utc,
        )
        .group_by(InventoryItem.id, InventoryItem.name, InventoryItem.unit, InventoryItem.kind)
        .order_by(dispensed.desc(), InventoryItem.name)
    )
