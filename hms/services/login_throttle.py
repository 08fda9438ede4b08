"""Login throttling that a stranger cannot turn against an account's owner (OWASP ASVS V2.2.1).

There is no account lock. Failed attempts are counted
- per account and client: the client is the browser when the account has logged in from it before (a
  signed "device" cookie names it), else the client's address. After LOGIN_FREE_FAILURES failures each
  further attempt waits longer (1 s, 2 s, 4 s … up to LOGIN_MAX_DELAY_SECONDS) after the last one;
- per account from everywhere, for clients the account has never logged in from: after
  LOGIN_ACCOUNT_FREE_FAILURES failures the same growing delays apply to those, so guessing spread over
  many addresses slows down too, while the owner's own browser is never held back by it.
Besides these, each client address has its flat rate limit (LOGIN_RATE_LIMIT, Flask-Limiter).

Accounts are named by a keyed hash of the email typed, and unknown emails are counted, delayed and
answered exactly like known ones (the same words, the same password hashing), so the throttle says
nothing about which emails have accounts. When failures pile up on a real account (LOGIN_ALERT_FAILURES
from everywhere), its owner gets an email. A failure is forgotten LOGIN_FAILURE_WINDOW_MINUTES after
the last one; a successful login clears that client's count."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Response, current_app, request
from flask_babel import gettext
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import bindparam, case, delete, select

from hms import clock
from hms.database import lock_rows, upsert
from hms.extensions import db
from hms.i18n import in_language_of
from hms.models import LoginFailure, User
from hms.models.users import normalize_email

EVERYWHERE = "*"
DEVICE_COOKIE = "hms_device"
DEVICE_COOKIE_DAYS = 180
DEVICE_ACCOUNTS = 8  # accounts one browser remembers having logged in to


def account_key(email: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, normalize_email(email or "").encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- the browser's device cookie


@dataclass
class Device:
    """What the device cookie says: the browser's random id and the accounts logged in from it."""

    id: str
    accounts: list[str]

    def knows(self, key: str) -> bool:
        return key[:16] in self.accounts


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="hms-device")


def this_device() -> Device | None:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw or len(raw) > 1024:
        return None
    try:
        data = _serializer().loads(raw)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return None
    accounts = data.get("a")
    if not isinstance(accounts, list) or not all(isinstance(a, str) for a in accounts):
        return None
    return Device(data["id"][:32], accounts[:DEVICE_ACCOUNTS])


def remember_device(response: Response, email: str) -> None:
    """After a successful login: this browser is one the account has logged in from."""
    device = this_device() or Device(secrets.token_urlsafe(12), [])
    short = account_key(email)[:16]
    accounts = [short, *[a for a in device.accounts if a != short]][:DEVICE_ACCOUNTS]
    response.set_cookie(
        DEVICE_COOKIE,
        _serializer().dumps({"id": device.id, "a": accounts}),
        max_age=DEVICE_COOKIE_DAYS * 86400,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )


def _client(key: str) -> tuple[str, bool]:
    """This request's client for `key`'s counts, and whether it is a browser the account knows."""
    device = this_device()
    if device is not None and device.knows(key):
        return f"device:{device.id}", True
    return (request.remote_addr or "unknown")[:64], False


# ---------------------------------------------------------------- counting


def delay_after(failures: int, free: int) -> timedelta:
    """How long after the last failure the next attempt must wait."""
    if failures < free:
        return timedelta(0)
    cap = current_app.config["LOGIN_MAX_DELAY_SECONDS"]
    return timedelta(seconds=min(2 ** min(failures - free, 30), cap))


