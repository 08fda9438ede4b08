"""Every URL × every role (and anonymous) → the expected status. Later features add rows here."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hms import clock
from hms.extensions import db
from hms.models import HospitalStatus
from hms.services.notifications import notify

ROLES = ["anonymous", "patient", "doctor", "hospital_admin", "staff", "super_admin"]

# (method, url template, {role: status}); "*" is every role not named.
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
    ("POST", "/logout", {"*": 303}),
    # notifications: every role has a bell, a list and preferences; a notice is its owner's only
    ("GET", "/notifications/", {"anonymous": 302, "*": 200}),
    ("GET", "/notifications/bell", {"anonymous": 286, "*": 200}),
    ("POST", "/notifications/read-all", {"anonymous": 302, "*": 303}),
    ("POST", "/notifications/{patient_notice}/read", {"anonymous": 302, "patient": 303, "*": 404}),
    ("POST", "/notifications/{patient_notice}/open", {"anonymous": 302, "patient": 303, "*": 404}),
    ("POST", "/notifications/999999/read", {"anonymous": 302, "*": 404}),
    ("GET", "/notifications/preferences", {"anonymous": 302, "*": 200}),
    ("POST", "/notifications/preferences", {"anonymous": 302, "*": 303}),
    # a hospital's text-message settings: its administrator only
    ("GET", "/hospital/sms/", {"anonymous": 302, "hospital_admin": 200, "*": 403}),
    ("POST", "/hospital/sms/", {"anonymous": 302, "hospital_admin": 422, "*": 403}),
    ("POST", "/hospital/sms/off", {"anonymous": 302, "hospital_admin": 303, "*": 403}),
    # password reset: open to everyone; without a valid link in the session the form is refused
    ("GET", "/forgot-password", {"*": 200}),
    ("POST", "/forgot-password", {"*": 422}),
    ("GET", "/reset-password/not-a-real-token", {"*": 303}),
    ("GET", "/reset-password", {"*": 400}),
    ("POST", "/reset-password", {"*": 400}),
    # chat: the appointment's patient and doctor only; anyone else's appointment is a 404
    ("GET", "/consultations/", {"anonymous": 302, "patient": 200, "doctor": 200, "*": 403}),
    ("GET", "/appointments/{appointment}/chat", {"anonymous": 302, "patient": 200, "doctor": 200, "*": 403}),
    ("POST", "/appointments/{appointment}/chat", {"anonymous": 302, "patient": 422, "doctor": 422, "*": 403}),
    (
        "GET",
        "/appointments/{appointment}/chat/messages",
        {"anonymous": 302, "patient": 303, "doctor": 303, "*": 403},
    ),
    (
        "GET",
        "/appointments/{other_appointment}/chat",
        {"anonymous": 302, "patient": 404, "doctor": 404, "*": 403},
    ),
    (
        "POST",
        "/appointments/{other_appointment}/chat",
        {"anonymous": 302, "patient": 404, "doctor": 404, "*": 403},
    ),
    (
        "GET",
        "/appointments/{other_appointment}/chat/messages",
        {"anonymous": 302, "patient": 404, "doctor": 404, "*": 403},
    ),
    ("GET", "/appointments/999999/chat", {"anonymous": 302, "patient": 404, "doctor": 404, "*": 403}),
    # video calls: the same two people only
    ("GET", "/appointments/{appointment}/video", {"anonymous": 302, "patient": 200, "doctor": 200, "*": 403}),
    (
        "GET",
        "/appointments/{appointment}/video/signals",
        {"anonymous": 302, "patient": 200, "doctor": 200, "*": 403},
    ),
    (
        "POST",
        "/appointments/{appointment}/video/signals",
        {"anonymous": 302, "patient": 400, "doctor": 400, "*": 403},
    ),
    (
        "GET",
        "/appointments/{other_appointment}/video",
        {"anonymous": 302, "patient": 404, "doctor": 404, "*": 403},
    ),
    (
        "GET",
        "/appointments/{other_appointment}/video/signals",
        {"anonymous": 302, "patient": 404, "doctor": 404, "*": 403},
    ),
    (
        "POST",
        "/appointments/{other_appointment}/video/signals",
        {"anonymous": 302, "patient": 404, "doctor": 404, "*": 403},
    ),
    ("GET", "/no/such/page", {"*": 404}),
]


def _cases():
    for method, url, expected in MATRIX:
        for role in ROLES:
            yield pytest.param(
                method, url, role, expected.get(role, expected.get("*")), id=f"{method} {url} as {role}"
            )


@pytest.fixture
def world(make):
    """One of each: a hospital with an admin, a staff member, a doctor; a patient; a platform admin."""
    hospital = make.hospital()
    patient = make.patient()
    doctor = make.doctor_at(hospital)
    notice = notify(patient, "test", "A notice for the patient only")
    db.session.commit()
    soon = (clock.now() + timedelta(minutes=5)).replace(second=0, microsecond=0)
    return {
        "users": {
            "patient": patient,
            "doctor": doctor,
            "hospital_admin": make.hospital_admin(hospital),
            "staff": make.staff(hospital),
            "super_admin": make.super_admin(),
        },
        "ids": {
            "pending_hospital": make.hospital(status=HospitalStatus.pending).id,
            "patient_notice": notice.id,
            # the world's patient with the world's doctor, its video call open now
            "appointment": make.appointment(patient, doctor, hospital, start_at=soon).id,
            # someone else's appointment, at the same hospital
            "other_appointment": make.appointment(hospital_row=hospital, start_at=soon).id,
        },
    }


@pytest.mark.parametrize(("method", "url", "role", "status"), list(_cases()))
def test_access(client, login_as, world, method, url, role, status):
    if role != "anonymous":
        login_as(world["users"][role])
    path = url.format(**world["ids"])
    data = {"action": "approve"} if method == "POST" else None
    response = client.open(path, method=method, data=data)
    assert response.status_code == status, response.data[:300]
