"""Configuration classes; every setting can come from the environment."""

from __future__ import annotations

import json
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_minutes_list(name: str, default: str) -> list[int]:
    raw = os.environ.get(name) or default
    return sorted({int(part) for part in raw.split(",") if part.strip()}, reverse=True)


def _sqlite_default() -> str:
    instance = BASE_DIR / "instance"
    instance.mkdir(exist_ok=True)
    return f"sqlite:///{instance / 'hms.sqlite3'}"


class Config:
    """Settings shared by every environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or _sqlite_default()
    # No pre-ping (a round trip on every checkout): a request's first read retries once on a dead
    # pooled connection instead (hms.database.first_read), and a later failure is a 503.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": False}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # The catalogs live at the top of the repository, beside templates/, not inside the hms package.
    BABEL_TRANSLATION_DIRECTORIES = str(Path(__file__).resolve().parent / "translations")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 8
    FORCE_HTTPS = False

    # No request body above this is read at all (urlencoded forms have no other limit in Werkzeug).
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(16 * 1024 * 1024)))

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    WTF_CSRF_SSL_STRICT = True

    # Several processes or hosts must share the counters: production uses Redis (ProductionConfig). When
    # Redis cannot be reached, each process counts on its own until it is back (a login stays limited),
    # and a dead Redis costs a request at most a second.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "hms")
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
    RATELIMIT_HEADERS_ENABLED = True
    # Flask-Limiter would put the window's end into Retry-After on every answer of a limited URL; ours
    # say when a throttled login may try again (and a 429 when the limit resets: hms/errors.py).
    RATELIMIT_HEADER_RETRY_AFTER = "X-RateLimit-Retry-After"
    # How many reverse proxies stand in front of the app (nginx: 1). Their X-Forwarded-For and
    # X-Forwarded-Proto are then believed, so rate limits and the audit log see the real client; with 0
    # these headers are ignored, as anyone can send them.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
    BOOKING_RATE_LIMIT = os.environ.get("BOOKING_RATE_LIMIT", "30 per minute")
    FHIR_RATE_LIMIT = os.environ.get("FHIR_RATE_LIMIT", "120 per minute")  # per address
    CALENDAR_FEED_RATE_LIMIT = os.environ.get("CALENDAR_FEED_RATE_LIMIT", "30 per minute")
    PAYMENT_RATE_LIMIT = os.environ.get(
        "PAYMENT_RATE_LIMIT", "20 per minute"
    )  # Pay now / cancel, per address
    # Sessions end after this many idle minutes for people without a hospital (patients, platform
    # admins, doctors not yet at one); a hospital sets its own for its people. A warning comes first.
    IDLE_LOGOUT = _env_bool("HMS_IDLE_LOGOUT", True)
    IDLE_TIMEOUT_MINUTES = int(os.environ.get("HMS_IDLE_TIMEOUT_MINUTES", "15"))
    IDLE_WARNING_SECONDS = int(os.environ.get("HMS_IDLE_WARNING_SECONDS", "60"))
    # Roles that must use an authenticator app (TOTP) to log in; every other role may.
    TOTP_REQUIRED_ROLES = tuple(
        role.strip()
        for role in os.environ.get("HMS_TOTP_REQUIRED_ROLES", "super_admin,hospital_admin").split(",")
        if role.strip()
    )
    TOTP_ISSUER = os.environ.get("HMS_TOTP_ISSUER", "HMS")
    # Login throttling (hms/services/login_throttle.py): no account ever locks.
    LOGIN_FREE_FAILURES = int(os.environ.get("LOGIN_FREE_FAILURES", "5"))  # per account and client
    LOGIN_ACCOUNT_FREE_FAILURES = int(os.environ.get("LOGIN_ACCOUNT_FREE_FAILURES", "20"))  # from everywhere
    LOGIN_MAX_DELAY_SECONDS = int(os.environ.get("LOGIN_MAX_DELAY_SECONDS", "900"))
    LOGIN_FAILURE_WINDOW_MINUTES = int(os.environ.get("LOGIN_FAILURE_WINDOW_MINUTES", "60"))
    LOGIN_ALERT_FAILURES = int(os.environ.get("LOGIN_ALERT_FAILURES", "10"))  # the owner gets an email

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS")
    MAIL_USE_SSL = _env_bool("MAIL_USE_SSL")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "HMS <no-reply@hms.local>")
    MAIL_TIMEOUT_SECONDS = float(os.environ.get("MAIL_TIMEOUT_SECONDS", "30"))
    MAIL_SUPPRESS_SEND = _env_bool("MAIL_SUPPRESS_SEND")  # Flask-Mail would suppress when TESTING
    # Links in emails and text messages start with this (never with the request's Host header).
    PUBLIC_URL = os.environ.get("HMS_PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/")

    # The outbox worker (`flask hms worker`): batch size, how long a claimed row stays locked to its
    # worker, and retries with exponential backoff (base * 2^attempts, capped) before giving up.
    OUTBOX_BATCH_SIZE = int(os.environ.get("OUTBOX_BATCH_SIZE", "50"))
    OUTBOX_LEASE_SECONDS = int(os.environ.get("OUTBOX_LEASE_SECONDS", "300"))
    OUTBOX_RETRY_BASE_SECONDS = int(os.environ.get("OUTBOX_RETRY_BASE_SECONDS", "30"))
    OUTBOX_RETRY_MAX_SECONDS = int(os.environ.get("OUTBOX_RETRY_MAX_SECONDS", "3600"))
    OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "20"))
    OUTBOX_KEEP_DAYS = int(os.environ.get("OUTBOX_KEEP_DAYS", "30"))  # sent rows are deleted after
    WORKER_INTERVAL_SECONDS = float(os.environ.get("WORKER_INTERVAL_SECONDS", "10"))
    # The worker also sends Stripe what a crash or an outage left unsent (`flask hms billing-retry`), at
    # most this often, so production needs no cron entry.
    BILLING_RETRY_INTERVAL_SECONDS = float(os.environ.get("BILLING_RETRY_INTERVAL_SECONDS", "300"))
    # Reminders before each appointment, in minutes (default: 24 hours and 1 hour).
    REMINDER_OFFSETS_MINUTES = _env_minutes_list("HMS_REMINDER_OFFSETS_MINUTES", "1440,60")
    # A critical lab value not acknowledged within this many minutes is escalated to the hospital's
    # administrators by the worker (hms.services.lab.escalate_unacknowledged_criticals).
    LAB_CRITICAL_ACK_MINUTES = int(os.environ.get("HMS_LAB_CRITICAL_ACK_MINUTES", "30"))

    PASSWORD_RESET_MINUTES = int(os.environ.get("PASSWORD_RESET_MINUTES", "60"))
    # Registration waits for the email address to be confirmed (hms/services/registration.py).
    REGISTRATION_LINK_HOURS = int(os.environ.get("REGISTRATION_LINK_HOURS", "24"))
    REGISTRATION_MAILS_PER_HOUR = int(os.environ.get("REGISTRATION_MAILS_PER_HOUR", "3"))
    DEV_MAILBOX = False  # /dev/mailbox shows queued emails: `make run` only (DevelopmentConfig)
    PASSWORD_RESET_RATE_LIMIT = os.environ.get("PASSWORD_RESET_RATE_LIMIT", "5 per 15 minutes")

    # Text messages through Twilio's REST API; a hospital's own settings take precedence.
    TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID")
    TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN")
    TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER")
    TWILIO_API_BASE = os.environ.get("TWILIO_API_BASE", "https://api.twilio.com").rstrip("/")
    SMS_TIMEOUT_SECONDS = float(os.environ.get("SMS_TIMEOUT_SECONDS", "10"))

    # Chat per appointment: open from booking until this many days after the visit.
    CHAT_DAYS_AFTER_VISIT = int(os.environ.get("CHAT_DAYS_AFTER_VISIT", "7"))
    CHAT_POLL_SECONDS = int(os.environ.get("CHAT_POLL_SECONDS", "3"))
    # Video calls open this many minutes before the slot and close at its end. ICE servers are a
    # JSON list of RTCIceServer objects, e.g. [{"urls": "stun:stun.example.org:3478"}]; none are
    # needed on a local network.
    VIDEO_OPENS_MINUTES_BEFORE = int(os.environ.get("VIDEO_OPENS_MINUTES_BEFORE", "10"))
    VIDEO_OVERRUN_MINUTES = int(
        os.environ.get("VIDEO_OVERRUN_MINUTES", "30")
    )  # a call in progress may run over
    VIDEO_ICE_SERVERS = json.loads(os.environ.get("HMS_ICE_SERVERS") or "[]")

    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY")
    STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE")
    STRIPE_CHECKOUT_MINUTES = int(os.environ.get("STRIPE_CHECKOUT_MINUTES", "60"))  # Stripe: 30 to 1440
    STRIPE_TIMEOUT_SECONDS = float(os.environ.get("STRIPE_TIMEOUT_SECONDS", "20"))
    STRIPE_MAX_NETWORK_RETRIES = int(os.environ.get("STRIPE_MAX_NETWORK_RETRIES", "2"))
    # A TrueType font with the scripts of names, of the languages and currency signs, for PDFs
    # (prescriptions, receipts); its "-Bold" sibling in the same folder is used for bold.
    PDF_FONT = os.environ.get("HMS_PDF_FONT", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

    # Argon2id parameters: OWASP's minimum is m=19456 KiB, t=2, p=1.
    ARGON2_TIME_COST = int(os.environ.get("ARGON2_TIME_COST", "2"))
    ARGON2_MEMORY_COST = int(os.environ.get("ARGON2_MEMORY_COST", "19456"))
    ARGON2_PARALLELISM = int(os.environ.get("ARGON2_PARALLELISM", "1"))

    PAGE_SIZE = 20
    INVITATION_TTL_HOURS = int(os.environ.get("INVITATION_TTL_HOURS", "72"))
    DEFAULT_TIMEZONE = os.environ.get("HMS_DEFAULT_TIMEZONE", "UTC")


class DevelopmentConfig(Config):
    """`make run`: SQLite in instance/, a throwaway secret when none is set."""

    DEBUG = False
    SECRET_KEY = os.environ.get("SECRET_KEY") or "dev-only-not-secret-change-me"  # noqa: S105
    # Without a mail server, registration and password-reset links are read at /dev/mailbox.
    DEV_MAILBOX = _env_bool("HMS_DEV_MAILBOX", default=True)


class TestConfig(Config):
    """Tests: the database comes from the fixture; limits are on so they are tested."""

    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    SERVER_NAME = None
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 2525
    # Tests move the clock by hours or days after logging in; the idle logoff's own tests
    # (tests/test_security_sessions.py) turn it on.
    IDLE_LOGOUT = False


class ProductionConfig(Config):
    """Production: secure cookies, HTTPS, secrets only from the environment."""

    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-session"
    FORCE_HTTPS = _env_bool("FORCE_HTTPS", True)
    # Rate-limit counters shared by every gunicorn worker and host (memory:// would count per process).
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")

    @classmethod
    def from_environment(cls) -> dict[str, str]:
        """Secrets read when the app starts; refuse to start without them."""
        secret, database = os.environ.get("SECRET_KEY"), os.environ.get("DATABASE_URL")
        if not secret:
            raise RuntimeError("SECRET_KEY must be set in the environment in production")
        if not database:
            raise RuntimeError("DATABASE_URL must be set in the environment in production")
        return {"SECRET_KEY": secret, "SQLALCHEMY_DATABASE_URI": database}


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestConfig,
}
