"""HMS: a hospital management system. `create_app` builds the Flask application."""

from __future__ import annotations

import os

from flask import Flask
from werkzeug.routing import IntegerConverter

from config import CONFIGS, Config, ProductionConfig

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def create_app(config_class: type[Config] | None = None) -> Flask:
    if config_class is None:
        config_class = CONFIGS[os.environ.get("HMS_ENV", "development")]
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_relative_config=True,
    )
    app.config.from_object(config_class)
    if issubclass(config_class, ProductionConfig):
        app.config.update(config_class.from_environment())
        if not os.environ.get("HMS_PUBLIC_URL"):
            app.logger.warning(
                "HMS_PUBLIC_URL is not set: links in emails point to %s", app.config["PUBLIC_URL"]
            )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("mysql"):
        # The same isolation as PostgreSQL's default, so that every database behaves alike.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
            "isolation_level": "READ COMMITTED",
        }
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # The driver runs in autocommit and hms.database sends BEGIN just before a request's first write
        # or lock: a request that only reads saves the BEGIN and ROLLBACK round trips (see lazy_begin).
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
            "isolation_level": "AUTOCOMMIT",
        }
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY is not set")

    trust_proxies(app)
    register_performance(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    connect_subscribers()
    return app


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, take the client's address and scheme from the headers they
    set (X-Forwarded-For, X-Forwarded-Proto): rate limits, the audit log and HTTPS redirects then see
    the real client. The Host header is the proxy's to pass on unchanged."""
    count = app.config["TRUSTED_PROXIES"]
    if count > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=0, x_port=0, x_prefix=0)


def connect_subscribers() -> None:
    """Modules that react to domain events (hms/events.py) connect here."""
    from hms.services import billing, consultations, notifications

    # Receivers run in the order they connect: tell people about the appointment before its bill.
    notifications.connect_subscribers()
    billing.connect_subscribers()
    consultations.connect_subscribers()


def register_performance(app: Flask) -> None:
    """Compression first (its after_request hook then runs last), then bundled, fingerprinted static files."""
    from hms import assets, compression

    compression.register(app)
    assets.register(app)


def register_extensions(app: Flask) -> None:
    from flask_talisman import Talisman

    from hms import models  # noqa: F401  (every table known to Alembic)
    from hms.database import configure_engine
    from hms.extensions import babel, csrf, db, limiter, login_manager, mail, migrate
    from hms.i18n import N_, select_locale

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    from hms.frontdesk.flow import trim_not_modified

    app.after_request(trim_not_modified)  # before Talisman, so it runs after it: a 304 sheds its headers
    # One Talisman per app: it keeps its settings on the instance.
    Talisman(
        app,
        force_https=app.config["FORCE_HTTPS"],
        strict_transport_security=app.config["FORCE_HTTPS"],
        content_security_policy=CSP,
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=True,
        session_cookie_samesite="Lax",
        frame_options="DENY",
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = N_("Please log in to see this page.")  # flashed, translated when shown
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    from hms.auth.session import load_user, touch_after

    login_manager.user_loader(load_user)
    # Registered before the error handlers' clean-up, so it runs after it: the request's session is
    # closed when the deferred touch writes (teardowns run last-registered first).
    app.teardown_appcontext(touch_after)

    @app.before_request
    def refuse_nul_bytes() -> None:
        # No text field of ours may hold NUL, and PostgreSQL cannot store it: refuse such input early.
        from flask import abort, request

        values = (
            [*request.args.values(), *request.view_args.values()]
            if request.view_args
            else [*request.args.values()]
        )
        if request.method in ("POST", "PUT", "PATCH"):
            values += list(request.form.values())
        if any(isinstance(v, str) and "\x00" in v for v in values):
            abort(400)

    @app.before_request
    def check_login_session() -> None:
        # Load the user (and check his server-side session, which may commit) before any view runs.
        from flask import request
        from flask_login import current_user

        from hms.i18n import share_wtforms_translations

        if request.endpoint != "static":
            current_user._get_current_object()
            share_wtforms_translations()

    @app.after_request
    def idle_time_left(response):  # type: ignore[no-untyped-def]
        # static/js/app.js warns before an idle session ends; polls do not move this on.
        from flask import g

        if "idle_seconds_left" in g:
            response.headers["HMS-Idle-Seconds"] = str(g.idle_seconds_left)
        return response

    @app.after_request
    def vary_on_htmx(response):  # type: ignore[no-untyped-def]
        response.vary.add("HX-Request")
        response.headers.setdefault("Cache-Control", "no-store")
        return response


class DatabaseIntConverter(IntegerConverter):
    """`<int:...>` URL parts that fit a database id: a larger number is a 404, not an overflow (500)."""

    def __init__(self, map, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = DatabaseIntConverter
    from hms.api.calendar import bp as calendar_bp
    from hms.api.fhir.routes import bp as fhir_bp
    from hms.api.tokens import bp as api_tokens_bp
    from hms.auth.account import bp as account_bp
    from hms.auth.routes import bp as auth_bp
    from hms.consult.routes import bp as consult_bp
    from hms.doctor.routes import bp as doctor_bp
    from hms.frontdesk.display import bp as display_bp
    from hms.hospital_admin.routes import bp as hospital_admin_bp
    from hms.hospital_admin.sms import bp as hospital_sms_bp
    from hms.i18n import bp as language_bp
    from hms.notifications.routes import bp as notifications_bp
    from hms.patient.routes import bp as patient_bp
    from hms.payments.routes import bp as payments_bp
    from hms.public.routes import bp as public_bp
    from hms.staff.routes import bp as staff_bp
    from hms.super_admin.routes import bp as super_admin_bp
    from hms.ward.routes import bp as ward_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(account_bp, url_prefix="/account")
    app.register_blueprint(patient_bp, url_prefix="/patient")
    app.register_blueprint(doctor_bp, url_prefix="/doctor")
    app.register_blueprint(hospital_admin_bp, url_prefix="/hospital")
    app.register_blueprint(staff_bp, url_prefix="/staff")
    app.register_blueprint(super_admin_bp, url_prefix="/admin")
    app.register_blueprint(payments_bp, url_prefix="/payments")
    app.register_blueprint(hospital_sms_bp, url_prefix="/hospital/sms")
    app.register_blueprint(notifications_bp, url_prefix="/notifications")
    app.register_blueprint(consult_bp)
    app.register_blueprint(language_bp)
    app.register_blueprint(fhir_bp, url_prefix="/fhir")
    app.register_blueprint(calendar_bp)
    app.register_blueprint(display_bp)
    app.register_blueprint(api_tokens_bp, url_prefix="/account")
    app.register_blueprint(ward_bp, url_prefix="/ward")
    if app.config["DEV_MAILBOX"]:
        from hms.dev import bp as dev_bp

        app.register_blueprint(dev_bp)


def register_errorhandlers(app: Flask) -> None:
    from hms.errors import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from hms import url_cache
    from hms.templating import register

    register(app)
    url_cache.register(app)  # last: every url_for, in code and in templates, goes through its cache


def register_commands(app: Flask) -> None:
    from hms.cli import hms_cli

    app.cli.add_command(hms_cli)
