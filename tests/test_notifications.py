"""Notices for appointment and hospital events; the bell, the list, mark read; delivery preferences."""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import HospitalStatus, Notification, NotificationPreference, OutboxEmail, Role, StaffKind
from hms.services import notifications, scheduling

MONDAY = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)
HX = {"HX-Request": "true"}


def _book(make, booked_by=None):  # type: ignore[no-untyped-def]
    doctor, hospital, start = make.bookable_slot()
    patient = make.patient(name="Amina Hassan")
    appointment = scheduling.book_appointment(
        patient=patient.patient,
        doctor_id=doctor.doctor.id,
        hospital_id=hospital.id,
        start=start,
        reason="Cough",
        booked_by=booked_by or patient,
    )
    db.session.commit()
    return appointment, patient, doctor


# Billing also tells patients about their bills (a bill is made on booking, cancelled with the
# visit); these tests look at the notices this module sends.
OTHER_MODULES = ("bill_", "payment_", "refund_", "prescription_")


def notices(user, everything: bool = False) -> list[Notification]:  # type: ignore[no-untyped-def]
    rows = db.session.scalars(
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    )
    return [n for n in rows if everything or not n.kind.startswith(OTHER_MODULES)]


def emails(user, everything: bool = False) -> list[OutboxEmail]:  # type: ignore[no-untyped-def]
    rows = db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.user_id == user.id).order_by(OutboxEmail.id)
    )
    return [e for e in rows if everything or not e.kind.startswith(OTHER_MODULES)]


# ---------------------------------------------------------------- events → notices


def test_booking_tells_the_doctor_and_confirms_to_the_patient_by_email(make):
    clock.set_frozen(MONDAY)
    appointment, patient, doctor = _book(make)
    (notice,) = notices(doctor)
    assert notice.kind == "appointment_booked"
    assert notice.text == (
        f"New appointment: Amina Hassan at {appointment.hospital.name} on Tue 08 Jan 2030 at 09:00 EAT."
    )
    assert notices(patient) == []  # he booked it himself: no notice in the bell
    (confirmation,) = emails(patient)
    assert "Tue 08 Jan 2030 at 09:00 EAT" in confirmation.body
    assert "DTSTART:20300108T060000Z" in confirmation.ics
    assert "http://127.0.0.1:5000/patient/appointments" in confirmation.body


def test_booking_by_the_reception_puts_a_notice_in_the_patients_bell(make):
    clock.set_frozen(MONDAY)
    hospital = make.hospital()
    receptionist = make.staff(hospital, StaffKind.receptionist)
    doctor, _, start = make.bookable_slot(hospital)
    patient = make.patient()
    scheduling.book_appointment(
        patient=patient.patient,
        doctor_id=doctor.doctor.id,
        hospital_id=hospital.id,
        start=start,
        reason="",
        booked_by=receptionist,
    )
    db.session.commit()
    assert [n.kind for n in notices(patient)] == ["appointment_booked"]


def test_cancellation_by_the_doctor_tells_the_patient_with_the_reason_and_a_calendar_cancel(make):
    clock.set_frozen(MONDAY)
    appointment, patient, doctor = _book(make)
    scheduling.cancel_appointment(appointment, doctor, "Called to theatre")
    db.session.commit()
    (notice,) = notices(patient)
    assert notice.kind == "appointment_cancelled"
    assert notice.text.endswith("was cancelled: Called to theatre")
    cancel_mail = [e for e in emails(patient) if e.kind == "appointment_cancelled"]
    assert len(cancel_mail) == 1
    assert "METHOD:CANCEL" in cancel_mail[0].ics and "STATUS:CANCELLED" in cancel_mail[0].ics
    assert [n.kind for n in notices(doctor)] == ["appointment_booked"]  # nothing about his own act


def test_cancellation_by_the_patient_tells_the_doctor(make):
    clock.set_frozen(MONDAY)
    appointment, patient, doctor = _book(make)
    scheduling.cancel_appointment(appointment, patient)
    db.session.commit()
    assert [n.kind for n in notices(doctor)] == ["appointment_booked", "appointment_cancelled"]
    assert notices(patient) == []
    assert "You cancelled" in [e for e in emails(patient) if e.kind == "appointment_cancelled"][0].body


def test_a_schedule_change_that_cancels_bookings_tells_each_patient(make):
    clock.set_frozen(MONDAY)
    appointment, patient, doctor = _book(make)
    rule = db.session.scalars(select(scheduling.ScheduleRule)).one()
    scheduling.delete_schedule_rule(
        rule, on_collision="cancel", cancel_reason="Clinic closed that day", actor=doctor
    )
    db.session.commit()
    (notice,) = notices(patient)
    assert notice.text.endswith("was cancelled: Clinic closed that day")


