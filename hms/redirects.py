"""Safe redirect targets: the one check for `next=`, a notice's link and every HX-Redirect."""

from __future__ import annotations

from urllib.parse import urlsplit


def local_target(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: never another host or scheme, and none of
    the tricks that browsers read as one (`//host`, `/\\host`, tabs and newlines inside, `http:x`)."""
    if not target or not isinstance(target, str) or len(target) > 2000:
        return None
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
