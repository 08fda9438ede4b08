"""One check for every redirect target (hms/redirects.py): `next=` after the password and after the
second step, a notice's link, and every HX-Redirect. None may send the browser to another host."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hms import clock
from hms.extensions import db
from hms.redirects import local_target
from hms.services.notifications import notify
from tests.factories import PASSWORD
from tests.two_factor import current_code, enrol_at_login

HX = {"HX-Request": "true"}
# Each is read by some browser as another host (or a script), straight or once decoded.
HOSTILE = [
    "https://evil.example/x",
    "//evil.example/x",
    "/\\evil.example/x",
    "/\\/evil.example/x",
    "\\\\evil.example/x",
    "/\t/evil.example/x",
    "/\n/evil.example/x",
    " //evil.example/x",
    "javascript:alert(1)",
    "http:evil.example",
    "/\x00/evil.example",
    "",
    "patient/",
]


@pytest.mark.parametrize("target", HOSTILE)
def test_only_paths_of_this_site_are_local_targets(target):
    assert local_target(target) is None


@pytest.mark.parametrize("target", ["/patient/", "/patient/appointments?page=2", "/a/b#c", "/%5Cx"])
def test_paths_of_this_site_are_kept(target):
    assert local_target(target) == target


@pytest.mark.parametrize("target", HOSTILE)
@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_login_never_sends_the_browser_away(client, make, target, htmx):
    make.patient(email="p@example.org")
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": "p@example.org", "password": PASSWORD},
        headers=HX if htmx else {},
    )
    if "\x00" in target:  # no NUL gets past the request check
        assert response.status_code == 400
        return
    where = response.headers.get("HX-Redirect") if htmx else response.headers.get("Location")
    assert response.status_code == (204 if htmx else 303)
    assert where == "/patient/"


def test_the_reported_backslash_trick_after_login_with_javascript(client, make):
    """The sweep's request: /login?next=%2F%5Cevil.example%2Fx, logged in with htmx → HX-Redirect."""
    make.patient(email="p@example.org")
    response = client.post(
        "/login?next=%2F%5Cevil.example%2Fx",
        data={"email": "p@example.org", "password": PASSWORD},
        headers=HX,
    )
    assert response.headers["HX-Redirect"] == "/patient/"


def test_a_local_next_is_followed_after_the_second_step_and_a_hostile_one_is_not(client, make):
    clock.set_frozen(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    admin = make.hospital_admin(make.hospital(), email="a@example.org")
    for target, landing in (("/hospital/doctors", "/hospital/doctors"), ("/\\evil.example/x", "/hospital/")):
        client.post("/logout")
        response = client.post(
            "/login", query_string={"next": target}, data={"email": "a@example.org", "password": PASSWORD}
        )
        assert response.headers["Location"] == "/login/two-factor"
        if target == "/hospital/doctors":
            enrolled = enrol_at_login(client)  # the set-up page then offers the way on
            assert landing.encode() in enrolled.data
            continue
        clock.set_frozen(clock.now() + timedelta(minutes=1))
        response = client.post("/login/two-factor", data={"code": current_code(admin)}, headers=HX)
        assert response.headers["HX-Redirect"] == landing


def test_a_notice_with_a_foreign_link_opens_the_notices_page(client, make, login_as):
    patient = make.patient()
    notice = notify(patient, "test", "Look", link="//evil.example/")
    db.session.commit()
    login_as(patient)
    response = client.post(f"/notifications/{notice.id}/open", headers=HX)
    assert response.headers["HX-Redirect"] == "/notifications/"