def test_reschedule_moves_the_calendar_event_instead_of_adding_one(make):
    clock.set_frozen(MONDAY)
    appointment, patient, doctor = _book(make)
    moved = scheduling.reschedule_appointment(appointment, appointment.start_at + timedelta(hours=1), doctor)
    db.session.commit()
    (notice,) = notices(patient)
    assert notice.kind == "appointment_rescheduled"
    assert "moved from Tue 08 Jan 2030 at 09:00 EAT to Tue 08 Jan 2030 at 10:00 EAT" in notice.text
    (mail,) = [e for e in emails(patient) if e.kind == "appointment_rescheduled"]
    assert f"UID:appointment-{appointment.id}@" in mail.ics  # the first booking's UID
    assert "SEQUENCE:2" in mail.ics and moved.id != appointment.id  # after the old one's cancel (1)


def test_hospital_approval_tells_its_administrators(client, make, login_as):
    hospital = make.hospital(status=HospitalStatus.pending, name="Lakeside Hospital")
    admin = make.hospital_admin(hospital)
    login_as(make.super_admin())
    client.post(f"/admin/hospitals/{hospital.id}/status", data={"action": "approve"})
    (notice,) = notices(admin)
    assert notice.text == "Lakeside Hospital is approved: doctors can now take bookings there."
    assert len(emails(admin)) == 1


def test_notify_is_the_entry_point_for_other_modules(make):
    patient = make.patient()
    notifications.notify(
        patient, "bill_issued", "Your bill B-12 for KES 1,500.00 is ready.", "/patient/bills/12"
    )
    db.session.commit()
    (mail,) = emails(patient, everything=True)
    assert mail.subject == "HMS: Your bill B-12 for KES 1,500.00 is ready"
    assert "http://127.0.0.1:5000/patient/bills/12" in mail.body


def test_deactivated_users_get_no_email(make):
    patient = make.patient()
    patient.active = False
    notifications.notify(patient, "bill_issued", "Your bill is ready.")
    db.session.commit()
    assert emails(patient, everything=True) == [] and len(notices(patient, everything=True)) == 1


# ---------------------------------------------------------------- preferences


def test_default_preferences_and_turning_email_off(client, make, login_as):
    clock.set_frozen(MONDAY)
    doctor, hospital, start = make.bookable_slot()
    login_as(doctor)
    page = client.get("/notifications/preferences")
    assert page.status_code == 200
    assert b"Appointment booked" in page.data and b"Bills issued" not in page.data  # doctors get no bills
    assert b"Text message" not in page.data  # doctors have no phone on file
    fields = {k.key: True for k in notifications.kinds_for(Role.doctor)}
    data = {f"email_{key}": "y" for key in fields if key != "appointment_booked"}
    response = client.post("/notifications/preferences", data=data)
    assert response.status_code == 303
    patient = make.patient()
    scheduling.book_appointment(
        patient=patient.patient,
        doctor_id=doctor.doctor.id,
        hospital_id=hospital.id,
        start=start,
        reason="",
        booked_by=patient,
    )
    db.session.commit()
    assert len(notices(doctor)) == 1  # the bell always
    assert emails(doctor) == []  # but no email, as he chose


def test_preferences_ignore_kinds_the_role_cannot_receive(client, make, login_as):
    doctor = make.doctor()
    login_as(doctor)
    client.post("/notifications/preferences", data={"email_bill_issued": "y", "sms_nonsense": "y"})
    kinds = set(db.session.scalars(select(NotificationPreference.kind)))
    assert "bill_issued" not in kinds and "nonsense" not in kinds


def test_preferences_save_inline_for_htmx(client, make, login_as):
    login_as(make.patient())
    response = client.post("/notifications/preferences", data={}, headers=HX)
    assert response.status_code == 200
    assert b"<html" not in response.data and b"are saved" in response.data


# ---------------------------------------------------------------- the bell and the list


def test_bell_shows_the_unread_count_in_a_tiny_fragment(client, make, login_as):
    patient = make.patient()
    for i in range(3):
        notifications.notify(patient, "bill_issued", f"Bill {i}")
    db.session.commit()
    login_as(patient)
    response = client.get("/notifications/bell", headers=HX)
    assert response.status_code == 200
    assert b'data-unread="3"' in response.data
    assert b"<html" not in response.data and len(response.data) < 1024
    # The page carries the count itself; the bell polls only later (no extra request on load).
    page = client.get("/patient/")
    assert b'hx-trigger="every 60s, notificationsChanged from:body"' in page.data
    assert b'data-unread="3"' in page.data


def test_bell_caps_the_count_and_hides_it_at_zero(client, make, login_as):
    patient = make.patient()
    login_as(patient)
    assert b"badge" not in client.get("/notifications/bell", headers=HX).data
    db.session.add_all(Notification(user_id=patient.id, kind="x", text="x") for _ in range(120))
    db.session.commit()
    assert b">99+<" in client.get("/notifications/bell", headers=HX).data


