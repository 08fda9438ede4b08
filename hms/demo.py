"""The demo hospital that `flask hms seed-demo` (run by `make run`) loads: something to do today for all.

Visits go through the real services (booking, check-in, the visit record, prescriptions, desk payments)
with the clock set to when each step would have happened, so that they sit on free slots of the doctors'
schedules, carry their bills and notices, and obey every rule a user's clicks would. Times are relative
to the real current date in the hospital's time zone: the demo doctor has visits today and tomorrow, and
`top_up()` books them again on a later day (`make run` runs the seeding every time)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import (
    Appointment,
    AppointmentStatus,
    Bill,
    Department,
    Encounter,
    FlowState,
    HistoryKind,
    Hospital,
    HospitalStatus,
    Membership,
    Patient,
    PaymentMethod,
    QueueEntry,
    QueuePriority,
    ScheduleBreak,
    ScheduleRule,
    Sex,
    StaffKind,
    StockKind,
    User,
    Ward,
)
from hms.services import accounts, audit, billing, clinical, flow, inventory, lab, scheduling, wards
from hms.services.desk import register_patient as register_at_desk
from hms.services.errors import DomainError

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 (public demo logins)
DEMO_HOSPITAL = "Riverside General Hospital"
DEMO_DOCTOR = "dr.okafor@example.org"  # the doctor with visits today and tomorrow, every day of the week
DESK = "reception@example.org"
NURSE = "nurse@example.org"
LAB = "lab@example.org"  # a senior technician: she verifies what others entered
LAB_JUNIOR = "lab.junior@example.org"  # enters results that wait for a senior's verification

DEMO_ACCOUNTS = [
    # (role, email, name)
    ("super_admin", "admin@example.org", "Platform Admin"),
    ("hospital_admin", "hospital.admin@example.org", "Grace Wanjiru"),
    ("hospital_admin (pending clinic)", "clinic.admin@example.org", "Peter Otieno"),
    ("doctor", DEMO_DOCTOR, "Chinedu Okafor"),
    ("doctor", "dr.mehta@example.org", "Priya Mehta"),
    ("doctor", "dr.santos@example.org", "Lucas Santos"),
    ("patient", "amina@example.org", "Amina Hassan"),
    ("patient", "john@example.org", "John Mwangi"),
    ("patient", "sofia@example.org", "Sofia García"),
    ("patient", "david@example.org", "David Kamau"),
    ("patient", "halima@example.org", "Halima Mohamed"),
    ("patient", "brian@example.org", "Brian Ochieng"),
    ("staff (receptionist)", DESK, "Rose Achieng"),
    ("staff (nurse)", NURSE, "Faith Nyambura"),
    ("staff (pharmacist)", "pharmacy@example.org", "Daniel Kiprono"),
    ("staff (lab technician)", LAB, "Joseph Mutua"),
    ("staff (lab technician)", LAB_JUNIOR, "Mercy Chebet"),
]

# (email, name, specialty, department, fee in minor units, works on Sundays)
DOCTORS = [
    (DEMO_DOCTOR, "Chinedu Okafor", "General practice", "General Medicine", 150000, True),
    ("dr.mehta@example.org", "Priya Mehta", "Paediatrics", "Paediatrics", 200000, False),
    ("dr.santos@example.org", "Lucas Santos", "Cardiology", "Cardiology", 350000, False),
]
PATIENTS = [
    ("amina@example.org", "Amina Hassan", date(1988, 4, 12), Sex.female, "+254 700 000 001"),
    ("john@example.org", "John Mwangi", date(1975, 11, 3), Sex.male, "+254 700 000 002"),
    ("sofia@example.org", "Sofia García", date(2001, 7, 25), Sex.female, "+254 700 000 003"),
    ("david@example.org", "David Kamau", date(1962, 2, 18), Sex.male, "+254 700 000 004"),
    ("halima@example.org", "Halima Mohamed", date(1994, 9, 30), Sex.female, "+254 700 000 005"),
    ("brian@example.org", "Brian Ochieng", date(1983, 1, 7), Sex.male, "+254 700 000 006"),
]
HISTORY = {
    "amina@example.org": [
        {"kind": HistoryKind.condition, "title": "Asthma", "since": date(2009, 3, 1)},
        {"kind": HistoryKind.allergy, "title": "Sulfonamides", "reaction": "Rash", "severity": "mild"},
    ],
    "john@example.org": [
        {"kind": HistoryKind.family_history, "title": "Heart attack at 58", "relation": "Father"},
    ],
    "david@example.org": [
        {"kind": HistoryKind.condition, "title": "Type 2 diabetes", "since": date(2015, 6, 1)},
        {"kind": HistoryKind.medication, "title": "Metformin 500 mg twice a day"},
    ],
}


@dataclass
class Record:
    """What the doctor writes in a visit: complaint, vitals, one diagnosis, medicines (drug, strength,
    form, dose, frequency, duration, quantity)."""

    complaint: str
    code: str
    vitals: dict[str, object] = field(default_factory=dict)
    notes: str = ""
    medicines: list[tuple[str, str, str, str, str, str, int]] = field(default_factory=list)


def _vitals(systolic: int, diastolic: int, pulse: int, temperature: str, weight: str) -> dict[str, object]:
    return {
        "bp_systolic": systolic,
        "bp_diastolic": diastolic,
        "pulse": pulse,
        "temperature_c": temperature,
        "weight_kg": weight,
    }


# Past visits, done and recorded: (patient, doctor, days ago, time, reason, record, paid with).
PAST = [
    (
        "amina@example.org",
        DEMO_DOCTOR,
        42,
        time(10),
        "Persistent cough",
        Record(
            "Dry cough for three weeks, worse at night",
            "J20.9",
            _vitals(118, 76, 84, "37.6", "64"),
            "Chest clear apart from scattered wheeze. Review in two weeks.",
            [("Amoxicillin", "500 mg", "capsule", "1 capsule", "three times a day", "7 days", 21)],
        ),
        PaymentMethod.cash,
    ),
    (
        "david@example.org",
        "dr.santos@example.org",
        28,
        time(10, 30),
        "Chest tightness when climbing stairs",
        Record(
            "Tightness in the chest after two flights of stairs, settles with rest",
            "I20.9",
            _vitals(146, 92, 78, "36.8", "88"),
            "Resting ECG normal. Exercise test booked.",
            [
                ("Aspirin", "75 mg", "tablet", "1 tablet", "once a day", "30 days", 30),
                ("Glyceryl trinitrate", "400 micrograms", "spray", "1 spray", "when needed", "30 days", 1),
            ],
        ),
        PaymentMethod.card,
    ),
    (
        "john@example.org",
        "dr.santos@example.org",
        21,
        time(9, 30),
        "High blood pressure readings at home",
        Record(
            "Home readings around 150/95 for a month",
            "I10",
            _vitals(152, 96, 72, "36.6", "91"),
            "Start amlodipine; recheck in three weeks.",
            [("Amlodipine", "5 mg", "tablet", "1 tablet", "once a day", "30 days", 30)],
        ),
        PaymentMethod.card,
    ),
    (
        "amina@example.org",
        DEMO_DOCTOR,
        14,
        time(11),
        "Follow-up on cough",
        Record("Cough much better", "Z09.9", _vitals(116, 74, 76, "36.7", "64")),
        PaymentMethod.cash,
    ),
    (
        "sofia@example.org",
        DEMO_DOCTOR,
        6,
        time(15),
        "Sore throat and fever",
        Record(
            "Sore throat and fever for two days",
            "J02.9",
            _vitals(112, 70, 92, "38.4", "58"),
            "Red throat, no exudate. Fluids and rest.",
            [("Paracetamol", "500 mg", "tablet", "2 tablets", "every 6 hours when needed", "5 days", 20)],
        ),
        None,  # not paid yet: the bill the patient and the desk can settle
    ),
    (
        "halima@example.org",
        DEMO_DOCTOR,
        3,
        time(9),
        "Headaches for a week",
        Record(
            "Headaches in the afternoon for a week, no visual symptoms",
            "R51",
            _vitals(124, 80, 70, "36.5", "61"),
        ),
        PaymentMethod.cash,
    ),
]
# The demo doctor's day: (time, patient, reason, record once done). A weekend clinic ends at noon.
TODAY = [
    (time(9), "david@example.org", "Blood sugar review", Record("Sugars high in the mornings", "E11.9")),
    (time(10), "halima@example.org", "Headaches: follow-up", Record("Headaches less frequent", "R51")),
    (
        time(11),
        "brian@example.org",
        "Low back pain after lifting",
        Record("Low back pain for four days", "M54.5"),
    ),
    (time(14), "amina@example.org", "Wheezing at night", Record("Wheeze at night for a week", "J20.9")),
    (
        time(15, 30),
        "sofia@example.org",
        "Sore throat: check after treatment",
        Record("Throat better", "Z09.9"),
    ),
]
TOMORROW = [
    (time(9, 30), "john@example.org", "Persistent cough"),
    (time(11), "brian@example.org", "Back pain: review"),
    (time(15), "halima@example.org", "Blood test results"),
]
# Other upcoming visits: (patient, doctor, days ahead, time, reason).
UPCOMING = [
    ("john@example.org", "dr.santos@example.org", 1, time(12), "Follow-up on blood pressure"),
    ("david@example.org", "dr.santos@example.org", 5, time(10), "Exercise test results"),
    ("amina@example.org", "dr.santos@example.org", 8, time(10, 30), "Heart check before starting sport"),
]


def seed() -> list[tuple[str, str, str]]:
    """Load the demo data and return its accounts; [] when it was loaded before (nothing changes)."""
    if db.session.scalar(select(Hospital.id).where(Hospital.name == DEMO_HOSPITAL)):
        return []
    hospital = accounts.register_hospital(
        name=DEMO_HOSPITAL,
        address="12 River Road",
        city="Nairobi",
        phone="+254 20 555 0100",
        timezone="Africa/Nairobi",
        currency="KES",
        admin_name="Grace Wanjiru",
        admin_email="hospital.admin@example.org",
        admin_password=DEMO_PASSWORD,
    )
    hospital.status = HospitalStatus.active
    hospital.status_changed_at = clock.now()
    departments = {
        name: Department(hospital=hospital, name=name)
        for name in ("General Medicine", "Paediatrics", "Cardiology")
    }
    db.session.add_all(departments.values())
    for email, name, specialty, department, fee, sundays in DOCTORS:
        _add_doctor(hospital, email, name, specialty, departments[department], fee, sundays)
    for email, name, dob, sex, phone in PATIENTS:
        user = accounts.register_patient(
            full_name=name, email=email, password=DEMO_PASSWORD, date_of_birth=dob, sex=sex, phone=phone
        )
        for values in HISTORY.get(email, []):
            clinical.add_history_entry(user.patient, user, values)
    desk = accounts.create_staff(
        hospital=hospital,
        kind=StaffKind.receptionist,
        full_name="Rose Achieng",
        email=DESK,
        password=DEMO_PASSWORD,
    )
    # A walk-in registered at the desk: no email, no password, an age instead of a date of birth.
    walk_in = register_at_desk(
        hospital=hospital,
        actor=desk,
        full_name="Baraka Otieno",
        sex=Sex.male,
        phone="+254 722 300 400",
        age_years=58,
        address="Kibera, Nairobi",
        emergency_contact="Mary Otieno (wife) +254 722 300 401",
    )
    nurse = accounts.create_staff(
        hospital=hospital,
        kind=StaffKind.nurse,
        full_name="Faith Nyambura",
        email=NURSE,
        password=DEMO_PASSWORD,
    )
    pharmacist = accounts.create_staff(
        hospital=hospital,
        kind=StaffKind.pharmacist,
        full_name="Daniel Kiprono",
        email="pharmacy@example.org",
        password=DEMO_PASSWORD,
    )
    technician = accounts.create_staff(
        hospital=hospital,
        kind=StaffKind.lab_technician,
        full_name="Joseph Mutua",
        email=LAB,
        password=DEMO_PASSWORD,
    )
    technician.staff.senior = True
    junior = accounts.create_staff(
        hospital=hospital,
        kind=StaffKind.lab_technician,
        full_name="Mercy Chebet",
        email=LAB_JUNIOR,
        password=DEMO_PASSWORD,
    )
    db.session.flush()
    _seed_inventory(hospital, hospital.admins[0].user, pharmacist)
    lab.install_catalogue(hospital)
    _seed_wards(hospital)
    today = scheduling.local_today(hospital)
    for patient, doctor, days_ago, at, reason, record, paid in PAST:
        visit = _book(hospital, patient, doctor, today - timedelta(days=days_ago), at, reason, search_days=-7)
        if visit is not None:
            _see(visit, desk, record, paid)
    _seed_lab(hospital, desk, technician, junior)
    _seed_inpatients(hospital, nurse, desk)
    _book_demo_days(hospital, desk)
    _triage_walk_ins(hospital, desk, nurse)
    _urgent_walk_in(hospital, desk, walk_in)
    for patient, doctor, days, at, reason in UPCOMING:
        _book(hospital, patient, doctor, today + timedelta(days=days), at, reason, search_days=7)
    accounts.register_hospital(
        name="Hillside Community Clinic",
        address="4 Hill Street",
        city="Mombasa",
        phone=None,
        timezone="Africa/Nairobi",
        currency="KES",
        admin_name="Peter Otieno",
        admin_email="clinic.admin@example.org",
        admin_password=DEMO_PASSWORD,
    )
    accounts.create_super_admin(email="admin@example.org", password=DEMO_PASSWORD, full_name="Platform Admin")
    db.session.flush()
    audit.seal_all()  # what the worker does: the back-dated events are in the chain at once
    return list(DEMO_ACCOUNTS)


def top_up() -> int:
    """On a later day, book the demo doctor's visits for today and tomorrow again (each day only when he
    has none on it); returns how many were booked. Nothing happens when the demo data is missing."""
    hospital = db.session.scalar(select(Hospital).where(Hospital.name == DEMO_HOSPITAL))
    desk = _user(DESK)
    if hospital is None or desk is None or _user(DEMO_DOCTOR) is None:
        return 0
    booked = _book_demo_days(hospital, desk)
    added = _seed_wards(hospital)
    nurse = _user(NURSE)
    if nurse is not None:
        added += _seed_inpatients(hospital, nurse, desk)
    if booked or added:
        audit.seal_all()
    return booked


# The demo hospital's wards: name, kind, rate per night in KES, its beds.
WARDS = [
    ("General ward", "general", "3500", "G1-G12"),
    ("Maternity", "maternity", "6000", "M1-M6"),
    ("ICU", "icu", "25000", "ICU-1-ICU-4"),
]


def _seed_wards(hospital: Hospital) -> int:
    """The demo wards with their beds, each only when the hospital has no ward of that name (so a demo
    database loaded before wards existed gains them); returns how many were added."""
    admin = hospital.admins[0].user
    have = set(db.session.scalars(select(Ward.name).where(Ward.hospital_id == hospital.id)))
    added = 0
    for name, kind, rate, beds in WARDS:
        if name not in have:
            ward = wards.create_ward(hospital, admin, name=name, kind=kind, daily_rate=rate)
            wards.add_beds(ward, beds, admin)
            added += 1
    return added


# The inpatients (see _seed_inpatients): who, admitting doctor, days ago, local time, bed, reason.
INPATIENTS = [
    ("john@example.org", DEMO_DOCTOR, 21, time(11, 30), "ICU-1", "Hyperkalaemia (K 6.8) with ECG changes"),
    ("sofia@example.org", DEMO_DOCTOR, 2, time(15), "G1", "Acute pyelonephritis, IV antibiotics"),
    ("amina@example.org", DEMO_DOCTOR, 1, time(9), "G2", "Acute asthma, not settling with nebulisers"),
]


def _seed_inpatients(hospital: Hospital, nurse: User, desk: User) -> int:
    """A ward's week, once per hospital (nothing when it has admissions): John stayed three weeks ago
    (ICU, then the general ward; discharged with a summary and his room nights billed); Sofia is in
    since two days with notes and vitals rounds; Amina's discharge is ordered; Brian waits for a bed;
    the bed John left is still being cleaned and a maternity bed is out of service."""
    from hms.models import Admission, Bed
    from hms.services import inpatient, wards

    if db.session.scalar(select(Admission.id).where(Admission.hospital_id == hospital.id).limit(1)):
        return 0
    beds = {b.label: b for b in db.session.scalars(select(Bed).where(Bed.hospital_id == hospital.id))}
    today = scheduling.local_today(hospital)
    admitted = {}
    for email, doctor_email, days_ago, at, label, reason in INPATIENTS:
        patient, doctor, bed = _user(email), _user(doctor_email), beds.get(label)
        if patient is None or doctor is None or bed is None:
            continue
        moment = datetime.combine(today - timedelta(days=days_ago), at, tzinfo=hospital.tz)
        with clock.frozen(moment):
            admitted[email] = inpatient.admit_patient(
                hospital=hospital, patient=patient.patient, ward_id=None, bed_id=bed.id, doctor_id=None,
                actor=doctor, reason=reason, expected_days=3,
            )  # fmt: skip
            inpatient.record_round_vitals(
                admitted[email],
                nurse,
                {"bp_systolic": 128, "bp_diastolic": 82, "pulse": 96, "temperature_c": "38.1"},
            )
        with clock.frozen(moment + timedelta(hours=4)):
            inpatient.add_note(admitted[email], nurse, "Settled on the ward; observations every four hours.")
        with clock.frozen(moment + timedelta(hours=20)):
            inpatient.add_note(
                admitted[email], doctor, "Reviewed on the round: improving, continue treatment."
            )
    john = admitted.get("john@example.org")
    if john is not None and "G3" in beds:
        start = john.admitted_at
        with clock.frozen(start + timedelta(days=2)):
            inpatient.transfer_patient(
                john, beds["G3"].id, john.attending_doctor.user, "Potassium normal, off the monitor"
            )
        with clock.frozen(start + timedelta(days=4)):
            inpatient.order_discharge(john, john.attending_doctor.user, {
                "discharge_diagnoses": "E87.5 Hyperkalaemia; N18.3 Chronic kidney disease, stage 3",
                "discharge_procedures": "Cardiac monitoring; IV calcium gluconate, insulin-dextrose",
                "discharge_medicines": "Furosemide 40 mg once a day; stop potassium supplements",
                "discharge_advice": "Low-potassium diet. Kidney function and potassium in one week.",
            })  # fmt: skip
        with clock.frozen(start + timedelta(days=4, hours=3)):
            inpatient.discharge_patient(john, nurse)
            wards.mark_bed_cleaned(beds["ICU-1"], nurse)
    amina = admitted.get("amina@example.org")
    if amina is not None:
        with clock.frozen(amina.admitted_at + timedelta(hours=26)):
            inpatient.order_discharge(amina, amina.attending_doctor.user, {
                "discharge_diagnoses": "J45.901 Acute asthma exacerbation",
                "discharge_medicines": "Prednisolone 40 mg for 5 days; salbutamol inhaler as needed",
                "discharge_advice": "Check your inhaler technique; come back at once if breathless at rest.",
            })  # fmt: skip
    brian, santos = _user("brian@example.org"), _user("dr.santos@example.org")
    general = db.session.scalar(
        select(Ward).where(Ward.hospital_id == hospital.id, Ward.name == "General ward")
    )
    if brian is not None and santos is not None and general is not None:
        with clock.frozen(clock.now() - timedelta(minutes=40)):
            inpatient.admit_patient(
                hospital=hospital, patient=brian.patient, ward_id=general.id, bed_id=None, doctor_id=None,
                actor=santos, reason="Chest pain for observation and serial troponins",
            )  # fmt: skip
    if "M6" in beds:
        wards.set_bed_status(beds["M6"], "out_of_service", hospital.admins[0].user)
    db.session.flush()
    return len(admitted)


def _add_doctor(
    hospital: Hospital, email: str, name: str, specialty: str, department: Department, fee: int, sundays: bool
) -> User:
    user = accounts.register_doctor(
        full_name=name, email=email, password=DEMO_PASSWORD, specialty=specialty, qualifications="MBChB"
    )
    db.session.add(Membership(doctor=user.doctor, hospital=hospital, department=department, fee_minor=fee))
    # Monday to Friday 09:00–17:00 with lunch 13:00–14:00, Saturday mornings (and Sunday mornings for
    # the demo doctor, so that a newcomer finds a day of visits whatever the day).
    for weekday in range(7 if sundays else 6):
        rule = ScheduleRule(
            doctor=user.doctor,
            hospital=hospital,
            weekday=weekday,
            start_time=time(9),
            end_time=time(17) if weekday < 5 else time(12),
        )
        if weekday < 5:
            rule.breaks.append(ScheduleBreak(start_time=time(13), end_time=time(14)))
        db.session.add(rule)
    return user


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def _day_visits(doctor: User, hospital: Hospital, day: date) -> int:
    start = datetime.combine(day, time(0), tzinfo=hospital.tz)
    return len(
        db.session.scalars(
            select(Appointment.id).where(
                Appointment.doctor_id == doctor.doctor.id,
                Appointment.status != AppointmentStatus.cancelled,
                Appointment.start_at >= start,
                Appointment.start_at < start + timedelta(days=1),
            )
        ).all()
    )


def _book_demo_days(hospital: Hospital, desk: User) -> int:
    """The demo doctor's visits today (those already over seen and recorded, the latest one checked in
    and waiting) and tomorrow, for each day he has none on yet."""
    doctor = _user(DEMO_DOCTOR)
    today = scheduling.local_today(hospital)
    booked = 0
    if not _day_visits(doctor, hospital, today):
        visits = [
            (visit, record)
            for at, patient, reason, record in TODAY
            if (visit := _book(hospital, patient, DEMO_DOCTOR, today, at, reason, exact=True)) is not None
        ]
        booked += len(visits)
        now = clock.now()
        started = [(visit, record) for visit, record in visits if visit.start_at <= now]
        for n, (visit, record) in enumerate(started):
            waiting = n == len(started) - 1  # the patient the doctor sees next (or is seeing)
            _see(visit, desk, None if waiting else record, PaymentMethod.cash, finish=not waiting, board=True)
        # The next ones are already here (the walk-ins' patients queue as walk-ins instead): on the flow
        # board, one is with the nurse and one is waiting.
        # Only those the desk can check in now: just after midnight, a visit of the afternoon is too far off.
        coming = [
            v
            for v, _record in visits
            if v.start_at > now
            and v.patient.user.email not in WALK_INS
            and flow.check_in_refusal(v, now) is None
        ]
        for visit, state in zip(coming, (FlowState.triage, FlowState.waiting), strict=False):
            entry = flow.check_in(hospital=hospital, appointment_id=visit.id, actor=desk)
            if state != FlowState.waiting:
                flow.move_visit(entry, state, desk)
    tomorrow = today + timedelta(days=1)
    if not _day_visits(doctor, hospital, tomorrow):
        for at, patient, reason in TOMORROW:
            booked += _book(hospital, patient, DEMO_DOCTOR, tomorrow, at, reason, exact=True) is not None
    return booked


WALK_INS = {"david@example.org": "Chest pain since this morning", "halima@example.org": "Rash on both arms"}


def _urgent_walk_in(hospital: Hospital, desk: User, patient: Patient) -> None:
    """The patient registered at the desk walks in too, urgent: he goes first on the flow board."""
    for doctor_email, *_rest in DOCTORS:
        try:
            flow.join_queue(
                hospital=hospital,
                patient=patient,
                actor=desk,
                doctor_id=_user(doctor_email).doctor.id,
                priority=QueuePriority.urgent,
                reason="Short of breath",
            )
            return
        except DomainError:
            continue


def _triage_walk_ins(hospital: Hospital, desk: User, nurse: User) -> None:
    """The nurse's queue: two walk-ins checked in today (with the first doctor who has free time left),
    and of the patients checked in today, one triaged and one left waiting for her."""
    from hms.services import triage

    for email, complaint in WALK_INS.items():
        for doctor_email, *_rest in DOCTORS:
            try:
                flow.join_queue(
                    hospital=hospital,
                    patient=_user(email).patient,
                    actor=desk,
                    doctor_id=_user(doctor_email).doctor.id,
                    reason=complaint,
                )
                break
            except DomainError:
                continue
    # The patient ready for the doctor came through the nurse: his vital signs are taken (his card,
    # already further on, stays where it is); the others on the board still wait for her.
    ready = db.session.scalars(
        select(QueueEntry)
        .where(
            QueueEntry.hospital_id == hospital.id,
            QueueEntry.day == scheduling.local_today(hospital),
            QueueEntry.state == FlowState.ready,
        )
        .order_by(QueueEntry.number)
    ).first()
    if ready is not None and triage.triage_queue(hospital):
        visit = ready.appointment
        vitals = {"bp_systolic": "148", "bp_diastolic": "92", "pulse": "104", "respiratory_rate": "22"}
        vitals |= {"spo2": "95", "temperature_c": "37.1", "weight_kg": "84", "height_cm": "178"}
        complaint = visit.reason or "Chest pain since this morning"
        triage.record_triage(visit, nurse, vitals | {"triage_level": "2", "chief_complaint": complaint})


def _book(
    hospital: Hospital,
    patient_email: str,
    doctor_email: str,
    day: date,
    at: time,
    reason: str,
    *,
    exact: bool = False,
    search_days: int = 0,
) -> Appointment | None:
    """Book the patient with the doctor on `day` at `at` (or the day's next free time; or the same on a
    nearby day, up to `search_days` later or, when negative, earlier), as the patient would have three
    days before (or now); None when there is no such time or a rule refuses it."""
    patient, doctor = _user(patient_email), _user(doctor_email)
    if patient is None or doctor is None:
        return None
    step = -1 if search_days < 0 else 1
    for offset in range(abs(search_days) + 1):
        slot = _free_slot(doctor, hospital, day + timedelta(days=offset * step), at, exact)
        if slot is None:
            continue
        with clock.frozen(min(clock.now(), slot.start - timedelta(days=3))):
            try:
                return scheduling.book_appointment(
                    patient=patient.patient,
                    doctor_id=doctor.doctor.id,
                    hospital_id=hospital.id,
                    start=slot.start,
                    reason=reason,
                    booked_by=patient,
                )
            except DomainError:
                return None
    return None


def _free_slot(doctor: User, hospital: Hospital, day: date, at: time, exact: bool) -> scheduling.Slot | None:
    """The doctor's free slot on `day` starting at `at` (or, unless `exact`, the next one after it)."""
    seen_the_day_before = datetime.combine(day - timedelta(days=1), time(0), tzinfo=hospital.tz)
    for slot in scheduling.day_slots(doctor.doctor.id, hospital, day, now=seen_the_day_before):
        local = slot.local_start.time()
        if slot.free and (local == at or (not exact and local > at)):
            return slot
    return None


