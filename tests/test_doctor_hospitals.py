"""A doctor sees his hospitals, asks to join one (the admin answers), withdraws, and leaves."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hms.extensions import db
from hms.models import AuditEvent, HospitalStatus, Membership, MembershipStatus

HX = {"HX-Request": "true"}


@pytest.fixture
def doctor(make, login_as):
    user = make.doctor(name="Chinedu Okafor")
    login_as(user)
    return user


def memberships(doctor_user):  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return db.session.scalars(select(Membership).where(Membership.doctor_id == doctor_user.doctor.id)).all()


def test_doctor_sees_his_hospitals_with_status(client, make, doctor):
    make.membership(doctor, make.hospital(name="Riverside"))
    make.membership(doctor, make.hospital(name="Lakeside"), status=MembershipStatus.inactive)
    page = client.get("/doctor/hospitals").data.decode()
    assert "Riverside" in page and "Lakeside" in page and "inactive" in page


def test_doctor_asks_to_join_and_the_admin_accepts(client, app, make, login_as, doctor):
    hospital = make.hospital(name="Hilltop")
    found = client.get("/doctor/hospitals?q=hill&fragment=results", headers=HX).data.decode()
    assert "Hilltop" in found and "<html" not in found
    response = client.post(f"/doctor/hospitals/{hospital.id}/join")
    assert response.status_code == 303
    assert b"You asked to join Hilltop." in client.get("/doctor/hospitals").data
    (membership,) = memberships(doctor)
    assert membership.status == MembershipStatus.requested
    again = client.post(f"/doctor/hospitals/{hospital.id}/join")
    assert again.status_code == 303
    assert b"You already asked to join Hilltop." in client.get("/doctor/hospitals").data

    admin_client = app.test_client()
    login_as(make.hospital_admin(hospital), on=admin_client)
    assert b"asked to join" in admin_client.get("/hospital/doctors").data
    admin_client.post(f"/hospital/memberships/{membership.id}/request", data={"action": "accept"})
    (membership,) = memberships(doctor)
    assert membership.status == MembershipStatus.active
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["request", "accept"]


@pytest.mark.parametrize("status", [HospitalStatus.pending, HospitalStatus.suspended])
def test_doctor_cannot_join_an_inactive_hospital(client, make, doctor, status):
    hospital = make.hospital(status=status, name="Closed Clinic")
    assert b"Closed Clinic" not in client.get("/doctor/hospitals").data
    assert client.post(f"/doctor/hospitals/{hospital.id}/join").status_code == 404
    assert memberships(doctor) == []


def test_hospitals_already_linked_are_not_offered(client, make, doctor):
    make.membership(doctor, make.hospital(name="Mine Already"))
    assert b"Ask to join" not in client.get("/doctor/hospitals?q=mine&fragment=results", headers=HX).data


def test_doctor_withdraws_his_request(client, make, doctor):
    hospital = make.hospital(name="Hilltop")
    membership = make.membership(doctor, hospital, status=MembershipStatus.requested)
    assert client.post(f"/doctor/memberships/{membership.id}/withdraw").status_code == 303
    assert memberships(doctor) == []
    assert b"Your request to join Hilltop is withdrawn." in client.get("/doctor/hospitals").data


def test_doctor_leaves_a_hospital_and_it_is_audited(client, make, doctor):
    hospital = make.hospital(name="Riverside")
    membership = make.membership(doctor, hospital)
    page = client.get(f"/doctor/memberships/{membership.id}/leave")
    assert page.status_code == 200
    assert b"Leave Riverside" in page.data
    response = client.post(f"/doctor/memberships/{membership.id}/leave", data={"appointments": "keep"})
    assert response.status_code == 303
    assert memberships(doctor) == []
    assert b"You left Riverside." in client.get("/doctor/hospitals").data
    event = db.session.scalar(select(AuditEvent))
    assert (event.action, event.record_type, event.user_id, event.hospital_id) == (
        "leave",
        "membership",
        doctor.id,
        hospital.id,
    )


def test_doctor_cannot_touch_another_doctors_membership(client, make, doctor):
    other = make.membership(make.doctor(), make.hospital())
    assert client.get(f"/doctor/memberships/{other.id}/leave").status_code == 404
    assert (
        client.post(f"/doctor/memberships/{other.id}/leave", data={"appointments": "keep"}).status_code == 404
    )
    assert client.post(f"/doctor/memberships/{other.id}/withdraw").status_code == 404
    assert db.session.get(Membership, other.id) is not None


def test_joining_needs_csrf(client, make, doctor):
    hospital = make.hospital()
    assert client.post(f"/doctor/hospitals/{hospital.id}/join", csrf=False).status_code == 400
    assert memberships(doctor) == []


def test_doctor_leaving_sees_and_cancels_his_future_appointments(client, make, doctor):
    from datetime import timedelta

    from hms import clock
    from hms.models import Appointment, AppointmentStatus

    hospital = make.hospital(name="Riverside")
    membership = make.membership(doctor, hospital)
    soon = clock.now().replace(microsecond=0) + timedelta(days=2)
    appointment = make.appointment(make.patient(name="Amina Hassan"), doctor, hospital, soon)
    page = client.get(f"/doctor/memberships/{membership.id}/leave").data.decode()
    assert "1 future appointments" in page and "Amina Hassan" in page
    client.post(
        f"/doctor/memberships/{membership.id}/leave", data={"appointments": "cancel", "reason": "Moving away"}
    )
    row = db.session.get(Appointment, appointment.id)
    assert (row.status, row.cancel_reason, row.cancelled_by_id) == (
        AppointmentStatus.cancelled,
        "Moving away",
        doctor.id,
    )
    assert memberships(doctor) == []


def test_doctor_leaving_may_keep_his_future_appointments(client, make, doctor):
    from datetime import timedelta

    from hms import clock
    from hms.models import Appointment, AppointmentStatus

    hospital = make.hospital(name="Riverside")
    membership = make.membership(doctor, hospital)
    appointment = make.appointment(make.patient(), doctor, hospital, clock.now() + timedelta(days=2))
    client.post(f"/doctor/memberships/{membership.id}/leave", data={"appointments": "keep"})
    assert db.session.get(Appointment, appointment.id).status == AppointmentStatus.booked
    assert b"Your 1 future appointments there are kept." in client.get("/doctor/hospitals").data
