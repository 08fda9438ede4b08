"""Admins toggling the same membership at once, or removing each other: the database ends consistent
(run on every database; the point is PostgreSQL and MariaDB, where transactions run in parallel)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hms.extensions import db
from hms.models import AuditEvent, HospitalAdmin, Membership, MembershipStatus, User
from hms.services import memberships as membership_service
from hms.services import staff as staff_service
from hms.services.audit import first_tampered_event
from tests.concurrency import run_at_once

pytestmark = pytest.mark.concurrency


def toggle_job(membership_id: int, admin_id: int, active: bool):  # type: ignore[no-untyped-def]
    def job():  # type: ignore[no-untyped-def]
        membership_service.set_membership_active(
            db.session.get(Membership, membership_id), active, db.session.get(User, admin_id)
        )
        db.session.commit()

    return job


def membership_events(membership_id: int) -> list[str]:
    return db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.record_type == "membership", AuditEvent.record_id == membership_id)
        .order_by(AuditEvent.id)
    ).all()


def test_many_admins_deactivating_at_once_change_it_once(app, make):
    hospital = make.hospital()
    admins = [make.hospital_admin(hospital) for _ in range(6)]
    membership = make.membership(make.doctor(), hospital)
    outcomes = run_at_once(app, [toggle_job(membership.id, a.id, False) for a in admins])
    assert outcomes == ["done"] * 6
    db.session.rollback()  # end the test's read snapshot to see what the threads committed
    row = db.session.get(Membership, membership.id)
    assert (row.status, row.version) == (MembershipStatus.inactive, 2)
    assert membership_events(membership.id) == ["deactivate"]
    assert first_tampered_event() is None


def test_admins_toggling_both_ways_at_once_end_consistent(app, make):
    hospital = make.hospital()
    admins = [make.hospital_admin(hospital) for _ in range(8)]
    membership = make.membership(make.doctor(), hospital)
    jobs = [toggle_job(membership.id, a.id, i % 2 == 0) for i, a in enumerate(admins)]
    outcomes = run_at_once(app, jobs)
    assert outcomes == ["done"] * 8
    db.session.rollback()  # end the test's read snapshot to see what the threads committed
    row = db.session.get(Membership, membership.id)
    events = membership_events(membership.id)
    # Every real change bumped the version once and was audited once; the state is the last change's.
    assert row.version == 1 + len(events)
    expected = (
        MembershipStatus.active if not events or events[-1] == "activate" else MembershipStatus.inactive
    )
    assert row.status == expected
    assert all(a != b for a, b in zip(events, events[1:], strict=False))  # strictly alternating
    assert first_tampered_event() is None


def test_two_admins_removing_each_other_at_once_leave_one(app, make):
    hospital = make.hospital()
    first, second = make.hospital_admin(hospital), make.hospital_admin(hospital)

    def remove(target_id: int, actor_id: int):  # type: ignore[no-untyped-def]
        def job():  # type: ignore[no-untyped-def]
            target = db.session.scalar(select(HospitalAdmin).where(HospitalAdmin.user_id == target_id))
            staff_service.remove_admin(target, db.session.get(User, actor_id))
            db.session.commit()

        return job

    outcomes = run_at_once(app, [remove(first.id, second.id), remove(second.id, first.id)])
    assert sorted(outcomes) == ["Conflict", "done"]
    db.session.rollback()  # end the test's read snapshot to see what the threads committed
    active = db.session.scalar(
        select(func.count(User.id)).where(User.id.in_([first.id, second.id]), User.active.is_(True))
    )
    assert active == 1


def remove_job(membership_id: int, admin_id: int, appointments: str):  # type: ignore[no-untyped-def]
    def job():  # type: ignore[no-untyped-def]
        membership = db.session.get(Membership, membership_id)
        if membership is None:  # the other removal committed before this one began (its page: a 404)
            return
        membership_service.remove_membership(
            membership,
            db.session.get(User, admin_id),
            cancel_future=appointments == "cancel",
            reason="The doctor has left the hospital",
        )
        db.session.commit()

    return job


@pytest.mark.parametrize("choices", [("keep", "keep"), ("keep", "cancel"), ("cancel", "cancel")])
def test_two_admins_removing_one_doctor_at_once_remove_him_once(app, make, choices):
    """The second removal, waiting for the first, finds the link gone: it changes nothing, writes no
    second audit event and answers like the first (the sweep saw two events, and a 500 for keep+cancel)."""
    hospital = make.hospital()
    admins = [make.hospital_admin(hospital) for _ in choices]
    doctor = make.doctor_at(hospital)
    make.schedule(doctor, hospital)
    make.appointment(make.patient(), doctor, hospital)
    membership_id = doctor.doctor.memberships[0].id
    jobs = [remove_job(membership_id, a.id, c) for a, c in zip(admins, choices, strict=True)]
    assert run_at_once(app, jobs) == ["done", "done"]
    db.session.rollback()
    assert db.session.get(Membership, membership_id) is None
    events = membership_events(membership_id)
    assert events == ["remove"]
    assert first_tampered_event() is None
