"""What the benchmarks share: a fresh PostgreSQL database, seeded doctors and patients, gunicorn on a free
loopback port, real logins with CSRF tokens, and the SQL that counts double bookings."""

from __future__ import annotations

import contextlib
import math
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
BASE_URL = os.environ.get("HMS_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PASSWORD = "bench password 2026"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
SPECIALTIES = ["General practice", "Paediatrics", "Cardiology", "Dermatology", "Orthopaedics"]
CITIES = ["Nairobi", "Mombasa", "Kisumu"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create_database(base_url: str = BASE_URL) -> tuple[str, Callable[[], None]]:
    """A fresh, empty PostgreSQL database next to `base_url`'s, and a function that drops it."""
    url = make_url(base_url)
    name = f"hms_bench_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def seed(
    database_url: str,
    doctors: int,
    patients: int,
    *,
    hospitals: int = 1,
    slots_per_doctor: int = 4,
    booked_days: int = 0,
) -> dict:
    """Migrate the database and add `hospitals` active hospitals, `doctors` doctors (spread over them,
    working 08:00–12:00 every day, 30-minute slots) and `patients` patients (pat0@example.org, ... with
    PASSWORD). With `booked_days`, every time of each doctor's first that many days from today is
    booked (by patients in turn, none at two places at once: at most `patients` doctors per time), as a
    long load leaves them. Returns the hospital of each doctor and the first free slots from tomorrow on."""
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
        rows = [
            Hospital(
                name=f"Bench Hospital {h}",
                address=f"{h + 1} Road",
                city=CITIES[h % len(CITIES)],
                timezone="Africa/Nairobi",
                currency="KES",
                status=HospitalStatus.active,
            )
            for h in range(hospitals)
        ]
        db.session.add_all(rows)
        hospital_of: dict[int, Hospital] = {}
        for i in range(doctors):
            hospital = rows[i % hospitals]
            user = User(
                email=f"doc{i}@example.org", full_name=f"Doctor {i}", password_hash=hashed, role=Role.doctor
            )
            user.doctor = DoctorModel(specialty=SPECIALTIES[i % len(SPECIALTIES)])
            db.session.add(user)
            db.session.add(Membership(doctor=user.doctor, hospital=hospital, fee_minor=100000))
            for weekday in range(7):
                db.session.add(
                    ScheduleRule(
                        doctor=user.doctor,
                        hospital=hospital,
                        weekday=weekday,
                        start_time=clock_time(8),
                        end_time=clock_time(12),
                    )
                )
            db.session.flush()
            hospital_of[user.doctor.id] = hospital
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
        if booked_days:
            book_first_days(hospital_of, booked_days)
        tomorrow = clock.now() + timedelta(days=1)
        slots = {
            d: [s.key for s in scheduling.nearest_free_slots(d, h, tomorrow, count=slots_per_doctor)]
            for d, h in hospital_of.items()
        }
        world = {
            "hospital_id": rows[0].id,
            "hospital_of": {d: h.id for d, h in hospital_of.items()},
            "slots": slots,
        }
    with app.app_context():
        db.engine.dispose()
    return world


def book_first_days(hospital_of: dict, days: int) -> None:  # type: ignore[type-arg]
    """Book the times of each doctor's first `days` days (inside seed's app context), in bulk."""
    from hms import clock
    from hms.extensions import db
    from hms.models import Appointment, AppointmentStatus, Patient
    from hms.services import scheduling

    now = clock.now()
    patient_ids = db.session.scalars(db.select(Patient.id).order_by(Patient.id)).all()
    rows = []
    for n, (doctor_id, hospital) in enumerate(hospital_of.items()):
        if n >= len(patient_ids):
            break
        first = scheduling.local_today(hospital, now)
        last = first + timedelta(days=days - 1)
        for slot in scheduling.slots_between(doctor_id, hospital, first, last, now):
            rows.append(
                {
                    "patient_id": patient_ids[n],
                    "doctor_id": doctor_id,
                    "hospital_id": hospital.id,
                    "start_at": slot.start,
                    "end_at": slot.end,
                    "reason": "Bench",
                    "status": AppointmentStatus.booked,
                    "active_slot": slot.key,
                    "created_at": now,
                    "status_changed_at": now,
                }
            )
    if rows:
        db.session.execute(db.insert(Appointment), rows)
    db.session.commit()


# The process group of each gunicorn started here, by its base URL (`cpu_seconds(per_server=True)`).
SERVERS: dict[str, int] = {}


@contextlib.contextmanager
def gunicorn(
    database_url: str,
    workers: int = 4,
    env: dict[str, str] | None = None,
    app: str = "wsgi:app",
    root: Path = ROOT,
) -> Iterator[str]:
    """gunicorn (our gunicorn.conf.py) with `workers` workers on a free loopback port, serving
    `database_url`; yields its base URL once /healthz answers, and stops it afterwards. Rate limits
    are lifted unless `env` sets them. `root` is the checkout whose code it serves (this one, or
    another commit's worktree: tests/bench/compare.py)."""
    port = free_port()
    full_env = os.environ | {
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_hex(16),
        "HMS_ENV": "development",
        "LOGIN_RATE_LIMIT": "100000 per minute",
        "BOOKING_RATE_LIMIT": "100000 per minute",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_ACCESS_LOG": "",
        "GUNICORN_LOG_LEVEL": "warning",
    }
    full_env.update(env or {})
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
        [sys.executable, "-m", "gunicorn", "--config", str(root / "gunicorn.conf.py"), app],
        cwd=root,
        env=full_env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    SERVERS[base] = server.pid  # its process group (start_new_session)
    try:
        deadline = time.monotonic() + 180  # a busy machine starts slowly
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited with status {server.returncode}")
            try:
                if requests.get(base + "/healthz", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer /healthz within 180 s")
            time.sleep(0.2)
        yield base
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def cpu_seconds(per_server: bool = False) -> dict[str, float]:
    """CPU time (user + system) used so far by the gunicorns this process started (each runs in a
    process group of its own: the master and its workers) and by the machine's PostgreSQL processes,
    read from /proc. Unlike requests/s it hardly moves with what else the machine runs: the figure to
    compare two versions of the code with on a noisy machine (empty where there is no /proc). With
    `per_server`, also each gunicorn's own, as "gunicorn <its process group>"."""
    tick = os.sysconf("SC_CLK_TCK")
    ours = set()
    for task in Path("/proc/self/task").glob("*/children"):
        ours |= {int(pid) for pid in task.read_text().split()}
    used = {"gunicorn": 0.0, "postgres": 0.0}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended meanwhile
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        # Its own time and its ended children's (a worker replaced, a backend closed): nothing is lost.
        group, seconds = int(fields[2]), sum(int(t) for t in fields[11:15]) / tick
        if group in ours:
            used["gunicorn"] += seconds
            if per_server:
                used[f"gunicorn {group}"] = used.get(f"gunicorn {group}", 0.0) + seconds
        elif name == "postgres":
            used["postgres"] += seconds
    return used


HX = {"HX-Request": "true"}
DAY_LINK = re.compile(r"\?day=(\d{4}-\d{2}-\d{2})")


def measured_pages(base: str, world: dict) -> dict[str, tuple[str, dict[str, str]]]:  # type: ignore[type-arg]
    """The pages that tests/bench/limit.py and compare.py measure on the server at `base`, as (address,
    headers) with pat0@example.org signed in: `login` (anonymous), `fragment` (the first doctor's slot
    picker, a day of his strip, HTMX), `doctor` (his page with the strip) and `search` (the results for
    "Doctor", HTMX)."""
    patient = login(base, "pat0@example.org")
    cookie = {"Cookie": "; ".join(f"{c.name}={c.value}" for c in patient.cookies)}
    doctor_id, hospital_id = next(iter(world["hospital_of"].items()))
    page = f"{base}/patient/doctors/{doctor_id}/at/{hospital_id}"
    day = sorted(DAY_LINK.findall(patient.get(page, timeout=30).text))[2]
    return {
        "login": (f"{base}/login", {}),
        "fragment": (f"{page}?day={day}", cookie | HX),
        "doctor": (page, cookie),
        "search": (f"{base}/patient/doctors?q=Doctor", cookie | HX),
    }


def csrf_from(html: str) -> str:
    match = CSRF.search(html)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1) or match.group(2)


def login(base: str, email: str, password: str = PASSWORD, *, lean: bool = False):  # type: ignore[no-untyped-def]
    """A requests session (`lean`: a tests.bench.client.LeanClient, a patient's browser that costs the
    machine less CPU) logged in through the real login form (CSRF token from the page)."""
    from tests.bench.client import LeanClient

    session = LeanClient(base) if lean else requests.Session()
    token = csrf_from(session.get(base + "/login", timeout=30).text)
    response = session.post(
        base + "/login",
        data={"email": email, "password": password, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code != 303:
        raise RuntimeError(f"login of {email} answered {response.status_code}")
    return session


OVERLAPS = (
    "SELECT count(*) FROM appointments a JOIN appointments b "
    "ON a.{who} = b.{who} AND a.id < b.id "
    "AND a.status IN ('booked','arrived') AND b.status IN ('booked','arrived') "
    "AND a.start_at < b.end_at AND b.start_at < a.end_at"
)


def double_bookings(database_url: str) -> dict[str, int]:
    """Pairs of live appointments that overlap for one doctor or one patient, and all bookings, by SQL."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {
                "doctor": conn.execute(text(OVERLAPS.format(who="doctor_id"))).scalar_one(),
                "patient": conn.execute(text(OVERLAPS.format(who="patient_id"))).scalar_one(),
                "appointments": conn.execute(text("SELECT count(*) FROM appointments")).scalar_one(),
            }
    finally:
        engine.dispose()


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1) of `values`; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]
