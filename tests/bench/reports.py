"""Reports benchmark (not part of the test suite): every saved report timed on a large PostgreSQL database.

    .venv/bin/python -m tests.bench.reports [--appointments 200000] [--bills 100000] [--runs 3]

It creates a fresh PostgreSQL database (HMS_BENCH_DATABASE_URL's server), migrates it, seeds three
hospitals with doctors and departments through the ORM, then patients, appointments (two years, every
status), bills and their payments in bulk with INSERT … SELECT over generate_series (seconds, not
minutes), ANALYZEs, saves a set of reports for the main hospital's admin and the platform admin, and
times each: the report's queries alone (`run_report`) and the whole saved-report page through the app
(query + chart + template), best and median of `runs`. The database is dropped at the end; the whole
run is bounded by an alarm."""

from __future__ import annotations

import argparse
import contextvars
import signal
import statistics
import sys
import time
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.bench.common import create_database
from tests.signin import sign_in

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TIME_LIMIT = 900  # seconds for the whole run


# Bulk rows: `n` is the generate_series number; hospitals get 60 % / 25 % / 15 % of the rows.
SEED_SQL = [
    """
    INSERT INTO users (email, password_hash, full_name, role, active, session_version, created_at)
    SELECT 'bench.patient' || n || '@example.org', 'x', 'Patient ' || n, 'patient', true, 1,
           :now - (n % 730) * interval '1 day'
    FROM generate_series(1, :patients) AS n
    """,
    """
    INSERT INTO patients (user_id, mrn, date_of_birth, sex, phone)
    SELECT id, 'B' || lpad(id::text, 12, '0'), date '1980-01-01' + (id % 9000), 'female', '+254 700 000 000'
    FROM users WHERE role = 'patient'
    """,
    """
    INSERT INTO appointments (patient_id, doctor_id, hospital_id, start_at, end_at, reason, status,
                              created_at, status_changed_at)
    SELECT p.id, d.doctor_id, d.hospital_id, s.start_at, s.start_at + interval '30 minutes', 'Check-up',
           (ARRAY['fulfilled','fulfilled','fulfilled','noshow','cancelled','booked','arrived'])[1 + n % 7],
           s.start_at - interval '3 days', s.start_at
    FROM generate_series(1, :appointments) AS n
    JOIN bench_doctors d ON d.slot = n % (SELECT count(*) FROM bench_doctors)
    JOIN patients p ON p.id = (SELECT min(id) FROM patients) + n % :patients
    CROSS JOIN LATERAL (
        SELECT :now - (n % 730) * interval '1 day' + (n % 9) * interval '1 hour' AS start_at
    ) s
    """,
    """
    INSERT INTO bills (hospital_id, patient_id, appointment_id, doctor_id, currency, status, total_minor,
                       paid_minor, refunded_minor, created_at, issued_at, settled_at)
    SELECT a.hospital_id, a.patient_id, a.id, a.doctor_id, h.currency,
           CASE WHEN a.id % 10 = 0 THEN 'issued' ELSE 'paid' END, 150000,
           CASE WHEN a.id % 10 = 0 THEN 0 ELSE 150000 END, 0, a.start_at, a.start_at,
           CASE WHEN a.id % 10 = 0 THEN NULL ELSE a.start_at END
    FROM appointments a JOIN hospitals h ON h.id = a.hospital_id
    WHERE a.status = 'fulfilled' OR a.status = 'noshow' OR a.status = 'arrived'
    ORDER BY a.id LIMIT :bills
    """,
    """
    INSERT INTO payments (key, bill_id, provider, method, status, amount_minor, currency, refunded_minor,
                          receipt_number, created_at, settled_at)
    SELECT 'bench-' || b.id, b.id, 'desk', 'cash', 'succeeded', b.paid_minor, b.currency,
           CASE WHEN b.id % 50 = 0 THEN 50000 ELSE 0 END, 'R-' || b.id, b.settled_at, b.settled_at
    FROM bills b WHERE b.status = 'paid'
    """,
]


def seed(app, appointments: int, bills: int) -> dict:  # type: ignore[no-untyped-def]
    from flask_migrate import upgrade

    from hms.extensions import db
    from hms.models import Department, Doctor, Hospital, HospitalAdmin, HospitalStatus, Membership, Role, User

    upgrade()
    hospitals = [
        Hospital(
            name=f"Bench {city}",
            address="1 Road",
            city=city,
            timezone=tz,
            currency=currency,
            status=HospitalStatus.active,
        )
        for city, tz, currency in (
            ("Nairobi", "Africa/Nairobi", "KES"),
            ("Berlin", "Europe/Berlin", "EUR"),
            ("Delhi", "Asia/Kolkata", "INR"),
        )
    ]
    db.session.add_all(hospitals)
    db.session.flush()
    shares = {0: 12, 1: 5, 2: 3}  # doctors per hospital: 60 / 25 / 15 % of the rows
    slot = 0
    db.session.execute(text("CREATE TABLE bench_doctors (slot int, doctor_id int, hospital_id int)"))
    for index, hospital in enumerate(hospitals):
        departments = [Department(hospital=hospital, name=f"Department {k}") for k in range(4)]
        db.session.add_all(departments)
        for k in range(shares[index]):
            user = User(
                email=f"bench.doctor{index}.{k}@example.org",
                full_name=f"Doctor {index}.{k}",
                password_hash="x",
                role=Role.doctor,
            )
            user.doctor = Doctor(specialty="General practice")
            db.session.add(user)
            db.session.add(
                Membership(doctor=user.doctor, hospital=hospital, department=departments[k % 4], since=NOW)
            )
            db.session.flush()
            db.session.execute(
                text("INSERT INTO bench_doctors VALUES (:s, :d, :h)"),
                {"s": slot, "d": user.doctor.id, "h": hospital.id},
            )
            slot += 1
    admin = User(
        email="bench.admin@example.org", full_name="Admin", password_hash="x", role=Role.hospital_admin
    )
    db.session.add(admin)
    db.session.add(HospitalAdmin(user=admin, hospital=hospitals[0]))
    root = User(email="bench.root@example.org", full_name="Root", password_hash="x", role=Role.super_admin)
    db.session.add(root)
    db.session.commit()
    values = {
        "now": NOW.replace(tzinfo=None),
        "patients": 20_000,
        "appointments": appointments,
        "bills": bills,
    }
    for statement in SEED_SQL:
        started = time.perf_counter()
        result = db.session.execute(text(statement), values)
        db.session.commit()
        print(f"  seeded {result.rowcount:>7} rows in {time.perf_counter() - started:5.1f} s", flush=True)
    db.session.execute(text("DROP TABLE bench_doctors"))
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return {"hospital": hospitals[0], "admin": admin, "root": root}


