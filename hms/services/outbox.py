"""The transactional outbox: emails and text messages are written with the change they tell about
and sent later by a worker, which claims rows so that no row is ever sent by two workers, and
retries with exponential backoff while SMTP or the SMS provider is down.

Claiming: PostgreSQL and MariaDB select due rows `FOR UPDATE SKIP LOCKED` (workers pass each other
by), SQLite takes its single write lock (BEGIN IMMEDIATE). Either way the claiming UPDATE repeats the
"due and not locked" condition, so a row can only be claimed once per lease. The worker sends with no
transaction open, then records the outcome only if the row is still claimed by it."""

from __future__ import annotations

import logging
import secrets
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_mail import BadHeaderError, Connection, Message
from sqlalchemy import delete, func, or_, select, update

from hms import clock
from hms.database import lock_rows
from hms.extensions import db
from hms.ical import method_of
from hms.models import Channel, OutboxEmail, OutboxStatus
from hms.services import sms

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- writing


def _one_line(value: str, limit: int) -> str:
    return " ".join(value.split())[:limit]


def enqueue_email(
    *,
    to: str,
    subject: str,
    body: str,
    kind: str,
    user_id: int | None = None,
    hospital_id: int | None = None,
    ics: str | None = None,
) -> OutboxEmail:
    """Add an email to the outbox in the caller's transaction."""
    row = OutboxEmail(
        channel=Channel.email,
        kind=kind,
        user_id=user_id,
        hospital_id=hospital_id,
        to=to,
        subject=_one_line(subject, 255),  # no header injection through user-entered text
        body=body,
        ics=ics,
        status=OutboxStatus.pending,
        next_try_at=clock.now(),
    )
    db.session.add(row)
    return row


def enqueue_sms(
    *, to: str, body: str, kind: str, user_id: int | None, hospital_id: int | None
) -> OutboxEmail:
    """Add a text message to the outbox in the caller's transaction."""
    row = OutboxEmail(
        channel=Channel.sms,
        kind=kind,
        user_id=user_id,
        hospital_id=hospital_id,
        to=to,
        subject="",
        body=body[: sms.MAX_SMS_LENGTH],
        status=OutboxStatus.pending,
        next_try_at=clock.now(),
    )
    db.session.add(row)
    return row


# ---------------------------------------------------------------- claiming


def _due(now: datetime):  # type: ignore[no-untyped-def]
    return (
        (OutboxEmail.status == OutboxStatus.pending)
        & (OutboxEmail.next_try_at <= now)
        & or_(OutboxEmail.locked_until.is_(None), OutboxEmail.locked_until < now)
    )


def claim_due(worker_id: str, limit: int, now: datetime) -> tuple[str, datetime]:
    """Claim up to `limit` due rows for this worker and commit; returns (claim token, lease end)."""
    token = f"{worker_id[:48]}:{secrets.token_hex(6)}"
    lease = now + timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    db.session.rollback()
    if db.engine.dialect.name == "sqlite":
        lock_rows()  # SQLite: BEGIN IMMEDIATE, the one write lock, held until the commit below
        ids = list(
            db.session.scalars(
                select(OutboxEmail.id).where(_due(now)).order_by(OutboxEmail.next_try_at).limit(limit)
            )
        )
    else:
        ids = list(
            db.session.scalars(
                select(OutboxEmail.id)
                .where(_due(now))
                .order_by(OutboxEmail.next_try_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
    if ids:
        db.session.execute(
            update(OutboxEmail)
            .where(OutboxEmail.id.in_(ids), _due(now))
            .values(claimed_by=token, locked_until=lease)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    return token, lease


@dataclass(frozen=True)
class _Job:
    """What a worker needs to send one row, read before the transaction ends."""

    id: int
    channel: Channel
    to: str
    subject: str
    body: str
    ics: str | None
    hospital_id: int | None
    attempts: int
    created_at: datetime


@dataclass
class _Outcome:
    provider_ref: str | None = None
    error: str | None = None
    permanent: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    lost_claims: int = 0
    ids: list[int] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.failed

    def __add__(self, other: DeliveryReport) -> DeliveryReport:
        return DeliveryReport(
            self.sent + other.sent,
            self.retrying + other.retrying,
            self.failed + other.failed,
            self.lost_claims + other.lost_claims,
            self.ids + other.ids,
        )


def _compose(token: str) -> None:
    """Claimed rows that are requests to compose at sending time (a password reset: whether an account
    has the address is decided here, not in the request): compose each, or drop it. Commits."""
    from hms.services import password_reset

    composers = {password_reset.QUEUED_KIND: password_reset.compose_reset_email}
    rows = db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.claimed_by == token, OutboxEmail.kind.in_(composers))
    ).all()
    for row in rows:
        if not composers[row.kind](row):
            db.session.delete(row)
    db.session.commit()


def _jobs(token: str) -> list[_Job]:
    rows = db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.claimed_by == token).order_by(OutboxEmail.id)
    ).all()
    jobs = [
        _Job(r.id, r.channel, r.to, r.subject, r.body, r.ics, r.hospital_id, r.attempts, r.created_at)
        for r in rows
    ]
    db.session.rollback()  # no transaction stays open while we talk to SMTP or Twilio
    return jobs


