"""Every URL × every role (and anonymous) → the expected status. Later features add rows here."""

from __future__ import annotations

import re

import pytest

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
REPORT = "metric=noshow_rate&start=2026-01-01&end=2026-03-31&group=month"
REPORT_FORM = {
    "name": "Matrix",
    "metric": "revenue",
    "start": "2026-01-01",
    "end": "2026-01-31",
    "group": "doctor",
}
DOCTOR = {"anonymous": 302, "*": 403}  # a doctor's page: the doctor's status is added per row
PATIENT = {"anonymous": 302, "*": 403}
WARD_404 = {"anonymous": 302, "doctor": 404, "staff": 404, "hospital_admin": 404, "*": 403}

# The ward's pages: for doctors, staff and hospital administrators (others 403), each as the page allows.
BEDS_404 = {"anonymous": 302, "doctor": 404, "staff": 404, "hospital_admin": 404, "*": 403}

# (method, url template, {role: status}[, form data]); "*" is every role not named. A POST sends
# {"action": "approve"} unless the row gives its own valid data, so that only access decides.
MATRIX = [
    ("GET", "/", {"anonymous": 200, "*": 302}),
    ("GET", "/login", {"anonymous": 200, "*": 302}),
    ("GET", "/healthz", {"*": 200}),
    ("GET", "/register", {"*": 200}),
    ("GET", "/register/doctor", {"*": 200}),
    ("GET", "/register/hospital", {"*": 200}),
    ("GET", "/register/sent", {"*": 200}),
    ("GET", "/register/confirm/{registration_token}", {"*": 200}),
    ("POST", "/register/confirm/{registration_token}", {"*": 303}),
    ("GET", "/register/confirm/no-such-token", {"*": 410}),
    ("POST", "/register/confirm/no-such-token", {"*": 410}),
    ("GET", "/patient/", {"anonymous": 302, "patient": 200, "*": 403}),
    ("GET", "/doctor/", {"anonymous": 302, "doctor": 200, "*": 403}),
    ("GET", "/hospital/", {"anonymous": 302, "hospital_admin": 200, "*": 403}),
    ("GET", "/staff/", {"anonymous": 302, "staff": 200, "*": 403}),
    ("GET", "/admin/", {"anonymous": 302, "super_admin": 200, "*": 403}),
    ("GET", "/admin/counts", {"anonymous": 302, "super_admin": 200, "*": 403}),
    ("GET", "/admin/outbox", {"anonymous": 302, "super_admin": 200, "*": 403}),
    ("POST", "/admin/outbox/retry", {"anonymous": 302, "super_admin": 303, "*": 403}),
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
    ("GET", "/hospital/memberships/{membership}/terms", ADMIN_200),
    ("GET", "/hospital/memberships/{other_membership}/terms", ADMIN_404),
    ("GET", "/hospital/memberships/{membership}/row", ADMIN_303),
    ("GET", "/hospital/memberships/{other_membership}/row", ADMIN_404),
    (
        "POST",
        "/hospital/memberships/{membership}/terms",
        ADMIN_303,
        {"terms-department": "0", "terms-fee": "12"},
    ),
    ("POST", "/hospital/memberships/{other_membership}/terms", ADMIN_404, {"terms-fee": "12"}),
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
    # The world's staff member is a receptionist: only a lab technician can be senior (422).
    (
        "POST",
        "/hospital/staff/{staff}/senior",
        {"anonymous": 302, "hospital_admin": 422, "*": 403},
        {"action": "activate"},
    ),
    ("POST", "/hospital/staff/{other_staff}/senior", ADMIN_404, {"action": "activate"}),
    ("POST", "/hospital/admins/{second_admin}/remove", ADMIN_303),
    ("POST", "/hospital/admins/{other_admin}/remove", ADMIN_404),
    # Invitation links are public; a used or unknown one is refused to everyone.
    ("GET", "/invitation/{token}", {"*": 200}),
    ("POST", "/invitation/{token}", {"*": 303}, ACCEPT_INVITATION),
    ("GET", "/invitation/no-such-token", {"*": 404}),
    # The doctor's own memberships only.
    ("GET", "/doctor/hospitals", {"anonymous": 302, "doctor": 200, "*": 403}),
    # The wall screen's secret address (no login; a real link in tests/test_wall_display.py) and the
    # hospital administrator's page that makes and revokes it
    ("GET", "/display/wall_no-such-link", {"*": 404}),
    ("GET", "/display/wall_no-such-link/board", {"*": 404}),
    ("GET", "/hospital/flow/display", {"anonymous": 302, "hospital_admin": 200, "*": 403}),
    (
        "POST",
        "/hospital/flow/display",
        {"anonymous": 302, "hospital_admin": 200, "*": 403},
        {"action": "new"},
    ),
    (
        "POST",
        "/hospital/flow/display",
        {"anonymous": 302, "hospital_admin": 303, "*": 403},
        {"action": "revoke"},
    ),
    # The doctor's queue of today and its one-click moves (his own cards: tests/test_doctor_queue.py)
    ("GET", "/doctor/queue", {"anonymous": 302, "doctor": 200, "*": 403}),
    ("POST", "/doctor/queue/999999/move", DOCTOR_404, {"to": "consultation", "version": "1"}),
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
    # Clinical records: doctors see only patients who have or had an appointment with them (issue 5).
    ("GET", "/doctor/patients", DOCTOR | {"doctor": 200}),
    ("GET", "/doctor/patients?q=T&born=1990-01-01&page=2", DOCTOR | {"doctor": 200}),
    ("GET", "/doctor/patients/{patient}", DOCTOR | {"doctor": 200}),
    ("GET", "/doctor/patients/{other_patient}", DOCTOR | {"doctor": 404}),
    ("GET", "/doctor/patients/999999", DOCTOR | {"doctor": 404}),
    (
        "POST",
        "/doctor/patients/{patient}/history",
        DOCTOR | {"doctor": 303},
        {"kind": "allergy", "title": "Latex"},
    ),
    (
        "POST",
        "/doctor/patients/{other_patient}/history",
        DOCTOR | {"doctor": 404},
        {"kind": "allergy", "title": "X"},
    ),
    ("GET", "/doctor/patients/{patient}/history/{doctor_entry}", DOCTOR | {"doctor": 303}),
    ("GET", "/doctor/patients/{patient}/history/{doctor_entry}/edit", DOCTOR | {"doctor": 200}),
    ("GET", "/doctor/patients/{patient}/history/{patient_entry}/edit", DOCTOR | {"doctor": 403}),
    ("GET", "/doctor/patients/{patient}/history/{other_patient_entry}/edit", DOCTOR | {"doctor": 404}),
    ("GET", "/doctor/patients/{other_patient}/history/{other_patient_entry}", DOCTOR | {"doctor": 404}),
    (
        "POST",
        "/doctor/patients/{patient}/history/{doctor_entry}",
        DOCTOR | {"doctor": 303},
        {"edit-kind": "allergy", "edit-title": "Penicillin", "edit-reaction": "Rash", "edit-version": "1"},
    ),
    (
        "POST",
        "/doctor/patients/{patient}/history/{patient_entry}",
        DOCTOR | {"doctor": 403},
        {"edit-kind": "condition", "edit-title": "X", "edit-version": "1"},
    ),
    (
        "POST",
        "/doctor/patients/{other_patient}/history/{other_patient_entry}",
        DOCTOR | {"doctor": 404},
        {"edit-kind": "condition", "edit-title": "X", "edit-version": "1"},
    ),
    ("POST", "/doctor/patients/{patient}/history/{doctor_entry}/delete", DOCTOR | {"doctor": 303}),
    ("POST", "/doctor/patients/{patient}/history/{patient_entry}/delete", DOCTOR | {"doctor": 403}),
    ("GET", "/doctor/appointments/{appointment}/encounter", DOCTOR | {"doctor": 303}),
    ("GET", "/doctor/appointments/{fresh_appointment}/encounter", DOCTOR | {"doctor": 200}),
    ("GET", "/doctor/appointments/{other_appointment}/encounter", DOCTOR | {"doctor": 404}),
    ("POST", "/doctor/appointments/{fresh_appointment}/encounter", DOCTOR | {"doctor": 303}),
    ("POST", "/doctor/appointments/{other_appointment}/encounter", DOCTOR | {"doctor": 404}),
    ("GET", "/doctor/encounters/{encounter}", DOCTOR | {"doctor": 200}),
    ("GET", "/doctor/encounters/{other_encounter}", DOCTOR | {"doctor": 404}),
    ("POST", "/doctor/encounters/{encounter}", DOCTOR | {"doctor": 303}, {"version": "1", "pulse": "80"}),
    ("POST", "/doctor/encounters/{other_encounter}", DOCTOR | {"doctor": 404}, {"version": "1"}),
    ("GET", "/doctor/encounters/{encounter}/icd10?q=J06", DOCTOR | {"doctor": 200}),
    ("GET", "/doctor/encounters/{other_encounter}/icd10?q=J06", DOCTOR | {"doctor": 404}),
    ("POST", "/doctor/encounters/{encounter}/diagnoses", DOCTOR | {"doctor": 303}, {"code": "J06.9"}),
    ("POST", "/doctor/encounters/{other_encounter}/diagnoses", DOCTOR | {"doctor": 404}, {"code": "J06.9"}),
    ("POST", "/doctor/encounters/{encounter}/diagnoses/{diagnosis}/delete", DOCTOR | {"doctor": 303}),
    (
        "POST",
        "/doctor/encounters/{other_encounter}/diagnoses/{other_diagnosis}/delete",
        DOCTOR | {"doctor": 404},
    ),
    ("POST", "/doctor/encounters/{encounter}/prescriptions", DOCTOR | {"doctor": 303}),
    ("POST", "/doctor/encounters/{other_encounter}/prescriptions", DOCTOR | {"doctor": 404}),
    ("GET", "/doctor/prescriptions/{draft}", DOCTOR | {"doctor": 200}),
    ("GET", "/doctor/prescriptions/{issued}", DOCTOR | {"doctor": 200}),
    ("GET", "/doctor/prescriptions/{other_prescription}", DOCTOR | {"doctor": 404}),
    ("GET", "/doctor/prescriptions/{issued}.pdf", DOCTOR | {"doctor": 200}),
    ("GET", "/doctor/prescriptions/{other_prescription}.pdf", DOCTOR | {"doctor": 404}),
    ("POST", "/doctor/prescriptions/{draft}/note", DOCTOR | {"doctor": 303}, {"version": "1", "note": "Hi"}),
    ("POST", "/doctor/prescriptions/{draft}/items", DOCTOR | {"doctor": 303}, {"drug": "Ibuprofen"}),
    ("POST", "/doctor/prescriptions/{other_prescription}/items", DOCTOR | {"doctor": 404}, {"drug": "X"}),
    ("GET", "/doctor/prescriptions/{draft}/items/{item}", DOCTOR | {"doctor": 303}),
    ("GET", "/doctor/prescriptions/{draft}/items/{item}/edit", DOCTOR | {"doctor": 200}),
    ("GET", "/doctor/prescriptions/{draft}/items/{other_item}/edit", DOCTOR | {"doctor": 404}),
    (
        "POST",
        "/doctor/prescriptions/{draft}/items/{item}",
        DOCTOR | {"doctor": 303},
        {"edit-drug": "Ibuprofen", "edit-version": "1"},
    ),
    (
        "POST",
        "/doctor/prescriptions/{draft}/items/{item}/move",
        DOCTOR | {"doctor": 303},
        {"direction": "down"},
    ),
    ("POST", "/doctor/prescriptions/{draft}/items/{item}/delete", DOCTOR | {"doctor": 303}),
    ("POST", "/doctor/prescriptions/{draft}/issue", DOCTOR | {"doctor": 303}),
    ("POST", "/doctor/prescriptions/{other_prescription}/issue", DOCTOR | {"doctor": 404}),
    ("POST", "/doctor/prescriptions/{issued}/cancel", DOCTOR | {"doctor": 303}, {"reason": "Wrong dose"}),
    (
        "POST",
        "/doctor/prescriptions/{other_prescription}/cancel",
        DOCTOR | {"doctor": 404},
        {"reason": "Wrong"},
    ),
    ("POST", "/doctor/prescriptions/{issued}/revise", DOCTOR | {"doctor": 303}),
    ("GET", "/patient/records", PATIENT | {"patient": 200}),
    (
        "POST",
        "/patient/records/history",
        PATIENT | {"patient": 303},
        {"kind": "condition", "title": "Asthma"},
    ),
    ("GET", "/patient/records/history/{patient_entry}", PATIENT | {"patient": 303}),
    ("GET", "/patient/records/history/{patient_entry}/edit", PATIENT | {"patient": 200}),
    ("GET", "/patient/records/history/{doctor_entry}/edit", PATIENT | {"patient": 403}),
    ("GET", "/patient/records/history/{other_patient_entry}/edit", PATIENT | {"patient": 404}),
    (
        "POST",
        "/patient/records/history/{patient_entry}",
        PATIENT | {"patient": 303},
        {"edit-kind": "condition", "edit-title": "Asthma (mild)", "edit-version": "1"},
    ),
    (
        "POST",
        "/patient/records/history/{other_patient_entry}",
        PATIENT | {"patient": 404},
        {"edit-kind": "condition", "edit-title": "X", "edit-version": "1"},
    ),
    ("POST", "/patient/records/history/{patient_entry}/delete", PATIENT | {"patient": 303}),
    ("POST", "/patient/records/history/{doctor_entry}/delete", PATIENT | {"patient": 403}),
    ("POST", "/patient/records/history/{other_patient_entry}/delete", PATIENT | {"patient": 404}),
    ("GET", "/patient/encounters", PATIENT | {"patient": 200}),
    ("GET", "/patient/prescriptions/{issued}.pdf", PATIENT | {"patient": 200}),
    ("GET", "/patient/prescriptions/{draft}.pdf", PATIENT | {"patient": 404}),
    ("GET", "/patient/prescriptions/{other_prescription}.pdf", PATIENT | {"patient": 404}),
    # Laboratory for doctors (tests/test_lab_doctor.py): the visit's orders, results, critical values
    ("GET", "/doctor/encounters/{encounter}/lab", DOCTOR | {"doctor": 200}),
    ("GET", "/doctor/encounters/{other_encounter}/lab", DOCTOR | {"doctor": 404}),
    ("GET", "/doctor/encounters/{encounter}/lab/search?q=pot", DOCTOR | {"doctor": 200}),
    ("GET", "/doctor/encounters/{other_encounter}/lab/search?q=pot", DOCTOR | {"doctor": 404}),
    ("POST", "/doctor/encounters/{encounter}/lab/orders", DOCTOR | {"doctor": 422}, {"test": "999999"}),
    ("POST", "/doctor/encounters/{other_encounter}/lab/orders", DOCTOR | {"doctor": 404}, {"test": "1"}),
    ("GET", "/doctor/lab/criticals", DOCTOR | {"doctor": 200}),
    ("GET", "/doctor/lab/{doctor_lab_order}", DOCTOR | {"doctor": 200}),
    ("GET", "/doctor/lab/{other_doctor_lab_order}", DOCTOR | {"doctor": 404}),
    ("POST", "/doctor/lab/{doctor_lab_order}/cancel", DOCTOR | {"doctor": 422}),
    ("POST", "/doctor/lab/{other_doctor_lab_order}/cancel", DOCTOR | {"doctor": 404}),
    ("POST", "/doctor/lab/{doctor_lab_order}/items/{doctor_lab_item}/verify", DOCTOR | {"doctor": 303}),
    ("POST", "/doctor/lab/{other_doctor_lab_order}/items/{other_doctor_lab_item}/verify", DOCTOR_404),
    ("POST", "/doctor/lab/{doctor_lab_order}/results/{doctor_lab_result}/acknowledge", DOCTOR_303),
    ("POST", "/doctor/lab/{other_doctor_lab_order}/results/{doctor_lab_result}/acknowledge", DOCTOR_404),
    ("GET", "/patient/lab", PATIENT | {"patient": 200}),
    ("GET", "/patient/lab/{verified_lab_order}", PATIENT | {"patient": 200}),
    ("GET", "/patient/lab/{doctor_lab_order}", PATIENT | {"patient": 200}),
    ("GET", "/patient/lab/{other_doctor_lab_order}", PATIENT | {"patient": 404}),
    ("GET", "/patient/lab/{verified_lab_order}.pdf", PATIENT | {"patient": 200}),
    ("GET", "/patient/lab/{doctor_lab_order}.pdf", PATIENT | {"patient": 404}),  # nothing verified yet
    ("GET", "/patient/lab/{other_doctor_lab_order}.pdf", PATIENT | {"patient": 404}),
    ("GET", "/patient/record-access", PATIENT | {"patient": 200}),
    ("POST", "/logout", {"*": 303}),
    # Languages: anyone may switch, signed in or not
    ("POST", "/language", {"*": 303}, {"language": "es", "next": "/"}),
    ("POST", "/language", {"*": 400}, {"language": "xx", "next": "/"}),
    ("GET", "/language", {"*": 405}),
    # Booking (patients)
    ("GET", "/patient/doctors", {"anonymous": 302, "patient": 200, "*": 403}),
    ("GET", "/patient/doctors/{doctor}/at/{hospital}", {"anonymous": 302, "patient": 200, "*": 403}),
    ("GET", "/patient/doctors/{doctor}/at/999999", {"anonymous": 302, "patient": 404, "*": 403}),
    ("POST", "/patient/doctors/{doctor}/at/{hospital}/book", {"anonymous": 302, "patient": 422, "*": 403}),
    # The public directory: anyone may look; a patient is sent to his own pages, where he books.
    ("GET", "/doctors", {"patient": 302, "*": 200}),
    ("GET", "/doctors/{doctor}/at/{hospital}", {"patient": 302, "*": 200}),
    ("GET", "/doctors/{doctor}/at/999999", {"patient": 302, "*": 404}),
    ("GET", "/doctors/{doctor}/at/{hospital}/book", {"*": 303}),
    ("GET", "/doctors/{doctor}/at/999999/book", {"*": 404}),
    ("GET", "/patient/appointments", {"anonymous": 302, "patient": 200, "*": 403}),
    ("GET", "/patient/appointments/{own_appointment}", {"anonymous": 302, "patient": 200, "*": 403}),
    ("GET", "/patient/appointments/{other_appointment}", {"anonymous": 302, "patient": 404, "*": 403}),
    ("GET", "/patient/appointments/{own_appointment}/cancel", {"anonymous": 302, "patient": 200, "*": 403}),
    ("GET", "/patient/appointments/{other_appointment}/cancel", {"anonymous": 302, "patient": 404, "*": 403}),
    ("POST", "/patient/appointments/{own_appointment}/cancel", {"anonymous": 302, "patient": 303, "*": 403}),
    # Feedback: only the patient's own visit, and only once it took place (this one is still booked).
    (
        "POST",
        "/patient/appointments/{own_appointment}/feedback",
        {"anonymous": 302, "patient": 409, "*": 403},
        {"rating": "5"},
    ),
    (
        "POST",
        "/patient/appointments/{other_appointment}/feedback",
        {"anonymous": 302, "patient": 404, "*": 403},
    ),
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
    (
        "POST",
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
    ("POST", "/doctor/schedule/rules/{other_rule}", {"anonymous": 302, "doctor": 404, "*": 403}),
    ("POST", "/doctor/schedule/breaks/{other_break}/delete", {"anonymous": 302, "doctor": 404, "*": 403}),
    ("POST", "/doctor/time-off/{other_time_off}/delete", {"anonymous": 302, "doctor": 404, "*": 403}),
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
    # Billing: patients
    ("GET", "/patient/bills", {"anonymous": 302, "patient": 200, "*": 403}),
    ("GET", "/patient/bills?status=refunded", {"anonymous": 302, "patient": 200, "*": 403}),
    ("GET", "/patient/bills?status=nonsense", {"anonymous": 302, "patient": 200, "*": 403}),  # read as absent
    ("GET", "/patient/bills/{own_bill}", {"anonymous": 302, "patient": 200, "*": 403}),
    ("GET", "/patient/bills/{other_bill}", {"anonymous": 302, "patient": 404, "*": 403}),
    ("GET", "/patient/bills/{own_draft}", {"anonymous": 302, "patient": 404, "*": 403}),
    ("GET", "/patient/bills/{own_bill}/row", {"anonymous": 302, "patient": 200, "*": 403}),
    ("GET", "/patient/bills/{other_bill}/row", {"anonymous": 302, "patient": 404, "*": 403}),
    ("POST", "/patient/bills/{own_bill}/pay", {"anonymous": 302, "patient": 409, "*": 403}),
    ("POST", "/patient/bills/{other_bill}/pay", {"anonymous": 302, "patient": 404, "*": 403}),
    ("POST", "/patient/bills/{own_bill}/cancel-payment", {"anonymous": 302, "patient": 409, "*": 403}),
    ("POST", "/patient/bills/{other_bill}/cancel-payment", {"anonymous": 302, "patient": 404, "*": 403}),
    (
        "GET",
        "/patient/bills/{own_bill}/return?session_id=cs_test_x",
        {"anonymous": 302, "patient": 404, "*": 403},
    ),
    (
        "GET",
        "/patient/bills/{other_bill}/return?session_id=cs_x",
        {"anonymous": 302, "patient": 404, "*": 403},
    ),
    ("GET", "/patient/payments", {"anonymous": 302, "patient": 200, "*": 403}),
    ("GET", "/patient/payments/{own_payment}/receipt.pdf", {"anonymous": 302, "patient": 200, "*": 403}),
    ("GET", "/patient/payments/{other_payment}/receipt.pdf", {"anonymous": 302, "patient": 404, "*": 403}),
    # Billing: the desk (hospital admins under /hospital, receptionists under /staff)
    *[
        row
        for prefix, role in (("/hospital", "hospital_admin"), ("/staff", "staff"))
        for row in [
            ("GET", f"{prefix}/bills", {"anonymous": 302, role: 200, "*": 403}),
            (
                "GET",
                f"{prefix}/bills?status=x&first=bad&doctor=y&page=-2",
                {"anonymous": 302, role: 200, "*": 403},
            ),
            ("GET", f"{prefix}/bills/new", {"anonymous": 302, role: 200, "*": 403}),
            ("POST", f"{prefix}/bills/new", {"anonymous": 302, role: 422, "*": 403}),
            ("GET", f"{prefix}/bills/{{own_bill}}", {"anonymous": 302, role: 200, "*": 403}),
            ("GET", f"{prefix}/bills/{{own_draft}}", {"anonymous": 302, role: 200, "*": 403}),
            ("GET", f"{prefix}/bills/{{other_bill}}", {"anonymous": 302, role: 404, "*": 403}),
            ("POST", f"{prefix}/bills/{{own_draft}}/items", {"anonymous": 302, role: 422, "*": 403}),
            ("POST", f"{prefix}/bills/{{other_bill}}/items", {"anonymous": 302, role: 404, "*": 403}),
            (
                "POST",
                f"{prefix}/bills/{{own_draft}}/items/{{own_bill_item}}/delete",
                {"anonymous": 302, role: 303, "*": 403},
            ),
            (
                "POST",
                f"{prefix}/bills/{{own_draft}}/items/{{other_bill_item}}/delete",
                {"anonymous": 302, role: 404, "*": 403},
            ),
            (
                "POST",
                f"{prefix}/bills/{{other_bill}}/items/{{other_bill_item}}/delete",
                {"anonymous": 302, role: 404, "*": 403},
            ),
            ("POST", f"{prefix}/bills/{{own_draft}}/issue", {"anonymous": 302, role: 303, "*": 403}),
            ("POST", f"{prefix}/bills/{{own_bill}}/issue", {"anonymous": 302, role: 303, "*": 403}),
            ("POST", f"{prefix}/bills/{{other_bill}}/issue", {"anonymous": 302, role: 404, "*": 403}),
            ("POST", f"{prefix}/bills/{{own_bill}}/cancel", {"anonymous": 302, role: 422, "*": 403}),
            ("POST", f"{prefix}/bills/{{other_bill}}/cancel", {"anonymous": 302, role: 404, "*": 403}),
            ("POST", f"{prefix}/bills/{{own_bill}}/payments", {"anonymous": 302, role: 422, "*": 403}),
            ("POST", f"{prefix}/bills/{{other_bill}}/payments", {"anonymous": 302, role: 404, "*": 403}),
            (
                "GET",
                f"{prefix}/payments/{{own_payment}}/receipt.pdf",
                {"anonymous": 302, role: 200, "*": 403},
            ),
            (
                "GET",
                f"{prefix}/payments/{{other_payment}}/receipt.pdf",
                {"anonymous": 302, role: 404, "*": 403},
            ),
            ("GET", f"{prefix}/refunds", {"anonymous": 302, role: 200, "*": 403}),
            ("POST", f"{prefix}/refunds/{{own_refund}}/pay-out", {"anonymous": 302, role: 303, "*": 403}),
            ("POST", f"{prefix}/refunds/{{other_refund}}/pay-out", {"anonymous": 302, role: 404, "*": 403}),
        ]
    ],
    # The registration desk: the receptionist's (the matrix's staff member) and the hospital admin's.
    *[
        row
        for prefix, role in (("/staff", "staff"), ("/hospital", "hospital_admin"))
        for row in [
            ("GET", f"{prefix}/desk", {"anonymous": 302, role: 200, "*": 403}),
            ("GET", f"{prefix}/desk?q=Test", {"anonymous": 302, role: 200, "*": 403}),
            ("GET", f"{prefix}/desk/register", {"anonymous": 302, role: 200, "*": 403}),
            ("POST", f"{prefix}/desk/register", {"anonymous": 302, role: 422, "*": 403}),
            ("GET", f"{prefix}/desk/patients/{{patient_record}}", {"anonymous": 302, role: 200, "*": 403}),
            (
                "GET",
                f"{prefix}/desk/patients/{{other_patient_record}}",
                {"anonymous": 302, role: 404, "*": 403},
            ),
        ]
    ],
    # Merging two records at the desk (receptionist and admin); the admin's list of merges with undo.
    *[
        row
        for prefix, role in (("/staff", "staff"), ("/hospital", "hospital_admin"))
        for base in (f"{prefix}/desk/patients/{{patient_record}}",)
        for row in [
            ("GET", f"{base}/merge", {"anonymous": 302, role: 200, "*": 403}),
            ("GET", f"{base}/merge?q=Test", {"anonymous": 302, role: 200, "*": 403}),
            (
                "GET",
                f"{prefix}/desk/patients/{{other_patient_record}}/merge",
                {"anonymous": 302, role: 404, "*": 403},
            ),
            ("GET", f"{base}/merge/{{other_patient_record}}", {"anonymous": 302, role: 404, "*": 403}),
            ("GET", f"{base}/merge/{{patient_record}}", {"anonymous": 302, role: 404, "*": 403}),
            ("POST", f"{base}/merge/999999", {"anonymous": 302, role: 404, "*": 403}),
        ]
    ],
    ("GET", "/hospital/desk/merges", {"anonymous": 302, "hospital_admin": 200, "*": 403}),
    ("POST", "/hospital/desk/merges/999999/undo", {"anonymous": 302, "hospital_admin": 404, "*": 403}),
    # Bookings by phone at the desk (receptionist and admin): choose a doctor, the picker, move, cancel
    *[
        row
        for prefix, role in (("/staff", "staff"), ("/hospital", "hospital_admin"))
        for base in (f"{prefix}/desk/patients/{{patient_record}}",)
        for row in [
            ("GET", f"{base}/book", {"anonymous": 302, role: 200, "*": 403}),
            (
                "GET",
                f"{prefix}/desk/patients/{{other_patient_record}}/book",
                {"anonymous": 302, role: 404, "*": 403},
            ),
            ("GET", f"{base}/book/{{doctor}}", {"anonymous": 302, role: 200, "*": 403}),
            ("GET", f"{base}/book/999999", {"anonymous": 302, role: 404, "*": 403}),
            ("POST", f"{base}/book/{{doctor}}", {"anonymous": 302, role: 422, "*": 403}),
            ("POST", f"{base}/book/999999", {"anonymous": 302, role: 404, "*": 403}),
            ("GET", f"{base}/visits/{{own_appointment}}/move", {"anonymous": 302, role: 200, "*": 403}),
            ("POST", f"{base}/visits/{{own_appointment}}/move", {"anonymous": 302, role: 422, "*": 403}),
            ("GET", f"{base}/visits/{{other_appointment}}/move", {"anonymous": 302, role: 404, "*": 403}),
            ("GET", f"{base}/visits/{{own_appointment}}/cancel", {"anonymous": 302, role: 200, "*": 403}),
            ("POST", f"{base}/visits/{{own_appointment}}/cancel", {"anonymous": 302, role: 422, "*": 403}),
            ("POST", f"{base}/visits/{{other_appointment}}/cancel", {"anonymous": 302, role: 404, "*": 403}),
            ("POST", f"{base}/invite", {"anonymous": 302, role: 303, "*": 403}),  # he has an account: refused
            (
                "POST",
                f"{prefix}/desk/patients/{{other_patient_record}}/invite",
                {"anonymous": 302, role: 404, "*": 403},
            ),
        ]
    ],
    # The patient flow: board, its poll, moves, today's arrivals, walk-ins (receptionist and admin)
    *[
        row
        for prefix, role in (("/staff", "staff"), ("/hospital", "hospital_admin"))
        for row in [
            ("GET", f"{prefix}/flow", {"anonymous": 302, role: 200, "*": 403}),
            ("GET", f"{prefix}/flow/board", {"anonymous": 302, role: 303, "*": 403}),
            ("POST", f"{prefix}/flow/999999/move", {"anonymous": 302, role: 404, "*": 403}),
            ("GET", f"{prefix}/arrivals", {"anonymous": 302, role: 200, "*": 403}),
            (
                "POST",
                f"{prefix}/arrivals/{{own_appointment}}/check-in",  # not today: refused, said on the page
                {"anonymous": 302, role: 303, "*": 403},
            ),
            (
                "POST",
                f"{prefix}/arrivals/{{other_appointment}}/check-in",
                {"anonymous": 302, role: 404, "*": 403},
            ),
            (
                "GET",
                f"{prefix}/desk/patients/{{patient_record}}/walk-in",
                {"anonymous": 302, role: 200, "*": 403},
            ),
            (
                "POST",
                f"{prefix}/desk/patients/{{patient_record}}/walk-in",
                {"anonymous": 302, role: 422, "*": 403},
            ),
            (
                "GET",
                f"{prefix}/desk/patients/{{other_patient_record}}/walk-in",
                {"anonymous": 302, role: 404, "*": 403},
            ),
        ]
    ],
    ("GET", "/hospital/bills.csv", {"anonymous": 302, "hospital_admin": 200, "*": 403}),
    ("GET", "/staff/bills.csv", {"*": 404}),
    ("POST", "/hospital/bills/{own_bill}/refund", {"anonymous": 302, "hospital_admin": 422, "*": 403}),
    ("POST", "/hospital/bills/{other_bill}/refund", {"anonymous": 302, "hospital_admin": 404, "*": 403}),
    ("POST", "/staff/bills/{own_bill}/refund", {"*": 404}),
    ("POST", "/hospital/refunds/{own_refund}/retry", {"anonymous": 302, "hospital_admin": 409, "*": 403}),
    ("POST", "/hospital/refunds/{other_refund}/retry", {"anonymous": 302, "hospital_admin": 404, "*": 403}),
    ("GET", "/hospital/billing/settings", {"anonymous": 302, "hospital_admin": 200, "*": 403}),
    ("POST", "/hospital/billing/settings", {"anonymous": 302, "hospital_admin": 422, "*": 403}),
    # Stripe's webhook: public, but absent while online payments are not configured
    ("POST", "/payments/stripe/webhook", {"*": 404}),
    ("GET", "/payments/stripe/webhook", {"*": 405}),
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
    ("GET", "/claim/not-a-real-token", {"*": 303}),  # a desk-registered patient's claim link
    ("GET", "/claim", {"*": 404}),
    ("POST", "/claim", {"*": 404}),
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
    # Reports: a hospital admin's own saved reports only; the platform admin's his own (issue 8).
    ("GET", "/hospital/reports", ADMIN_200),
    ("GET", "/hospital/reports?" + REPORT, ADMIN_200),
    ("GET", "/hospital/reports?metric=nope&start=x", {"anonymous": 302, "hospital_admin": 422, "*": 403}),
    ("GET", "/hospital/reports.csv?" + REPORT, ADMIN_200),
    ("POST", "/hospital/reports", ADMIN_303, REPORT_FORM),
    ("GET", "/hospital/reports/{own_report}", ADMIN_200),
    ("GET", "/hospital/reports/{own_report}.csv", ADMIN_200),
    ("POST", "/hospital/reports/{own_report}", ADMIN_303, REPORT_FORM),
    ("POST", "/hospital/reports/{own_report}/delete", ADMIN_303),
    ("GET", "/hospital/reports/{other_report}", ADMIN_404),
    ("GET", "/hospital/reports/{other_report}.csv", ADMIN_404),
    ("POST", "/hospital/reports/{other_report}", ADMIN_404, REPORT_FORM),
    ("POST", "/hospital/reports/{other_report}/delete", ADMIN_404),
    ("GET", "/hospital/reports/{platform_report}", ADMIN_404),
    ("GET", "/hospital/reports/999999", ADMIN_404),
    ("GET", "/admin/reports", SUPER_200),
    ("GET", "/admin/reports?" + REPORT, SUPER_200),
    ("GET", "/admin/reports.csv?" + REPORT, SUPER_200),
    ("POST", "/admin/reports", {"anonymous": 302, "super_admin": 303, "*": 403}, REPORT_FORM),
    ("GET", "/admin/reports/{platform_report}", SUPER_200),
    ("GET", "/admin/reports/{platform_report}.csv", SUPER_200),
    (
        "POST",
        "/admin/reports/{platform_report}",
        {"anonymous": 302, "super_admin": 303, "*": 403},
        REPORT_FORM,
    ),
    ("POST", "/admin/reports/{platform_report}/delete", {"anonymous": 302, "super_admin": 303, "*": 403}),
    ("GET", "/admin/reports/{own_report}", SUPER_404),
    ("POST", "/admin/reports/{own_report}/delete", SUPER_404),
    # Nurse triage: the matrix's staff member is a receptionist, refused like every other role; a nurse's
    # own visits (200), other hospitals', yesterday's and not checked-in ones (404) in tests/test_triage.py.
    ("GET", "/staff/triage", {"anonymous": 302, "*": 403}),
    ("GET", "/staff/triage/{appointment}", {"anonymous": 302, "*": 403}),
    (
        "POST",
        "/staff/triage/{appointment}",
        {"anonymous": 302, "*": 403},
        {"pulse": "80", "triage_level": "4"},
    ),
    # Inventory: the hospital admin manages items and every movement; pharmacists have their own pages
    # (tests/test_inventory.py checks them: the matrix's staff member is a receptionist, refused here).
    ("GET", "/hospital/inventory", ADMIN_200),
    ("GET", "/hospital/inventory?q=x&kind=nope&page=-4&fragment=table", ADMIN_200),
    (
        "POST",
        "/hospital/inventory",
        ADMIN_303,
        {"name": "Matrix", "kind": "supply", "unit": "box", "reorder_level": "1"},
    ),
    ("GET", "/hospital/inventory/alerts", ADMIN_200),
    ("GET", "/hospital/inventory/{stock_item}", ADMIN_200),
    ("GET", "/hospital/inventory/{other_stock_item}", ADMIN_404),
    ("GET", "/hospital/inventory/999999", ADMIN_404),
    (
        "POST",
        "/hospital/inventory/{stock_item}",
        ADMIN_303,
        {"name": "Renamed", "unit": "box", "reorder_level": "2"},
    ),
    (
        "POST",
        "/hospital/inventory/{other_stock_item}",
        ADMIN_404,
        {"name": "X", "unit": "box", "reorder_level": "2"},
    ),
    *[
        row
        for kind, data in (
            ("receive", {"receive-quantity": "5", "receive-supplier": "Matrix Supplies"}),
            ("dispense", {"dispense-quantity": "1"}),
            ("adjust", {"adjust-change": "-1", "adjust-reason": "Count"}),
            ("transfer-out", {"transfer-quantity": "1", "transfer-destination": "Clinic"}),
        )
        for row in (
            ("POST", f"/hospital/inventory/{{stock_item}}/{kind}", ADMIN_303, data),
            ("POST", f"/hospital/inventory/{{other_stock_item}}/{kind}", ADMIN_404, data),
            ("POST", f"/staff/inventory/{{stock_item}}/{kind}", {"anonymous": 302, "*": 403}, data),
        )
    ],
    ("GET", "/staff/inventory", {"anonymous": 302, "*": 403}),
    ("GET", "/staff/inventory/alerts", {"anonymous": 302, "*": 403}),
    ("GET", "/staff/inventory/{stock_item}", {"anonymous": 302, "*": 403}),
    # Interoperability: /fhir takes Bearer tokens only (tests/test_fhir_api.py has the per-token matrix),
    # so a logged-in session is no credential there; token settings are each user's own.
    ("GET", "/fhir/metadata", {"*": 200}),
    ("GET", "/fhir/Patient/{patient_record}", {"*": 401}),
    ("GET", "/fhir/Appointment?patient={patient_record}", {"*": 401}),
    ("POST", "/fhir/Patient", {"*": 401}),
    ("GET", "/account/tokens", {"anonymous": 302, "*": 200}),
    ("POST", "/account/tokens", {"anonymous": 302, "*": 200}, {"name": "Matrix", "expires": "30"}),
    ("POST", "/account/tokens", {"anonymous": 302, "*": 422}, {"name": "", "expires": "30"}),
    ("POST", "/account/tokens/{other_token}/revoke", {"anonymous": 302, "*": 404}),
    ("POST", "/account/tokens/999999/revoke", {"anonymous": 302, "*": 404}),
    ("POST", "/account/calendar-feed", {"anonymous": 302, "patient": 200, "doctor": 200, "*": 403}),
    ("POST", "/account/calendar-feed/revoke", {"anonymous": 302, "patient": 303, "doctor": 303, "*": 403}),
    (
        "GET",
        "/appointments/{own_appointment}.ics",
        {"anonymous": 302, "patient": 200, "doctor": 200, "*": 403},
    ),
    (
        "GET",
        "/appointments/{other_appointment}.ics",
        {"anonymous": 302, "patient": 404, "doctor": 404, "*": 403},
    ),
    ("GET", "/appointments/999999.ics", {"anonymous": 302, "patient": 404, "doctor": 404, "*": 403}),
    ("GET", "/calendar/{feed_token}.ics", {"*": 200}),  # the secret address is the credential
    ("GET", "/calendar/cal_unknown.ics", {"*": 404}),
    # security: every user's own security page and sessions; the login's second step
    ("GET", "/account/security", {"anonymous": 302, "*": 200}),
    ("POST", "/account/keep-alive", {"anonymous": 302, "*": 204}),
    ("POST", "/account/password", {"anonymous": 302, "*": 422}),  # the form lacks the current password
    ("POST", "/account/sessions/end-others", {"anonymous": 302, "*": 303}),
    ("POST", "/account/sessions/{other_session}/end", {"anonymous": 302, "*": 404}),
    ("POST", "/account/sessions/999999/end", {"anonymous": 302, "*": 404}),
    ("POST", "/account/two-factor/setup", {"anonymous": 302, "*": 303}),
    ("GET", "/account/two-factor", {"anonymous": 302, "*": 303}),
    ("POST", "/account/two-factor", {"anonymous": 302, "*": 303}),
    ("POST", "/account/two-factor/recovery-codes", {"anonymous": 302, "*": 422}),
    ("POST", "/account/two-factor/disable", {"anonymous": 302, "*": 422}),
    ("GET", "/login/two-factor", {"*": 303}),
    ("POST", "/login/two-factor", {"*": 303}),
    # The lab technician's pages: the matrix's staff member is a receptionist, refused like every other
    # role; a technician's own hospital's orders (200) and another's (404) in tests/test_lab_worklist.py.
    *[
        (method, f"/staff/lab{tail}", {"anonymous": 302, "*": 403})
        for method, tail in (
            ("GET", ""),
            ("GET", "/orders/999999"),
            ("POST", "/orders/999999/collect"),
            ("GET", "/orders/999999/label"),
            ("GET", "/orders/999999/items/999999"),
            ("POST", "/orders/999999/items/999999"),
            ("GET", "/orders/999999/items/999999/edit"),
            ("POST", "/orders/999999/items/999999/amend"),
            ("POST", "/orders/999999/items/999999/verify"),
            ("POST", "/orders/999999/items/999999/acknowledge"),
        )
    ],
    # The hospital admin's laboratory (tests/test_lab_admin.py): his catalogue and critical results only
    ("GET", "/hospital/lab/tests", ADMIN_200),
    ("GET", "/hospital/lab/tests?q=adm&fragment=table", ADMIN_200),
    ("POST", "/hospital/lab/tests", {"anonymous": 302, "hospital_admin": 422, "*": 403}),
    ("POST", "/hospital/lab/tests/standard", ADMIN_303),
    ("GET", "/hospital/lab/tests/{lab_test}", ADMIN_200),
    ("GET", "/hospital/lab/tests/{other_lab_test}", ADMIN_404),
    ("POST", "/hospital/lab/tests/{lab_test}", {"anonymous": 302, "hospital_admin": 422, "*": 403}),
    ("POST", "/hospital/lab/tests/{other_lab_test}", ADMIN_404),
    ("POST", "/hospital/lab/tests/{lab_test}/status", ADMIN_303, {"action": "retire"}),
    ("POST", "/hospital/lab/tests/{other_lab_test}/status", ADMIN_404, {"action": "retire"}),
    ("POST", "/hospital/lab/tests/{lab_test}/ranges", {"anonymous": 302, "hospital_admin": 422, "*": 403}),
    ("POST", "/hospital/lab/tests/{other_lab_test}/ranges", ADMIN_404),
    ("POST", "/hospital/lab/tests/{lab_test}/ranges/{lab_range}/delete", ADMIN_303),
    ("POST", "/hospital/lab/tests/{lab_test}/ranges/{other_lab_range}/delete", ADMIN_404),
    ("POST", "/hospital/lab/tests/{other_lab_test}/ranges/{other_lab_range}/delete", ADMIN_404),
    ("GET", "/hospital/lab/panels", ADMIN_200),
    ("GET", "/hospital/lab/panels?edit={lab_panel}", ADMIN_200),
    ("GET", "/hospital/lab/panels?edit={other_lab_panel}", ADMIN_404),
    ("POST", "/hospital/lab/panels", {"anonymous": 302, "hospital_admin": 422, "*": 403}),
    ("POST", "/hospital/lab/panels/{lab_panel}", {"anonymous": 302, "hospital_admin": 422, "*": 403}),
    ("POST", "/hospital/lab/panels/{other_lab_panel}", ADMIN_404),
    ("GET", "/hospital/lab/criticals", ADMIN_200),
    ("POST", "/hospital/lab/criticals/{doctor_lab_result}/acknowledge", ADMIN_303),
    ("POST", "/hospital/lab/criticals/999999/acknowledge", ADMIN_404),
    # The bed board and admitting (tests/test_ward_board.py, tests/test_ward_admit.py): the hospital's
    # doctors, nurses, desk (the matrix's staff member is a receptionist) and administrator see the
    # board; the visit's doctor admits from it; the desk gives beds; anyone else of a ward role: 404
    ("GET", "/ward/beds", BEDS_404 | {"doctor": 200, "staff": 200, "hospital_admin": 200}),
    ("GET", "/ward/beds?ward={other_ward}", BEDS_404 | {"doctor": 200, "staff": 200, "hospital_admin": 200}),
    ("GET", "/ward/beds/board", BEDS_404 | {"doctor": 303, "staff": 303, "hospital_admin": 303}),  # no htmx
    ("POST", "/ward/beds/{cleaning_bed}/cleaned", BEDS_404),  # nurses only
    ("POST", "/ward/beds/{other_bed}/cleaned", BEDS_404),
    ("GET", "/ward/beds/free?ward={ward}", BEDS_404 | {"doctor": 200, "staff": 200, "hospital_admin": 200}),
    ("GET", "/ward/beds/free?ward={other_ward}", BEDS_404),
    ("GET", "/ward/encounters/{encounter}/admit", BEDS_404 | {"doctor": 200}),
    ("POST", "/ward/encounters/{encounter}/admit", BEDS_404 | {"doctor": 422}, {"reason": ""}),
    ("GET", "/ward/encounters/{other_encounter}/admit", BEDS_404),
    ("POST", "/ward/encounters/{other_encounter}/admit", BEDS_404, {"reason": "x"}),
    ("GET", "/ward/admit", BEDS_404 | {"staff": 200}),
    ("POST", "/ward/admit", BEDS_404 | {"staff": 422}, {"mrn": ""}),
    ("GET", "/ward/admissions", BEDS_404 | {"staff": 200}),
    ("POST", "/ward/admissions/{waiting_admission}/bed", BEDS_404 | {"staff": 422}, {"bed_id": "x"}),
    ("POST", "/ward/admissions/999999/bed", BEDS_404, {"bed_id": "x"}),
    ("POST", "/ward/admissions/{waiting_admission}/cancel", BEDS_404 | {"staff": 303}, {"reason": "Matrix"}),
    ("POST", "/ward/admissions/999999/cancel", BEDS_404, {"reason": "Matrix"}),
    # The hospital admin's wards and beds (tests/test_wards_admin.py): his own only
    ("GET", "/hospital/wards", ADMIN_200),
    ("POST", "/hospital/wards", {"anonymous": 302, "hospital_admin": 422, "*": 403}),
    ("GET", "/hospital/wards/{ward}", ADMIN_200),
    ("GET", "/hospital/wards/{other_ward}", ADMIN_404),
    ("POST", "/hospital/wards/{ward}", {"anonymous": 302, "hospital_admin": 422, "*": 403}),
    ("POST", "/hospital/wards/{other_ward}", ADMIN_404),
    ("POST", "/hospital/wards/{ward}/status", ADMIN_303, {"action": "close"}),
    ("POST", "/hospital/wards/{other_ward}/status", ADMIN_404, {"action": "close"}),
    ("POST", "/hospital/wards/{ward}/beds", ADMIN_303, {"labels": "M1-M3"}),
    ("POST", "/hospital/wards/{other_ward}/beds", ADMIN_404, {"labels": "M1-M3"}),
    ("POST", "/hospital/wards/{ward}/beds/{bed}", ADMIN_303, {"label": "M9"}),
    ("POST", "/hospital/wards/{ward}/beds/{other_bed}", ADMIN_404, {"label": "M9"}),
    ("POST", "/hospital/wards/{other_ward}/beds/{other_bed}", ADMIN_404, {"label": "M9"}),
    ("POST", "/hospital/wards/{ward}/beds/{bed}/status", ADMIN_303, {"status": "out_of_service"}),
    ("POST", "/hospital/wards/{other_ward}/beds/{other_bed}/status", ADMIN_404, {"status": "out_of_service"}),
    ("POST", "/hospital/wards/{ward}/beds/{cleaning_bed}/cleaned", ADMIN_303),
    ("POST", "/hospital/wards/{other_ward}/beds/{other_bed}/cleaned", ADMIN_404),
    ("GET", "/hospital/wards/{ward}/beds/{bed}/remove", ADMIN_200),
    ("GET", "/hospital/wards/{other_ward}/beds/{other_bed}/remove", ADMIN_404),
    ("POST", "/hospital/wards/{ward}/beds/{bed}/remove", ADMIN_303),
    ("POST", "/hospital/wards/{other_ward}/beds/{other_bed}/remove", ADMIN_404),
    # An admission's page on the ward (tests/test_ward_admission.py): its doctors (and the hospital's
    # nurses while open: the matrix's staff member is a receptionist); the patient's hospital stays
    ("GET", "/ward/admissions/mine", WARD_404 | {"doctor": 200}),
    ("GET", "/ward/admissions/{own_admission}", WARD_404 | {"doctor": 200}),
    ("GET", "/ward/admissions/{other_admission}", WARD_404),
    ("GET", "/ward/admissions/{patient_admission}/summary.pdf", WARD_404 | {"doctor": 200}),
    ("GET", "/ward/admissions/{own_admission}/summary.pdf", WARD_404),  # no summary yet
    ("GET", "/ward/admissions/{other_admission}/summary.pdf", WARD_404),
    ("POST", "/ward/admissions/{own_admission}/notes", WARD_404 | {"doctor": 303}, {"text": "Matrix"}),
    ("POST", "/ward/admissions/{other_admission}/notes", WARD_404, {"text": "Matrix"}),
    ("POST", "/ward/admissions/{own_admission}/vitals", WARD_404 | {"doctor": 303}, {"pulse": "80"}),
    ("POST", "/ward/admissions/{other_admission}/vitals", WARD_404, {"pulse": "80"}),
    ("POST", "/ward/admissions/{own_admission}/transfer", WARD_404 | {"doctor": 422}, {"reason": "x"}),
    ("POST", "/ward/admissions/{other_admission}/transfer", WARD_404, {"reason": "x"}),
    ("POST", "/ward/admissions/{own_admission}/attending", WARD_404 | {"doctor": 422}, {"doctor_id": ""}),
    ("POST", "/ward/admissions/{other_admission}/attending", WARD_404, {"doctor_id": ""}),
    ("POST", "/ward/admissions/{own_admission}/discharge-summary", WARD_404 | {"doctor": 422}),
    ("POST", "/ward/admissions/{other_admission}/discharge-summary", WARD_404),
    ("POST", "/ward/admissions/{own_admission}/discharge", WARD_404 | {"doctor": 409}),  # not ordered
    ("POST", "/ward/admissions/{other_admission}/discharge", WARD_404),
    ("POST", "/ward/admissions/{own_admission}/prescriptions", WARD_404 | {"doctor": 303}),
    ("POST", "/ward/admissions/{other_admission}/prescriptions", WARD_404),
    ("GET", "/patient/admissions", PATIENT | {"patient": 200}),
    ("GET", "/patient/admissions/{patient_admission}", PATIENT | {"patient": 200}),
    ("GET", "/patient/admissions/{own_admission}", PATIENT | {"patient": 404}),
    ("GET", "/patient/admissions/{patient_admission}.pdf", PATIENT | {"patient": 200}),
    ("GET", "/patient/admissions/{own_admission}.pdf", PATIENT | {"patient": 404}),
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
                data[0] if data else None,
                id=f"{method} {url} as {role}",
            )


# Routes the matrix leaves to their own tests: the public forms (tests/test_auth.py, whose rate limits
# would trip over six roles a case) and the FHIR write methods (405 for everyone, tests/test_fhir_api.py).
NOT_IN_MATRIX = {
    "POST /login",
    "POST /register",
    "POST /register/doctor",
    "POST /register/hospital",
    "PUT /fhir/<path:rest>",
    "PATCH /fhir/<path:rest>",
    "DELETE /fhir/<path:rest>",
}


def test_every_route_and_method_is_in_the_matrix(app):
    """A new URL gets a row here (with another user's ids where it takes one), or this fails."""
    cases = [(method, re.sub(r"\{[^}]+\}", "1", url.split("?")[0])) for method, url, *_ in MATRIX]
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        shape = re.compile("^" + re.sub(r"<[^>]+>", "[^/]+", rule.rule) + "$")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            covered = any(m == method and shape.match(path) for m, path in cases)
            if not covered and f"{method} {rule.rule}" not in NOT_IN_MATRIX:
                missing.append(f"{method} {rule.rule}")
    assert not missing, "Add rows to MATRIX for:\n" + "\n".join(missing)


@pytest.mark.parametrize(("method", "url", "role", "status", "data"), list(_cases()))
def test_access(client, login_as, world, method, url, role, status, data):
    if role != "anonymous":
        login_as(world["users"][role])
    path = url.format(**world["ids"])
    if method == "POST" and data is None:
        data = {"action": "approve"}
    response = client.open(path, method=method, data=data)
    assert response.status_code == status, response.data[:300]
