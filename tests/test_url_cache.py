"""Addresses kept per process (hms/url_cache.py) are the addresses Flask builds: values that compare
equal but print differently (True and 1) are different addresses, the application's root is part of the
key, and external addresses are never kept."""

from __future__ import annotations

from flask import url_for


def test_kept_addresses_are_the_ones_flask_builds(app):  # type: ignore[no-untyped-def]
    with app.test_request_context("/"):
        assert url_for("public.find_doctors", x=True) == "/doctors?x=True"
        assert url_for("public.find_doctors", x=1) == "/doctors?x=1"
        assert url_for("public.find_doctors", x=True) == "/doctors?x=True"
        assert url_for("public.find_doctors", x="1.0") == "/doctors?x=1.0"
    with app.test_request_context("/", base_url="http://example.test/hms/"):
        assert url_for("public.find_doctors", x=1) == "/hms/doctors?x=1"
        assert url_for("public.find_doctors", _external=True) == "http://example.test/hms/doctors"
    with app.test_request_context("/", base_url="http://other.test/"):
        assert url_for("public.find_doctors", _external=True) == "http://other.test/doctors"