REPORTS = [
    # (name, params) — dates relative to NOW (25 Nov 2026)
    ("Appointments by status, 2026 by month", "appointments", "2026-01-01", "2026-11-25", "month"),
    ("Appointments by status, last 90 days by day", "appointments", "2026-08-28", "2026-11-25", "day"),
    ("Appointments by doctor, 2 years", "appointments", "2024-11-26", "2026-11-25", "doctor"),
    ("Bookings by week, 1 year", "bookings", "2025-11-26", "2026-11-25", "week"),
    ("No-show rate by department, 1 year", "noshow_rate", "2025-11-26", "2026-11-25", "department"),
    ("No-show rate by month, 2 years", "noshow_rate", "2024-11-26", "2026-11-25", "month"),
    ("Revenue by doctor, 1 year", "revenue", "2025-11-26", "2026-11-25", "doctor"),
    ("Revenue by department, 2 years", "revenue", "2024-11-26", "2026-11-25", "department"),
    ("Revenue by week, 1 year", "revenue", "2025-11-26", "2026-11-25", "week"),
    ("New patients by month, 2 years", "new_patients", "2024-11-26", "2026-11-25", "month"),
]
PLATFORM_REPORTS = [
    ("Platform: appointments by hospital, 2 years", "appointments", "2024-11-26", "2026-11-25", "hospital"),
    ("Platform: revenue by hospital, 2 years", "revenue", "2024-11-26", "2026-11-25", "hospital"),
    ("Platform: bookings by week, 1 year", "bookings", "2025-11-26", "2026-11-25", "week"),
    ("Platform: new patients by month, 2 years", "new_patients", "2024-11-26", "2026-11-25", "month"),
]


def measure(function, runs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    function()  # warm: first query plans, template compilation
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return min(times), statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--appointments", type=int, default=200_000)
    parser.add_argument("--bills", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, lambda *_: sys.exit("time limit reached"))
    signal.alarm(TIME_LIMIT)

    from config import TestConfig
    from hms import clock, create_app
    from hms.extensions import db
    from hms.models import SavedReport, User
    from hms.services import reports

    url, drop = create_database()
    app = create_app(type("BenchConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url}))
    clock.set_frozen(NOW)
    try:
        with app.app_context():
            print(f"Seeding {args.appointments} appointments, {args.bills} bills on {make_url(url).host} …")
            started = time.perf_counter()
            people = seed(app, args.appointments, args.bills)
            print(f"  seeded in {time.perf_counter() - started:.0f} s")
            counts = db.session.execute(
                text(
                    "SELECT (SELECT count(*) FROM appointments), (SELECT count(*) FROM bills),"
                    " (SELECT count(*) FROM payments)"
                )
            ).one()
            print(f"  appointments {counts[0]}, bills {counts[1]}, payments {counts[2]}")
            hospital, admin, root = people["hospital"], people["admin"], people["root"]
            saved = []
            for owner, scope, rows in (
                (admin, reports.Scope(hospital), REPORTS),
                (root, reports.Scope(), PLATFORM_REPORTS),
            ):
                for name, metric, start, end, group in rows:
                    params = reports.parse_params(
                        {"metric": metric, "start": start, "end": end, "group": group}, scope
                    )
                    saved.append((owner, scope, reports.save_report(owner, scope, name, params)))
            db.session.commit()
            saved_ids = [(owner.id, scope.is_platform, r.id, r.name) for owner, scope, r in saved]
            scopes = {False: reports.Scope(hospital), True: reports.Scope()}
            client = app.test_client()
            print(f"\n{'report':<48} {'rows':>5} {'query ms':>9} {'page ms':>8} {'page KB':>8}")
            for user_id, platform, report_id, name in saved_ids:
                scope = scopes[platform]
                report = db.session.get(SavedReport, report_id)
                params = reports.load_params(report, scope)
                result = reports.run_report(params, scope)
                query_best, _ = measure(
                    lambda params=params, scope=scope: reports.run_report(params, scope), args.runs
                )
                sign_in(client, db.session.get(User, user_id))
                path = f"/{'admin' if platform else 'hospital'}/reports/{report_id}"

                def page(path: str = path) -> int:
                    # A context of its own, as a server's request (else `g` keeps the last user).
                    response = contextvars.Context().run(client.get, path)
                    assert response.status_code == 200, response.status_code  # noqa: S101
                    return len(response.data)

                size = page()
                _, page_median = measure(page, args.runs)
                figures = (
                    f"{len(result.labels):>5} {query_best:>9.0f} {page_median:>8.0f} {size / 1024:>8.1f}"
                )
                print(f"{name:<48} {figures}")
                db.session.rollback()
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
