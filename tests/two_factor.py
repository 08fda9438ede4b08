"""Test helpers for two-factor login: read the secret a page shows, make the code an app would."""

from __future__ import annotations

import re

import pyotp

from hms import clock
from hms.models import User
from hms.services import two_factor

SECRET = re.compile(rb'<code class="totp-secret">([A-Z2-7]+)</code>')


def code_for(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(int(clock.now().timestamp()) + 30 * steps_ahead)


def current_code(user: User, steps_ahead: int = 0) -> str:
    credential = two_factor.credential_of(user)
    return code_for(two_factor._secret(credential), steps_ahead)


def enrol_at_login(client):  # type: ignore[no-untyped-def]
    """After the password of an administrator without an authenticator: set one up; returns the
    recovery-codes page (the login is then complete)."""
    page = client.get("/login/two-factor")
    assert page.status_code == 200, page.data[:300]
    secret = SECRET.search(page.data).group(1).decode()
    response = client.post("/login/two-factor", data={"code": code_for(secret)})
    assert response.status_code == 200, response.data[:300]
    return response
