"""Worlds built once per test module: every test of the module runs in a savepoint of the module's
transaction (tests/conftest.py `module_transaction`), so it sees the same rows and leaves none behind.

`world` is the access matrix's: one of everything, and another hospital's of each, for the access
matrix, the security suite and the fuzz test to check every URL × role against."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import (
    HospitalStatus,
    MembershipStatus,
    OutboxEmail,
    PrescriptionStatus,
    Role,
    Sex,
    TimeOff,
    User,
)
from hms.services.notifications import notify
from hms.services.sessions import start_session
from tests import factories


@pytest.fixture(scope="module")
def world_ids(app, module_transaction):  # type: ignore[no-untyped-def]
    """The world's ids, built once for the module at a frozen moment."""
    moment = clock.now().replace(microsecond=0)
    with app.app_context(), clock.frozen(moment):
        built = build_access_world(factories)
        db.session.commit()
    return built | {"now": moment}


@pytest.fixture
def world(world_ids):  # type: ignore[no-untyped-def]
    """The module's world as this test's session sees it, with the clock at the moment it was built."""
    clock.set_frozen(world_ids["now"])
    return {
        "users": {role: db.session.get(User, user_id) for role, user_id in world_ids["users"].items()},
        "ids": world_ids["ids"],
    }


def build_access_world(make) -> dict:  # type: ignore[no-untyped-def]
    """One of each: a hospital with an admin, a staff member, a doctor; a patient; a platform admin;
    their clinical records, bills, tokens, reports and stock, and another hospital's of each."""
    hospital, other_hospital = make.hospital(), make.hospital()
    patient, doctor = make.patient(), make.doctor_at(hospital)
    other_doctor = make.doctor_at(other_hospital)
    own_rule = make.schedule(doctor, hospital, weekdays=[0])[0]
    other_rule = make.schedule(other_doctor, other_hospital, weekdays=[0], breaks=[("12:00", "12:30")])[0]
    other_time_off = TimeOff(
        doctor_id=other_doctor.doctor.id, start_date=date(2030, 1, 1), end_date=date(2030, 1, 2)
    )
    db.session.add(other_time_off)
    soon = clock.now().replace(microsecond=0) + timedelta(days=3)
    own = make.appointment(patient, doctor, hospital, soon)
    in_five_minutes = clock.now().replace(second=0, microsecond=0) + timedelta(minutes=5)
    call = make.appointment(patient, doctor, hospital, in_five_minutes)
    notice = notify(patient, "test", "A notice for the patient only")
    db.session.commit()
    other = make.appointment(make.patient(), other_doctor, other_hospital, soon)
    join_hospital = make.hospital()
    make.doctor(email="free.doctor@example.org")
    staff = make.staff(hospital)
    users = {
        "patient": patient,
        "doctor": doctor,
        "hospital_admin": make.hospital_admin(hospital),
        "staff": staff,
        "super_admin": make.super_admin(),
    }
    other_admin = make.hospital_admin(other_hospital)
    ids = (
        clinical_ids(make, hospital, users)
        | {
            "pending_hospital": make.hospital(status=HospitalStatus.pending).id,
            "hospital": hospital.id,
            "other_hospital": other_hospital.id,
            "doctor": doctor.doctor.id,
            "own_rule": own_rule.id,
            "other_rule": other_rule.id,
            "other_break": other_rule.breaks[0].id,
            "other_time_off": other_time_off.id,
            "own_appointment": own.id,
            "other_appointment": other.id,
            "patient_record": patient.patient.id,
            "other_patient_record": other.patient_id,
            "department": make.department(hospital).id,
            "other_department": make.department(other_hospital).id,
            "membership": doctor.doctor.memberships[0].id,
            "other_membership": make.doctor_at(other_hospital).doctor.memberships[0].id,
            "requested": make.membership(make.doctor(), hospital, status=MembershipStatus.requested).id,
            "own_request": make.membership(doctor, other_hospital, status=MembershipStatus.requested).id,
            "join_hospital": join_hospital.id,
            "invitation": make.invitation(hospital)[0].id,
            "other_invitation": make.invitation(other_hospital)[0].id,
            "token": make.invitation(hospital)[1],
            "staff": staff.staff.id,
            "other_staff": make.staff(other_hospital).staff.id,
            "second_admin": make.hospital_admin(hospital).hospital_admin.id,
            "other_admin": other_admin.hospital_admin.id,
            "call_appointment": call.id,
            "patient_notice": notice.id,
            "own_report": make.saved_report(users["hospital_admin"], hospital).id,
            "other_report": make.saved_report(other_admin, other_hospital).id,
            "platform_report": make.saved_report(users["super_admin"], None).id,
            "stock_item": make.inventory_item(hospital, stock=10, by=users["hospital_admin"]).id,
            "other_stock_item": make.inventory_item(other_hospital, stock=10, by=other_admin).id,
            "other_session": start_session(make.patient(), ip=None, user_agent=None)[0].id,
        }
        | token_ids(make)
        | _billing_world(make, patient, hospital, other_hospital)
    )
    ids |= lab_doctor_ids(make, ids)
    ids |= lab_admin_ids(make, hospital, other_hospital)
    ids |= ward_ids(make, hospital, other_hospital)
    ids |= admission_ids(make, hospital, other_hospital, users)
    return {"users": {role: user.id for role, user in users.items()}, "ids": ids}