def _see(
    visit: Appointment,
    desk: User,
    record: Record | None,
    paid: PaymentMethod | None,
    finish: bool = True,
    *,
    board: bool = False,
) -> None:
    """The visit as it happens: checked in at the desk (and the bill paid there), recorded by the
    doctor, marked done; each step at its time. Without `finish` the patient is left waiting. With
    `board` (a visit of today) it goes over the flow board: checked in there, called in, done; one left
    waiting is ready for the doctor."""
    doctor = visit.doctor
    entry = None
    with clock.frozen(visit.start_at - timedelta(minutes=10)):
        if board:
            entry = flow.check_in(hospital=visit.hospital, appointment_id=visit.id, actor=desk)
        else:
            scheduling.set_appointment_status(visit, AppointmentStatus.arrived, desk)
        bill = db.session.scalar(select(Bill).where(Bill.appointment_id == visit.id))
        if paid is not None and bill is not None and bill.balance_minor > 0:
            billing.record_desk_payment(
                bill, amount_minor=bill.balance_minor, method=paid, actor=desk, key=billing.new_key()
            )
    if not finish:
        if entry is not None:
            with clock.frozen(visit.start_at - timedelta(minutes=2)):
                flow.move_visit(entry, FlowState.ready, desk)
        return
    if entry is not None:
        with clock.frozen(visit.start_at):
            flow.move_visit(entry, FlowState.consultation, doctor.user)
    if record is not None:
        with clock.frozen(visit.start_at + timedelta(minutes=5)):
            _record(visit, doctor, record)
    with clock.frozen(visit.end_at - timedelta(minutes=2)):
        if entry is not None:
            flow.move_visit(entry, FlowState.done, doctor.user)  # marks the visit fulfilled
        else:
            scheduling.set_appointment_status(visit, AppointmentStatus.fulfilled, doctor.user)


