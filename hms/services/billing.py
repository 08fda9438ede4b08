"""Billing: bills from bookings and from the desk, online (Stripe) and desk payments, refunds.

Rules that hold everywhere:
- Money is integer minor units of the bill's currency; amounts are computed here, never taken from
  the browser (except what a cashier types as the amount received, checked against the balance).
- A bill row is locked (`_lock_bill`) before any change to what was paid, so that two payments, a
  payment and a webhook, or a webhook and its duplicate never both count.
- An online payment changes state only on what Stripe itself says: a signed webhook event or a
  Checkout Session fetched from Stripe's API by our server.
- Stripe is called outside the database transaction where we can: refunds and checkout closings are
  queued and sent after the commit (`run_after_commit_tasks`), each with its own idempotency key, so
  that a rolled-back change never sends money anywhere and a retry never sends it twice."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app, has_app_context
from flask_babel import gettext
from sqlalchemy import Select, event, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from hms import clock, events
from hms.database import lock_rows
from hms.extensions import db
from hms.i18n import N_, in_language_of, locale_code
from hms.models import (
    Appointment,
    Bill,
    BillItem,
    BillStatus,
    Doctor,
    Hospital,
    ItemKind,
    Membership,
    Patient,
    Payment,
    PaymentMethod,
    PaymentProvider,
    PaymentStatus,
    Refund,
    RefundStatus,
    Role,
    StripeEvent,
    User,
)
from hms.money import format_money
from hms.payments import stripe_gateway
from hms.payments.stripe_gateway import GatewayError
from hms.services.audit import record_event
from hms.services.errors import Conflict, Invalid, NotFound
from hms.services.notifications import notify

MAX_AMOUNT_MINOR = 10**12  # far above any hospital bill, far below BIGINT
MAX_QUANTITY = 1000
MAX_ITEMS = 100
DESK_METHODS = (PaymentMethod.cash, PaymentMethod.card)

_QUEUED = "billing_after_commit"
_READY = "billing_ready"


class PaymentUnavailable(Conflict):
    """Stripe could not open a checkout: the patient may try again later or pay at the desk."""

    def __init__(self) -> None:
        super().__init__(
            N_("Online payment is not available right now. Try again in a few minutes, or pay at the desk.")
        )


def new_key() -> str:
    """A fresh idempotency key: random, so that it is never reused even if a row id is."""
    return secrets.token_hex(16)


def money(amount_minor: int, currency: str) -> str:
    """An amount written the way of the language in use (the reader's, or `in_language_of`'s)."""
    return format_money(amount_minor, currency, locale_code())


# ---------------------------------------------------------------- locking and counters


def _lock_bill(bill_id: int, *, begin: bool = True) -> Bill:
    """The bill, re-read under a row lock held until the caller commits.

    `begin=True` is for operations that start here (a view, a webhook): on SQLite it ends any read
    transaction and takes the database's write lock first. Subscribers run inside a transaction that
    already writes (and so holds SQLite's lock) and pass `begin=False`."""
    if begin and db.engine.dialect.name == "sqlite":
        lock_rows((Bill, bill_id))
    bill = db.session.scalars(
        select(Bill).where(Bill.id == bill_id).with_for_update().execution_options(populate_existing=True)
    ).one()
    # What other transactions committed before we got the lock, not what this session saw earlier.
    for model in (Payment, Refund):
        db.session.scalars(
            select(model).where(model.bill_id == bill_id).execution_options(populate_existing=True)
        ).all()
    db.session.expire(bill, ["payments", "refunds", "items"])
    return bill


def _next_receipt_number(hospital_id: int) -> str:
    """The hospital's next receipt number, gap-free: the UPDATE holds the counter's row lock."""
    db.session.execute(
        update(Hospital)
        .where(Hospital.id == hospital_id)
        .values(receipt_seq=Hospital.receipt_seq + 1)
        .execution_options(synchronize_session=False)
    )
    seq = db.session.scalar(select(Hospital.receipt_seq).where(Hospital.id == hospital_id))
    return f"R{hospital_id}-{seq:06d}"


# ---------------------------------------------------------------- work sent to Stripe after the commit


def _after_commit(kind: str, row_id: int) -> None:
    db.session.info.setdefault(_QUEUED, []).append((kind, row_id))


def _promote_tasks(session: Session) -> None:
    queued = session.info.pop(_QUEUED, None)
    if queued:
        session.info.setdefault(_READY, []).extend(queued)


def _drop_tasks(session: Session, previous_transaction: Any) -> None:
    if not previous_transaction.nested:
        session.info.pop(_QUEUED, None)


def run_after_commit_tasks(max_rounds: int = 5) -> None:
    """Send what committed changes queued for Stripe (refunds, closing checkouts). A task may queue
    another (closing a checkout that turns out paid refunds it). Failures are logged and left for
    `retry_stripe_work`; nothing here raises."""
    if not has_app_context():
        return
    for _ in range(max_rounds):
        ready = db.session.info.pop(_READY, None)
        if not ready:
            return
        for kind, row_id in ready:
            try:
                if kind == "refund":
                    submit_refund(row_id)
                elif kind == "expire":
                    close_checkout(row_id)
                db.session.commit()
            except Exception:  # one failed task must not stop the others or the response
                db.session.rollback()
                current_app.logger.exception("billing task %s %s failed", kind, row_id)


# ---------------------------------------------------------------- bills from bookings


def _consultation_bill(appointment: Appointment, actor: User, fee: int | None = None) -> int | None:
    """The consultation's bill (its id) at the doctor's fee at that hospital; none for a free
    consultation. `fee` is the booking's (which read the membership already); without it the bill may
    exist."""
    if fee is None:
        existing = db.session.scalar(select(Bill.id).where(Bill.appointment_id == appointment.id))
        if existing is not None:
            return existing
        fee = db.session.scalar(
            select(Membership.fee_minor).where(
                Membership.doctor_id == appointment.doctor_id,
                Membership.hospital_id == appointment.hospital_id,
            )
        )
    if not fee or fee <= 0:
        return None
    hospital = appointment.hospital
    bill_id = _insert_bill(
        {
            "hospital_id": hospital.id,
            "patient_id": appointment.patient_id,
            "appointment_id": appointment.id,
            "doctor_id": appointment.doctor_id,
            "currency": hospital.currency,
            "status": BillStatus.issued,
            "total_minor": fee,
            "created_by_id": actor.id,
            "issued_at": clock.now(),
        },
        {
            "kind": ItemKind.consultation,
            "description": f"Consultation with Dr {appointment.doctor.name}"[:200],
            "quantity": 1,
            "unit_minor": fee,
            "amount_minor": fee,
        },
    )
    record_event(
        "create",
        "bill",
        bill_id,
        patient_id=appointment.patient_id,
        hospital_id=hospital.id,
        user_id=actor.id,
    )
    return bill_id


def _insert_bill(bill: dict[str, Any], item: dict[str, Any]) -> int:
    """Insert a bill with its one item as two plain INSERTs (every booking makes one; through the ORM's
    unit of work the two objects cost a fifth of a booking's CPU). Column defaults apply as for objects."""
    connection = db.session.connection()  # not through the session: the rows it holds pending (the
    # booking's notices and audit event) need not be flushed first; they go with the commit, together
    bill_id = connection.execute(_INSERT_BILL, bill).inserted_primary_key[0]
    connection.execute(_INSERT_BILL_ITEM, item | {"bill_id": bill_id})
    return bill_id


# Plain INSERTs of the tables (not of the ORM classes, whose INSERT runs through the ORM's bulk machinery),
# their values given as parameters.
_INSERT_BILL, _INSERT_BILL_ITEM = insert(Bill.__table__), insert(BillItem.__table__)


def on_appointment_booked(
    appointment: Appointment, actor: User, fee_minor: int | None = None, **_: Any
) -> None:
    """A new booking's bill (none can exist yet: the booking was just made) at the fee it read."""
    _consultation_bill(appointment, actor, fee_minor)


def on_appointment_rescheduled(appointment: Appointment, old: Appointment, actor: User, **_: Any) -> None:
    """The bill follows the visit to its new time: same price, same payments."""
    bill = db.session.scalar(select(Bill).where(Bill.appointment_id == old.id))
    if bill is None:
        _consultation_bill(appointment, actor)
        return
    bill = _lock_bill(bill.id, begin=False)
    bill.appointment_id = appointment.id
    db.session.flush()
    record_event(
        "update",
        "bill",
        bill.id,
        patient_id=bill.patient_id,
        hospital_id=bill.hospital_id,
        user_id=actor.id,
        detail=f"moved from appointment {old.id} to {appointment.id}",
    )


def on_appointment_cancelled(appointment: Appointment, actor: User, reason: str = "", **_: Any) -> None:
    """Apply the hospital's refund policy to the visit's bill."""
    bill_id = db.session.scalar(select(Bill.id).where(Bill.appointment_id == appointment.id))
    if bill_id is None:
        return
    bill = _lock_bill(bill_id, begin=False)
    by_patient = actor.role == Role.patient
    percent = bill.hospital.refund_percent if by_patient else 100
    settle_cancelled_bill(bill, actor, percent, "Appointment cancelled" + (f": {reason}" if reason else ""))


@dataclass(frozen=True)
class CancellationTerms:
    """What cancelling a visit does to its bill, told before the patient confirms."""

    currency: str | None = None
    owed_minor: int = 0  # still to pay: it is cancelled
    paid_minor: int = 0
    refund_minor: int = 0  # of what was paid, given back (the rest is the hospital's fee)

    @property
    def fee_minor(self) -> int:
        return self.paid_minor - self.refund_minor


def cancellation_terms(appointment: Appointment, actor: User) -> CancellationTerms:
    """The terms `on_appointment_cancelled` will apply if `actor` cancels now (the same rule)."""
    bill = db.session.scalar(select(Bill).where(Bill.appointment_id == appointment.id))
    if bill is None or bill.status in (BillStatus.cancelled, BillStatus.refunded):
        return CancellationTerms()
    percent = bill.hospital.refund_percent if actor.role == Role.patient else 100
    refund = bill.paid_minor * max(0, min(percent, 100)) // 100
    owed = max(bill.total_minor - bill.paid_minor, 0) if bill.status != BillStatus.draft else 0
    return CancellationTerms(bill.currency, owed, bill.paid_minor, refund)


def connect_subscribers() -> None:
    """Create bills on booking and apply the refund policy on cancellation (called by create_app)."""
    events.appointment_booked.connect(on_appointment_booked)
    events.appointment_rescheduled.connect(on_appointment_rescheduled)
    events.appointment_cancelled.connect(on_appointment_cancelled)
    if not event.contains(Session, "after_commit", _promote_tasks):
        event.listen(Session, "after_commit", _promote_tasks)
        event.listen(Session, "after_soft_rollback", _drop_tasks)


# ---------------------------------------------------------------- bills written at the desk


def find_hospital_patient(hospital: Hospital, mrn: str) -> Patient | None:
    """The patient with this record number if he has (or had) an appointment at the hospital."""
    mrn = (mrn or "").strip().upper()
    if not mrn or len(mrn) > 16:
        return None
    return db.session.scalar(
        select(Patient)
        .where(Patient.mrn == mrn)
        .where(
            select(Appointment.id)
            .where(Appointment.patient_id == Patient.id, Appointment.hospital_id == hospital.id)
            .exists()
        )
    )


def create_bill(*, hospital: Hospital, mrn: str, actor: User, note: str = "") -> Bill:
    """A draft bill for a patient of the hospital; items are added before it is issued."""
    patient = find_hospital_patient(hospital, mrn)
    if patient is None:
        raise Invalid(N_("No patient of this hospital has this record number."), field="mrn")
    return open_bill(hospital=hospital, patient=patient, actor=actor, note=note)


def open_bill(*, hospital: Hospital, patient: Patient, actor: User, note: str = "") -> Bill:
    """A draft bill for a patient the caller already knows to be the hospital's (an admission's)."""
    bill = Bill(
        hospital_id=hospital.id,
        patient_id=patient.id,
        currency=hospital.currency,
        status=BillStatus.draft,
        note=note.strip()[:500] or None,
        created_by_id=actor.id,
    )
    db.session.add(bill)
    db.session.flush()
    record_event("create", "bill", bill.id, patient_id=patient.id, hospital_id=hospital.id, user_id=actor.id)
    return bill


def _recompute_total(bill: Bill) -> None:
    bill.total_minor = sum(item.amount_minor for item in bill.items)


def add_item(
    bill: Bill, *, kind: ItemKind, description: str, quantity: int, unit_minor: int, actor: User
) -> BillItem:
    if not bill.is_editable:
        raise Conflict(N_("Only a draft bill can be changed."))
    description = (description or "").strip()
    if not description:
        raise Invalid(N_("Describe the item."), field="description")
    if len(description) > 200:
        raise Invalid(N_("Use at most 200 characters."), field="description")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise Invalid(f"The quantity must be between 1 and {MAX_QUANTITY}.", field="quantity")
    if unit_minor <= 0:
        raise Invalid(N_("The price must be more than zero."), field="unit_price")
    amount = unit_minor * quantity
    if amount > MAX_AMOUNT_MINOR or bill.total_minor + amount > MAX_AMOUNT_MINOR:
        raise Invalid(N_("This amount is too large."), field="unit_price")
    if len(bill.items) >= MAX_ITEMS:
        raise Conflict(f"A bill has at most {MAX_ITEMS} items.")
    item = BillItem(
        kind=kind, description=description, quantity=quantity, unit_minor=unit_minor, amount_minor=amount
    )
    bill.items.append(item)
    _recompute_total(bill)
    db.session.flush()
    record_event(
        "update",
        "bill",
        bill.id,
        patient_id=bill.patient_id,
        hospital_id=bill.hospital_id,
        user_id=actor.id,
        detail=f"add item {item.id}",
    )
    return item


def remove_item(bill: Bill, item_id: int, actor: User) -> None:
    if not bill.is_editable:
        raise Conflict(N_("Only a draft bill can be changed."))
    item = next((i for i in bill.items if i.id == item_id), None)
    if item is None:
        raise NotFound(N_("This item is not on the bill."))
    bill.items.remove(item)
    _recompute_total(bill)
    db.session.flush()
    record_event(
        "update",
        "bill",
        bill.id,
        patient_id=bill.patient_id,
        hospital_id=bill.hospital_id,
        user_id=actor.id,
        detail=f"remove item {item_id}",
    )


def issue_bill(bill: Bill, actor: User, *, begin: bool = True) -> Bill:
    """Send a draft to the patient: from now on he sees it and can pay it. `begin=False` inside an
    operation that already wrote (a laboratory order), as for `_lock_bill`."""
    bill = _lock_bill(bill.id, begin=begin)
    if bill.status == BillStatus.issued:
        return bill
    if bill.status != BillStatus.draft:
        raise Conflict(N_("Only a draft bill can be issued."))
    if not bill.items or bill.total_minor <= 0:
        raise Invalid(N_("Add at least one item before issuing the bill."))
    bill.status = BillStatus.issued
    bill.issued_at = clock.now()
    db.session.flush()
    record_event(
        "issue", "bill", bill.id, patient_id=bill.patient_id, hospital_id=bill.hospital_id, user_id=actor.id
    )
    with in_language_of(bill.patient.user):
        text = gettext(
            "%(hospital)s sent you bill %(number)s for %(amount)s.",
            hospital=bill.hospital.name,
            number=bill.number,
            amount=money(bill.total_minor, bill.currency),
        )
    notify(
        bill.patient.user, "bill_issued", text, link=f"/patient/bills/{bill.id}", hospital_id=bill.hospital_id
    )
    return bill


def cancel_bill(bill: Bill, actor: User, reason: str) -> Bill:
    """Void a bill nothing was paid on (a paid bill is refunded through its appointment instead)."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(N_("Give a reason; the patient will see it."), field="reason")
    bill = _lock_bill(bill.id)
    if bill.status == BillStatus.cancelled:
        return bill
    if not bill.can_cancel:
        raise Conflict(N_("Only a bill with nothing paid on it can be cancelled."))
    settle_cancelled_bill(bill, actor, 100, reason[:500])
    return bill


def settle_cancelled_bill(bill: Bill, actor: User, percent: int, reason: str) -> None:
    """Cancel what is still owed and refund `percent` of what was paid (the bill must be locked).

    Online payments are refunded through Stripe after the commit; desk payments become refunds the
    cashier pays out. A bill with a refund ends `refunded`; a paid one the policy keeps stays `paid`."""
    if bill.status in (BillStatus.cancelled, BillStatus.refunded):
        return
    now = clock.now()
    for payment in bill.payments:
        if payment.status == PaymentStatus.pending:
            _after_commit("expire", payment.id)
    refund_total = bill.paid_minor * max(0, min(percent, 100)) // 100
    refunds = _refund_payments(bill, refund_total, reason) if refund_total else []
    bill.cancel_reason = reason[:500]
    if refunds:
        bill.status = BillStatus.refunded
    elif bill.status != BillStatus.paid:
        bill.status = BillStatus.cancelled
    bill.settled_at = bill.settled_at or now
    db.session.flush()
    record_event(
        "refund" if refunds else "cancel",
        "bill",
        bill.id,
        patient_id=bill.patient_id,
        hospital_id=bill.hospital_id,
        user_id=actor.id,
        detail=f"refund {refund_total} {bill.currency}" if refunds else None,
    )
    if actor.id != bill.patient.user_id or refunds:
        with in_language_of(bill.patient.user):
            names = {"number": bill.number, "hospital": bill.hospital.name}
            if refunds:
                text = gettext(
                    "Bill %(number)s from %(hospital)s was cancelled. %(amount)s will be refunded.",
                    amount=money(refund_total, bill.currency),
                    **names,
                )
            else:
                text = gettext("Bill %(number)s from %(hospital)s was cancelled.", **names)
        notify(
            bill.patient.user,
            "bill_cancelled",
            text,
            link=f"/patient/bills/{bill.id}",
            hospital_id=bill.hospital_id,
        )


def _refund_payments(bill: Bill, amount: int, reason: str) -> list[Refund]:
    """Spread a refund over the bill's payments: online ones first (they go back by themselves)."""
    refunds = []
    payments = sorted(
        (p for p in bill.payments if p.refundable_minor > 0),
        key=lambda p: (p.provider != PaymentProvider.stripe, -p.id),
    )
    for payment in payments:
        if amount <= 0:
            break
        share = min(amount, payment.refundable_minor)
        refunds.append(_refund(bill, payment, share, reason))
        amount -= share
    return refunds


def _refund(bill: Bill, payment: Payment, amount: int, reason: str, *, on_bill: bool = True) -> Refund:
    refund = Refund(
        key=new_key(),
        bill=bill,
        payment=payment,
        amount_minor=amount,
        currency=payment.currency,
        status=RefundStatus.pending,
        reason=reason[:255],
    )
    db.session.add(refund)
    payment.refunded_minor += amount
    if payment.refunded_minor >= payment.amount_minor:
        payment.status = PaymentStatus.refunded
    if on_bill:
        bill.refunded_minor += amount
    db.session.flush()
    if payment.provider == PaymentProvider.stripe:
        _after_commit("refund", refund.id)
    return refund


def refund_part(bill: Bill, *, amount_minor: int, reason: str, actor: User, key: str) -> list[Refund]:
    """Give back part (or the rest) of what was paid on a bill that stays valid, for example a test
    that was not done. Online payments go back through Stripe after the commit, desk payments wait
    for the cashier to pay them out; the same form sent twice (same `key`) refunds once."""
    key = (key or "").strip()[:64]
    if len(key) < 16:
        raise Invalid(N_("This form is out of date. Reload the page."))
    reason = " ".join((reason or "").split())[:255]
    if not reason:
        raise Invalid(N_("Say why the money goes back."), field="reason")
    bill = _lock_bill(bill.id)
    done = db.session.scalars(select(Refund).where(Refund.key.startswith(f"{key}-"))).all()
    if done:
        if any(r.bill_id != bill.id for r in done):
            raise Invalid(N_("This form was already used. Reload the page."))
        return list(done)
    refundable = bill.refundable_minor
    if refundable <= 0:
        raise Conflict(N_("Nothing paid on this bill can be refunded."))
    if amount_minor <= 0:
        raise Invalid(N_("The amount must be more than zero."), field="amount")
    if amount_minor > refundable:
        raise Invalid(
            gettext("At most %(amount)s can be refunded.", amount=money(refundable, bill.currency)),
            field="amount",
        )
    refunds = _refund_payments(bill, amount_minor, reason)
    for n, refund in enumerate(refunds):
        refund.key = f"{key}-{n}"
    if bill.refunded_minor >= bill.paid_minor:
        bill.status = BillStatus.refunded
    db.session.flush()
    record_event(
        "refund",
        "bill",
        bill.id,
        patient_id=bill.patient_id,
        hospital_id=bill.hospital_id,
        user_id=actor.id,
        detail=f"refund {amount_minor} {bill.currency}: {reason}"[:255],
    )
    with in_language_of(bill.patient.user):
        text = gettext(
            "%(amount)s of bill %(number)s from %(hospital)s will be refunded: %(reason)s",
            amount=money(amount_minor, bill.currency),
            number=bill.number,
            hospital=bill.hospital.name,
            reason=reason,
        )
    notify(
        bill.patient.user,
        "refund_issued",
        text,
        link=f"/patient/bills/{bill.id}",
        hospital_id=bill.hospital_id,
    )
    return refunds


def set_refund_percent(hospital: Hospital, percent: int, actor: User) -> Hospital:
    if not 0 <= percent <= 100:
        raise Invalid(N_("Enter a share between 0 and 100 per cent."), field="refund_percent")
    if hospital.refund_percent != percent:
        hospital.refund_percent = percent
        db.session.flush()
        record_event(
            "update",
            "hospital",
            hospital.id,
            hospital_id=hospital.id,
            user_id=actor.id,
            detail=f"refund_percent={percent}",
        )
    return hospital


# ---------------------------------------------------------------- desk payments


def _receive(bill: Bill, payment: Payment, now: datetime) -> None:
    """Count a payment that succeeded against its (locked) bill and give it a receipt number."""
    payment.status = PaymentStatus.succeeded
    payment.settled_at = now
    payment.receipt_number = _next_receipt_number(bill.hospital_id)
    bill.paid_minor += payment.amount_minor
    if bill.paid_minor >= bill.total_minor:
        bill.status = BillStatus.paid
        bill.settled_at = now
    db.session.flush()
    record_event(
        "payment",
        "bill",
        bill.id,
        patient_id=bill.patient_id,
        hospital_id=bill.hospital_id,
        user_id=payment.recorded_by_id,
        detail=f"{payment.receipt_number} {payment.amount_minor} {payment.currency} {payment.method.value}",
    )
    with in_language_of(bill.patient.user):
        text = gettext(
            "%(hospital)s received %(amount)s for bill %(number)s (receipt %(receipt)s).",
            hospital=bill.hospital.name,
            amount=money(payment.amount_minor, payment.currency),
            number=bill.number,
            receipt=payment.receipt_number,
        )
    notify(
        bill.patient.user,
        "payment_received",
        text,
        link=f"/patient/bills/{bill.id}",
        hospital_id=bill.hospital_id,
    )


def _check_payable(bill: Bill) -> None:
    if bill.status == BillStatus.draft:
        raise Conflict(N_("Issue the bill before taking payment."))
    if bill.status == BillStatus.paid:
        raise Conflict(N_("This bill is already paid."))
    if bill.status in (BillStatus.cancelled, BillStatus.refunded):
        raise Conflict(N_("This bill was cancelled; nothing is owed."))
    if bill.balance_minor <= 0:
        raise Conflict(N_("Nothing is owed on this bill."))


def record_desk_payment(
    bill: Bill, *, amount_minor: int, method: PaymentMethod, actor: User, key: str
) -> Payment:
    """Cash or the card terminal at the desk, all or part of the balance; the same form sent twice
    (same `key`) records one payment."""
    if method not in DESK_METHODS:
        raise Invalid(N_("Choose cash or card."), field="method")
    key = (key or "").strip()[:64]
    if len(key) < 16:
        raise Invalid(N_("This form is out of date. Reload the page."))
    bill = _lock_bill(bill.id)
    existing = db.session.scalar(select(Payment).where(Payment.key == key))
    if existing is not None:
        if existing.bill_id != bill.id:
            raise Invalid(N_("This form was already used. Reload the page."))
        return existing
    _check_payable(bill)
    if amount_minor <= 0:
        raise Invalid(N_("The amount must be more than zero."), field="amount")
    if amount_minor > bill.balance_minor:
        raise Invalid(
            gettext(
                "That is more than the balance of %(amount)s.",
                amount=money(bill.balance_minor, bill.currency),
            ),
            field="amount",
        )
    now = clock.now()
    payment = Payment(
        key=key,
        bill=bill,
        provider=PaymentProvider.desk,
        method=method,
        status=PaymentStatus.pending,
        amount_minor=amount_minor,
        currency=bill.currency,
        recorded_by_id=actor.id,
        created_at=now,
    )
    db.session.add(payment)
    _receive(bill, payment, now)
    for other in bill.payments:
        if other.status == PaymentStatus.pending:  # the patient's open checkout is now out of date
            _after_commit("expire", other.id)
    return payment


def pay_out_refund(refund: Refund, actor: User) -> Refund:
    """The cashier hands a desk refund over to the patient."""
    bill = _lock_bill(refund.bill_id)
    refund = db.session.get(Refund, refund.id, populate_existing=True)
    if refund.payment.provider != PaymentProvider.desk:
        raise Conflict(N_("Online refunds go back to the card by themselves."))
    if refund.status == RefundStatus.succeeded:
        return refund
    refund.status = RefundStatus.succeeded
    refund.settled_at = clock.now()
    refund.settled_by_id = actor.id
    db.session.flush()
    record_event(
        "refund_paid_out",
        "bill",
        bill.id,
        patient_id=bill.patient_id,
        hospital_id=bill.hospital_id,
        user_id=actor.id,
        detail=f"refund {refund.id}",
    )
    return refund


# ---------------------------------------------------------------- online payments (Stripe Checkout)


def online_payments_enabled() -> bool:
    return stripe_gateway.configured()


def begin_online_payment(bill: Bill) -> Payment:
    """The payment to send the patient to Stripe with: the open checkout if there is one (a double
    click, "continue payment"), else a new one for the whole balance."""
    if not online_payments_enabled():
        raise Conflict(N_("Online payment is not available; please pay at the desk."))
    pending = bill.pending_payment
    if pending is not None and pending.expires_at is not None and clock.now() >= pending.expires_at:
        refresh_checkout(pending)  # past its expiry at Stripe: learn how it ended
    bill = _lock_bill(bill.id)
    _check_payable(bill)
    pending = bill.pending_payment
    now = clock.now()
    if pending is not None:
        if pending.provider != PaymentProvider.stripe:
            raise Conflict(N_("A payment for this bill is being recorded. Reload the page."))
        if pending.expires_at is None or now < pending.expires_at - timedelta(minutes=2):
            return pending
        raise Conflict(N_("The last payment attempt is still being closed. Try again in a minute."))
    minutes = current_app.config.get("STRIPE_CHECKOUT_MINUTES", 60)
    payment = Payment(
        key=new_key(),
        bill=bill,
        provider=PaymentProvider.stripe,
        method=PaymentMethod.online,
        status=PaymentStatus.pending,
        amount_minor=bill.balance_minor,
        currency=bill.currency,
        created_at=now,
        expires_at=(now + timedelta(minutes=minutes)).replace(microsecond=0),
    )
    db.session.add(payment)
    db.session.flush()
    return payment


def open_checkout(payment: Payment, *, success_url: str, cancel_url: str) -> Payment:
    """Create (or, with the same idempotency key, find again) the payment's Checkout Session."""
    if payment.checkout_url:
        return payment
    bill = payment.bill
    try:
        session = stripe_gateway.create_checkout_session(
            key=payment.key,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            name=f"{bill.hospital.name} · bill {bill.number}",
            bill_id=bill.id,
            email=bill.patient.user.email,
            success_url=success_url,
            cancel_url=cancel_url,
            expires_at=payment.expires_at,
        )
    except GatewayError as error:
        _fail_unopened(payment, error.message)
        raise PaymentUnavailable() from error
    if (
        session.get("amount_total") != payment.amount_minor
        or (session.get("currency") or "").upper() != payment.currency
        or not session.get("url")
        or not session.get("id")
    ):
        current_app.logger.error(
            "checkout session %s does not match payment %s", session.get("id"), payment.id
        )
        _fail_unopened(payment, "Stripe returned a different checkout.")
        raise PaymentUnavailable()
    payment.provider_ref = session["id"]
    payment.checkout_url = session["url"]
    db.session.flush()
    return payment


def _fail_unopened(payment: Payment, reason: str) -> None:
    """No checkout could be opened: the patient never saw a payment page, so nothing can be paid."""
    payment = _locked_payment(payment.id)
    if payment.status == PaymentStatus.pending and payment.provider_ref is None:
        payment.status = PaymentStatus.failed
        payment.failure = reason[:255]
        payment.settled_at = clock.now()
        db.session.flush()


@dataclass
class Outcome:
    """What an answer from Stripe did to a payment: `paid`, `failed`, `cancelled`, `open` (nothing
    yet), `unchanged` (already settled) or `rejected` (it did not match the payment)."""

    result: str
    payment: Payment | None = None


def _settle_from_session(payment: Payment, session: dict[str, Any], *, failed: bool = False) -> Outcome:
    """Apply a Checkout Session as Stripe reports it to our payment, under the bill's lock."""
    metadata = session.get("metadata") or {}
    if metadata.get("hms_payment") != payment.key or (
        payment.provider_ref and session.get("id") != payment.provider_ref
    ):
        current_app.logger.error(
            "checkout session %s does not belong to payment %s", session.get("id"), payment.id
        )
        return Outcome("rejected", payment)
    if session.get("payment_status") == "paid":
        if payment.status in (PaymentStatus.succeeded, PaymentStatus.refunded):
            return Outcome("unchanged", payment)
        if (
            session.get("amount_total") != payment.amount_minor
            or (session.get("currency") or "").upper() != payment.currency
        ):
            current_app.logger.error("checkout session %s paid a different amount", session.get("id"))
            record_event(
                "payment_mismatch",
                "bill",
                payment.bill_id,
                outcome="failure",
                detail=f"session {session.get('id')} paid "
                f"{session.get('amount_total')} {session.get('currency')}",
            )
            return Outcome("rejected", payment)
        bill = payment.bill
        payment.provider_ref = payment.provider_ref or session.get("id")
        payment.payment_intent = _id_of(session.get("payment_intent"))
        payment.failure = None
        now = clock.now()
        if bill.is_payable and payment.amount_minor <= bill.balance_minor:
            _receive(bill, payment, now)
        else:
            # Paid at the desk, cancelled or changed meanwhile: keep the record and give it all back.
            # It never counts on the bill, so the bill cannot end paid twice.
            payment.status = PaymentStatus.succeeded
            payment.settled_at = now
            payment.receipt_number = _next_receipt_number(bill.hospital_id)
            _refund(
                bill,
                payment,
                payment.amount_minor,
                "The bill was already settled when this online payment arrived",
                on_bill=False,
            )
            record_event(
                "payment_returned",
                "bill",
                bill.id,
                patient_id=bill.patient_id,
                hospital_id=bill.hospital_id,
                detail=f"{payment.receipt_number} refunded in full",
            )
        return Outcome("paid", payment)
    if payment.status != PaymentStatus.pending:
        return Outcome("unchanged", payment)
    if failed or session.get("status") == "expired":
        payment.status = PaymentStatus.failed
        payment.failure = "The payment did not go through." if failed else "The checkout expired."
        payment.settled_at = clock.now()
        db.session.flush()
        return Outcome("failed", payment)
    return Outcome("open", payment)


def _id_of(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("id")
    return value or None


def _locked_payment(payment_id: int) -> Payment:
    payment = db.session.get(Payment, payment_id)
    _lock_bill(payment.bill_id)
    return db.session.get(Payment, payment_id, populate_existing=True)


def refresh_checkout(payment: Payment) -> Outcome:
    """Ask Stripe how the payment's checkout stands and apply it (the return from Checkout)."""
    if payment.provider_ref is None:
        payment = _locked_payment(payment.id)
        if (
            payment.status == PaymentStatus.pending
            and payment.expires_at
            and clock.now() >= payment.expires_at
        ):
            payment.status = PaymentStatus.failed
            payment.failure = "The checkout never opened."
            payment.settled_at = clock.now()
            db.session.flush()
            return Outcome("failed", payment)
        return Outcome("open", payment)
    try:
        session = stripe_gateway.retrieve_checkout_session(payment.provider_ref)
    except GatewayError:
        return Outcome("open", payment)
    payment = _locked_payment(payment.id)
    return _settle_from_session(payment, session)


def close_checkout(payment_id: int, *, by_patient: bool = False) -> Outcome:
    """Expire the payment's open Checkout Session at Stripe and apply how it ended: cancelled, or
    paid if the patient finished paying just before."""
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.status != PaymentStatus.pending:
        return Outcome("unchanged", payment)
    if payment.provider_ref is None:
        payment = _locked_payment(payment_id)
        if payment.status == PaymentStatus.pending:
            payment.status = PaymentStatus.cancelled
            payment.settled_at = clock.now()
            db.session.flush()
            return Outcome("cancelled", payment)
        return Outcome("unchanged", payment)
    session = stripe_gateway.expire_checkout_session(payment.provider_ref)
    payment = _locked_payment(payment_id)
    outcome = _settle_from_session(payment, session)
    if outcome.result == "failed":
        payment.status = PaymentStatus.cancelled
        payment.failure = "Cancelled by the patient." if by_patient else "Closed: the bill changed."
        db.session.flush()
        outcome.result = "cancelled"
    return outcome


def cancel_online_payment(bill: Bill) -> Outcome:
    """The patient gives up the open checkout; Stripe confirms it is closed (or that it was paid)."""
    pending = bill.pending_payment
    if pending is None or pending.provider != PaymentProvider.stripe:
        raise Conflict(N_("There is no online payment in progress for this bill."))
    try:
        return close_checkout(pending.id, by_patient=True)
    except GatewayError as error:
        raise Conflict(
            N_("Stripe could not be reached to cancel the payment. Try again in a minute.")
        ) from error


def confirm_checkout(bill: Bill, session_id: str) -> Outcome:
    """The patient is back from Stripe: check the session with Stripe itself, never the URL."""
    payment = db.session.scalar(
        select(Payment).where(Payment.bill_id == bill.id, Payment.provider_ref == session_id)
    )
    if payment is None:
        raise NotFound(N_("This payment is not one of yours."))
    if payment.status != PaymentStatus.pending:
        return Outcome("unchanged", payment)
    return refresh_checkout(payment)


def submit_refund(refund_id: int) -> Refund | None:
    """Send an online refund to Stripe (again, if it failed before: the same key, so it counts once)."""
    refund = db.session.get(Refund, refund_id)
    if refund is None or refund.status == RefundStatus.succeeded or refund.provider_ref is not None:
        return refund
    if refund.payment.provider != PaymentProvider.stripe or not refund.payment.payment_intent:
        return refund
    try:
        answer = stripe_gateway.create_refund(
            key=refund.key,
            payment_intent=refund.payment.payment_intent,
            amount_minor=refund.amount_minor,
            payment_key=refund.payment.key,
        )
    except GatewayError as error:
        _lock_bill(refund.bill_id)
        refund = db.session.get(Refund, refund_id, populate_existing=True)
        refund.failure = f"Not sent to Stripe: {error.message}"[:255]
        db.session.flush()
        return refund
    _lock_bill(refund.bill_id)
    refund = db.session.get(Refund, refund_id, populate_existing=True)
    refund.provider_ref = answer.get("id")
    _apply_refund_status(refund, answer.get("status"), answer.get("failure_reason"))
    return refund


def _apply_refund_status(refund: Refund, status: str | None, failure: str | None = None) -> bool:
    """Move a refund forward to what Stripe says; a settled refund never moves back."""
    if refund.status != RefundStatus.pending:
        return False
    if status == "succeeded":
        refund.status = RefundStatus.succeeded
    elif status in ("failed", "canceled"):
        refund.status = RefundStatus.failed
        refund.failure = f"Stripe: {failure or status}"[:255]
    else:
        return False
    refund.settled_at = clock.now()
    db.session.flush()
    record_event(
        "refund_" + refund.status.value,
        "bill",
        refund.bill_id,
        patient_id=refund.bill.patient_id,
        hospital_id=refund.bill.hospital_id,
        detail=f"refund {refund.id} {refund.amount_minor} {refund.currency}",
    )
    return True


def retry_refund(refund: Refund, actor: User) -> Refund:
    """An administrator sends a failed or unsent online refund again."""
    if refund.payment.provider != PaymentProvider.stripe:
        raise Conflict(N_("Desk refunds are paid out at the desk."))
    if refund.status == RefundStatus.succeeded:
        return refund
    if refund.status == RefundStatus.failed:
        # Stripe refused this one; a new attempt needs a new idempotency key.
        bill = _lock_bill(refund.bill_id)
        refund = db.session.get(Refund, refund.id, populate_existing=True)
        refund.status = RefundStatus.pending
        refund.key = new_key()
        refund.provider_ref = None
        refund.settled_at = None
        db.session.flush()
        record_event(
            "refund_retry",
            "bill",
            bill.id,
            hospital_id=bill.hospital_id,
            user_id=actor.id,
            detail=str(refund.id),
        )
    _after_commit("refund", refund.id)
    return refund


def retry_stripe_work() -> int:
    """Send refunds still unsent and close checkouts left open on settled bills (a crash or an outage
    between a commit and its Stripe call). Returns how many were attempted."""
    count = 0
    for refund_id in db.session.scalars(
        select(Refund.id)
        .join(Refund.payment)
        .where(
            Refund.status == RefundStatus.pending,
            Refund.provider_ref.is_(None),
            Payment.provider == PaymentProvider.stripe,
        )
    ).all():
        _after_commit("refund", refund_id)
        count += 1
    for payment_id in db.session.scalars(
        select(Payment.id).where(
            Payment.status == PaymentStatus.pending, Payment.provider == PaymentProvider.stripe
        )
    ).all():
        if _stale_or_orphaned(payment_id):
            _after_commit("expire", payment_id)
            count += 1
    db.session.commit()
    run_after_commit_tasks()
    return count


def _stale_or_orphaned(payment_id: int) -> bool:
    payment = db.session.get(Payment, payment_id)
    expired = payment.expires_at is not None and clock.now() >= payment.expires_at
    return expired or not payment.bill.is_payable


# ---------------------------------------------------------------- Stripe webhook events

CHECKOUT_EVENTS = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
}
REFUND_EVENTS = {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}


def _already_handled(event_id: str) -> bool:
    return db.session.scalar(select(StripeEvent.id).where(StripeEvent.event_id == event_id)) is not None


def process_stripe_event(stripe_event: dict[str, Any]) -> str:
    """Apply one verified webhook event once. Returns what happened (for the log): a duplicate or
    an event about nothing of ours changes nothing."""
    event_id, kind = stripe_event.get("id"), stripe_event.get("type") or ""
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255:
        raise Invalid(N_("Malformed event."))
    if _already_handled(event_id):
        return "duplicate"
    obj = (stripe_event.get("data") or {}).get("object") or {}
    metadata = obj.get("metadata") or {}
    outcome = "ignored"
    bill_id = None
    if kind in CHECKOUT_EVENTS:
        payment = db.session.scalar(select(Payment).where(Payment.key == str(metadata.get("hms_payment"))))
        bill_id = payment.bill_id if payment else None
    elif kind in REFUND_EVENTS:
        refund = db.session.scalar(select(Refund).where(Refund.key == str(metadata.get("hms_refund"))))
        bill_id = refund.bill_id if refund else None
    if bill_id is not None:
        _lock_bill(bill_id)  # and, on SQLite, the write lock before the event row is written
    elif db.engine.dialect.name == "sqlite":
        lock_rows()
    if _already_handled(event_id):  # a copy delivered at the same time got here first
        return "duplicate"
    try:
        with db.session.begin_nested():
            db.session.add(StripeEvent(event_id=event_id, type=kind[:64], outcome="received"))
    except IntegrityError:
        return "duplicate"
    stored = db.session.scalar(select(StripeEvent).where(StripeEvent.event_id == event_id))
    if kind in CHECKOUT_EVENTS and bill_id is not None:
        payment = db.session.get(Payment, payment.id, populate_existing=True)
        outcome = _settle_from_session(
            payment, obj, failed=kind == "checkout.session.async_payment_failed"
        ).result
    elif kind in REFUND_EVENTS and bill_id is not None:
        refund = db.session.get(Refund, refund.id, populate_existing=True)
        if obj.get("id") and refund.provider_ref in (None, obj.get("id")):
            refund.provider_ref = obj.get("id")
            outcome = "refund " + (
                refund.status.value
                if _apply_refund_status(refund, obj.get("status"), obj.get("failure_reason"))
                else "unchanged"
            )
        else:
            outcome = "rejected"
    stored.outcome = outcome[:64]
    db.session.flush()
    return outcome


# ---------------------------------------------------------------- reading


def patient_bill(patient_id: int, bill_id: int) -> Bill | None:
    """One of the patient's bills (drafts are not his to see yet)."""
    return db.session.scalar(
        select(Bill).where(Bill.id == bill_id, Bill.patient_id == patient_id, Bill.status != BillStatus.draft)
    )


def patient_bills(patient_id: int, status: BillStatus | None = None) -> list[Bill]:
    query = (
        select(Bill)
        .where(Bill.patient_id == patient_id, Bill.status != BillStatus.draft)
        .options(joinedload(Bill.hospital), selectinload(Bill.items), selectinload(Bill.payments))
        .order_by(Bill.created_at.desc(), Bill.id.desc())
        .limit(200)
    )
    if status is not None:
        query = query.where(Bill.status == status)
    return list(db.session.scalars(query))


def patient_payments(patient_id: int) -> list[Payment]:
    return list(
        db.session.scalars(
            select(Payment)
            .join(Payment.bill)
            .where(Bill.patient_id == patient_id, Payment.status != PaymentStatus.pending)
            .options(joinedload(Payment.bill).joinedload(Bill.hospital))
            .order_by(Payment.created_at.desc(), Payment.id.desc())
            .limit(200)
        )
    )


def patient_payment(patient_id: int, payment_id: int) -> Payment | None:
    return db.session.scalar(
        select(Payment).join(Payment.bill).where(Payment.id == payment_id, Bill.patient_id == patient_id)
    )


def hospital_bill(hospital_id: int, bill_id: int) -> Bill | None:
    return db.session.scalar(select(Bill).where(Bill.id == bill_id, Bill.hospital_id == hospital_id))


def hospital_payment(hospital_id: int, payment_id: int) -> Payment | None:
    return db.session.scalar(
        select(Payment).join(Payment.bill).where(Payment.id == payment_id, Bill.hospital_id == hospital_id)
    )


def hospital_refund(hospital_id: int, refund_id: int) -> Refund | None:
    return db.session.scalar(
        select(Refund).join(Refund.bill).where(Refund.id == refund_id, Bill.hospital_id == hospital_id)
    )


def open_refunds(hospital_id: int) -> list[Refund]:
    """Refunds still to be paid out at the desk or confirmed by Stripe, and failed ones."""
    return list(
        db.session.scalars(
            select(Refund)
            .join(Refund.bill)
            .where(Bill.hospital_id == hospital_id, Refund.status != RefundStatus.succeeded)
            .options(joinedload(Refund.payment), joinedload(Refund.bill).joinedload(Bill.patient))
            .order_by(Refund.created_at)
            .limit(200)
        )
    )


@dataclass
class BillFilter:
    status: BillStatus | None = None
    first: date | None = None
    last: date | None = None
    doctor_id: int | None = None
    patient: str = ""


def _filtered(hospital: Hospital, f: BillFilter) -> Select:
    query = select(Bill).join(Bill.patient).join(Patient.user).where(Bill.hospital_id == hospital.id)
    if f.status is not None:
        query = query.where(Bill.status == f.status)
    if f.first is not None:
        query = query.where(Bill.created_at >= _local_midnight(f.first, hospital))
    if f.last is not None:
        query = query.where(Bill.created_at < _local_midnight(f.last + timedelta(days=1), hospital))
    if f.doctor_id:
        query = query.where(Bill.doctor_id == f.doctor_id)
    text = f.patient.strip()
    if text:
        pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(func.lower(User.full_name).like(pattern, escape="\\"), Patient.mrn == text.upper())
        )
    return query


