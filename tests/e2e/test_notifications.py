"""In Chromium: the bell shows the unread count and follows marking notices read, without reload."""

from __future__ import annotations

from playwright.sync_api import expect

from hms.extensions import db
from hms.services.notifications import notify
from tests.factories import PASSWORD


def test_the_bell_follows_mark_read_and_mark_all_read(page, live_server, make):
    patient = make.patient(email="amina@example.org")
    for text in ("Your bill B-1 is ready.", "Your bill B-2 is ready.", "Your bill B-3 is ready."):
        notify(patient, "bill_issued", text)
    db.session.commit()
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("amina@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    badge = page.locator("#bell .badge")
    expect(badge).to_have_text("3")  # loaded after the page, by HTMX

    page.locator("#bell").click()
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    url = page.url
    page.locator(".notice-item", has_text="B-2").get_by_role("button", name="Mark read").click()
    expect(badge).to_have_text("2")
    expect(page.locator(".notice-item.unread")).to_have_count(2)
    page.get_by_role("button", name="Mark all read").click()
    expect(badge).to_have_count(0)
    expect(page.locator(".notice-item.unread")).to_have_count(0)
    assert page.url == url
    assert page.js_errors == []