def _record(visit: Appointment, doctor, record: Record) -> None:  # type: ignore[no-untyped-def]
    encounter = clinical.open_encounter(visit, doctor)
    values = {"chief_complaint": record.complaint, "notes": record.notes, **record.vitals}
    clinical.update_encounter(encounter, doctor, values, encounter.version)
    clinical.add_diagnosis(encounter, doctor, record.code, "")
    if not record.medicines:
        return
    prescription = clinical.start_prescription(encounter, doctor)
    for drug, strength, form, dose, frequency, duration, quantity in record.medicines:
        clinical.add_item(
            prescription,
            doctor,
            {
                "drug": drug,
                "strength": strength,
                "form": form,
                "dose": dose,
                "route": "oral" if form in ("tablet", "capsule") else "",
                "frequency": frequency,
                "duration": duration,
                "quantity": quantity,
                "instructions": "",
            },
        )
    clinical.issue_prescription(prescription, doctor)


def _seed_inventory(hospital: Hospital, admin: User, pharmacist: User) -> None:
    """A few medicines (in batches, one expiring soon) and supplies (one low on stock), with movements."""
    today = clock.now().astimezone(hospital.tz).date()
    medicines = [
        # name, unit, reorder level, [(batch, days to expiry, units)], dispensed
        ("Amoxicillin 500 mg", "capsule", 100, [("AMX-2401", 20, 60), ("AMX-2409", 400, 300)], 45),
        ("Paracetamol 500 mg", "tablet", 200, [("PCM-1187", 540, 1000)], 120),
        ("Artemether/lumefantrine 20/120 mg", "tablet", 48, [("ALU-0932", 250, 40)], 0),
        ("Oral rehydration salts", "sachet", 50, [("ORS-5521", 700, 200)], 30),
    ]
    supplies = [
        ("Examination gloves (M)", "box", 10, 8, 2),
        ("Gauze swabs 10 × 10 cm", "pack", 20, 150, 25),
        ("Syringe 5 ml", "piece", 100, 500, 60),
    ]
    for name, unit, reorder, batches, dispensed in medicines:
        item = inventory.create_item(
            hospital, name=name, kind=StockKind.medicine, unit=unit, reorder_level=reorder, actor=admin
        )
        for number, days, units in batches:
            inventory.receive_stock(
                item,
                quantity=units,
                supplier="Kenya Medical Supplies Authority",
                batch_number=number,
                expiry_date=today + timedelta(days=days),
                actor=pharmacist,
            )
        if dispensed:
            inventory.dispense_stock(item, quantity=dispensed, actor=pharmacist)
    items = []
    for name, unit, reorder, received, used in supplies:
        item = inventory.create_item(
            hospital, name=name, kind=StockKind.supply, unit=unit, reorder_level=reorder, actor=admin
        )
        inventory.receive_stock(item, quantity=received, supplier="Medisel Kenya", actor=admin)
        inventory.dispense_stock(item, quantity=used, actor=admin)
        items.append(item)
    gauze = items[1]
    inventory.adjust_stock(gauze, change=-5, reason="Stock-take: water-damaged packs", actor=admin)
    inventory.transfer_out_stock(gauze, quantity=20, destination="Hillside Community Clinic", actor=admin)


