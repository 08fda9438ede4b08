"""Every Alembic revision upgrades and downgrades on this run's database server (a database of its own)."""

from __future__ import annotations

import os

import flask_migrate
import pytest
from sqlalchemy import create_engine, inspect

from config import TestConfig
from hms import create_app
from tests.conftest import _create_database


@pytest.fixture
def scratch_url(tmp_path):  # type: ignore[no-untyped-def]
    base = os.environ.get("HMS_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    url, drop = _create_database(base)
    try:
        yield url
    finally:
        drop()


def test_upgrade_downgrade_upgrade(scratch_url):
    app = create_app(type("MigrationConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": scratch_url}))
    engine = create_engine(scratch_url)
    try:
        with app.app_context():
            flask_migrate.upgrade()
            tables = set(inspect(engine).get_table_names())
            assert {"users", "appointments", "audit_events"} <= tables
            flask_migrate.downgrade(revision="base")
            assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
            flask_migrate.upgrade()
            assert set(inspect(engine).get_table_names()) == tables
    finally:
        engine.dispose()
        with app.app_context():
            from hms.extensions import db

            db.engine.dispose()
