"""Account → API and calendar: make and revoke personal API tokens, make, rotate and turn off the
calendar feed address; with HTMX fragments and without JavaScript, CSRF-checked."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import select

from hms.extensions import db
from hms.models import ApiToken, TokenKind

HX = {"HX-Request": "true"}


def secret_in(html: str, prefix: str) -> str:
    match = re.search(rf'value="({prefix}[A-Za-z0-9_\-]+(?:\.ics)?)"', html)
    assert match, "the new secret is shown"
    return match.group(1)


def test_a_new_token_is_shown_once_and_works_on_the_api(client, make, login_as):  # type: ignore[no-untyped-def]
    patient = make.patient()
    login_as(patient)
    response = client.post("/account/tokens", data={"name": "My script", "expires": "90"})
    assert response.status_code == 200
    secret = secret_in(response.text, "hms_")
    assert client.get("/account/tokens").text.count(secret) == 0
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == patient.id))
    assert row.name == "My script" and row.expires_at is not None and row.token_hash != secret
    api = client.get("/fhir/Appointment", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200


def test_htmx_creates_and_revokes_with_small_fragments(client, make, login_as):  # type: ignore[no-untyped-def]
    doctor = make.doctor()
    login_as(doctor)
    created = client.post("/account/tokens", data={"name": "EHR sync", "expires": "0"}, headers=HX)
    assert created.status_code == 200 and "<html" not in created.text and len(created.data) < 5000
    secret = secret_in(created.text, "hms_")
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == doctor.id))
    revoked = client.post(f"/account/tokens/{token.id}/revoke", headers=HX)
    assert revoked.status_code == 200 and "EHR sync" not in revoked.text
    assert client.get("/fhir/Appointment", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_revoking_without_javascript_redirects_back(client, make, login_as):  # type: ignore[no-untyped-def]
    patient = make.patient()
    login_as(patient)
    client.post("/account/tokens", data={"name": "One", "expires": "30"})
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == patient.id))
    response = client.post(f"/account/tokens/{token.id}/revoke")
    assert response.status_code == 303 and response.headers["Location"].endswith("/account/tokens")
    db.session.refresh(token)
    assert token.revoked_at is not None


def test_someone_elses_token_cannot_be_revoked(client, make, login_as):  # type: ignore[no-untyped-def]
    owner = make.patient()
    login_as(owner)
    client.post("/account/tokens", data={"name": "Mine", "expires": "30"})
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == owner.id))
    login_as(make.patient())
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 404
    assert client.post("/account/tokens/99999999999/revoke").status_code == 404
    db.session.refresh(token)
    assert token.revoked_at is None


def test_bad_input_is_refused_with_the_form_again(client, make, login_as):  # type: ignore[no-untyped-def]
    login_as(make.patient())
    for data in (
        {"name": "", "expires": "30"},
        {"name": "x" * 81, "expires": "30"},
        {"name": "ok", "expires": "7"},
        {"name": "ok", "expires": "-99999999999999999999"},
    ):
        response = client.post("/account/tokens", data=data, headers=HX)
        assert response.status_code == 422, data
        assert "hms_" not in response.text
    assert client.post("/account/tokens", data={"name": "a\x00b", "expires": "30"}).status_code == 400
    assert db.session.scalar(select(ApiToken)) is None


def test_at_most_ten_tokens_at_once(client, make, login_as):  # type: ignore[no-untyped-def]
    login_as(make.patient())
    for n in range(10):
        assert client.post("/account/tokens", data={"name": f"t{n}", "expires": "30"}).status_code == 200
    response = client.post("/account/tokens", data={"name": "eleventh", "expires": "30"})
    assert response.status_code == 422 and "revoke one" in response.text


def test_changes_need_the_csrf_token(client, make, login_as):  # type: ignore[no-untyped-def]
    login_as(make.patient())
    assert client.post("/account/tokens", data={"name": "x", "expires": "30"}, csrf=False).status_code == 400
    assert client.post("/account/calendar-feed", csrf=False).status_code == 400


def test_the_calendar_feed_address_is_made_rotated_and_turned_off(client, make, login_as):  # type: ignore[no-untyped-def]
    patient = make.patient()
    login_as(patient)
    first = secret_in(
        client.post("/account/calendar-feed", headers=HX).text, "http://127.0.0.1:5000/calendar/"
    )
    second_page = client.post("/account/calendar-feed").text  # without JavaScript: the whole page
    assert "<html" in second_page
    second = secret_in(second_page, "http://127.0.0.1:5000/calendar/")
    assert first != second
    assert client.get(urlsplit(first).path).status_code == 404
    assert client.get(urlsplit(second).path).status_code == 200
    off = client.post("/account/calendar-feed/revoke")
    assert off.status_code == 303
    assert client.get(urlsplit(second).path).status_code == 404
    assert (
        db.session.scalar(
            select(ApiToken).where(ApiToken.kind == TokenKind.calendar, ApiToken.revoked_at.is_(None))
        )
        is None
    )


def test_only_patients_and_doctors_have_a_feed(client, make, login_as):  # type: ignore[no-untyped-def]
    admin = make.hospital_admin()
    login_as(admin)
    page = client.get("/account/tokens")
    assert page.status_code == 200 and "calendar-feed" not in page.text
    assert client.post("/account/calendar-feed").status_code == 403


def test_the_page_needs_a_login(client):  # type: ignore[no-untyped-def]
    assert client.get("/account/tokens").status_code == 302
