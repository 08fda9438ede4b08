"""The one clock of the application: aware UTC datetimes, frozen in tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """The current time as an aware UTC datetime."""
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC)


def set_frozen(moment: datetime | None) -> None:
    global _frozen
    if moment is not None and moment.tzinfo is None:
        raise ValueError("freeze the clock with an aware datetime")
    _frozen = moment.astimezone(UTC) if moment else None


@contextlib.contextmanager
def frozen(moment: datetime) -> Iterator[None]:
    """Run a block of code at a fixed moment."""
    previous = _frozen
    set_frozen(moment)
    try:
        yield
    finally:
        set_frozen(previous)
