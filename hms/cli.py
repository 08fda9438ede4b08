"""Command-line tasks: `flask hms seed-demo | create-admin EMAIL | verify-audit | billing-retry | worker |
send-reminders | outbox`."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from datetime import timedelta
from time import monotonic

import click
from flask.cli import AppGroup

from hms import demo
from hms.extensions import db
from hms.services import accounts, audit, consultations, lab, outbox, password_reset, reminders
from hms.services.errors import DomainError

hms_cli = AppGroup("hms", help="HMS tasks.")


def _seed_demo() -> list[tuple[str, str, str]]:
    """Load the demo data (hms/demo.py) and return its accounts; [] when it was loaded before."""
    return demo.seed()


@hms_cli.command("seed-demo")
def seed_demo() -> None:
    """Load demo data (once; run again on a later day, it only books the demo doctor's visits for today
    and tomorrow, when he has none then)."""
    created = _seed_demo()
    booked = 0 if created else demo.top_up()
    db.session.commit()
    if not created:
        click.echo("Demo data is already loaded.")
        if booked:
            click.echo(f"Booked {booked} demo visits for today and tomorrow.")
    else:
        click.echo("Demo data loaded.")
    click.echo(f"Demo logins (password for all: {demo.DEMO_PASSWORD}):")
    for role, email, name in demo.DEMO_ACCOUNTS:
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
    """One round of the worker: seal new audit events into the chain, queue due reminders, escalate
    unacknowledged critical lab values, then send what is due in the outbox."""
    audit.seal_all()
    queued = reminders.send_reminders()
    lab.escalate_unacknowledged_criticals()
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
