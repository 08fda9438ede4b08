"""Addresses built once per process: a page links to the same endpoints on every request (the shell's
navigation alone builds a dozen), and Flask's `url_for` walks the URL map each time.

Only what cannot differ between two requests is kept: an address inside a request, relative (no
`_external`, `_scheme`, `_anchor` or `_method`), to a named endpoint other than `static` (whose
fingerprint follows the files, hms/assets.py), with plain values (text, numbers). It is keyed by the
endpoint, its values and the application's root (SCRIPT_NAME). Everything else goes to Flask as before.
The map does not change once the app serves, and no `url_defaults` of ours touches another endpoint."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import Flask
from flask.globals import _cv_request

LIMIT = 4096  # entries kept per process in each cache; a cache starts over when full (ids in URLs vary)
PLAIN = (str, int)
T = TypeVar("T")


def keep(cache: dict[Hashable, T], key: Hashable, make: Callable[[], T]) -> T:
    """`cache[key]`, made by `make()` the first time; the cache starts over when it holds LIMIT entries.
    For what is drawn the same for the same key on many requests (the shell's navigation, the pieces
    of hms.templating.cached_markup); `url_for` below does the same inline, on its hotter path."""
    found = cache.get(key)
    if found is None:
        if len(cache) >= LIMIT:
            cache.clear()
        found = cache[key] = make()
    return found


def register(app: Flask) -> None:
    build = app.url_for  # Flask's own
    cache: dict[tuple, str] = {}

    def url_for(endpoint: str, **values: object) -> str:
        request_context = _cv_request.get(None)
        if request_context is None or endpoint == "static" or endpoint[:1] == ".":
            return build(endpoint, **values)
        plain = []
        for name, value in values.items():
            if name[:1] == "_":  # flask.url_for passes _anchor=None, _external=None, …
                if value is not None:
                    return build(endpoint, **values)
            elif isinstance(value, PLAIN):
                plain.append((name, type(value).__name__, value))  # True and 1 are equal keys, not URLs
            else:
                return build(endpoint, **values)
        key = (endpoint, request_context.request.script_root, *sorted(plain))
        address = cache.get(key)
        if address is None:
            address = build(endpoint, **values)
            if len(cache) >= LIMIT:
                cache.clear()
            cache[key] = address
        return address

    app.url_for = url_for  # type: ignore[method-assign]  # flask.url_for calls current_app.url_for
    app.jinja_env.globals["url_for"] = url_for
