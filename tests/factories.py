"""Factories: build and commit real rows with sensible defaults."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import (
    Appointment,
    AppointmentStatus,
    Bill,
    BillItem,
    BillStatus,
    Department,
    Diagnosis,
    Doctor,
    Encounter,
    EntrySource,
    HistoryKind,
    Hospital,
    HospitalAdmin,
    HospitalStatus,
    Invitation,
    ItemKind,
    MedicalHistoryEntry,
    Membership,
    MembershipStatus,
    Patient,
    Payment,
    PaymentMethod,
    Prescription,
    PrescriptionItem,
    PrescriptionStatus,
    Role,
    SavedReport,
    ScheduleBreak,
    ScheduleRule,
    Sex,
    Staff,
    StaffKind,
    User,
)
from hms.services import passwords

PASSWORD = "correct horse battery"
_hash_cache: dict[str, str] = {}
_seq = itertools.count(1)


def password_hash() -> str:
    if PASSWORD not in _hash_cache:
        _hash_cache[PASSWORD] = passwords.hash_password(PASSWORD)
    return _hash_cache[PASSWORD]


def user(role: Role = Role.patient, *, email: str | None = None, name: str | None = None, **fields) -> User:  # type: ignore[no-untyped-def]
    n = next(_seq)
    account = User(
        email=email or f"user{n}@example.org",
        full_name=name or f"Test User {n}",
        password_hash=password_hash(),
        role=role,
        **fields,
    )
    db.session.add(account)
    db.session.commit()
    return account


def hospital(*, status: HospitalStatus = HospitalStatus.active, **fields) -> Hospital:  # type: ignore[no-untyped-def]
    n = next(_seq)
    values = {
        "name": f"Hospital {n}",
        "address": f"{n} Main Street",
        "city": "Nairobi",
        "timezone": "Africa/Nairobi",
        "currency": "KES",
        "status": status,
    } | fields
    row = Hospital(**values)
    db.session.add(row)
    db.session.commit()
    return row


def department(hospital_row: Hospital, name: str | None = None) -> Department:
    row = Department(hospital=hospital_row, name=name or f"Department {next(_seq)}")
    db.session.add(row)
    db.session.commit()
    return row


def patient(*, email: str | None = None, name: str | None = None, **fields) -> User:  # type: ignore[no-untyped-def]
    account = user(Role.patient, email=email, name=name)
    values = {
        "mrn": f"T{next(_seq):09d}",
        "date_of_birth": date(1990, 1, 1),
        "sex": Sex.female,
        "phone": "+254 700 000 000",
    } | fields
    account.patient = Patient(**values)
    db.session.commit()
    return account


def doctor(*, email: str | None = None, name: str | None = None, specialty: str = "General practice") -> User:
    account = user(Role.doctor, email=email, name=name)
    account.doctor = Doctor(specialty=specialty)
    db.session.commit()
    return account


def membership(
    doctor_user: User,
    hospital_row: Hospital,
    *,
    status: MembershipStatus = MembershipStatus.active,
    fee_minor: int = 100000,
    department_row: Department | None = None,
) -> Membership:
    row = Membership(
        doctor=doctor_user.doctor,
        hospital=hospital_row,
        status=status,
        fee_minor=fee_minor,
        department=department_row,
        since=clock.now(),
    )
    db.session.add(row)
    db.session.commit()
    return row


def hospital_admin(hospital_row: Hospital | None = None, *, email: str | None = None) -> User:
    account = user(Role.hospital_admin, email=email)
    db.session.add(HospitalAdmin(user=account, hospital=hospital_row or hospital()))
    db.session.commit()
    return account


def staff(
    hospital_row: Hospital,
    kind: StaffKind = StaffKind.receptionist,
    *,
    email: str | None = None,
    senior: bool = False,
) -> User:
    account = user(Role.staff, email=email)
    account.staff = Staff(hospital=hospital_row, kind=kind, senior=senior)
    db.session.commit()
    return account


def super_admin(*, email: str | None = None) -> User:
    return user(Role.super_admin, email=email)


def doctor_at(hospital_row: Hospital | None = None, **kwargs) -> User:  # type: ignore[no-untyped-def]
    """A doctor with an active membership at `hospital_row` (a new active hospital by default)."""
    account = doctor(**kwargs)
    membership(account, hospital_row or hospital())
    return account


def schedule(
    doctor_user: User,
    hospital_row: Hospital,
    weekdays: range | list[int] = range(7),
    start: str = "09:00",
    end: str = "17:00",
    slot_minutes: int = 30,
    breaks: list[tuple[str, str]] | None = None,
) -> list[ScheduleRule]:
    """Weekly rules for the doctor at the hospital (every day 09:00–17:00 by default)."""
    rules = []
    for weekday in weekdays:
        rule = ScheduleRule(
            doctor=doctor_user.doctor,
            hospital=hospital_row,
            weekday=weekday,
            start_time=time.fromisoformat(start),
            end_time=time.fromisoformat(end),
            slot_minutes=slot_minutes,
        )
        for b0, b1 in breaks or []:
            rule.breaks.append(
                ScheduleBreak(start_time=time.fromisoformat(b0), end_time=time.fromisoformat(b1))
            )
        db.session.add(rule)
        rules.append(rule)
    db.session.commit()
    return rules


def appointment(
    patient_user: User | None = None,
    doctor_user: User | None = None,
    hospital_row: Hospital | None = None,
    start_at: datetime | None = None,
    minutes: int = 30,
    status: AppointmentStatus = AppointmentStatus.booked,
    reason: str = "Check-up",
    created_at: datetime | None = None,
) -> Appointment:
    """An appointment written directly (no schedule needed); starts in an hour by default.
    `created_at` says when it was booked (reminders depend on it); now by default."""
    hospital_row = hospital_row or hospital()
    doctor_user = doctor_user or doctor_at(hospital_row)
    patient_user = patient_user or patient()
    start = start_at or clock.now().replace(second=0, microsecond=0) + timedelta(hours=1)
    row = Appointment(
        patient_id=patient_user.patient.id,
        doctor_id=doctor_user.doctor.id,
        hospital_id=hospital_row.id,
        start_at=start,
        end_at=start + timedelta(minutes=minutes),
        reason=reason,
        status=status,
        active_slot=Appointment.slot_key(start) if status.is_live else None,
        booked_by_id=patient_user.id,
        created_at=created_at or clock.now(),
        status_changed_at=created_at or clock.now(),
    )
    db.session.add(row)
    db.session.commit()
    return row


def encounter(appointment_row: Appointment | None = None, **fields) -> Encounter:  # type: ignore[no-untyped-def]
    """The encounter of an appointment (a new appointment starting now by default)."""
    appointment_row = appointment_row or appointment(start_at=clock.now().replace(second=0, microsecond=0))
    values = {"chief_complaint": "Sore throat", "notes": ""} | fields
    row = Encounter(
        appointment_id=appointment_row.id,
        patient_id=appointment_row.patient_id,
        doctor_id=appointment_row.doctor_id,
        hospital_id=appointment_row.hospital_id,
        **values,
    )
    db.session.add(row)
    db.session.commit()
    return row


def diagnosis(encounter_row: Encounter, code: str = "J02.9", text: str = "Acute pharyngitis") -> Diagnosis:
    row = Diagnosis(encounter_id=encounter_row.id, code=code, text=text)
    db.session.add(row)
    db.session.commit()
    return row


def prescription(
    encounter_row: Encounter | None = None,
    *,
    items: int = 1,
    status: PrescriptionStatus = PrescriptionStatus.draft,
) -> Prescription:
    """A prescription with `items` medicines; issued ones get a number and an issue time."""
    encounter_row = encounter_row or encounter()
    row = Prescription(
        encounter_id=encounter_row.id,
        patient_id=encounter_row.patient_id,
        doctor_id=encounter_row.doctor_id,
        hospital_id=encounter_row.hospital_id,
        status=status,
        note="",
        items=[
            PrescriptionItem(
                position=n,
                drug=f"Medicine {n + 1}",
                strength="500 mg",
                form="tablet",
                dose="1 tablet",
                route="oral",
                frequency="three times a day",
                duration="5 days",
                quantity=15,
                instructions="after food",
            )
            for n in range(items)
        ],
    )
    db.session.add(row)
    db.session.flush()
    if status != PrescriptionStatus.draft:
        row.issued_at = clock.now()
        row.number = f"RX-T-{row.id:06d}"
    db.session.commit()
    return row


def history_entry(
    patient_user: User,
    *,
    kind: HistoryKind = HistoryKind.condition,
    title: str = "Asthma",
    by: User | None = None,
    **fields,
) -> MedicalHistoryEntry:
    """A history entry written by the patient, or by the user `by` (a doctor)."""
    author = by or patient_user
    row = MedicalHistoryEntry(
        patient_id=patient_user.patient.id,
        kind=kind,
        title=title,
        source=EntrySource.patient if author.role == Role.patient else EntrySource.practitioner,
        recorded_by_id=author.id,
        **fields,
    )
    db.session.add(row)
    db.session.commit()
    return row


def invitation(
    hospital_row: Hospital,
    *,
    email: str | None = None,
    role: Role = Role.doctor,
    staff_kind: StaffKind | None = None,
    hours: int = 72,
    token: str | None = None,
) -> tuple[Invitation, str]:
    """An open invitation and its token (as the link would carry it)."""
    import secrets
    from datetime import timedelta

    from hms.services.invitations import hash_token

    n = next(_seq)
    token = token or secrets.token_urlsafe(32)
    address = (email or f"invited{n}@example.org").lower()
    row = Invitation(
        hospital=hospital_row,
        email=address,
        open_email=address,
        full_name=f"Invited Person {n}",
        role=role,
        staff_kind=staff_kind or (StaffKind.nurse if role == Role.staff else None),
        specialty="Cardiology" if role == Role.doctor else None,
        token_hash=hash_token(token),
        created_at=clock.now(),
        expires_at=clock.now() + timedelta(hours=hours),
    )
    db.session.add(row)
    db.session.commit()
    return row, token


def booking(
    patient_user: User | None = None,
    doctor_user: User | None = None,
    hospital_row: Hospital | None = None,
    *,
    fee_minor: int = 150000,
    days_ahead: int = 2,
    hour: int = 10,
) -> Appointment:
    """A visit booked through the real booking service (so billing hears of it). A new doctor with a
    daily 09:00–17:00 schedule and `fee_minor` at the hospital is made unless one is given."""
    from hms.services import scheduling

    hospital_row = hospital_row or hospital()
    if doctor_user is None:
        doctor_user = doctor()
        membership(doctor_user, hospital_row, fee_minor=fee_minor)
        schedule(doctor_user, hospital_row)
    patient_user = patient_user or patient()
    local = datetime.combine(
        clock.now().astimezone(hospital_row.tz).date() + timedelta(days=days_ahead), time(hour, 0)
    )
    start = local.replace(tzinfo=hospital_row.tz).astimezone(UTC)
    row = scheduling.book_appointment(
        patient=patient_user.patient,
        doctor_id=doctor_user.doctor.id,
        hospital_id=hospital_row.id,
        start=start,
        reason="Check-up",
        booked_by=patient_user,
    )
    db.session.commit()
    return row


def consultation_bill(appointment_row: Appointment) -> Bill:
    return db.session.scalar(select(Bill).where(Bill.appointment_id == appointment_row.id))


def bill(
    patient_user: User,
    hospital_row: Hospital,
    *,
    items: list[tuple[str, int, int]] | None = None,
    status: BillStatus = BillStatus.issued,
) -> Bill:
    """A bill written at the desk, with (description, quantity, unit price in minor units) items."""
    row = Bill(
        hospital_id=hospital_row.id,
        patient_id=patient_user.patient.id,
        currency=hospital_row.currency,
        status=status,
        issued_at=clock.now() if status != BillStatus.draft else None,
    )
    for description, quantity, unit in [("X-ray, chest", 1, 250000)] if items is None else items:
        row.items.append(
            BillItem(
                kind=ItemKind.procedure,
                description=description,
                quantity=quantity,
                unit_minor=unit,
                amount_minor=quantity * unit,
            )
        )
    row.total_minor = sum(i.amount_minor for i in row.items)
    db.session.add(row)
    db.session.commit()
    return row


def desk_payment(bill_row: Bill, cashier: User, amount_minor: int | None = None) -> Payment:
    """A cash payment recorded through the billing service."""
    from hms.services import billing

    payment = billing.record_desk_payment(
        bill_row,
        amount_minor=amount_minor or bill_row.balance_minor,
        method=PaymentMethod.cash,
        actor=cashier,
        key=billing.new_key(),
    )
    db.session.commit()
    return payment


def billing_key() -> str:
    from hms.services import billing

    return billing.new_key()


def saved_report(owner: User, hospital_row: Hospital | None, name: str = "Visits", **params) -> SavedReport:  # type: ignore[no-untyped-def]
    """A saved report of `owner` (about `hospital_row`; None for the platform's)."""
    values = {
        "metric": "appointments",
        "start": "2026-01-01",
        "end": "2026-01-31",
        "group": "week",
        "doctor": None,
        "department": None,
        "hospital": None,
    } | params
    row = SavedReport(
        owner_id=owner.id, hospital_id=hospital_row.id if hospital_row else None, name=name, params=values
    )
    db.session.add(row)
    db.session.commit()
    return row


def bookable_slot(hospital_row: Hospital | None = None) -> tuple[User, Hospital, datetime]:
    """A doctor who works tomorrow 09:00–12:00 (hospital time), and the start of tomorrow's first slot."""
    hospital_row = hospital_row or hospital()
    doctor_user = doctor_at(hospital_row)
    tomorrow = (clock.now().astimezone(hospital_row.tz) + timedelta(days=1)).date()
    schedule(doctor_user, hospital_row, weekdays=[tomorrow.weekday()], start="09:00", end="12:00")
    start = datetime.combine(tomorrow, time(9, 0), tzinfo=hospital_row.tz).astimezone(clock.now().tzinfo)
    return doctor_user, hospital_row, start


def inventory_item(
    hospital_row: Hospital,
    *,
    name: str | None = None,
    kind: str = "supply",
    unit: str | None = None,
    reorder_level: int = 0,
    stock: int = 0,
    batches: list[tuple[str, date, int]] | None = None,
    by: User | None = None,
):  # type: ignore[no-untyped-def]
    """An inventory item with `stock` units received (a supply), or medicine `batches` of
    (batch number, expiry date, units), received through the inventory service."""
    from hms.models import StockKind
    from hms.services import inventory

    actor = by or hospital_admin(hospital_row)
    item = inventory.create_item(
        hospital_row,
        name=name or f"Item {next(_seq)}",
        kind=StockKind(kind),
        unit=unit or ("tablet" if kind == "medicine" else "box"),
        reorder_level=reorder_level,
        actor=actor,
    )
    db.session.commit()
    if stock:
        inventory.receive_stock(item, quantity=stock, supplier="Factory Supplies", actor=actor)
        db.session.commit()
    for number, expiry, units in batches or []:
        inventory.receive_stock(
            item,
            quantity=units,
            supplier="Factory Pharma",
            batch_number=number,
            expiry_date=expiry,
            actor=actor,
        )
        db.session.commit()
    return db.session.get(type(item), item.id)


def nurse(hospital_row: Hospital | None = None, *, email: str | None = None) -> User:
    """A nurse at `hospital_row` (a new active hospital by default)."""
    return staff(hospital_row or hospital(), StaffKind.nurse, email=email)


def checked_in(
    hospital_row: Hospital | None = None, patient_user: User | None = None, **fields
) -> Appointment:  # type: ignore[no-untyped-def]
    """A visit of today that started a few minutes ago (at the hospital's midnight, in the first minutes of
    its day, so that it stays today's), its patient checked in (arrived)."""
    now = clock.now()
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=5)
    if hospital_row is not None:
        midnight = datetime.combine(now.astimezone(hospital_row.tz).date(), time(0), tzinfo=hospital_row.tz)
        start = max(start, midnight.astimezone(UTC))
    return appointment(
        patient_user, None, hospital_row, start_at=start, status=AppointmentStatus.arrived, **fields
    )


def vitals(appointment_row: Appointment, taken_by: User, **fields):  # type: ignore[no-untyped-def]
    """A set of vital signs of the visit, written directly (no access rule), triage level 3 by default."""
    from decimal import Decimal

    from hms.models import VitalSigns

    values = {
        "bp_systolic": 128,
        "bp_diastolic": 82,
        "pulse": 76,
        "temperature_c": Decimal("37.2"),
        "chief_complaint": "Headache",
        "triage_level": 3,
    } | fields
    row = VitalSigns(
        appointment_id=appointment_row.id,
        patient_id=appointment_row.patient_id,
        hospital_id=appointment_row.hospital_id,
        recorded_by_id=taken_by.id,
        taken_at=fields.pop("taken_at", None) or clock.now(),
        **{k: v for k, v in values.items() if k != "taken_at"},
    )
    db.session.add(row)
    db.session.commit()
    return row


# ---------------------------------------------------------------- laboratory (hms.services.lab)


def lab_technician(
    hospital_row: Hospital | None = None, *, email: str | None = None, senior: bool = False
) -> User:
    """A lab technician at `hospital_row` (a new active hospital by default); a `senior` one verifies
    and amends results others entered."""
    return staff(hospital_row or hospital(), StaffKind.lab_technician, email=email, senior=senior)


def lab_test(hospital_row: Hospital, code: str | None = None, **fields):  # type: ignore[no-untyped-def]
    """A numeric test (potassium-like by default: 3.5–5.1 mmol/L for anyone, critical below 2.5 and
    above 6.5, impossible outside 1–15). `ranges` are (sex or None, from days, to days or None, low, high)."""
    from decimal import Decimal

    from hms.models import LabReferenceRange, LabTest, ResultKind, SpecimenKind

    ranges = fields.pop("ranges", [(None, 0, None, "3.5", "5.1")])
    values = {
        "code": code or f"T{next(_seq)}",
        "name": "Potassium",
        "loinc": "2823-3",
        "specimen": SpecimenKind.serum,
        "kind": ResultKind.numeric,
        "unit": "mmol/L",
        "decimals": 1,
        "critical_low": Decimal("2.5"),
        "critical_high": Decimal("6.5"),
        "physical_low": Decimal("1.0"),
        "physical_high": Decimal("15.0"),
        "price_minor": 40000,
    } | fields
    row = LabTest(hospital_id=hospital_row.id, **values)
    row.ranges = [
        LabReferenceRange(
            sex=sex,
            age_from_days=start,
            age_to_days=end,
            low=Decimal(low) if low is not None else None,
            high=Decimal(high) if high is not None else None,
        )
        for sex, start, end, low, high in ranges
    ]
    db.session.add(row)
    db.session.commit()
    return row


def lab_choice_test(hospital_row: Hospital, code: str | None = None, **fields):  # type: ignore[no-untyped-def]
    """A choice test (a malaria rapid test by default)."""
    from hms.models import ResultKind, SpecimenKind

    values = {
        "name": "Malaria rapid test",
        "loinc": "70569-9",
        "specimen": SpecimenKind.blood,
        "kind": ResultKind.choice,
        "unit": None,
        "decimals": 0,
        "choices": "negative|positive|invalid",
        "critical_low": None,
        "critical_high": None,
        "physical_low": None,
        "physical_high": None,
        "ranges": [],
        "price_minor": 30000,
    } | fields
    return lab_test(hospital_row, code, **values)


def lab_panel(hospital_row: Hospital, tests: list, code: str | None = None, **fields):  # type: ignore[no-untyped-def]
    from hms.models import LabPanel, LabPanelTest

    values = {"code": code or f"P{next(_seq)}", "name": "Kidney function", "price_minor": 150000} | fields
    row = LabPanel(hospital_id=hospital_row.id, **values)
    row.members = [LabPanelTest(test=t, position=n) for n, t in enumerate(tests)]
    db.session.add(row)
    db.session.commit()
    return row


def lab_catalogue(hospital_row: Hospital) -> None:
    """The standard catalogue (hms.data.lab_catalogue) installed at the hospital."""
    from hms.services import lab

    lab.install_catalogue(hospital_row)
    db.session.commit()


def lab_order(
    encounter_row: Encounter | None = None, *, tests: list | None = None, panels: list | None = None, **kwargs
):  # type: ignore[no-untyped-def]
    """An order placed by the encounter's doctor through hms.services.lab (one new potassium test by
    default, on a new encounter at a new hospital)."""
    from hms.services import lab

    encounter_row = encounter_row or encounter()
    if tests is None and panels is None:
        tests = [lab_test(encounter_row.hospital)]
    doctor_user = db.session.get(Doctor, encounter_row.doctor_id).user
    order = lab.place_order(
        encounter_row,
        doctor_user,
        test_ids=[t.id for t in tests or []],
        panel_ids=[p.id for p in panels or []],
        **kwargs,
    )
    db.session.commit()
    return order


def collected_lab_order(encounter_row: Encounter | None = None, *, collector: User | None = None, **kwargs):  # type: ignore[no-untyped-def]
    """An order whose specimen a lab technician of its hospital has collected."""
    from hms.services import lab

    order = lab_order(encounter_row, **kwargs)
    lab.collect_specimen(order, collector or lab_technician(order.hospital))
    db.session.commit()
    return order


def ward(hospital_row: Hospital, name: str | None = None, *, beds: int = 0, **fields):  # type: ignore[no-untyped-def]
    """A general ward (5,000.00 a night in minor units by default) with `beds` free beds B1..Bn."""
    from hms.models import Bed, Ward, WardKind

    values = {
        "name": name or f"Ward {next(_seq)}",
        "kind": WardKind.general,
        "daily_rate_minor": 500000,
    } | fields
    row = Ward(hospital_id=hospital_row.id, **values)
    row.beds = [Bed(hospital_id=hospital_row.id, label=f"B{n}") for n in range(1, beds + 1)]
    db.session.add(row)
    db.session.commit()
    return row


def admitted(
    hospital_row: Hospital, patient_user: User, bed_row, by: User, reason: str = "Observation", **fields
):  # type: ignore[no-untyped-def]
    """The patient admitted by `by` (a doctor: he becomes the attending one) straight into `bed_row`,
    through the inpatient service, and committed. `fields`: the service's other arguments."""
    from hms.services import inpatient

    admission = inpatient.admit_patient(
        hospital=hospital_row,
        patient=patient_user.patient,
        ward_id=None,
        bed_id=bed_row.id,
        doctor_id=None,
        actor=by,
        reason=reason,
        **fields,
    )
    db.session.commit()
    return admission


def bed(ward_row, label: str | None = None, **fields):  # type: ignore[no-untyped-def]
    """A bed of `ward_row` (free by default)."""
    from hms.models import Bed

    row = Bed(
        ward_id=ward_row.id, hospital_id=ward_row.hospital_id, label=label or f"B{next(_seq)}", **fields
    )
    db.session.add(row)
    db.session.commit()
    return row
