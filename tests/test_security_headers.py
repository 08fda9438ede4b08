"""Security headers on every kind of response under the production settings: full pages, HTMX
fragments and error responses; and the production session cookie."""

from __future__ import annotations

import re

import pytest

from config import ProductionConfig
from hms import create_app
from hms.extensions import db
from tests.conftest import CsrfClient
from tests.factories import PASSWORD

HTTPS = "https://localhost"
HX = {"HX-Request": "true"}


@pytest.fixture
def prod(app, database_url, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", database_url)
    # Its own rate-limit counts (production's Redis would carry them over from test to test).
    production = create_app(type("Production", (ProductionConfig,), {"RATELIMIT_STORAGE_URI": "memory://"}))
    production.test_client_class = CsrfClient
    yield production
    with production.app_context():
        db.engine.dispose()


class HttpsClient(CsrfClient):
    """Every request over HTTPS, as behind the production proxy."""

    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("base_url", HTTPS)
        return super().open(*args, **kwargs)


@pytest.fixture
def browser(prod):  # type: ignore[no-untyped-def]
    prod.test_client_class = HttpsClient
    return prod.test_client()


def post(client, path, data=None, **headers):  # type: ignore[no-untyped-def]
    """A form post with the token from the page's form, and the Referer that Flask-WTF checks on
    HTTPS (WTF_CSRF_SSL_STRICT), as a browser sends them."""
    token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', client.get(path).data).group(1)
    return client.post(
        path,
        data={"csrf_token": token.decode(), **(data or {})},
        headers={"Referer": f"{HTTPS}{path}", **headers},
        csrf=False,
    )


def assert_secure_headers(response) -> None:  # type: ignore[no-untyped-def]
    csp = {
        part.split()[0]: part.split()[1:]
        for part in response.headers["Content-Security-Policy"].split(";")
        if part.strip()
    }
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    hsts = response.headers["Strict-Transport-Security"]
    assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31536000
    assert "includeSubDomains" in hsts
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "HX-Request" in response.headers["Vary"]


def test_plain_http_is_redirected_to_https(prod):
    response = CsrfClient(prod).get("/login")
    assert response.status_code in (301, 302)
    assert response.headers["Location"].startswith("https://")


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/", {}, 200),
        ("/login", {}, 200),
        ("/login", HX, 200),
        ("/register", HX, 200),
        ("/no/such/page", {}, 404),
        ("/no/such/page", HX, 404),
        ("/patient/", {}, 302),
        ("/notifications/bell", HX, 286),
    ],
)
def test_anonymous_responses_carry_every_header(browser, path, headers, status):
    response = browser.get(path, headers=headers)
    assert response.status_code == status
    assert_secure_headers(response)


def test_csrf_failure_and_method_errors_carry_every_header(browser):
    refused = browser.post(
        "/login", data={"email": "a@example.org"}, csrf=False, headers={"Referer": f"{HTTPS}/", **HX}
    )
    assert refused.status_code == 400
    assert_secure_headers(refused)
    assert_secure_headers(browser.get("/logout"))


def test_session_cookie_is_host_prefixed_secure_httponly_samesite(browser, make):
    make.patient(email="p@example.org")
    response = post(browser, "/login", {"email": "p@example.org", "password": PASSWORD})
    assert response.status_code == 303, response.data[:300]
    assert_secure_headers(response)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("__Host-session="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite", "path"} <= attributes
    assert "domain" not in attributes  # a __Host- cookie may not name a domain
    assert "SameSite=Lax" in cookie and "Path=/" in cookie
    for path, headers in [("/patient/", {}), ("/account/security", HX), ("/notifications/bell", HX)]:
        page = browser.get(path, headers=headers)
        assert page.status_code == 200
        assert_secure_headers(page)
        if headers:
            assert b"<html" not in page.data
