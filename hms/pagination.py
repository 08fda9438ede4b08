"""The `?page=` of a list, read one way everywhere: a whole number from 1 to MAX_PAGE, else 1 or the
bound (a crafted page number must not reach the database as an offset it cannot hold)."""

from __future__ import annotations

from flask import request

MAX_PAGE = 10_000


def page_number() -> int:
    try:
        return min(max(int(request.args.get("page", "1")), 1), MAX_PAGE)
    except ValueError:
        return 1
