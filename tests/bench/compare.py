"""This checkout's speed next to another commit's, side by side (not part of the test suite).

    .venv/bin/python -m tests.bench.compare [--base HEAD~1] [--rounds 6] [--seconds 2] [--patients 10]
                                            [--only login,search,fragment,doctor,load]

This machine's speed moves by half within minutes, so two versions measured one after the other say
little. This checks `base` out in a temporary git worktree (with this checkout's built front-end files
and compiled translations, which git does not keep), seeds a PostgreSQL database for each version
(tests.bench.common.seed) and starts both gunicorns at once (gunicorn.conf.py, 2 sync workers). Then
it drives them in turn, in short bursts, the base first in odd rounds and last in even ones: `wrk`
(10 connections; threads without it) on /login, the search results (HTMX), the slot picker's day
fragment (HTMX) and the doctor page, and the load benchmark's patients (tests.bench.load.run_load).
It prints each version's requests/s and its gunicorn's CPU per request (from /proc, the steadier
figure), and the change. Only 127.0.0.1 is used; the worktree and the databases are removed."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.common import (
    ROOT,
    SERVERS,
    cpu_seconds,
    create_database,
    gunicorn,
    login,
    measured_pages,
    seed,
)
from tests.bench.limit import with_threads, with_wrk
from tests.bench.load import run_load

PAGES = ("login", "search", "fragment", "doctor", "load")
# What git does not keep but the app serves: the bundled front-end and the compiled catalogs.
BUILT = ("static/vendor", "static/bundle")


@contextlib.contextmanager
def worktree(revision: str):  # type: ignore[no-untyped-def]
    """`revision` checked out in a temporary folder, with this checkout's built files; removed after."""
    folder = Path(tempfile.mkdtemp(prefix="hms-compare-"))
    subprocess.run(  # noqa: S603 - git with fixed arguments
        ["git", "worktree", "add", "--detach", str(folder), revision],  # noqa: S607
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    try:
        for built in BUILT:
            if (ROOT / built).exists():
                shutil.copytree(ROOT / built, folder / built, dirs_exist_ok=True)
        for catalog in (ROOT / "translations").glob("*/LC_MESSAGES/*.mo"):
            shutil.copy2(catalog, folder / catalog.relative_to(ROOT))
        yield folder
    finally:
        subprocess.run(  # noqa: S603 - git with fixed arguments
            ["git", "worktree", "remove", "--force", str(folder)],  # noqa: S607
            cwd=ROOT,
            check=False,
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


def targets(base: str, world: dict, patients: int) -> dict:  # type: ignore[type-arg]
    """The pages' addresses and headers, and the load's logged-in patients, for one server."""
    return measured_pages(base, world) | {
        "load": [login(base, f"pat{i}@example.org", lean=True) for i in range(patients)]
    }


def burst(page: str, base: str, target, seconds: float, measure) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    """Requests served and the CPU seconds its gunicorn used, in one burst."""
    group = f"gunicorn {SERVERS[base]}"
    before = cpu_seconds(per_server=True).get(group, 0.0)
    if page == "load":
        stats, _wall, _used = run_load(base, target, seconds, 10**9)
        served = sum(len(v) for v in stats.latency.values())
    else:
        url, headers = target
        served = round(measure(url, seconds, 10, headers | {"Accept-Encoding": "br, gzip"}) * seconds)
    return served, cpu_seconds(per_server=True).get(group, 0.0) - before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD~1", help="the commit to compare with (default HEAD~1)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=2, help="each burst's length")
    parser.add_argument("--patients", type=int, default=10)
    parser.add_argument("--only", default=",".join(PAGES), help="some of " + ",".join(PAGES))
    args = parser.parse_args()
    pages = [p for p in args.only.split(",") if p]
    if unknown := set(pages) - set(PAGES):
        parser.error(f"unknown: {', '.join(sorted(unknown))}")
    measure = with_wrk if shutil.which("wrk") else with_threads
    env = {"GUNICORN_MAX_REQUESTS": "0"}
    with contextlib.ExitStack() as stack:
        roots = {"base": stack.enter_context(worktree(args.base)), "this": ROOT}
        servers: dict[str, tuple[str, dict]] = {}  # type: ignore[type-arg]
        for name, root in roots.items():
            database_url, drop = create_database()
            stack.callback(drop)
            world = seed(database_url, doctors=20, patients=max(args.patients, 10), hospitals=2)
            base = stack.enter_context(gunicorn(database_url, workers=2, env=env, root=root))
            servers[name] = (base, targets(base, world, args.patients))
        print(f"\n{time.strftime('%Y-%m-%d')}: {args.base} (base) and this checkout, 2 sync workers each,")
        print(f"{args.rounds} rounds of {args.seconds:g}-s bursts, in turn; CPU: gunicorn's per request")
        print(f"{'page':<9} {'base req/s':>10} {'this req/s':>10} {'change':>7}", end=" ")
        print(f"{'base CPU':>9} {'this CPU':>9} {'change':>7}")
        for page in pages:
            sums = {name: [0, 0.0, 0.0] for name in servers}  # served, CPU seconds, wall seconds
            for n in range(args.rounds):
                for name in servers if n % 2 == 0 else reversed(servers):
                    base, known = servers[name]
                    started = time.perf_counter()
                    served, used = burst(page, base, known[page], args.seconds, measure)
                    sums[name][0] += served
                    sums[name][1] += used
                    sums[name][2] += time.perf_counter() - started
            rate = {k: v[0] / v[2] for k, v in sums.items()}
            cpu = {k: v[1] * 1000 / max(v[0], 1) for k, v in sums.items()}
            faster, cheaper = rate["this"] / rate["base"] - 1, cpu["this"] / cpu["base"] - 1
            print(
                f"{page:<9} {rate['base']:>10.0f} {rate['this']:>10.0f} {faster:>+7.0%} "
                f"{cpu['base']:>7.2f}ms {cpu['this']:>7.2f}ms {cheaper:>+7.0%}",
                flush=True,
            )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine load average (1, 5, 15 min) at the end: {load}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
