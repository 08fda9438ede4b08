"""Two-factor login (TOTP): set-up from the security page, the login's second step, recovery codes,
replay protection, lockout, and the requirement for platform and hospital administrators."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from hms import clock
from hms.extensions import db
from hms.models import RecoveryCode, TotpCredential
from hms.services import two_factor
from tests.factories import PASSWORD
from tests.two_factor import SECRET, code_for, current_code, enrol_at_login

RECOVERY = re.compile(rb"<code>([0-9A-Z]{5}-[0-9A-Z]{5})</code>")
START = datetime(2026, 3, 2, 9, 0, 10, tzinfo=UTC)


def turn_on(client, user):  # type: ignore[no-untyped-def]
    """Set up two-factor login from the security page; returns the recovery codes shown."""
    assert client.post("/account/two-factor/setup").headers["Location"] == "/account/two-factor"
    page = client.get("/account/two-factor")
    secret = SECRET.search(page.data).group(1).decode()
    assert b"otpauth://totp/HMS:" in page.data
    response = client.post("/account/two-factor", data={"code": code_for(secret)})
    assert response.status_code == 200
    return [
        code.decode()
        for code in __import__("re").findall(rb"<code>([0-9A-Z]{5}-[0-9A-Z]{5})</code>", response.data)
    ]


def log_in(client, email):  # type: ignore[no-untyped-def]
    return client.post("/login", data={"email": email, "password": PASSWORD})


def test_patient_turns_on_two_factor_and_then_logs_in_with_a_code(client, make, login_as):
    clock.set_frozen(START)
    user = make.patient(email="p@example.org")
    login_as(user)
    codes = turn_on(client, user)
    assert len(codes) == 10 and len(set(codes)) == 10
    credential = db.session.scalar(select(TotpCredential))
    assert credential.confirmed_at is not None
    secret = two_factor._secret(credential)
    assert secret not in credential.secret_sealed  # stored encrypted
    stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert not set(codes) & set(stored)  # only hashes are kept
    client.post("/logout")

    response = log_in(client, "p@example.org")
    assert response.headers["Location"] == "/login/two-factor"
    assert client.get("/patient/").status_code == 302  # not logged in between the two steps
    clock.set_frozen(START + timedelta(seconds=60))
    response = client.post("/login/two-factor", data={"code": current_code(user)})
    assert response.status_code == 303 and response.headers["Location"] == "/patient/"
    assert client.get("/patient/").status_code == 200


def test_a_code_is_not_accepted_twice(client, make, login_as):
    clock.set_frozen(START)
    user = make.patient(email="p@example.org")
    login_as(user)
    turn_on(client, user)
    client.post("/logout")
    clock.set_frozen(START + timedelta(seconds=90))
    code = current_code(user)
    log_in(client, "p@example.org")
    assert client.post("/login/two-factor", data={"code": code}).status_code == 303
    client.post("/logout")
    log_in(client, "p@example.org")
    replay = client.post("/login/two-factor", data={"code": code})
    assert replay.status_code == 422
    assert b"That code is not right." in replay.data


def test_recovery_code_works_once(client, make, login_as):
    clock.set_frozen(START)
    user = make.patient(email="p@example.org")
    login_as(user)
    codes = turn_on(client, user)
    client.post("/logout")
    log_in(client, "p@example.org")
    assert client.post("/login/two-factor", data={"code": codes[3].lower()}).status_code == 303
    client.post("/logout")
    log_in(client, "p@example.org")
    assert client.post("/login/two-factor", data={"code": codes[3]}).status_code == 422
    assert client.post("/login/two-factor", data={"code": codes[4]}).status_code == 303


def test_wrong_codes_are_throttled_like_passwords(client, make, login_as):
    clock.set_frozen(START)
    user = make.patient(email="p@example.org")
    login_as(user)
    turn_on(client, user)
    client.post("/logout")
    log_in(client, "p@example.org")
    statuses = [client.post("/login/two-factor", data={"code": "000000"}).status_code for _ in range(5)]
    assert statuses == [422] * 5
    # This browser now waits before the next try, even with the right code (tests/test_login_throttle.py).
    held = client.post("/login/two-factor", data={"code": current_code(user)})
    assert held.status_code == 422 and b"Wait 1 seconds" in held.data
    clock.set_frozen(START + timedelta(seconds=31))
    assert client.post("/login/two-factor", data={"code": current_code(user)}).status_code == 303


def test_second_step_without_a_password_first_goes_back_to_login(client, make):
    assert client.get("/login/two-factor").headers["Location"] == "/login"
    assert client.post("/login/two-factor", data={"code": "123456"}).headers["Location"] == "/login"


def test_second_step_expires(client, make, login_as):
    clock.set_frozen(START)
    user = make.patient(email="p@example.org")
    login_as(user)
    turn_on(client, user)
    client.post("/logout")
    log_in(client, "p@example.org")
    clock.set_frozen(START + timedelta(minutes=11))
    response = client.post("/login/two-factor", data={"code": current_code(user)})
    assert response.headers["Location"] == "/login"


def test_hospital_admin_must_set_up_two_factor_before_anything_else(client, make):
    hospital = make.hospital()
    make.hospital_admin(hospital, email="a@example.org")
    assert log_in(client, "a@example.org").headers["Location"] == "/login/two-factor"
    for path in ("/hospital/", "/account/security", "/hospital/profile"):
        assert client.get(path).status_code == 302
    page = client.get("/login/two-factor")
    assert b"Your role must use an authenticator app." in page.data
    wrong = client.post("/login/two-factor", data={"code": "000000"})
    assert wrong.status_code == 422
    enrol_at_login(client)
    assert client.get("/hospital/").status_code == 200


def test_super_admin_must_set_up_two_factor(client, make):
    make.super_admin(email="root@example.org")
    assert log_in(client, "root@example.org").headers["Location"] == "/login/two-factor"
    assert client.get("/admin/").status_code == 302
    enrol_at_login(client)
    assert client.get("/admin/").status_code == 200


def test_turning_off_needs_password_and_code(client, make, login_as):
    clock.set_frozen(START)
    user = make.doctor(email="d@example.org")
    login_as(user)
    turn_on(client, user)
    clock.set_frozen(START + timedelta(seconds=30))
    bad = client.post(
        "/account/two-factor/disable", data={"password": "wrong one", "code": current_code(user)}
    )
    assert bad.status_code == 422 and b"The password is not right." in bad.data
    response = client.post(
        "/account/two-factor/disable", data={"password": PASSWORD, "code": current_code(user)}
    )
    assert response.status_code == 303
    assert db.session.scalar(select(TotpCredential)) is None
    assert db.session.scalar(select(RecoveryCode)) is None
    client.post("/logout")
    assert log_in(client, "d@example.org").headers["Location"] == "/doctor/"


def test_recovery_codes_can_be_replaced(client, make, login_as):
    clock.set_frozen(START)
    user = make.patient()
    login_as(user)
    old = turn_on(client, user)
    clock.set_frozen(START + timedelta(seconds=30))
    response = client.post("/account/two-factor/recovery-codes", data={"code": current_code(user)})
    assert response.status_code == 200
    assert b"shown only now" in response.data
    assert old[0].encode() not in response.data
    assert client.post("/account/two-factor/recovery-codes", data={"code": "nope"}).status_code == 422


def test_security_page_shows_the_state(client, make, login_as):
    login_as(make.patient())
    page = client.get("/account/security")
    assert page.status_code == 200
    assert b"Set up two-factor login" in page.data
    assert b"Your sessions" in page.data


def test_the_set_up_page_shows_a_qr_code_of_the_same_key_drawn_on_the_server(client, make, login_as):
    import html
    import re

    import segno

    login_as(make.patient(email="p@example.org"))
    client.post("/account/two-factor/setup")
    page = client.get("/account/two-factor").get_data(as_text=True)
    link = html.unescape(re.search(r'<a href="(otpauth://[^"]+)"', page).group(1))
    svg = re.search(r"<svg [^>]*>.*?</svg>", page, re.S).group(0)
    assert 'role="img"' in svg and "QR code of the key" in svg and "<script" not in svg
    # The code on the page encodes exactly the link's key: drawn again from the link, it is the same.
    modules = re.compile(r'class="qrline"[^>]* d="([^"]+)"')
    again = segno.make(link, error="m").svg_inline(scale=4, border=2)
    assert modules.search(svg).group(1) == modules.search(again).group(1)


def test_recovery_codes_can_be_downloaded_as_text_and_printed(client, make, login_as):
    import urllib.parse

    user = make.patient(email="p@example.org")
    login_as(user)
    codes = turn_on(client, user)
    client.post("/logout")
    login_as(user)
    page = client.post(
        "/account/two-factor/recovery-codes", data={"password": PASSWORD, "code": current_code(user, 1)}
    )
    text = page.get_data(as_text=True)
    link = text.split('href="data:text/plain;charset=utf-8,')[1].split('"')[0]
    downloaded = urllib.parse.unquote(link.replace("&amp;", "&"))
    shown = [c for c in __import__("re").findall(r"<code>([0-9A-Z]{5}-[0-9A-Z]{5})</code>", text)]
    assert len(shown) == 10 and all(c in downloaded for c in shown) and codes != shown
    assert 'download="hms-recovery-codes.txt"' in text and "data-print" in text
