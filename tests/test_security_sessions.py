"""Server-side sessions: each request checks its row; logout and password reset end every session;
a user lists and ends his sessions; idle sessions end after the hospital's (or platform's) time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import UserSession
from hms.services import password_reset
from tests.factories import PASSWORD
from tests.test_password_reset import reset_link

END_BUTTON = re.compile(rb'action="/account/sessions/\d+/end"')
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def idle_logout(app, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setitem(app.config, "IDLE_LOGOUT", True)
    clock.set_frozen(START)


def test_login_records_a_session_with_address_and_browser(client, make):
    make.patient(email="p@example.org")
    client.post(
        "/login", data={"email": "p@example.org", "password": PASSWORD}, headers={"User-Agent": "Firefox/140"}
    )
    row = db.session.scalar(select(UserSession))
    assert (row.ip, row.user_agent, row.ended_at) == ("127.0.0.1", "Firefox/140", None)
    assert len(row.token_hash) == 64


def test_a_login_cookie_without_its_server_session_is_logged_out(client, make, login_as):
    user = make.patient()
    login_as(user)
    with client.session_transaction() as sess:
        sess["_sid"] = "forged"
    assert client.get("/patient/").status_code == 302


def test_logout_ends_every_session_of_the_user(app, client, make, login_as):
    user = make.patient()
    phone = app.test_client()
    login_as(user)
    login_as(user, on=phone)
    assert phone.get("/patient/").status_code == 200
    client.post("/logout")
    assert phone.get("/patient/").status_code == 302
    assert all(row.ended_reason == "logout" for row in db.session.scalars(select(UserSession)))


def test_password_reset_ends_every_session(app, client, make, login_as):
    user = make.patient(email="p@example.org")
    login_as(user)
    password_reset.request_password_reset("p@example.org")
    db.session.commit()
    token = reset_link(user).rsplit("/", 1)[1]
    password_reset.reset_password(token, "a brand new passphrase")
    db.session.commit()
    assert client.get("/patient/").status_code == 302
    assert db.session.scalar(select(UserSession.ended_reason)) == "password"


def test_user_sees_and_ends_his_other_sessions(app, client, make, login_as):
    user = make.doctor()
    laptop, phone = app.test_client(), app.test_client()
    login_as(user)
    login_as(user, on=laptop)
    login_as(user, on=phone)
    page = client.get("/account/security")
    assert len(END_BUTTON.findall(page.data)) == 3
    phone_row = db.session.scalars(select(UserSession).order_by(UserSession.id)).all()[2]
    response = client.post(f"/account/sessions/{phone_row.id}/end", headers={"HX-Request": "true"})
    assert response.status_code == 200 and b"<html" not in response.data
    assert len(END_BUTTON.findall(response.data)) == 2
    assert phone.get("/doctor/").status_code == 302
    assert laptop.get("/doctor/").status_code == 200
    assert client.post("/account/sessions/end-others").status_code == 303
    assert laptop.get("/doctor/").status_code == 302
    assert client.get("/doctor/").status_code == 200


def test_another_users_session_cannot_be_ended(app, client, make, login_as):
    other = make.patient()
    login_as(other, on=app.test_client())
    theirs = db.session.scalar(select(UserSession))
    login_as(make.patient())
    assert client.post(f"/account/sessions/{theirs.id}/end").status_code == 404
    db.session.refresh(theirs)
    assert theirs.ended_at is None


def test_idle_session_ends_after_the_hospitals_timeout(client, make, login_as, idle_logout):
    hospital = make.hospital()
    hospital.idle_timeout_minutes = 5
    db.session.commit()
    login_as(make.hospital_admin(hospital))
    clock.set_frozen(START + timedelta(minutes=4))
    page = client.get("/hospital/")
    assert page.status_code == 200
    assert b'data-idle-seconds="300"' in page.data and b'id="idle-warning"' in page.data
    clock.set_frozen(START + timedelta(minutes=8, seconds=59))
    assert client.get("/hospital/").status_code == 200
    clock.set_frozen(START + timedelta(minutes=14))
    response = client.get("/hospital/")
    assert response.status_code == 302
    assert b"without activity" in client.get("/login").data
    assert db.session.scalar(select(UserSession.ended_reason)) == "idle"


def test_patients_use_the_platform_timeout(app, client, make, login_as, idle_logout):
    login_as(make.patient())
    clock.set_frozen(START + timedelta(minutes=app.config["IDLE_TIMEOUT_MINUTES"] - 1))
    assert client.get("/patient/").status_code == 200
    clock.set_frozen(START + timedelta(minutes=2 * app.config["IDLE_TIMEOUT_MINUTES"]))
    assert client.get("/patient/").status_code == 302


def test_background_polls_do_not_keep_a_session_alive(client, make, login_as, idle_logout):
    login_as(make.patient())
    for minute in (5, 10):
        clock.set_frozen(START + timedelta(minutes=minute))
        assert client.get("/notifications/bell").status_code == 200
        assert (
            client.get("/patient/", headers={"HMS-Background": "1", "HX-Request": "true"}).status_code == 200
        )
    clock.set_frozen(START + timedelta(minutes=15, seconds=1))
    assert client.get("/patient/").status_code == 302


def test_keep_alive_extends_the_session(client, make, login_as, idle_logout):
    login_as(make.patient())
    clock.set_frozen(START + timedelta(minutes=14))
    response = client.post("/account/keep-alive", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HMS-Idle-Seconds"] == "900"
    clock.set_frozen(START + timedelta(minutes=28))
    assert client.get("/patient/").status_code == 200


def test_hospital_admin_sets_the_idle_timeout_on_the_profile(client, make, login_as):
    hospital = make.hospital()
    login_as(make.hospital_admin(hospital))
    form = {
        "name": hospital.name,
        "address": hospital.address,
        "city": hospital.city,
        "timezone": hospital.timezone,
        "currency": hospital.currency,
        "cancel_cutoff_minutes": "120",
    }
    assert client.post("/hospital/profile", data=form | {"idle_timeout_minutes": "1"}).status_code == 422
    assert client.post("/hospital/profile", data=form | {"idle_timeout_minutes": "30"}).status_code == 303
    db.session.refresh(hospital)
    assert hospital.idle_timeout_minutes == 30
