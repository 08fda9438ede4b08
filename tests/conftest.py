"""Fixtures: a real database per run (SQLite, or HMS_TEST_DATABASE_URL's server), app, client, login_as."""

from __future__ import annotations

import contextvars
import email
import email.policy
import os
import secrets
import socket
from collections.abc import Iterator

import flask_migrate
import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from config import TestConfig
from hms import clock, create_app
from hms.extensions import db, limiter
from tests import factories
from tests.stripe_fake import stripe_fake  # noqa: F401  (fixture)


def _create_database(base_url: str) -> tuple[str, callable]:
    """A fresh, empty database on the server of `base_url`, and a function that drops it."""
    url = make_url(base_url)
    name = f"hms_test_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    backend = url.get_backend_name()
    with admin.connect() as conn:
        if backend == "mysql":
            conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
        else:
            conn.execute(text(f"CREATE DATABASE {name}"))

    def drop() -> None:
        with admin.connect() as conn:
            if backend == "postgresql":
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = os.environ.get("HMS_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'hms-test.sqlite3'}"
        return
    url, drop = _create_database(base)
    try:
        yield url
    finally:
        drop()


class CsrfClient(FlaskClient):
    """A test client that behaves like a browser on our pages.

    It sends a valid CSRF token with every unsafe request (pass `csrf=False` to send none), and runs
    each request in a context of its own, as a server would: its own app context, `g` and database
    session. The test's session commits before (so the request sees the test's rows) and after (so
    the test then sees what the request committed)."""

    def open(self, *args, csrf: bool = True, **kwargs):  # type: ignore[no-untyped-def]
        method = (kwargs.get("method") or "GET").upper()
        if csrf and method not in ("GET", "HEAD", "OPTIONS"):
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRFToken", self.csrf_token())
            kwargs["headers"] = headers
        if has_app_context():
            db.session.commit()
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():
            db.session.commit()
        return response

    def csrf_token(self) -> str:
        with self.session_transaction() as sess:
            raw = sess.setdefault("csrf_token", secrets.token_hex(20))
        signer = URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token")
        return signer.dumps(raw)


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    config = type("RunConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": database_url})
    application = create_app(config)
    application.test_client_class = CsrfClient
    with application.app_context():
        flask_migrate.upgrade()
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _fresh_state(app: Flask) -> Iterator[None]:
    """Each test starts with empty tables, an unfrozen clock and no rate-limit counts."""
    ctx = app.app_context()
    ctx.push()
    limiter.reset()
    yield
    clock.set_frozen(None)
    db.session.rollback()
    db.session.remove()
    with db.engine.begin() as conn:
        mysql = conn.dialect.name == "mysql"
        if mysql:  # MariaDB checks self-references row by row, so a plain DELETE of a chain fails
            conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
        if mysql:
            conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")
    ctx.pop()


@pytest.fixture
def client(app: Flask) -> CsrfClient:
    return app.test_client()


@pytest.fixture
def login_as(client: CsrfClient):  # type: ignore[no-untyped-def]
    """Log `user` in on `client` the way our login does (a server-side session and its token in the
    cookie), without paying for argon2 or the second factor each time."""
    from hms.auth.session import SESSION_KEY
    from hms.services import sessions

    def login(user, on: CsrfClient | None = None):  # type: ignore[no-untyped-def]
        target = on or client
        _row, token = sessions.start_session(user, ip="127.0.0.1", user_agent="pytest")
        db.session.commit()
        with target.session_transaction() as sess:
            sess.clear()
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
            sess[SESSION_KEY] = token
        return target

    return login


@pytest.fixture
def make():
    """The test data factories (tests/factories.py)."""
    return factories


class SmtpSink:
    """A real SMTP server (aiosmtpd) on a free local port, keeping every message it accepts.
    Addresses in `refuse` get a permanent 550; `stop()` and `start()` take it down and bring it back."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.messages: list[email.message.EmailMessage] = []
        self.refuse: set[str] = set()
        self._controller = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp_server(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpSink]:
    """The app's mail goes to a real local SMTP server for this test."""
    sink = SmtpSink()
    sink.start()
    state = app.extensions["mail"]
    monkeypatch.setattr(state, "server", "127.0.0.1")
    monkeypatch.setattr(state, "port", sink.port)
    yield sink
    sink.stop()
