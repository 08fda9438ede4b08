"""Load benchmark (not part of the test suite): patients searching, opening slot pickers and booking.

    .venv/bin/python -m tests.bench.load [--workers 4] [--patients 40] [--seconds 60] [--max-requests 20000]
                                         [--requests-client]

It creates a fresh PostgreSQL database, migrates it, seeds two hospitals with doctors (08:00–12:00
every day) and patients, starts gunicorn (gunicorn.conf.py) with `workers` workers on a free loopback
port and logs every patient in through the real login form. Then each patient, in a thread of his own
with his own session and CSRF token, repeats what people do: searches doctors as he types (the HTMX
results fragment), opens a doctor from the results, looks at a few days in the slot picker (the HTMX
day fragment) and, one time in two, books one of the earliest free times he was shown, within the next
three days that have free times (not a time he holds already), so that patients collide. It stops
after `seconds` or `max-requests`, whichever comes first.
Each patient's browser is tests/bench/client.py (straight on a socket, with his cookies, br/gzip
answers; the booking sent as the page's hx-post): it shares the machine's cores with the server, and
the requests library cost five times its CPU.

It prints requests/s, the CPU per request of gunicorn, PostgreSQL and the client (from /proc: the
figure to compare versions with on a noisy machine), p50/p95 latency per action, errors (5xx,
timeouts, refused connections, any status a browser would not expect) and the double bookings counted
by SQL afterwards. It exits 1 when a double booking or an error was found. Only 127.0.0.1 is used."""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import date

import requests

from tests.bench.client import ERRORS as CLIENT_ERRORS
from tests.bench.common import (
    HX,
    SPECIALTIES,
    cpu_seconds,
    create_database,
    csrf_from,
    double_bookings,
    gunicorn,
    login,
    percentile,
    seed,
)

REQUESTS_CLIENT_HELP = (
    "patients on the requests library (about five times the client's CPU) instead of tests/bench/client.py"
)
DOCTOR_LINK = re.compile(r'href="(/patient/doctors/\d+/at/\d+)"')
# A day of the strip that has free times (a full one is marked `class="day full"`).
OPEN_DAY = re.compile(r'href="[^"]*\?day=(\d{4}-\d{2}-\d{2})" hx-get="[^"]*"\s+class="day"')
FREE_SLOT = re.compile(r'<input type="radio" name="slot" value="([^"]+)" required')
SEARCHES = ["Doctor", "Doctor 1", "Doctor 2", "Bench", "Nairobi", *SPECIALTIES, "Card", "paed"]
# A booking is sent as the page's form sends it with JavaScript on (hx-post): it answers with the
# confirmation itself (200), or with the form again and the nearest free times (409).
EXPECTED = {"search": {200}, "doctor page": {200}, "day picker": {200}, "book": {200, 409}}
BOOKING_DAYS = 3  # only the first days with free times are booked, so that patients contend for them
SLOTS_PER_DAY = 8  # the seeded doctors work 08:00–12:00 in 30-minute slots


class Stats:
    """Latencies and outcomes per action, shared by the patients' threads."""

    def __init__(self, max_requests: int, deadline: float) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.outcomes: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.left = max_requests
        self.deadline = deadline

    def go_on(self) -> bool:
        with self.lock:
            if self.left <= 0 or time.monotonic() >= self.deadline:
                return False
            self.left -= 1
            return True

    def timed(self, action: str, session, method: str, url: str, **kwargs):  # type: ignore[no-untyped-def]
        """Send one request for `action`; record its latency, or the error. None when it failed."""
        started = time.perf_counter()
        try:
            response = session.request(method, url, timeout=30, **kwargs)
        except (requests.RequestException, *CLIENT_ERRORS) as error:
            with self.lock:
                self.errors[f"{action}: {type(error).__name__}"] += 1
            return None
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latency[action].append(elapsed)
            if response.status_code not in EXPECTED[action]:
                self.errors[f"{action}: HTTP {response.status_code}"] += 1
            elif action == "book":
                self.outcomes["booked" if response.status_code == 200 else "refused: taken"] += 1
        return response


