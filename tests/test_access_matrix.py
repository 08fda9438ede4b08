"""Every URL × every role (and anonymous) → the expected status. Later features add rows here."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hms import clock
from hms.models import HospitalStatus, MembershipStatus

ROLES = ["anonymous", "patient", "doctor", "hospital_admin", "staff", "super_admin"]

SUPER_200 = {"anonymous": 302, "super_admin": 200, "*": 403}
SUPER_404 = {"anonymous": 302, "super_admin": 404, "*": 403}
ADMIN_200 = {"anonymous": 302, "hospital_admin": 200, "*": 403}
ADMIN_303 = {"anonymous": 302, "hospital_admin": 303, "*": 403}
DOCTOR_303 = {"anonymous": 302, "doctor": 303, "*": 403}
DOCTOR_404 = {"anonymous": 302, "doctor": 404, "*": 403}
INVITE_DOCTOR = {
    "full_name": "New Doctor",
    "email": "new@example.org",
    "specialty": "Surgery",
    "department": "0",
}
INVITE_STAFF = {"full_name": "New Nurse", "email": "new@example.org", "kind": "nurse"}
ACCEPT_INVITATION = {
    "full_name": "New Person",
    "password": "blue kettle on the hill",
    "confirm": "blue kettle on the hill",
}
ADMIN_404 = {"anonymous": 302, "hospital_admin": 404, "*": 403}

# (method, url template, {role: status}[, form data]); "*" is every role not named. A POST sends
# {"action": "approve"} unless the row gives its own valid data, so that only access decides.
MATRIX = [
    ("GET", "/", {"anonymous": 200, "*": 302}),
    ("GET", "/login", {"anonymous": 200, "*": 302}),
    ("GET", "/register", {"*": 200}),
    ("GET", "/register/doctor", {"*": 200}),
    ("GET", "/register/hospital", {"*": 200}),
    ("GET", "/patient/", {"anonymous": 302, "patient": 200, "*": 403}),
    ("GET", "/doctor/", {"anonymous": 302, "doctor": 200, "*": 403}),
    ("GET", "/hospital/", {"anonymous": 302, "hospital_admin": 200, "*": 403}),
    ("GET", "/staff/", {"anonymous": 302, "staff": 200, "*": 403}),
    ("GET", "/admin/", {"anonymous": 302, "super_admin": 200, "*": 403}),
    ("GET", "/admin/counts", {"anonymous": 302, "super_admin": 200, "*": 403}),
    ("POST", "/admin/hospitals/{pending_hospital}/status", {"anonymous": 302, "super_admin": 303, "*": 403}),
    ("POST", "/admin/hospitals/999999/status", {"anonymous": 302, "super_admin": 404, "*": 403}),
    # Hospital administration: own hospital's objects only; another hospital's ids are 404.
    ("GET", "/hospital/profile", {"anonymous": 302, "hospital_admin": 200, "*": 403}),
    ("POST", "/hospital/profile", {"anonymous": 302, "hospital_admin": 422, "*": 403}),
    ("GET", "/hospital/departments", {"anonymous": 302, "hospital_admin": 200, "*": 403}),
    ("POST", "/hospital/departments", ADMIN_303, {"name": "Matrix"}),
    ("POST", "/hospital/departments/{department}/name", ADMIN_303, {"name": "Renamed"}),
    ("POST", "/hospital/departments/{other_department}/name", ADMIN_404, {"name": "Renamed"}),
    ("POST", "/hospital/departments/{department}/status", ADMIN_303, {"action": "retire"}),
    ("POST", "/hospital/departments/{other_department}/status", ADMIN_404, {"action": "retire"}),
    ("POST", "/hospital/departments/999999/status", ADMIN_404, {"action": "retire"}),
    ("GET", "/hospital/doctors", ADMIN_200),
    ("POST", "/hospital/doctors", ADMIN_303, {"email": "free.doctor@example.org", "department": "0"}),
    ("POST", "/hospital/doctors/invitations", ADMIN_303, INVITE_DOCTOR),
    ("GET", "/hospital/invitations", ADMIN_303),
    ("POST", "/hospital/invitations/{invitation}/revoke", ADMIN_303),
    ("POST", "/hospital/invitations/{other_invitation}/revoke", ADMIN_404),
    ("POST", "/hospital/memberships/{membership}/status", ADMIN_303, {"action": "deactivate"}),
    ("POST", "/hospital/memberships/{other_membership}/status", ADMIN_404, {"action": "deactivate"}),
    ("POST", "/hospital/memberships/{requested}/request", ADMIN_303, {"action": "accept"}),
    ("POST", "/hospital/memberships/{other_membership}/request", ADMIN_404, {"action": "accept"}),
    ("GET", "/hospital/memberships/{membership}/remove", ADMIN_200),
    ("GET", "/hospital/memberships/{other_membership}/remove", ADMIN_404),
    ("POST", "/hospital/memberships/{membership}/remove", ADMIN_303, {"appointments": "keep"}),
    ("POST", "/hospital/memberships/{other_membership}/remove", ADMIN_404, {"appointments": "keep"}),
    ("GET", "/hospital/staff", ADMIN_200),
    ("POST", "/hospital/staff/invitations", ADMIN_303, INVITE_STAFF),
    (
        "POST",
        "/hospital/admins/invitations",
        ADMIN_303,
        {"full_name": "New Admin", "email": "new@example.org"},
    ),
    ("POST", "/hospital/staff/{staff}/status", ADMIN_303, {"action": "deactivate"}),
    ("POST", "/hospital/staff/{other_staff}/status", ADMIN_404, {"action": "deactivate"}),
    ("POST", "/hospital/admins/{second_admin}/remove", ADMIN_303),
    ("POST", "/hospital/admins/{other_admin}/remove", ADMIN_404),
    # Invitation links are public; a used or unknown one is refused to everyone.
    ("GET", "/invitation/{token}", {"*": 200}),
    ("POST", "/invitation/{token}", {"*": 303}, ACCEPT_INVITATION),
    ("GET", "/invitation/no-such-token", {"*": 404}),
    # The doctor's own memberships only.
    ("GET", "/doctor/hospitals", {"anonymous": 302, "doctor": 200, "*": 403}),
    ("POST", "/doctor/hospitals/{join_hospital}/join", DOCTOR_303),
    ("POST", "/doctor/hospitals/{pending_hospital}/join", DOCTOR_404),
    ("POST", "/doctor/memberships/{own_request}/withdraw", DOCTOR_303),
    ("POST", "/doctor/memberships/{requested}/withdraw", DOCTOR_404),
    ("GET", "/doctor/memberships/{membership}/leave", {"anonymous": 302, "doctor": 200, "*": 403}),
    ("GET", "/doctor/memberships/{other_membership}/leave", DOCTOR_404),
    ("POST", "/doctor/memberships/{membership}/leave", DOCTOR_303, {"appointments": "keep"}),
    ("POST", "/doctor/memberships/{other_membership}/leave", DOCTOR_404, {"appointments": "keep"}),
    ("GET", "/hospital/patients", ADMIN_200),
    ("GET", "/hospital/patients/{patient_record}", ADMIN_200),
    ("GET", "/hospital/patients/{other_patient_record}", ADMIN_404),
    ("GET", "/hospital/week", ADMIN_200),
    ("GET", "/admin/hospitals", SUPER_200),
    ("GET", "/admin/hospitals/{hospital}", SUPER_200),
    ("GET", "/admin/hospitals/999999", SUPER_404),
    ("GET", "/admin/doctors", SUPER_200),
    ("GET", "/admin/doctors/{doctor}", SUPER_200),
    ("GET", "/admin/doctors/999999", SUPER_404),
    ("GET", "/admin/patients", SUPER_200),
    ("GET", "/admin/patients/{patient_record}", SUPER_200),
    ("GET", "/admin/patients/999999", SUPER_404),
    ("POST", "/logout", {"*": 303}),
    # Booking (patients)
    ("GET", "/patient/doctors", {"anonymous": 302, "patient": 200, "*": 403}),
    ("GET", "/patient/doctors/{doctor}/at/{hospital}", {"anonymous": 302, "patient": 200, "*": 403}),
    ("GET", "/patient/doctors/{doctor}/at/999999", {"anonymous": 302, "patient": 404, "*": 403}),
    ("POST", "/patient/doctors/{doctor}/at/{hospital}/book", {"anonymous": 302, "patient": 422, "*": 403}),
    ("GET", "/patient/appointments", {"anonymous": 302, "patient": 200, "*": 403}),
    ("GET", "/patient/appointments/{own_appointment}", {"anonymous": 302, "patient": 200, "*": 403}),
    ("GET", "/patient/appointments/{other_appointment}", {"anonymous": 302, "patient": 404, "*": 403}),
    ("POST", "/patient/appointments/{own_appointment}/cancel", {"anonymous": 302, "patient": 303, "*": 403}),
    (
        "POST",
        "/patient/appointments/{other_appointment}/cancel",
        {"anonymous": 302, "patient": 404, "*": 403},
    ),
    (
        "GET",
        "/patient/appointments/{own_appointment}/reschedule",
        {"anonymous": 302, "patient": 200, "*": 403},
    ),
    (
        "GET",
        "/patient/appointments/{other_appointment}/reschedule",
        {"anonymous": 302, "patient": 404, "*": 403},
    ),
    # Schedules and agenda (doctors)
    ("GET", "/doctor/schedule", {"anonymous": 302, "doctor": 200, "*": 403}),
    ("GET", "/doctor/agenda", {"anonymous": 302, "doctor": 200, "*": 403}),
    ("POST", "/doctor/schedule/{hospital}/rules", {"anonymous": 302, "doctor": 422, "*": 403}),
    ("POST", "/doctor/schedule/{other_hospital}/rules", {"anonymous": 302, "doctor": 404, "*": 403}),
    ("GET", "/doctor/schedule/rules/{own_rule}/edit", {"anonymous": 302, "doctor": 200, "*": 403}),
    ("GET", "/doctor/schedule/rules/{other_rule}/edit", {"anonymous": 302, "doctor": 404, "*": 403}),
    ("POST", "/doctor/schedule/rules/{other_rule}/delete", {"anonymous": 302, "doctor": 404, "*": 403}),
    ("POST", "/doctor/schedule/rules/{other_rule}/breaks", {"anonymous": 302, "doctor": 404, "*": 403}),
    ("POST", "/doctor/time-off", {"anonymous": 302, "doctor": 422, "*": 403}),
    ("POST", "/doctor/appointments/{own_appointment}/status", {"anonymous": 302, "doctor": 400, "*": 403}),
    ("POST", "/doctor/appointments/{other_appointment}/status", {"anonymous": 302, "doctor": 404, "*": 403}),
    ("POST", "/doctor/appointments/{other_appointment}/cancel", {"anonymous": 302, "doctor": 404, "*": 403}),
    # Hospital administration
    ("GET", "/hospital/appointments", {"anonymous": 302, "hospital_admin": 200, "*": 403}),
    (
        "GET",
        "/hospital/appointments?doctor=x&date=bad&status=nope&page=-1",
        {"anonymous": 302, "hospital_admin": 200, "*": 403},
    ),
    ("GET", "/no/such/page", {"*": 404}),
]


def _cases():
    for method, url, expected, *data in MATRIX:
        for role in ROLES:
            yield pytest.param(
                method,
                url,
                role,
                expected.get(role, expected.get("*")),
                data[0] if data else {"action": "approve"},
                id=f"{method} {url} as {role}",
            )


@pytest.fixture
def world(make):
    """One of each: a hospital with an admin, a staff member, a doctor; a patient; a platform admin."""
    hospital, other_hospital = make.hospital(), make.hospital()
    patient, doctor = make.patient(), make.doctor_at(hospital)
    other_doctor = make.doctor_at(other_hospital)
    own_rule = make.schedule(doctor, hospital, weekdays=[0])[0]
    other_rule = make.schedule(other_doctor, other_hospital, weekdays=[0])[0]
    soon = clock.now().replace(microsecond=0) + timedelta(days=3)
    own = make.appointment(patient, doctor, hospital, soon)
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
    return {
        "users": users,
        "ids": {
            "pending_hospital": make.hospital(status=HospitalStatus.pending).id,
            "hospital": hospital.id,
            "other_hospital": other_hospital.id,
            "doctor": doctor.doctor.id,
            "own_rule": own_rule.id,
            "other_rule": other_rule.id,
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
        },
    }


@pytest.mark.parametrize(("method", "url", "role", "status", "data"), list(_cases()))
def test_access(client, login_as, world, method, url, role, status, data):
    if role != "anonymous":
        login_as(world["users"][role])
    path = url.format(**world["ids"])
    response = client.open(path, method=method, data=data if method == "POST" else None)
    assert response.status_code == status, response.data[:300]