def test_bell_stops_polling_when_the_session_has_ended(client):
    response = client.get("/notifications/bell", headers=HX)
    assert response.status_code == 286 and response.data == b""


def test_list_shows_notices_newest_first_and_escapes_html(client, make, login_as):
    patient = make.patient()
    notifications.notify(patient, "x", "first")
    notifications.notify(patient, "x", "<img src=x onerror=alert(1)> second")
    db.session.commit()
    login_as(patient)
    page = client.get("/notifications/")
    assert page.status_code == 200
    text = page.data.decode()
    assert text.index("second") < text.index("first")
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text


def test_mark_read_inline_refreshes_the_bell(client, make, login_as):
    patient = make.patient()
    notice = notifications.notify(patient, "x", "hello")
    db.session.commit()
    login_as(patient)
    response = client.post(f"/notifications/{notice.id}/read", headers=HX)
    assert response.status_code == 200
    assert response.data.lstrip().startswith(f'<li id="notice-{notice.id}" class="notice-item">'.encode())
    assert response.headers["HX-Trigger"] == '{"notificationsChanged": true}'
    db.session.refresh(notice)
    assert notice.read_at is not None


def test_mark_all_read_with_and_without_javascript(client, make, login_as):
    patient = make.patient()
    other = make.patient()
    for user in (patient, patient, other):
        notifications.notify(user, "x", "hello")
    db.session.commit()
    login_as(patient)
    assert client.post("/notifications/read-all").status_code == 303
    assert notifications.unread_count(patient) == 0
    assert notifications.unread_count(other) == 1
    response = client.post("/notifications/read-all", headers=HX)
    assert b"<html" not in response.data and "notificationsChanged" in response.headers["HX-Trigger"]


def test_opening_a_notice_marks_it_read_and_follows_only_local_links(client, make, login_as):
    patient = make.patient()
    good = notifications.notify(patient, "x", "a", link="/patient/")
    evil = notifications.notify(patient, "x", "b", link="//evil.example/steal")
    db.session.commit()
    login_as(patient)
    assert client.post(f"/notifications/{good.id}/open").headers["Location"] == "/patient/"
    assert client.post(f"/notifications/{evil.id}/open").headers["Location"] == "/notifications/"
    assert notifications.unread_count(patient) == 0


def test_nobody_can_touch_another_users_notice(client, make, login_as):
    owner = make.patient()
    notice = notifications.notify(owner, "x", "private")
    db.session.commit()
    login_as(make.patient())
    assert client.post(f"/notifications/{notice.id}/read").status_code == 404
    assert client.post(f"/notifications/{notice.id}/open").status_code == 404
    assert client.post("/notifications/99999999999999999999/read").status_code == 404
    assert b"private" not in client.get("/notifications/").data
    db.session.refresh(notice)
    assert notice.read_at is None


def test_list_pages_through_many_notices(client, make, login_as):
    patient = make.patient()
    for i in range(25):
        notifications.notify(patient, "x", f"notice number {i:02d}")
    db.session.commit()
    login_as(patient)
    first = client.get("/notifications/").data.decode()
    assert "notice number 24" in first and "notice number 04" not in first
    assert "page=2" in first
    second = client.get("/notifications/?page=2").data.decode()
    assert "notice number 04" in second
    assert client.get("/notifications/?page=abc").status_code == 200


def test_mark_read_needs_a_csrf_token(client, make, login_as):
    patient = make.patient()
    notice = notifications.notify(patient, "x", "hello")
    db.session.commit()
    login_as(patient)
    assert client.post(f"/notifications/{notice.id}/read", csrf=False).status_code == 400


def test_email_subjects_stay_on_one_line(make):
    patient = make.patient()
    notifications.notify(patient, "x", "Cancelled: reason\r\nBcc: x@example.org")
    db.session.commit()
    (mail,) = emails(patient)
    assert re.fullmatch(r"[^\r\n]+", mail.subject)


def test_a_full_page_of_long_notices_stays_small(client, make, login_as):
    patient = make.patient()
    for i in range(25):
        text = (
            "Your appointment with Dr Chinedu Okafor at Riverside General Hospital "
            f"on Tue 08 Jan 2030 at 09:{i:02d}."
        )
        notifications.notify(patient, "appointment_booked", text, f"/patient/appointments/{i}")
    db.session.commit()
    login_as(patient)
    page = client.get("/notifications/")
    assert page.data.count(b'class="notice-item unread"') == 20
    # 16.5 KB raw: the shell draws its navigation twice (bar and phone menu), each notice's time names its
    # zone; compressed, the page stays under 4 KB (below).
    assert len(page.data) < 16_500
    assert len(gzip.compress(page.data)) < 4_000