# ---------------------------------------------------------------- sending


class _TimedConnection(Connection):
    """Flask-Mail's connection, opened with a socket timeout: a silent SMTP server must not hang the
    worker past its lease (Flask-Mail itself waits forever)."""

    def configure_host(self) -> smtplib.SMTP:
        state, timeout = self.mail, current_app.config["MAIL_TIMEOUT_SECONDS"]
        host: smtplib.SMTP
        if state.use_ssl:
            host = smtplib.SMTP_SSL(state.server, state.port, timeout=timeout)
        else:
            host = smtplib.SMTP(state.server, state.port, timeout=timeout)
        if state.use_tls:
            host.starttls()
        if state.username and state.password:
            host.login(state.username, state.password)
        return host


def _message_id(job: _Job) -> str:
    sender = current_app.config.get("MAIL_DEFAULT_SENDER") or "hms.local"
    domain = sender.rsplit("@", 1)[-1].strip(" >") or "hms.local"
    # Stable per row: if a message is ever delivered twice, receiving servers can tell.
    return f"<hms-outbox-{job.id}-{int(job.created_at.timestamp())}@{domain}>"


def _email_message(job: _Job) -> Message:
    message = Message(subject=job.subject, recipients=[job.to], body=job.body)
    message.msgId = _message_id(job)
    if job.ics:
        method = method_of(job.ics)
        message.attach(
            filename="cancelled.ics" if method == "CANCEL" else "appointment.ics",
            content_type=f"text/calendar; charset=UTF-8; method={method}",
            data=job.ics.encode("utf-8"),
        )
    return message


def _is_permanent(error: smtplib.SMTPException) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    code = getattr(error, "smtp_code", None)
    return isinstance(code, int) and code >= 500


def _send_emails(jobs: list[_Job], deadline: datetime) -> dict[int, _Outcome]:
    outcomes: dict[int, _Outcome] = {}
    try:
        with _TimedConnection(current_app.extensions["mail"]) as connection:
            for job in jobs:
                if clock.now() >= deadline:
                    break  # the lease is nearly over: leave the rest for the next round
                try:
                    connection.send(_email_message(job))
                except BadHeaderError:
                    outcomes[job.id] = _Outcome(error="Bad header in the message", permanent=True)
                except smtplib.SMTPServerDisconnected as error:
                    outcomes[job.id] = _Outcome(error=f"SMTP disconnected: {error}"[:500])
                    break
                except smtplib.SMTPException as error:
                    outcomes[job.id] = _Outcome(error=f"SMTP: {error}"[:500], permanent=_is_permanent(error))
                else:
                    outcomes[job.id] = _Outcome()
    except (OSError, smtplib.SMTPException) as error:
        # Connecting, logging in or quitting failed: nothing sent after this point is known to be sent,
        # except what the server had already accepted.
        reason = f"SMTP unavailable: {error.__class__.__name__}: {error}"[:500]
        for job in jobs:
            if job.id not in outcomes and clock.now() < deadline:
                outcomes[job.id] = _Outcome(error=reason)
    return outcomes


