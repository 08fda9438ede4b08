"""Command-line tasks: `flask hms seed-demo | create-admin EMAIL | verify-audit | billing-retry | worker |
send-reminders | outbox`."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from datetime import date, time, timedelta
from time import monotonic

import click
from flask.cli import AppGroup
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import (
    Department,
    Hospital,
    HospitalStatus,
    Membership,
    ScheduleBreak,
    ScheduleRule,
    Sex,
    StaffKind,
    StockKind,
    User,
)
from hms.services import (
    accounts,
    audit,
    consultations,
    inventory,
    outbox,
    password_reset,
    reminders,
    scheduling,
)
from hms.services.errors import DomainError

hms_cli = AppGroup("hms", help="HMS tasks.")

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 (public demo logins)
DEMO_HOSPITAL = "Riverside General Hospital"

DEMO_ACCOUNTS = [
    # (role, email, name)
    ("super_admin", "admin@example.org", "Platform Admin"),
    ("hospital_admin", "hospital.admin@example.org", "Grace Wanjiru"),
    ("doctor", "dr.okafor@example.org", "Chinedu Okafor"),
    ("doctor", "dr.mehta@example.org", "Priya Mehta"),
    ("doctor", "dr.santos@example.org", "Lucas Santos"),
    ("patient", "amina@example.org", "Amina Hassan"),
    ("patient", "john@example.org", "John Mwangi"),
    ("patient", "sofia@example.org", "Sofia García"),
    ("staff", "reception@example.org", "Rose Achieng"),
    ("staff (pharmacist)", "pharmacy@example.org", "Daniel Kiprono"),
]


def _seed_demo() -> list[tuple[str, str, str]]:
    if db.session.scalar(select(Hospital.id).where(Hospital.name == DEMO_HOSPITAL)):
        return []
    hospital = accounts.register_hospital(
        name=DEMO_HOSPITAL,
        address="12 River Road",
        city="Nairobi",
        phone="+254 20 555 0100",
        timezone="Africa/Nairobi",
        currency="KES",
        admin_name="Grace Wanjiru",
        admin_email="hospital.admin@example.org",
        admin_password=DEMO_PASSWORD,
    )
    hospital.status = HospitalStatus.active
    hospital.status_changed_at = clock.now()
    medicine = Department(hospital=hospital, name="General Medicine")
    paediatrics = Department(hospital=hospital, name="Paediatrics")
    db.session.add_all([medicine, paediatrics])

    doctors = [
        ("dr.okafor@example.org", "Chinedu Okafor", "General practice", medicine, 150000),
        ("dr.mehta@example.org", "Priya Mehta", "Paediatrics", paediatrics, 200000),
        ("dr.santos@example.org", "Lucas Santos", "Cardiology", medicine, 350000),
    ]
    doctor_users = []
    for email, name, specialty, department, fee in doctors:
        user = accounts.register_doctor(
            full_name=name,
            email=email,
            password=DEMO_PASSWORD,
            specialty=specialty,
            qualifications="MBChB",
        )
        db.session.add(
            Membership(doctor=user.doctor, hospital=hospital, department=department, fee_minor=fee)
        )
        # Monday to Friday 09:00–17:00 with lunch 13:00–14:00, Saturday mornings.
        for weekday in range(6):
            rule = ScheduleRule(
                doctor=user.doctor,
                hospital=hospital,
                weekday=weekday,
                start_time=time(9),
                end_time=time(17) if weekday < 5 else time(12),
            )
            if weekday < 5:
                rule.breaks.append(ScheduleBreak(start_time=time(13), end_time=time(14)))
            db.session.add(rule)
        doctor_users.append(user)
    patients = [
        ("amina@example.org", "Amina Hassan", date(1988, 4, 12), Sex.female, "+254 700 000 001"),
        ("john@example.org", "John Mwangi", date(1975, 11, 3), Sex.male, "+254 700 000 002"),
        ("sofia@example.org", "Sofia García", date(2001, 7, 25), Sex.female, "+254 700 000 003"),
    ]
    patient_users = [
        accounts.register_patient(
            full_name=name, email=email, password=DEMO_PASSWORD, date_of_birth=dob, sex=sex, phone=phone
        )
        for email, name, dob, sex, phone in patients
    ]
    db.session.flush()
    # Amina and John each have a visit booked in the next days.
    for patient_user, doctor_user, reason in [
        (patient_users[0], doctor_users[0], "Persistent cough"),
        (patient_users[1], doctor_users[2], "Follow-up on blood pressure"),
    ]:
        slot = scheduling.nearest_free_slots(
            doctor_user.doctor.id, hospital, clock.now() + timedelta(days=1), count=1
        )
        if slot:
            scheduling.book_appointment(
                patient=patient_user.patient,
                doctor_id=doctor_user.doctor.id,
                hospital_id=hospital.id,
                start=slot[0].start,
                reason=reason,
                booked_by=patient_user,
            )
    accounts.create_staff(
        hospital=hospital,
        kind=StaffKind.receptionist,
        full_name="Rose Achieng",
        email="reception@example.org",
        password=DEMO_PASSWORD,
    )
    pharmacist = accounts.create_staff(
        hospital=hospital,
        kind=StaffKind.pharmacist,
        full_name="Daniel Kiprono",
        email="pharmacy@example.org",
        password=DEMO_PASSWORD,
    )
    db.session.flush()
    _seed_inventory(hospital, hospital.admins[0].user, pharmacist)
    accounts.register_hospital(
        name="Hillside Community Clinic",
        address="4 Hill Street",
        city="Mombasa",
        phone=None,
        timezone="Africa/Nairobi",
        currency="KES",
        admin_name="Peter Otieno",
        admin_email="clinic.admin@example.org",
        admin_password=DEMO_PASSWORD,
    )
    accounts.create_super_admin(email="admin@example.org", password=DEMO_PASSWORD, full_name="Platform Admin")
    db.session.flush()
    return [*DEMO_ACCOUNTS, ("hospital_admin (pending clinic)", "clinic.admin@example.org", "Peter Otieno")]


def _seed_inventory(hospital: Hospital, admin: User, pharmacist: User) -> None:
    """A few medicines (in batches, one expiring soon) and supplies (one low on stock), with movements."""
    today = clock.now().astimezone(hospital.tz).date()
    medicines = [
        # name, unit, reorder level, [(batch, days to expiry, units)], dispensed
        ("Amoxicillin 500 mg", "capsule", 100, [("AMX-2401", 20, 60), ("AMX-2409", 400, 300)], 45),
        ("Paracetamol 500 mg", "tablet", 200, [("PCM-1187", 540, 1000)], 120),
        ("Artemether/lumefantrine 20/120 mg", "tablet", 48, [("ALU-0932", 250, 40)], 0),
        ("Oral rehydration salts", "sachet", 50, [("ORS-5521", 700, 200)], 30),
    ]
    supplies = [
        ("Examination gloves (M)", "box", 10, 8, 2),
        ("Gauze swabs 10 × 10 cm", "pack", 20, 150, 25),
        ("Syringe 5 ml", "piece", 100, 500, 60),
    ]
    for name, unit, reorder, batches, dispensed in medicines:
        item = inventory.create_item(
            hospital, name=name, kind=StockKind.medicine, unit=unit, reorder_level=reorder, actor=admin
        )
        for number, days, units in batches:
            inventory.receive_stock(
                item,
                quantity=units,
                supplier="Kenya Medical Supplies Authority",
                batch_number=number,
                expiry_date=today + timedelta(days=days),
                actor=pharmacist,
            )
        if dispensed:
            inventory.dispense_stock(item, quantity=dispensed, actor=pharmacist)
    items = []
    for name, unit, reorder, received, used in supplies:
        item = inventory.create_item(
            hospital, name=name, kind=StockKind.supply, unit=unit, reorder_level=reorder, actor=admin
        )
        inventory.receive_stock(item, quantity=received, supplier="Medisel Kenya", actor=admin)
        inventory.dispense_stock(item, quantity=used, actor=admin)
        items.append(item)
    gauze = items[1]
    inventory.adjust_stock(gauze, change=-5, reason="Stock-take: water-damaged packs", actor=admin)
    inventory.transfer_out_stock(gauze, quantity=20, destination="Hillside Community Clinic", actor=admin)


@hms_cli.command("seed-demo")
def seed_demo() -> None:
    """Load demo data (once; running it again changes nothing)."""
    created = _seed_demo()
    db.session.commit()
    if not created:
        click.echo("Demo data is already loaded.")
    else:
        click.echo("Demo data loaded.")
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for role, email, name in [
        *DEMO_ACCOUNTS,
        ("hospital_admin (pending clinic)", "clinic.admin@example.org", "Peter Otieno"),
    ]:
        click.echo(f"  {role:32} {email:30} {name}")


@hms_cli.command("create-admin")
@click.argument("email")
@click.option("--name", default="Platform administrator", help="Full name.")
@click.option(
    "--password",
    envvar="HMS_ADMIN_PASSWORD",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Password (or set HMS_ADMIN_PASSWORD; prompted otherwise).",
)
def create_admin(email: str, name: str, password: str) -> None:
    """Create a platform administrator with EMAIL."""
    try:
        accounts.create_super_admin(email=email, password=password, full_name=name)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Platform administrator {email.strip().lower()} created.")


@hms_cli.command("verify-audit")
def verify_audit() -> None:
    """Check the audit log's hash chain and its head; exit 1 naming the first tampered row."""
    problem = audit.chain_problem()
    if problem is None:
        click.echo("Audit log intact.")
        return
    click.echo(problem, err=True)
    raise SystemExit(1)


