"""Login throttling instead of an account lock (hms/services/login_throttle.py): a stranger slows only
himself, the owner is never locked out, and known and unknown emails are answered the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from hms import clock
from hms.extensions import db
from hms.models import LoginFailure, OutboxEmail
from hms.services import accounts, login_throttle, outbox
from hms.services.errors import LoginRefused
from tests.concurrency import run_at_once
from tests.factories import PASSWORD

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
STRANGER = {"REMOTE_ADDR": "203.0.113.7"}
OWNER = {"REMOTE_ADDR": "198.51.100.20"}


@pytest.fixture(autouse=True)
def _frozen_and_unlimited(app, monkeypatch):  # type: ignore[no-untyped-def]
    """A fixed clock, and the per-address rate limit out of the way (it has its own test)."""
    clock.set_frozen(START)
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "10000 per minute")


def attempt(client, email: str, password: str = "a wrong guess", at=STRANGER):  # type: ignore[no-untyped-def]  # noqa: S107
    return client.post("/login", data={"email": email, "password": password}, environ_base=at)


def later(seconds: float) -> None:
    clock.set_frozen(clock.now() + timedelta(seconds=seconds))


def test_a_strangers_failures_never_keep_the_owner_out(client, app, make):
    make.patient(email="p@example.org")
    for _ in range(30):
        attempt(client, "p@example.org")
        later(1000)  # a patient stranger: never throttled by the growing delays
    owner = app.test_client()
    response = attempt(owner, "p@example.org", PASSWORD, at=OWNER)
    assert response.status_code == 303 and response.headers["Location"] == "/patient/"


def test_after_five_failures_each_attempt_waits_longer_even_with_the_right_password(client, make):
    make.patient(email="p@example.org")
    assert [attempt(client, "p@example.org").status_code for _ in range(5)] == [422] * 5
    held = attempt(client, "p@example.org", PASSWORD)
    assert held.status_code == 422 and held.headers["Retry-After"] == "1"
    assert b"Wait 1 seconds" in held.data and b"Wrong email" not in held.data
    later(1)
    assert attempt(client, "p@example.org").status_code == 422  # the sixth failure: now 2 s
    assert attempt(client, "p@example.org").headers["Retry-After"] == "2"
    later(2)
    attempt(client, "p@example.org")  # the seventh: 4 s
    assert attempt(client, "p@example.org", PASSWORD).headers["Retry-After"] == "4"
    later(4)
    assert attempt(client, "p@example.org", PASSWORD).status_code == 303


def test_the_delay_stops_growing_at_the_cap_and_is_forgotten_after_the_window(client, app, make):
    make.patient(email="p@example.org")
    for _ in range(20):
        later(app.config["LOGIN_MAX_DELAY_SECONDS"])
        attempt(client, "p@example.org")
    assert attempt(client, "p@example.org").headers["Retry-After"] == str(
        app.config["LOGIN_MAX_DELAY_SECONDS"]
    )
    later(app.config["LOGIN_FAILURE_WINDOW_MINUTES"] * 60 + 1)
    assert attempt(client, "p@example.org", PASSWORD).status_code == 303


def test_known_and_unknown_emails_get_the_same_answers_step_by_step(client, make):
    """The same status, words and Retry-After at every step, known account or not."""
    make.patient(email="p@example.org")

    def answers(email: str, address: str) -> list[tuple[int, str | None, str]]:
        clock.set_frozen(START)
        seen = []
        for step in range(10):
            response = attempt(client, email, at={"REMOTE_ADDR": address})
            error = response.get_data(as_text=True).split('role="alert">')[1].split("</div>")[0]
            seen.append((response.status_code, response.headers.get("Retry-After"), error))
            later(step % 3)
        return seen

    known, unknown = answers("p@example.org", "192.0.2.1"), answers("nobody@example.org", "192.0.2.2")
    assert known == unknown
    words = [error for _status, _retry, error in known]
    assert any("Wrong email or password." in w for w in words) and any("Wait 4 seconds" in w for w in words)


def test_known_and_unknown_emails_do_the_same_work(client, make, monkeypatch):
    """One password hash checked per attempt for both (none while held back): the same time."""
    make.patient(email="p@example.org")
    checked = []
    real_verify = PasswordHasher.verify
    monkeypatch.setattr(
        PasswordHasher, "verify", lambda self, *a, **k: checked.append(1) or real_verify(self, *a, **k)
    )
    for email in ("p@example.org", "nobody@example.org"):
        checked.clear()
        for _ in range(6):
            attempt(client, email, at={"REMOTE_ADDR": f"192.0.2.{len(email)}"})
        assert len(checked) == 5, email  # the sixth was held back before any hashing


def test_guessing_spread_over_many_addresses_slows_new_clients_but_not_the_owners_browser(client, app, make):
    make.patient(email="p@example.org")
    owner = app.test_client()
    assert attempt(owner, "p@example.org", PASSWORD, at=OWNER).status_code == 303  # a browser he used
    owner.post("/logout")
    for n in range(app.config["LOGIN_ACCOUNT_FREE_FAILURES"]):
        attempt(client, "p@example.org", at={"REMOTE_ADDR": f"203.0.113.{n + 1}"})
    fresh_address = attempt(app.test_client(), "p@example.org", PASSWORD, at={"REMOTE_ADDR": "192.0.2.99"})
    assert fresh_address.status_code == 422 and fresh_address.headers["Retry-After"] == "1"
    # His own browser (the device cookie of his earlier login) is not held back, even from a new address.
    at_home = attempt(owner, "p@example.org", PASSWORD, at={"REMOTE_ADDR": "192.0.2.100"})
    assert at_home.status_code == 303


def test_the_owner_is_told_once_when_failures_pile_up(client, app, make):
    make.patient(email="p@example.org")
    for n in range(app.config["LOGIN_ALERT_FAILURES"] + 5):
        attempt(client, "p@example.org", at={"REMOTE_ADDR": f"203.0.113.{n + 1}"})
        attempt(client, "nobody@example.org", at={"REMOTE_ADDR": f"203.0.113.{n + 1}"})
    mails = db.session.scalars(select(OutboxEmail).where(OutboxEmail.kind == "login_failures")).all()
    assert [m.to for m in mails] == ["p@example.org"]
    assert "is not locked" in mails[0].body and "/account/security" in mails[0].body


def test_a_typed_email_is_never_stored(client):
    attempt(client, "Someone.Private@Example.org")
    keys = db.session.scalars(select(LoginFailure.account_key)).all()
    assert len(keys) == 2 and all("example" not in k.lower() for k in keys)
    assert keys[0] == login_throttle.account_key("someone.private@example.org ")


def test_a_password_reset_clears_the_accounts_counts(client, make):
    from hms.services import password_reset

    user = make.patient(email="p@example.org")
    for _ in range(7):
        attempt(client, "p@example.org")
    client.post("/forgot-password", data={"email": "p@example.org"}, environ_base=OWNER)
    outbox.deliver_all_due("test-worker")  # the worker composes the email with the link
    token = db.session.scalar(select(OutboxEmail.body)).split("/reset-password/")[1].split()[0]
    with client.application.test_request_context():
        password_reset.reset_password(token, "a brand new passphrase")
        db.session.commit()
    assert db.session.scalar(select(func.count(LoginFailure.id))) == 0
    assert user.id


def test_wrong_second_step_codes_hold_back_that_client_only(client, app, make, login_as):
    from tests.test_two_factor import turn_on
    from tests.two_factor import current_code

    user = make.patient(email="p@example.org")
    login_as(user)
    turn_on(client, user)
    client.post("/logout")
    attempt(client, "p@example.org", PASSWORD)
    statuses = [
        client.post("/login/two-factor", data={"code": "000000"}, environ_base=STRANGER) for _ in range(6)
    ]
    assert [r.status_code for r in statuses] == [422] * 6
    assert b"That code is not right." in statuses[0].data
    assert statuses[5].headers["Retry-After"] == "1"
    # The owner, elsewhere, logs in with his password and code as usual.
    owner = app.test_client()
    assert attempt(owner, "p@example.org", PASSWORD, at=OWNER).headers["Location"] == "/login/two-factor"
    later(30)
    answer = owner.post("/login/two-factor", data={"code": current_code(user)}, environ_base=OWNER)
    assert answer.status_code == 303 and answer.headers["Location"] == "/patient/"


@pytest.mark.concurrency
def test_failures_at_the_same_moment_are_all_counted(app, make):
    make.patient(email="p@example.org")
    db.session.commit()

    def fail():  # type: ignore[no-untyped-def]
        with app.test_request_context(environ_base=STRANGER):
            with pytest.raises(LoginRefused):
                accounts.authenticate("p@example.org", "a wrong guess")
            db.session.commit()

    outcomes = run_at_once(app, [fail] * 8, frozen_at=START)
    assert outcomes == ["done"] * 8
    counts = dict(db.session.execute(select(LoginFailure.client, LoginFailure.failures)).all())
    assert counts == {STRANGER["REMOTE_ADDR"]: 8, "*": 8}


def test_a_failure_after_the_window_counts_from_one_again(client, app, make):
    make.patient(email="p@example.org")
    for _ in range(3):
        attempt(client, "p@example.org")
    later(app.config["LOGIN_FAILURE_WINDOW_MINUTES"] * 60 + 1)
    attempt(client, "p@example.org")
    rows = db.session.execute(select(LoginFailure.client, LoginFailure.failures, LoginFailure.first_at)).all()
    assert sorted(rows) == [("*", 1, clock.now()), (STRANGER["REMOTE_ADDR"], 1, clock.now())]
    later(1)
    attempt(client, "p@example.org")  # within the new window: counted on, first_at kept
    rows = db.session.execute(select(LoginFailure.client, LoginFailure.failures, LoginFailure.first_at)).all()
    assert sorted(rows) == [("*", 2, clock.now() - timedelta(seconds=1))] + [
        (STRANGER["REMOTE_ADDR"], 2, clock.now() - timedelta(seconds=1))
    ]
