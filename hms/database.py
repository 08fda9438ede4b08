"""Engine set-up per database, the write lock that serializes bookings on every database, and savepoints."""

from __future__ import annotations

import functools
import re
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy import Engine, Table, bindparam, event, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from hms.extensions import db

_begin_immediate: ContextVar[bool] = ContextVar("sqlite_begin_immediate", default=False)

T = TypeVar("T")


def configure_engine(engine: Engine) -> None:
    """SQLite: enforce foreign keys, wait for locks, let readers run beside a writer, and let us
    start a transaction IMMEDIATE (taking the write lock at once) when a booking needs it.
    PostgreSQL: begin transactions lazily (`lazy_begin`)."""
    if engine.dialect.name == "postgresql":
        lazy_begin(engine)
        return
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event below issues BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection):  # type: ignore[no-untyped-def]
        immediate = _begin_immediate.get()
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
        connection.info[_WRITING] = immediate

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _sqlite_end(connection):  # type: ignore[no-untyped-def]
        connection.info[_WRITING] = True  # no transaction of ours: nothing to do before a statement

    @event.listens_for(engine, "before_cursor_execute")
    def _write_lock_before_the_first_write(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        """A transaction that has only read so far takes the write lock before its first write.

        In WAL mode a read transaction becomes a write transaction only if nobody committed since its
        first read; otherwise SQLite refuses at once with "database is locked", without waiting (an
        audited page view next to anyone's write: half of them failed with two doctors reading and one
        patient writing). So the read transaction ends here (it wrote nothing) and an IMMEDIATE one
        starts, waiting for the writer like any lock. What was read stays read: PostgreSQL's READ
        COMMITTED gives the same (each statement sees what is committed when it runs), and the app's
        read-then-write decisions already take a locking read (`lock_rows`) or a conditional UPDATE.
        A SAVEPOINT opens a nested transaction in the one already there (the tests' harness wraps every
        test in one): that transaction is left as it is."""
        info = conn.info
        if info.get(_WRITING, True) or _PLAIN_READ.match(statement):
            return
        info[_WRITING] = True
        if _NESTED.match(statement):
            return
        dbapi_connection = cursor.connection
        if dbapi_connection.in_transaction:
            dbapi_connection.execute("COMMIT")
            dbapi_connection.execute("BEGIN IMMEDIATE")


# SQLite: whether the connection's transaction holds (or no longer needs) the write lock.
_WRITING = "hms_sqlite_writing"
_NESTED = re.compile(r"\s*(SAVEPOINT|RELEASE|ROLLBACK\s+TO)\b", re.IGNORECASE)

# A statement that can run outside a transaction: a plain read. Anything else (a write, DDL, a
# SAVEPOINT, a SET, a locking read) starts the transaction first.
_PLAIN_READ = re.compile(r"\s*(SELECT|SHOW)\b", re.IGNORECASE)
_LOCKING_READ = re.compile(r"\bFOR\s+(UPDATE|SHARE|NO\s+KEY\s+UPDATE|KEY\s+SHARE)\b", re.IGNORECASE)


def lazy_begin(engine: Engine) -> None:
    """PostgreSQL: the driver is in autocommit (create_app sets the engine's isolation_level), and BEGIN
    is sent just before the first statement that needs a transaction: a write, DDL, a SAVEPOINT, a
    locking read (FOR UPDATE/SHARE) or a server-side cursor. Everything after it runs in that
    transaction until the session commits or rolls back (psycopg sends COMMIT or ROLLBACK whenever a
    transaction is open, autocommit or not), so writes stay atomic and locks are held as before.

    A request that only reads sends no BEGIN and no ROLLBACK: two round trips of the slot picker's six.
    Its reads are what they were: at PostgreSQL's READ COMMITTED every statement takes a snapshot of its
    own, in a transaction or not; and reads before a request's first write were never protected by the
    transaction (they take no locks), so a read-then-write is exactly as safe as before: it still needs
    its locking read, which now opens the transaction.

    A transaction that wrote nothing ends with COMMIT even when rolled back (`end_without_rollback`):
    psycopg forgets its prepared statements on every ROLLBACK."""
    import psycopg

    idle, in_transaction = psycopg.pq.TransactionStatus.IDLE, psycopg.pq.TransactionStatus.INTRANS
    wrote: weakref.WeakSet[psycopg.Connection] = weakref.WeakSet()  # their open transaction wrote

    @event.listens_for(engine, "before_cursor_execute")
    def _begin_before_a_write(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        dbapi_connection = cursor.connection
        read = _PLAIN_READ.match(statement)
        if dbapi_connection.info.transaction_status == idle:
            if (
                read
                and not _LOCKING_READ.search(statement)
                and not isinstance(cursor, psycopg.ServerCursor)  # DECLARE needs a transaction
            ):
                return
            dbapi_connection.execute("BEGIN")
        if not read and not _NESTED.match(statement):
            wrote.add(dbapi_connection)

    @event.listens_for(engine, "commit")
    def _committed(conn):  # type: ignore[no-untyped-def]
        wrote.discard(conn.connection.driver_connection)

    rollback = engine.dialect.do_rollback

    def end_without_rollback(dbapi_connection):  # type: ignore[no-untyped-def]
        """A transaction that wrote nothing (it read, it locked rows: a refused booking) ends with COMMIT:
        for the database the same as ROLLBACK (nothing to undo, the locks released), but psycopg
        forgets every prepared statement of the connection on a ROLLBACK (DEALLOCATE ALL), and then
        PostgreSQL parses and plans each statement again: under the load benchmark, where a quarter of
        the cycles end in a refused booking, almost no statement stayed prepared, and planning was most
        of PostgreSQL's CPU (1.6 ms of a request's 1.6). A transaction that wrote, or failed, is rolled
        back as always."""
        raw = getattr(dbapi_connection, "driver_connection", dbapi_connection)
        try:
            if raw.info.transaction_status == in_transaction and raw not in wrote:
                raw.commit()
                return
            rollback(dbapi_connection)
        finally:
            wrote.discard(raw)

    engine.dialect.do_rollback = end_without_rollback  # type: ignore[method-assign]


def upsert(table: Table, row: dict[str, Any], keys: tuple[str, ...], changes: list[tuple[str, Any]]):  # type: ignore[no-untyped-def]
    """One statement on every database: INSERT `row`, or where it meets the unique key `keys`, apply
    `changes` (column, value or expression of the existing row) to the row already there.

    For counters that rows racing to be first would otherwise insert twice: no savepoint and no
    duplicate-key error to recover from (InnoDB's duplicate-key checks take shared locks, two of them
    upgrading at once deadlock, and MariaDB then rolls the whole transaction back, savepoint included).
    MySQL assigns `changes` in order and later ones see earlier ones: give them in an order that works
    for both (a column the others read goes last)."""
    dialect = db.session.get_bind().dialect.name
    if dialect in ("mysql", "mariadb"):
        return mysql_insert(table).values(row).on_duplicate_key_update(changes)
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return insert(table).values(row).on_conflict_do_update(index_elements=keys, set_=dict(changes))


@contextmanager
def savepoint(refused: Exception) -> Iterator[None]:
    """Write what the block adds or changes inside a SAVEPOINT of the caller's transaction, and raise
    `refused` when a constraint refuses it (a unique key that a concurrent request took after our own
    check). Only the savepoint is rolled back: the block's new objects leave the session, the ones it
    changed are read again when next used, and the caller's transaction goes on.

    Make the changes inside the block, not before it: `begin_nested()` first flushes whatever is
    pending, outside the savepoint, so a refusal there fails the whole transaction (every later
    statement raises PendingRollbackError, and PostgreSQL refuses them anyway). Build a new object
    there too when it names a loaded parent (`Department(hospital=...)`): the parent's collection
    changes at once, and flushing it before the object is added makes SQLAlchemy warn."""
    try:
        with db.session.begin_nested():
            yield
    except IntegrityError as error:
        raise refused from error


def lock_rows(*rows: tuple[type, int]) -> None:
    """Serialize writers on these rows until the caller commits.

    PostgreSQL and MariaDB: SELECT ... FOR UPDATE on each row, in the order given (callers always
    give the same order, doctor before patient, so two bookings cannot deadlock on them).
    SQLite: it has one writer at a time; end any read transaction and start an IMMEDIATE one,
    which holds the database's write lock until commit."""
    if db.engine.dialect.name == "sqlite":
        session = db.session()
        if session.in_transaction():
            # End the read transaction without expiring what was read: what matters is read again
            # under the lock by the caller; the rest (the user, his profile) need not be reloaded.
            commit_keeping_loaded()
        token = _begin_immediate.set(True)
        try:
            db.session.execute(select(1))
        finally:
            _begin_immediate.reset(token)
        return
    for model, pk in rows:
        db.session.execute(_lock_statement(model), {"pk": pk})


@functools.cache
def _lock_statement(model: type):  # type: ignore[no-untyped-def]
    """SELECT id … FOR UPDATE of one row of `model`, built once per process."""
    return select(model.id).where(model.id == bindparam("pk")).with_for_update()


def commit_keeping_loaded() -> None:
    """Commit without expiring what the session has loaded. For a page whose only write is its audit
    event and which then shows what it read (expiring it would read it all again), and for ending a
    read transaction before taking a lock."""
    session = db.session()
    session.expire_on_commit, before = False, session.expire_on_commit
    try:
        session.commit()
    finally:
        session.expire_on_commit = before


def read_columns(statement: Any, params: dict[str, Any] | None = None) -> Any:
    """Run a SELECT of plain columns (no ORM entities) on the session's connection and return its
    result: what `db.session.execute` does for it, without the ORM's layer around the statement and
    every row (measured: a tenth of a statement's CPU, more for a statement of many rows, such as a
    search page's weekly rules and appointments). What is pending is flushed first, as the session's
    autoflush would (nothing to do, and next to no cost, when nothing is pending; not inside
    `no_autoflush`), so the rows include this transaction's own changes."""
    session = db.session
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement, params)


def first_read(operation: Callable[[], T]) -> T:
    """Run a request's first read, and once more on a fresh connection if the pooled one turned out
    dead (the database restarted, or closed the connection while it sat idle in the pool). Nothing was
    done yet, so trying again is safe. This stands in for the pool's pre-ping, which costs a round trip
    on every request (measured: a third of the slot picker's time on PostgreSQL); a connection that dies
    later in a request is a 503 with Retry-After (hms/errors.py)."""
    try:
        return operation()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        db.session.rollback()
        return operation()


def is_deadlock(error: BaseException) -> bool:
    """Whether `error` is, or was raised while handling, a deadlock or lock timeout. On MariaDB a
    deadlock inside a savepoint rolls the whole transaction back, so leaving the savepoint then fails
    with "SAVEPOINT … does not exist" and the deadlock is that error's context."""
    seen: BaseException | None = error
    while seen is not None:
        text = str(getattr(seen, "orig", seen)).lower()
        if "deadlock" in text or "lock wait timeout" in text or "database is locked" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def retry_on_deadlock(operation: Callable[[], T], attempts: int = 2) -> T:
    """Run `operation` (which must do its own commit), again after a deadlock, at most `attempts` times."""
    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except OperationalError as error:
            db.session.rollback()
            if attempt == attempts or not is_deadlock(error):
                raise
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")
