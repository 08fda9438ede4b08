"""A logged-in user changes his password on the security page: he proves the current one, bad input
re-renders with field errors and changes nothing, his other sessions end, this one goes on, he gets
an email, and guessing the current password is rate-limited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hms.extensions import db
from hms.models import AuditEvent, OutboxEmail, UserSession
from hms.services import passwords
from tests.factories import PASSWORD

NEW = "lantern over the quiet bay"


def change(client, current=PASSWORD, new=NEW, confirm=None, **kw):  # type: ignore[no-untyped-def]
    data = {"pw-current": current, "pw-password": new, "pw-confirm": new if confirm is None else confirm}
    return client.post("/account/password", data=data, **kw)


def test_the_security_page_offers_the_form_with_its_own_field_ids(client, make, login_as):
    login_as(make.patient())
    page = client.get("/account/security").data.decode()
    for name in ("pw-current", "pw-password", "pw-confirm"):
        assert f'id="{name}"' in page and page.count(f'id="{name}"') == 1
    assert 'autocomplete="current-password"' in page and 'autocomplete="new-password"' in page


def test_a_user_changes_his_password_and_his_other_sessions_end(app, client, make, login_as):
    user = make.doctor(email="dr@example.org")
    phone = app.test_client()
    login_as(user)
    login_as(user, on=phone)
    response = change(client)
    assert response.status_code == 303 and response.headers["Location"] == "/account/security"
    assert b"Your password is changed" in client.get("/account/security").data
    assert client.get("/doctor/").status_code == 200  # this session goes on
    assert phone.get("/doctor/").status_code == 302  # the other one is over
    db.session.refresh(user)
    assert passwords.verify_password(user.password_hash, NEW)
    reasons = db.session.scalars(select(UserSession.ended_reason).order_by(UserSession.id)).all()
    assert reasons == [None, "password"]
    mail = db.session.scalar(select(OutboxEmail).where(OutboxEmail.kind == "password_changed"))
    assert mail.to == "dr@example.org" and "/forgot-password" in mail.body
    assert "change_password" in db.session.scalars(select(AuditEvent.action)).all()
    fresh = app.test_client()
    assert fresh.post("/login", data={"email": user.email, "password": NEW}).status_code == 303
    stale = app.test_client()
    assert stale.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 422


@pytest.mark.parametrize(
    ("current", "new", "confirm", "field", "message"),
    [
        ("not my password at all", NEW, None, "pw-current", b"That is not your current password."),
        (PASSWORD, "short", None, "pw-password", b"Use at least 10 characters."),
        (PASSWORD, PASSWORD, None, "pw-password", b"Choose a password different from the current one."),
        (PASSWORD, NEW, "something else entirely", "pw-confirm", b"The passwords do not match."),
        ("", "", "", "pw-current", b"This field is required."),
    ],
)
def test_bad_input_re_renders_with_the_error_and_changes_nothing(
    app, client, make, login_as, current, new, confirm, field, message
):
    user = make.patient()
    phone = app.test_client()
    login_as(user)
    login_as(user, on=phone)
    before = user.password_hash
    response = change(client, current, new, confirm)
    assert response.status_code == 422
    page = response.data.decode()
    assert message.decode() in page and f'id="{field}"' in page
    assert 'aria-invalid="true"' in page
    db.session.refresh(user)
    assert user.password_hash == before
    assert phone.get("/patient/").status_code == 200  # nothing ended
    assert db.session.scalar(select(OutboxEmail).where(OutboxEmail.kind == "password_changed")) is None


def test_a_wrong_current_password_is_audited(client, make, login_as):
    user = make.patient()
    login_as(user)
    change(client, current="a wrong guess here")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "change_password_refused"))
    assert event is not None and event.record_id == user.id


def test_guessing_the_current_password_is_rate_limited_per_account(app, client, make, login_as):
    login_as(make.patient())
    codes = [change(client, current=f"guess number {i}").status_code for i in range(11)]
    assert codes == [422] * 10 + [429]
    other = app.test_client()
    login_as(make.patient(), on=other)
    assert change(other).status_code == 303  # another account's limit is its own


def test_it_needs_a_csrf_token_and_a_login(client, make, login_as):
    assert change(client).status_code in (302, 303)  # not logged in: to the login page
    user = make.patient()
    login_as(user)
    before = user.password_hash
    assert change(client, csrf=False).status_code == 400
    db.session.refresh(user)
    assert user.password_hash == before


def test_the_form_and_its_errors_come_in_the_users_language(client, make, login_as):
    user = make.patient()
    user.locale = "es"
    db.session.commit()
    login_as(user)
    response = change(client, current="not my password at all")
    assert response.status_code == 422
    assert "Contraseña actual".encode() in response.data
    assert b"That is not your current password." not in response.data
