"""Configuration classes; every setting can come from the environment."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _sqlite_default() -> str:
    instance = BASE_DIR / "instance"
    instance.mkdir(exist_ok=True)
    return f"sqlite:///{instance / 'hms.sqlite3'}"


class Config:
    """Settings shared by every environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or _sqlite_default()
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 8
    FORCE_HTTPS = False

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    WTF_CSRF_SSL_STRICT = True

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
    BOOKING_RATE_LIMIT = os.environ.get("BOOKING_RATE_LIMIT", "30 per minute")
    PAYMENT_RATE_LIMIT = os.environ.get(
        "PAYMENT_RATE_LIMIT", "20 per minute"
    )  # Pay now / cancel, per address
    LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
    LOGIN_LOCKOUT_MINUTES = int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15"))

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS")
    MAIL_USE_SSL = _env_bool("MAIL_USE_SSL")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "HMS <no-reply@hms.local>")

    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY")
    STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE")
    STRIPE_CHECKOUT_MINUTES = int(os.environ.get("STRIPE_CHECKOUT_MINUTES", "60"))  # Stripe: 30 to 1440
    STRIPE_TIMEOUT_SECONDS = float(os.environ.get("STRIPE_TIMEOUT_SECONDS", "20"))
    STRIPE_MAX_NETWORK_RETRIES = int(os.environ.get("STRIPE_MAX_NETWORK_RETRIES", "2"))
    # A TrueType font with the scripts of patients' names and currency signs, for PDF receipts.
    RECEIPT_FONT = os.environ.get("HMS_RECEIPT_FONT", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

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


class TestConfig(Config):
    """Tests: the database comes from the fixture; limits are on so they are tested."""

    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    SERVER_NAME = None
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 2525


class ProductionConfig(Config):
    """Production: secure cookies, HTTPS, secrets only from the environment."""

    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-session"
    FORCE_HTTPS = _env_bool("FORCE_HTTPS", True)

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
