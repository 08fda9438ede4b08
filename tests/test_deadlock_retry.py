"""hms.database.retry_on_deadlock runs an operation again after a deadlock, including the one MariaDB
hides: a deadlock inside a savepoint rolls the whole transaction back, and leaving the savepoint then
fails with "SAVEPOINT … does not exist", raised while handling the deadlock."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from hms.database import is_deadlock, retry_on_deadlock

DEADLOCK = OperationalError("INSERT", {}, Exception("(1213, 'Deadlock found when trying to get lock')"))
OTHER = OperationalError("SELECT", {}, Exception("(1054, \"Unknown column 'x'\")"))


def savepoint_lost_after_a_deadlock() -> OperationalError:
    try:
        try:
            raise DEADLOCK
        except OperationalError:
            raise OperationalError(  # noqa: B904  (implicit chaining is what SQLAlchemy's exit does)
                "ROLLBACK TO SAVEPOINT sa_savepoint_1",
                {},
                Exception("(1305, 'SAVEPOINT sa_savepoint_1 does not exist')"),
            )
    except OperationalError as error:
        return error


def test_deadlocks_are_recognised_also_behind_a_lost_savepoint():
    assert is_deadlock(DEADLOCK)
    assert is_deadlock(savepoint_lost_after_a_deadlock())
    assert not is_deadlock(OTHER)
    assert not is_deadlock(OperationalError("RELEASE", {}, Exception("(1305, 'SAVEPOINT x does not exist')")))


def test_an_operation_is_run_again_after_a_lost_savepoint_but_not_after_other_errors(app):
    tries: list[int] = []

    def flaky() -> str:
        tries.append(1)
        if len(tries) == 1:
            raise savepoint_lost_after_a_deadlock()
        return "committed"

    assert retry_on_deadlock(flaky) == "committed" and len(tries) == 2

    def broken() -> None:
        tries.append(1)
        raise OTHER

    tries.clear()
    with pytest.raises(OperationalError):
        retry_on_deadlock(broken)
    assert len(tries) == 1