# Laboratory orders of past visits: (patient, days ago, panels and tests by code, priority, how far they
# got, values by test code in order of entry). "verified" orders were verified by the ordering doctor.
LAB_ORDERS = [
    ("david@example.org", 28, ["LIPID", "HBA1C"], "routine", "verified",
     {"CHOL": "232", "HDL": "38", "LDL": "158", "TG": "181", "HBA1C": "7.8"}),
    ("john@example.org", 21, ["KFT"], "urgent", "verified",
     {"CREA": "1.21", "BUN": "18", "NA": "139", "K": "6.8", "CL": "101"}),
    ("sofia@example.org", 6, ["MRDT", "FBC"], "stat", "verified",
     {"MRDT": "negative", "HB": "12.9", "HCT": "38.5", "WBC": "13.2", "PLT": "241", "MCV": "86"}),
    ("halima@example.org", 3, ["FBC", "TSH"], "routine", "resulted",
     {"HB": "11.4", "HCT": "34.9", "WBC": "6.1", "PLT": "288", "MCV": "78", "TSH": "2.10"}),
    ("halima@example.org", 3, ["UA"], "routine", "ordered", {}),
]  # fmt: skip


def _seed_lab(hospital: Hospital, desk: User, technician: User, junior: User) -> None:
    """Orders of past visits in every state: verified (one with a critical potassium acknowledged by the
    doctor and a creatinine amended by the senior technician), resulted by the junior technician and
    waiting for verification (by the senior one, or the doctor), waiting for the sample."""
    tests, panels = lab.catalogue(hospital.id)
    test_ids = {t.code: t.id for t in tests}
    panel_ids = {p.code: p.id for p in panels}
    for email, days_ago, codes, priority, state, values in LAB_ORDERS:
        encounter = _past_encounter(hospital, email, days_ago)
        if encounter is None:
            continue
        doctor = encounter.doctor.user
        at = encounter.created_at + timedelta(minutes=10)
        with clock.frozen(at):
            order = lab.place_order(
                encounter,
                doctor,
                test_ids=[test_ids[c] for c in codes if c in test_ids],
                panel_ids=[panel_ids[c] for c in codes if c in panel_ids],
                priority=priority,
                clinical_note=encounter.chief_complaint[:200],
            )
        if state == "ordered":
            continue
        with clock.frozen(at + timedelta(minutes=20)):
            billing.record_desk_payment(
                order.bill, amount_minor=order.bill.balance_minor, method=PaymentMethod.cash, actor=desk,
                key=billing.new_key(),
            )  # fmt: skip
            lab.collect_specimen(order, technician)
        verify = state == "verified"
        _result_order(order, technician if verify else junior, values, at + timedelta(hours=1), verify=verify)


