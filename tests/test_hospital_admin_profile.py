"""The hospital admin's profile page and the status gate of pending and suspended hospitals."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hms.extensions import db
from hms.models import AuditEvent, HospitalStatus

HX = {"HX-Request": "true"}


def profile_form(**overrides):  # type: ignore[no-untyped-def]
    return {
        "name": "Lakeside Hospital",
        "address": "1 Lake Road",
        "city": "Kisumu",
        "phone": "+254 57 000 000",
        "email": "Desk@Lakeside.example",
        "timezone": "Africa/Nairobi",
        "currency": "kes",
        "cancel_cutoff_minutes": "240",
        "idle_timeout_minutes": "15",
    } | overrides


def test_admin_edits_the_profile_and_it_is_audited(client, make, login_as):
    hospital = make.hospital()
    admin = make.hospital_admin(hospital)
    login_as(admin)
    response = client.post("/hospital/profile", data=profile_form(), headers=HX)
    assert response.status_code == 200
    assert b"The profile is saved." in response.data
    assert b"<html" not in response.data
    db.session.refresh(hospital)
    assert (
        hospital.name,
        hospital.city,
        hospital.currency,
        hospital.email,
        hospital.cancel_cutoff_minutes,
    ) == (
        "Lakeside Hospital",
        "Kisumu",
        "KES",
        "desk@lakeside.example",
        240,
    )
    event = db.session.scalar(select(AuditEvent))
    assert (event.action, event.record_type, event.user_id, event.hospital_id) == (
        "update",
        "hospital",
        admin.id,
        hospital.id,
    )
    assert "cancel_cutoff_minutes" in event.detail


def test_profile_saves_without_javascript_by_redirecting(client, make, login_as):
    hospital = make.hospital()
    login_as(make.hospital_admin(hospital))
    response = client.post("/hospital/profile", data=profile_form())
    assert response.status_code == 303
    assert response.headers["Location"] == "/hospital/profile"
    assert b"The profile is saved." in client.get("/hospital/profile").data


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "Mars/Olympus", b"Unknown time zone"),
        ("currency", "XYZ", b"Unknown currency"),
        ("cancel_cutoff_minutes", "-5", b"between 0 and 10080"),
        ("cancel_cutoff_minutes", "soon", b"Not a valid integer"),
        ("name", "x" * 500, b"between 2 and 160"),
        ("email", "not-an-email", b"valid email"),
    ],
)
def test_bad_profile_input_is_refused_with_a_message(client, make, login_as, field, value, message):
    hospital = make.hospital(name="Old Name")
    login_as(make.hospital_admin(hospital))
    response = client.post("/hospital/profile", data=profile_form(**{field: value}), headers=HX)
    assert response.status_code == 422
    assert message in response.data
    db.session.refresh(hospital)
    assert hospital.name == "Old Name"


def test_html_in_the_name_is_shown_escaped(client, make, login_as):
    hospital = make.hospital()
    login_as(make.hospital_admin(hospital))
    client.post("/hospital/profile", data=profile_form(name="<script>alert(1)</script>"))
    page = client.get("/hospital/").data
    assert b"<script>alert(1)</script>" not in page
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_currency_cannot_change_while_doctors_have_fees(client, make, login_as):
    hospital = make.hospital(currency="KES")
    make.membership(make.doctor(), hospital, fee_minor=150000)
    login_as(make.hospital_admin(hospital))
    response = client.post("/hospital/profile", data=profile_form(currency="USD"), headers=HX)
    assert response.status_code == 422
    assert b"Set their fees to zero" in response.data
    db.session.refresh(hospital)
    assert hospital.currency == "KES"


def test_currency_cannot_change_once_the_hospital_has_bills(client, make, login_as):
    hospital = make.hospital(currency="KES")
    make.booking(hospital_row=hospital)  # a booking at a fee issues a bill
    for membership in hospital.memberships:
        membership.fee_minor = 0
    db.session.commit()
    login_as(make.hospital_admin(hospital))
    response = client.post("/hospital/profile", data=profile_form(currency="USD"), headers=HX)
    assert response.status_code == 422
    assert b"has bills in KES" in response.data


def test_saving_an_unchanged_profile_writes_no_audit_event(client, make, login_as):
    hospital = make.hospital()
    login_as(make.hospital_admin(hospital))
    client.post("/hospital/profile", data=profile_form())
    client.post("/hospital/profile", data=profile_form())
    assert len(db.session.scalars(select(AuditEvent)).all()) == 1


@pytest.mark.parametrize("status", [HospitalStatus.pending, HospitalStatus.suspended])
def test_admin_of_an_inactive_hospital_sees_the_status_page_not_management(client, make, login_as, status):
    hospital = make.hospital(status=status)
    login_as(make.hospital_admin(hospital))
    page = client.get("/hospital/")
    assert page.status_code == 200
    assert (b"Waiting for approval" if status == HospitalStatus.pending else b"Suspended") in page.data
    response = client.get("/hospital/departments")
    assert response.status_code == 303
    assert response.headers["Location"] == "/hospital/"
    refused = client.post("/hospital/departments", data={"name": "Cardiology"})
    assert refused.status_code == 403
    assert hospital.departments == []


def test_a_pending_hospital_may_prepare_its_profile_but_a_suspended_one_may_not(client, make, login_as):
    pending = make.hospital(status=HospitalStatus.pending)
    login_as(make.hospital_admin(pending))
    assert client.get("/hospital/profile").status_code == 200
    assert client.post("/hospital/profile", data=profile_form()).status_code == 303

    suspended = make.hospital(status=HospitalStatus.suspended, name="Closed")
    login_as(make.hospital_admin(suspended))
    assert client.get("/hospital/profile").status_code == 303
    assert client.post("/hospital/profile", data=profile_form()).status_code == 403
    db.session.refresh(suspended)
    assert suspended.name == "Closed"


def test_a_suspended_hospitals_admin_can_still_read_its_bookings(client, make, login_as):
    hospital = make.hospital(status=HospitalStatus.suspended)
    login_as(make.hospital_admin(hospital))
    for url in ("/hospital/appointments", "/hospital/week", "/hospital/patients", "/hospital/bills"):
        assert client.get(url).status_code == 200, url
    for url in ("/hospital/doctors", "/hospital/staff", "/hospital/departments"):
        assert client.get(url).status_code == 303, url
