"""Text messages through Twilio's REST API (a local HTTP server plays Twilio), per hospital settings."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import AuditEvent, Channel, Hospital, NotificationPreference, OutboxEmail, OutboxStatus
from hms.services import outbox, scheduling, sms
from hms.services.notifications import notify

NOW = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)
SID = "AC" + "0123456789abcdef" * 2
TOKEN = "f" * 32
MESSAGES_PATH = f"/2010-04-01/Accounts/{SID}/Messages.json"


@pytest.fixture
def twilio(app, httpserver, monkeypatch):  # type: ignore[no-untyped-def]
    """Twilio's API, played by a local HTTP server."""
    monkeypatch.setitem(app.config, "TWILIO_API_BASE", httpserver.url_for("").rstrip("/"))
    return httpserver


@pytest.fixture
def texting_hospital(make):  # type: ignore[no-untyped-def]
    clock.set_frozen(NOW)
    hospital = make.hospital()
    sms.configure_hospital_sms(
        hospital, account_sid=SID, auth_token=TOKEN, from_number="+1 415 555 0100", actor=make.super_admin()
    )
    db.session.commit()
    return hospital


def cancel_by_doctor(make, hospital, phone: str = "+254 700 000 001"):  # type: ignore[no-untyped-def]
    doctor = make.doctor_at(hospital)
    patient = make.patient(phone=phone)
    appointment = make.appointment(patient, doctor, hospital, start_at=NOW + timedelta(days=1))
    scheduling.cancel_appointment(appointment, doctor, "Doctor unwell")
    db.session.commit()
    return patient


def texts() -> list[OutboxEmail]:
    return list(db.session.scalars(select(OutboxEmail).where(OutboxEmail.channel == Channel.sms)))


def test_a_cancellation_is_texted_through_the_hospitals_twilio_account(make, twilio, texting_hospital):
    cancel_by_doctor(make, texting_hospital)
    (row,) = texts()
    assert row.to == "+254700000001" and row.hospital_id == texting_hospital.id
    assert row.body.startswith("HMS: Your appointment with Dr") and row.body.endswith("Doctor unwell")
    twilio.expect_oneshot_request(MESSAGES_PATH, method="POST").respond_with_json(
        {"sid": "SM" + "1" * 32, "status": "queued"}, status=201
    )
    report = outbox.deliver_all_due("w")
    assert report.sent >= 1
    twilio.check_assertions()
    request, _ = twilio.log[0]
    assert request.form["To"] == "+254700000001"
    assert request.form["From"] == "+14155550100"
    assert request.form["Body"] == row.body
    assert (request.authorization.username, request.authorization.password) == (SID, TOKEN)
    db.session.refresh(row)
    assert row.status == OutboxStatus.sent and row.provider_ref == "SM" + "1" * 32


def test_a_refused_number_fails_for_good(make, twilio, texting_hospital):
    cancel_by_doctor(make, texting_hospital)
    twilio.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        {"code": 21211, "message": "Invalid 'To' Phone Number"}, status=400
    )
    outbox.deliver_all_due("w")
    (row,) = texts()
    assert row.status == OutboxStatus.failed
    assert "400" in row.last_error and "21211" in row.last_error


def test_twilio_down_is_retried_later(make, twilio, texting_hospital):
    cancel_by_doctor(make, texting_hospital)
    twilio.expect_oneshot_request(MESSAGES_PATH, method="POST").respond_with_data("busy", status=503)
    outbox.deliver_all_due("w")
    (row,) = texts()
    assert (row.status, row.attempts) == (OutboxStatus.pending, 1)
    assert row.next_try_at == NOW + timedelta(seconds=30)
    twilio.expect_oneshot_request(MESSAGES_PATH, method="POST").respond_with_json({"sid": "SM2"}, status=201)
    clock.set_frozen(NOW + timedelta(seconds=30))
    outbox.deliver_all_due("w")
    db.session.refresh(row)
    assert (row.status, row.attempts) == (OutboxStatus.sent, 2)
    assert len(twilio.log) == 2