def _result_order(order, technician: User, values: dict[str, str], at: datetime, *, verify: bool) -> None:  # type: ignore[no-untyped-def]
    doctor = order.doctor.user
    with clock.frozen(at):
        for item in order.items:
            result = lab.enter_result(item, technician, values[item.test.code])
            if result.critical:
                with clock.frozen(at + timedelta(minutes=8)):
                    lab.acknowledge_critical(result, doctor)
    if not verify:
        return
    with clock.frozen(at + timedelta(hours=2)):
        for item in order.items:
            lab.verify_result(item, doctor)
    creatinine = next((i for i in order.items if i.test.code == "CREA"), None)
    if creatinine is not None:
        with clock.frozen(at + timedelta(hours=5)):
            lab.amend_result(creatinine, technician, "1.18", "Re-run after the analyser was recalibrated")


def _past_encounter(hospital: Hospital, email: str, days_ago: int) -> Encounter | None:
    """The record of the patient's visit that many days ago at the hospital (or the nearest one)."""
    patient = _user(email)
    if patient is None or patient.patient is None:
        return None
    day = scheduling.local_today(hospital) - timedelta(days=days_ago)

    def distance(encounter: Encounter) -> int:
        return abs((encounter.appointment.start_at.astimezone(hospital.tz).date() - day).days)

    # The visit may have moved back a few days to a free slot (`_book`'s search).
    found = db.session.scalars(
        select(Encounter).where(
            Encounter.patient_id == patient.patient.id, Encounter.hospital_id == hospital.id
        )
    ).all()
    near = sorted((e for e in found if distance(e) <= 7), key=distance)
    return near[0] if near else None
