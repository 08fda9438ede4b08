"""What a hospital's people can do while the platform has not approved it or has suspended it: pages,
the FHIR API and the README say the same (the sweep found them disagreeing)."""

from __future__ import annotations

import pytest

from hms.extensions import db
from hms.hospital_admin.routes import OPEN_WHILE
from hms.models import HospitalStatus, StaffKind
from hms.services import api_tokens


def bearer(user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    _row, secret = api_tokens.create_api_token(user, "Wind-down")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def suspended(make):  # type: ignore[no-untyped-def]
    hospital = make.hospital()
    admin = make.hospital_admin(hospital)
    staff = make.staff(hospital, StaffKind.receptionist)
    patient = make.patient()
    make.appointment(patient, make.doctor_at(hospital), hospital)
    bill = make.bill(patient, hospital, items=[("Consultation", 1, 100000)])
    tokens = {"admin": bearer(admin), "staff": bearer(staff)}
    hospital.status = HospitalStatus.suspended
    db.session.commit()
    return {"hospital": hospital, "admin": admin, "staff": staff, "bill": bill, "tokens": tokens}


def test_a_suspended_hospitals_admin_reads_what_was_made_and_changes_nothing(client, login_as, suspended):
    login_as(suspended["admin"])
    readable = ["/hospital/", "/hospital/appointments", "/hospital/week", "/hospital/patients"]
    readable += ["/hospital/bills", "/hospital/bills.csv", f"/hospital/bills/{suspended['bill'].id}"]
    readable += ["/hospital/refunds", "/hospital/reports"]
    assert {p: client.get(p).status_code for p in readable} == dict.fromkeys(readable, 200)
    assert "suspended" in client.get("/hospital/").get_data(as_text=True).lower()
    for closed in ("/hospital/doctors", "/hospital/staff", "/hospital/inventory", "/hospital/profile"):
        answer = client.get(closed)
        assert answer.status_code == 303 and answer.headers["Location"] == "/hospital/", closed
    assert client.post("/hospital/departments", data={"name": "New"}).status_code == 403
    assert (
        client.post(f"/hospital/bills/{suspended['bill'].id}/cancel", data={"reason": "x"}).status_code == 403
    )
    assert len(OPEN_WHILE[HospitalStatus.suspended]) >= 10


def test_the_api_follows_the_pages(client, make, suspended):
    patients = client.get("/fhir/Patient", headers=suspended["tokens"]["admin"])
    assert patients.status_code == 200 and patients.json["total"] == 1  # read-only wind-down, as the pages
    staff = client.get("/fhir/Organization", headers=suspended["tokens"]["staff"])
    assert staff.status_code == 403 and staff.json["resourceType"] == "OperationOutcome"
    pending = make.hospital(status=HospitalStatus.pending)
    waiting = client.get("/fhir/Patient", headers=bearer(make.hospital_admin(pending)))
    assert waiting.status_code == 403 and "approval" in waiting.get_data(as_text=True)
    suspended["hospital"].status = HospitalStatus.active
    db.session.commit()
    assert client.get("/fhir/Organization", headers=suspended["tokens"]["staff"]).status_code == 200


def test_a_deactivated_account_reads_nothing_through_the_api(client, make):
    user = make.patient()
    headers = bearer(user)
    assert client.get("/fhir/Patient", headers=headers).status_code == 200
    user.active = False
    db.session.commit()
    assert client.get("/fhir/Patient", headers=headers).status_code in (401, 403)


def test_staff_logged_in_when_the_hospital_is_suspended_keep_only_the_dashboard(client, login_as, suspended):
    login_as(suspended["staff"])
    assert client.get("/staff/bills").headers["Location"] == "/staff/"
    assert client.post(f"/staff/bills/{suspended['bill'].id}/cancel", data={"reason": "x"}).status_code == 403
    page = client.get("/staff/").get_data(as_text=True)
    assert "is not active on the platform" in page
