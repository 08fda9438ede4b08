"""Running jobs at the same moment, each in its own thread, app context and database connection: the
harness of the concurrency tests (the point is PostgreSQL and MariaDB, where transactions really run
in parallel)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from hms import clock
from hms.database import retry_on_deadlock
from hms.extensions import db
from hms.services.errors import DomainError


def run_at_once(
    app,  # type: ignore[no-untyped-def]
    jobs: list[Callable[[], object]],
    *,
    done: str = "done",
    refusal: Callable[[DomainError], str] = lambda error: type(error).__name__,
    frozen_at: datetime | None = None,
) -> list[str]:
    """Release every job together; per job `done`, `refusal(error)` for a refusal of the rules, or
    "error: …" for anything else (reported, never swallowed)."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(job):  # type: ignore[no-untyped-def]
        with app.app_context():
            if frozen_at is not None:
                clock.set_frozen(frozen_at)
            barrier.wait()
            try:
                retry_on_deadlock(job)
                outcome = done
            except DomainError as error:
                db.session.rollback()
                outcome = refusal(error)
            except Exception as error:  # noqa: BLE001
                db.session.rollback()
                outcome = f"error: {error!r}"
            finally:
                db.session.remove()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes
