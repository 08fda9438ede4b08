"""A busy hospital to weigh pages with: realistic counts of doctors, patients, visits, bills, records.

Used by tests/test_performance.py and the page-weight benchmark (tests/bench/page_weight.py), so that
page sizes are measured with full lists and long days, not with the empty tables of a fresh install."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from hms import clock
from hms.models import (
    AppointmentStatus,
    Bill,
    HospitalStatus,
    LabOrder,
    LabOrderItem,
    LabPanel,
    Membership,
    Notification,
    Prescription,
    StaffKind,
    User,
)
from tests import factories

DOCTORS = [
    ("Chinedu Okafor", "General practice"),
    ("Priya Mehta", "Paediatrics"),
    ("Lucas Santos", "Cardiology"),
    ("Fatima Al-Sayed", "Obstetrics and gynaecology"),
    ("Wei Zhang", "Dermatology"),
    ("Grace Njeri", "Internal medicine"),
    ("Ahmed Yusuf", "Orthopaedics"),
    ("Maria Rossi", "Ophthalmology"),
    ("Kwame Mensah", "Psychiatry"),
    ("Elena Petrova", "Neurology"),
    ("Samuel Otieno", "General surgery"),
    ("Aisha Bello", "Ear, nose and throat"),
]
FIRST = ["Amina", "John", "Sofia", "David", "Halima", "Peter", "Lucy", "Omar", "Ruth", "Brian"]
LAST = ["Hassan", "Mwangi", "García", "Kamau", "Wanjiru", "Ochieng", "Mohamed", "Njoroge"]
MEDICINES = [
    ("Amoxicillin", "500 mg", "capsule", "three times a day", "7 days"),
    ("Paracetamol", "1 g", "tablet", "every 6 hours when needed", "5 days"),
    ("Cetirizine", "10 mg", "tablet", "once a day", "14 days"),
    ("Omeprazole", "20 mg", "capsule", "once a day before breakfast", "28 days"),
    ("Salbutamol", "100 micrograms", "inhaler", "2 puffs when needed", "30 days"),
]


@dataclass
class BusyHospital:
    hospital: object
    admin: User
    receptionist: User
    nurse: User
    super_admin: User
    doctor: User  # the first doctor: a full day of visits, a draft prescription
    patient: User  # the first patient: upcoming and past visits, bills, notices
    membership: Membership
    prescription: Prescription
    bill: Bill  # an issued, unpaid bill of the first patient
    lab_technician: User
    lab_order: LabOrder  # a collected kidney panel of the first doctor's: a critical value, some to enter
    lab_item: LabOrderItem  # its sodium, waiting for its value
    patient_lab_order: LabOrder  # a verified order of the first patient, with values out of range
    admission: object  # the first doctor's inpatient: notes, vitals rounds, a transfer (hms.models.Admission)


def build() -> BusyHospital:
    """12 doctors working 08:00–17:00 in 15-minute slots, 80 patients, 160 visits (a third of them past
    and done, with records), a bill per visit, 10 more hospitals (3 pending), notices."""
    hospital = factories.hospital(
        name="Riverside General Hospital", city="Nairobi", timezone="Africa/Nairobi", currency="KES"
    )
    departments = [
        factories.department(hospital, name)
        for name in ("General Medicine", "Paediatrics", "Surgery", "Women's Health", "Eye Clinic")
    ]
    doctors = []
    for n, (name, specialty) in enumerate(DOCTORS):
        user = factories.doctor(name=name, specialty=specialty, email=f"doctor{n}@busy.example.org")
        factories.membership(user, hospital, fee_minor=150000 + 25000 * n, department_row=departments[n % 5])
        factories.schedule(
            user, hospital, start="08:00", end="17:00", slot_minutes=15, breaks=[("13:00", "14:00")]
        )
        doctors.append(user)
    patients = [
        factories.patient(
            name=f"{FIRST[n % len(FIRST)]} {LAST[n % len(LAST)]}",
            email=f"patient{n}@busy.example.org",
        )
        for n in range(80)
    ]
    # Upcoming visits through the booking service (which bills them); past visits written directly.
    hours = [8, 9, 10, 11, 12, 14, 15, 16]
    for n, patient in enumerate(patients):
        if n < 24:  # the first doctor's next three days are full in the mornings and afternoons
            doctor, day, hour = doctors[0], 1 + n // 8, hours[n % 8]
        else:
            m = n - 24
            doctor, day, hour = doctors[1 + m % 11], 1 + (m // 11) % 3, hours[m // 11]
        factories.booking(patient, doctor, hospital, days_ahead=day, hour=hour)
    today = clock.now().astimezone(hospital.tz).date()
    for n in range(12):  # today's agenda of the first doctor
        local = datetime.combine(
            today, time(8 + n // 2 + (1 if n >= 10 else 0), 30 * (n % 2)), tzinfo=hospital.tz
        )
        factories.appointment(
            patients[40 + n], doctors[0], hospital, start_at=local.astimezone(UTC), minutes=15
        )
    encounters = []
    for n, patient in enumerate(patients):
        local = datetime.combine(today - timedelta(days=1 + n % 20), time(9 + n % 4, 15), tzinfo=hospital.tz)
        visit = factories.appointment(
            patient,
            doctors[n % len(doctors)],
            hospital,
            start_at=local.astimezone(UTC),
            minutes=15,
            status=AppointmentStatus.fulfilled,
            reason="Follow-up on blood pressure and medicines",
        )
        encounters.append(factories.encounter(visit, chief_complaint="Headache and tiredness for two weeks"))
    for n in range(3):
        factories.history_entry(patients[0], title=["Asthma", "Penicillin allergy", "Appendectomy"][n])
    prescription = factories.prescription(encounters[0], items=0)
    for position, (drug, strength, form, frequency, duration) in enumerate(MEDICINES):
        prescription.items.append(
            factories.PrescriptionItem(
                position=position,
                drug=drug,
                strength=strength,
                form=form,
                dose="1",
                route="oral",
                frequency=frequency,
                duration=duration,
                quantity=14,
                instructions="after food",
            )
        )
    factories.db.session.commit()
    bill = factories.bill(
        patients[0],
        hospital,
        items=[("Consultation", 1, 150000), ("Full blood count", 1, 120000), ("X-ray, chest", 1, 250000)],
    )
    for n in range(10):
        factories.hospital(
            name=f"Community Clinic {n + 1}",
            status=HospitalStatus.pending if n < 3 else HospitalStatus.active,
        )
    for n in range(12):
        factories.db.session.add(
            Notification(
                user_id=patients[0].id,
                kind="appointment_booked",
                text=f"Your visit {n + 1} with Dr Chinedu Okafor is booked.",
                link="/patient/appointments",
                created_at=clock.now() - timedelta(hours=n),
            )
        )
    factories.db.session.commit()
    membership = factories.db.session.scalar(
        factories.select(Membership).where(Membership.doctor_id == doctors[1].doctor.id)
    )
    technician = factories.lab_technician(hospital, email="lab@busy.example.org")
    lab_orders = _laboratory(hospital, doctors, encounters, technician)
    nurse = factories.staff(hospital, StaffKind.nurse, email="nurse@busy.example.org")
    admission = _inpatients(hospital, doctors, patients[60:80], nurse)
    return BusyHospital(
        hospital=hospital,
        admin=factories.hospital_admin(hospital, email="admin@busy.example.org"),
        receptionist=factories.staff(hospital, email="desk@busy.example.org"),
        nurse=nurse,
        super_admin=factories.super_admin(email="root@busy.example.org"),
        doctor=doctors[0],
        patient=patients[0],
        membership=membership,
        prescription=prescription,
        bill=bill,
        lab_technician=technician,
        lab_order=lab_orders[0],
        lab_item=next(item for item in lab_orders[0].items if item.test.code == "NA"),
        patient_lab_order=lab_orders[1],
        admission=admission,
    )


def _inpatients(hospital, doctors, patients, nurse):  # type: ignore[no-untyped-def]
    """Three wards (42 beds) with 20 patients in them through the inpatient service: some with the
    discharge ordered, a bed in cleaning; the first one has notes, vitals rounds and a transfer."""
    from hms.services import inpatient

    general = factories.ward(hospital, "General ward", beds=24, daily_rate_minor=350000)
    surgical = factories.ward(hospital, "Surgical ward", beds=12, daily_rate_minor=450000)
    icu = factories.ward(hospital, "Intensive care", beds=6, daily_rate_minor=2500000)
    beds = [*general.beds[:14], *surgical.beds[:4], *icu.beds[:2]]
    admissions = []
    for n, (patient, bed) in enumerate(zip(patients, beds, strict=True)):
        doctor = doctors[n % 3]
        with clock.frozen(clock.now() - timedelta(days=1 + n % 6, hours=n)):
            reason = "Community-acquired pneumonia, IV antibiotics"
            admissions.append(factories.admitted(hospital, patient, bed, doctor, reason, expected_days=5))
    first = admissions[0]
    for n in range(3):
        with clock.frozen(clock.now() - timedelta(hours=12 - 4 * n)):
            inpatient.add_note(first, nurse, "Observations stable; eating and drinking; chest clearer.")
            inpatient.add_note(
                first, first.attending_doctor.user, "Reviewed on the round: continue IV antibiotics."
            )
            inpatient.record_round_vitals(
                first,
                nurse,
                {"bp_systolic": 124, "bp_diastolic": 78, "pulse": 92 - n, "temperature_c": "37.8"},
            )
    inpatient.transfer_patient(first, icu.beds[3].id, nurse, "Falling saturation: needs closer watch")
    for admission in admissions[15:18]:
        inpatient.order_discharge(
            admission, admission.attending_doctor.user, {"discharge_diagnoses": "J18.9 Pneumonia, improving"}
        )
    factories.db.session.commit()
    return first


def _lab_value(test, high: bool = False) -> str:  # type: ignore[no-untyped-def]
    """A value of `test` within its first reference range (above it when `high`)."""
    from decimal import Decimal

    if test.choices:
        return test.choices.split("|")[-1 if high else 0]
    band = test.ranges[0] if test.ranges else None
    low = band.low if band is not None and band.low is not None else Decimal(0)
    top = band.high if band is not None and band.high is not None else low * 2 + 1
    value = top * Decimal("1.2") if high else (low + top) / 2
    return f"{value:.{test.decimals}f}"


def _laboratory(hospital, doctors: list[User], encounters: list, technician: User) -> list[LabOrder]:  # type: ignore[no-untyped-def]
    """The standard catalogue, and 36 orders of panels from past visits: a third waiting for their
    specimen, a third with values entered, a third verified. Returns the technician's kidney panel
    (potassium critical, creatinine high, three values to enter) and the first patient's verified order."""
    from hms.services import lab

    lab.install_catalogue(hospital)
    panels = {
        p.code: p
        for p in factories.db.session.scalars(
            factories.select(LabPanel).where(LabPanel.hospital_id == hospital.id)
        )
    }
    codes = ["FBC", "KFT", "LFT", "LIPID"]

    def order(encounter, doctor, code, priority="routine"):  # type: ignore[no-untyped-def]
        return lab.place_order(
            encounter, doctor, panel_ids=[panels[code].id], priority=priority, clinical_note="Tired, pale"
        )

    def resulted(placed, doctor, verify: bool):  # type: ignore[no-untyped-def]
        lab.collect_specimen(placed, technician)
        for n, item in enumerate(placed.items):
            lab.enter_result(item, technician, _lab_value(item.test, high=n % 2 == 1))
            if verify:
                lab.verify_result(item, doctor)

    for n in range(36):
        encounter, doctor = encounters[n + 1], doctors[(n + 1) % len(doctors)]
        placed = order(encounter, doctor, codes[n % 4], "stat" if n % 5 == 0 else "routine")
        if n % 3:
            resulted(placed, doctor, verify=n % 3 == 2)
    kidney = order(encounters[12], doctors[0], "KFT", "urgent")
    lab.collect_specimen(kidney, technician)
    values = {"K": "7.1", "CREA": "1.9"}
    for item in kidney.items:
        if item.test.code in values:
            lab.enter_result(item, technician, values[item.test.code])
    for code in codes:
        mine = order(encounters[0], doctors[0], code)
        resulted(mine, doctors[0], verify=True)
    factories.db.session.commit()
    return [kidney, mine]


def main_pages(busy: BusyHospital) -> list[tuple[str, User | None, str]]:
    """(role, user, path) for every role's main pages: its navigation plus the pages it works on."""
    from flask import url_for

    from hms.models import Role
    from hms.navigation import ACCOUNT, links_for

    doctor_page = url_for(
        "patient.doctor_page", doctor_id=busy.doctor.doctor.id, hospital_id=busy.hospital.id
    )
    patient_id = busy.patient.patient.id
    extra = [
        (
            Role.patient,
            busy.patient,
            [
                doctor_page,
                url_for("patient.bill", bill_id=busy.bill.id),
                url_for("patient.lab_order", lab_order_id=busy.patient_lab_order.id),
            ],
        ),
        (
            Role.doctor,
            busy.doctor,
            [
                url_for("doctor.prescription", prescription_id=busy.prescription.id),
                url_for("ward.admission", admission_id=busy.admission.id),
            ],
        ),
        (Role.hospital_admin, busy.admin, [url_for("hospital_admin.desk_bill", bill_id=busy.bill.id)]),
        (
            Role.staff,
            busy.receptionist,
            [
                url_for("staff.desk_bill", bill_id=busy.bill.id),
                url_for("staff.desk_patient", patient_id=patient_id),  # the front desk's patient
                url_for("staff.desk_register"),
                url_for("staff.arrivals"),
                url_for("staff.desk_choose_doctor", patient_id=patient_id),
            ],
        ),
        (Role.staff, busy.nurse, []),  # the triage list and the flow board, from her navigation
        (  # the work list from her navigation, an order's page and its specimen label
            Role.staff,
            busy.lab_technician,
            [
                url_for("staff.lab_order", order_id=busy.lab_order.id),
                url_for("staff.lab_label", order_id=busy.lab_order.id),
            ],
        ),
        (Role.super_admin, busy.super_admin, []),
    ]
    pages: list[tuple[str, User | None, str]] = [
        ("anonymous", None, url_for("public.home")),
        ("anonymous", None, url_for("auth.login")),
    ]
    for role, user, paths in extra:
        nav = [
            url_for(link.endpoint)
            for link in [*links_for(role), ACCOUNT[1]]
            if not link.kinds or user.staff.kind in link.kinds
        ]
        # a login per label (page_weight)
        label = "nurse" if user is busy.nurse else "lab" if user is busy.lab_technician else role.value
        pages += [(label, user, path) for path in [*nav, *paths]]
    return pages
