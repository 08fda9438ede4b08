"""Inventory: a hospital's medicines and supplies, their batches, and every movement of stock.

The movements are the record: an item's stock is the sum of its movements' signed quantities, and a
medicine batch's stock the sum of the movements that name it. `on_hand` on the item and the batch is
that sum kept up to date in the same transaction, under a row lock on the item
(hms.services.inventory), with CHECK (on_hand >= 0) as the database's own last word."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from hms import clock
from hms.extensions import db
from hms.i18n import N_
from hms.models.hospitals import name_key
from hms.models.types import UTCDateTime, enum_type

if TYPE_CHECKING:
    from hms.models.clinical import Prescription
    from hms.models.hospitals import Hospital
    from hms.models.users import User


class StockKind(enum.StrEnum):
    medicine = "medicine"
    supply = "supply"

    @property
    def label(self) -> str:
        return {"medicine": N_("Medicine"), "supply": N_("Supply")}[self.value]


class MovementKind(enum.StrEnum):
    receive = "receive"
    dispense = "dispense"
    adjust = "adjust"
    transfer_out = "transfer_out"

    @property
    def label(self) -> str:
        return {
            "receive": N_("Received"),
            "dispense": N_("Dispensed"),
            "adjust": N_("Adjusted"),
            "transfer_out": N_("Transferred out"),
        }[self.value]


class InventoryItem(db.Model):
    """A medicine or supply a hospital keeps; names are unique per hospital whatever their case."""

    __tablename__ = "inventory_items"
    __table_args__ = (
        UniqueConstraint("hospital_id", "name_key"),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reorder_level >= 0", name="reorder_level_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    name_key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[StockKind] = mapped_column(enum_type(StockKind))
    unit: Mapped[str] = mapped_column(String(24))  # tablet, vial, box, pair
    reorder_level: Mapped[int] = mapped_column(default=0)
    on_hand: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    hospital: Mapped[Hospital] = relationship()
    batches: Mapped[list[StockBatch]] = relationship(
        back_populates="item", order_by="StockBatch.expiry_date, StockBatch.id"
    )

    @validates("name")
    def _set_name_key(self, key: str, value: str) -> str:
        value = " ".join(value.split())
        self.name_key = name_key(value)
        return value

    @property
    def is_medicine(self) -> bool:
        return self.kind == StockKind.medicine

    @property
    def is_low(self) -> bool:
        return self.on_hand <= self.reorder_level


class StockBatch(db.Model):
    """One batch (lot) of a medicine with its expiry date; its batch number is unique per item."""

    __tablename__ = "stock_batches"
    __table_args__ = (
        UniqueConstraint("item_id", "batch_number"),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        Index("ix_stock_batches_item_expiry", "item_id", "expiry_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("inventory_items.id"))
    batch_number: Mapped[str] = mapped_column(String(40))
    expiry_date: Mapped[date]
    on_hand: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    item: Mapped[InventoryItem] = relationship(back_populates="batches")

    def is_expired(self, today: date) -> bool:
        """A batch may be used up to and including its expiry date."""
        return self.expiry_date < today


class StockMovement(db.Model):
    """One change of stock: received (+), dispensed (−), adjusted (±, with a reason) or transferred out (−).
    A medicine's movement names its batch; a dispense of several batches is one movement per batch."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint("quantity <> 0", name="quantity_not_zero"),
        Index("ix_stock_movements_item_created", "item_id", "created_at"),
        Index("ix_stock_movements_hospital_kind_created", "hospital_id", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("inventory_items.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("stock_batches.id"), index=True)
    kind: Mapped[MovementKind] = mapped_column(enum_type(MovementKind))
    quantity: Mapped[int]  # signed: + into stock, − out of it
    supplier: Mapped[str | None] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(String(255))
    prescription_id: Mapped[int | None] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    item: Mapped[InventoryItem] = relationship()
    batch: Mapped[StockBatch | None] = relationship()
    prescription: Mapped[Prescription | None] = relationship()
    actor: Mapped[User] = relationship()
