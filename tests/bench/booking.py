"""Booking benchmark (not part of the test suite): gunicorn on PostgreSQL, concurrent booking over HTTP.

    .venv/bin/python -m tests.bench.booking [--workers 4] [--clients 32] [--attempts 600]

It creates a fresh PostgreSQL database, migrates it, seeds doctors with schedules and patients, starts
gunicorn on a free loopback port, logs the patients in, then has `clients` threads fire booking
attempts at a small set of slots (so many collide), and prints bookings/s, p50/p95 latency of the
booking request, the outcome counts, and the number of double bookings found by SQL afterwards
(must be 0). Everything is bounded in count and time and stops by itself; only 127.0.0.1 is used."""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
BASE_URL = os.environ.get("HMS_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PASSWORD = "bench password 2026"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create_database() -> tuple[str, object]:
    url = make_url(BASE_URL)
    name = f"hms_bench_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    return url.set(database=name).render_as_string(hide_password=False), drop


def seed(database_url: str, doctors: int, patients: int) -> dict:
    os.environ["DATABASE_URL"] = database_url
    from flask_migrate import upgrade

    from config import DevelopmentConfig
    from hms import clock, create_app
    from hms.extensions import db
    from hms.models import Doctor as DoctorModel
    from hms.models import Hospital, HospitalStatus, Membership, Patient, Role, ScheduleRule, Sex, User
    from hms.services import passwords, scheduling

    config = type("BenchConfig", (DevelopmentConfig,), {"SQLALCHEMY_DATABASE_URI": database_url})
    app = create_app(config)
    with app.app_context():
        upgrade()
        hashed = passwords.hash_password(PASSWORD)
        hospital = Hospital(
            name="Bench Hospital",
            address="1 Road",
            city="Nairobi",
            timezone="Africa/Nairobi",
            currency="KES",
            status=HospitalStatus.active,
        )
        db.session.add(hospital)
        doctor_ids = []
        for i in range(doctors):
            user = User(
                email=f"doc{i}@example.org", full_name=f"Doctor {i}", password_hash=hashed, role=Role.doctor
            )
            user.doctor = DoctorModel(specialty="General practice")
            db.session.add(user)
            db.session.add(Membership(doctor=user.doctor, hospital=hospital, fee_minor=100000))
            for weekday in range(7):
                db.session.add(
                    ScheduleRule(
                        doctor=user.doctor,
                        hospital=hospital,
                        weekday=weekday,
                        start_time=datetime.min.time().replace(hour=8),
                        end_time=datetime.min.time().replace(hour=12),
                    )
                )
            db.session.flush()
            doctor_ids.append(user.doctor.id)
        for i in range(patients):
            user = User(
                email=f"pat{i}@example.org", full_name=f"Patient {i}", password_hash=hashed, role=Role.patient
            )
            user.patient = Patient(
                mrn=f"B{i:09d}",
                date_of_birth=datetime(1990, 1, 1).date(),
                sex=Sex.female,
                phone="+254 700 000 000",
            )
            db.session.add(user)
        db.session.commit()
        tomorrow = clock.now() + timedelta(days=1)
        slots = {
            d: [s.key for s in scheduling.nearest_free_slots(d, hospital, tomorrow, count=4)]
            for d in doctor_ids
        }
        return {"hospital_id": hospital.id, "slots": slots}


def csrf_from(html: str) -> str:
    match = CSRF.search(html)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1) or match.group(2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--attempts", type=int, default=600)
    parser.add_argument("--doctors", type=int, default=8)
    args = parser.parse_args()

    database_url, drop = create_database()
    server = None
    try:
        world = seed(database_url, args.doctors, args.clients)
        port = free_port()
        env = os.environ | {
            "DATABASE_URL": database_url,
            "SECRET_KEY": secrets.token_hex(16),
            "HMS_ENV": "development",
            "LOGIN_RATE_LIMIT": "100000 per minute",
            "BOOKING_RATE_LIMIT": "100000 per minute",
        }
        server = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "-w",
                str(args.workers),
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(base + "/login", timeout=5)
                break
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.2)

        sessions = []
        for i in range(args.clients):
            s = requests.Session()
            token = csrf_from(s.get(base + "/login", timeout=10).text)
            r = s.post(
                base + "/login",
                data={"email": f"pat{i}@example.org", "password": PASSWORD, "csrf_token": token},
                allow_redirects=False,
                timeout=10,
            )
            assert r.status_code == 303, r.status_code
            sessions.append(s)

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

        engine = create_engine(database_url)
        with engine.connect() as conn:
            doctor_doubles = conn.execute(
                text(
                    "SELECT count(*) FROM appointments a JOIN appointments b "
                    "ON a.doctor_id = b.doctor_id AND a.id < b.id "
                    "AND a.status IN ('booked','arrived') AND b.status IN ('booked','arrived') "
                    "AND a.start_at < b.end_at AND b.start_at < a.end_at"
                )
            ).scalar()
            patient_doubles = conn.execute(
                text(
                    "SELECT count(*) FROM appointments a JOIN appointments b "
                    "ON a.patient_id = b.patient_id AND a.id < b.id "
                    "AND a.status IN ('booked','arrived') AND b.status IN ('booked','arrived') "
                    "AND a.start_at < b.end_at AND b.start_at < a.end_at"
                )
            ).scalar()
            booked = conn.execute(text("SELECT count(*) FROM appointments")).scalar()
        engine.dispose()

        latencies.sort()
        p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
        print(
            f"gunicorn workers: {args.workers}, clients: {args.clients}, attempts: {len(latencies)}, "
            f"contended slots: {len(targets)}, wall time: {wall:.1f} s"
        )
        print(f"booking requests/s: {len(latencies) / wall:.1f}; successful bookings: {booked}")
        print(f"booking latency p50: {statistics.median(latencies) * 1000:.0f} ms, p95: {p95 * 1000:.0f} ms")
        print("outcomes: " + ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())))
        print(f"double bookings found by SQL: doctor {doctor_doubles}, patient {patient_doubles}")
        ok = (
            doctor_doubles == 0 and patient_doubles == 0 and not any(k.startswith("HTTP 5") for k in outcomes)
        )
        return 0 if ok else 1
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        drop()


if __name__ == "__main__":
    sys.exit(main())
