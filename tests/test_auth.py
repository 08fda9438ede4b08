"""Registration, login, logout, rate limit, CSRF and password hashing (throttling: test_login_throttle)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from hms import clock
from hms.extensions import db
from hms.models import Hospital, HospitalStatus, OutboxEmail, Role, User
from tests.factories import PASSWORD
from tests.two_factor import current_code, enrol_at_login

GOOD_PASSWORD = "blue kettle on the hill"


def patient_form(**overrides):  # type: ignore[no-untyped-def]
    return {
        "full_name": "Amina Hassan",
        "email": "amina@example.org",
        "password": GOOD_PASSWORD,
        "confirm": GOOD_PASSWORD,
        "date_of_birth": "1988-04-12",
        "sex": "female",
        "phone": "+254 700 000 001",
    } | overrides


def hospital_form(**overrides):  # type: ignore[no-untyped-def]
    return {
        "name": "Lakeside Hospital",
        "address": "1 Lake Road",
        "city": "Kisumu",
        "phone": "+254 57 000 000",
        "timezone": "Africa/Nairobi",
        "currency": "kes",
        "admin_name": "Grace Wanjiru",
        "email": "grace@example.org",
        "password": GOOD_PASSWORD,
        "confirm": GOOD_PASSWORD,
    } | overrides


def confirmation_link(email: str) -> str:
    """The path of the link the registration email to `email` carries."""
    body = db.session.scalar(
        select(OutboxEmail.body).where(OutboxEmail.to == email, OutboxEmail.kind == "registration")
    )
    return re.search(r"http://127\.0\.0\.1:5000(/register/confirm/\S+)", body).group(1)


def register(client, path: str, data: dict):  # type: ignore[no-untyped-def]
    """Send the form, then open the emailed link and press its button, as a person does."""
    sent = client.post(path, data=data)
    assert sent.status_code == 303 and sent.headers["Location"] == "/register/sent", sent.data[:300]
    link = confirmation_link(data["email"].strip().lower())
    assert client.get(link).status_code == 200
    return client.post(link)


def test_patient_registers_confirms_the_email_and_lands_on_dashboard(client):
    sent = client.post("/register", data=patient_form())
    assert sent.headers["Location"] == "/register/sent"
    assert b"We sent an email to amina@example.org." in client.get("/register/sent").data
    assert db.session.scalar(select(User)) is None  # nothing is made before the link is opened
    link = confirmation_link("amina@example.org")
    assert b"Create my account" in client.get(link).data  # a mail scanner's GET makes nothing
    assert db.session.scalar(select(User)) is None
    response = client.post(link)
    assert response.status_code == 303
    assert response.headers["Location"] == "/patient/"
    page = client.get("/patient/")
    assert page.status_code == 200
    assert b"Hello, Amina" in page.data
    user = db.session.scalar(select(User).where(User.email == "amina@example.org"))
    assert user.role == Role.patient
    assert user.patient.mrn.startswith("P") and len(user.patient.mrn) == 10


def test_password_is_stored_as_argon2id_with_owasp_parameters(client):
    register(client, "/register", patient_form())
    user = db.session.scalar(select(User))
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert GOOD_PASSWORD not in user.password_hash


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-email", b"Enter a valid email address."),
        ("password", "short", b"Use at least 10 characters."),
        ("password", "password123", b"too easy to guess"),
        ("date_of_birth", "31/04/1988", b"Write the date like 12/31/2026."),  # typed, not a date in English
        ("date_of_birth", "2199-01-01", b"cannot be in the future"),
        ("date_of_birth", "9999-12-31", b"Enter a date between the years 1890 and 2200."),
        ("phone", "call me maybe", b"Enter a phone number"),
        ("full_name", "", b"This field is required."),
        ("sex", "banana", b"Not a valid choice"),
    ],
)
def test_bad_registration_input_is_422_with_a_field_message_and_keeps_input(client, field, value, message):
    data = patient_form(**{field: value})
    if field == "password":
        data["confirm"] = value
    response = client.post("/register", data=data)
    assert response.status_code == 422
    assert message in response.data
    assert b'aria-invalid="true"' in response.data
    if field != "email":
        assert b'value="amina@example.org"' in response.data
    assert db.session.scalar(select(User)) is None


def test_a_taken_email_is_answered_like_a_new_one_and_its_owner_is_told(client, make):
    make.patient(email="amina@example.org")
    taken = client.post("/register", data=patient_form(email="  AMINA@Example.ORG "))
    fresh = client.post("/register", data=patient_form(email="zawadi@example.org"))
    assert taken.status_code == fresh.status_code == 303
    assert taken.headers["Location"] == fresh.headers["Location"] == "/register/sent"
    assert b"already" not in client.get("/register/sent").data
    mails = db.session.scalars(select(OutboxEmail).order_by(OutboxEmail.id)).all()
    assert [(m.to, m.kind) for m in mails] == [
        ("amina@example.org", "registration_taken"),
        ("zawadi@example.org", "registration"),
    ]
    assert "/forgot-password" in mails[0].body and "/register/confirm/" not in mails[0].body
    assert len(db.session.scalars(select(User)).all()) == 1


def test_both_answers_do_the_same_work(client, make, monkeypatch):
    """One password hash made, one email queued, for a taken and for a new address alike."""
    from hms.services import passwords

    make.patient(email="amina@example.org")
    hashed = []
    real = passwords.hash_password
    monkeypatch.setattr(passwords, "hash_password", lambda p: hashed.append(1) or real(p))
    for email in ("amina@example.org", "zawadi@example.org"):
        hashed.clear()
        before = db.session.scalar(select(func.count(OutboxEmail.id)))
        client.post("/register", data=patient_form(email=email))
        assert (len(hashed), db.session.scalar(select(func.count(OutboxEmail.id))) - before) == (1, 1)


def test_no_inbox_gets_more_than_three_registration_emails_an_hour(app, client, make):
    make.patient(email="amina@example.org")
    for n in range(5):
        other = app.test_client()
        other.post("/register", data=patient_form(), environ_base={"REMOTE_ADDR": f"10.0.0.{n}"})
    assert db.session.scalar(select(func.count(OutboxEmail.id))) == 3


def test_a_link_works_once_and_a_second_account_for_the_address_is_refused(app, client):
    client.post("/register", data=patient_form())
    first = confirmation_link("amina@example.org")
    other = app.test_client()
    other.post(
        "/register", data=patient_form(full_name="Amina Second"), environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    second = db.session.scalars(
        select(OutboxEmail.body).where(OutboxEmail.kind == "registration").order_by(OutboxEmail.id.desc())
    ).first()
    second = re.search(r"(/register/confirm/\S+)", second).group(1)
    assert client.post(first).headers["Location"] == "/patient/"
    assert client.get(first).status_code == 410  # used
    client.post("/logout")
    refused = other.post(second)
    assert refused.status_code == 303 and refused.headers["Location"] == "/login"
    assert len(db.session.scalars(select(User)).all()) == 1


def test_an_expired_or_unknown_link_makes_nothing(app, client):
    clock.set_frozen(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    client.post("/register", data=patient_form())
    link = confirmation_link("amina@example.org")
    clock.set_frozen(clock.now() + timedelta(hours=app.config["REGISTRATION_LINK_HOURS"], seconds=1))
    assert client.post(link).status_code == 410
    for token in ("x", "A" * 500, "<script>"):
        assert client.post(f"/register/confirm/{token}").status_code == 410
    assert db.session.scalar(select(User)) is None


def test_mismatched_password_confirmation(client):
    response = client.post("/register", data=patient_form(confirm="something else entirely"))
    assert response.status_code == 422
    assert b"The passwords do not match." in response.data


def test_registration_form_errors_come_back_as_a_fragment_for_htmx(client):
    response = client.post("/register", data=patient_form(email="bad"), headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert response.data.lstrip().startswith(b"<form")
    assert b"<html" not in response.data
    assert "HX-Request" in response.headers["Vary"]


def test_doctor_registers_with_a_specialty(client):
    response = register(
        client,
        "/register/doctor",
        {
            "full_name": "Priya Mehta",
            "email": "priya@example.org",
            "password": GOOD_PASSWORD,
            "confirm": GOOD_PASSWORD,
            "specialty": "Paediatrics",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/doctor/"
    user = db.session.scalar(select(User).where(User.email == "priya@example.org"))
    assert user.doctor.specialty == "Paediatrics"
    assert b"not linked to a hospital yet" in client.get("/doctor/").data


def test_hospital_registration_waits_as_pending(client):
    response = register(client, "/register/hospital", hospital_form())
    assert response.status_code == 303
    hospital = db.session.scalar(select(Hospital))
    assert hospital.status == HospitalStatus.pending
    assert hospital.currency == "KES"
    assert hospital.admins[0].user.email == "grace@example.org"
    # A hospital administrator sets up two-factor login before anything else opens.
    assert response.headers["Location"] == "/login/two-factor"
    assert client.get("/hospital/").status_code == 302
    enrol_at_login(client)
    page = client.get("/hospital/")
    assert b"Waiting for approval" in page.data


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "Mars/Olympus_Mons", b"Unknown time zone"),
        ("timezone", "../../etc/passwd", b"Unknown time zone"),
        ("currency", "XYZ1", b"Unknown currency"),
        ("currency", "ZZZ", b"Unknown currency"),
    ],
)
def test_hospital_registration_rejects_unknown_timezone_and_currency(client, field, value, message):
    response = client.post("/register/hospital", data=hospital_form(**{field: value}))
    assert response.status_code == 422
    assert message in response.data
    assert db.session.scalar(select(Hospital)) is None
    assert db.session.scalar(select(User)) is None


@pytest.mark.parametrize(
    ("role", "landing"),
    [
        (Role.patient, "/patient/"),
        (Role.doctor, "/doctor/"),
        (Role.hospital_admin, "/hospital/"),
        (Role.staff, "/staff/"),
        (Role.super_admin, "/admin/"),
    ],
)
def test_each_role_logs_in_to_its_own_dashboard(client, make, role, landing):
    hospital = make.hospital()
    user = {
        Role.patient: lambda: make.patient(email="who@example.org"),
        Role.doctor: lambda: make.doctor(email="who@example.org"),
        Role.hospital_admin: lambda: make.hospital_admin(hospital, email="who@example.org"),
        Role.staff: lambda: make.staff(hospital, email="who@example.org"),
        Role.super_admin: lambda: make.super_admin(email="who@example.org"),
    }[role]()
    response = client.post("/login", data={"email": "Who@Example.org", "password": PASSWORD})
    assert response.status_code == 303
    if role in (Role.hospital_admin, Role.super_admin):  # two-factor login is required for them
        assert response.headers["Location"] == "/login/two-factor"
        response = enrol_at_login(client)
        assert b"Recovery codes" in response.data
        assert client.get(landing).status_code == 200
        client.post("/logout")
        client.post("/login", data={"email": "Who@Example.org", "password": PASSWORD})
        # The code just used at set-up does not work twice; the next one does.
        response = client.post("/login/two-factor", data={"code": current_code(user, steps_ahead=1)})
    assert response.status_code == 303
    assert response.headers["Location"] == landing
    page = client.get(landing)
    assert page.status_code == 200
    assert user.full_name.encode() in page.data
    assert b"Log out" in page.data


def test_login_follows_only_local_next_urls(client, make):
    make.patient(email="p@example.org")
    response = client.post(
        "/login?next=https://evil.example.com/", data={"email": "p@example.org", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/patient/"
    client.post("/logout")
    response = client.post("/login?next=/patient/", data={"email": "p@example.org", "password": PASSWORD})
    assert response.headers["Location"] == "/patient/"


def test_wrong_password_is_422_and_does_not_say_which_part_was_wrong(client, make):
    make.patient(email="p@example.org")
    wrong = client.post("/login", data={"email": "p@example.org", "password": "not the password"})
    unknown = client.post("/login", data={"email": "nobody@example.org", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 422
    assert b"Wrong email or password." in wrong.data
    assert b"Wrong email or password." in unknown.data


def test_login_is_rate_limited_per_address(client, make):
    make.patient(email="p@example.org")
    statuses = [
        client.post("/login", data={"email": f"x{i}@example.org", "password": "whatever it is"}).status_code
        for i in range(11)
    ]
    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429
    limited = client.post("/login", data={"email": "p@example.org", "password": PASSWORD})
    assert limited.status_code == 429
    assert b"Too many attempts" in limited.data


def test_deactivated_user_cannot_log_in(client, make):
    user = make.patient(email="p@example.org")
    user.active = False
    db.session.commit()
    response = client.post("/login", data={"email": "p@example.org", "password": PASSWORD})
    assert response.status_code == 422
    assert b"deactivated" in response.data


def test_staff_of_a_suspended_hospital_cannot_log_in(client, make):
    hospital = make.hospital(status=HospitalStatus.suspended)
    make.staff(hospital, email="nurse@example.org")
    response = client.post("/login", data={"email": "nurse@example.org", "password": PASSWORD})
    assert response.status_code == 422
    assert b"not active" in response.data


def test_logout_ends_the_session(client, make, login_as):
    login_as(make.patient())
    assert client.get("/patient/").status_code == 200
    assert client.post("/logout").status_code == 303
    assert client.get("/patient/").status_code == 302


def test_post_without_csrf_token_is_refused(client, make, login_as):
    response = client.post("/register", data=patient_form(), csrf=False)
    assert response.status_code == 400
    assert b"Reload the page" in response.data
    assert db.session.scalar(select(User)) is None


def test_htmx_post_without_csrf_header_is_refused_into_the_message_area(client, make, login_as):
    hospital = make.hospital(status=HospitalStatus.pending)
    login_as(make.super_admin())
    response = client.post(
        f"/admin/hospitals/{hospital.id}/status",
        data={"action": "approve"},
        headers={"HX-Request": "true"},
        csrf=False,
    )
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#messages"
    db.session.refresh(hospital)
    assert hospital.status == HospitalStatus.pending


def test_a_forged_csrf_token_is_refused(client, make, login_as):
    hospital = make.hospital(status=HospitalStatus.pending)
    login_as(make.super_admin())
    response = client.post(
        f"/admin/hospitals/{hospital.id}/status",
        data={"action": "approve"},
        headers={"X-CSRFToken": "forged.token.value"},
        csrf=False,
    )
    assert response.status_code == 400


def test_password_change_invalidates_old_sessions(client, make, login_as):
    user = make.patient()
    login_as(user)
    assert client.get("/patient/").status_code == 200
    user.session_version += 1
    db.session.commit()
    assert client.get("/patient/").status_code == 302