def _send_texts(jobs: list[_Job], deadline: datetime) -> dict[int, _Outcome]:
    outcomes: dict[int, _Outcome] = {}
    for job in jobs:
        if clock.now() >= deadline:
            break
        credentials = sms.credentials_for(job.hospital_id)
        db.session.rollback()
        if credentials is None:
            outcomes[job.id] = _Outcome(error="Text messages are not set up any more.", permanent=True)
            continue
        try:
            outcomes[job.id] = _Outcome(provider_ref=sms.send_text(credentials, job.to, job.body))
        except sms.SmsError as error:
            outcomes[job.id] = _Outcome(error=str(error), permanent=error.permanent)
    return outcomes


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after `attempts` failed attempts: base, 2·base, 4·base … up to the cap."""
    cfg = current_app.config
    seconds = cfg["OUTBOX_RETRY_BASE_SECONDS"] * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, cfg["OUTBOX_RETRY_MAX_SECONDS"]))


def _record(token: str, jobs: list[_Job], outcomes: dict[int, _Outcome]) -> DeliveryReport:
    report = DeliveryReport()
    now = clock.now()
    max_attempts = current_app.config["OUTBOX_MAX_ATTEMPTS"]
    mine = (OutboxEmail.claimed_by == token) & (OutboxEmail.status == OutboxStatus.pending)
    for job in jobs:
        outcome = outcomes.get(job.id)
        statement = update(OutboxEmail).where(OutboxEmail.id == job.id, mine)
        if outcome is None:  # not tried (lease nearly over): release it untouched
            values: dict = {}
        elif outcome.ok:
            values = {"status": OutboxStatus.sent, "sent_at": now, "last_error": None}
            values |= {"attempts": job.attempts + 1, "provider_ref": outcome.provider_ref}
        else:
            attempts = job.attempts + 1
            gave_up = outcome.permanent or attempts >= max_attempts
            values = {"attempts": attempts, "last_error": outcome.error}
            values |= {"status": OutboxStatus.failed if gave_up else OutboxStatus.pending}
            values |= {"next_try_at": now + retry_delay(attempts)}
        values |= {"claimed_by": None, "locked_until": None}
        result = db.session.execute(statement.values(**values).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            report.lost_claims += 1
            log.error(
                "outbox row %s was no longer claimed by %s when its outcome was recorded", job.id, token
            )
            continue
        if outcome is None:
            continue
        if outcome.ok:
            report.sent += 1
            report.ids.append(job.id)
        elif values["status"] == OutboxStatus.failed:
            report.failed += 1
            log.warning("outbox row %s failed for good: %s", job.id, outcome.error)
        else:
            report.retrying += 1
    db.session.commit()
    return report


def deliver_due(worker_id: str, limit: int | None = None) -> DeliveryReport:
    """Claim one batch of due rows, send them, and record each outcome. Commits."""
    limit = limit or current_app.config["OUTBOX_BATCH_SIZE"]
    now = clock.now()
    token, lease = claim_due(worker_id, limit, now)
    _compose(token)
    jobs = _jobs(token)
    if not jobs:
        return DeliveryReport()
    # Start no send that could still be running when the lease ends (one SMTP exchange is several
    # round trips, each up to the socket timeout): the row would then be free for another worker.
    cfg = current_app.config
    slowest = 4 * max(cfg["MAIL_TIMEOUT_SECONDS"], cfg["SMS_TIMEOUT_SECONDS"])
    deadline = lease - timedelta(seconds=min(slowest, cfg["OUTBOX_LEASE_SECONDS"] / 2))
    outcomes = _send_emails([j for j in jobs if j.channel == Channel.email], deadline)
    outcomes |= _send_texts([j for j in jobs if j.channel == Channel.sms], deadline)
    return _record(token, jobs, outcomes)


def deliver_all_due(worker_id: str, limit: int | None = None) -> DeliveryReport:
    """Send batches until nothing due is left (or a batch made no progress)."""
    total = DeliveryReport()
    while True:
        report = deliver_due(worker_id, limit)
        total = total + report
        if report.handled == 0 or report.retrying:
            return total


# ---------------------------------------------------------------- housekeeping


def purge_sent(older_than: timedelta) -> int:
    """Drop rows sent longer ago than `older_than` (failed rows stay for inspection). Flushes."""
    result = db.session.execute(
        delete(OutboxEmail)
        .where(OutboxEmail.status == OutboxStatus.sent, OutboxEmail.sent_at < clock.now() - older_than)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def status_counts() -> dict[OutboxStatus, int]:
    rows = db.session.execute(select(OutboxEmail.status, func.count()).group_by(OutboxEmail.status)).all()
    return {status: 0 for status in OutboxStatus} | dict(rows)


def recent_failures(limit: int = 10) -> list[OutboxEmail]:
    return list(
        db.session.scalars(
            select(OutboxEmail)
            .where(OutboxEmail.status == OutboxStatus.failed)
            .order_by(OutboxEmail.id.desc())
            .limit(limit)
        )
    )


def retry_failed() -> int:
    """Put every failed row back in the queue (after fixing what made it fail). Flushes."""
    result = db.session.execute(
        update(OutboxEmail)
        .where(OutboxEmail.status == OutboxStatus.failed)
        .values(status=OutboxStatus.pending, attempts=0, next_try_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