def test_an_unreachable_twilio_is_retried(app, make, texting_hospital, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setitem(app.config, "TWILIO_API_BASE", f"http://127.0.0.1:{port}")
    cancel_by_doctor(make, texting_hospital)
    outbox.deliver_all_due("w")
    (row,) = texts()
    assert row.status == OutboxStatus.pending and "unreachable" in row.last_error


def test_no_text_without_settings_an_international_number_or_the_patients_wish(
    make, twilio, texting_hospital
):
    cancel_by_doctor(make, make.hospital())  # a hospital without SMS, no platform account
    cancel_by_doctor(make, texting_hospital, phone="0700 000 001")  # no country code
    patient = make.patient()
    db.session.add(
        NotificationPreference(user_id=patient.id, kind="appointment_cancelled", email=True, sms=False)
    )
    doctor = make.doctor_at(texting_hospital)
    appointment = make.appointment(patient, doctor, texting_hospital, start_at=NOW + timedelta(days=2))
    scheduling.cancel_appointment(appointment, doctor, "Unwell")
    db.session.commit()
    assert texts() == []


def test_the_platform_account_serves_hospitals_without_their_own(app, make, twilio, monkeypatch):
    clock.set_frozen(NOW)
    for key, value in {
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM_NUMBER": "+15550001",
    }.items():
        monkeypatch.setitem(app.config, key, value)
    cancel_by_doctor(make, make.hospital())
    twilio.expect_oneshot_request(MESSAGES_PATH, method="POST").respond_with_json({"sid": "SM3"}, status=201)
    outbox.deliver_all_due("w")
    assert twilio.log[0][0].form["From"] == "+15550001"


def test_a_text_whose_settings_were_removed_is_dropped(make, twilio, texting_hospital):
    cancel_by_doctor(make, texting_hospital)
    sms.disable_hospital_sms(texting_hospital, make.super_admin())
    db.session.commit()
    outbox.deliver_all_due("w")
    (row,) = texts()
    assert row.status == OutboxStatus.failed and len(twilio.log) == 0


def test_the_token_is_stored_encrypted_and_useless_under_another_secret_key(
    app, texting_hospital, monkeypatch
):
    stored = db.session.scalar(
        select(Hospital.sms_auth_token_sealed).where(Hospital.id == texting_hospital.id)
    )
    assert TOKEN not in stored
    assert sms.credentials_for(texting_hospital.id).auth_token == TOKEN
    monkeypatch.setitem(app.config, "SECRET_KEY", "another-secret")
    assert sms.credentials_for(texting_hospital.id) is None


def test_long_notices_are_cut_to_two_segments(make, texting_hospital):
    patient = make.patient(phone="+254700000009")
    notify(patient, "appointment_reminder", "x" * 1000, hospital_id=texting_hospital.id)
    db.session.commit()
    (row,) = texts()
    assert len(row.body) == sms.MAX_SMS_LENGTH


# ---------------------------------------------------------------- the hospital's settings page


def test_admin_sets_up_text_messages(client, make, login_as):
    hospital = make.hospital()
    admin = make.hospital_admin(hospital)
    login_as(admin)
    page = client.get("/hospital/sms/")
    assert page.status_code == 200 and b"Off" in page.data
    response = client.post(
        "/hospital/sms/", data={"account_sid": SID, "auth_token": TOKEN, "from_number": "+254 711 000 000"}
    )
    assert response.status_code == 303
    db.session.refresh(hospital)
    assert (hospital.sms_account_sid, hospital.sms_from_number) == (SID, "+254711000000")
    assert TOKEN not in client.get("/hospital/sms/").data.decode()  # never shown again
    # An empty token keeps the saved one.
    client.post("/hospital/sms/", data={"account_sid": SID, "auth_token": "", "from_number": "+254711000001"})
    assert sms.credentials_for(hospital.id).auth_token == TOKEN
    assert client.post("/hospital/sms/off").status_code == 303
    db.session.refresh(hospital)
    assert hospital.sms_auth_token_sealed is None
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.record_type == "hospital_sms").order_by(AuditEvent.id)
    ).all()
    assert actions == ["update", "update", "delete"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("account_sid", "not-a-sid", b"An account SID is AC followed by 32"),
        ("from_number", "0711 000 000", b"international form"),
        ("auth_token", "<script>", b"An auth token is 32 letters and digits."),
    ],
)
def test_bad_settings_are_refused_inline(client, make, login_as, field, value, message):
    login_as(make.hospital_admin(make.hospital()))
    data = {"account_sid": SID, "auth_token": TOKEN, "from_number": "+254711000000"} | {field: value}
    response = client.post("/hospital/sms/", data=data, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert message in response.data and b"<html" not in response.data
    assert db.session.scalar(select(Hospital.sms_account_sid)) is None


def test_a_first_setup_needs_a_token(client, make, login_as):
    login_as(make.hospital_admin(make.hospital()))
    response = client.post(
        "/hospital/sms/", data={"account_sid": SID, "auth_token": "", "from_number": "+2547"}
    )
    assert response.status_code == 422