def _local_midnight(day: date, hospital: Hospital) -> datetime:
    return datetime.combine(day, time(0), tzinfo=hospital.tz)


def hospital_bills(
    hospital: Hospital, f: BillFilter, page: int = 1, per_page: int = 20
) -> tuple[list[Bill], int]:
    query = _filtered(hospital, f)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.options(joinedload(Bill.patient).joinedload(Patient.user), selectinload(Bill.items))
        .order_by(Bill.created_at.desc(), Bill.id.desc())
        .limit(per_page)
        .offset(max(page - 1, 0) * per_page)
    ).all()
    return list(rows), total


def totals_by_status(hospital: Hospital, f: BillFilter) -> dict[BillStatus, tuple[int, int, int]]:
    """(number of bills, amount billed, amount paid) per status for the filtered bills."""
    sub = _filtered(hospital, BillFilter(None, f.first, f.last, f.doctor_id, f.patient)).subquery()
    rows = db.session.execute(
        select(
            sub.c.status,
            func.count(),
            func.coalesce(func.sum(sub.c.total_minor), 0),
            func.coalesce(func.sum(sub.c.paid_minor), 0),
        ).group_by(sub.c.status)
    ).all()
    found = {BillStatus(status): (int(n), int(total), int(paid)) for status, n, total, paid in rows}
    return {status: found.get(status, (0, 0, 0)) for status in BillStatus}


def export_rows(hospital: Hospital, f: BillFilter, limit: int = 50000):  # type: ignore[no-untyped-def]
    """Every filtered bill with what a spreadsheet needs, oldest first, streamed in batches."""
    query = (
        _filtered(hospital, f)
        .options(joinedload(Bill.patient).joinedload(Patient.user))
        .order_by(Bill.created_at, Bill.id)
        .limit(limit)
        .execution_options(yield_per=500)
    )
    doctor_names = dict(
        db.session.execute(
            select(Doctor.id, User.full_name)
            .join(Doctor.user)
            .join(Membership, Membership.doctor_id == Doctor.id)
            .where(Membership.hospital_id == hospital.id)
        ).all()
    )
    for bill in db.session.scalars(query):
        yield bill, doctor_names.get(bill.doctor_id, "")


def hospital_doctors(hospital: Hospital) -> list[tuple[int, str]]:
    return list(
        db.session.execute(
            select(Doctor.id, User.full_name)
            .join(Doctor.user)
            .join(Membership, Membership.doctor_id == Doctor.id)
            .where(Membership.hospital_id == hospital.id)
            .order_by(User.full_name)
        ).all()
    )
