"""Staff and administrators: deactivate and reactivate staff; never remove the last administrator."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hms.extensions import db
from hms.models import AuditEvent, StaffKind
from tests.factories import PASSWORD

HX = {"HX-Request": "true"}


@pytest.fixture
def hospital(make):
    return make.hospital(name="Riverside")


@pytest.fixture
def admin(make, hospital, login_as):
    user = make.hospital_admin(hospital)
    login_as(user)
    return user


def test_staff_page_lists_staff_and_administrators_of_this_hospital_only(client, make, hospital, admin):
    make.staff(hospital, StaffKind.lab_technician, email="lab@example.org")
    make.staff(make.hospital(), email="foreign@example.org")
    page = client.get("/hospital/staff").data.decode()
    assert "lab@example.org" in page and "Lab technician" in page
    assert admin.email in page
    assert "foreign@example.org" not in page


def test_admin_deactivates_a_staff_member_who_can_then_not_log_in(client, app, make, hospital, admin):
    nurse = make.staff(hospital, StaffKind.nurse, email="nurse@example.org")
    other = app.test_client()
    other.post("/login", data={"email": "nurse@example.org", "password": PASSWORD})
    assert other.get("/staff/").status_code == 200
    response = client.post(
        f"/hospital/staff/{nurse.staff.id}/status", data={"action": "deactivate"}, headers=HX
    )
    assert response.status_code == 200
    assert b"is now deactivated. They can no longer log in." in response.data
    assert response.data.lstrip().startswith(f'<tr id="staff-{nurse.staff.id}">'.encode())
    assert other.get("/staff/").status_code == 302  # the open session ended
    refused = other.post("/login", data={"email": "nurse@example.org", "password": PASSWORD})
    assert b"This account is deactivated." in refused.data
    again = client.post(f"/hospital/staff/{nurse.staff.id}/status", data={"action": "deactivate"}, headers=HX)
    assert b"was already deactivated; nothing changed." in again.data
    client.post(f"/hospital/staff/{nurse.staff.id}/status", data={"action": "activate"})
    db.session.refresh(nurse)
    assert nurse.active
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["deactivate", "activate"]


def test_admin_cannot_touch_another_hospitals_staff_or_admins(client, make, admin):
    elsewhere = make.hospital()
    member = make.staff(elsewhere)
    other_admin = make.hospital_admin(elsewhere)
    assert (
        client.post(f"/hospital/staff/{member.staff.id}/status", data={"action": "deactivate"}).status_code
        == 404
    )
    assert client.post(f"/hospital/admins/{other_admin.hospital_admin.id}/remove").status_code == 404
    db.session.refresh(member)
    db.session.refresh(other_admin)
    assert member.active and other_admin.active


def test_the_last_administrator_cannot_be_removed(client, hospital, admin):
    response = client.post(f"/hospital/admins/{admin.hospital_admin.id}/remove", headers=HX)
    assert response.status_code == 409
    assert b"last administrator" in response.data
    db.session.refresh(admin)
    assert admin.active
    without_js = client.post(f"/hospital/admins/{admin.hospital_admin.id}/remove")
    assert without_js.status_code == 303
    assert b"last administrator" in client.get("/hospital/staff").data


def test_an_administrator_removes_another_who_can_then_not_log_in(client, app, make, hospital, admin):
    second = make.hospital_admin(hospital, email="second@example.org")
    response = client.post(f"/hospital/admins/{second.hospital_admin.id}/remove", headers=HX)
    assert response.status_code == 200
    assert b"is no longer an administrator here." in response.data
    db.session.refresh(second)
    assert not second.active
    event = db.session.scalar(select(AuditEvent))
    assert (event.action, event.record_type, event.user_id) == ("remove", "hospital_admin", admin.id)
    # Now the remaining one is the last.
    assert client.post(f"/hospital/admins/{admin.hospital_admin.id}/remove", headers=HX).status_code == 409


def test_an_administrator_may_remove_himself_when_another_remains(client, make, hospital, admin):
    make.hospital_admin(hospital)
    response = client.post(f"/hospital/admins/{admin.hospital_admin.id}/remove")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    assert client.get("/hospital/").status_code == 302


def test_staff_invitation_for_an_existing_email_is_refused(client, make, hospital, admin):
    make.patient(email="taken@example.org")
    response = client.post(
        "/hospital/staff/invitations",
        data={"full_name": "Some One", "email": "taken@example.org", "kind": "nurse"},
        headers=HX,
    )
    assert response.status_code == 422
    assert b"An account with this email already exists." in response.data


@pytest.mark.parametrize("kind", ["surgeon", "", "<b>"])
def test_unknown_staff_kinds_are_refused(client, hospital, admin, kind):
    response = client.post(
        "/hospital/staff/invitations",
        data={"full_name": "Some One", "email": "a@example.org", "kind": kind},
        headers=HX,
    )
    assert response.status_code == 422


# ---------------------------------------------------------------- senior lab technicians


def _senior_url(member) -> str:  # type: ignore[no-untyped-def]
    return f"/hospital/staff/{member.staff.id}/senior"


def test_admin_makes_a_lab_technician_senior_and_back(client, make, hospital, admin):
    technician = make.lab_technician(hospital, email="lab@example.org")
    nurse = make.staff(hospital, StaffKind.nurse, email="nurse@example.org")
    page = client.get("/hospital/staff").get_data(as_text=True)
    assert "Senior (verifies results)" in page
    assert f'id="staff-senior-{technician.staff.id}"' in page
    assert f'id="staff-senior-{nurse.staff.id}"' not in page  # a switch for lab technicians only
    response = client.post(_senior_url(technician), data={"action": "activate"}, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith(f'<tr id="staff-{technician.staff.id}">')
    assert "is now a senior technician and verifies results." in body and 'aria-checked="true"' in body
    db.session.refresh(technician.staff)
    assert technician.staff.senior
    again = client.post(_senior_url(technician), data={"action": "activate"}, headers=HX)
    assert "Nothing changed" in again.get_data(as_text=True)
    plain = client.post(_senior_url(technician), data={"action": "deactivate"})
    assert plain.status_code == 303 and plain.headers["Location"].endswith("/hospital/staff")
    db.session.refresh(technician.staff)
    assert not technician.staff.senior
    events = db.session.execute(
        select(AuditEvent.action, AuditEvent.record_type, AuditEvent.record_id).order_by(AuditEvent.id)
    ).all()
    assert [tuple(e) for e in events] == [
        ("promote", "staff", technician.staff.id),
        ("demote", "staff", technician.staff.id),
    ]


def test_the_senior_switch_needs_csrf_and_a_known_state(client, make, hospital, admin):
    technician = make.lab_technician(hospital)
    assert client.post(_senior_url(technician), data={"action": "activate"}, csrf=False).status_code == 400
    assert client.post(_senior_url(technician), data={"action": "flip"}).status_code == 400
    db.session.refresh(technician.staff)
    assert not technician.staff.senior


def test_only_a_lab_technician_can_be_senior(client, make, hospital, admin):
    nurse = make.staff(hospital, StaffKind.nurse)
    response = client.post(_senior_url(nurse), data={"action": "activate"}, headers=HX)
    assert response.status_code == 422
    assert "Only a lab technician can be a senior technician." in response.get_data(as_text=True)
    plain = client.post(_senior_url(nurse), data={"action": "activate"})
    assert plain.status_code == 422 and "Only a lab technician" in plain.get_data(as_text=True)
    db.session.refresh(nurse.staff)
    assert not nurse.staff.senior
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "promote")) is None


def test_admin_cannot_make_another_hospitals_technician_senior(client, make, admin):
    technician = make.lab_technician(make.hospital())
    assert client.post(_senior_url(technician), data={"action": "activate"}, headers=HX).status_code == 404
    assert client.post("/hospital/staff/999999/senior", data={"action": "activate"}).status_code == 404
    db.session.refresh(technician.staff)
    assert not technician.staff.senior
