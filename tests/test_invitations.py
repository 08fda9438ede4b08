"""Invitations: a one-time, expiring link lets a new doctor, staff member or administrator set a password."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import AuditEvent, Invitation, MembershipStatus, Role, StaffKind, User
from hms.services import invitations as invitation_service
from tests.two_factor import enrol_at_login

HX = {"HX-Request": "true"}
PASSWORD = "blue kettle on the hill"


@pytest.fixture
def hospital(make):
    return make.hospital(name="Riverside")


@pytest.fixture
def admin(make, hospital, login_as):
    user = make.hospital_admin(hospital)
    login_as(user)
    return user


def link_in(html: bytes) -> str:
    match = re.search(rb"https?://[^\s\"<]+/invitation/([A-Za-z0-9_\-]+)", html)
    assert match, html[:2000]
    return "/invitation/" + match.group(1).decode()


def invite_doctor(client, **overrides):  # type: ignore[no-untyped-def]
    data = {
        "full_name": "Priya Mehta",
        "email": "priya@example.org",
        "specialty": "Paediatrics",
        "department": "0",
    }
    return client.post("/hospital/doctors/invitations", data=data | overrides, headers=HX)


def accept(client, path, **overrides):  # type: ignore[no-untyped-def]
    data = {"full_name": "Priya Mehta", "specialty": "Paediatrics", "password": PASSWORD, "confirm": PASSWORD}
    return client.post(path, data=data | overrides)


def test_admin_invites_a_doctor_who_sets_a_password_and_is_linked(client, make, hospital, admin):
    paeds = make.department(hospital, "Paediatrics")
    response = invite_doctor(client, department=str(paeds.id), fee="1200")
    assert response.status_code == 200
    assert b"Invitation for Priya Mehta created." in response.data
    assert response.headers["HX-Trigger"] == '{"invitationsChanged": true}'
    path = link_in(response.data)
    token = path.rsplit("/", 1)[1]
    invitation = db.session.scalar(select(Invitation))
    assert invitation.token_hash == invitation_service.hash_token(token)
    assert token not in invitation.token_hash  # only the hash is stored

    client.post("/logout")
    page = client.get(path)
    assert page.status_code == 200
    assert b"Join Riverside" in page.data and b"priya@example.org" in page.data
    done = accept(client, path)
    assert done.status_code == 303
    assert done.headers["Location"] == "/doctor/"
    assert b"Welcome to Riverside!" in client.get("/doctor/").data
    user = db.session.scalar(select(User).where(User.email == "priya@example.org"))
    assert user.role == Role.doctor and user.doctor.specialty == "Paediatrics"
    (membership,) = user.doctor.memberships
    assert (membership.hospital_id, membership.status, membership.department_id, membership.fee_minor) == (
        hospital.id,
        MembershipStatus.active,
        paeds.id,
        120000,
    )
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["invite", "accept", "create"]


def test_the_link_works_once(client, make, hospital):
    _, token = make.invitation(hospital)
    assert accept(client, f"/invitation/{token}").status_code == 303
    client.post("/logout")
    again = accept(
        client, f"/invitation/{token}", password="another long passphrase", confirm="another long passphrase"
    )
    assert again.status_code == 410
    assert b"This invitation link was already used." in again.data
    assert client.get(f"/invitation/{token}").status_code == 410


def test_an_expired_link_is_refused_with_a_message(client, make, hospital):
    invitation, token = make.invitation(hospital, hours=1)
    clock.set_frozen(clock.now() + timedelta(hours=2))
    response = accept(client, f"/invitation/{token}")
    assert response.status_code == 410
    assert b"This invitation link has expired." in response.data
    assert db.session.scalar(select(User).where(User.email == invitation.email)) is None


@pytest.mark.parametrize("token", ["not-a-real-token", "x" * 300, "%E2%80%AE"])
def test_an_unknown_link_is_404_with_a_message(client, token):
    response = client.get(f"/invitation/{token}")
    assert response.status_code == 404
    assert b"This invitation link is not valid." in response.data


def test_a_withdrawn_invitation_no_longer_works(client, make, hospital, admin):
    invitation, token = make.invitation(hospital, email="gone@example.org")
    response = client.post(f"/hospital/invitations/{invitation.id}/revoke", headers=HX)
    assert response.status_code == 200
    assert b"its link no longer works" in response.data
    client.post("/logout")
    refused = accept(client, f"/invitation/{token}")
    assert refused.status_code == 410
    assert b"withdrawn" in refused.data


def test_a_weak_password_is_refused_and_the_link_still_works(client, make, hospital):
    _, token = make.invitation(hospital)
    weak = accept(client, f"/invitation/{token}", password="short", confirm="short")
    assert weak.status_code == 422
    assert b"Use at least 10 characters." in weak.data
    assert accept(client, f"/invitation/{token}").status_code == 303


def test_inviting_an_existing_account_is_refused_with_a_message(client, make, hospital, admin):
    make.doctor(email="priya@example.org")
    response = invite_doctor(client)
    assert response.status_code == 422
    assert b"An account with this email already exists. Add the doctor by email instead." in response.data
    assert db.session.scalars(select(Invitation)).all() == []


def test_inviting_the_same_email_twice_is_refused_until_it_expires(client, make, hospital, admin):
    assert invite_doctor(client).status_code == 200
    second = invite_doctor(client, email="PRIYA@example.org")
    assert second.status_code == 422
    assert b"An invitation to this email is already waiting." in second.data
    clock.set_frozen(clock.now() + timedelta(days=4))
    assert invite_doctor(client).status_code == 200
    assert len(db.session.scalars(select(Invitation)).all()) == 2


def test_inviting_without_javascript_flashes_the_link(client, hospital, admin):
    response = client.post(
        "/hospital/doctors/invitations",
        data={"full_name": "Ann Lee", "email": "ann@example.org", "specialty": "Surgery", "department": "0"},
    )
    assert response.status_code == 303
    page = client.get("/hospital/doctors").data
    assert b"Invitation for Ann Lee created and emailed to ann@example.org." in page
    assert link_in(page).startswith("/invitation/")


def test_an_invitation_of_a_hospital_suspended_meanwhile_cannot_be_used(client, make):
    from hms.models import HospitalStatus

    hospital = make.hospital()
    _, token = make.invitation(hospital)
    hospital.status = HospitalStatus.suspended
    db.session.commit()
    response = accept(client, f"/invitation/{token}")
    assert response.status_code == 410
    assert b"not active on the platform" in response.data


def test_names_typed_by_the_admin_are_escaped_on_the_invitation_page(client, make, hospital, admin):
    response = invite_doctor(client, full_name="<script>x()</script>")
    assert b"<script>x()" not in response.data
    path = link_in(response.data)
    assert b"<script>x()" not in client.get(path).data


def test_accepting_twice_at_once_creates_one_account(make, hospital):
    _, token = make.invitation(hospital, email="once@example.org")
    invitation_service.accept_invitation(token, full_name="Once Only", password=PASSWORD)
    with pytest.raises(Exception, match="already used"):
        invitation_service.accept_invitation(token, full_name="Once Only", password=PASSWORD)
    assert len(db.session.scalars(select(User).where(User.email == "once@example.org")).all()) == 1


def test_admin_cannot_withdraw_another_hospitals_invitation(client, make, admin):
    foreign, _ = make.invitation(make.hospital())
    assert client.post(f"/hospital/invitations/{foreign.id}/revoke").status_code == 404
    db.session.refresh(foreign)
    assert foreign.revoked_at is None


def test_staff_invitation_creates_a_staff_account_of_that_kind(client, make, hospital, admin):
    response = client.post(
        "/hospital/staff/invitations",
        data={"full_name": "Rose Achieng", "email": "rose@example.org", "kind": "pharmacist"},
        headers=HX,
    )
    assert response.status_code == 200
    path = link_in(response.data)
    client.post("/logout")
    done = accept(client, path, full_name="Rose Achieng")
    assert done.headers["Location"] == "/staff/"
    user = db.session.scalar(select(User).where(User.email == "rose@example.org"))
    assert (user.role, user.staff.kind, user.staff.hospital_id) == (
        Role.staff,
        StaffKind.pharmacist,
        hospital.id,
    )


def test_admin_invitation_creates_another_administrator(client, make, hospital, admin):
    response = client.post(
        "/hospital/admins/invitations",
        data={"full_name": "Second Admin", "email": "second@example.org"},
        headers=HX,
    )
    path = link_in(response.data)
    client.post("/logout")
    # An administrator sets up two-factor login before his first page.
    assert accept(client, path, full_name="Second Admin").headers["Location"] == "/login/two-factor"
    enrol_at_login(client)
    assert client.get("/hospital/").status_code == 200
    user = db.session.scalar(select(User).where(User.email == "second@example.org"))
    assert user.hospital_admin.hospital_id == hospital.id


def test_waiting_invitations_refresh_as_a_fragment(client, make, hospital, admin):
    make.invitation(hospital, email="waiting@example.org")
    make.invitation(hospital, email="nurse@example.org", role=Role.staff)
    doctors = client.get("/hospital/invitations?of=doctors", headers=HX).data.decode()
    assert "waiting@example.org" in doctors and "nurse@example.org" not in doctors and "<html" not in doctors
    staff = client.get("/hospital/invitations?of=staff", headers=HX).data.decode()
    assert "nurse@example.org" in staff and "waiting@example.org" not in staff
    assert client.get("/hospital/invitations?of=staff").headers["Location"] == "/hospital/staff"


def test_the_invitation_link_is_emailed_to_the_person(client, make, hospital, admin, smtp_server):
    from hms.services import outbox

    response = invite_doctor(client)
    assert b"We have emailed it to priya@example.org too." in response.data
    shown = link_in(response.data)
    outbox.deliver_all_due("w")
    (mail,) = smtp_server.messages
    assert mail["To"] == "priya@example.org"
    assert mail["Subject"] == "HMS: Riverside invites you to join"
    text = mail.get_content()
    assert "join Riverside on HMS as a doctor" in text
    assert shown in text  # the same one-time link the admin saw
    client.post("/logout")
    assert accept(client, link_in(text.encode())).status_code == 303


def test_a_refused_invitation_sends_no_email(client, make, hospital, admin):
    from hms.models import OutboxEmail

    make.doctor(email="taken@example.org")
    assert invite_doctor(client, email="taken@example.org").status_code == 422
    assert db.session.scalars(select(OutboxEmail)).all() == []


def test_staff_invitations_name_the_role(client, make, hospital, admin, smtp_server):
    from hms.services import outbox

    data = {"full_name": "Joy Wanjiru", "email": "joy@example.org", "kind": "pharmacist"}
    assert client.post("/hospital/staff/invitations", data=data, headers=HX).status_code == 200
    outbox.deliver_all_due("w")
    (mail,) = smtp_server.messages
    assert "as a pharmacist" in mail.get_content()
