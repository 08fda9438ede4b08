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
    (
        "GET",
        "/appointments/{own_appointment}/chat",
        {"anonymous": 302, "patient": 200, "doctor": 200, "*": 403},
    ),
    (
        "POST",
        "/appointments/{own_appointment}/chat",
        {"anonymous": 302, "patient": 422, "doctor": 422, "*": 403},
    ),
    (
        "GET",
        "/appointments/{own_appointment}/chat/messages",
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
    # video calls: the same two people only ({call_appointment} starts in 5 minutes: the call is open)
    (
        "GET",
        "/appointments/{call_appointment}/video",
        {"anonymous": 302, "patient": 200, "doctor": 200, "*": 403},
    ),
    (
        "GET",
        "/appointments/{call_appointment}/video/signals",
        {"anonymous": 302, "patient": 200, "doctor": 200, "*": 403},
    ),
    (
        "POST",
        "/appointments/{call_appointment}/video/signals",
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
    hospital, other_hospital = make.hospital(), make.hospital()
    patient, doctor = make.patient(), make.doctor_at(hospital)
    other_doctor = make.doctor_at(other_hospital)
    own_rule = make.schedule(doctor, hospital, weekdays=[0])[0]
    other_rule = make.schedule(other_doctor, other_hospital, weekdays=[0])[0]
    soon = clock.now().replace(microsecond=0) + timedelta(days=3)
    own = make.appointment(patient, doctor, hospital, soon)
    in_five_minutes = clock.now().replace(second=0, microsecond=0) + timedelta(minutes=5)
    call = make.appointment(patient, doctor, hospital, in_five_minutes)
    notice = notify(patient, "test", "A notice for the patient only")
    db.session.commit()
    other = make.appointment(make.patient(), other_doctor, other_hospital, soon)
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
            "hospital": hospital.id,
            "other_hospital": other_hospital.id,
            "doctor": doctor.doctor.id,
            "own_rule": own_rule.id,
            "other_rule": other_rule.id,
            "own_appointment": own.id,
            "other_appointment": other.id,
            "call_appointment": call.id,
            "patient_notice": notice.id,
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
