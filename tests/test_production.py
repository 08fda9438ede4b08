"""Running in production: the health check, the real client address behind a reverse proxy, login rate
limits shared by processes through Redis, and the worker doing the periodic jobs (no cron needed)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from config import DevelopmentConfig, ProductionConfig, TestConfig
from hms import create_app
from hms.extensions import db, limiter
from hms.models import AuditEvent, HospitalStatus, Refund, RefundStatus
from hms.services import scheduling
from tests.bench.common import csrf_from, gunicorn
from tests.conftest import CsrfClient
from tests.test_billing_stripe import paid_via_webhook, setup_bill

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def other_app(database_url: str) -> Iterator:  # type: ignore[type-arg]
    """Build another app on the test database with some settings changed. Flask-Limiter keeps one
    storage per extension object, which the newest app replaces; the session's is put back after."""
    saved = (limiter._storage, limiter._limiter)  # noqa: SLF001 - restoring the session's own state
    apps: list[Flask] = []

    def build(base: type = TestConfig, **settings) -> Flask:  # type: ignore[no-untyped-def]
        config = type("OtherConfig", (base,), {"SQLALCHEMY_DATABASE_URI": database_url, **settings})
        application = create_app(config)
        application.test_client_class = CsrfClient
        apps.append(application)
        return application

    yield build
    limiter._storage, limiter._limiter = saved  # noqa: SLF001
    for application in apps:
        with application.app_context():
            db.engine.dispose()


def bad_logins(client, count: int, **headers: str) -> list[int]:  # type: ignore[no-untyped-def]
    return [
        client.post(
            "/login", data={"email": f"nobody{i}@example.org", "password": "not it at all"}, headers=headers
        ).status_code
        for i in range(count)
    ]


# ---------------------------------------------------------------- health check


def test_health_check_answers_ok_without_login_cookie_or_rate_limit(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.data == b"ok\n" and response.mimetype == "text/plain"
    assert "Set-Cookie" not in response.headers
    assert "X-RateLimit-Limit" not in response.headers
    assert [client.get("/healthz").status_code for _ in range(30)] == [200] * 30


def test_health_check_is_503_when_the_database_cannot_be_reached(other_app, tmp_path):
    unreachable = other_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/hms.sqlite3")
    response = unreachable.test_client().get("/healthz")
    assert response.status_code == 503
    assert b"database unreachable" in response.data


def test_production_answers_the_health_check_over_plain_http_and_redirects_pages_to_https(
    other_app, monkeypatch, database_url
):
    monkeypatch.setenv("SECRET_KEY", "production-test-secret")
    monkeypatch.setenv("DATABASE_URL", database_url)
    production = other_app(ProductionConfig, RATELIMIT_STORAGE_URI="memory://").test_client()
    assert production.get("/healthz").status_code == 200
    home = production.get("/login")
    assert home.status_code in (301, 302) and home.headers["Location"].startswith("https://")


def test_production_counts_rate_limits_in_redis_unless_told_otherwise():
    assert ProductionConfig.RATELIMIT_STORAGE_URI.startswith("redis://")
    assert ProductionConfig.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED


# ---------------------------------------------------------------- behind a reverse proxy


def test_without_trusted_proxies_a_forged_forwarded_for_does_not_escape_the_login_limit(client):
    statuses = [
        client.post(
            "/login",
            data={"email": "nobody@example.org", "password": "not it at all"},
            headers={"X-Forwarded-For": f"198.51.100.{i}"},
        ).status_code
        for i in range(11)
    ]
    assert statuses == [422] * 10 + [429]


def test_behind_a_trusted_proxy_the_login_limit_counts_per_real_client(other_app):
    proxied = other_app(TRUSTED_PROXIES=1).test_client()
    limiter.reset()
    # Everything arrives from the proxy (127.0.0.1); the proxy names the client.
    assert bad_logins(proxied, 11, **{"X-Forwarded-For": "203.0.113.7"}) == [422] * 10 + [429]
    assert bad_logins(proxied, 1, **{"X-Forwarded-For": "203.0.113.8"}) == [422]
    # A client that sends its own X-Forwarded-For gets the proxy's value appended: the last one counts.
    assert bad_logins(proxied, 1, **{"X-Forwarded-For": "203.0.113.8, 203.0.113.7"}) == [429]


def test_the_audit_log_records_the_real_client_address_behind_a_trusted_proxy(other_app, make, login_as):
    proxied = other_app(TRUSTED_PROXIES=1).test_client()
    hospital = make.hospital(status=HospitalStatus.pending)
    login_as(make.super_admin(), on=proxied)
    response = proxied.post(
        f"/admin/hospitals/{hospital.id}/status",
        data={"action": "approve"},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert response.status_code == 303
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.record_type == "hospital")).one()
    assert event.ip == "203.0.113.9"


