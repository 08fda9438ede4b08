"""Limit benchmark: what HMS serves, as shares of what the same server serves doing nothing, in one run.

    .venv/bin/python -m tests.bench.limit [--seconds 10] [--connections 10] [--patients 10]
                                          [--scale 0] [--workers 2] [--explain]

It creates a fresh PostgreSQL database (HMS_BENCH_DATABASE_URL's server), seeds two hospitals with
doctors and patients (and, with --scale N, N past and future appointments over 50 hospitals with their
doctors and patients, written in bulk with INSERT … SELECT over generate_series; --explain then prints
the plans of the slot picker's and the search's statements), and starts two gunicorns with the same settings
(gunicorn.conf.py, --workers sync workers, max_requests off): HMS, and a Flask app that answers 2 KB
of text and nothing else (tests/bench/trivial.py). Then, alternating between them with the same
client, it measures requests/s of the trivial app, of /login (anonymous), of the slot picker's day
fragment and of a doctor's page (signed in), twice each, keeping the better round; with `wrk` when it
is installed (apt-get install wrk), else with a threaded Python client (which caps the trivial app
well below its real rate, so the ratios are only meaningful with wrk). Last, the load benchmark's
patients (tests/bench/load.py) search, open doctors, pick days and book for --seconds, twice, the better
round kept as for the other figures (a round's errors fail the run either way).

It prints each figure as a share of /login's requests/s measured in the same run, the load's p95 per
step, double bookings found by SQL, the load average, and the targets of issue 18; it exits 1 when a
double booking or an error was found (a target missed is printed, not failed: timings are no tests)."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter

import requests
from sqlalchemy import create_engine, text

from tests.bench.common import (
    HX,
    create_database,
    double_bookings,
    gunicorn,
    login,
    measured_pages,
    percentile,
    seed,
)
from tests.bench.load import EXPECTED, REQUESTS_CLIENT_HELP, run_load

TARGETS = {"slot picker day (HTMX)": 0.40, "doctor page": 0.30, "load mix (all steps)": 0.30}

# --scale: hospitals with doctors who work 08:00–16:00 every day, patients of their own, then appointments
# spread evenly over each doctor's days from two years back to half a year ahead (each doctor's and each
# patient's times distinct): the future ones booked, the past ones mostly done. The benchmark's own
# doctors and patients get none of them, so that its pages show what they showed without the scale.
SCALE_SQL = [
    """
    INSERT INTO hospitals (name, address, city, timezone, currency, status, cancel_cutoff_minutes,
                           refund_percent, receipt_seq, created_at, idle_timeout_minutes)
    SELECT 'Scale Hospital ' || n, n || ' Road', 'Nairobi', 'Africa/Nairobi', 'KES', 'active', 120, 100, 0,
           now(), 15
    FROM generate_series(1, :hospitals) AS n
    """,
    """
    INSERT INTO users (email, password_hash, full_name, role, active, session_version, created_at)
    SELECT 'scale.doctor' || n || '@example.org', 'x', 'Scale Doctor ' || n, 'doctor', true, 1, now()
    FROM generate_series(1, :doctors) AS n
    """,
    """
    INSERT INTO doctors (user_id, specialty)
    SELECT id, 'General practice' FROM users WHERE email LIKE 'scale.doctor%'
    """,
    """
    INSERT INTO memberships (doctor_id, hospital_id, status, fee_minor, since, version)
    SELECT d.id, h.id, 'active', 100000, now(), 1
    FROM (SELECT id, row_number() OVER (ORDER BY id) AS r FROM doctors
          WHERE user_id IN (SELECT id FROM users WHERE email LIKE 'scale.doctor%')) d
    JOIN (SELECT id, row_number() OVER (ORDER BY id) AS r FROM hospitals
          WHERE name LIKE 'Scale Hospital %') h ON h.r = 1 + (d.r - 1) % :hospitals
    """,
    """
    INSERT INTO schedule_rules (doctor_id, hospital_id, weekday, start_time, end_time, slot_minutes,
                                created_at)
    SELECT m.doctor_id, m.hospital_id, w, time '08:00', time '16:00', 30, now()
    FROM memberships m CROSS JOIN generate_series(0, 6) AS w
    WHERE m.hospital_id IN (SELECT id FROM hospitals WHERE name LIKE 'Scale Hospital %')
    """,
    """
    INSERT INTO users (email, password_hash, full_name, role, active, session_version, created_at)
    SELECT 'scale.patient' || n || '@example.org', 'x', 'Scale Patient ' || n, 'patient', true, 1, now()
    FROM generate_series(1, :patients) AS n
    """,
    """
    INSERT INTO patients (user_id, mrn, date_of_birth, sex, phone)
    SELECT id, 'S' || lpad(id::text, 9, '0'), date '1980-01-01', 'female', '+254 700 000 001'
    FROM users WHERE email LIKE 'scale.patient%'
    """,
    # The k-th appointment of a doctor (k = n / doctors) is on day k * DAYS / per_doctor at slot k % 16:
    # fewer than 16 of a doctor's fall on one day, so his times are distinct; the 500 appointments that
    # share a time (one per doctor) have 500 consecutive n, so as many distinct patients.
    """
    INSERT INTO appointments (patient_id, doctor_id, hospital_id, start_at, end_at, reason, status,
                              active_slot, created_at, status_changed_at)
    SELECT p.id, m.doctor_id, m.hospital_id, s.at, s.at + interval '30 minutes', 'Scale',
           CASE WHEN s.at > now() THEN 'booked'
                WHEN n % 9 = 0 THEN 'noshow' WHEN n % 7 = 0 THEN 'cancelled' ELSE 'fulfilled' END,
           CASE WHEN s.at > now() THEN to_char(s.at, 'YYYY-MM-DD"T"HH24:MI"Z"') END,
           s.at - interval '5 days', s.at
    FROM generate_series(0, :appointments - 1) AS n
    JOIN (SELECT doctor_id, hospital_id, row_number() OVER (ORDER BY id) - 1 AS r FROM memberships
          WHERE hospital_id IN (SELECT id FROM hospitals WHERE name LIKE 'Scale Hospital %')) m
      ON m.r = n % :doctors
    JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS r FROM patients
          WHERE mrn LIKE 'S%') p ON p.r = n % :patients
    CROSS JOIN LATERAL (
        SELECT date_trunc('day', now()) - interval '730 days'
               + ((n / :doctors) * :days / :per_doctor) * interval '1 day'
               + ((n / :doctors) % 16) * interval '30 minutes' + interval '8 hours' AS at
    ) s
    """,
]
SCALE_DAYS = 730 + 182  # two years back, half a year ahead


def scale_up(database_url: str, appointments: int) -> None:
    """Add `appointments` appointments (and 50 hospitals with 10 doctors each, a patient for every ten
    appointments) in bulk, then ANALYZE."""
    # Ten appointments per patient; at least as many patients as doctors (see SCALE_SQL).
    hospitals, doctors = 50, 500
    patients = max(doctors, appointments // 10)
    per_doctor = max(1, -(-appointments // doctors))
    if per_doctor > SCALE_DAYS * 16:
        raise ValueError(f"--scale {appointments}: more appointments than the doctors' times")
    values = {
        "hospitals": hospitals,
        "doctors": doctors,
        "patients": patients,
        "appointments": appointments,
        "days": SCALE_DAYS,
        "per_doctor": per_doctor,
    }
    engine = create_engine(database_url)
    with engine.begin() as conn:
        for statement in SCALE_SQL:
            started = time.perf_counter()
            result = conn.execute(text(statement), values)
            print(f"  scale: {result.rowcount:>8} rows in {time.perf_counter() - started:5.1f} s", flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


def explain(database_url: str, url: str) -> None:
    """Print PostgreSQL's plan of every statement of one HTMX request of a signed-in patient (as the README
    shows): run the request in-process, catch its statements with their parameters, and EXPLAIN ANALYZE
    each."""
    import psycopg
    from sqlalchemy import event
    from sqlalchemy.engine import make_url

    from config import DevelopmentConfig
    from hms import create_app
    from hms.extensions import db
    from hms.models import User
    from tests.signin import sign_in

    config = {"SQLALCHEMY_DATABASE_URI": database_url, "DEV_MAILBOX": False, "TOTP_REQUIRED_ROLES": ()}
    app = create_app(type("ExplainConfig", (DevelopmentConfig,), config))
    seen: list[tuple[str, object]] = []
    client = app.test_client()
    with app.app_context():
        sign_in(client, db.session.scalar(db.select(User).where(User.email == "pat0@example.org")))
        engine = db.engine
    print(f"\n## {url}")
    client.get(url, headers=HX)  # each request in an app context of its own, as a server's

    def catch(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", catch)
    client.get(url, headers=HX)
    event.remove(engine, "before_cursor_execute", catch)
    engine.dispose()
    plain = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as conn:
        for statement, parameters in seen:
            print("\n" + " ".join(statement.split())[:300] + (" …" if len(statement) > 300 else ""))
            plan = conn.execute(
                "EXPLAIN (ANALYZE, COSTS OFF, SUMMARY OFF) " + statement, parameters
            ).fetchall()
            print("\n".join("    " + row[0] for row in plan))


def with_wrk(url: str, seconds: float, connections: int, headers: dict[str, str]) -> float:
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{max(1, round(seconds))}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout  # noqa: S603
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise RuntimeError(f"{url}: {non_2xx.group(1)} answers were not 2xx:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def with_threads(url: str, seconds: float, connections: int, headers: dict[str, str]) -> float:
    """requests/s of `connections` keep-alive clients in threads (when wrk is not installed)."""
    deadline, counts, failures = time.monotonic() + seconds, [0] * connections, []

    def client(i: int) -> None:
        session = requests.Session()
        while time.monotonic() < deadline:
            response = session.get(url, headers=headers, timeout=30)
            if response.status_code != 200:
                failures.append(response.status_code)
                return
            counts[i] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 60)
    if failures:
        raise RuntimeError(f"{url}: answered {failures[0]}")
    return sum(counts) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--patients", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scale", type=int, default=0, help="also seed this many appointments in bulk")
    parser.add_argument("--threads-client", action="store_true", help="do not use wrk even if installed")
    parser.add_argument("--requests-client", action="store_true", help=REQUESTS_CLIENT_HELP)
    parser.add_argument(
        "--explain", action="store_true", help="print the query plans of the fragment and the search first"
    )
    args = parser.parse_args()
    measure = with_wrk if shutil.which("wrk") and not args.threads_client else with_threads

    database_url, drop = create_database()
    env = {"GUNICORN_MAX_REQUESTS": "0"}
    try:
        world = seed(database_url, doctors=20, patients=max(args.patients, 10), hospitals=2)
        if args.scale:
            print(f"seeding {args.scale} appointments over 50 hospitals …", flush=True)
            scale_up(database_url, args.scale)
        if args.explain:
            doctor_id, hospital_id = next(iter(world["hospital_of"].items()))
            first = min(world["slots"][doctor_id])[:10]
            explain(database_url, f"/patient/doctors/{doctor_id}/at/{hospital_id}?day={first}")
            explain(database_url, "/patient/doctors?q=Doctor")
        with (
            gunicorn(database_url, workers=args.workers, env=env, app="tests.bench.trivial:app") as trivial,
            gunicorn(database_url, workers=args.workers, env=env) as hms,
        ):
            pages = measured_pages(hms, world)
            targets = [
                ("trivial Flask app", f"{trivial}/", {}),
                ("/login (anonymous)", *pages["login"]),
                ("slot picker day (HTMX)", *pages["fragment"]),
                ("doctor page", *pages["doctor"]),
                ("search results (HTMX)", *pages["search"]),
            ]
            rates: dict[str, float] = {}
            for _round in range(2):  # alternate, keep each one's better round
                for name, url, headers in targets:
                    rate = measure(url, args.seconds, args.connections, headers)
                    rates[name] = max(rates.get(name, 0.0), rate)
            lean = not args.requests_client
            sessions = [login(hms, f"pat{i}@example.org", lean=lean) for i in range(args.patients)]
            rounds = []
            for _round in range(2):  # like every figure above, the better of two rounds
                stats, wall, used = run_load(hms, sessions, args.seconds, 10**9)
                total = sum(len(v) for v in stats.latency.values()) + sum(stats.errors.values())
                rounds.append((total / wall, stats, wall, used))
            _rate, stats, wall, used = max(rounds, key=lambda r: r[0])
            client_cpu = used["this client"]  # the load's own client, on the same cores
            errors = sum((r[1].errors for r in rounds), Counter())  # either round's errors count
        found = double_bookings(database_url)
    finally:
        drop()

    login_rate = rates["/login (anonymous)"]
    client_kind = "requests" if args.requests_client else "tests/bench/client.py"
    total = sum(len(v) for v in stats.latency.values()) + sum(stats.errors.values())
    rates["load mix (all steps)"] = total / wall
    client = "wrk" if measure is with_wrk else "threads"
    print(
        f"\n{time.strftime('%Y-%m-%d')}: gunicorn {args.workers} sync workers (max_requests off), "
        f"{args.connections} connections × {args.seconds:g} s ({client}), "
        f"load with {args.patients} patients, scale {args.scale} appointments"
    )
    print(f"{'request':<28} {'requests/s':>11} {'of /login':>10} {'target':>8}")
    for name, rate in rates.items():
        target = TARGETS.get(name)
        mark = (
            ""
            if target is None
            else (f"{target:>7.0%}" + (" ok" if rate / login_rate >= target else " MISSED"))
        )
        print(f"{name:<28} {rate:>11.1f} {rate / login_rate:>10.0%} {mark:>8}")
    print(f"{'load step':<28} {'count':>6} {'p50 ms':>8} {'p95 ms':>8}")
    for action in EXPECTED:
        times = stats.latency.get(action, [])
        p50, p95 = percentile(times, 0.5) * 1000, percentile(times, 0.95) * 1000
        print(f"{action:<28} {len(times):>6} {p50:>8.0f} {p95:>8.0f}")
    print("bookings: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.outcomes.items())))
    print("errors (both rounds): " + (", ".join(f"{k} × {v}" for k, v in sorted(errors.items())) or "0"))
    print(
        f"the load's client (Python threads, {client_kind}) used {client_cpu / wall:.0%} of one core, "
        f"{client_cpu * 1000 / max(total, 1):.1f} ms per request"
    )
    print(
        f"the load's CPU per request: gunicorn {used['gunicorn'] * 1000 / max(total, 1):.2f} ms, "
        f"PostgreSQL {used['postgres'] * 1000 / max(total, 1):.2f} ms"
    )
    print(f"double bookings found by SQL: doctor {found['doctor']}, patient {found['patient']}")
    print(f"machine load average (1, 5, 15 min) at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    ok = found["doctor"] == 0 and found["patient"] == 0 and not errors
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
