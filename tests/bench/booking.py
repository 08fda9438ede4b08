"""Booking benchmark (not part of the test suite): gunicorn on PostgreSQL, concurrent booking over HTTP.

    .venv/bin/python -m tests.bench.booking [--workers 4] [--clients 32] [--attempts 600]

It creates a fresh PostgreSQL database, migrates it, seeds doctors with schedules and patients, starts
gunicorn on a free loopback port, logs the patients in, then has `clients` threads fire booking
attempts at a small set of slots (so many collide), and prints bookings/s, p50/p95 latency of the
booking request, the outcome counts, and the number of double bookings found by SQL afterwards
(must be 0). Everything is bounded in count and time and stops by itself; only 127.0.0.1 is used."""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import sys
import threading
import time
from collections import Counter

import requests

from tests.bench.common import create_database, csrf_from, double_bookings, gunicorn, login, percentile, seed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--attempts", type=int, default=600)
    parser.add_argument("--doctors", type=int, default=8)
    args = parser.parse_args()

    database_url, drop = create_database()
    try:
        world = seed(database_url, args.doctors, args.clients)
        with gunicorn(database_url, workers=args.workers) as base:
            sessions = [login(base, f"pat{i}@example.org") for i in range(args.clients)]
            targets = [(d, k) for d, keys in world["slots"].items() for k in keys]
            latencies: list[float] = []
            outcomes: Counter[str] = Counter()
            lock = threading.Lock()
            remaining = [args.attempts]
            deadline = time.monotonic() + 120

            def client(session: requests.Session) -> None:
                page_cache: dict[int, str] = {}
                while time.monotonic() < deadline:
                    with lock:
                        if remaining[0] <= 0:
                            return
                        remaining[0] -= 1
                    doctor_id, slot = random.choice(targets)  # noqa: S311 - load pattern, not security
                    url = f"{base}/patient/doctors/{doctor_id}/at/{world['hospital_id']}"
                    if doctor_id not in page_cache:
                        page_cache[doctor_id] = csrf_from(session.get(url, timeout=10).text)
                    started = time.perf_counter()
                    r = session.post(
                        url + "/book",
                        data={
                            "slot": slot,
                            "reason": "bench",
                            "key": secrets.token_urlsafe(18),
                            "csrf_token": page_cache[doctor_id],
                        },
                        allow_redirects=False,
                        timeout=30,
                    )
                    elapsed = time.perf_counter() - started
                    with lock:
                        latencies.append(elapsed)
                        outcomes[
                            {303: "booked", 409: "refused (taken/overlap)", 422: "refused (invalid)"}.get(
                                r.status_code, f"HTTP {r.status_code}"
                            )
                        ] += 1

            began = time.perf_counter()
            threads = [threading.Thread(target=client, args=(s,)) for s in sessions]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=180)
            wall = time.perf_counter() - began

        found = double_bookings(database_url)
        print(
            f"gunicorn workers: {args.workers}, clients: {args.clients}, attempts: {len(latencies)}, "
            f"contended slots: {len(targets)}, wall time: {wall:.1f} s"
        )
        rate = len(latencies) / wall
        print(f"booking requests/s: {rate:.1f}; successful bookings: {found['appointments']}")
        print(
            f"booking latency p50: {statistics.median(latencies) * 1000:.0f} ms, "
            f"p95: {percentile(latencies, 0.95) * 1000:.0f} ms"
        )
        print("outcomes: " + ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())))
        print(f"double bookings found by SQL: doctor {found['doctor']}, patient {found['patient']}")
        server_errors = any(k.startswith("HTTP 5") for k in outcomes)
        ok = found["doctor"] == 0 and found["patient"] == 0 and not server_errors
        return 0 if ok else 1
    finally:
        drop()


if __name__ == "__main__":
    sys.exit(main())