def _window() -> timedelta:
    return timedelta(minutes=current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"])


def seconds_to_wait(email: str) -> int:
    """0 when this client may try a password for `email` now, else the seconds still to wait."""
    cfg = current_app.config
    key = account_key(email)
    client, known = _client(key)
    now = clock.now()
    rows = db.session.scalars(
        select(LoginFailure).where(
            LoginFailure.account_key == key,
            LoginFailure.client.in_([client, EVERYWHERE]),
            LoginFailure.last_at > now - _window(),
        )
    ).all()
    wait = timedelta(0)
    for row in rows:
        if row.client == EVERYWHERE:
            if known:
                continue
            free = cfg["LOGIN_ACCOUNT_FREE_FAILURES"]
        else:
            free = cfg["LOGIN_FREE_FAILURES"]
        wait = max(wait, row.last_at + delay_after(row.failures, free) - now)
    return math.ceil(wait.total_seconds()) if wait > timedelta(0) else 0


_ACCOUNT_AND_CLIENT = ("account_key", "client")  # the unique constraint the upsert meets


def _count(key: str, client: str, now: datetime) -> int:
    """One more failure for (key, client), or the first of a new window; the count after it.

    One upsert (`hms.database.upsert`), so that failures at the same moment all count without a race to
    insert the first row. A row whose window has passed starts again at 1."""
    table = LoginFailure.__table__
    moment = table.c.last_at.type
    fresh = table.c.last_at > bindparam("forgotten", now - _window(), type_=moment)
    now_value = bindparam("now", now, type_=moment)
    counting = [  # MySQL assigns in order and later terms see earlier ones: last_at goes last
        ("failures", case((fresh, table.c.failures + 1), else_=1)),
        ("first_at", case((fresh, table.c.first_at), else_=now_value)),
        ("last_at", now_value),
    ]
    row = {"account_key": key, "client": client, "failures": 1, "first_at": now, "last_at": now}
    statement = upsert(table, row, _ACCOUNT_AND_CLIENT, counting)
    db.session.execute(statement)
    return db.session.scalar(
        select(LoginFailure.failures).where(LoginFailure.account_key == key, LoginFailure.client == client)
    )


def record_failure(email: str, user: User | None) -> None:
    """Count a wrong password (or second-step code) for `email` from this client; tell a real
    account's owner once when failures pile up. Flushes."""
    key = account_key(email)
    client, _known = _client(key)
    now = clock.now()
    lock_rows()  # SQLite: take the write lock before reading the counts (no upgrade deadlock)
    _count(key, client, now)
    everywhere = _count(key, EVERYWHERE, now)
    if user is not None and everywhere == current_app.config["LOGIN_ALERT_FAILURES"]:
        _tell_the_owner(user, everywhere)
    db.session.flush()


def record_success(email: str) -> None:
    """A right password and code: this client's count starts again. Flushes."""
    key = account_key(email)
    client, _known = _client(key)
    db.session.execute(
        delete(LoginFailure)
        .where(LoginFailure.account_key == key, LoginFailure.client.in_([client, request.remote_addr or ""]))
        .execution_options(synchronize_session=False)
    )


def forget_account(email: str) -> None:
    """After a password reset by email: the owner proved who he is; every count of the account goes."""
    db.session.execute(
        delete(LoginFailure)
        .where(LoginFailure.account_key == account_key(email))
        .execution_options(synchronize_session=False)
    )


def purge_forgotten() -> int:
    """Delete counts whose window has passed (the worker's periodic job); how many went."""
    result = db.session.execute(
        delete(LoginFailure)
        .where(LoginFailure.last_at <= clock.now() - _window())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def refusal(seconds: int) -> str:
    return gettext(
        "Too many failed attempts from here. Wait %(num)d seconds, then try again.", num=max(1, seconds)
    )


def _tell_the_owner(user: User, failures: int) -> None:
    from hms.services.notifications import public_url, send_account_email

    with in_language_of(user):
        subject = gettext("HMS: failed logins to your account")
        body = (
            gettext("Hello %(name)s,", name=user.first_name)
            + "\n\n"
            + gettext(
                "Someone tried to log in to your HMS account with a wrong password %(num)d times in the "
                "last hour. Your account is not locked, and you can log in as usual.",
                num=failures,
            )
            + "\n\n"
            + gettext(
                "If this was not you, choose a stronger password and turn on two-factor login: %(url)s",
                url=public_url("/account/security"),
            )
            + "\n"
        )
    send_account_email(user, "login_failures", subject, body)