def _retry_billing() -> int | None:
    """Send Stripe what a crash or an outage left unsent; None when online payments are off."""
    from hms.payments import stripe_gateway
    from hms.services import billing

    if not stripe_gateway.configured():
        return None
    return billing.retry_stripe_work()


@hms_cli.command("billing-retry")
def billing_retry() -> None:
    """Send Stripe what a crash or an outage left unsent: refunds, and checkouts to close (the worker
    does this every BILLING_RETRY_INTERVAL_SECONDS; this runs it once by hand)."""
    sent = _retry_billing()
    if sent is None:
        click.echo("Online payments are not configured; nothing to do.")
        return
    click.echo(f"{sent} task(s) sent to Stripe.")


log = logging.getLogger("hms.worker")


def _run_cycle(worker_id: str) -> tuple[int, outbox.DeliveryReport]:
    """One round of the worker: seal new audit events into the chain, queue due reminders, then send
    what is due in the outbox."""
    audit.seal_all()
    queued = reminders.send_reminders()
    db.session.commit()
    return queued, outbox.deliver_all_due(worker_id)


def _housekeeping() -> None:
    """Drop what is no longer needed: sent mail, old call signalling, long-expired reset links."""
    from flask import current_app

    outbox.purge_sent(timedelta(days=current_app.config["OUTBOX_KEEP_DAYS"]))
    consultations.purge_signals()
    password_reset.purge_old_tokens()
    db.session.commit()