def patient(base: str, session, stats: Stats, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    """One patient's visits until the benchmark ends; every request first asks `stats.go_on()`."""
    while stats.go_on():
        query = rng.choice(SEARCHES)
        # Typing: the debounced search sends a prefix, then the whole word.
        results = stats.timed(
            "search", session, "GET", f"{base}/patient/doctors", params={"q": query[:3]}, headers=HX
        )
        if not stats.go_on():
            return
        results = stats.timed(
            "search", session, "GET", f"{base}/patient/doctors", params={"q": query}, headers=HX
        )
        doctors = DOCTOR_LINK.findall(results.text) if results is not None else []
        if not doctors or not stats.go_on():
            continue
        doctor_url = base + rng.choice(doctors)
        page = stats.timed("doctor page", session, "GET", doctor_url)
        if page is None or page.status_code != 200:
            continue
        token = csrf_from(page.text)
        # The first days with free times, leaving out those he is booked all morning on himself.
        mine = booked_times(session)
        full = {day for day, n in Counter(key[:10] for key in mine).items() if n >= SLOTS_PER_DAY}
        days = [day for day in sorted(set(OPEN_DAY.findall(page.text))) if day not in full][:BOOKING_DAYS]
        shown: list[str] = []
        for day in rng.sample(days, k=min(2, len(days))):
            if not stats.go_on():
                return
            picker = stats.timed("day picker", session, "GET", doctor_url, params={"day": day}, headers=HX)
            if picker is not None and picker.status_code == 200:
                shown = FREE_SLOT.findall(picker.text) or shown
        # A patient knows his own appointments: he picks a time he is not booked at already (with this
        # doctor or another), so that refusals come from other patients taking the time first.
        shown = [key for key in shown if key not in mine]
        if not shown or rng.random() < 0.5 or not stats.go_on():
            continue
        form = {
            "slot": rng.choice(shown[:3]),  # most people take one of the earliest times
            "reason": "Load test visit",
            "key": secrets.token_urlsafe(18),
            "csrf_token": token,
        }
        book_url = doctor_url + "/book"
        answer = stats.timed("book", session, "POST", book_url, data=form, headers=HX, allow_redirects=False)
        if answer is not None and answer.status_code == 200:
            mine.add(form["slot"])


def booked_times(session) -> set[str]:  # type: ignore[no-untyped-def]
    """The times (slot keys) this patient's browser booked, kept with it from one round to the next."""
    if not hasattr(session, "booked_times"):
        session.booked_times = set()
    return session.booked_times


def run_load(
    base: str,
    sessions: list,
    seconds: float,
    max_requests: int,  # type: ignore[type-arg]
) -> tuple[Stats, float, dict[str, float]]:
    """Every logged-in patient in a thread of his own for `seconds` (or `max_requests` in all);
    returns the figures, the wall time and the CPU seconds used meanwhile by gunicorn, PostgreSQL and
    this client (which shares their cores)."""
    stats = Stats(max_requests, time.monotonic() + seconds)
    before, client = cpu_seconds(), time.process_time()
    began = time.perf_counter()
    threads = [
        threading.Thread(target=patient, args=(base, s, stats, random.Random(i)))  # noqa: S311
        for i, s in enumerate(sessions)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 120)
    wall = time.perf_counter() - began
    used = {k: v - before[k] for k, v in cpu_seconds().items()}
    used["this client"] = time.process_time() - client
    return stats, wall, used


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--patients", type=int, default=40)
    parser.add_argument("--doctors", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--max-requests", type=int, default=20000)
    parser.add_argument("--requests-client", action="store_true", help=REQUESTS_CLIENT_HELP)
    args = parser.parse_args()

    database_url, drop = create_database()
    try:
        seed(database_url, args.doctors, args.patients, hospitals=2)
        with gunicorn(database_url, workers=args.workers) as base:
            lean = not args.requests_client
            sessions = [login(base, f"pat{i}@example.org", lean=lean) for i in range(args.patients)]
            stats, wall, used = run_load(base, sessions, args.seconds, args.max_requests)
        found = double_bookings(database_url)
    finally:
        drop()

    total = sum(len(v) for v in stats.latency.values()) + sum(stats.errors.values())
    print(
        f"{date.today().isoformat()}: gunicorn workers {args.workers}, patients {args.patients}, "
        f"doctors {args.doctors} at 2 hospitals"
    )
    print(f"requests: {total} in {wall:.1f} s = {total / wall:.1f} requests/s")
    print(
        "CPU per request (the steadier figure): "
        + ", ".join(f"{k} {v * 1000 / max(total, 1):.2f} ms" for k, v in used.items())
    )
    print(f"{'action':<12} {'count':>6} {'p50 ms':>8} {'p95 ms':>8}")
    for action in EXPECTED:
        times = stats.latency.get(action, [])
        print(
            f"{action:<12} {len(times):>6} {percentile(times, 0.5) * 1000:>8.0f} "
            f"{percentile(times, 0.95) * 1000:>8.0f}"
        )
    print("bookings: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.outcomes.items())))
    print("errors: " + (", ".join(f"{k} × {v}" for k, v in sorted(stats.errors.items())) or "0"))
    print(
        f"double bookings found by SQL: doctor {found['doctor']}, patient {found['patient']} "
        f"(appointments: {found['appointments']})"
    )
    print(f"machine load average (1, 5, 15 min) at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    ok = found["doctor"] == 0 and found["patient"] == 0 and not stats.errors
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
