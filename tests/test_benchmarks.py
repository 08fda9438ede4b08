"""Every script in tests/bench/ still runs: each is started at a tiny size (a few rows, a few seconds,
no budget asserted), so that a change that breaks one fails here instead of on the next person who
needs the figures. The benchmarks serve PostgreSQL, so these run in the PostgreSQL suite; the page
weight benchmark drives Chromium on SQLite, so it runs with the browser tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ON_POSTGRESQL = os.environ.get("HMS_TEST_DATABASE_URL", "").startswith("postgresql")
# Every script of tests/bench; `common`, `client` (the load's patients' browser, run by the load and
# limit smoke runs) and `trivial` (the yardstick app limit.py serves) are not scripts.
SCRIPTS = {path.stem for path in (ROOT / "tests" / "bench").glob("*.py")} - {
    "__init__",
    "common",
    "client",
    "trivial",
}
TINY = {
    "booking": ["--workers", "1", "--clients", "2", "--attempts", "10", "--doctors", "2"],
    "load": ["--workers", "1", "--patients", "2", "--doctors", "2", "--seconds", "2"],
    "reports": ["--appointments", "300", "--bills", "100", "--runs", "1"],
    "page_weight": ["--fast"],
    "limit": ["--seconds", "1", "--connections", "2", "--patients", "2", "--scale", "500", "--workers", "1"],
    "profile_request": ["--requests", "3", "--rounds", "1", "--top", "3"],
    "compare": ["--base", "HEAD", "--rounds", "1", "--seconds", "1", "--patients", "2", "--only=login,load"],
}
# The last line each prints when it ran to the end.
FINISHED = {
    "booking": "double bookings found by SQL: doctor 0, patient 0",
    "load": "machine load average",
    "reports": "Platform: new patients by month",
    "page_weight": "booking journey",
    "limit": "machine load average",
    "profile_request": "CPU ms/request  search",
    "compare": "machine load average",
}


def run_benchmark(name: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = os.environ.copy()
    if ON_POSTGRESQL:
        env["HMS_BENCH_DATABASE_URL"] = os.environ["HMS_TEST_DATABASE_URL"]
    return subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, "-m", f"tests.bench.{name}", *TINY[name]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_every_benchmark_has_a_smoke_run():
    assert set(TINY) == SCRIPTS == set(FINISHED)


@pytest.mark.commits
@pytest.mark.skipif(not ON_POSTGRESQL, reason="the benchmarks serve PostgreSQL: run in the PostgreSQL suite")
@pytest.mark.parametrize("name", ["booking", "load", "reports", "limit", "profile_request", "compare"])
def test_the_benchmark_runs_to_the_end(name):
    result = run_benchmark(name)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert FINISHED[name] in result.stdout, result.stdout[-2000:]
