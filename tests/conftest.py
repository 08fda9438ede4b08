"""Fixtures: a real database per run (SQLite, or HMS_TEST_DATABASE_URL's server), app, client, login_as."""

from __future__ import annotations

import contextvars
import email
import email.policy
import os
import secrets
import socket
import threading
from collections.abc import Iterator

import flask_migrate
import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from config import TestConfig
from hms import clock, create_app
from hms.extensions import db, limiter
from tests import factories
from tests.signin import sign_in
from tests.stripe_fake import stripe_fake  # noqa: F401  (fixture)

# Property tests check what is computed, not how fast: on a busy CI machine (two cores, three databases'
# suites and a browser) neither slow input generation nor a slow example is a failure.
settings.register_profile("hms", suppress_health_check=[HealthCheck.too_slow], deadline=None)
settings.load_profile("hms")

pytest_plugins = ["tests.worlds"]  # worlds built once per module (`world`)


def pytest_terminal_summary(terminalreporter, config):  # type: ignore[no-untyped-def]
    """The random order's seed, also with -q (pytest-randomly prints it only in the header)."""
    seed = getattr(config.option, "randomly_seed", None)
    if isinstance(seed, int) and getattr(config.option, "randomly_reorganize", True):
        terminalreporter.write_line(f"Random order: repeat it with --randomly-seed={seed}")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):  # type: ignore[no-untyped-def]
    """With pytest-xdist (`make test` runs a worker per core): every test under tests/e2e runs on one
    worker, one Chromium at a time on a 2-core machine, while the other workers share the rest test by
    test. (xdist's own `--dist loadgroup` renames node ids, which pytest 9 no longer lets a plugin do.)"""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class BrowserTestsTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "browser" if nodeid.startswith("tests/e2e/") else nodeid

    return BrowserTestsTogether(config, log)


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


# Flask-Limiter keeps one storage on the extension object, which every create_app replaces (a production
# app's is Redis): each test starts again with the test app's own (memory) storage, emptied.
_LIMITER_STATE: list[tuple] = []


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    config = type("RunConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": database_url})
    application = create_app(config)
    application.test_client_class = CsrfClient
    with application.app_context():
        flask_migrate.upgrade()
    _bind_sessions_to_the_test_connection()
    _LIMITER_STATE.append((limiter._storage, limiter._limiter))  # noqa: SLF001
    yield application
    with application.app_context():
        db.engine.dispose()


class _Binding:
    """The one connection that every database session of the test's thread uses, inside a transaction
    that is rolled back when the test ends (see the README's "How the tests stay fast")."""

    connection: Connection | None = None
    thread: int | None = None
    module: Connection | None = None  # a module-scoped world's connection (module_transaction)


def _bind_sessions_to_the_test_connection() -> None:
    """Make every `db.session` (the test's, each request's, each app's on the test database) join
    `_Binding.connection` with a SAVEPOINT of its own: its commit releases the savepoint, its rollback
    returns to it, and the test's transaction around them all is rolled back at the end. Outside a
    test (or in a `commits` test) sessions use their engine as usual."""
    session_class = db.session.session_factory.class_
    engine_bind = session_class.get_bind

    def get_bind(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        connection = _Binding.connection
        if connection is None or self._db.engine.url != connection.engine.url:  # another database
            return engine_bind(self, *args, **kwargs)
        if threading.get_ident() != _Binding.thread:
            raise RuntimeError(
                "A second thread used the database inside a rolled-back test: mark the test "
                "@pytest.mark.commits (or concurrency) so that its rows are really committed."
            )
        return connection

    session_class.get_bind = get_bind
    db.session.session_factory.configure(join_transaction_mode="create_savepoint")


def _empty_every_table() -> None:
    """After a test that really committed: delete every row, children first (on a fresh connection
    if a test killed the pooled ones: the pool does not pre-ping)."""
    try:
        _delete_every_row()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        db.engine.dispose()
        _delete_every_row()


def _delete_every_row() -> None:
    with db.engine.begin() as conn:
        mysql = conn.dialect.name == "mysql"
        if mysql:  # MariaDB checks self-references row by row, so a plain DELETE of a chain fails
            conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
        if mysql:
            conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")


def _needs_commits(item: pytest.Item) -> bool:
    """Browser tests (a server thread), concurrency tests (threads) and tests marked `commits`."""
    return any(item.get_closest_marker(name) for name in ("commits", "concurrency", "e2e"))


@pytest.fixture(autouse=True)
def _fresh_state(request: pytest.FixtureRequest, app: Flask) -> Iterator[None]:
    """Each test starts from what its module's world holds (or empty tables), an unfrozen clock and no
    rate-limit counts, and leaves nothing behind: its transaction (or savepoint) is rolled back.
    A test marked `commits` or `concurrency` commits for real, and its rows are deleted after it."""
    ctx = app.app_context()
    ctx.push()
    limiter._storage, limiter._limiter = _LIMITER_STATE[0]  # noqa: SLF001
    limiter.reset()
    if _needs_commits(request.node):
        if _Binding.module is not None:
            raise RuntimeError("a test that commits cannot share a module-scoped world")
        try:
            yield
        finally:
            clock.set_frozen(None)
            db.session.rollback()
            db.session.remove()
            _empty_every_table()
            # A fresh pool for the next test: this one may have killed connections that sit idle in the
            # pool (the outage tests kill every connection of the database), and the pool does not ping.
            db.engine.dispose()
            ctx.pop()
        return
    connection = _Binding.module or db.engine.connect()
    transaction = connection.begin_nested() if _Binding.module is not None else connection.begin()
    _Binding.connection, _Binding.thread = connection, threading.get_ident()
    try:
        yield
    finally:
        clock.set_frozen(None)
        db.session.remove()
        _Binding.connection = None
        if transaction.is_active:
            transaction.rollback()
        if _Binding.module is None:
            connection.close()
        ctx.pop()


@pytest.fixture(scope="module")
def module_transaction(app: Flask) -> Iterator[Connection]:
    """For a world built once per module: one connection and transaction for the whole module, in which
    the world is built and committed (to savepoints); each test then runs in a savepoint rolled back
    after it, so every test sees the same world, and the module leaves nothing behind."""
    with app.app_context():
        connection = db.engine.connect()
    transaction = connection.begin()
    _Binding.module = _Binding.connection = connection
    _Binding.thread = threading.get_ident()
    try:
        yield connection
    finally:
        _Binding.module = _Binding.connection = None
        transaction.rollback()
        connection.close()


@pytest.fixture
def client(app: Flask) -> CsrfClient:
    return app.test_client()


@pytest.fixture
def login_as(client: CsrfClient):  # type: ignore[no-untyped-def]
    """Log `user` in on `client` the way our login does (a server-side session and its token in the
    cookie), without paying for argon2 or the second factor each time."""

    def login(user, on: CsrfClient | None = None):  # type: ignore[no-untyped-def]
        return sign_in(on or client, user)

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
