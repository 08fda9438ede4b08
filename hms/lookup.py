"""Fetch a row by the id in a URL, or answer 404: never a 500 for an id no database can hold."""

from __future__ import annotations

from typing import TypeVar

from flask import abort

from hms.extensions import db

T = TypeVar("T")

MAX_ID = 2**31 - 1  # the largest INTEGER key on every supported database


def get_or_404(model: type[T], object_id: int) -> T:
    if not 0 < object_id <= MAX_ID:
        abort(404)
    row = db.session.get(model, object_id)
    if row is None:
        abort(404)
    return row
