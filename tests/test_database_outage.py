"""A database connection that dies in the middle of a request answers 503 with the app's own page and
Retry-After, never a 500 or the server's bare error; a failed clean-up is logged; the next request is
served. The connections are killed for real, from a second connection (pg_terminate_backend on
PostgreSQL, KILL on MariaDB); SQLite has no connection to lose."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import create_engine, event, text

from hms.extensions import db
from tests.bench.common import gunicorn

pytestmark = pytest.mark.commits


@pytest.fixture
def killer(app, database_url):  # type: ignore[no-untyped-def]
    """kill(dbapi_connection): ends that connection's session on the server, from another connection."""
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    backend = engine.dialect.name
    if backend == "sqlite":
        pytest.skip("SQLite has no server connection to lose")

    def kill(dbapi_connection) -> None:  # type: ignore[no-untyped-def]
        with engine.connect() as admin:
            if backend == "postgresql":
                pid = dbapi_connection.info.backend_pid
                admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            else:
                admin.execute(text(f"KILL {int(dbapi_connection.thread_id())}"))

    yield kill
    engine.dispose()


def kill_at(statement_number: int, kill):  # type: ignore[no-untyped-def]
    """Kill the app's connection just before its n-th SQL statement (counted over the app's engine)."""
    seen = {"n": 0}

    def before(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen["n"] += 1
        if seen["n"] == statement_number:
            kill(conn.connection.dbapi_connection)

    return before


@pytest.mark.parametrize("statement", [1, 2, 3, 5])
def test_a_connection_killed_mid_request_answers_503_and_the_next_request_is_served(
    app, client, make, login_as, killer, statement, caplog
):
    patient = make.patient()
    login_as(patient)
    db.session.commit()
    db.session.remove()
    listener = kill_at(statement, killer)
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        response = client.get("/patient/appointments")
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert response.status_code in (200, 503), response.data[:300]
    if response.status_code == 503:
        assert response.headers["Retry-After"] == "5"
        assert b"The database did not answer" in response.data and b"<html" in response.data
    again = client.get("/patient/appointments")
    assert again.status_code == 200


def test_a_connection_killed_after_the_last_statement_is_logged_not_shown(
    app, client, make, login_as, killer, caplog
):
    """The request's answer is ready; only the clean-up's rollback meets the dead connection. (The
    request writes, so its transaction is open on every database: on PostgreSQL a request that only
    reads opens none and its clean-up sends nothing; see hms.database.lazy_begin.)"""
    patient = make.patient()
    login_as(patient)
    db.session.commit()
    db.session.remove()
    connections = []
    grab = lambda conn, *args: connections.append(conn.connection.dbapi_connection)  # noqa: E731
    event.listen(db.engine, "after_cursor_execute", grab)

    def kill_now(response):  # type: ignore[no-untyped-def]
        db.session.execute(text("UPDATE users SET active = active WHERE id = 0"))
        if connections:
            killer(connections[-1])
        return response

    app.after_request_funcs.setdefault(None, []).append(kill_now)  # runs last: the answer is made
    caplog.set_level(logging.WARNING)
    try:
        response = client.get("/patient/appointments")
    finally:
        event.remove(db.engine, "after_cursor_execute", grab)
        app.after_request_funcs[None].remove(kill_now)
    assert response.status_code == 200
    assert any("broken database connection" in r.getMessage() for r in caplog.records)
    assert client.get("/patient/appointments").status_code == 200


def test_gunicorn_answers_503_pages_while_connections_die_and_recovers(database_url, killer, make):
    """Under gunicorn (the production server), killing every connection of the app between requests
    and during them: no 500, no bare error, and service goes on."""
    import requests
    from sqlalchemy import create_engine

    make.patient(email="p@example.org")
    db.session.commit()
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    backend = admin.dialect.name
    statuses = []
    with gunicorn(database_url, workers=2) as base:
        for round_ in range(6):
            with admin.connect() as conn:
                if backend == "postgresql":
                    conn.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        )
                    )
                else:
                    ids = conn.execute(
                        text(
                            "SELECT id FROM information_schema.processlist "
                            "WHERE db = DATABASE() AND id <> CONNECTION_ID()"
                        )
                    ).scalars()
                    for thread_id in ids:
                        conn.execute(text(f"KILL {int(thread_id)}"))
            for path in ("/login", "/healthz", "/register"):
                answer = requests.get(base + path, timeout=30)
                statuses.append(answer.status_code)
                assert answer.status_code in (200, 503), (round_, path, answer.status_code, answer.text[:200])
                if answer.status_code == 503:
                    assert answer.headers.get("Retry-After")
    admin.dispose()
    assert statuses.count(200) >= len(statuses) - 2  # pre-ping replaces dead connections at once
