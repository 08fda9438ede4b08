"""Slot computation and the booking rules, at the service level."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import AppointmentStatus, HospitalStatus, MembershipStatus, Notification, ScheduleRule
from hms.services import scheduling
from hms.services.errors import Conflict, Invalid, NotAllowed

# A Monday, well before the days used below.
NOW = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
def clinic(make):
    """A doctor working 09:00–12:00 every day (Nairobi, UTC+3) with a patient ready to book."""
    clock.set_frozen(NOW)
    hospital = make.hospital(timezone="Africa/Nairobi")
    doctor = make.doctor_at(hospital)
    make.schedule(doctor, hospital, start="09:00", end="12:00")
    return hospital, doctor, make.patient()


def hhmm(slots):  # type: ignore[no-untyped-def]
    return [s.local_start.strftime("%H:%M") for s in slots]


def book(patient, doctor, hospital, start, **kw):  # type: ignore[no-untyped-def]
    appointment = scheduling.book_appointment(
        patient=patient.patient,
        doctor_id=doctor.doctor.id,
        hospital_id=hospital.id,
        start=start,
        reason=kw.pop("reason", "Cough"),
        booked_by=kw.pop("by", patient),
        **kw,
    )
    db.session.commit()
    return appointment


def at(hospital, day: date, hh_mm: str) -> datetime:  # type: ignore[no-untyped-def]
    return datetime.combine(day, time.fromisoformat(hh_mm), tzinfo=hospital.tz).astimezone(UTC)


DAY = date(2027, 3, 3)  # a Wednesday


def test_slots_cover_the_working_hours_in_slot_steps(clinic):
    hospital, doctor, _ = clinic
    slots = scheduling.day_slots(doctor.doctor.id, hospital, DAY)
    assert hhmm(slots) == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    assert slots[0].start == datetime(2027, 3, 3, 6, 0, tzinfo=UTC)  # Nairobi is UTC+3
    assert all(s.free for s in slots)


def test_breaks_remove_their_slots(clinic, make):
    hospital, doctor, _ = clinic
    rule = db.session.scalars(select(ScheduleRule).where(ScheduleRule.weekday == DAY.weekday())).one()
    scheduling.add_break(rule, time(10, 0), time(10, 30), actor=doctor)
    db.session.commit()
    assert hhmm(scheduling.day_slots(doctor.doctor.id, hospital, DAY)) == [
        "09:00",
        "09:30",
        "10:30",
        "11:00",
        "11:30",
    ]


def test_time_off_removes_whole_days(clinic):
    hospital, doctor, _ = clinic
    scheduling.add_time_off(
        doctor=doctor.doctor, start_date=DAY, end_date=DAY + timedelta(days=1), actor=doctor
    )
    db.session.commit()
    assert scheduling.day_slots(doctor.doctor.id, hospital, DAY) == []
    assert scheduling.day_slots(doctor.doctor.id, hospital, DAY + timedelta(days=1)) == []
    assert len(scheduling.day_slots(doctor.doctor.id, hospital, DAY + timedelta(days=2))) == 6


def test_a_page_of_doctors_gets_each_ones_first_time_past_his_bookings_and_time_off(clinic, make):
    """The search's next free times: the page's appointments and time off are read in one statement for
    all its doctors (rows of moments and rows of days); each doctor gets only his own."""
    hospital, booked, patient = clinic
    away = make.doctor_at(hospital)
    make.schedule(away, hospital, start="09:00", end="12:00")
    idle = make.doctor_at(hospital)
    make.schedule(idle, hospital, start="09:00", end="12:00")
    clock.set_frozen(at(hospital, DAY, "07:00"))
    book(patient, booked, hospital, at(hospital, DAY, "09:00"))
    scheduling.add_time_off(doctor=away.doctor, start_date=DAY, end_date=DAY + timedelta(days=1), actor=away)
    db.session.commit()
    memberships, _total = scheduling.search_doctors(hospital_id=hospital.id)
    first = scheduling.next_free_slots(memberships)
    found = {m.doctor_id: first[m.id] for m in memberships}
    assert found[booked.doctor.id].start == at(hospital, DAY, "09:30")
    assert found[away.doctor.id].start == at(hospital, DAY + timedelta(days=2), "09:00")
    assert found[idle.doctor.id].start == at(hospital, DAY, "09:00")
    # The picker's calendar of one doctor reads the same statement.
    assert hhmm(scheduling.day_slots(booked.doctor.id, hospital, DAY))[0] == "09:00"
    assert [s.free for s in scheduling.day_slots(booked.doctor.id, hospital, DAY)][:2] == [False, True]
    assert scheduling.day_slots(away.doctor.id, hospital, DAY + timedelta(days=1)) == []


def test_the_first_free_time_is_the_first_free_slot_of_the_days_shown_whatever_the_clock(clinic, make):
    """`Calendar.first_free` (the search's next free time) walks the schedule's slots without making
    each day's list: it must find what the picker's days show as the first free one, past a full day,
    a break, time off and the slots already gone, and nothing when the fortnight is full."""
    hospital, doctor, patient = clinic
    rule = db.session.scalars(select(ScheduleRule).where(ScheduleRule.weekday == DAY.weekday())).one()
    scheduling.add_break(rule, time(10, 0), time(10, 30), actor=doctor)
    for hhmm_ in ("09:00", "09:30", "10:30", "11:00", "11:30"):  # DAY full (10:00 is the break)
        book(make.patient(), doctor, hospital, at(hospital, DAY, hhmm_))
    book(patient, doctor, hospital, at(hospital, DAY + timedelta(days=2), "09:00"))
    off = DAY + timedelta(days=1)
    scheduling.add_time_off(doctor=doctor.doctor, start_date=off, end_date=off, actor=doctor)
    db.session.commit()
    membership = scheduling.bookable_membership(doctor.doctor.id, hospital.id)
    calendar = scheduling.calendar_for(membership, DAY, DAY + timedelta(days=scheduling.PICKER_DAYS - 1))
    days = [DAY + timedelta(days=n) for n in range(scheduling.PICKER_DAYS)]
    moments = [at(hospital, DAY, "06:00")] + [at(hospital, days[2], t) for t in ("09:10", "11:40", "23:00")]
    for now in moments:
        shown = next((s for d in days for s in calendar.slots(d, now) if s.free), None)
        assert calendar.first_free(now) == shown
    assert calendar.first_free(at(hospital, DAY, "06:00")).start == at(hospital, days[2], "09:30")
    assert calendar.first_free(at(hospital, days[-1], "12:00")) is None


def test_the_pickers_card_shows_what_the_membership_holds(clinic, make):
    """The picker's pages read plain values; they must be the membership's, with the same weekly hours,
    and nothing for a doctor who takes no bookings there."""
    hospital, doctor, _ = clinic
    rule = db.session.scalars(select(ScheduleRule).where(ScheduleRule.weekday == DAY.weekday())).one()
    scheduling.add_break(rule, time(10, 0), time(10, 30), actor=doctor)
    db.session.commit()
    card = scheduling.picker_card(doctor.doctor.id, hospital.id)
    membership = scheduling.bookable_membership(doctor.doctor.id, hospital.id)
    assert (card.id, card.doctor_id, card.hospital_id, card.fee_minor) == (
        membership.id,
        membership.doctor_id,
        membership.hospital_id,
        membership.fee_minor,
    )
    assert card.doctor == (
        doctor.doctor.id,
        doctor.full_name,
        doctor.doctor.specialty,
        doctor.doctor.qualifications,
        doctor.doctor.bio,
    )
    assert (card.hospital.name, card.hospital.city, card.hospital.currency, card.hospital.tz) == (
        hospital.name,
        hospital.city,
        hospital.currency,
        hospital.tz,
    )
    assert card.loaded_hours == membership.loaded_hours and len(card.loaded_hours) == 7
    assert any(h.breaks == ((time(10, 0), time(10, 30)),) for h in card.loaded_hours)
    first, last = DAY, DAY + timedelta(days=1)
    assert scheduling.calendar_for(card, first, last).slots(DAY, NOW) == scheduling.calendar_for(
        membership, first, last
    ).slots(DAY, NOW)
    assert scheduling.picker_card(doctor.doctor.id, hospital.id + 1000) is None
    hospital.status = HospitalStatus.suspended
    db.session.commit()
    assert scheduling.picker_card(doctor.doctor.id, hospital.id) is None


def test_past_slots_are_not_offered(clinic):
    hospital, doctor, _ = clinic
    clock.set_frozen(at(hospital, DAY, "10:15"))
    assert hhmm(scheduling.day_slots(doctor.doctor.id, hospital, DAY)) == ["10:30", "11:00", "11:30"]


@pytest.mark.parametrize(("minutes", "count"), [(10, 18), (15, 12), (20, 9), (45, 4), (60, 3)])
def test_slot_lengths(make, minutes, count):
    clock.set_frozen(NOW)
    hospital = make.hospital()
    doctor = make.doctor_at(hospital)
    make.schedule(doctor, hospital, start="09:00", end="12:00", slot_minutes=minutes)
    assert len(scheduling.day_slots(doctor.doctor.id, hospital, DAY)) == count


def test_slots_are_in_the_hospitals_time_zone(make):
    clock.set_frozen(NOW)
    hospital = make.hospital(timezone="Asia/Kolkata")
    doctor = make.doctor_at(hospital)
    make.schedule(doctor, hospital, start="09:00", end="10:00")
    slots = scheduling.day_slots(doctor.doctor.id, hospital, DAY)
    assert [s.start for s in slots] == [
        datetime(2027, 3, 3, 3, 30, tzinfo=UTC),
        datetime(2027, 3, 3, 4, 0, tzinfo=UTC),
    ]


def test_spring_forward_day_has_one_hour_fewer(make):
    """Berlin, Sunday 28 March 2027: clocks jump from 02:00 to 03:00."""
    clock.set_frozen(NOW)
    hospital = make.hospital(timezone="Europe/Berlin")
    doctor = make.doctor_at(hospital)
    make.schedule(doctor, hospital, weekdays=[6], start="00:00", end="04:00")
    make.schedule(make.doctor_at(hospital, email="day@example.org"), hospital, weekdays=[6])
    spring = date(2027, 3, 28)
    slots = scheduling.day_slots(doctor.doctor.id, hospital, spring)
    assert hhmm(slots) == ["00:00", "00:30", "01:00", "01:30", "03:00", "03:30"]
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)
    # A day shift is unaffected, now at UTC+2.
    day_doctor = (
        db.session.scalars(select(ScheduleRule).where(ScheduleRule.start_time == time(9))).first().doctor
    )
    day = scheduling.day_slots(day_doctor.id, hospital, spring)
    assert day[0].start == datetime(2027, 3, 28, 7, 0, tzinfo=UTC)
    assert len(day) == 16


def test_fall_back_day_has_one_hour_more(make):
    """Berlin, Sunday 31 October 2027: clocks go back from 03:00 to 02:00."""
    clock.set_frozen(NOW)
    hospital = make.hospital(timezone="Europe/Berlin")
    doctor = make.doctor_at(hospital)
    make.schedule(doctor, hospital, weekdays=[6], start="00:00", end="04:00")
    autumn = date(2027, 10, 31)
    slots = scheduling.day_slots(doctor.doctor.id, hospital, autumn)
    assert len(slots) == 10
    assert hhmm(slots) == [
        "00:00",
        "00:30",
        "01:00",
        "01:30",
        "02:00",
        "02:30",
        "02:00",
        "02:30",
        "03:00",
        "03:30",
    ]
    offsets = [s.local_start.utcoffset() for s in slots]
    assert offsets[4] == timedelta(hours=2) and offsets[6] == timedelta(hours=1)
    assert len({s.start for s in slots}) == 10  # every slot a distinct instant


def test_day_strip_counts_free_slots(clinic, make):
    hospital, doctor, patient = clinic
    book(patient, doctor, hospital, at(hospital, DAY, "09:00"))
    strip = dict(scheduling.day_strip(doctor.doctor.id, hospital, DAY, days=3))
    assert strip == {DAY: 5, DAY + timedelta(days=1): 6, DAY + timedelta(days=2): 6}


def test_booking_takes_the_slot_and_writes_an_audit_row(clinic):
    hospital, doctor, patient = clinic
    appointment = book(patient, doctor, hospital, at(hospital, DAY, "09:30"), reason="  Cough for a week ")
    assert appointment.status == AppointmentStatus.booked
    assert appointment.reason == "Cough for a week"
    assert appointment.end_at - appointment.start_at == timedelta(minutes=30)
    slots = scheduling.day_slots(doctor.doctor.id, hospital, DAY)
    assert [s.free for s in slots] == [True, False, True, True, True, True]


def test_a_taken_slot_is_refused_with_the_nearest_free_slots(clinic, make):
    hospital, doctor, patient = clinic
    book(patient, doctor, hospital, at(hospital, DAY, "09:30"))
    with pytest.raises(scheduling.SlotTaken) as refused:
        book(make.patient(), doctor, hospital, at(hospital, DAY, "09:30"))
    db.session.rollback()
    assert hhmm(refused.value.alternatives) == ["10:00", "10:30", "11:00"]


def test_the_nearest_free_slots_come_from_the_pickers_calendar_or_past_its_end(clinic, make):
    """A refusal shown with the picker takes the nearest free times from the picker's own calendar (no
    statement of its own); when that fortnight holds fewer than three from the taken time on, they are
    read over the whole horizon, as `alternatives` reads them."""
    hospital, doctor, patient = clinic
    book(patient, doctor, hospital, at(hospital, DAY, "09:30"))
    with pytest.raises(scheduling.SlotTaken) as refused:
        book(make.patient(), doctor, hospital, at(hospital, DAY, "09:30"))
    db.session.rollback()
    today = scheduling.local_today(hospital)
    fortnight = scheduling.Calendar(doctor.doctor.id, hospital, today, today + timedelta(days=13))
    assert hhmm(refused.value.nearest_in(fortnight, clock.now())) == ["10:00", "10:30", "11:00"]
    # A calendar that ends on the taken day, as seen while the rest of that morning was booked too.
    full = [(at(hospital, DAY, "09:30"), at(hospital, DAY, "12:00"))]
    short = scheduling.Calendar(doctor.doctor.id, hospital, today, DAY, busy=full, time_off=[])
    assert short.nearest_free(at(hospital, DAY, "09:30"), clock.now()) == []
    assert refused.value.nearest_in(short, clock.now()) == refused.value.alternatives
    assert hhmm(refused.value.alternatives) == ["10:00", "10:30", "11:00"]


def test_a_patient_cannot_hold_two_overlapping_appointments_anywhere(clinic, make):
    hospital, doctor, patient = clinic
    other_hospital = make.hospital(timezone="Africa/Nairobi")
    other = make.doctor_at(other_hospital)
    make.schedule(other, other_hospital, start="09:10", end="12:10", slot_minutes=20)
    book(patient, doctor, hospital, at(hospital, DAY, "09:00"))
    with pytest.raises(Conflict, match="already have an appointment"):
        book(patient, other, other_hospital, at(other_hospital, DAY, "09:10"))
    db.session.rollback()
    book(patient, other, other_hospital, at(other_hospital, DAY, "09:30"))  # after the first one ends


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("08:30", "not on the doctor's schedule"),
        ("09:10", "not on the doctor's schedule"),
        ("12:00", "not on"),
    ],
)
def test_times_off_the_schedule_are_refused(clinic, when, message):
    hospital, doctor, patient = clinic
    with pytest.raises(Invalid, match=message):
        book(patient, doctor, hospital, at(hospital, DAY, when))


def test_past_times_are_refused(clinic):
    hospital, doctor, patient = clinic
    clock.set_frozen(at(hospital, DAY, "10:05"))
    with pytest.raises(Invalid, match="already passed"):
        book(patient, doctor, hospital, at(hospital, DAY, "10:00"))


def test_break_and_time_off_are_refused_server_side(clinic):
    hospital, doctor, patient = clinic
    rule = db.session.scalars(select(ScheduleRule).where(ScheduleRule.weekday == DAY.weekday())).one()
    scheduling.add_break(rule, time(10, 0), time(11, 0), actor=doctor)
    scheduling.add_time_off(
        doctor=doctor.doctor,
        start_date=DAY + timedelta(days=1),
        end_date=DAY + timedelta(days=1),
        actor=doctor,
    )
    db.session.commit()
    with pytest.raises(Invalid):
        book(patient, doctor, hospital, at(hospital, DAY, "10:30"))
    with pytest.raises(Invalid):
        book(patient, doctor, hospital, at(hospital, DAY + timedelta(days=1), "09:00"))


@pytest.mark.parametrize("what", ["inactive membership", "suspended hospital", "deactivated doctor"])
def test_no_bookings_where_the_doctor_does_not_take_them(clinic, what):
    hospital, doctor, patient = clinic
    if what == "inactive membership":
        doctor.doctor.memberships[0].status = MembershipStatus.inactive
    elif what == "suspended hospital":
        hospital.status = HospitalStatus.suspended
    else:
        doctor.active = False
    db.session.commit()
    with pytest.raises(Conflict, match="no new bookings"):
        book(patient, doctor, hospital, at(hospital, DAY, "09:00"))


def test_a_doctor_at_another_hospital_is_refused(clinic, make):
    hospital, doctor, patient = clinic
    elsewhere = make.hospital()
    with pytest.raises(Invalid, match="does not work at that hospital"):
        book(patient, doctor, elsewhere, at(hospital, DAY, "09:00"))


def test_the_same_idempotency_key_books_once(clinic):
    hospital, doctor, patient = clinic
    first = book(patient, doctor, hospital, at(hospital, DAY, "09:00"), idempotency_key="k" * 32)
    again = book(patient, doctor, hospital, at(hospital, DAY, "09:00"), idempotency_key="k" * 32)
    assert first.id == again.id


def test_cancelling_frees_the_slot_at_once(clinic):
    hospital, doctor, patient = clinic
    appointment = book(patient, doctor, hospital, at(hospital, DAY, "09:00"))
    scheduling.cancel_appointment(appointment, patient)
    db.session.commit()
    assert appointment.status == AppointmentStatus.cancelled and appointment.active_slot is None
    assert scheduling.day_slots(doctor.doctor.id, hospital, DAY)[0].free
    assert book(patient, doctor, hospital, at(hospital, DAY, "09:00")).id != appointment.id


def test_patients_cannot_cancel_after_the_cut_off(clinic):
    hospital, doctor, patient = clinic
    appointment = book(patient, doctor, hospital, at(hospital, DAY, "11:00"))
    clock.set_frozen(at(hospital, DAY, "09:01"))  # 1 h 59 min before; cut-off is 2 h
    with pytest.raises(Conflict, match="until 2 hours before"):
        scheduling.cancel_appointment(appointment, patient)
    hospital.cancel_cutoff_minutes = 60
    db.session.commit()
    scheduling.cancel_appointment(appointment, patient)


def test_a_doctor_cancels_with_a_reason_and_the_patient_is_notified(clinic):
    hospital, doctor, patient = clinic
    appointment = book(patient, doctor, hospital, at(hospital, DAY, "11:00"))
    with pytest.raises(Invalid, match="reason"):
        scheduling.cancel_appointment(appointment, doctor, "  ")
    scheduling.cancel_appointment(appointment, doctor, "Called to surgery")
    db.session.commit()
    notice = db.session.scalar(select(Notification).where(Notification.user_id == patient.id))
    assert "Called to surgery" in notice.text


def test_reschedule_moves_the_booking_in_one_step(clinic):
    hospital, doctor, patient = clinic
    old = book(patient, doctor, hospital, at(hospital, DAY, "09:00"))
    new = scheduling.reschedule_appointment(old, at(hospital, DAY, "11:30"), patient)
    db.session.commit()
    assert new.rescheduled_from_id == old.id and new.status == AppointmentStatus.booked
    assert old.status == AppointmentStatus.cancelled and old.cancel_reason == "Rescheduled"
    assert [s.free for s in scheduling.day_slots(doctor.doctor.id, hospital, DAY)] == [True] * 5 + [False]


def test_reschedule_to_a_slot_overlapping_the_old_one_is_allowed(make):
    clock.set_frozen(NOW)
    hospital = make.hospital(timezone="Africa/Nairobi")
    doctor = make.doctor_at(hospital)
    make.schedule(doctor, hospital, start="09:00", end="12:00", slot_minutes=30)
    patient = make.patient()
    old = book(patient, doctor, hospital, at(hospital, DAY, "09:00"))
    new = scheduling.reschedule_appointment(old, at(hospital, DAY, "09:30"), patient)
    db.session.commit()
    assert new.start_at == at(hospital, DAY, "09:30")


def test_a_failed_reschedule_changes_nothing(clinic, make):
    hospital, doctor, patient = clinic
    old = book(patient, doctor, hospital, at(hospital, DAY, "09:00"))
    book(make.patient(), doctor, hospital, at(hospital, DAY, "10:00"))
    with pytest.raises(scheduling.SlotTaken):
        scheduling.reschedule_appointment(old, at(hospital, DAY, "10:00"), patient)
    db.session.rollback()
    db.session.refresh(old)
    assert old.status == AppointmentStatus.booked and old.active_slot is not None


def test_status_transitions(clinic):
    hospital, doctor, patient = clinic
    appointment = book(patient, doctor, hospital, at(hospital, DAY, "09:00"))
    with pytest.raises(Conflict, match="once the appointment has started"):
        scheduling.set_appointment_status(appointment, AppointmentStatus.noshow, doctor)
    clock.set_frozen(at(hospital, DAY, "08:50"))
    scheduling.set_appointment_status(appointment, AppointmentStatus.arrived, doctor)
    scheduling.set_appointment_status(appointment, AppointmentStatus.fulfilled, doctor)
    assert appointment.active_slot is None
    with pytest.raises(Conflict):
        scheduling.set_appointment_status(appointment, AppointmentStatus.arrived, doctor)


# ------------------------------------------------------------------ schedule rules


def rule_args(doctor, hospital, **kw):  # type: ignore[no-untyped-def]
    return {
        "doctor": doctor.doctor,
        "hospital_id": hospital.id,
        "weekday": 0,
        "start_time": time(14),
        "end_time": time(18),
        "slot_minutes": 30,
        "actor": doctor,
    } | kw


def test_schedule_rules_are_validated(clinic, make):
    hospital, doctor, _ = clinic
    with pytest.raises(Invalid, match="end must be after the start"):
        scheduling.save_schedule_rule(**rule_args(doctor, hospital, end_time=time(13)))
    with pytest.raises(Invalid, match="slot length"):
        scheduling.save_schedule_rule(**rule_args(doctor, hospital, slot_minutes=7))
    with pytest.raises(Invalid, match="shorter than one slot"):
        scheduling.save_schedule_rule(**rule_args(doctor, hospital, end_time=time(14, 20)))
    with pytest.raises(Invalid, match="overlaps your Monday 09:00–12:00 schedule here"):
        scheduling.save_schedule_rule(**rule_args(doctor, hospital, start_time=time(11)))


def test_a_schedule_may_not_overlap_another_hospitals(clinic, make):
    hospital, doctor, _ = clinic
    other = make.hospital(name="Hill Clinic", timezone="Africa/Nairobi")
    make.membership(doctor, other)
    with pytest.raises(Invalid, match="at Hospital"):
        scheduling.save_schedule_rule(**rule_args(doctor, other, start_time=time(11, 30)))
    scheduling.save_schedule_rule(**rule_args(doctor, other, start_time=time(13)))


def test_only_active_members_set_schedules(clinic, make):
    hospital, doctor, _ = clinic
    other = make.hospital()
    with pytest.raises(NotAllowed):
        scheduling.save_schedule_rule(**rule_args(doctor, other))
    make.membership(doctor, other, status=MembershipStatus.inactive)
    with pytest.raises(NotAllowed):
        scheduling.save_schedule_rule(**rule_args(doctor, other))


def test_breaks_must_lie_inside_working_hours_and_not_overlap(clinic):
    hospital, doctor, _ = clinic
    rule = db.session.scalars(select(ScheduleRule).where(ScheduleRule.weekday == 0)).one()
    with pytest.raises(Invalid, match="inside the working hours"):
        scheduling.add_break(rule, time(11, 30), time(12, 30), actor=doctor)
    with pytest.raises(Invalid, match="end after it starts"):
        scheduling.add_break(rule, time(11), time(10), actor=doctor)
    scheduling.add_break(rule, time(10), time(10, 30), actor=doctor)
    with pytest.raises(Invalid, match="overlaps the break"):
        scheduling.add_break(rule, time(10, 15), time(10, 45), actor=doctor)


def test_time_off_over_bookings_asks_then_cancels_or_keeps(clinic, make):
    hospital, doctor, patient = clinic
    appointment = book(patient, doctor, hospital, at(hospital, DAY, "09:00"))
    args = {"doctor": doctor.doctor, "start_date": DAY, "end_date": DAY, "actor": doctor}
    with pytest.raises(scheduling.Collisions) as asked:
        scheduling.add_time_off(**args)
    assert [a.id for a in asked.value.appointments] == [appointment.id]
    with pytest.raises(Invalid, match="reason"):
        scheduling.add_time_off(**args, on_collision="cancel")
    scheduling.add_time_off(**args, on_collision="cancel", cancel_reason="Conference")
    db.session.commit()
    assert appointment.status == AppointmentStatus.cancelled
    assert "Conference" in db.session.scalar(
        select(Notification.text).where(Notification.user_id == patient.id)
    )


def test_time_off_can_keep_the_bookings(clinic):
    hospital, doctor, patient = clinic
    appointment = book(patient, doctor, hospital, at(hospital, DAY, "09:00"))
    scheduling.add_time_off(
        doctor=doctor.doctor, start_date=DAY, end_date=DAY, actor=doctor, on_collision="keep"
    )
    db.session.commit()
    assert appointment.status == AppointmentStatus.booked


def test_shortening_hours_lists_bookings_outside_them(clinic):
    hospital, doctor, patient = clinic
    appointment = book(patient, doctor, hospital, at(hospital, DAY, "11:30"))
    rule = db.session.scalars(select(ScheduleRule).where(ScheduleRule.weekday == DAY.weekday())).one()
    change = rule_args(
        doctor, hospital, rule=rule, weekday=DAY.weekday(), start_time=time(9), end_time=time(11)
    )
    with pytest.raises(scheduling.Collisions) as asked:
        scheduling.save_schedule_rule(**change)
    db.session.rollback()
    assert [a.id for a in asked.value.appointments] == [appointment.id]
    rule = db.session.get(ScheduleRule, rule.id)
    scheduling.save_schedule_rule(**(change | {"rule": rule, "on_collision": "keep"}))
    db.session.commit()
    assert db.session.get(ScheduleRule, rule.id).end_time == time(11)


def test_search_finds_bookable_doctors_only(make):
    hospital = make.hospital(name="Riverside", city="Nairobi")
    other = make.hospital(name="Hillside", city="Mombasa")
    okafor = make.doctor_at(hospital, name="Chinedu Okafor", specialty="Cardiology")
    make.doctor_at(other, name="Priya Mehta", specialty="Paediatrics")
    inactive = make.doctor(name="Ina Active")
    make.membership(inactive, hospital, status=MembershipStatus.inactive)
    make.doctor_at(make.hospital(status=HospitalStatus.pending), name="Pending Person")

    def names(**kw):  # type: ignore[no-untyped-def]
        return [m.name for m in scheduling.search_doctors(**kw)[0]]

    assert names() == ["Chinedu Okafor", "Priya Mehta"]
    assert names(text="okaf") == ["Chinedu Okafor"]
    assert names(text="cardio") == ["Chinedu Okafor"]
    assert names(specialty="paed") == ["Priya Mehta"]
    assert names(city="mombasa") == ["Priya Mehta"]
    assert names(hospital_id=hospital.id) == ["Chinedu Okafor"]
    assert names(text="100%_") == []
    assert scheduling.search_doctors(per_page=1, page=2)[0][0].name == "Priya Mehta"
    assert scheduling.search_doctors(per_page=1)[1] == 2
    assert okafor.doctor.memberships[0].takes_bookings
