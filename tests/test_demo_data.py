"""The demo data of `make run` (hms/demo.py): every role finds something to do today, whatever the day
and the hour, and loading it again changes nothing on the same day."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from hms import clock, demo
from hms.extensions import db
from hms.models import (
    Appointment,
    AppointmentStatus,
    Bill,
    BillStatus,
    Diagnosis,
    Encounter,
    Hospital,
    Membership,
    Prescription,
    PrescriptionStatus,
    QueueEntry,
    User,
)
from hms.services import audit, scheduling


@pytest.fixture(scope="module")
def seeded_at(app, module_transaction):  # type: ignore[no-untyped-def]
    """The demo data, loaded once for the module at the real current moment."""
    moment = clock.now().replace(microsecond=0)
    with app.app_context(), clock.frozen(moment):
        demo.seed()
        db.session.commit()
    return moment


@pytest.fixture
def seeded(seeded_at):  # type: ignore[no-untyped-def]
    clock.set_frozen(seeded_at)
    return seeded_at


def user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def hospital() -> Hospital:
    return db.session.scalar(select(Hospital).where(Hospital.name == demo.DEMO_HOSPITAL))


def visits_on(doctor: User, day_offset: int) -> list[Appointment]:
    """The doctor's visits (not cancelled) on today + `day_offset`, today in the hospital's zone."""
    riverside = hospital()
    day = scheduling.local_today(riverside) + timedelta(days=day_offset)
    start = datetime.combine(day, time(0), tzinfo=riverside.tz)
    return list(
        db.session.scalars(
            select(Appointment).where(
                Appointment.doctor_id == doctor.doctor.id,
                Appointment.status != AppointmentStatus.cancelled,
                Appointment.start_at >= start.astimezone(UTC),
                Appointment.start_at < (start + timedelta(days=1)).astimezone(UTC),
            )
        )
    )


def test_the_demo_doctor_has_visits_today_and_tomorrow_in_the_hospitals_time_zone(seeded):
    doctor = user(demo.DEMO_DOCTOR)
    today, tomorrow = visits_on(doctor, 0), visits_on(doctor, 1)
    assert today and tomorrow
    tz = hospital().tz
    for visit in today + tomorrow:  # on the schedule's slots: 09:00 to 17:00, half-hours
        local = visit.start_at.astimezone(tz)
        assert time(9) <= local.time() < time(17) and local.minute in (0, 30)
    # What has started is seen or waiting (one checked in); what has not is booked, or already here
    # (the next ones and the walk-ins, checked in when the desk may: on the flow board); all are billed.
    ahead = [v for v in today if v.start_at > seeded]
    assert {v.status for v in ahead} <= {AppointmentStatus.booked, AppointmentStatus.arrived}
    here = {v.id for v in ahead if v.status == AppointmentStatus.arrived}
    queued = select(QueueEntry.appointment_id).where(QueueEntry.appointment_id.in_(here))
    assert set(db.session.scalars(queued)) == here
    started = [v for v in today if v.start_at <= seeded]
    if started:
        assert sorted(v.status for v in started) == sorted(
            [AppointmentStatus.fulfilled] * (len(started) - 1) + [AppointmentStatus.arrived]
        )
    assert all(v.status == AppointmentStatus.booked for v in tomorrow)
    assert db.session.scalar(
        select(func.count(Bill.id)).where(Bill.appointment_id.in_([v.id for v in today + tomorrow]))
    ) == len(today + tomorrow)


def test_demo_visits_never_overlap_for_a_doctor_or_a_patient(seeded):
    visits = db.session.scalars(
        select(Appointment)
        .where(Appointment.status != AppointmentStatus.cancelled)
        .order_by(Appointment.start_at)
    ).all()
    for key in ("doctor_id", "patient_id"):
        by_person: dict[int, list[Appointment]] = {}
        for visit in visits:
            by_person.setdefault(getattr(visit, key), []).append(visit)
        for own in by_person.values():
            for earlier, later in zip(own, own[1:], strict=False):
                assert earlier.end_at <= later.start_at


def test_demo_patients_have_a_history_of_recorded_and_billed_visits(seeded):
    amina = user("amina@example.org").patient
    past = db.session.scalars(
        select(Encounter)
        .join(Appointment, Encounter.appointment_id == Appointment.id)
        .where(Encounter.patient_id == amina.id, Appointment.start_at < seeded - timedelta(days=1))
    ).all()
    assert len(past) >= 2
    assert all(e.appointment.status == AppointmentStatus.fulfilled for e in past)
    assert db.session.scalar(
        select(func.count(Diagnosis.id)).where(Diagnosis.encounter_id.in_([e.id for e in past]))
    ) >= len(past)
    issued = db.session.scalars(
        select(Prescription).where(Prescription.status == PrescriptionStatus.active)
    ).all()
    assert len(issued) >= 3 and amina.id in {p.patient_id for p in issued}
    # Past visits' bills: most paid at the desk, one still owed.
    past_bills = db.session.scalars(
        select(Bill)
        .join(Appointment, Bill.appointment_id == Appointment.id)
        .where(Appointment.start_at < seeded - timedelta(days=1))
    ).all()
    statuses = [b.status for b in past_bills]
    assert statuses.count(BillStatus.issued) == 1
    assert statuses.count(BillStatus.paid) >= 3


def test_every_demo_doctor_is_in_the_department_of_his_specialty(seeded):
    departments = {
        m.doctor.user.email: (m.doctor.specialty, m.department.name)
        for m in db.session.scalars(select(Membership).where(Membership.hospital_id == hospital().id))
    }
    assert departments["dr.santos@example.org"] == ("Cardiology", "Cardiology")
    assert departments["dr.mehta@example.org"] == ("Paediatrics", "Paediatrics")
    assert departments[demo.DEMO_DOCTOR] == ("General practice", "General Medicine")


def test_every_demo_account_exists_with_the_demo_password(seeded):
    from hms.services import passwords

    for _role, email, name in demo.DEMO_ACCOUNTS:
        account = user(email)
        assert account is not None and account.full_name == name
    assert passwords.verify_password(user("nurse@example.org").password_hash, demo.DEMO_PASSWORD)


def test_the_back_dated_events_are_sealed_into_the_audit_chain(seeded):
    assert audit.chain_problem() is None


def test_loading_it_again_the_same_day_changes_nothing(app, seeded):
    counts = [db.session.scalar(select(func.count(m.id))) for m in (User, Appointment, Bill)]
    result = app.test_cli_runner().invoke(args=["hms", "seed-demo"])
    assert result.exit_code == 0, result.output
    assert "already loaded" in result.output and "Booked" not in result.output
    assert [db.session.scalar(select(func.count(m.id))) for m in (User, Appointment, Bill)] == counts


def test_on_a_later_day_loading_it_again_books_the_demo_doctors_day(app, seeded):
    clock.set_frozen(seeded + timedelta(days=3))
    doctor = user(demo.DEMO_DOCTOR)
    assert not visits_on(doctor, 0) and not visits_on(doctor, 1)
    users = db.session.scalar(select(func.count(User.id)))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["hms", "seed-demo"])
    assert result.exit_code == 0, result.output
    assert "already loaded" in result.output and "demo visits for today and tomorrow" in result.output
    assert visits_on(doctor, 0) and visits_on(doctor, 1)
    assert db.session.scalar(select(func.count(User.id))) == users
    again = runner.invoke(args=["hms", "seed-demo"])
    assert "Booked" not in again.output


def test_the_demo_hospital_has_three_wards_with_their_beds_once(app, seeded):
    from hms.models import Bed, Ward
    from hms.services import wards

    riverside = hospital()
    listing = {entry.ward.name: entry for entry in wards.ward_beds(riverside.id)}
    assert {name: len(entry.beds) for name, entry in listing.items()} == {
        "General ward": 12,
        "Maternity": 6,
        "ICU": 4,
    }
    assert listing["ICU"].ward.daily_rate_minor > listing["General ward"].ward.daily_rate_minor > 0
    assert [bed.label for bed in listing["ICU"].beds] == ["ICU-1", "ICU-2", "ICU-3", "ICU-4"]
    counts = [db.session.scalar(select(func.count(m.id))) for m in (Ward, Bed)]
    assert demo._seed_wards(riverside) == 0  # noqa: SLF001
    assert [db.session.scalar(select(func.count(m.id))) for m in (Ward, Bed)] == counts


@pytest.mark.parametrize(
    "local",
    [
        datetime(2026, 3, 10, 0, 5),  # just after midnight: the afternoon is too far off to check in
        datetime(2026, 3, 8, 6, 0),  # a Sunday before the weekend clinic opens
        datetime(2026, 3, 11, 12, 40),  # a Wednesday at noon: half the day seen
        datetime(2026, 3, 14, 23, 30),  # a Saturday night: the day is over, Sunday is a clinic day
    ],
)
def test_the_demo_doctor_has_a_day_of_visits_whatever_the_day_and_hour(seeded, local):
    """The days are booked as `seed` books them (`top_up` is the same code, on a day without visits)."""
    clock.set_frozen(local.replace(tzinfo=ZoneInfo("Africa/Nairobi")))
    assert demo.top_up() >= 5
    doctor = user(demo.DEMO_DOCTOR)
    today, tomorrow = visits_on(doctor, 0), visits_on(doctor, 1)
    assert len(today) >= 3 and len(tomorrow) >= 2
    # Something is left to do: a patient checked in and waiting, or visits still to come.
    assert any(v.status in (AppointmentStatus.booked, AppointmentStatus.arrived) for v in today)


def test_the_demo_wards_hold_a_week_of_inpatients_once(app, seeded):
    from hms.models import Admission, AdmissionStatus, Bed, BedStatus, ItemKind

    riverside = hospital()
    by_email = {
        a.patient.user.email: a
        for a in db.session.scalars(select(Admission).where(Admission.hospital_id == riverside.id))
    }
    assert {email: a.status for email, a in by_email.items()} == {
        "john@example.org": AdmissionStatus.discharged,
        "sofia@example.org": AdmissionStatus.admitted,
        "amina@example.org": AdmissionStatus.discharge_ordered,
        "brian@example.org": AdmissionStatus.ordered,
    }
    john = by_email["john@example.org"]
    assert [stay.bed.label for stay in john.stays] == ["ICU-1", "G3"]
    assert john.discharge_diagnoses.startswith("E87.5") and john.bill is not None
    assert {item.kind for item in john.bill.items} == {ItemKind.room}
    assert sum(item.quantity for item in john.bill.items) == 4  # four midnights in hospital
    assert len(by_email["sofia@example.org"].notes) == 2
    beds = {b.label: b.status for b in db.session.scalars(select(Bed).where(Bed.hospital_id == riverside.id))}
    assert (beds["G1"], beds["G2"], beds["G3"], beds["ICU-1"], beds["M6"]) == (
        BedStatus.occupied,
        BedStatus.occupied,
        BedStatus.cleaning,
        BedStatus.free,
        BedStatus.out_of_service,
    )
    nurse = db.session.scalar(select(User).where(User.email == demo.NURSE))
    assert demo._seed_inpatients(riverside, nurse, nurse) == 0  # noqa: SLF001
    assert db.session.scalar(select(func.count(Admission.id))) == len(by_email)
