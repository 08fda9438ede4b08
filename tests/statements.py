"""Counting the SQL statements a request sends (tests/test_query_budgets.py): SELECT, INSERT, UPDATE and
DELETE, as a SQLAlchemy event listener sees them, without the test's own savepoints."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from hms.extensions import db

COUNTED = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


@contextmanager
def recorded() -> Iterator[list[str]]:
    """The statements sent while the block runs (the list fills as they go)."""
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(COUNTED):
            seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
