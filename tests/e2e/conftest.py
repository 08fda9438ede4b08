"""Browser fixtures: the app served on a free local port, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("HMS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(items):  # type: ignore[no-untyped-def]
    """Every test here is `e2e` (tests/conftest.py keeps them on one xdist worker)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(autouse=True)
def _journeys_without_two_factor(app: Flask, request, monkeypatch):  # type: ignore[no-untyped-def]
    """Journeys log administrators in with a password only; two-factor login (required for them)
    has its own browser test, marked `two_factor`, and its own tests in tests/test_two_factor.py."""
    if request.node.get_closest_marker("two_factor") is None:
        monkeypatch.setitem(app.config, "TOTP_REQUIRED_ROLES", ())


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A fresh browser context per test; a screenshot is kept when the test fails."""
    context = browser.new_context(locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(15000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    # Script errors only: a 4xx answer (422 form, 409 taken slot) is logged by Chromium but is expected.
    tab.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    tab.js_errors = errors
    yield tab
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def emailed_link(email: str, kind: str = "registration") -> str:
    """The path in the newest email of `kind` to `email` (what the person clicks in his inbox)."""
    import re

    from sqlalchemy import select

    from hms.extensions import db
    from hms.models import OutboxEmail

    db.session.rollback()  # see what the server committed
    body = db.session.scalars(
        select(OutboxEmail.body)
        .where(OutboxEmail.to == email, OutboxEmail.kind == kind)
        .order_by(OutboxEmail.id.desc())
    ).first()
    return re.search(r"https?://[^/\s]+(/\S+)", body).group(1)


def confirm_registration(page, live_server: str, email: str) -> None:  # type: ignore[no-untyped-def]
    """After "Create my account": the check-your-email page, then the emailed link and its button."""
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    page.goto(live_server + emailed_link(email))
    page.get_by_role("button", name="Create my account").click()


# ---------------------------------------------------------------- the app shell


def follow(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Click the main navigation's link `name`, opening the menu that holds it first (a group such as
    "Hospital", the account menu, or on a phone the whole menu), as a person does."""
    nav = page.locator("header.shell nav")  # by its place: its name is translated
    link = nav.get_by_role("link", name=name, exact=True)
    if not link.first.is_visible():
        holder = nav.locator("details").filter(has=page.locator(f"a:text-is({name!r})"))
        holder.locator("> summary:visible").first.click()
    link.first.click()


def log_out(page) -> None:  # type: ignore[no-untyped-def]
    """Open the account menu (or the phone menu) and press "Log out"."""
    nav = page.locator("header.shell nav")  # by its place: its name is translated
    for menu in ("details.account > summary", "details.menu > summary"):
        summary = nav.locator(menu)
        if summary.is_visible():
            summary.click()
            break
    nav.locator("button[form=logout]:visible").first.click()


def expect_logged_in(page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    expect(page.locator("#bell")).to_be_visible()


def log_in(page, live_server: str, email: str) -> None:  # type: ignore[no-untyped-def]
    """Log in through the login form, as a person does, and wait for the signed-in shell."""
    from tests.factories import PASSWORD

    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect_logged_in(page)
