"""In Chromium: a platform administrator must set up two-factor login at his first login; the idle
warning opens before an idle session ends, and "Stay logged in" keeps it."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD


@pytest.mark.two_factor
def test_admin_sets_up_two_factor_and_is_warned_before_idle_logoff(page, live_server, make, app, monkeypatch):
    monkeypatch.setitem(app.config, "IDLE_LOGOUT", True)
    # The warning opens when this much of the 15 minutes is left: a few seconds after the page loads.
    monkeypatch.setitem(app.config, "IDLE_WARNING_SECONDS", 15 * 60 - 3)
    make.super_admin(email="root@example.org")
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("root@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/login/two-factor$"))
    qr = page.get_by_role("img", name="QR code of the key for your authenticator app")
    expect(qr).to_be_visible()  # drawn on the server, no script and no outside service
    assert 150 <= qr.bounding_box()["width"] <= 260
    secret = page.locator("code.totp-secret").inner_text()
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Recovery codes")).to_be_visible()
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    page.get_by_role("button", name="I have kept them — continue").click()
    expect(page.get_by_role("heading", name="Platform")).to_be_visible()

    dialog = page.locator("#idle-warning")
    expect(dialog).to_be_visible(timeout=10000)
    dialog.get_by_role("button", name="Stay logged in").click()
    expect(dialog).to_be_hidden()
    assert page.js_errors == []
