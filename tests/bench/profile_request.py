"""CPU per request, measured in-process (not wall-clock: the figures hold on a busy machine).

    .venv/bin/python -m tests.bench.profile_request [--requests 300] [--top 35] [--sqlite] [--booked-days 0]
                                                    [--only fragment|doctor|login|search] [--sort cumulative]

It seeds a database as tests/bench/limit.py does (tests.bench.common.seed: 20 doctors at 2 hospitals,
10 patients, and with --booked-days N every time of ten doctors' first N days booked, as a long load
leaves them; a fresh PostgreSQL database next to HMS_BENCH_DATABASE_URL's, or with --sqlite a SQLite
file in a temporary folder), builds the app with the benchmark's settings (DevelopmentConfig, as
gunicorn runs it there), signs pat0@example.org in on a Flask test client, and sends the same requests
as the limit benchmark: the slot picker's day fragment (HTMX), the doctor page with its 14-day strip,
the anonymous /login page and the doctor search's results fragment. For each it prints the CPU time
per request (time.process_time: this process only, so the database server's work is not counted, and
other processes on the machine do not count either), the number of Python function calls per request
(unlike times, it does not move with the machine's load: a steadier yardstick for a change), and the
top functions of a cProfile run (timed by CPU time too) by cumulative (or --sort tottime) time.
--echo logs each request's SQL once, which shows whether SQLAlchemy's compiled-statement cache hits
("cached since"). Compare the "CPU ms/request" and "calls" figures before and after a change."""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.common import DAY_LINK, HX, create_database, seed

BOOKED_HELP = (
    "first book every time of ten doctors' first N days (a busy fortnight, as a long load leaves it)"
)


def build(sqlite: bool, booked_days: int = 0):  # type: ignore[no-untyped-def]
    """A seeded database, the app on it, a signed-in patient's client and the URLs; and a clean-up."""
    if sqlite:
        folder = tempfile.TemporaryDirectory()
        database_url, drop = f"sqlite:///{Path(folder.name) / 'profile.sqlite3'}", folder.cleanup
    else:
        database_url, drop = create_database()
    world = seed(database_url, doctors=20, patients=10, hospitals=2, booked_days=booked_days)

    from config import DevelopmentConfig
    from hms import create_app
    from hms.extensions import db
    from hms.models import User
    from tests.signin import sign_in

    settings = {"SQLALCHEMY_DATABASE_URI": database_url, "DEV_MAILBOX": False, "TOTP_REQUIRED_ROLES": ()}
    settings |= {"LOGIN_RATE_LIMIT": "100000 per minute", "BOOKING_RATE_LIMIT": "100000 per minute"}
    app = create_app(type("ProfileConfig", (DevelopmentConfig,), settings))
    gc.freeze()  # as wsgi.py does after building the app
    client = app.test_client()
    with app.app_context():
        sign_in(client, db.session.scalar(db.select(User).where(User.email == "pat0@example.org")))
    doctor_id, hospital_id = next(iter(world["hospital_of"].items()))
    page = f"/patient/doctors/{doctor_id}/at/{hospital_id}"
    day = sorted(DAY_LINK.findall(client.get(page).get_data(as_text=True)))[2]
    anonymous = app.test_client()
    targets = {
        "fragment": (client, f"{page}?day={day}", HX),
        "doctor": (client, page, {}),
        "login": (anonymous, "/login", {}),
        "search": (client, "/patient/doctors?q=Doctor", HX),
    }

    def clean_up() -> None:
        with app.app_context():
            db.engine.dispose()
        drop()

    return targets, clean_up


def measure(client, url: str, headers: dict[str, str], requests: int, rounds: int = 5) -> float:  # type: ignore[no-untyped-def]
    """CPU milliseconds per request: the best of `rounds` rounds of `requests` requests each (after a
    few to warm caches up), so that a garbage collection or a busy neighbour weighs less."""
    for _ in range(10):
        check(client.get(url, headers=headers), url)
    per_round = []
    for _round in range(rounds):
        started = time.process_time()
        for _ in range(requests):
            client.get(url, headers=headers)
        per_round.append((time.process_time() - started) * 1000 / requests)
    return min(per_round)


def check(response, url: str) -> None:  # type: ignore[no-untyped-def]
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5, help="the best round counts")
    parser.add_argument("--top", type=int, default=35, help="functions listed per request (0: none)")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    parser.add_argument("--only", choices=["fragment", "doctor", "login", "search"], action="append")
    parser.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"])
    parser.add_argument("--match", help="list only functions whose file matches (e.g. 'hms/|templates/')")
    parser.add_argument("--booked-days", type=int, default=0, help=BOOKED_HELP)
    parser.add_argument("--echo", action="store_true", help="log one request's SQL (is it cached?)")
    args = parser.parse_args()
    targets, clean_up = build(args.sqlite, args.booked_days)
    try:
        chosen = args.only or list(targets)
        if args.echo:
            import logging

            logging.basicConfig(format="%(message)s")
            logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
            for name in chosen:
                client, url, headers = targets[name]
                print(f"\n===== {name}: {url}")
                client.get(url, headers=headers)
            logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
        figures, calls = {}, {}
        for name in chosen:
            client, url, headers = targets[name]
            figures[name] = measure(client, url, headers, args.requests, args.rounds)
        for name in chosen:
            client, url, headers = targets[name]
            profile = cProfile.Profile(time.process_time)  # CPU time: no waiting for the database
            profile.enable()
            for _ in range(args.requests):
                client.get(url, headers=headers)
            profile.disable()
            out = io.StringIO()
            stats = pstats.Stats(profile, stream=out).sort_stats(args.sort)
            calls[name] = stats.total_calls / args.requests  # type: ignore[attr-defined]
            if args.top:
                stats.print_stats(*([args.match] if args.match else []), args.top)
                print(f"\n===== {name}: {url} ({args.requests} requests, by {args.sort})")
                print(out.getvalue())
        print()
        for name, ms in figures.items():
            print(f"CPU ms/request  {name:<9} {ms:6.2f}   calls {calls[name]:7.0f}   {targets[name][1]}")
    finally:
        clean_up()
    return 0


if __name__ == "__main__":
    sys.exit(main())
