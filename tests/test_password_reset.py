"""Password reset: the same answer for every address, an emailed single-use expiring link (only its
hash stored), rate limits, and every other session ended after the reset."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from hms import clock
from hms.extensions import db
from hms.models import AuditEvent, OutboxEmail, PasswordResetToken
from hms.services import outbox, password_reset, passwords

NOW = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)
NEW_PASSWORD = "lantern over the quiet bay"


def compose_queued() -> None:
    """Run the worker once: it turns queued requests into emails (no SMTP server here: they wait)."""
    outbox.deliver_all_due("test-worker")


def reset_link(user) -> str:  # type: ignore[no-untyped-def]
    compose_queued()
    mail = db.session.scalars(
        select(OutboxEmail)
        .where(OutboxEmail.user_id == user.id, OutboxEmail.kind == "password_reset")
        .order_by(OutboxEmail.id.desc())
    ).first()
    return re.search(r"http://127\.0\.0\.1:5000(/reset-password/\S+)", mail.body).group(1)


def ask(client, email: str):  # type: ignore[no-untyped-def]
    return client.post("/forgot-password", data={"email": email})


def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(client, make):
    make.patient(email="amina@example.org")
    known = ask(client, "Amina@Example.org ")
    known_page = client.get(known.headers["Location"]).data
    unknown = ask(client, "nobody@example.org")
    unknown_page = client.get(unknown.headers["Location"]).data
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"] == "/login"
    assert b"If an account uses that address" in known_page
    # The same page but for the CSRF token, which is signed with the second it was made in.
    token = re.compile(rb"[\w-]{20,}\.[\w-]{4,}\.[\w-]{20,}")
    assert token.sub(b"TOKEN", known_page) == token.sub(b"TOKEN", unknown_page)
    # The same work for both: one queued request each, alike but for the address.
    queued = db.session.scalars(select(OutboxEmail).order_by(OutboxEmail.id)).all()
    assert [(q.kind, q.to, q.body, q.user_id) for q in queued] == [
        ("password_reset_request", "amina@example.org", "", None),
        ("password_reset_request", "nobody@example.org", "", None),
    ]
    # The worker decides: an email for the account, nothing for the unknown address.
    compose_queued()
    assert db.session.scalars(select(OutboxEmail.to)).all() == ["amina@example.org"]


def test_only_a_hash_of_the_token_is_stored(client, make):
    user = make.patient()
    ask(client, user.email)
    token = reset_link(user).rsplit("/", 1)[1]
    stored = db.session.scalar(select(PasswordResetToken))
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in stored.token_hash and len(token) >= 40


def test_reset_changes_the_password_once_and_ends_other_sessions(app, client, make, login_as):
    user = make.patient()
    other_device = app.test_client()
    login_as(user, on=other_device)
    assert other_device.get("/patient/").status_code == 200
    version = user.session_version

    ask(client, user.email)
    link = reset_link(user)
    follow = client.get(link)
    assert follow.status_code == 303 and follow.headers["Location"] == "/reset-password"
    form = client.get("/reset-password")
    assert form.status_code == 200 and b"Choose a new password" in form.data
    assert b'<meta name="referrer" content="no-referrer">' in form.data
    done = client.post("/reset-password", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["Location"] == "/login"

    db.session.refresh(user)
    assert passwords.verify_password(user.password_hash, NEW_PASSWORD)
    assert user.session_version == version + 1
    assert other_device.get("/patient/").status_code == 302  # that session is over
    again = client.get(link)
    assert client.get(again.headers["Location"]).status_code == 400
    assert b"expired or was already used" in client.get(link, follow_redirects=True).data
    kinds = db.session.scalars(select(OutboxEmail.kind).where(OutboxEmail.user_id == user.id)).all()
    assert sorted(kinds) == ["password_changed", "password_reset"]
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["request_password_reset", "reset_password"]
    login = client.post("/login", data={"email": user.email, "password": NEW_PASSWORD})
    assert login.status_code == 303


def test_the_link_expires(client, make, app):
    clock.set_frozen(NOW)
    user = make.patient()
    ask(client, user.email)
    link = reset_link(user)
    clock.set_frozen(NOW + timedelta(minutes=app.config["PASSWORD_RESET_MINUTES"], seconds=1))
    client.get(link)
    response = client.post("/reset-password", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    db.session.refresh(user)
    assert not passwords.verify_password(user.password_hash, NEW_PASSWORD)


def test_a_new_link_makes_the_older_one_useless(client, make):
    clock.set_frozen(NOW)
    user = make.patient()
    ask(client, user.email)
    first = reset_link(user)
    clock.set_frozen(NOW + timedelta(minutes=1))
    ask(client, user.email)
    assert reset_link(user) != first
    client.get(first)
    assert client.get("/reset-password").status_code == 400


def test_weak_or_mismatched_passwords_are_refused_with_the_form(client, make):
    user = make.patient(email="amina.hassan@example.org")
    ask(client, user.email)
    client.get(reset_link(user))
    short = client.post("/reset-password", data={"password": "short", "confirm": "short"})
    assert short.status_code == 422 and b"Use at least 10 characters." in short.data
    own = client.post("/reset-password", data={"password": "amina.hassan2030", "confirm": "amina.hassan2030"})
    assert own.status_code == 422 and b"Do not use your email address" in own.data
    mismatch = client.post("/reset-password", data={"password": NEW_PASSWORD, "confirm": "other words here"})
    assert mismatch.status_code == 422
    assert client.get("/reset-password").status_code == 200  # the link is still good


def test_nonsense_tokens_never_crash(client):
    for token in ["x", "A" * 500, "%00", "..%2F..%2Fetc", "<script>"]:
        client.get(f"/reset-password/{token}")
        response = client.get("/reset-password")
        assert response.status_code == 400
    assert (
        client.post("/reset-password", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code
        == 400
    )


def test_asking_is_rate_limited_per_address(client, make):
    for _ in range(5):
        assert ask(client, "someone@example.org").status_code == 303
    assert ask(client, "someone@example.org").status_code == 429


def test_one_account_gets_at_most_three_links_an_hour(app, make):
    user = make.patient()
    for i in range(5):
        other_client = app.test_client()
        other_client.environ_base["REMOTE_ADDR"] = f"10.0.0.{i + 1}"
        assert ask(other_client, user.email).status_code == 303
    compose_queued()
    assert db.session.scalar(select(func.count(PasswordResetToken.id))) == 3


def test_no_link_for_a_deactivated_account(client, make):
    user = make.patient()
    user.active = False
    db.session.commit()
    ask(client, user.email)
    compose_queued()
    assert db.session.scalar(select(func.count(OutboxEmail.id))) == 0


def test_the_link_uses_the_configured_address_not_the_host_header(app, make):
    user = make.patient()
    with app.test_request_context("/forgot-password", method="POST", base_url="http://evil.example"):
        password_reset.request_password_reset(user.email)
    db.session.commit()
    compose_queued()
    mail = db.session.scalar(select(OutboxEmail))
    assert "evil.example" not in mail.body and "http://127.0.0.1:5000/reset-password/" in mail.body


def test_the_reset_email_reaches_a_real_smtp_server(client, make, smtp_server):
    user = make.patient()
    ask(client, user.email)
    outbox.deliver_all_due("w")
    (mail,) = smtp_server.messages
    assert mail["To"] == user.email and mail["Subject"] == "HMS: reset your password"
    assert "/reset-password/" in mail.get_content()


def test_forgot_password_form_errors_come_back_inline(client):
    response = client.post(
        "/forgot-password", data={"email": "not an address"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    assert b"<html" not in response.data and b"Enter a valid email address." in response.data
    assert b"Forgot your password?" in client.get("/login").data