def test_without_trusted_proxies_the_audit_log_records_the_peer_address(client, make, login_as):
    hospital = make.hospital(status=HospitalStatus.pending)
    login_as(make.super_admin())
    response = client.post(
        f"/admin/hospitals/{hospital.id}/status",
        data={"action": "approve"},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert response.status_code == 303
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.record_type == "hospital")).one()
    assert event.ip == "127.0.0.1"


# ---------------------------------------------------------------- rate limits in Redis


def _redis_or_skip():  # type: ignore[no-untyped-def]
    import redis

    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        connection.ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis is not reachable at {REDIS_URL} ({error}); start redis-server to run this test")
    return connection


@pytest.mark.commits  # the servers commit their login failures: they are deleted after the test
def test_two_processes_share_the_login_limit_through_redis(database_url):
    """Two gunicorn processes with the production storage: ten failed logins spread over both
    exhaust the one limit (with memory:// each process would allow ten)."""
    connection = _redis_or_skip()
    prefix = f"hms-test-{secrets.token_hex(4)}"
    env = {
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": prefix,
        "LOGIN_RATE_LIMIT": "10 per minute",
        "SECRET_KEY": secrets.token_hex(16),
    }
    try:
        with (
            gunicorn(database_url, workers=1, env=env) as first,
            gunicorn(database_url, workers=1, env=env) as second,
        ):
            browser = requests.Session()
            token = csrf_from(browser.get(first + "/login", timeout=30).text)
            statuses = [
                browser.post(
                    (first, second)[i % 2] + "/login",
                    data={
                        "email": f"nobody{i}@example.org",
                        "password": "not it at all",
                        "csrf_token": token,
                    },
                    allow_redirects=False,
                    timeout=30,
                ).status_code
                for i in range(11)
            ]
        assert statuses == [422] * 10 + [429]
        assert connection.keys(f"*{prefix}*"), "the counters live in Redis"
    finally:
        for key in connection.scan_iter(f"*{prefix}*"):
            connection.delete(key)


# ---------------------------------------------------------------- the worker's periodic jobs


def test_the_worker_sends_stripe_work_a_crash_left_behind(
    app, make, stripe_fake, client, login_as, smtp_server
):
    _, visit, bill = setup_bill(make, login_as)
    paid_via_webhook(client, stripe_fake, bill)
    scheduling.cancel_appointment(visit, visit.patient.user)
    db.session.commit()
    db.session.info.pop("billing_ready", None)  # the process died before sending the refund
    assert stripe_fake.refunds == {}
    result = app.test_cli_runner().invoke(args=["hms", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 task(s) sent to Stripe." in result.output
    db.session.expire_all()
    assert db.session.scalars(select(Refund)).one().status == RefundStatus.succeeded


def test_the_worker_leaves_stripe_alone_when_online_payments_are_off(app, smtp_server):
    result = app.test_cli_runner().invoke(args=["hms", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "Stripe" not in result.output


# ---------------------------------------------------------------- the development mailbox


def test_the_development_mailbox_shows_queued_links_and_exists_only_in_development(
    other_app, client, monkeypatch, database_url
):
    client.post(
        "/register",
        data={
            "full_name": "Amina Hassan",
            "email": "amina@example.org",
            "password": "blue kettle on the hill",
            "confirm": "blue kettle on the hill",
            "date_of_birth": "1988-04-12",
            "sex": "female",
            "phone": "+254 700 000 001",
        },
    )
    assert client.get("/dev/mailbox").status_code == 404  # the test configuration, like production
    development = other_app(DevelopmentConfig).test_client()
    page = development.get("/dev/mailbox")
    assert page.status_code == 200
    assert b'<a href="http://127.0.0.1:5000/register/confirm/' in page.data
    assert b"/dev/mailbox" in development.get("/register/sent").data
    monkeypatch.setenv("SECRET_KEY", "production-test-secret")
    monkeypatch.setenv("DATABASE_URL", database_url)
    production = other_app(ProductionConfig, RATELIMIT_STORAGE_URI="memory://").test_client()
    assert production.get("/dev/mailbox", base_url="https://localhost").status_code == 404
    assert not ProductionConfig.DEV_MAILBOX
