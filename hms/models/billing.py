"""Bills (FHIR Invoice) with their items, payments, refunds, and the Stripe events already handled."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hms import clock
from hms.extensions import db
from hms.i18n import N_
from hms.models.types import UTCDateTime, enum_type

if TYPE_CHECKING:
    from hms.models.hospitals import Hospital
    from hms.models.scheduling import Appointment
    from hms.models.users import Patient, User


class BillStatus(enum.StrEnum):
    """FHIR Invoice.status words, with `paid` and `refunded` for what FHIR calls balanced."""

    draft = "draft"  # being written at the desk; the patient does not see it
    issued = "issued"  # the patient owes the balance ("pending" on the patient's pages)
    paid = "paid"
    cancelled = "cancelled"
    refunded = "refunded"

    @property
    def label(self) -> str:
        return "pending" if self == BillStatus.issued else self.value


class ItemKind(enum.StrEnum):
    consultation = "consultation"
    procedure = "procedure"
    medicine = "medicine"
    room = "room"
    lab = "lab"  # a laboratory test or panel (hms.services.lab)
    other = "other"


class PaymentProvider(enum.StrEnum):
    stripe = "stripe"
    desk = "desk"


class PaymentMethod(enum.StrEnum):
    online = "online"  # Stripe Checkout
    cash = "cash"
    card = "card"  # the desk's card terminal

    @property
    def label(self) -> str:
        return {"online": N_("Online (card)"), "cash": N_("Cash"), "card": N_("Card terminal")}[self.value]


class PaymentStatus(enum.StrEnum):
    pending = "pending"  # a Checkout Session is open
    succeeded = "succeeded"
    failed = "failed"  # expired, declined or never opened
    cancelled = "cancelled"  # the patient gave up the checkout
    refunded = "refunded"  # all of it went back

    @property
    def is_final(self) -> bool:
        return self != PaymentStatus.pending


class RefundStatus(enum.StrEnum):
    pending = "pending"  # decided; Stripe has not confirmed it, or the cashier has not paid it out
    succeeded = "succeeded"
    failed = "failed"


class Bill(db.Model):
    """What a patient owes one hospital. Amounts are integer minor units of `currency`."""

    __tablename__ = "bills"
    __table_args__ = (
        Index("ix_bills_hospital_status", "hospital_id", "status"),
        Index("ix_bills_hospital_created", "hospital_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    # A consultation's bill belongs to its appointment (moved along when it is rescheduled).
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"), unique=True)
    doctor_id: Mapped[int | None] = mapped_column(ForeignKey("doctors.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[BillStatus] = mapped_column(enum_type(BillStatus), default=BillStatus.draft)
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    note: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(String(500))

    hospital: Mapped[Hospital] = relationship()
    patient: Mapped[Patient] = relationship()
    appointment: Mapped[Appointment | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    items: Mapped[list[BillItem]] = relationship(
        back_populates="bill", cascade="all, delete-orphan", order_by="BillItem.id"
    )
    payments: Mapped[list[Payment]] = relationship(back_populates="bill", order_by="Payment.id")
    refunds: Mapped[list[Refund]] = relationship(back_populates="bill", order_by="Refund.id")

    @property
    def number(self) -> str:
        return f"B{self.id:06d}"

    @property
    def balance_minor(self) -> int:
        return self.total_minor - self.paid_minor

    @property
    def refundable_minor(self) -> int:
        """What could still go back: the succeeded payments less what they already refunded."""
        return sum(p.refundable_minor for p in self.payments)

    @property
    def is_payable(self) -> bool:
        return self.status == BillStatus.issued and self.balance_minor > 0

    @property
    def is_editable(self) -> bool:
        return self.status == BillStatus.draft

    @property
    def can_cancel(self) -> bool:
        """Only a bill with nothing paid on it can be voided (a paid one is refunded instead): the rule
        behind both the Cancel offered on the desk's page and `billing.cancel_bill`."""
        return self.status in (BillStatus.draft, BillStatus.issued) and self.paid_minor == 0

    @property
    def pending_payment(self) -> Payment | None:
        return next((p for p in self.payments if p.status == PaymentStatus.pending), None)

    @property
    def last_online_payment(self) -> Payment | None:
        online = [p for p in self.payments if p.provider == PaymentProvider.stripe]
        return online[-1] if online else None

    @property
    def awaiting_online_payment(self) -> bool:
        """True while a checkout is open: the patient's page polls the bill until it settles."""
        return self.status == BillStatus.issued and self.pending_payment is not None

    @property
    def last_online_payment_failed(self) -> bool:
        last = self.last_online_payment
        return (
            self.is_payable
            and last is not None
            and last.status in (PaymentStatus.failed, PaymentStatus.cancelled)
        )

    @property
    def description(self) -> str:
        if not self.items:
            return ""
        first = self.items[0].description
        return first if len(self.items) == 1 else f"{first} (+{len(self.items) - 1})"


class BillItem(db.Model):
    """One line of a bill (FHIR Invoice.lineItem): a consultation, procedure, medicine, room night."""

    __tablename__ = "bill_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ItemKind] = mapped_column(enum_type(ItemKind))
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(default=1)
    unit_minor: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)

    bill: Mapped[Bill] = relationship(back_populates="items")


class Payment(db.Model):
    """Money received (or being received online) for a bill. `key` is our idempotency key: random,
    never reused, sent to Stripe and kept in the Checkout Session's metadata."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id"), index=True)
    provider: Mapped[PaymentProvider] = mapped_column(enum_type(PaymentProvider))
    method: Mapped[PaymentMethod] = mapped_column(enum_type(PaymentMethod))
    status: Mapped[PaymentStatus] = mapped_column(enum_type(PaymentStatus), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # The Checkout Session id for Stripe payments.
    provider_ref: Mapped[str | None] = mapped_column(String(255), unique=True)
    payment_intent: Mapped[str | None] = mapped_column(String(255))
    checkout_url: Mapped[str | None] = mapped_column(String(1000))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    receipt_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    failure: Mapped[str | None] = mapped_column(String(255))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    bill: Mapped[Bill] = relationship(back_populates="payments")
    recorded_by: Mapped[User | None] = relationship()

    @property
    def refundable_minor(self) -> int:
        return self.amount_minor - self.refunded_minor if self.status == PaymentStatus.succeeded else 0


class Refund(db.Model):
    """Money going back: a Stripe refund, or cash the cashier owes the patient for a desk payment."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[RefundStatus] = mapped_column(enum_type(RefundStatus), index=True)
    reason: Mapped[str] = mapped_column(String(255))
    provider_ref: Mapped[str | None] = mapped_column(String(255), unique=True)
    failure: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    settled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    bill: Mapped[Bill] = relationship(back_populates="refunds")
    payment: Mapped[Payment] = relationship()

    @property
    def is_online(self) -> bool:
        return self.payment.provider == PaymentProvider.stripe


class StripeEvent(db.Model):
    """A Stripe webhook event already handled: the unique event id makes each one count once."""

    __tablename__ = "stripe_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