def token_ids(make) -> dict[str, int | str]:
    """Someone else's API token, and his calendar feed's secret address; a registration's link."""
    from hms.services import api_tokens, registration

    stranger = make.patient()
    token, _ = api_tokens.create_api_token(stranger, "Theirs")
    _, feed = api_tokens.rotate_calendar_feed(stranger)
    with current_app.test_request_context():
        registration.start_registration(
            Role.patient,
            "pending.person@example.org",
            "a long enough passphrase",
            {
                "full_name": "Pending Person",
                "date_of_birth": date(1990, 1, 1),
                "sex": Sex.male,
                "phone": "+254700000009",
            },
        )
    link = db.session.scalar(select(OutboxEmail.body).where(OutboxEmail.kind == "registration"))
    db.session.commit()
    return {
        "other_token": token.id,
        "feed_token": feed,
        "registration_token": link.split("/register/confirm/")[1].split()[0],
    }


def clinical_ids(make, hospital, users) -> dict[str, int]:
    """The patient's visit with the doctor (now) with a diagnosis, a draft and an issued prescription,
    history entries, a later booking without a visit record; and another doctor's patient and records."""
    now = clock.now().replace(second=0, microsecond=0)
    patient, doctor = users["patient"], users["doctor"]
    appointment = make.appointment(patient, doctor, hospital, start_at=now)
    encounter = make.encounter(appointment, notes="Private clinical note")
    draft = make.prescription(encounter, items=2)
    issued = make.prescription(encounter, status=PrescriptionStatus.active)
    other_patient = make.patient()
    other_appointment = make.appointment(other_patient, make.doctor_at(hospital), hospital, start_at=now)
    other_encounter = make.encounter(other_appointment)
    other_prescription = make.prescription(other_encounter, status=PrescriptionStatus.active)
    return {
        "patient": patient.patient.id,
        "appointment": appointment.id,
        "fresh_appointment": make.appointment(
            patient, doctor, hospital, start_at=now + timedelta(hours=2)
        ).id,
        "encounter": encounter.id,
        "diagnosis": make.diagnosis(encounter).id,
        "draft": draft.id,
        "item": draft.items[0].id,
        "issued": issued.id,
        "patient_entry": make.history_entry(patient).id,
        "doctor_entry": make.history_entry(patient, by=doctor, title="Penicillin").id,
        "other_patient": other_patient.patient.id,
        "other_encounter": other_encounter.id,
        "other_diagnosis": make.diagnosis(other_encounter).id,
        "other_prescription": other_prescription.id,
        "other_item": other_prescription.items[0].id,
        "other_patient_entry": make.history_entry(other_patient).id,
    }


def _billing_world(make, patient, hospital, other_hospital) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The patient's bills at the hospital (issued, draft, paid with a receipt, refunded at the desk)
    and another patient's elsewhere; rows written directly, in one commit, for speed."""
    from hms.extensions import db
    from hms.models import (
        Bill,
        BillItem,
        BillStatus,
        ItemKind,
        Payment,
        PaymentMethod,
        PaymentProvider,
        PaymentStatus,
        Refund,
        RefundStatus,
    )

    other_patient = make.patient()

    def bill(owner, where, status):  # type: ignore[no-untyped-def]
        row = Bill(hospital_id=where.id, patient_id=owner.patient.id, currency=where.currency, status=status)
        row.items.append(
            BillItem(
                kind=ItemKind.procedure, description="X-ray", quantity=1, unit_minor=1000, amount_minor=1000
            )
        )
        row.total_minor = 1000
        db.session.add(row)
        return row

    def paid(owner, where, refunded: bool):  # type: ignore[no-untyped-def]
        row = bill(owner, where, BillStatus.refunded if refunded else BillStatus.paid)
        row.paid_minor = 1000
        payment = Payment(
            key=make.billing_key(),
            bill=row,
            provider=PaymentProvider.desk,
            method=PaymentMethod.cash,
            status=PaymentStatus.succeeded,
            amount_minor=1000,
            currency=where.currency,
            receipt_number=f"W{where.id}-{payment_seq()}",  # not the app's R… series
        )
        db.session.add(payment)
        refund = None
        if refunded:
            refund = Refund(
                key=make.billing_key(),
                bill=row,
                payment=payment,
                amount_minor=1000,
                currency=where.currency,
                status=RefundStatus.pending,
                reason="Test",
            )
            db.session.add(refund)
        return payment, refund

    own_bill = bill(patient, hospital, BillStatus.issued)
    own_draft = bill(patient, hospital, BillStatus.draft)
    own_payment, _ = paid(patient, hospital, refunded=False)
    _, own_refund = paid(patient, hospital, refunded=True)
    other_bill = bill(other_patient, other_hospital, BillStatus.issued)
    other_payment, other_refund = paid(other_patient, other_hospital, refunded=True)
    db.session.commit()
    return {
        "own_bill": own_bill.id,
        "own_draft": own_draft.id,
        "own_bill_item": own_draft.items[0].id,
        "own_payment": own_payment.id,
        "own_refund": own_refund.id,
        "other_bill": other_bill.id,
        "other_bill_item": other_bill.items[0].id,
        "other_payment": other_payment.id,
        "other_refund": other_refund.id,
    }


