"""Fixtures: a real database per run (SQLite, or HMS_TEST_DATABASE_URL's server), app, client, login_as."""

from __future__ import annotations

import contextvars
import os
import secrets
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
    """Log `user` in on `client` the way Flask-Login does, without paying for argon2 each time."""

    def login(user, on: CsrfClient | None = None):  # type: ignore[no-untyped-def]
        target = on or client
        with target.session_transaction() as sess:
            sess.clear()
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
        return target

    return login


@pytest.fixture
def make():
    """The test data factories (tests/factories.py)."""
    return factories
