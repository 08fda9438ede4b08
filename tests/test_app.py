"""The application shell: security headers, error pages, fragments, CLI, migrations, audit chain."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select

from config import ProductionConfig
from hms import create_app
from hms.extensions import db
from hms.models import AuditEvent, Role, User
from hms.services import audit


def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert "object-src 'none'" in csp
    assert "base-uri 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "HX-Request" in response.headers["Vary"]


def test_no_inline_script_or_style_in_pages(client):
    html = client.get("/register/hospital").data.decode()
    assert "<script>" not in html and "<script >" not in html
    for tag in html.split("<script")[1:]:
        assert "src=" in tag.split(">")[0]
    assert " style=" not in html
    assert "hx-on" not in html


def test_session_cookie_is_httponly_and_lax(client, make):
    make.patient(email="p@example.org")
    response = client.post("/login", data={"email": "p@example.org", "password": "correct horse battery"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig)


def test_production_cookies_are_secure(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    app = create_app(ProductionConfig)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_NAME"].startswith("__Host-")


@pytest.mark.parametrize("htmx", [False, True])
def test_404_is_a_page_or_a_fragment(client, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.get("/nowhere", headers=headers)
    assert response.status_code == 404
    assert (b"<html" in response.data) is not htmx
    assert b"Not found" in response.data
    if htmx:
        assert response.headers["HX-Retarget"] == "#messages"


def test_405_for_a_wrong_method(client):
    assert client.get("/logout").status_code == 405


def test_seed_demo_is_idempotent_and_create_admin_works(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["hms", "seed-demo"])
    assert first.exit_code == 0, first.output
    assert "admin@example.org" in first.output
    users = len(db.session.scalars(select(User)).all())
    second = runner.invoke(args=["hms", "seed-demo"])
    assert "already loaded" in second.output
    assert len(db.session.scalars(select(User)).all()) == users

    made = runner.invoke(
        args=["hms", "create-admin", "Root@Example.org"],
        env={"HMS_ADMIN_PASSWORD": "a long admin passphrase"},
    )
    assert made.exit_code == 0, made.output
    admin = db.session.scalar(select(User).where(User.email == "root@example.org"))
    assert admin.role == Role.super_admin
    again = runner.invoke(
        args=["hms", "create-admin", "root@example.org"],
        env={"HMS_ADMIN_PASSWORD": "a long admin passphrase"},
    )
    assert again.exit_code != 0
    assert "already exists" in again.output
    weak = runner.invoke(args=["hms", "create-admin", "w@example.org"], env={"HMS_ADMIN_PASSWORD": "short"})
    assert weak.exit_code != 0


def test_migrations_created_every_model_table(app):
    tables = set(inspect(db.engine).get_table_names())
    assert {t.name for t in db.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables


def test_audit_chain_detects_a_modified_row(app, make):
    user = make.super_admin()
    for i in range(3):
        audit.record_event("view", "hospital", i, user_id=user.id)
    db.session.commit()
    audit.seal_all()  # what the worker does
    assert audit.first_tampered_event() is None
    runner = app.test_cli_runner()
    assert runner.invoke(args=["hms", "verify-audit"]).exit_code == 0
    second = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()[1]
    second.action = "delete"
    db.session.commit()
    assert audit.first_tampered_event().id == second.id
    result = runner.invoke(args=["hms", "verify-audit"])
    assert result.exit_code == 1
    assert f"event {second.id}" in result.output


@pytest.mark.parametrize("where", ["query", "form"])
def test_nul_bytes_in_input_are_a_400_not_a_500(client, where):
    if where == "query":
        response = client.get("/patient/doctors?q=a%00b")
    else:
        response = client.post("/login", data={"email": "a\x00@example.org", "password": "x\x00y"})
    assert response.status_code == 400


def test_every_page_has_a_description_for_search_engines_and_link_previews(client, make, login_as):
    for path in ("/", "/login", "/register"):
        assert (
            b'<meta name="description" content="HMS, open-source hospital management' in client.get(path).data
        )
    login_as(make.patient())
    assert b'<meta name="description"' in client.get("/patient/").data
