"""Revision 0003 upgrades and downgrades, and fills the case-folded key of existing departments."""

from __future__ import annotations

import flask_migrate
import pytest
from sqlalchemy import inspect, text

from hms.extensions import db


@pytest.mark.commits  # migrations change the schema on connections of their own
def test_0003_downgrades_and_fills_department_keys_on_upgrade(app, make):
    hospital_id = make.hospital().id
    db.session.remove()
    flask_migrate.downgrade(revision="0005")  # the revision before 0003 (later ones go down too)
    try:
        assert "invitations" not in inspect(db.engine).get_table_names()
        with db.engine.begin() as conn:
            # Names that clash once spaces and case are folded (MariaDB already ignores case).
            for name in ("Cardiology", "Ear, Nose and Throat", "Ear,  Nose and throat"):
                conn.execute(
                    text("INSERT INTO departments (hospital_id, name, retired) VALUES (:h, :n, :r)"),
                    {"h": hospital_id, "n": name, "r": False},
                )
    finally:
        flask_migrate.upgrade()
    with db.engine.connect() as conn:
        keys = conn.execute(text("SELECT name_key FROM departments ORDER BY id")).scalars().all()
    assert keys[0] == "cardiology"
    assert keys[1] == "ear, nose and throat"
    assert keys[2].startswith("ear, nose and throat #")
    assert "invitations" in inspect(db.engine).get_table_names()