_receipts = iter(range(1, 10**9))


def payment_seq() -> str:
    return f"{next(_receipts):06d}"


def lab_admin_ids(make, hospital, other_hospital) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The catalogue the hospital admin edits (a test with a reference range, a panel), and another
    hospital's of each."""

    def catalogue(where):  # type: ignore[no-untyped-def]
        test, second = make.lab_test(where, "ADM1"), make.lab_test(where, "ADM2")
        return test.id, test.ranges[0].id, make.lab_panel(where, [test, second], code="ADMP").id

    own, other = catalogue(hospital), catalogue(other_hospital)
    keys = ("lab_test", "lab_range", "lab_panel")
    return dict(zip(keys, own, strict=True)) | dict(zip([f"other_{k}" for k in keys], other, strict=True))


def ward_ids(make, hospital, other_hospital) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A ward with a free bed and a bed being cleaned, another hospital's ward and bed, and an admission
    order of the hospital waiting for a bed (another doctor's patient)."""
    from hms.models import BedStatus
    from hms.services import inpatient

    ward, other = make.ward(hospital, "Matrix ward", beds=1), make.ward(other_hospital, "Matrix ward", beds=1)
    waiting = inpatient.admit_patient(
        hospital=hospital, patient=make.patient().patient, ward_id=ward.id, bed_id=None, doctor_id=None,
        actor=make.doctor_at(hospital), reason="Matrix order",
    )  # fmt: skip
    db.session.commit()
    return {
        "waiting_admission": waiting.id,
        "ward": ward.id,
        "bed": ward.beds[0].id,
        "cleaning_bed": make.bed(ward, "C1", status=BedStatus.cleaning).id,
        "other_ward": other.id,
        "other_bed": other.beds[0].id,
    }


def admission_ids(make, hospital, other_hospital, users) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The doctor's inpatient (another patient, in a bed), the world patient's stay with him (discharged,
    its summary written) and another hospital's inpatient."""
    from hms.services import inpatient

    def admit(where, doctor, patient, bed):  # type: ignore[no-untyped-def]
        return inpatient.admit_patient(
            hospital=where, patient=patient.patient, ward_id=None, bed_id=bed.id, doctor_id=None,
            actor=doctor, reason="Matrix stay",
        )  # fmt: skip

    ward = make.ward(hospital, "Matrix stays", beds=2, daily_rate_minor=0)
    own = admit(hospital, users["doctor"], make.patient(), ward.beds[0])
    past = admit(hospital, users["doctor"], users["patient"], ward.beds[1])
    inpatient.order_discharge(past, users["doctor"], {"discharge_diagnoses": "J18.9 Pneumonia"})
    inpatient.discharge_patient(past, users["doctor"])
    other_ward = make.ward(other_hospital, "Matrix stays", beds=1)
    other = admit(other_hospital, make.doctor_at(other_hospital), make.patient(), other_ward.beds[0])
    db.session.commit()
    return {"own_admission": own.id, "patient_admission": past.id, "other_admission": other.id}


def lab_doctor_ids(make, ids: dict) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A collected order from the patient's visit with the doctor whose critical potassium waits for
    verification and acknowledgement, another one verified, and an order from another doctor's visit."""
    from hms.models import Encounter
    from hms.services import lab

    encounter = db.session.get(Encounter, ids["encounter"])
    test = make.lab_test(encounter.hospital, name="Potassium")
    order = make.collected_lab_order(encounter, tests=[test])
    technician, verifier = (
        make.lab_technician(encounter.hospital),
        make.lab_technician(encounter.hospital, senior=True),
    )
    result = lab.enter_result(order.items[0], technician, "7.2")
    verified = make.collected_lab_order(encounter, tests=[test])
    lab.enter_result(verified.items[0], technician, "5.6")
    lab.verify_result(verified.items[0], verifier)
    other = make.lab_order(db.session.get(Encounter, ids["other_encounter"]))
    db.session.commit()
    return {
        "doctor_lab_order": order.id,
        "doctor_lab_item": order.items[0].id,
        "doctor_lab_result": result.id,
        "verified_lab_order": verified.id,
        "other_doctor_lab_order": other.id,
        "other_doctor_lab_item": other.items[0].id,
    }
