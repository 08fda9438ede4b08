"""Laboratory results: values checked against the test (kind, unit, physical limits), flagged by the
patient's range on the day of collection, verified by a second person, amended without losing the old
value; critical values notify the doctor (in-app and email) and escalate to the hospital's
administrators when nobody acknowledges them; who sees what."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import (
    AuditEvent,
    LabFlag,
    LabItemStatus,
    LabOrderStatus,
    LabResult,
    Notification,
    OutboxEmail,
    Sex,
)
from hms.services import lab
from hms.services.errors import Conflict, Invalid, NotAllowed

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 12:00 in Nairobi


@pytest.fixture(autouse=True)
def _frozen():  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)


def _collected(make, **kwargs):  # type: ignore[no-untyped-def]
    """A collected potassium order, its item, and two lab technicians of its hospital: the first one
    enters values, the second one is senior and verifies them."""
    order = make.collected_lab_order(**kwargs)
    first, second = make.lab_technician(order.hospital), make.lab_technician(order.hospital, senior=True)
    return order, order.items[0], first, second


def _notices(user, kind):  # type: ignore[no-untyped-def]
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)
        )
    )


def _emails(user, kind):  # type: ignore[no-untyped-def]
    return list(
        db.session.scalars(select(OutboxEmail).where(OutboxEmail.to == user.email, OutboxEmail.kind == kind))
    )


# ---------------------------------------------------------------- entering


def test_a_value_is_kept_at_the_tests_decimals_with_its_unit_flag_and_range(make):
    order, item, tech, _ = _collected(make)
    result = lab.enter_result(item, tech, "5,46", unit="mmol/L")
    db.session.commit()
    assert result.value_number == Decimal("5.5") and result.value == "5.5" and result.unit == "mmol/L"
    assert result.flag == LabFlag.high and not result.critical
    assert (result.reference_low, result.reference_high) == (Decimal("3.5"), Decimal("5.1"))
    assert item.status == LabItemStatus.preliminary and item.version == 2
    assert order.status == LabOrderStatus.resulted
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.record_type == "lab_result"))


def test_a_normal_value_has_no_flag_and_a_low_one_is_l(make):
    _order, item, tech, _ = _collected(make)
    assert lab.enter_result(item, tech, "4.0").flag is None
    assert lab.enter_result(item, tech, "3.1").flag == LabFlag.low  # a correction before verification
    assert [r.value for r in item.results] == ["4.0", "3.1"] and item.result.value == "3.1"


def test_the_range_is_the_patients_sex_and_age_on_the_day_of_collection(make):
    hospital = make.hospital()
    # Eighteen on 3 March 2026 (Nairobi): on 2 March, the day of collection, still a child.
    patient = make.patient(date_of_birth=date(2008, 3, 3), sex=Sex.male)
    visit = make.appointment(patient, None, hospital, start_at=NOW)
    encounter = make.encounter(visit)
    child_until = (date(2026, 3, 3) - date(2008, 3, 3)).days
    haemoglobin = make.lab_test(
        hospital,
        name="Haemoglobin",
        unit="g/dL",
        critical_low=Decimal("7.0"),
        critical_high=Decimal("20.0"),
        ranges=[
            (None, 0, child_until, "11.5", "15.5"),
            (Sex.male, child_until, None, "13.5", "17.5"),
            (Sex.female, child_until, None, "12.0", "15.5"),
        ],
    )
    order = make.collected_lab_order(encounter, tests=[haemoglobin])
    tech = make.lab_technician(hospital)
    result = lab.enter_result(order.items[0], tech, "12.8")
    assert result.flag is None and result.reference_low == Decimal("11.5")  # the child's band


@pytest.mark.parametrize(
    ("raw", "unit", "message"),
    [
        ("80", None, "not a possible value"),  # potassium 80: a typing error
        ("0.2", None, "not a possible value"),
        ("high", None, "Enter a number"),
        ("NaN", None, "Enter a number"),
        ("1e30", None, "Enter a number"),  # no physical limit needed to refuse what cannot be stored
        ("1e999999", None, "Enter a number"),
        ("", None, "Enter a result"),
        ("4.2", "mg/dL", "Enter the value in mmol/L"),
    ],
)
def test_impossible_or_malformed_numbers_are_refused(make, raw, unit, message):
    _order, item, tech, _ = _collected(make)
    with pytest.raises(Invalid, match=message):
        lab.enter_result(item, tech, raw, unit=unit)
    assert item.status == LabItemStatus.registered and not item.results


def test_a_choice_test_takes_only_its_choices(make):
    encounter = make.encounter()
    malaria = make.lab_choice_test(encounter.hospital)
    order = make.collected_lab_order(encounter, tests=[malaria])
    tech = make.lab_technician(order.hospital)
    with pytest.raises(Invalid, match="Choose one of: negative, positive, invalid"):
        lab.enter_result(order.items[0], tech, "4.5")  # a number in a choice test
    result = lab.enter_result(order.items[0], tech, " Positive ")
    assert result.value_text == "positive" and result.value_number is None and result.flag is None


def test_a_text_test_keeps_the_text_up_to_500_characters(make):
    encounter = make.encounter()
    film = make.lab_test(encounter.hospital, name="Blood film", kind="text", unit=None, ranges=[])
    order = make.collected_lab_order(encounter, tests=[film])
    tech = make.lab_technician(order.hospital)
    with pytest.raises(Invalid, match="500"):
        lab.enter_result(order.items[0], tech, "x" * 501)
    assert lab.enter_result(order.items[0], tech, "Target cells seen").value == "Target cells seen"


def test_no_result_for_a_cancelled_or_uncollected_order_or_from_outside_the_lab(make):
    order = make.lab_order()
    tech = make.lab_technician(order.hospital)
    with pytest.raises(Conflict, match="Collect the specimen"):
        lab.enter_result(order.items[0], tech, "4.0")
    lab.cancel_order(order, order.doctor.user, "Not needed")
    with pytest.raises(Conflict, match="cancelled"):
        lab.enter_result(order.items[0], tech, "4.0")
    _order, item, _tech, _ = _collected(make)
    with pytest.raises(NotAllowed):
        lab.enter_result(item, make.lab_technician(), "4.0")  # another hospital's technician
    with pytest.raises(NotAllowed):
        lab.enter_result(item, make.nurse(item.order.hospital), "4.0")


def test_a_stale_version_is_refused(make):
    _order, item, tech, other = _collected(make)
    seen = item.version
    lab.enter_result(item, tech, "4.0", version=seen)
    with pytest.raises(Conflict, match="Someone else changed"):
        lab.enter_result(item, other, "4.4", version=seen)


# ---------------------------------------------------------------- verifying


def test_a_senior_technician_verifies_and_the_patient_and_doctor_are_told(make):
    order, item, tech, second = _collected(make)
    lab.enter_result(item, tech, "4.2")
    result = lab.verify_result(item, second)
    db.session.commit()
    assert item.status == LabItemStatus.final and order.status == LabOrderStatus.verified
    assert result.verified_by_id == second.id and result.verified_at == NOW
    for reader in (order.patient.user, order.doctor.user):
        assert len(_notices(reader, "lab_result")) == 1
    assert _emails(order.patient.user, "lab_result")


def test_the_ordering_doctor_may_verify(make):
    order, item, tech, _ = _collected(make)
    lab.enter_result(item, tech, "4.2")
    assert lab.verify_result(item, order.doctor.user).verified_by_id == order.doctor.user.id


def test_the_one_who_entered_a_value_cannot_verify_it(make):
    _order, item, tech, _ = _collected(make)
    lab.enter_result(item, tech, "4.2")
    with pytest.raises(NotAllowed):
        lab.verify_result(item, tech)
    assert item.status == LabItemStatus.preliminary


def test_a_senior_technician_cannot_verify_a_value_she_entered(make):
    _order, item, _, senior = _collected(make)
    lab.enter_result(item, senior, "4.2")
    assert not lab.can_verify(senior, item)
    with pytest.raises(NotAllowed, match="second person"):
        lab.verify_result(item, senior)
    assert item.status == LabItemStatus.preliminary and item.result.verified_by_id is None


def test_a_technician_who_is_not_senior_cannot_verify(make):
    order, item, tech, _ = _collected(make)
    colleague = make.lab_technician(order.hospital)
    lab.enter_result(item, tech, "4.2")
    db.session.commit()
    assert not lab.can_verify(colleague, item)
    with pytest.raises(NotAllowed, match="senior lab technician"):
        lab.verify_result(item, colleague)
    db.session.rollback()
    db.session.expire_all()
    assert item.status == LabItemStatus.preliminary and item.result.verified_by_id is None
    assert order.status == LabOrderStatus.resulted
    assert not _notices(order.patient.user, "lab_result")
    assert lab.visible_result(order.patient.user, item) is None


def test_a_technician_made_senior_verifies(make):
    order, item, tech, _ = _collected(make)
    colleague = make.lab_technician(order.hospital)
    lab.enter_result(item, tech, "4.2")
    colleague.staff.senior = True
    assert lab.can_verify(colleague, item)
    assert lab.verify_result(item, colleague).verified_by_id == colleague.id


def test_verification_needs_a_value_once_and_the_right_person(make):
    order, item, tech, second = _collected(make)
    with pytest.raises(Conflict, match="no result to verify"):
        lab.verify_result(item, second)
    lab.enter_result(item, tech, "4.2")
    with pytest.raises(NotAllowed):
        lab.verify_result(item, make.doctor_at(order.hospital))  # not his order
    with pytest.raises(NotAllowed):
        lab.verify_result(item, make.lab_technician())
    lab.verify_result(item, second)
    with pytest.raises(Conflict, match="already verified"):
        lab.verify_result(item, order.doctor.user)
    with pytest.raises(Conflict, match="amend it instead"):
        lab.enter_result(item, tech, "4.3")


def test_the_order_is_verified_only_when_every_item_is(make):
    encounter = make.encounter()
    tests = [make.lab_test(encounter.hospital), make.lab_test(encounter.hospital, name="Sodium", ranges=[])]
    order = make.collected_lab_order(encounter, tests=tests)
    tech, second = make.lab_technician(order.hospital), make.lab_technician(order.hospital, senior=True)
    first_item, second_item = order.items
    lab.enter_result(first_item, tech, "4.2")
    assert order.status == LabOrderStatus.collected
    lab.verify_result(first_item, second)
    assert order.status == LabOrderStatus.collected
    lab.enter_result(second_item, tech, "9")
    assert order.status == LabOrderStatus.resulted
    lab.verify_result(second_item, second)
    assert order.status == LabOrderStatus.verified
    assert len(_notices(order.patient.user, "lab_result")) == 1  # one notice for the whole order


# ---------------------------------------------------------------- amending


def test_an_amendment_keeps_the_old_value_who_when_and_why_and_tells_everyone_again(make):
    order, item, tech, second = _collected(make)
    first = lab.enter_result(item, tech, "4.2")
    lab.verify_result(item, second)
    clock.set_frozen(NOW + timedelta(hours=2))
    amended = lab.amend_result(item, second, "4.8", "Haemolysed sample re-run")
    db.session.commit()
    assert item.status == LabItemStatus.amended and item.result.id == amended.id
    assert amended.amends_id == first.id and amended.amend_reason == "Haemolysed sample re-run"
    assert amended.entered_by_id == second.id and amended.entered_at == NOW + timedelta(hours=2)
    old = db.session.get(LabResult, first.id)
    assert old.value == "4.2" and old.verified_by_id == second.id  # never edited in place
    assert [r.value for r in item.results] == ["4.2", "4.8"]
    for reader in (order.patient.user, order.doctor.user):
        assert len(_notices(reader, "lab_result")) == 2
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "amend"))


def test_amending_needs_a_verified_result_a_reason_a_valid_value_and_the_right_person(make):
    order, item, tech, second = _collected(make)
    lab.enter_result(item, tech, "4.2")
    with pytest.raises(Conflict, match="Only a verified result"):
        lab.amend_result(item, second, "4.4", "Typo")
    lab.verify_result(item, second)
    with pytest.raises(Invalid, match="why"):
        lab.amend_result(item, second, "4.4", " ")
    with pytest.raises(Invalid, match="not a possible value"):
        lab.amend_result(item, second, "80", "Typo")
    with pytest.raises(NotAllowed):
        lab.amend_result(item, order.patient.user, "4.4", "Typo")
    with pytest.raises(NotAllowed, match="senior lab technician"):
        lab.amend_result(item, tech, "4.4", "Typo")  # not senior
    assert item.status == LabItemStatus.final and len(item.results) == 1


# ---------------------------------------------------------------- critical values


def test_a_critical_value_notifies_the_doctor_at_once_in_app_and_by_email(make):
    order, item, tech, _ = _collected(make)
    result = lab.enter_result(item, tech, "6.9")
    db.session.commit()
    assert result.flag == LabFlag.critical_high and result.critical and result.awaits_acknowledgement
    doctor = order.doctor.user
    [notice] = _notices(doctor, "lab_critical")
    assert "Critical result" in notice.text and "6.9 mmol/L" in notice.text and order.number in notice.text
    [email] = _emails(doctor, "lab_critical")
    assert "6.9" in email.body
    assert not _notices(order.patient.user, "lab_critical")


def test_critical_low_is_ll(make):
    _order, item, tech, _ = _collected(make)
    assert lab.enter_result(item, tech, "2.4").flag == LabFlag.critical_low


def test_an_unacknowledged_critical_value_escalates_to_the_admins_once_after_the_configured_time(app, make):
    order, item, tech, _ = _collected(make)
    admin = make.hospital_admin(order.hospital)
    other_admin = make.hospital_admin(make.hospital())
    result = lab.enter_result(item, tech, "7.2")
    db.session.commit()
    minutes = app.config["LAB_CRITICAL_ACK_MINUTES"]
    assert minutes == 30
    assert lab.escalate_unacknowledged_criticals(NOW + timedelta(minutes=minutes - 1)) == 0
    assert not _notices(admin, "lab_critical")
    clock.set_frozen(NOW + timedelta(minutes=minutes))
    assert lab.escalate_unacknowledged_criticals() == 1
    db.session.commit()
    [notice] = _notices(admin, "lab_critical")
    assert "not acknowledged for 30 minutes" in notice.text and order.doctor.name in notice.text
    assert _emails(admin, "lab_critical")
    assert not _notices(other_admin, "lab_critical")
    assert result.escalated_at == NOW + timedelta(minutes=minutes)
    assert lab.escalate_unacknowledged_criticals(NOW + timedelta(hours=5)) == 0  # once
    assert result.awaits_acknowledgement  # still flagged
    assert lab.unacknowledged_criticals(order.hospital_id) == [result]
    lab.acknowledge_critical(result, admin)
    assert not result.awaits_acknowledgement and result.acknowledged_by_id == admin.id
    assert lab.unacknowledged_criticals(order.hospital_id) == []


def test_the_escalation_time_is_configurable(app, make, monkeypatch):
    monkeypatch.setitem(app.config, "LAB_CRITICAL_ACK_MINUTES", 5)
    order, item, tech, _ = _collected(make)
    make.hospital_admin(order.hospital)
    lab.enter_result(item, tech, "7.2")
    assert lab.escalate_unacknowledged_criticals(NOW + timedelta(minutes=5)) == 1


def test_an_acknowledged_critical_value_is_not_escalated(make):
    order, item, tech, _ = _collected(make)
    result = lab.enter_result(item, tech, "1.9")
    clock.set_frozen(NOW + timedelta(minutes=3))
    lab.acknowledge_critical(result, order.doctor.user)
    assert result.acknowledged_at == NOW + timedelta(minutes=3)
    assert lab.escalate_unacknowledged_criticals(NOW + timedelta(hours=1)) == 0
    lab.acknowledge_critical(result, order.doctor.user)  # a second click changes nothing
    assert result.acknowledged_at == NOW + timedelta(minutes=3)


def test_only_the_doctor_side_or_the_hospitals_admin_acknowledges_and_only_a_critical_value(make):
    order, item, tech, _ = _collected(make)
    result = lab.enter_result(item, tech, "7.5")
    for outsider in (tech, order.patient.user, make.hospital_admin(make.hospital()), make.doctor()):
        with pytest.raises(NotAllowed):
            lab.acknowledge_critical(result, outsider)
    normal = lab.enter_result(item, tech, "4.0")
    with pytest.raises(Invalid, match="not critical"):
        lab.acknowledge_critical(normal, order.doctor.user)


def test_the_worker_round_escalates(app, make):
    from hms.cli import _run_cycle

    order, item, tech, _ = _collected(make)
    admin = make.hospital_admin(order.hospital)
    lab.enter_result(item, tech, "7.5")
    db.session.commit()
    clock.set_frozen(NOW + timedelta(minutes=31))
    _run_cycle("test-worker")
    assert _notices(admin, "lab_critical")


# ---------------------------------------------------------------- who sees what


def test_who_may_see_an_order(make):
    order, item, tech, second = _collected(make)
    patient = order.patient.user
    treating = make.doctor_at(order.hospital)
    make.appointment(patient, treating, order.hospital, start_at=NOW + timedelta(days=2))
    assert lab.can_see_order(order.doctor.user, order)
    assert lab.can_see_order(treating, order)  # an appointment with the patient (the clinical rule)
    assert lab.can_see_order(tech, order)
    assert lab.can_see_order(patient, order)
    assert not lab.can_see_order(make.doctor_at(order.hospital), order)
    assert not lab.can_see_order(make.lab_technician(), order)
    assert not lab.can_see_order(make.nurse(order.hospital), order)
    assert not lab.can_see_order(make.patient(), order)
    assert not lab.can_see_order(make.hospital_admin(order.hospital), order)


def test_the_patient_sees_only_verified_results(make):
    order, item, tech, second = _collected(make)
    patient = order.patient.user
    result = lab.enter_result(item, tech, "4.2")
    assert lab.visible_result(patient, item) is None
    assert lab.visible_result(order.doctor.user, item) == result
    lab.verify_result(item, second)
    assert lab.visible_result(patient, item) == result
    assert lab.visible_result(make.patient(), item) is None


def test_the_predicates_for_pages_say_what_the_services_allow(make):
    order, item, tech, second = _collected(make)
    doctor, patient = order.doctor.user, order.patient.user
    assert not lab.can_cancel(doctor, order) and not lab.can_collect(tech, order)  # collected already
    assert lab.can_enter_result(tech, item) and not lab.can_enter_result(doctor, item)
    assert not lab.can_verify(second, item)  # nothing entered yet
    result = lab.enter_result(item, tech, "7.0")
    assert lab.can_verify(second, item) and lab.can_verify(doctor, item)
    assert not lab.can_verify(tech, item) and not lab.can_verify(patient, item)
    assert not lab.can_amend(tech, item)
    assert lab.can_acknowledge(doctor, result) and not lab.can_acknowledge(tech, result)
    lab.verify_result(item, second)
    assert (
        lab.can_amend(second, item) and lab.can_amend(doctor, item) and not lab.can_enter_result(tech, item)
    )
    assert not lab.can_amend(tech, item)  # not senior
    lab.acknowledge_critical(result, doctor)
    assert not lab.can_acknowledge(doctor, result)
    waiting = make.lab_order()
    assert lab.can_cancel(waiting.doctor.user, waiting) and lab.can_collect(
        make.nurse(waiting.hospital), waiting
    )
    assert lab.can_order(waiting.doctor.user, waiting.encounter) and not lab.can_order(
        tech, waiting.encounter
    )