@hms_cli.command("send-reminders")
def send_reminders() -> None:
    """Queue the appointment reminders that are due (each one only once); the worker sends them."""
    count = reminders.send_reminders()
    db.session.commit()
    click.echo(f"{count} reminders queued.")


@hms_cli.command("worker")
@click.option("--once", is_flag=True, help="Run one round and exit (for cron and tests).")
@click.option(
    "--interval", type=float, default=None, help="Seconds between rounds (WORKER_INTERVAL_SECONDS)."
)
def worker(once: bool, interval: float | None) -> None:
    """Send the outbox (emails, text messages), queue reminders, retry unsent Stripe work and clean up;
    run several on any hosts."""
    from flask import current_app

    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    pause = interval if interval is not None else current_app.config["WORKER_INTERVAL_SECONDS"]
    billing_every = current_app.config["BILLING_RETRY_INTERVAL_SECONDS"]
    stop = threading.Event()
    last_housekeeping: float | None = None
    last_billing: float | None = None
    if not once:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        click.echo(f"Worker {worker_id} started; Ctrl-C or SIGTERM stops it after the current round.")
    while True:
        try:
            if last_housekeeping is None or monotonic() - last_housekeeping > 3600:
                _housekeeping()
                last_housekeeping = monotonic()
            queued, report = _run_cycle(worker_id)
            if last_billing is None or monotonic() - last_billing >= billing_every:
                last_billing = monotonic()
                if sent := _retry_billing():
                    click.echo(f"{sent} task(s) sent to Stripe.")
        except Exception:
            db.session.rollback()
            if once:
                raise
            log.exception("worker round failed; trying again in %s seconds", pause)
        else:
            if once or report.handled or queued:
                click.echo(
                    f"reminders queued {queued}; sent {report.sent}, retrying {report.retrying}, "
                    f"failed {report.failed}"
                )
        if once or stop.wait(pause):
            break
    db.session.remove()


@hms_cli.command("outbox")
@click.option("--retry-failed", is_flag=True, help="Queue every failed message again.")
def outbox_status(retry_failed: bool) -> None:
    """Show the outbox (pending, sent, failed and the latest failures); optionally retry failures."""
    if retry_failed:
        count = outbox.retry_failed()
        db.session.commit()
        click.echo(f"{count} failed messages queued again.")
    counts = outbox.status_counts()
    click.echo(", ".join(f"{status.value} {n}" for status, n in counts.items()))
    for row in outbox.recent_failures():
        click.echo(f"  #{row.id} {row.channel.value} {row.kind} to {row.to}: {row.last_error}")
